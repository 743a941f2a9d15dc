"""A run's configuration: its knobs (Appendix B's defaults), their command-line options, the
checks that refuse values which cannot make a run, and the two errors a run reports."""

import argparse
import math
from dataclasses import dataclass, replace

import torch

from training.loop import augment, data, training_step, variants

SEEDS = 2**32  # numpy's np.random.seed takes 0 ≤ seed < 2**32; torch and Python take more
TARGET_INITS = ("copy", "independent")
REDUCTIONS = ("sum", "mean")
BIASABLE = ("linear", "linear-identity-init")  # the predictors --predictor-bias applies to


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
    precision: str = (
        "auto"  # bf16 autocast on CUDA, fp32 on the CPU (training/loop/training_step.py)
    )
    channels_last: str = "auto"  # on for CUDA, off on the CPU
    compile: bool = False
    out: str | None = None  # None: runs/VARIANT-DATASET-sSEED
    log_every: int = 50  # steps between reads of the loss for the progress bar; 0: epoch ends only
    early_epochs: int = 0  # the first E epochs' every step's loss in early.jsonl; 0: none
    early_every: int = 0  # and the probe's L_align, L_uniform every N steps of them; 0: none
    knn_bank: int = 4096  # training images in the per-epoch k-NN monitor's bank; 0: no monitor
    knn_k: int = 200
    knn_temperature: float = 0.1
    # The authors' code where it trains otherwise than the paper says (docs/reproduce.md):
    target_init: str = "copy"  # "independent": ξ₀ drawn apart from θ₀ (their --same-init False)
    ema_updates: int = 1  # 2: their wrappers move the teacher before and after each Adam step
    objective_reduction: str = "sum"  # "mean": their losses average over the D dimensions
    predictor_bias: bool = False  # True: their linear predictor nn.Linear(128, 128) has a bias


# Options that may differ when a run is resumed: where the data is, what runs it and how, how
# long it trains and how it is evaluated afterwards. Changing any other would splice two
# different runs.
RESUMABLE = {
    "data_dir",
    "device",
    "precision",
    "channels_last",
    "compile",
    "epochs",
    "log_every",
    "linear_epochs",
    "linear_lr",
    "linear_batch_size",
}


class UsageError(ValueError):
    """Bad input from the command line (exit status 2)."""


class RunFailed(RuntimeError):
    """The run cannot go on (exit status 1)."""


def add_options(
    p: argparse.ArgumentParser, linear: bool = True, out: str = "runs/VARIANT-DATASET-sSEED"
) -> None:
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
    p.add_argument(
        "--early-epochs",
        type=int,
        help="write every step's training loss of the first E epochs to early.jsonl "
        "(default 0: none)",
    )
    p.add_argument(
        "--early-every",
        type=int,
        help="with --early-epochs: also the probe's L_align and L_uniform every N steps "
        "(default 0: the loss only)",
    )
    _monitor_and_conventions(p, d)
    _how_it_runs(p, d, out)


def _monitor_and_conventions(p: argparse.ArgumentParser, d: Config) -> None:
    """The per-epoch k-NN monitor, and the authors' code's conventions (docs/reproduce.md)."""
    p.add_argument(
        "--knn-bank",
        type=int,
        help=f"training images in the per-epoch weighted k-NN monitor's "
        f"bank (default {d.knn_bank}; 0: off)",
    )
    p.add_argument("--knn-k", type=int, help=f"neighbours that vote (default {d.knn_k})")
    p.add_argument("--knn-temperature", type=float, help=f"default {d.knn_temperature:g}")
    p.add_argument(
        "--target-init",
        choices=TARGET_INITS,
        help="copy: the teacher starts as the online "
        "network (BYOL, default); independent: as its own random network (the authors' code)",
    )
    p.add_argument(
        "--ema-updates",
        type=int,
        choices=(1, 2),
        help="EMA updates of the teacher per step: 1 "
        "(eq. 5, default); 2 (the authors' code since Dec 2020: before and after the Adam step)",
    )
    p.add_argument(
        "--objective-reduction",
        choices=REDUCTIONS,
        help="sum: squared distances summed over "
        "the D dimensions, as the paper's equations (default); mean: averaged over them, as the "
        "authors' losses (trained exactly so as Adam with ε·D)",
    )
    p.add_argument(
        "--predictor-bias",
        action="store_true",
        help="a linear predictor with a trained bias, q(z) = Wz + b, as the authors' "
        "nn.Linear(128, 128) (default: the paper's q(z) = Wz; for …-lp and …-lpi variants)",
    )


def _how_it_runs(p: argparse.ArgumentParser, d: Config, out: str) -> None:
    """The options that say where and how the run computes and writes, not what it trains."""
    p.add_argument("--device", help="cpu, cuda, cuda:N or auto (default: cuda when available)")
    p.add_argument(
        "--precision",
        choices=training_step.PRECISIONS,
        help="the networks' arithmetic in training: bf16 autocast (weights, EMA and loss stay "
        "fp32), fp32, or fp64 (networks, views, loss, Adam and EMA in float64, for exact "
        "comparisons); auto: bf16 on CUDA, fp32 on the CPU",
    )
    p.add_argument(
        "--channels-last",
        choices=training_step.LAYOUTS,
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


def settle(cfg: Config, variant: variants.Variant) -> Config:
    """The configuration a run of ``variant`` records: no epochs for a model that does not
    train, and the variant's α and β where none were given."""
    if not variant.trains:
        cfg = replace(cfg, epochs=0)
    if variant.weighted:
        cfg = replace(
            cfg,
            alpha=variant.alpha if cfg.alpha is None else cfg.alpha,
            beta=variant.beta if cfg.beta is None else cfg.beta,
        )
    return cfg


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
            hint = (
                " (Table 3 prints RAFT's β negated: its −1 is --beta 1)" if name == "beta" else ""
            )
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
        ("early-epochs", cfg.early_epochs >= 0, "≥ 0"),
        ("early-every", cfg.early_every >= 0, "≥ 0"),
        ("knn-bank", cfg.knn_bank >= 0, "≥ 0"),
        ("knn-k", cfg.knn_k >= 1, "≥ 1"),
        ("knn-temperature", math.isfinite(cfg.knn_temperature) and cfg.knn_temperature > 0, "> 0"),
        ("target-init", cfg.target_init in TARGET_INITS, f"one of {', '.join(TARGET_INITS)}"),
        ("ema-updates", cfg.ema_updates in (1, 2), "1 or 2"),
        (
            "objective-reduction",
            cfg.objective_reduction in REDUCTIONS,
            f"one of {', '.join(REDUCTIONS)}",
        ),
        ("seed", 0 <= cfg.seed < SEEDS, f"in [0, {SEEDS - 1}] (np.random.seed takes no other)"),
        (
            "precision",
            cfg.precision in training_step.PRECISIONS,
            f"one of {', '.join(training_step.PRECISIONS)}",
        ),
        (
            "channels-last",
            cfg.channels_last in training_step.LAYOUTS,
            f"one of {', '.join(training_step.LAYOUTS)}",
        ),
    )
    for name, ok, rule in rules:
        if not ok:
            raise UsageError(f"--{name} must be {rule}, got {getattr(cfg, name.replace('-', '_'))}")
    if cfg.predictor_bias and variant.predictor not in BIASABLE:
        raise UsageError(
            f"--predictor-bias: {variant.name}'s predictor ({variant.predictor}) is not a trained "
            f"linear one; only the {', '.join(BIASABLE)} predictors (…-lp, …-lpi) take a bias"
        )
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
