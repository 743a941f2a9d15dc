"""One run of Algorithm 1 (``python -m training.run`` is its command line): check the options,
take ``--out`` for the run alone (``run_in_folder``), prepare the live objects (``prepare``),
train, measure every epoch, evaluate linearly and write the outputs; resume bitwise from a
checkpoint."""

import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from theory.teacher import ema_update
from training.loop import augment, data, evaluate, models, probes, training_step, variants
from training.loop.config import (
    RESUMABLE,
    Config,
    RunFailed,
    UsageError,
    check,
    resolve_device,
    settle,
)
from training.loop.early import EarlyLog
from training.loop.outputs import (
    CHECKPOINT_FORMAT,
    LOCK,
    OUTPUTS,
    TEMPORARY,
    FolderLock,
    append_metrics,
    finite,
    read_checkpoint,
    rng_states,
    save_checkpoint,
    set_rng_states,
    write_curves,
    write_json,
    write_metrics,
)
from training.loop.signals import STOP, Interrupted

CALIBRATION_IMAGES = 4096  # training images that set an untrained network's batch-norm statistics
LOSS_BLOCK = 8  # steps per mean of metrics.jsonl's loss_blocks


def run_in_folder(given: dict, *, resume: bool, overwrite: bool, command: str) -> dict:
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


# The run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """A run's live objects, which its stages share."""

    cfg: Config
    variant: variants.Variant
    out: Path
    device: torch.device
    speed: training_step.Speed
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
    early: EarlyLog | None = None  # the first epochs step by step (--early-epochs)

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
            "early": self.early.lines if self.early else [],
        }

    def save(self) -> None:
        with STOP.deferred():  # a stop meanwhile must report the checkpoint just written
            save_checkpoint(self.checkpoint, self.state())
            self.saved = (self.epoch, self.step)

    def measure(self, loss: float | None, began: float, blocks: list | None = None) -> dict:
        """The probe metrics of the model as it is now: one line of metrics.jsonl; ``blocks``:
        the epoch's training loss by blocks of LOSS_BLOCK steps."""
        values = evaluate.probe_metrics(self.online, self.predictor, self.target, self.probe)
        if self.knn is not None:
            values["knn_acc"] = self.knn.accuracy(self.online)
        values = dict(zip(values, torch.stack(list(values.values())).tolist()))  # one device read
        metrics = {"epoch": self.epoch, "step": self.step, "loss": loss}
        if blocks is not None:
            metrics["loss_blocks"] = [finite(b) for b in blocks]
        # per epoch: --precision may change on resume, and result.json's config holds the last
        metrics["precision"] = "fp64" if self.speed.fp64 else "bf16" if self.speed.bf16 else "fp32"
        metrics.update((k, finite(v)) for k, v in values.items())
        theory_began = time.perf_counter()  # Theorem 4.1 and Appendix H: one more device read
        metrics.update(
            probes.measure(
                self.online,
                self.predictor,
                self.target,
                self.probe,
                alpha=self.cfg.alpha,
                beta=self.cfg.beta,
            )
        )
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
            position, kept = (
                "before training began",
                resumed and (resumed["epoch"], resumed["step"]),
            )
        stop.where = whereabouts(position, kept)
        raise


def whereabouts(position: str, saved: tuple[int, int] | None) -> str:
    """Where the run stopped and what it kept, for the line an interruption prints."""
    if saved is None:
        return f"{position}, before its first checkpoint: run the same command again"
    kept = f"checkpoint.pt keeps epoch {saved[0]}, step {saved[1]}"
    return f"{position}; {kept}: resume with --resume"


