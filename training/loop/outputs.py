"""What a run writes into ``--out``, and how: every file atomically, a checkpoint that holds
every random state, one-line errors for a full or unwritable disk, and the folder's lock."""

import errno
import fcntl
import json
import math
import os
import random
import signal
import socket
import time
from pathlib import Path

import numpy as np
import torch

from theory import files
from training.loop.config import Config, RunFailed, UsageError
from training.loop.signals import STOP

OUTPUTS = ("checkpoint.pt", "metrics.jsonl", "result.json", "curves.png", "early.jsonl")
TEMPORARY = tuple(f"{name}.tmp" for name in OUTPUTS)  # left by a kill mid-write
LOCK = "run.lock"
CHECKPOINT_FORMAT = 1
# Test-only: "kill@E" or "disk-full@E" strikes the checkpoint of epoch E in the middle of its
# write (see _injected_fault), so that the tests of those windows are reproducible.
FAULT_VARIABLE = "RAFT_VERIFY_FAULT"


def rng_states(generators: dict[str, torch.Generator]) -> dict:
    """Every random state a run reads: torch (CPU and each CUDA device), numpy, Python, and the
    run's own generators (data order, augmentations)."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": numpy_state,
        "python": random.getstate(),
        **{name: g.get_state() for name, g in generators.items()},
    }


def set_rng_states(states: dict, generators: dict[str, torch.Generator]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    numpy_state = dict(states["numpy"], state=dict(states["numpy"]["state"]))
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    for name, g in generators.items():
        g.set_state(states[name])


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` atomically (``write_atomically``)."""
    write_atomically(path, lambda f: torch.save(state, f), fault=_injected_fault(state["epoch"]))


def _injected_fault(epoch: int) -> str | None:
    """The fault FAULT_VARIABLE asks for in the checkpoint of ``epoch``: "kill" or "disk-full".
    Test-only, and read nowhere else."""
    fault, _, at = os.environ.get(FAULT_VARIABLE, "").partition("@")
    return fault if at == str(epoch) and fault in ("kill", "disk-full") else None


def read_checkpoint(path: Path) -> dict:
    """A checkpoint written by ``save_checkpoint``, or RunFailed saying what is wrong with it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise RunFailed(
            f"checkpoint {path} is unreadable ({type(error).__name__}: {error}); it was left as "
            "it is: move it away, or pass --overwrite to start the run again"
        ) from error
    needed = {"format", "config", "epoch", "step", "online", "target", "predictor", "optimizer"}
    needed |= {"rng", "history"}
    missing = needed - set(state) if isinstance(state, dict) else needed
    if missing or state["format"] != CHECKPOINT_FORMAT or not isinstance(state["config"], dict):
        raise RunFailed(
            f"checkpoint {path} is not a training.run checkpoint of format {CHECKPOINT_FORMAT} "
            f"(missing {sorted(missing)}); it was left as it is"
        )
    unknown = sorted(set(state["config"]) - set(Config.__dataclass_fields__))
    if unknown:
        raise RunFailed(
            f"checkpoint {path} was written by another version of training.run: its settings "
            f"include {', '.join(unknown)}, which this version does not know; it was left as it "
            "is: resume it with the version that wrote it"
        )
    return state


def write_json(path: Path, value) -> None:
    text = json.dumps(value, indent=2) + "\n"
    write_atomically(path, lambda f: f.write(text.encode()))


def write_metrics(out: Path, history: list[dict]) -> None:
    text = "".join(json.dumps(m) + "\n" for m in history)
    write_atomically(out / "metrics.jsonl", lambda f: f.write(text.encode()))


def append_metrics(out: Path, metrics: dict) -> None:
    kept = "checkpoint.pt is whole, and resuming rewrites metrics.jsonl"
    append_jsonl(out / "metrics.jsonl", metrics, kept)


def append_jsonl(path: Path, line: dict, kept: str | None = None) -> None:
    """``line`` as one more line of the JSON Lines file ``path``, on a line of its own after a
    cut last line. A failed write is RunFailed, saying what ``kept`` is whole and how to resume
    (None: a run that cannot resume)."""
    try:
        cut = False
        if path.is_file() and path.stat().st_size:
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                cut = f.read(1) != b"\n"
        with open(path, "a") as f:
            f.write(("\n" if cut else "") + json.dumps(line) + "\n")
    except OSError as error:
        if kept is None:
            raise RunFailed(f"cannot write {path} ({error.strerror or error})") from error
        raise RunFailed(_cannot_write(path, error, kept)) from error


def finite(value):
    """JSON has no NaN or infinity: a non-finite number is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def write_curves(out: Path, history: list[dict], title: str) -> None:
    """The paper's Figure 1 panels for one run: training loss, L_align(q∘f_θ) and
    L_uniform(f_θ) against epoch."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
    panels = (
        ("loss", "training loss"),
        ("align", "$L_{align}(q_w∘f_θ)$"),
        ("uniform", "$L_{uniform}(f_θ)$"),
    )
    for axis, (key, label) in zip(axes, panels):
        points = [(m["epoch"], m[key]) for m in history if m[key] is not None]
        if points:
            axis.plot(*zip(*points), marker="o" if len(points) < 30 else None)
        if key == "align" and points and min(v for _, v in points) > 0:
            axis.set_yscale("log")  # Table 1's alignments span 1e-10 to 1e-2
        axis.set_title(label)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    try:
        write_atomically(out / "curves.png", lambda f: figure.savefig(f, format="png", dpi=110))
    finally:
        plt.close(figure)


def write_atomically(path: Path, write, fault: str | None = None) -> None:
    """Write ``path`` by ``write(file)`` with ``theory.files.write_atomically`` (beside its real
    target, flushed to disk, renamed over it; never over a folder, device or pipe), so that a
    kill at any moment leaves the old file or the new one whole; a kill leaves at most
    ``NAME.tmp`` (``TEMPORARY``). SIGINT and SIGTERM wait for the write's end (``STOP``). A
    failed write removes its temporary file; an OSError (a full disk, say) or a target that must
    not be replaced becomes RunFailed, one line. ``fault``: ``_injected_fault``'s."""
    outputs: list[_Output] = []

    def wrap(f):
        outputs.append(_Output(f, fault))
        return outputs[0]

    with STOP.deferred():
        try:
            files.write_atomically(path, write, temporary_name=path.name + ".tmp", wrap=wrap)
        except files.OutputError as error:
            raise RunFailed(f"{error}; nothing was written") from None
        except BaseException as error:
            cause = outputs[0].error if outputs and outputs[0].error else error
            if not isinstance(cause, OSError):
                raise
            state = "keeps its last good version" if path.exists() else "does not exist yet"
            kept = f"{path.name} {state}, and the partial file was removed"
            raise RunFailed(_cannot_write(path, cause, kept)) from error


