"""SIGINT and SIGTERM as a clean stop of a run (exit status 130 and 143), which waits for the
end of any output being written."""

import contextlib
import signal
import threading


class Interrupted(BaseException):
    """SIGINT or SIGTERM stopped the run (exit status 128 + the signal's number). A
    BaseException, as KeyboardInterrupt is, so that no ``except Exception`` on its way
    swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.where = "before the run began: run the same command again"

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name} {self.where}"


class _Signals:
    """SIGINT and SIGTERM as a clean stop: the handler raises Interrupted where the run is,
    except while an output is written (``deferred``), whose end it waits for: torch.save turns
    an exception raised inside it into an opaque RuntimeError. Once the run is stopping, more
    signals are ignored, so that a second Ctrl-C cannot break the stop into a traceback."""

    def __init__(self):
        self.writing = 0
        self.pending: int | None = None
        self.stopping = False

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield  # Python runs signal handlers in the main thread only
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self.pending, self.stopping = None, False

    def _handle(self, signum, frame) -> None:
        if self.stopping:
            return
        if self.writing:
            self.pending = signum
            return
        self.stopping = True
        raise Interrupted(signum)

    @contextlib.contextmanager
    def deferred(self):
        self.writing += 1
        try:
            yield
        finally:
            self.writing -= 1
        if self.pending is not None and not self.writing:
            signum, self.pending, self.stopping = self.pending, None, True
            raise Interrupted(signum)


STOP = _Signals()
