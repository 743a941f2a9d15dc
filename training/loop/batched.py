"""K runs of one variant at K seeds, trained as one packed network (``python -m training.run
VARIANT --seeds 0,1,2``; docs/performance.md says when it pays).

Each member is a run as ``runner`` makes it: its own folder, lock, data order and augmentations
drawn from its own generators exactly as the single run with its seed draws them, its own
checkpoint, metrics.jsonl, result.json and curves.png, each in the single run's format. Only the
training steps are shared: the K members' views go through one packed network
(``training.loop.packing``), the loss is the sum of the members' losses, so that each member's
gradient is its own, and Adam and the EMA act elementwise on the packed parameters. At each
epoch's end the packed state is copied back into the members, which measure and save
themselves as single runs do.

A member whose loss becomes non-finite stops with its last good checkpoint; the others go on.
Members found at different epochs when resuming (a kill between two members' checkpoints) are
brought to the same epoch one by one, as single runs, before they are packed again."""

import contextlib
import math
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from tqdm import tqdm

from training.loop import evaluate, models, outputs, packing, runner, training_step, variants
from training.loop.config import SEEDS, Config, RunFailed, UsageError, check, resolve_device
from training.loop.runner import Run
from training.loop.signals import Interrupted

MOST_SEEDS = 64
SEED_PLACEHOLDER = "{seed}"


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: a count N (seeds 0 … N−1) or a comma-separated list of distinct seeds."""
    words = [w.strip() for w in text.split(",")]
    if not all(re.fullmatch(r"\d+", w) for w in words):
        raise UsageError(f"--seeds {text!r}: give a count N or a list of seeds such as 0,1,2")
    if len(words) == 1:
        count = int(words[0])
        if not 1 <= count <= MOST_SEEDS:
            raise UsageError(f"--seeds {count}: a count must be between 1 and {MOST_SEEDS}")
        return list(range(count))
    seeds = [int(w) for w in words]
    if len(set(seeds)) < len(seeds):
        raise UsageError(f"--seeds {text!r}: a seed appears twice")
    if len(seeds) > MOST_SEEDS:
        raise UsageError(f"--seeds: at most {MOST_SEEDS} runs in one batch, got {len(seeds)}")
    if max(seeds) >= SEEDS:
        raise UsageError(f"--seeds: seeds are in [0, {SEEDS - 1}], got {max(seeds)}")
    return seeds


def member_folders(out: str | None, variant: variants.Variant, dataset: str, seeds) -> list[Path]:
    """Each member's folder: ``--out`` with {seed} replaced when it has one, else the single
    run's default name (VARIANT-DATASET-sSEED) inside ``--out`` (default runs/)."""
    if out is not None and SEED_PLACEHOLDER in out:
        return [Path(out.replace(SEED_PLACEHOLDER, str(seed))) for seed in seeds]
    parent = Path("runs" if out is None else out)
    return [parent / f"{variants.file_name(variant)}-{dataset}-s{seed}" for seed in seeds]


def run_in_folders(given: dict, seeds: list[int], *, resume: bool, overwrite: bool, command: str):
    """Check the options, take each member's folder for this batch alone, refuse a batch whose
    memory would not fit, settle what each folder holds, and train. Returns the members'
    result.json contents; RunFailed after the others finished when a member stopped."""
    if "seed" in given:
        raise UsageError("give --seed for one run or --seeds for a batch, not both")
    cfg = replace(Config(), **given)
    variant = variants.resolve(cfg.variant)
    if variant.supervised:
        raise UsageError(
            "--seeds: the supervised baseline's step takes labels and is not packed; train "
            "its seeds one at a time (--seed)"
        )
    if cfg.early_epochs:
        raise UsageError(
            "--early-epochs reads every step's loss as it comes, which a batch does not: train "
            "that run alone (--seed)"
        )
    folders = member_folders(cfg.out, variant, cfg.dataset, seeds)
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--out {folder} exists and is not a folder")
    check(cfg, variant)
    check_memory(cfg, len(seeds))
    with contextlib.ExitStack() as stack:
        locks = [stack.enter_context(outputs.FolderLock(folder)) for folder in folders]
        configured = []
        for seed, folder, lock in zip(seeds, folders, locks):
            member = {**given, "seed": seed, "out": str(folder)}
            configured.append(
                runner.configure(
                    replace(cfg, seed=seed, out=str(folder)),
                    member,
                    resume=resume,
                    overwrite=overwrite,
                    ran_here=lock.previous is not None,
                )
            )
        for lock in locks:
            lock.record(command)
        return train(configured)


# Memory ----------------------------------------------------------------------------------------


def estimate_bytes(cfg: Config, members: int) -> int:
    """What a batch of ``members`` runs holds at once, roughly: per member its parameters six
    times (weights, gradients, Adam's two moments, the teacher, the member's own copy) and the
    activations of two views that the backward pass keeps; once, the training images."""
    with torch.device("meta"):
        network = models.Network(cfg.width).eval()  # one image: no batch statistics
        x = torch.empty(1, 3, cfg.image_size, cfg.image_size)
    activations = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: activations.append(out.numel()))
        for m in network.modules()
        if not list(m.children())
    ]
    network(x)
    for hook in hooks:
        hook.remove()
    element = 8 if cfg.precision == "fp64" else 4
    parameters = sum(p.numel() for p in network.parameters()) + 2 * models.PROJECTION_DIM**2
    per_member = 6 * parameters * element + 2 * cfg.batch_size * sum(activations) * element
    images = min(cfg.subset or 60_000, 60_000) * 3 * 32 * 32  # stored at 32×32 (data.py)
    return members * per_member + images


