"""``python -m training.run VARIANT [options]``: train one model of Table 2 as Appendix B and
Algorithm 1 describe, measure it every epoch, evaluate it linearly at the end.

Writes into ``--out``: ``metrics.jsonl`` (one JSON object per epoch; epoch 0 is the untrained
model), ``checkpoint.pt`` (every epoch), ``result.json`` and ``curves.png``, each atomically;
``run.lock`` is the folder's lock, held by the run using it.
Exit status: 0 done; 2 bad input (unknown variant, bad option, ``--out`` in use or unwritable,
data other than the checkpoint's); 1 the run could not go on (dataset missing or broken,
corrupt checkpoint, full disk, non-finite loss); 130 and 143 stopped by SIGINT and SIGTERM.
"""

import argparse
import contextlib
import errno
import fcntl
import json
import math
import os
import random
import shlex
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from theory.teacher import ema_update
from training import augment, data, evaluate, models, probes, step as steps, variants

OUTPUTS = ("checkpoint.pt", "metrics.jsonl", "result.json", "curves.png")
TEMPORARY = tuple(f"{name}.tmp" for name in OUTPUTS)  # left by a kill mid-write
LOCK = "run.lock"
CHECKPOINT_FORMAT = 1
SEEDS = 2**32  # numpy's np.random.seed takes 0 ≤ seed < 2**32; torch and Python take more
# Test-only: "kill@E" or "disk-full@E" strikes the checkpoint of epoch E in the middle of its
# write (see _injected_fault), so that the tests of those windows are reproducible.
FAULT_VARIABLE = "RAFT_VERIFY_FAULT"
CALIBRATION_IMAGES = 4096  # training images that set an untrained network's batch-norm statistics
TARGET_INITS = ("copy", "independent")
REDUCTIONS = ("sum", "mean")


@dataclass
class Config:
    """Every knob of a run; the defaults are the paper's (Appendix B)."""

    variant: str = "byol"
    dataset: str = "cifar10"
    data_dir: str = "data"
    epochs: int = 300
    batch_size: int = 128
    lr: float = 3e-4
    ema: float = 4e-3  # 1 − τ in eq. 5: τ = 0.996, constant ("without the cosine smoothing trick")
    alpha: float | None = None  # None: the variant's default (Table 2); BYOL has no α, β
    beta: float | None = None
    image_size: int = 96  # CIFAR10 "resized from 32×32 to 96×96"
    subset: int | None = None  # the first N training images; None: all
    augment: str = "byol"
    probe_size: int = 1024  # held-out (test split) images on which the metrics are measured
    linear_epochs: int = 100
    linear_lr: float = 5e-4
    linear_batch_size: int = 256
    width: int = 64  # ResNet18's first-stage width; 64 is ResNet18
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # bf16 autocast on CUDA, fp32 on the CPU (training/step.py)
    channels_last: str = "auto"  # on for CUDA, off on the CPU
    compile: bool = False
    out: str | None = None  # None: runs/VARIANT-DATASET-sSEED
    log_every: int = 50  # steps between reads of the loss for the progress bar; 0: epoch ends only
    knn_bank: int = 4096  # training images in the per-epoch k-NN monitor's bank; 0: no monitor
    knn_k: int = 200
    knn_temperature: float = 0.1
    # The authors' code where it trains otherwise than the paper says (docs/reproduce.md):
    target_init: str = "copy"  # "independent": ξ₀ drawn apart from θ₀ (their --same-init False)
    ema_updates: int = 1  # 2: their wrappers move the teacher before and after each Adam step
    objective_reduction: str = "sum"  # "mean": their losses average over the D dimensions


# Options that may differ when a run is resumed: where the data is, what runs it and how, how
# long it trains and how it is evaluated afterwards. Changing any other would splice two
# different runs.
RESUMABLE = {
    "data_dir", "device", "precision", "channels_last", "compile", "epochs", "log_every",
    "linear_epochs", "linear_lr", "linear_batch_size",
}


class UsageError(ValueError):
    """Bad input from the command line (exit status 2)."""


class RunFailed(RuntimeError):
    """The run cannot go on (exit status 1)."""


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


