"""A plan's runs as submitit jobs. Each job is ``TrainJob``: ``python -m training.run ...
--resume`` in the run's folder (its folder lock, checkpoints and resume are training.run's),
then Figure 5's representations of the probe images. On one machine submitit's LocalExecutor
runs ``jobs`` of them at once, spread over the visible GPUs (several per GPU when ``jobs``
exceeds them); on a cluster its Slurm executor submits them as one job array. A failed job is
reported with the last lines of its log, and the others go on.
"""

import contextlib
import io
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import submitit
import torch

from theory import parallel
from training.loop import config, evaluate, outputs, runner, signals
from training.reproduction import sweep

LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit's LocalExecutor stops a job after 2 minutes by default
POLL_SECONDS = 0.5
LOG_LINES = 12  # of a failed job's log, in its report
TRACEBACK = "Traceback (most recent call last):"
JOB_LOG_INTERVAL = "30"  # seconds between progress-bar lines in a job's log (TQDM_MININTERVAL)


class TrainJob(submitit.helpers.Checkpointable):
    """One run: ``train`` (``training.run.main``, given by the command that launches the jobs, so
    that the reproduction imports no command) with ``argv`` (None: it has finished), then the
    representations. On a Slurm timeout or preemption, submitit requeues it, resuming."""

    def __init__(self, train):
        self.train = train

    def __call__(self, argv: list[str] | None, folders: list[str], threads: int | None) -> str:
        """Train (``argv``; None: trained already), then write the representations of the runs
        in ``folders`` (those Figure 5 draws)."""
        if threads:
            torch.set_num_threads(threads)
        os.environ.setdefault("TQDM_MININTERVAL", JOB_LOG_INTERVAL)
        if argv:
            code = self.train(argv)
            if code:
                raise RuntimeError(
                    f"python -m training.run exited with status {code} (its "
                    "error is the line before this traceback)"
                )
        for folder in folders:
            write_representations(Path(folder))
        return ", ".join(folders)

    def checkpoint(self, argv, folders, threads) -> submitit.helpers.DelayedSubmission:
        resumed = argv and ["--resume" if word == "--overwrite" else word for word in argv]
        return submitit.helpers.DelayedSubmission(TrainJob(self.train), resumed, folders, threads)


def write_representations(folder: Path) -> None:
    """Figure 5's data: the l2-normalised projections f_θ(x) of the probe's test images by the
    final online network, with their labels, in folder/representations.npz."""
    state = outputs.read_checkpoint(folder / "checkpoint.pt")
    cfg = replace(config.Config(**state["config"]), out=str(folder))
    live = runner.prepare(cfg, state)
    live.online.load_state_dict(state["online"])
    z = evaluate.projections(live.online, live.probe.x).cpu().numpy()
    buffer = io.BytesIO()
    np.savez(buffer, z=z, labels=live.test_set.labels[: len(z)].numpy())
    outputs.write_atomically(folder / sweep.REPRESENTATIONS, lambda f: f.write(buffer.getvalue()))


@dataclass
class Failure:
    name: str
    job_id: str
    reason: str  # submitit's word on the job: the exception it raised, or no result at all
    log: list[str]

    def __str__(self) -> str:
        lines = "\n".join(f"    {line}" for line in self.log) or "    (its log is empty)"
        return (
            f"{self.name} failed (job {self.job_id}: {self.reason}); the last lines of its "
            f"log:\n{lines}"
        )


@dataclass
class LaunchReport:
    finished: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def local(
    todo: list[sweep.Job],
    train,
    *,
    folder: Path,
    jobs: int,
    threads: int | None,
    gpus: int,
    echo=print,
) -> LaunchReport:
    """``todo`` on this machine, ``jobs`` at a time; job i of those running at once uses GPU
    i mod ``gpus`` (none when ``gpus`` is 0)."""
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN)
    pending, running, report = list(todo), {}, LaunchReport()
    try:
        while pending or running:
            for slot in range(jobs):
                if slot not in running and pending:
                    running[slot] = _start(
                        executor, pending.pop(0), train, slot, gpus, threads, echo
                    )
            for slot, (job, planned) in list(running.items()):
                if job.done():
                    del running[slot]
                    _collect(job, planned, report, echo)
            time.sleep(POLL_SECONDS)
    except (KeyboardInterrupt, signals.Interrupted):  # Ctrl-C, or SIGTERM (training.loop.signals)
        for job, planned in running.values():
            job.cancel()  # SIGINT: training.run stops at once and keeps its last checkpoint
        raise
    return report