def available_bytes(device: torch.device) -> int:
    """Free memory on ``device``: the GPU's free memory, or the host's MemAvailable."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return sys.maxsize


def check_memory(cfg: Config, members: int) -> None:
    """Refuse, before anything is created, a batch whose estimate exceeds the free memory."""
    device = resolve_device(cfg.device)
    need, free = estimate_bytes(cfg, members), available_bytes(device)
    if need > free:
        raise UsageError(
            f"a batch of {members} runs needs about {need / 2**30:.1f} GiB, and {device} has "
            f"{free / 2**30:.1f} GiB free: give fewer --seeds (or a smaller --batch-size)"
        )


# Training --------------------------------------------------------------------------------------


@dataclass
class Member:
    """A member of the batch: its run, and the random states of torch, numpy and Python that
    its single run would hold when it saves (its seeding, not the batch's last member's)."""

    live: Run
    global_rng: dict
    failed: str | None = None

    def save(self) -> None:
        outputs.set_rng_states(self.global_rng, {})
        self.live.save()


def train(configured: list[tuple[Config, dict | None]]) -> list[dict]:
    """Prepare every member as its single run (fresh or resumed), bring them to one epoch, train
    them packed, and finish each one; RunFailed at the end when a member stopped."""
    shared: dict = {}
    members = []
    try:
        for cfg, resumed in configured:
            live = runner.prepare(cfg, resumed, shared)
            if resumed:
                runner.restore(live, resumed)
            else:
                runner.start(live)
            members.append(Member(live, outputs.rng_states({})))
        catch_up(members)
        active = [m for m in members if not m.failed]
        packed = Packed(active) if active else None
        if packed:
            packed.train_epochs()
    except Interrupted as stop:
        stop.where = (
            "; ".join(
                runner.whereabouts(f"{m.live.out} at epoch {m.live.epoch}", m.live.saved)
                for m in members
            )
            or stop.where
        )
        raise
    results = packed.finish() if packed else []
    failed = [m for m in members if m.failed]
    if failed:
        raise RunFailed(
            f"{len(failed)} of {len(members)} runs stopped ("
            + "; ".join(f"{m.live.out}: {m.failed}" for m in failed)
            + f"); the other {len(results)} finished"
        )
    return results


def catch_up(members: list[Member]) -> None:
    """Train members behind the furthest one, one by one, up to its epoch."""
    furthest = max(m.live.epoch for m in members)
    for member in members:
        if member.live.epoch < furthest:
            print(
                f"{member.live.out} is at epoch {member.live.epoch}, the batch at {furthest}: "
                "training it alone up to there",
                file=sys.stderr,
            )
            try:
                runner.train_epochs(member.live, until=furthest)
            except RunFailed as error:
                member.failed = str(error)
            member.global_rng = outputs.rng_states({})


def packed_memory_format(channels_last: str, speed: training_step.Speed) -> torch.memory_format:
    """channels_last for a packed network unless --channels-last says otherwise: on the CPU,
    grouped convolutions and max-pooling in NCHW take slow paths (docs/performance.md), and
    on CUDA it is the fast path's layout anyway."""
    if channels_last == "auto":
        return torch.channels_last
    return speed.memory_format