# The command line ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.run",
        description="Train a model of Table 2 of 'Run Away From your Teacher' (Appendix B "
        "defaults), measure alignment, uniformity, cross-model and BYOL losses every epoch, "
        "then run the linear evaluation protocol.",
        argument_default=argparse.SUPPRESS,  # so that the options given are known (resume)
    )
    p.add_argument("variant", nargs="?", help="a variant of Table 2 (see --list); byolp = byol'")
    p.add_argument("--list", action="store_true", help="print the variants and exit")
    add_options(p)
    resume = p.add_mutually_exclusive_group()
    resume.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its checkpoint"
    )
    resume.add_argument("--overwrite", action="store_true", help="start again in a used --out")
    return p


def add_options(p: argparse.ArgumentParser, linear: bool = True,
                out: str = "runs/VARIANT-DATASET-sSEED") -> None:
    """The options of a run's Config (``training.pair`` takes them too); ``linear``: with the
    linear evaluation's; ``out``: the default output folder, in words."""
    d = Config()
    p.add_argument("--dataset", choices=data.DATASETS, help=f"default {d.dataset}, the paper's")
    p.add_argument("--data-dir", help=f"where the dataset is or goes (default {d.data_dir})")
    p.add_argument("--epochs", type=int, help=f"training epochs (default {d.epochs})")
    p.add_argument("--batch-size", type=int, help=f"default {d.batch_size}")
    p.add_argument("--lr", type=float, help=f"Adam's learning rate (default {d.lr:g})")
    p.add_argument(
        "--ema", type=float, help=f"EMA rate 1 − τ of the mean teacher, eq. 5 (default {d.ema:g})"
    )
    p.add_argument("--alpha", type=float, help="weight α > 0 of L_align (BYOL', RAFT; default 1)")
    p.add_argument(
        "--beta",
        type=float,
        help="weight β > 0 of L_cross-model (BYOL', RAFT; default 1), with Definition 4.3's sign: "
        "RAFT minimises α·L_align − β·L_cross-model. Table 3 prints RAFT's β negated "
        "(its −1 is --beta 1 here).",
    )
    p.add_argument("--image-size", type=int, help=f"side of the views (default {d.image_size})")
    p.add_argument("--subset", type=int, help="train on the first N training images only")
    p.add_argument("--augment", choices=augment.RECIPES, help=f"default {d.augment}")
    p.add_argument(
        "--probe-size", type=int, help=f"test images the metrics use (default {d.probe_size})"
    )
    if linear:
        p.add_argument("--linear-epochs", type=int, help=f"default {d.linear_epochs}")
        p.add_argument("--linear-lr", type=float, help=f"default {d.linear_lr:g}")
        p.add_argument("--linear-batch-size", type=int, help=f"default {d.linear_batch_size}")
    p.add_argument(
        "--width", type=int, help=f"ResNet18's first-stage width (default {d.width}, ResNet18)"
    )
    p.add_argument("--seed", type=int, help=f"default {d.seed}")
    _monitor_and_conventions(p, d)
    _how_it_runs(p, d, out)


def _monitor_and_conventions(p: argparse.ArgumentParser, d: Config) -> None:
    """The per-epoch k-NN monitor, and the authors' code's conventions (docs/reproduce.md)."""
    p.add_argument(
        "--knn-bank", type=int, help=f"training images in the per-epoch weighted k-NN monitor's "
        f"bank (default {d.knn_bank}; 0: off)",
    )  # fmt: skip
    p.add_argument("--knn-k", type=int, help=f"neighbours that vote (default {d.knn_k})")
    p.add_argument("--knn-temperature", type=float, help=f"default {d.knn_temperature:g}")
    p.add_argument(
        "--target-init", choices=TARGET_INITS, help="copy: the teacher starts as the online "
        "network (BYOL, default); independent: as its own random network (the authors' code)",
    )  # fmt: skip
    p.add_argument(
        "--ema-updates", type=int, choices=(1, 2), help="EMA updates of the teacher per step: 1 "
        "(eq. 5, default); 2 (the authors' code since Dec 2020: before and after the Adam step)",
    )  # fmt: skip
    p.add_argument(
        "--objective-reduction", choices=REDUCTIONS, help="sum: squared distances summed over "
        "the D dimensions, as the paper's equations (default); mean: averaged over them, as the "
        "authors' losses (trained exactly so as Adam with ε·D)",
    )  # fmt: skip