def prepare(cfg: Config, resumed: dict | None, shared: dict | None = None) -> Run:
    """The data, the networks, the optimiser and the generators, seeded. The order of the
    calls that draw random numbers is part of what a seed means: keep it. ``shared``: the
    data sets already read (and put on the device) by the other runs of a batch, keyed by
    where they come from; filled with this run's."""
    variant = variants.resolve(cfg.variant)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)  # from Python, no FolderLock has made it
    dev = resolve_device(cfg.device)
    speed = training_step.Speed.choose(dev, cfg.precision, cfg.channels_last, cfg.compile)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: find the fastest algorithms once

    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    shared = {} if shared is None else shared
    train_set = _loaded(shared, cfg, train=True)
    if cfg.subset is not None and cfg.subset > len(train_set):
        print(
            f"--subset {cfg.subset} is more than the {len(train_set)} training images of "
            f"{cfg.dataset}: training on all {len(train_set)}",
            file=sys.stderr,
        )
    train_set = train_set.head(cfg.subset)
    test_set = _loaded(shared, cfg, train=False)
    if len(test_set) < 2:
        raise RunFailed(
            f"the test set of {cfg.dataset} in {cfg.data_dir} has {len(test_set)} "
            "image(s): the probes and the evaluation need at least 2"
        )
    fingerprint = {"train": train_set.fingerprint(), "test": test_set.fingerprint()}
    if resumed:
        check_same_data(resumed.get("data"), fingerprint, cfg)
    if len(train_set) < cfg.batch_size and variant.trains:
        raise UsageError(
            f"{len(train_set)} training images cannot fill a batch of {cfg.batch_size}"
        )
    mean, std = train_set.channel_stats()
    views = training_step.in_precision(
        augment.TwoViews(cfg.augment, cfg.image_size, mean, std), speed
    )
    on_device = ("images", dev, cfg.subset)
    if on_device not in shared:
        shared[on_device] = train_set.images.to(dev)
    images = shared[on_device]
    probe = evaluate.Probe(
        test_set.head(cfg.probe_size).images.to(dev),
        views,
        torch.Generator(dev).manual_seed(cfg.seed + 2),
    )

    online = models.Network(cfg.width).to(dev, speed.dtype, memory_format=speed.memory_format)
    if not resumed:
        evaluate.calibrate_batch_norm(online, images[:CALIBRATION_IMAGES], views.plain)
    predictor = models.predictor(
        variant.predictor, len(train_set.classes), bias=cfg.predictor_bias
    ).to(dev, speed.dtype)
    target = models.mean_teacher(online)
    optimizer = training_step.adam([*online.parameters(), *predictor.parameters()], cfg.lr)
    generators = {
        "order": torch.Generator(dev).manual_seed(cfg.seed),
        "augment": torch.Generator(dev).manual_seed(cfg.seed + 1),
    }
    authors_conventions(cfg, online, target, optimizer, (images, views, speed), fresh=not resumed)
    return Run(
        cfg,
        variant,
        out,
        dev,
        speed,
        train_set,
        test_set,
        views,
        images,
        probe,
        online,
        predictor,
        target,
        optimizer,
        generators,
        fingerprint,
        knn=knn_monitor(cfg, images, train_set, test_set, probe, views),
        early=EarlyLog(cfg.early_epochs, cfg.early_every) if cfg.early_epochs else None,
    )


def _loaded(shared: dict, cfg: Config, train: bool) -> data.Images:
    key = (cfg.dataset, cfg.data_dir, train)
    if key not in shared:
        shared[key] = data.load(cfg.dataset, cfg.data_dir, train=train)
    return shared[key]


def knn_monitor(cfg: Config, images, train_set, test_set, probe, views) -> evaluate.KNN | None:
    """The per-epoch k-NN monitor: the first --knn-bank training images as its bank, the
    probe's images (the first --probe-size test images) as its queries."""
    if not cfg.knn_bank:
        return None
    dev = images.device
    return evaluate.KNN(
        images[: cfg.knn_bank],
        train_set.labels[: cfg.knn_bank].to(dev),
        probe.x,
        test_set.labels[: probe.x.shape[0]].to(dev),
        views.plain,
        k=cfg.knn_k,
        temperature=cfg.knn_temperature,
        classes=len(train_set.classes),
    )


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
    training_step.match_layouts(live.optimizer)
    set_rng_states(resumed["rng"], live.generators)
    live.epoch, live.step, live.history = resumed["epoch"], resumed["step"], resumed["history"]
    live.saved = (live.epoch, live.step)
    write_metrics(live.out, live.history)  # drops any line written after the checkpoint
    if live.early:
        live.early.lines = resumed.get("early", [])
        live.early.write(live.out)
    if live.cfg.epochs > live.epoch:  # an extension: until it ends, there is no final result
        (live.out / "result.json").unlink(missing_ok=True)
    print(f"resuming {live.out} at epoch {live.epoch}, step {live.step}", file=sys.stderr)