class Packed:
    """The active members' networks and optimiser, packed, and their training."""

    def __init__(self, members: list[Member]):
        self.members = members
        first = members[0].live
        self.cfg, self.variant, self.device = first.cfg, first.variant, first.device
        lives = [m.live for m in members]
        self.online = packing.pack([live.online for live in lives], self.memory_format)
        self.predictor = packing.pack([live.predictor for live in lives])
        self.target = packing.pack([live.target for live in lives])
        self.optimizer = training_step.adam(
            [*self.online.parameters(), *self.predictor.parameters()], self.cfg.lr
        )
        runner.authors_conventions(
            self.cfg,
            self.online,
            self.target,
            self.optimizer,
            (first.images, first.views, first.speed),
            fresh=False,
        )
        packing.load_optimizer(self.optimizer, [live.optimizer for live in lives])
        training_step.match_layouts(self.optimizer)
        self.shapes = [p.shape for p in (*first.online.parameters(), *first.predictor.parameters())]

    @property
    def memory_format(self) -> torch.memory_format:
        first = self.members[0].live
        return packed_memory_format(first.cfg.channels_last, first.speed)

    def train_epochs(self) -> None:
        cfg, lives = self.cfg, [m.live for m in self.members]
        speed = replace(lives[0].speed, channels_last=self.memory_format == torch.channels_last)
        step = PackedStep(
            self.online,
            self.predictor,
            self.target,
            self.optimizer,
            self.variant,
            lives[0].views,
            speed,
            ema=cfg.ema,
            alpha=cfg.alpha,
            beta=cfg.beta,
            members=len(lives),
        )
        steps_per_epoch = len(lives[0].images) // cfg.batch_size
        first = lives[0]
        progress = tqdm(
            total=cfg.epochs * steps_per_epoch,
            initial=first.step,
            desc=f"{self.variant.name} ×{len(lives)}",
            unit="step",
            dynamic_ncols=True,
            disable=cfg.epochs <= first.epoch,
        )
        with progress:
            for epoch in range(first.epoch + 1, cfg.epochs + 1):
                began = time.perf_counter()
                losses = self.train_epoch(step, steps_per_epoch, progress)
                self.end_epoch(epoch, losses, began)
                if not any(not m.failed for m in self.members):
                    return

    def train_epoch(self, step, steps_per_epoch: int, progress) -> list[list[float]]:
        """One epoch of every member; each member's step losses, the epoch's one read of the
        device."""
        lives, batch = [m.live for m in self.members], self.cfg.batch_size
        for network in (self.online, self.predictor, self.target):
            network.train()
        orders = [
            torch.randperm(len(live.images), generator=live.generators["order"], device=self.device)
            for live in lives
        ]
        generators = [live.generators["augment"] for live in lives]
        losses = torch.zeros(
            steps_per_epoch, len(lives), device=self.device, dtype=lives[0].speed.dtype
        )
        for i in range(steps_per_epoch):
            images = [
                live.images[order[i * batch : (i + 1) * batch]]
                for live, order in zip(lives, orders)
            ]
            losses[i] = step(images, generators)
            for live in lives:
                live.step += 1
            progress.update()
        return losses.T.tolist()

    def end_epoch(self, epoch: int, losses: list[list[float]], began: float) -> None:
        """Copy the packed state into each member; each still training measures and saves
        itself, or stops when its loss became non-finite."""
        lives = [m.live for m in self.members]
        for network in ("online", "predictor", "target"):
            packing.unload_members(getattr(self, network), [getattr(x, network) for x in lives])
        for index, (member, steps) in enumerate(zip(self.members, losses)):
            live, loss = member.live, sum(steps) / len(steps)
            live.epoch = epoch
            if member.failed:
                continue
            if not math.isfinite(loss):
                member.failed = str(runner.stopped_non_finite(live, loss, epoch))
                continue
            live.optimizer.load_state_dict(
                packing.optimizer_state(self.optimizer, len(lives), index, self.shapes)
            )
            live.history.append(live.measure(loss, began, runner.loss_blocks(steps)))
            member.save()
            outputs.append_metrics(live.out, live.history[-1])

    def finish(self) -> list[dict]:
        """Each member still training: its curves, then every member's linear evaluation at
        once (features from the packed network, the classifiers batched) and its result.json."""
        finished = [m.live for m in self.members if not m.failed]
        if not finished:
            return []
        for live in finished:
            outputs.write_curves(live.out, live.history, live.variant.name)
        began = time.perf_counter()
        first, index = finished[0], [self.members.index(m) for m in self.members if not m.failed]
        dev, plain = self.device, first.views.plain
        linears = evaluate.linear_evaluations(  # in fp32, whatever the training's precision
            self.features(first.images, plain, index),
            first.train_set.labels.to(dev),
            self.features(first.test_set.images.to(dev), plain, index),
            first.test_set.labels.to(dev),
            generators=[torch.Generator(dev).manual_seed(live.cfg.seed + 3) for live in finished],
            **runner.linear_options(first),
        )
        seconds = time.perf_counter() - began
        return [runner.write_result(live, lin, seconds) for live, lin in zip(finished, linears)]

    def features(self, images, transform, index: list[int]) -> list[torch.Tensor]:
        """The members' encoder features h(x) of ``images`` (evaluation mode), by one packed
        pass over each chunk: every member sees the same images."""
        count = len(self.members)

        def packed(x):
            return self.online.features(
                packing.join([transform(x)] * count).contiguous(memory_format=self.memory_format)
            )

        every = packing.split(evaluate.features_of(self.online, packed, images), count)
        return [every[k].float() for k in index]


class PackedStep(training_step.TrainStep):
    """Algorithm 1's step for K members at once: each member's views drawn by its own
    generator from its own images, joined along the channels; the members' losses, each
    ``variant.loss`` on its own slice of the outputs, returned as a (K,) device tensor."""

    def __init__(self, *args, members: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = members

    def views_of(self, images, generators):
        pairs = [self.views(x, g) for x, g in zip(images, generators)]
        return tuple(
            packing.join([pair[view] for pair in pairs]).contiguous(
                memory_format=self.speed.memory_format
            )
            for view in (0, 1)
        )

    def loss(self, x1, x2) -> torch.Tensor:
        produced = self.outputs(x1, x2)
        parts = zip(*(packing.split(output, self.members) for output in produced))
        return torch.stack(
            [
                self.variant.loss(p1, p2, t1, t2, alpha=self.alpha, beta=self.beta, validate=False)
                for p1, p2, t1, t2 in parts
            ]
        )