def _start(executor, planned: sweep.Job, train, slot, gpus, threads, echo):
    where = ""
    if gpus:
        executor.update_parameters(gpus_per_node=1, visible_gpus=[slot % gpus])
        where = f" on GPU {slot % gpus}"
    with _output_to(Path(executor.folder) / CONTROLLERS_LOG), _thread_pools(threads):
        job = executor.submit(TrainJob(train), planned.argv(), planned.representations, threads)
    echo(f"started {planned.name} ({planned.state}) as job {job.job_id}{where}")
    return job, planned


CONTROLLERS_LOG = "controllers.log"


def _thread_pools(threads: int | None):
    """While jobs are submitted: ``threads`` per job in the pools of numpy's and scipy's OpenBLAS
    too, not in torch's alone (None: as they are). With one pool thread per core beside another
    job, whose idle threads spin, a probe's float64 linear algebra ran 4-6x slower."""
    return parallel.thread_pools(threads) if threads else contextlib.nullcontext()


@contextlib.contextmanager
def _output_to(path: Path):
    """Point this process's stdout and stderr (file descriptors 1 and 2) at ``path`` while
    submitit starts a job's controller process, which inherits them: a Ctrl-C at the terminal
    reaches the controllers too, and their tracebacks then go to this log, not the terminal
    (the job's own output goes to its log in any case)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in saved:
            os.close(descriptor)


def slurm_executor(folder: Path, *, partition, time_min, gpus, cpus, parallelism, extra=None):
    """submitit's Slurm executor with the reproduction's resources: one job array, at most
    ``parallelism`` of its tasks at once."""
    executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    options = {
        "timeout_min": time_min,
        "gpus_per_node": gpus,
        "cpus_per_task": cpus,
        "slurm_array_parallelism": parallelism,
        "name": "raft-verify",
    }
    if partition:
        options["slurm_partition"] = partition
    executor.update_parameters(**options, **(extra or {}))
    return executor


def slurm(todo: list[sweep.Job], train, *, executor, threads: int | None, echo=print):
    """``todo`` as one Slurm job array; waits for every task. Returns a LaunchReport."""
    with _thread_pools(threads), executor.batch():  # the batch submits as it closes
        submitted = [
            (executor.submit(TrainJob(train), job.argv(), job.representations, threads), job)
            for job in todo
        ]
    echo(f"submitted {len(submitted)} jobs to Slurm: {', '.join(j.job_id for j, _ in submitted)}")
    report = LaunchReport()
    for job, planned in submitted:
        _collect(job, planned, report, echo)
    return report


def _collect(job, planned, report: LaunchReport, echo) -> None:
    try:
        job.result()
    except Exception as error:  # a failed job (its log says why) must not stop the others
        reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
        failure = Failure(planned.name, str(job.job_id), reason, log_tail(job))
        report.failures.append(failure)
        echo(str(failure))
        return
    report.finished.append(planned.name)
    echo(f"finished {planned.name}")


def log_tail(job, lines: int = LOG_LINES) -> list[str]:
    """The last lines of a job's own output on stderr (a progress bar's carriage returns end
    lines too), before submitit's traceback of the job's exception, whose last line ends it."""
    text = (job.stderr() or "").replace("\r", "\n")
    segments = [s.rstrip() for s in text.splitlines() if s.strip()]
    if TRACEBACK in segments:
        cut = len(segments) - 1 - segments[::-1].index(TRACEBACK)
        segments = segments[:cut] + segments[-1:]
    return segments[-lines:]
