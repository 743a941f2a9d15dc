"""What keeps a checker's or a plugin's own code, or the terminal, from spoiling a run: its
printing goes to stderr, never into the command's output (``--json`` stays one JSON document),
an optional time limit ends a checker that hangs, and a terminal that cannot show a character
gets its escape (``ascii_fallbacks``)."""

import os
import signal
import sys
import threading
from contextlib import contextmanager


@contextmanager
def stdout_to_stderr():
    """Send what the code inside prints (Python's sys.stdout and file descriptor 1, as a C
    library or a child process writes) to stderr."""
    previous = sys.stdout
    try:
        previous.flush()
    except (OSError, ValueError):  # a closed pipe: the command reports it when it prints
        pass
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 to protect
        saved = None
    if saved is not None:
        os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        finally:
            sys.stdout = previous
            if saved is not None:
                os.dup2(saved, 1)
                os.close(saved)


class TimeLimit(BaseException):
    """Raised inside a checker that ran past its time limit (a BaseException, so that a
    checker's ``except Exception`` does not swallow it)."""


@contextmanager
def time_limit(seconds: float | None):
    """End the code inside with TimeLimit after ``seconds`` (None: no limit). It works in the
    main thread (a signal's handler) and interrupts Python code and sleeps; a single C call
    that never returns is ended only when it returns."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeLimit

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def ascii_fallbacks() -> None:
    """On a terminal that cannot show a character (PYTHONIOENCODING=ascii, a C locale), write
    its escape (\\u03b8) instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