def _how_it_runs(p: argparse.ArgumentParser, d: Config, out: str) -> None:
    """The options that say where and how the run computes and writes, not what it trains."""
    p.add_argument("--device", help="cpu, cuda, cuda:N or auto (default: cuda when available)")
    p.add_argument(
        "--precision",
        choices=steps.PRECISIONS,
        help="the networks' arithmetic in training: bf16 autocast (weights, EMA and loss stay "
        "fp32), fp32, or fp64 (networks, views, loss, Adam and EMA in float64, for exact "
        "comparisons); auto: bf16 on CUDA, fp32 on the CPU",
    )
    p.add_argument(
        "--channels-last",
        choices=steps.LAYOUTS,
        help="NHWC images and convolution weights; auto: on for CUDA, off on the CPU",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the networks and the augmentations (minutes of compilation first)",
    )
    p.add_argument("--out", help=f"output folder (default {out})")
    p.add_argument(
        "--log-every",
        type=int,
        help=f"show the loss on the progress bar every N steps, 0: at epoch ends only "
        f"(default {d.log_every}; on CUDA the read does not wait for the device, so the bar "
        "shows the loss of the previous read)",
    )


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = vars(parser().parse_args(argv))
    if args.pop("list", False):
        print(variants.table())
        return 0
    resume, overwrite = args.pop("resume", False), args.pop("overwrite", False)
    if "variant" not in args:
        parser().error("a VARIANT is required (see --list)")
    try:
        args["variant"] = variants.resolve(args["variant"]).name
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    command = shlex.join(["python", "-m", "training.run", *argv])
    try:
        with STOP.installed():
            launch(args, resume=resume, overwrite=overwrite, command=command)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (RunFailed, data.DatasetMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Interrupted as stop:
        print(f"error: {stop}", file=sys.stderr)
        return 128 + stop.signum
    return 0


def launch(given: dict, *, resume: bool, overwrite: bool, command: str) -> dict:
    """Check the options, take ``--out`` for this run alone, settle what it holds, and run."""
    cfg = replace(Config(), **given)
    variant = variants.resolve(cfg.variant)
    if cfg.out is None:
        cfg.out = str(Path("runs") / f"{variants.file_name(variant)}-{cfg.dataset}-s{cfg.seed}")
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if not out.exists():
        check(cfg, variant)  # so that bad values are refused before anything is created
    with FolderLock(out) as lock:
        cfg, resumed = configure(
            cfg, given, resume=resume, overwrite=overwrite, ran_here=lock.previous is not None
        )
        lock.record(command)
        return run(cfg, resumed)


def configure(
    cfg: Config, given: dict, *, resume: bool, overwrite: bool, ran_here: bool
) -> tuple[Config, dict | None]:
    """The run's configuration, and the checkpoint it resumes from (None when it starts afresh):
    ``cfg``, the options ``given`` over the defaults, or ``given`` over the saved configuration
    when resuming. Checks every value, and clears ``--out`` for a fresh start where it may.
    ``ran_here``: a run of training.run has held the folder before."""
    variant = variants.resolve(cfg.variant)
    out = Path(cfg.out)
    checkpoint = out / "checkpoint.pt"
    resumed = read_checkpoint(checkpoint) if resume and checkpoint.is_file() else None
    if resumed:
        cfg = resumed_config(resumed, given, checkpoint)
    check(cfg, variant)
    if not resumed:
        clear_for_a_fresh_start(out, resume=resume, overwrite=overwrite, ran_here=ran_here)
    return settle(cfg, variant), resumed


def settle(cfg: Config, variant: variants.Variant) -> Config:
    """The configuration a run of ``variant`` records: no epochs for a model that does not
    train, and the variant's α and β where none were given."""
    if not variant.trains:
        cfg = replace(cfg, epochs=0)
    if variant.weighted:
        cfg = replace(cfg, alpha=variant.alpha if cfg.alpha is None else cfg.alpha,
                      beta=variant.beta if cfg.beta is None else cfg.beta)  # fmt: skip
    return cfg


def resumed_config(resumed: dict, given: dict, checkpoint: Path) -> Config:
    """The saved configuration with the options that may change on resume (RESUMABLE) as
    ``given``; any other option given must be the saved one."""
    saved = Config(**resumed["config"])
    changed = {
        k: (getattr(saved, k), v)
        for k, v in given.items()
        if k not in RESUMABLE and k != "out" and v != getattr(saved, k)
    }
    if changed:
        described = "; ".join(f"{k}: saved {a!r}, given {b!r}" for k, (a, b) in changed.items())
        raise UsageError(f"cannot resume {checkpoint} with different settings ({described})")
    resumable = {k: v for k, v in given.items() if k in RESUMABLE}
    cfg = replace(saved, out=str(checkpoint.parent), **resumable)
    if cfg.epochs < resumed["epoch"]:
        raise UsageError(f"--epochs {cfg.epochs}: {checkpoint} has trained {resumed['epoch']}")
    return cfg


def clear_for_a_fresh_start(out: Path, *, resume: bool, overwrite: bool, ran_here: bool) -> None:
    """Refuse to start afresh over what may matter, unless ``--overwrite``; then remove the
    run's own files. A folder holding only what a killed run leaves (the lock, temporary
    files), or files beside a run that never reached its first checkpoint, starts afresh with
    ``--resume`` too: every state a kill can leave is resumable or restartable."""
    held = {p.name for p in out.iterdir()} - {LOCK, *TEMPORARY}
    outputs = sorted(held & set(OUTPUTS))
    if resume:
        if outputs:
            raise UsageError(
                f"nothing to resume: {out} has no checkpoint.pt but holds a run's "
                f"{', '.join(outputs)}; pass --overwrite to start that run again"
            )
        if held and not ran_here:
            raise UsageError(f"nothing to resume: {out} has no checkpoint.pt but is not empty")
        print(f"nothing to resume in {out} (no checkpoint.pt): starting afresh", file=sys.stderr)
    elif held and not overwrite:
        raise UsageError(
            f"--out {out} is not empty: pass --resume to continue its run or --overwrite to "
            "start again"
        )
    for name in TEMPORARY + OUTPUTS[::-1]:  # checkpoint.pt last: till then the old run resumes
        (out / name).unlink(missing_ok=True)


def check(cfg: Config, variant: variants.Variant) -> None:
    """Refuse values that cannot make a run, each with a line saying why."""
    for name in ("alpha", "beta"):
        value = getattr(cfg, name)
        if value is None:
            continue
        if not variant.weighted:
            raise UsageError(
                f"--{name}: {variant.name}'s objective ({variant.objective}) has no α or β; only "
                "the BYOL' and RAFT variants weigh L_align and L_cross-model"
            )
        if not (math.isfinite(value) and value > 0):
            hint = " (Table 3 prints RAFT's β negated: its −1 is --beta 1)" if name == "beta" else ""
            raise UsageError(
                f"--{name} must be a finite number > 0 (Definitions 4.2 and 4.3), got {value}{hint}"
            )
    rules = (
        ("epochs", cfg.epochs >= 0, "≥ 0"),
        ("batch-size", cfg.batch_size >= 2, "≥ 2 (batch normalisation needs two samples)"),
        ("lr", math.isfinite(cfg.lr) and cfg.lr > 0, "> 0"),
        ("ema", 0 <= cfg.ema <= 1, "in [0, 1]"),
        ("image-size", cfg.image_size >= 8, "≥ 8"),
        ("subset", cfg.subset is None or cfg.subset >= cfg.batch_size, "≥ the batch size"),
        ("probe-size", cfg.probe_size >= 2, "≥ 2"),
        ("linear-epochs", cfg.linear_epochs >= 0, "≥ 0"),
        ("linear-lr", math.isfinite(cfg.linear_lr) and cfg.linear_lr > 0, "> 0"),
        ("linear-batch-size", cfg.linear_batch_size >= 1, "≥ 1"),
        ("width", cfg.width >= 1, "≥ 1"),
        ("log-every", cfg.log_every >= 0, "≥ 0"),
        ("knn-bank", cfg.knn_bank >= 0, "≥ 0"),
        ("knn-k", cfg.knn_k >= 1, "≥ 1"),
        ("knn-temperature", math.isfinite(cfg.knn_temperature) and cfg.knn_temperature > 0, "> 0"),
        ("target-init", cfg.target_init in TARGET_INITS, f"one of {', '.join(TARGET_INITS)}"),
        ("ema-updates", cfg.ema_updates in (1, 2), "1 or 2"),
        ("objective-reduction", cfg.objective_reduction in REDUCTIONS, f"one of {', '.join(REDUCTIONS)}"),
        ("seed", 0 <= cfg.seed < SEEDS, f"in [0, {SEEDS - 1}] (np.random.seed takes no other)"),
        ("precision", cfg.precision in steps.PRECISIONS, f"one of {', '.join(steps.PRECISIONS)}"),
        ("channels-last", cfg.channels_last in steps.LAYOUTS, f"one of {', '.join(steps.LAYOUTS)}"),
    )
    for name, ok, rule in rules:
        if not ok:
            raise UsageError(f"--{name} must be {rule}, got {getattr(cfg, name.replace('-', '_'))}")
    if cfg.dataset not in data.DATASETS:
        raise UsageError(f"unknown dataset {cfg.dataset!r}; valid: {', '.join(data.DATASETS)}")
    if cfg.augment not in augment.RECIPES:
        raise UsageError(f"unknown recipe {cfg.augment!r}; valid: {', '.join(augment.RECIPES)}")
    resolve_device(cfg.device)


def resolve_device(spelled: str) -> torch.device:
    """The device ``--device`` names; auto: CUDA when available, else the CPU."""
    if spelled == "auto":
        chosen = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            chosen = torch.device(spelled)
        except RuntimeError as error:  # torch's message lists every device type it knows
            raise UsageError(
                f"--device {spelled!r} is not a device: use cpu, cuda, cuda:N or auto"
            ) from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {spelled}: CUDA is not available on this machine")
    if chosen.type not in ("cpu", "cuda"):
        raise UsageError(f"--device {spelled}: only cpu and cuda are supported")
    if chosen.type == "cuda" and chosen.index is None:  # generators and tensors name one GPU
        chosen = torch.device("cuda", torch.cuda.current_device())
    return chosen


# Checkpoints -----------------------------------------------------------------------------------


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


# The run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """A run's live objects, which its stages share."""

    cfg: Config
    variant: variants.Variant
    out: Path
    device: torch.device
    speed: steps.Speed
    train_set: data.Images
    test_set: data.Images
    views: augment.TwoViews
    images: torch.Tensor  # the whole training set on the device, as uint8
    probe: evaluate.Probe
    online: models.Network
    predictor: torch.nn.Module
    target: models.Network
    optimizer: torch.optim.Optimizer
    generators: dict[str, torch.Generator]  # data order and augmentations
    fingerprint: dict  # of the training and test sets (data.Images.fingerprint)
    history: list[dict] = field(default_factory=list)  # metrics.jsonl's lines
    epoch: int = 0  # the epoch being trained, or the last one trained
    step: int = 0
    saved: tuple[int, int] | None = None  # the epoch and step checkpoint.pt holds
    knn: evaluate.KNN | None = None  # the per-epoch k-NN monitor (--knn-bank 0: none)

    @property
    def checkpoint(self) -> Path:
        return self.out / "checkpoint.pt"

    def state(self) -> dict:
        """What checkpoint.pt holds: everything needed to go on bitwise as if never stopped."""
        return {
            "format": CHECKPOINT_FORMAT,
            "config": asdict(self.cfg),
            "epoch": self.epoch,
            "step": self.step,
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "predictor": self.predictor.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_states(self.generators),
            "history": self.history,
            "data": self.fingerprint,
        }

    def save(self) -> None:
        with STOP.deferred():  # a stop meanwhile must report the checkpoint just written
            save_checkpoint(self.checkpoint, self.state())
            self.saved = (self.epoch, self.step)

    def measure(self, loss: float | None, began: float) -> dict:
        """The probe metrics of the model as it is now: one line of metrics.jsonl."""
        values = evaluate.probe_metrics(self.online, self.predictor, self.target, self.probe)
        if self.knn is not None:
            values["knn_acc"] = self.knn.accuracy(self.online)
        values = dict(zip(values, torch.stack(list(values.values())).tolist()))  # one device read
        metrics = {"epoch": self.epoch, "step": self.step, "loss": loss}
        metrics.update((k, evaluate.finite_or_none(v)) for k, v in values.items())
        theory_began = time.perf_counter()  # Theorem 4.1 and Appendix H: one more device read
        metrics.update(probes.measure(self.online, self.predictor, self.target, self.probe,
                                      alpha=self.cfg.alpha, beta=self.cfg.beta))  # fmt: skip
        metrics["theory_seconds"] = time.perf_counter() - theory_began
        metrics["seconds"] = time.perf_counter() - began
        return metrics


def run(cfg: Config, resumed: dict | None = None) -> dict:
    """Train (Algorithm 1), measuring every epoch, from scratch or from the checkpoint
    ``resumed``; then the linear evaluation. Returns what it writes to result.json."""
    live = None
    try:
        live = prepare(cfg, resumed)
        if resumed:
            restore(live, resumed)
        else:
            start(live)
        train_epochs(live)
        return finish(live)
    except Interrupted as stop:
        if live:
            position, kept = f"at epoch {live.epoch}, step {live.step}", live.saved
        else:
            position, kept = "before training began", resumed and (resumed["epoch"], resumed["step"])
        stop.where = _whereabouts(position, kept)
        raise


def _whereabouts(position: str, saved: tuple[int, int] | None) -> str:
    """Where the run stopped and what it kept, for the line an interruption prints."""
    if saved is None:
        return f"{position}, before its first checkpoint: run the same command again"
    kept = f"checkpoint.pt keeps epoch {saved[0]}, step {saved[1]}"
    return f"{position}; {kept}: resume with --resume"


def prepare(cfg: Config, resumed: dict | None) -> Run:
    """The data, the networks, the optimiser and the generators, seeded. The order of the
    calls that draw random numbers is part of what a seed means: keep it."""
    variant = variants.resolve(cfg.variant)
    out = Path(cfg.out)
    dev = resolve_device(cfg.device)
    speed = steps.Speed.choose(dev, cfg.precision, cfg.channels_last, cfg.compile)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: find the fastest algorithms once

    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    train_set = data.load(cfg.dataset, cfg.data_dir, train=True).head(cfg.subset)
    test_set = data.load(cfg.dataset, cfg.data_dir, train=False)
    fingerprint = {"train": train_set.fingerprint(), "test": test_set.fingerprint()}
    if resumed:
        check_same_data(resumed.get("data"), fingerprint, cfg)
    if len(train_set) < cfg.batch_size and variant.trains:
        raise UsageError(f"{len(train_set)} training images cannot fill a batch of {cfg.batch_size}")
    mean, std = train_set.channel_stats()
    views = steps.in_precision(augment.TwoViews(cfg.augment, cfg.image_size, mean, std), speed)
    images = train_set.images.to(dev)
    probe = evaluate.Probe(
        test_set.head(cfg.probe_size).images.to(dev),
        views,
        torch.Generator(dev).manual_seed(cfg.seed + 2),
    )

    online = models.Network(cfg.width).to(dev, speed.dtype, memory_format=speed.memory_format)
    if not resumed:
        evaluate.calibrate_batch_norm(online, images[:CALIBRATION_IMAGES], views.plain)
    predictor = models.predictor(variant.predictor).to(dev, speed.dtype)
    target = models.mean_teacher(online)
    optimizer = steps.adam([*online.parameters(), *predictor.parameters()], cfg.lr)
    generators = {
        "order": torch.Generator(dev).manual_seed(cfg.seed),
        "augment": torch.Generator(dev).manual_seed(cfg.seed + 1),
    }
    authors_conventions(cfg, online, target, optimizer, (images, views, speed), fresh=not resumed)
    return Run(
        cfg, variant, out, dev, speed, train_set, test_set, views, images, probe,
        online, predictor, target, optimizer, generators, fingerprint,
        knn=knn_monitor(cfg, images, train_set, test_set, probe, views),
    )  # fmt: skip


def knn_monitor(cfg: Config, images, train_set, test_set, probe, views) -> evaluate.KNN | None:
    """The per-epoch k-NN monitor: the first --knn-bank training images as its bank, the
    probe's images (the first --probe-size test images) as its queries."""
    if not cfg.knn_bank:
        return None
    dev = images.device
    return evaluate.KNN(
        images[: cfg.knn_bank], train_set.labels[: cfg.knn_bank].to(dev), probe.x,
        test_set.labels[: probe.x.shape[0]].to(dev), views.plain, k=cfg.knn_k,
        temperature=cfg.knn_temperature, classes=len(train_set.classes),
    )  # fmt: skip


def authors_conventions(cfg: Config, online, target, optimizer, inputs, fresh: bool) -> None:
    """Train as the authors' code does where --target-init, --ema-updates or
    --objective-reduction ask for it (docs/reproduce.md says which file does what).
    ``inputs``: the training images on the device, their views and the run's Speed."""
    images, views, speed = inputs
    if cfg.target_init == "independent" and fresh:
        teacher = models.Network(cfg.width).to(images.device, memory_format=speed.memory_format)
        evaluate.calibrate_batch_norm(teacher, images[:CALIBRATION_IMAGES], views.plain)
        target.load_state_dict(teacher.state_dict())
    if cfg.ema_updates == 2:  # their EMA wrapper also runs in the forward, before Adam's step
        optimizer.register_step_pre_hook(
            lambda *_: ema_update(target.parameters(), online.parameters(), tau=1 - cfg.ema)
        )
    if cfg.objective_reduction == "mean":  # Adam on L/D is exactly Adam on L with ε·D
        for group in optimizer.param_groups:
            group["eps"] *= models.PROJECTION_DIM


def check_same_data(saved: dict | None, found: dict, cfg: Config) -> None:
    """Refuse to resume on other data than the checkpoint's (UsageError)."""
    if saved is None:  # a checkpoint written before checkpoints recorded their data
        return
    differ = [split for split in found if saved.get(split) != found[split]]
    if differ:
        described = "; ".join(
            f"{split}: trained on {_data(saved.get(split))}, found {_data(found[split])}"
            for split in differ
        )
        raise UsageError(
            f"--data-dir {cfg.data_dir} holds other {cfg.dataset} data than the checkpoint was "
            f"trained on ({described}); resume with the data it was trained on"
        )


def _data(fingerprint: dict | None) -> str:
    if not fingerprint:
        return "nothing recorded"
    return f"{fingerprint['shape'][0]} images, sha256 {fingerprint['sha256'][:12]}"


def start(live: Run) -> None:
    """A fresh run: the untrained model's metrics (epoch 0) and the first checkpoint."""
    live.history = [live.measure(None, time.perf_counter())]
    live.save()
    write_metrics(live.out, live.history)


def restore(live: Run, resumed: dict) -> None:
    """The run as the checkpoint ``resumed`` left it: parameters, optimiser, random states."""
    live.online.load_state_dict(resumed["online"])
    live.target.load_state_dict(resumed["target"])
    live.predictor.load_state_dict(resumed["predictor"])
    live.optimizer.load_state_dict(resumed["optimizer"])
    steps.match_layouts(live.optimizer)
    set_rng_states(resumed["rng"], live.generators)
    live.epoch, live.step, live.history = resumed["epoch"], resumed["step"], resumed["history"]
    live.saved = (live.epoch, live.step)
    write_metrics(live.out, live.history)  # drops any line written after the checkpoint
    if live.cfg.epochs > live.epoch:  # an extension: until it ends, there is no final result
        (live.out / "result.json").unlink(missing_ok=True)
    print(f"resuming {live.out} at epoch {live.epoch}, step {live.step}", file=sys.stderr)


def train_epochs(live: Run) -> None:
    """The epochs still to train, each followed by its metrics and checkpoint. A non-finite
    loss stops the run (RunFailed), keeping the previous epoch's checkpoint."""
    cfg = live.cfg
    train_step = steps.Step(
        live.online, live.predictor, live.target, live.optimizer, live.variant, live.views,
        live.speed, ema=cfg.ema, alpha=cfg.alpha, beta=cfg.beta,
    )  # fmt: skip
    latest = steps.LatestLoss(live.device)
    steps_per_epoch = len(live.images) // cfg.batch_size  # batch norm sees full batches only
    progress = tqdm(
        total=cfg.epochs * steps_per_epoch, initial=live.step, desc=live.variant.name,
        unit="step", dynamic_ncols=True, disable=cfg.epochs <= live.epoch,
    )  # fmt: skip
    with progress:
        for epoch in range(live.epoch + 1, cfg.epochs + 1):
            began = time.perf_counter()
            live.epoch = epoch
            mean_loss = train_epoch(live, train_step, latest, progress, steps_per_epoch)
            if not math.isfinite(mean_loss):
                break
            live.history.append(live.measure(mean_loss, began))
            live.save()
            append_metrics(live.out, live.history[-1])
            progress.set_postfix(loss=live.history[-1]["loss"], align=live.history[-1]["align"])
        else:
            return
    write_curves(live.out, live.history, live.variant.name)
    raise RunFailed(
        f"the loss became non-finite ({mean_loss}) during epoch {epoch}; stopped. The last "
        f"good checkpoint (epoch {epoch - 1}) is kept in {live.checkpoint}; metrics up to "
        "there are in metrics.jsonl. Lower --lr or check --alpha/--beta."
    )


def train_epoch(live: Run, train_step, latest, progress, steps_per_epoch: int) -> float:
    """The steps of one epoch; its mean loss, the epoch's one read of the device."""
    cfg, batch = live.cfg, live.cfg.batch_size
    for network in (live.online, live.predictor, live.target):  # the target's batch norm too
        network.train()  # normalises with batch statistics during training, as BYOL's does
    order = torch.randperm(len(live.images), generator=live.generators["order"], device=live.device)
    loss_sum = torch.zeros((), device=live.device)
    for i in range(steps_per_epoch):
        images = live.images[order[i * batch : (i + 1) * batch]]
        loss = train_step(images, live.generators["augment"])
        loss_sum += loss  # stays on the device: no synchronisation per step
        live.step += 1
        progress.update()
        if cfg.log_every and live.step % cfg.log_every == 0:
            latest.post(loss)  # on CUDA, without waiting for the device
            if latest.value is not None:
                progress.set_postfix(loss=f"{latest.value:.4g}")
    return (loss_sum / steps_per_epoch).item()


def finish(live: Run) -> dict:
    """The curves, the linear evaluation and result.json; returns what it writes there."""
    write_curves(live.out, live.history, live.variant.name)
    began = time.perf_counter()
    dev, views = live.device, live.views
    linear = evaluate.linear_evaluation(  # in fp32, whatever the training's precision
        evaluate.features(live.online, live.images, views.plain).float(),
        live.train_set.labels.to(dev),
        evaluate.features(live.online, live.test_set.images.to(dev), views.plain).float(),
        live.test_set.labels.to(dev),
        classes=len(live.test_set.classes),
        epochs=live.cfg.linear_epochs,
        lr=live.cfg.linear_lr,
        batch_size=live.cfg.linear_batch_size,
        generator=torch.Generator(dev).manual_seed(live.cfg.seed + 3),
    )
    result = _result(live, linear, linear_seconds=time.perf_counter() - began)
    write_json(live.out / "result.json", result)
    final = live.history[-1]
    print(
        f"{live.variant.name}: epoch {final['epoch']}, align {final['align']}, uniform "
        f"{final['uniform']}, linear_acc {linear['linear_acc']:.4f} -> {live.out}",
        file=sys.stderr,
    )
    return result


def _result(live: Run, linear: dict, linear_seconds: float) -> dict:
    history, variant = live.history, live.variant
    last = history[1:][-10:] or history  # Table 1 averages the last 10 epochs of training
    return {
        "variant": variant.name,
        "objective": variant.objective,
        "predictor": variant.predictor,
        "tangential": variant.tangential,
        "config": asdict(live.cfg),
        "device": str(live.device),
        "speed": asdict(live.speed),
        "epochs_trained": history[-1]["epoch"],
        "steps": live.step,
        "final": history[-1],
        "last_10_epochs": {
            key: _mean([m.get(key) for m in last])
            for key in ("loss", "align", "uniform", "cross", "byol", "z_std", "eff_rank", "knn_acc")
        },
        **linear,
        "train_seconds": sum(m["seconds"] for m in history),
        "linear_seconds": linear_seconds,
        "train_images": len(live.train_set),
        "test_images": len(live.test_set),
        "torch": torch.__version__,
    }


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


# Outputs ---------------------------------------------------------------------------------------


def write_json(path: Path, value) -> None:
    text = json.dumps(value, indent=2) + "\n"
    write_atomically(path, lambda f: f.write(text.encode()))


def write_metrics(out: Path, history: list[dict]) -> None:
    text = "".join(json.dumps(m) + "\n" for m in history)
    write_atomically(out / "metrics.jsonl", lambda f: f.write(text.encode()))


def append_metrics(out: Path, metrics: dict) -> None:
    path = out / "metrics.jsonl"
    try:
        with open(path, "a") as f:
            f.write(json.dumps(metrics) + "\n")
    except OSError as error:
        kept = "checkpoint.pt is whole, and resuming rewrites metrics.jsonl"
        raise RunFailed(_cannot_write(path, error, kept)) from error


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
    """Write ``path`` by ``write(file)`` into a temporary file, flushed to disk, then renamed
    over it, so that a kill at any moment leaves the old file or the new one whole. SIGINT and
    SIGTERM wait for the write's end (``STOP``). A failed write removes its temporary file; an
    OSError (a full disk, say) becomes RunFailed, one line. ``fault``: ``_injected_fault``'s."""
    temporary = path.with_name(path.name + ".tmp")
    output = None
    with STOP.deferred():
        try:
            with open(temporary, "wb") as f:
                output = _Output(f, fault)
                write(output)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            cause = output.error if output and output.error else error
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


# The folder's lock and the signals -------------------------------------------------------------


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


if __name__ == "__main__":
    sys.exit(main())