class _Output:
    """The file a writer writes to. It keeps the OSError of a failed write, which torch.save
    reports only as "unexpected pos …", and strikes the injected fault once the first chunk is
    written."""

    def __init__(self, file, fault: str | None):
        self.file, self.fault = file, fault
        self.error: OSError | None = None
        self.chunks = 0

    def write(self, chunk) -> int:
        if self.fault and self.chunks:
            self._strike()
        self.chunks += 1
        try:
            return self.file.write(chunk)
        except OSError as error:
            self.error = error
            raise

    def flush(self) -> None:
        self.file.flush()

    def _strike(self) -> None:
        if self.fault == "kill":
            self.file.flush()  # the partial file on disk, as a kill mid-write leaves it
            os.kill(os.getpid(), signal.SIGKILL)
        self.error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise self.error


def _cannot_write(path: Path, error: OSError, kept: str) -> str:
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"the disk is full: cannot write {path} ({reason}); {kept}. Free space, then resume "
            "with --resume"
        )
    return f"cannot write {path} ({reason}); {kept}. Resume with --resume once it can be written"


class FolderLock:
    """``--out`` for one run at a time: an exclusive ``flock`` on its run.lock for the run's
    life. The kernel drops the lock when the process ends, however it ends, so a killed run
    never blocks the next; the file, which stays, only records who holds or last held it."""

    def __init__(self, out: Path):
        self.out, self.path = out, out / LOCK
        self.previous: dict | None = None  # the record of the run that held it last

    def __enter__(self) -> "FolderLock":
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "a+")
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise RunFailed(_cannot_write(self.path, error, "nothing was written")) from error
            reason = error.strerror or error
            raise UsageError(f"--out {self.out} cannot be written ({reason})") from error
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = self._read()
            self.file.close()
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UsageError(
                    f"--out {self.out} is in use by another run ({_holder(holder)}); wait for it "
                    "to end, or choose another --out"
                ) from error
            raise UsageError(f"cannot lock {self.path} ({error.strerror})") from error
        self.previous = self._read()
        return self

    def _read(self) -> dict | None:
        self.file.seek(0)
        try:
            return json.loads(self.file.read())
        except ValueError:  # empty, or caught in the middle of its holder's write
            return None

    def record(self, command: str) -> None:
        """Say who holds the lock, for a second run's refusal to name."""
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": command,
        }
        try:
            self.file.seek(0)
            self.file.truncate()
            self.file.write(json.dumps(holder) + "\n")
            self.file.flush()
        except OSError as error:
            raise RunFailed(_cannot_write(self.path, error, "nothing else was written")) from error

    def __exit__(self, *exception) -> None:
        self.file.close()  # and with it the lock


def _holder(record: dict | None) -> str:
    if not record:
        return "which has not said who it is yet"
    return (
        f"pid {record.get('pid')} on {record.get('host')}, started {record.get('started')}: "
        f"{record.get('command')}"
    )
