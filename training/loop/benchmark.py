"""The fast training path (``python -m training.bench`` is the command) against a loop written the way typical
SSL repositories are, in one process, on one device, on synthetic CIFAR-shaped data.

- fast: what ``python -m training.run`` runs (``training/loop/training_step.py``): uint8 images resident on
  the device, views drawn there in batches, bf16 autocast and channels_last on CUDA, fused
  Adam, the EMA in two multi-tensor kernels (``theory.teacher``), the loss summed on the device.
- reference: per-image torchvision transforms (v1 on PIL images, or v2 on uint8 tensors) in a
  ``DataLoader`` with worker processes, batches copied to the device, fp32 with PyTorch's
  defaults (on a GPU cuDNN may use TF32) and NCHW, Adam as constructed by default, and the EMA
  as a Python loop of per-tensor ``mul_``/``add_``. Its loss is summed on the device too (many
  repositories also read it every step; this one does not, so the comparison counts only the
  differences listed here).

Both train the same network on the same objective (``--variant``, default ``byol``) with the
same recipe of augmentations (``--augment``). Printed per path: images/s (source images; each
gives two views), seconds per step and the projected epoch (``--dataset-size`` images), the
split of a step into augmentation (with fetching the batch: for the fast path one gather, for
the reference waiting for its DataLoader and the copy to the device), forward+backward,
optimizer, EMA and the rest, timed with CUDA events on a GPU (the split of the GPU's timeline;
recording them does not synchronise) and ``perf_counter`` on the CPU, and peak memory. Then
fast/reference. ``--linear-epochs N`` also times the linear evaluation
(``training/loop/evaluate.py``) on cached features of ``--dataset-size`` images. ``--markdown FILE
--block NAME`` also writes the figures as a table into a block of a Markdown page
(docs/performance.md's figures come from here).
"""

import os
import platform
import resource
import time
from dataclasses import asdict

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from theory import report as theory_report
from training.loop import augment, evaluate, models, training_step

REGIONS = ("augment", "forward_backward", "optimizer", "ema", "other")
CIFAR_SHAPE = (3, 32, 32)
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)  # CIFAR10's


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return names[0] if names else platform.machine()
    except OSError:
        return platform.machine()


def bench(args, device: torch.device, variant, paths) -> dict:
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    shape = (args.dataset_size, *CIFAR_SHAPE)
    images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = (
            True  # both paths: fixed shapes (as runner.py, and most repos)
        )
    speed = training_step.Speed.choose(device, args.precision, args.channels_last, args.compile)
    workers = args.workers if args.workers is not None else min(16, os.cpu_count() or 1)
    report = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "config": {
            "image_size": args.image_size,
            "batch_size": args.batch_size,
            "steps": args.steps,
            "warmup": args.warmup,
            "width": args.width,
            "dataset_size": args.dataset_size,
            "variant": variant.name,
            "augment": args.augment,
            "workers": workers,
            "reference_transforms": args.reference_transforms,
            "speed": asdict(speed),
        },
        "split_timer": "cuda events" if device.type == "cuda" else "perf_counter",
        "steps_per_epoch": args.dataset_size // args.batch_size,
    }
    runners = {
        "fast": lambda: fast_path(args, device, variant, images, speed),
        "reference": lambda: reference_path(args, device, variant, images, workers),
    }
    for name in paths:
        report[name] = runners[name]()
        report[name]["epoch_seconds"] = report[name]["step_seconds"] * report["steps_per_epoch"]
    if "fast" in report and "reference" in report:
        fast, reference = report["fast"], report["reference"]
        report["speedup"] = fast["images_per_second"] / reference["images_per_second"]
    if args.linear_epochs:
        report["linear"] = linear_timing(args, device)
    return report


def _networks(args, device, variant, memory_format=torch.contiguous_format):
    online = models.Network(args.width).to(device, memory_format=memory_format)
    predictor = models.predictor(variant.predictor).to(device)
    return online, predictor, models.mean_teacher(online)