def train_epochs(live: Run, until: int | None = None) -> None:
    """The epochs still to train (up to epoch ``until``, default --epochs), each followed by
    its metrics and checkpoint. A non-finite loss stops the run (RunFailed), keeping the
    previous epoch's checkpoint."""
    cfg = live.cfg
    until = cfg.epochs if until is None else until
    train_step = training_step.TrainStep(
        live.online,
        live.predictor,
        live.target,
        live.optimizer,
        live.variant,
        live.views,
        live.speed,
        ema=cfg.ema,
        alpha=cfg.alpha,
        beta=cfg.beta,
    )
    latest = training_step.LatestLoss(live.device)
    steps_per_epoch = len(live.images) // cfg.batch_size  # batch norm sees full batches only
    progress = tqdm(
        total=until * steps_per_epoch,
        initial=live.step,
        desc=live.variant.name,
        unit="step",
        dynamic_ncols=True,
        disable=until <= live.epoch,
    )
    with progress:
        for epoch in range(live.epoch + 1, until + 1):
            began = time.perf_counter()
            live.epoch = epoch
            losses = train_epoch(live, train_step, latest, progress, steps_per_epoch)
            mean_loss = sum(losses) / len(losses)
            if not math.isfinite(mean_loss):
                break
            live.history.append(live.measure(mean_loss, began, loss_blocks(losses)))
            live.save()
            append_metrics(live.out, live.history[-1])
            if live.early and live.early.wanted(epoch):
                live.early.write(live.out)
            progress.set_postfix(loss=live.history[-1]["loss"], align=live.history[-1]["align"])
        else:
            return
    raise stopped_non_finite(live, mean_loss, epoch)


def stopped_non_finite(live: Run, mean_loss: float, epoch: int) -> RunFailed:
    """A run whose loss became non-finite during ``epoch``: its curves, and the error that
    says what it keeps."""
    write_curves(live.out, live.history, live.variant.name)
    return RunFailed(
        f"the loss became non-finite ({mean_loss}) during epoch {epoch}; stopped. The last "
        f"good checkpoint (epoch {epoch - 1}) is kept in {live.checkpoint}; metrics up to "
        "there are in metrics.jsonl. Lower --lr or check --alpha/--beta."
    )


def loss_blocks(losses: list[float]) -> list[float]:
    """The mean loss of each block of LOSS_BLOCK consecutive steps (the last may be shorter):
    the shape of the loss within an epoch (BYOL-LPI's early dip, Figure 1(a)) at a few numbers
    per epoch."""
    blocks = [losses[i : i + LOSS_BLOCK] for i in range(0, len(losses), LOSS_BLOCK)]
    return [sum(block) / len(block) for block in blocks]


def train_epoch(live: Run, train_step, latest, progress, steps_per_epoch: int) -> list[float]:
    """The steps of one epoch; their losses, the epoch's one read of the device."""
    cfg, batch = live.cfg, live.cfg.batch_size
    for network in (live.online, live.predictor, live.target):  # the target's batch norm too
        network.train()  # normalises with batch statistics during training, as BYOL's does
    order = torch.randperm(len(live.images), generator=live.generators["order"], device=live.device)
    losses = torch.zeros(steps_per_epoch, device=live.device, dtype=live.speed.dtype)
    labels = live.train_set.labels.to(live.device) if live.variant.supervised else None
    for i in range(steps_per_epoch):
        chosen = order[i * batch : (i + 1) * batch]
        if labels is None:  # every step function takes (images, generator)
            loss = train_step(live.images[chosen], live.generators["augment"])
        else:  # the supervised baseline's TrainStep also takes the batch's labels
            loss = train_step(
                live.images[chosen], live.generators["augment"], labels=labels[chosen]
            )
        losses[i] = loss  # stays on the device: no synchronisation per step
        live.step += 1
        progress.update()
        if live.early and live.early.wanted(live.epoch):  # reads the device: first epochs only
            model = (live.online, live.predictor, live.target, live.probe)
            live.early.record(live.epoch, live.step, loss, model)
        if cfg.log_every and live.step % cfg.log_every == 0:
            latest.post(loss)  # on CUDA, without waiting for the device
            if latest.value is not None:
                progress.set_postfix(loss=f"{latest.value:.4g}")
    return losses.tolist()


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
        generator=torch.Generator(dev).manual_seed(live.cfg.seed + 3),
        **linear_options(live),
    )
    return write_result(live, linear, linear_seconds=time.perf_counter() - began)


def linear_options(live: Run) -> dict:
    """The linear evaluation's settings for ``live``, but its data and generator."""
    return {
        "classes": len(live.test_set.classes),
        "epochs": live.cfg.linear_epochs,
        "lr": live.cfg.linear_lr,
        "batch_size": live.cfg.linear_batch_size,
    }


def write_result(live: Run, linear: dict, linear_seconds: float) -> dict:
    """result.json from the run and its linear evaluation, and the run's line on stderr."""
    result = _result(live, linear, linear_seconds=linear_seconds)
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
