"""Claims checked side by side (``python -m theory verify --jobs N``): each claim's checker runs
in one of N worker processes, started by "spawn" (torch's and OpenMP's threads do not survive a
fork), each on its share of the usable cores in intra-op threads. A checker is a pure function
of its effort, so the verdicts are the serial run's; the workers load the same plugins, keep
``--claim-timeout`` in their own main thread, and hand back what a checker printed, which is
relayed to stderr whole, so that two checkers' lines never interleave. On Ctrl-C (or any other
end) the workers are stopped before ``verify`` returns."""

import multiprocessing
import os
import signal
import sys
import tempfile
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterator

from theory import claims

# What numpy's, scipy's and torch's thread pools read when they start.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def usable_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def verify(
    selected: list[claims.Claim],
    effort: claims.Effort,
    timeout: float | None,
    plugins: list[str],
    jobs: int,
    started: Callable[[str], None],
) -> Iterator[tuple[int, dict | claims.CheckerError]]:
    """(index in ``selected``, verdict document or CheckerError) of each claim as it finishes,
    in ``jobs`` workers; ``started(id)`` as each claim is handed to a worker, in claim order.
    Close the iterator (``contextlib.closing``) to stop the workers early."""
    threads = max(1, usable_cores() // jobs)
    pending = list(enumerate(selected))
    workers = []
    try:
        for _ in range(jobs):
            workers.append(_Worker(plugins, effort, timeout, threads))
        while True:
            for worker in workers:
                if worker.index is None and pending:
                    worker.index, claim = pending.pop(0)
                    started(claim.id)
                    worker.connection.send(claim.id)
            busy = {w.connection: w for w in workers if w.index is not None}
            if not busy:
                return
            for connection in wait(list(busy)):
                worker = busy[connection]
                index, worker.index = worker.index, None
                outcome = worker.outcome(selected[index].id)
                if not worker.process.is_alive():  # it died: another takes its place
                    worker.stop()
                    workers.remove(worker)
                    if pending:
                        workers.append(_Worker(plugins, effort, timeout, threads))
                yield index, outcome
    except BaseException:  # Ctrl-C, or the caller closed the iterator: stop checking now
        for worker in workers:
            worker.process.terminate()
        raise
    finally:
        for worker in workers:
            worker.stop()


class _Worker:
    """One worker process and the parent's end of its pipe; ``index`` is the claim it checks."""

    def __init__(self, plugins: list[str], effort: claims.Effort, timeout, threads: int):
        context = multiprocessing.get_context("spawn")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(
            target=_work, args=(theirs, plugins, effort, timeout, threads), daemon=True
        )
        self.index = None
        # A Ctrl-C while it starts waits until it has started (the worker ignores it, and
        # this process then stops it), and its thread pools read their size from the start.
        with _sigint_deferred(), thread_pools(threads):
            self.process.start()
        theirs.close()  # so that its end closing (the worker gone) is seen here

    def outcome(self, claim_id: str) -> dict | claims.CheckerError:
        try:
            kind, payload, printed = self.connection.recv()
        except EOFError:
            self.process.join()
            return claims.CheckerError(
                f"{claims.named(claim_id)}: its worker process stopped "
                f"(exit status {self.process.exitcode}) before the checker finished"
            )
        sys.stderr.write(printed)
        sys.stderr.flush()
        return payload if kind == "verdict" else claims.CheckerError(payload)

    def stop(self) -> None:
        self.connection.close()  # an idle worker ends by itself when its pipe closes
        self.process.join()


def _work(
    connection: Connection, plugins: list[str], effort: claims.Effort, timeout, threads: int
) -> None:
    """A worker: check each claim id received, send back (kind, verdict or message, printed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    import torch

    torch.set_num_threads(threads)
    claims.use_plugins(plugins)
    while True:
        try:
            claim_id = connection.recv()
        except EOFError:
            return
        printed = []
        try:
            with _printed(printed):
                outcome = _checked(claim_id, effort, timeout)
        except BaseException:  # a fault of the toolkit's own: show what led to it, then why
            sys.stderr.write("".join(printed))
            raise
        connection.send((*outcome, printed[0]))


def _checked(claim_id: str, effort: claims.Effort, timeout) -> tuple[str, dict | str]:
    try:
        (c,) = claims.get([claim_id])
        return "verdict", claims.verify(c, effort, timeout)
    except KeyError:  # a plugin that loaded in the parent and not here
        return "error", f"claim {claim_id}: its plugin did not load in a worker process"
    except claims.CheckerError as error:
        return "error", str(error)


@contextmanager
def _printed(into: list[str]):
    """Gather what the code inside writes to file descriptors 1 and 2 (Python's prints and a
    library's); ``into`` then holds it as one string."""
    with tempfile.TemporaryFile() as spill:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        os.dup2(spill.fileno(), 1)
        os.dup2(spill.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for descriptor, copy in zip((1, 2), saved):
                os.dup2(copy, descriptor)
                os.close(copy)
            spill.seek(0)
            into.append(spill.read().decode(errors="replace"))


@contextmanager
def _sigint_deferred():
    """Hold SIGINT back (it is delivered at the end); a process started inside begins with it
    blocked, and a Ctrl-C sent to it before it ignores SIGINT is discarded."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def thread_pools(threads: int):
    """Inside, a process started sizes its numpy, scipy and torch thread pools to ``threads``
    (torch.set_num_threads in that process reaches torch's alone)."""
    return _environment({name: str(threads) for name in THREAD_VARIABLES})


@contextmanager
def _environment(values: dict[str, str]):
    """These environment variables inside (a process started inside inherits them)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