def _start_memory(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_memory(device) -> dict:
    if device.type == "cuda":
        return {"bytes": torch.cuda.max_memory_allocated(device), "kind": "cuda max allocated"}
    # The CPU has no per-path peak: this is the process's (monotone) maximum resident set.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return {"bytes": peak, "kind": "process max RSS"}


def _measured(device, timer, run_steps, steps, batch_size) -> dict:
    """Run ``run_steps(n, timer)`` for the timed steps; wall time between two synchronisations."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    began = time.perf_counter()
    timer.start()
    run_steps(steps, timer)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - began
    split = timer.seconds()
    return {
        "images_per_second": steps * batch_size / seconds,
        "step_seconds": seconds / steps,
        "split_seconds_per_step": {region: split.get(region, 0.0) / steps for region in REGIONS},
    }


def fast_path(args, device, variant, images, speed: training_step.Speed) -> dict:
    _start_memory(device)
    resident = images.to(device)  # the whole set on the device, as uint8
    views = augment.TwoViews(args.augment, args.image_size, CIFAR_MEAN, CIFAR_STD)
    online, predictor, target = _networks(args, device, variant, speed.memory_format)
    optimizer = training_step.adam([*online.parameters(), *predictor.parameters()], 3e-4)
    train_step = training_step.TrainStep(
        online,
        predictor,
        target,
        optimizer,
        variant,
        views,
        speed,
        ema=4e-3,
        alpha=variant.alpha,
        beta=variant.beta,
    )
    order_generator = torch.Generator(device).manual_seed(args.seed)
    augment_generator = torch.Generator(device).manual_seed(args.seed + 1)
    batch, per_epoch = args.batch_size, len(resident) // args.batch_size
    loss_sum = torch.zeros((), device=device)

    def batches():  # as runner.py: a fresh permutation each epoch, full batches only
        while True:
            order = torch.randperm(len(resident), generator=order_generator, device=device)
            for i in range(per_epoch):
                yield resident[order[i * batch : (i + 1) * batch]]

    stream = batches()

    def run_steps(n, timer):
        for _ in range(n):
            loss_sum.add_(train_step(next(stream), augment_generator, timer))
            timer.lap("other")

    run_steps(args.warmup, training_step.Timer(device))
    result = _measured(device, training_step.Timer(device), run_steps, args.steps, batch)
    result["loss_finite"] = bool(torch.isfinite(loss_sum))  # read once, after the timing
    result["peak_memory"] = _peak_memory(device)
    return result


# The reference: how typical SSL repositories train -----------------------------------------------


def reference_transform(recipe: augment.ViewRecipe, size: int, api: str):
    """One view's torchvision pipeline for ``recipe``: RandomResizedCrop, flip, ColorJitter with
    probability p, RandomGrayscale, GaussianBlur and RandomSolarize where the recipe uses them,
    to float, Normalize (BYOL's and SimCLR's published pipelines)."""
    if api == "v1":
        from torchvision import transforms as T

        to_float = [T.ToTensor()]
        threshold = 128  # PIL images: 0..255
    else:
        from torchvision.transforms import v2 as T

        to_float = [T.ToDtype(torch.float32, scale=True)]
        threshold = 128  # uint8 tensors: 0..255
    jitter = T.ColorJitter(recipe.brightness, recipe.contrast, recipe.saturation, recipe.hue)
    pipeline = [
        T.RandomResizedCrop(size, scale=recipe.crop_scale, ratio=recipe.crop_ratio),
        T.RandomHorizontalFlip(recipe.flip_p),
        T.RandomApply([jitter], p=recipe.jitter_p),
        T.RandomGrayscale(recipe.grayscale_p),
    ]
    if recipe.blur_p > 0:
        blur = T.GaussianBlur(augment.blur_kernel_size(size), sigma=recipe.blur_sigma)
        pipeline.append(T.RandomApply([blur], p=recipe.blur_p))
    if recipe.solarize_p > 0:
        pipeline.append(T.RandomSolarize(threshold, p=recipe.solarize_p))
    return T.Compose([*pipeline, *to_float, T.Normalize(CIFAR_MEAN, CIFAR_STD)])


class ReferencePairs(Dataset):
    """(t1(x), t2(x)) of image i, one image at a time, as a torchvision-style dataset: a PIL
    image from HWC uint8 (v1, as torchvision's CIFAR10 returns) or the CHW uint8 tensor (v2)."""

    def __init__(self, images: torch.Tensor, recipe: str, size: int, api: str):
        self.api = api
        self.images = images.permute(0, 2, 3, 1).numpy() if api == "v1" else images
        self.transforms = [reference_transform(r, size, api) for r in augment.RECIPES[recipe]]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image

        image = self.images[i]
        if self.api == "v1":
            image = Image.fromarray(np.ascontiguousarray(image))
        return tuple(t(image) for t in self.transforms)


def reference_path(args, device, variant, images, workers: int) -> dict:
    _start_memory(device)
    dataset = ReferencePairs(images, args.augment, args.image_size, args.reference_transforms)
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(args.seed),
    )
    online, predictor, target = _networks(args, device, variant)
    optimizer = torch.optim.Adam([*online.parameters(), *predictor.parameters()], lr=3e-4)
    rate = 4e-3
    batches = _forever(loader)
    total = torch.zeros((), device=device)

    def run_steps(n, timer):
        nonlocal total
        for _ in range(n):
            x1, x2 = next(batches)
            x1, x2 = x1.to(device, non_blocking=True), x2.to(device, non_blocking=True)
            timer.lap("augment")
            p1, p2 = predictor(online(x1)), predictor(online(x2))
            with torch.no_grad():
                t1, t2 = target(x1), target(x2)
            loss = variant.loss(
                p1, p2, t1, t2, alpha=variant.alpha, beta=variant.beta, validate=False
            )
            optimizer.zero_grad()
            loss.backward()
            timer.lap("forward_backward")
            optimizer.step()
            timer.lap("optimizer")
            with torch.no_grad():
                for xi, theta in zip(target.parameters(), online.parameters()):
                    xi.mul_(1 - rate).add_(theta, alpha=rate)
            timer.lap("ema")
            total += loss.detach()
            timer.lap("other")

    try:
        run_steps(args.warmup, training_step.Timer(device))
        result = _measured(
            device, training_step.Timer(device), run_steps, args.steps, args.batch_size
        )
    finally:
        batches.close()  # shuts the workers down: they must not compete with what runs next
    result["loss_finite"] = bool(torch.isfinite(total))
    result["peak_memory"] = _peak_memory(device)
    return result


def _forever(loader):
    while True:
        yield from loader


# Linear evaluation -------------------------------------------------------------------------------


def linear_timing(args, device) -> dict:
    """Seconds of ``evaluate.linear_evaluation`` for ``--linear-epochs`` epochs on cached
    features of ``--dataset-size`` training and a fifth as many test images (random features
    of ResNet18's 512 dimensions, ten classes: this times the protocol, not a model)."""
    g = torch.Generator().manual_seed(args.seed)
    n, dim = args.dataset_size, 8 * args.width

    def features(count):
        labels = torch.randint(0, 10, (count,), generator=g)
        return torch.randn(count, dim, generator=g).to(device), labels.to(device)

    (train_x, train_y), (test_x, test_y) = features(n), features(max(n // 5, 1))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    began = time.perf_counter()
    evaluate.linear_evaluation(  # it reads its accuracies back: the time includes all its work
        train_x,
        train_y,
        test_x,
        test_y,
        classes=10,
        epochs=args.linear_epochs,
        lr=5e-4,
        batch_size=256,
        generator=torch.Generator(device).manual_seed(args.seed),
    )
    return {
        "epochs": args.linear_epochs,
        "train_features": n,
        "dim": dim,
        "seconds": time.perf_counter() - began,
    }


# Printing ----------------------------------------------------------------------------------------


def summary(report: dict) -> str:
    c = report["config"]
    lines = [
        f"{report['device']} ({report['device_name']}), torch {report['torch']}, "
        f"{report['torch_threads']} threads, {report['date']}",
        f"ResNet18 width {c['width']}, {c['image_size']}×{c['image_size']}, batch {c['batch_size']}, "
        f"two views, {c['variant']} ({c['augment']} augmentations); {c['steps']} timed steps after "
        f"{c['warmup']}; fast path {c['speed']}; reference: torchvision {c['reference_transforms']}, "
        f"{c['workers']} workers",
        "",
        f"{'path':<10} {'images/s':>9} {'ms/step':>8} {'epoch s':>8}  "
        + " ".join(f"{r:>16}" for r in REGIONS)
        + "   peak memory",
    ]
    for name in ("fast", "reference"):
        if name not in report:
            continue
        r = report[name]
        split = " ".join(
            f"{1000 * r['split_seconds_per_step'][region]:>13.2f} ms" for region in REGIONS
        )
        memory = f"{r['peak_memory']['bytes'] / 2**20:.0f} MiB ({r['peak_memory']['kind']})"
        lines.append(
            f"{name:<10} {r['images_per_second']:>9.1f} {1000 * r['step_seconds']:>8.2f} "
            f"{r['epoch_seconds']:>8.2f}  {split}   {memory}"
        )
    lines.append(
        f"(epoch: {report['steps_per_epoch']} steps; split timed by {report['split_timer']})"
    )
    if "speedup" in report:
        lines.append(f"fast / reference: {report['speedup']:.2f}× the images per second")
    if "linear" in report:
        lin = report["linear"]
        lines.append(
            f"linear evaluation: {lin['epochs']} epochs on {lin['train_features']} cached "
            f"{lin['dim']}-d features: {lin['seconds']:.2f} s"
        )
    return "\n".join(lines)


def markdown(report: dict, command: str) -> str:
    """The figures of ``summary`` as a Markdown table, with the command and setting above it."""
    c = report["config"]
    head = ["path", "images/s", "ms/step", "epoch s", *(f"{r} ms" for r in REGIONS), "peak memory"]
    lines = [
        f"Written by `{command}` on {report['device']} ({report['device_name']}), torch "
        f"{report['torch']}, {report['torch_threads']} threads, {report['date']}: ResNet18 width "
        f"{c['width']}, {c['image_size']}×{c['image_size']}, batch {c['batch_size']}, {c['variant']}, "
        f"{c['steps']} timed steps after {c['warmup']}; reference: torchvision "
        f"{c['reference_transforms']}, {c['workers']} workers.",
        "",
    ]
    rows = []
    for name in ("fast", "reference"):
        if name in report:
            r = report[name]
            split = [f"{1000 * r['split_seconds_per_step'][region]:.2f}" for region in REGIONS]
            memory = f"{r['peak_memory']['bytes'] / 2**20:.0f} MiB ({r['peak_memory']['kind']})"
            rows.append(
                [
                    name,
                    f"{r['images_per_second']:.0f}",
                    f"{1000 * r['step_seconds']:.1f}",
                    f"{r['epoch_seconds']:.1f}",
                    *split,
                    memory,
                ]
            )
    lines += theory_report.markdown_table(head, rows)
    if "speedup" in report:
        lines += ["", f"fast / reference: **{report['speedup']:.2f}×** the images per second."]
    if "linear" in report:
        lin = report["linear"]
        lines += [
            "",
            f"Linear evaluation, {lin['epochs']} epochs on {lin['train_features']} cached "
            f"{lin['dim']}-d features: {lin['seconds']:.1f} s.",
        ]
    return "\n".join(lines)
