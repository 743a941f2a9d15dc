"""K runs packed in one process against K separate processes sharing the same cores
(``python -m training.bench --pack 1,2,3,6``), on synthetic CIFAR-shaped data.

Each measurement is a worker process (``python -m training.bench --pack-worker K``) that builds
K runs' networks as ``training.run`` does and trains them with the step of ``training.run``:
``PackedStep`` for a packed batch (K > 1), ``TrainStep`` for a single run. For each K the
separate processes are K workers of one run each, started together, each with
max(1, cores // K) torch threads (the CPU scale's one thread per job on 2 cores); the packed
batch is one worker with every core's threads. All workers of a measurement time the same
wall-clock window, after their warm-up, so that the separate processes really share the cores
while they are timed. Printed per K: images per second per run (each step trains every run one
batch), the packed batch's over the separate processes', and peak memory (CPU: the sum of the
processes' maximum resident sets; CUDA: the allocator's peak)."""

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace

import torch

from training.loop import augment, batched, models, packing, training_step
from training.loop.benchmark import CIFAR_MEAN, CIFAR_SHAPE, CIFAR_STD, cpu_name

START_MARGIN = 20.0  # seconds for the workers to import torch and warm up before the window


def worker(args, device: torch.device, variant, members: int) -> dict:
    """Train ``members`` runs (packed when more than one) through warm-up, then count the
    steps done inside the window [args.start_at, args.start_at + args.seconds]."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    speed = training_step.Speed.choose(device, args.precision, args.channels_last)
    generator = torch.Generator().manual_seed(args.seed)
    shape = (args.dataset_size, *CIFAR_SHAPE)
    images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator).to(device)
    views = augment.TwoViews(args.augment, args.image_size, CIFAR_MEAN, CIFAR_STD)
    step, generators = _step(args, device, variant, views, speed, members)
    batch = args.batch_size

    def one_step(i):
        starts = [(i * batch + 7919 * k) % (len(images) - batch) for k in range(members)]
        chosen = [images[s : s + batch] for s in starts]
        return step(
            chosen if members > 1 else chosen[0], generators if members > 1 else generators[0]
        )

    loss_sum = torch.zeros(members, device=device)
    for i in range(args.warmup):
        loss_sum += one_step(i)
    _synchronise(device)
    late = time.time() > args.start_at
    while time.time() < args.start_at:
        time.sleep(0.005)
    began, done = time.perf_counter(), 0
    while time.perf_counter() - began < args.seconds:
        loss_sum += one_step(args.warmup + done)
        done += 1
        if device.type == "cuda" and done % 10 == 0:
            _synchronise(device)
    _synchronise(device)
    seconds = time.perf_counter() - began
    return {
        "members": members,
        "threads": torch.get_num_threads(),
        "steps": done,
        "seconds": seconds,
        "images_per_second_per_run": done * batch / seconds,
        "late": late,
        "loss_finite": bool(torch.isfinite(loss_sum).all()),
        "peak_bytes": _peak_bytes(device),
    }


def _step(args, device, variant, views, speed, members: int):
    nets = [
        models.Network(args.width).to(device, memory_format=speed.memory_format)
        for _ in range(members)
    ]
    predictors = [models.predictor(variant.predictor).to(device) for _ in range(members)]
    targets = [models.mean_teacher(net) for net in nets]
    generators = [torch.Generator(device).manual_seed(args.seed + k) for k in range(members)]
    options = {"ema": 4e-3, "alpha": variant.alpha, "beta": variant.beta}
    if members == 1:
        optimizer = training_step.adam([*nets[0].parameters(), *predictors[0].parameters()], 3e-4)
        step = training_step.TrainStep(
            nets[0], predictors[0], targets[0], optimizer, variant, views, speed, **options
        )
        return (lambda x, g: step(x, g).reshape(1)), generators
    layout = batched.packed_memory_format(args.channels_last, speed)
    online = packing.pack(nets, layout)
    predictor, target = packing.pack(predictors), packing.pack(targets, layout)
    optimizer = training_step.adam([*online.parameters(), *predictor.parameters()], 3e-4)
    packed_speed = replace(speed, channels_last=layout == torch.channels_last)
    step = batched.PackedStep(
        online,
        predictor,
        target,
        optimizer,
        variant,
        views,
        packed_speed,
        members=members,
        **options,
    )
    return step, generators


def _synchronise(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_bytes(device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def parse_packs(text: str, problems: list[str]) -> list[int]:
    """--pack's list of K; a problem appended for a bad one."""
    words = text.split(",")
    if not all(w.isdigit() and 1 <= int(w) <= 64 for w in words):
        problems.append(f"--pack takes a list of counts from 1 to 64 such as 1,2,3,6, got {text!r}")
        return []
    return [int(w) for w in words]


def worker_argv(argv) -> list[str]:
    """This command's options for its workers, without those that launch or write."""
    words, skip = list(sys.argv[1:] if argv is None else argv), False
    kept = []
    for word in words:
        if skip:
            skip = False
            continue
        name = word.split("=")[0]
        if name in ("--pack", "--markdown", "--block", "--threads"):
            skip = "=" not in word
            continue
        if name in ("--json", "--allow-dirty"):
            continue
        kept.append(word)
    return kept


def compare(args, packs: list[int], worker_argv: list[str]) -> dict:
    """For each K: one packed worker, then K single workers at once; their figures."""
    cores = len(os.sched_getaffinity(0))
    rows = []
    for members in packs:
        packed = _launch(worker_argv, [(members, cores)], args.seconds)[0]
        separate = _launch(worker_argv, [(1, max(1, cores // members))] * members, args.seconds)
        rows.append(
            {
                "members": members,
                "packed": packed,
                "separate": separate,
                "ratio": packed["images_per_second_per_run"]
                / (sum(s["images_per_second_per_run"] for s in separate) / members),
            }
        )
    return {
        "device_name": cpu_name(),
        "cores": cores,
        "load_average": os.getloadavg(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "config": {
            key: getattr(args, key)
            for key in ("image_size", "batch_size", "width", "variant", "seconds", "warmup")
        },
        "rows": rows,
    }


def _launch(worker_argv: list[str], workers: list[tuple[int, int]], seconds: float) -> list[dict]:
    """Start the workers (members, threads) together, with one timing window; their reports."""
    start_at = time.time() + START_MARGIN + 3 * len(workers)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "training.bench",
                *worker_argv,
                "--pack-worker",
                str(members),
                "--threads",
                str(threads),
                "--start-at",
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for members, threads in workers
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=START_MARGIN + 30 * len(workers) + 10 * seconds + 600)
        if process.returncode:
            raise RuntimeError(f"a benchmark worker failed (exit status {process.returncode})")
        reports.append(json.loads(out))
    return reports


def summary(report: dict) -> str:
    c = report["config"]
    lines = [
        f"{report['device_name']}, {report['cores']} cores, torch {report['torch']}, "
        f"{report['date']}; load average {report['load_average'][0]:.2f} at the end",
        f"ResNet18 width {c['width']}, {c['image_size']} px, batch {c['batch_size']}, "
        f"{c['variant']}; each measurement a {c['seconds']:g} s window after {c['warmup']} steps",
        "",
        f"{'K':>3} {'packed img/s/run':>17} {'separate img/s/run':>19} {'ratio':>6} "
        f"{'packed peak':>12} {'separate peak':>14}",
    ]
    for row in report["rows"]:
        k, packed, separate = row["members"], row["packed"], row["separate"]
        alone = sum(s["images_per_second_per_run"] for s in separate) / k
        lines.append(
            f"{k:>3} {packed['images_per_second_per_run']:>17.0f} {alone:>19.0f} "
            f"{row['ratio']:>5.2f}× {packed['peak_bytes'] / 2**20:>8.0f} MiB "
            f"{sum(s['peak_bytes'] for s in separate) / 2**20:>10.0f} MiB"
        )
    if any(w["late"] for row in report["rows"] for w in (row["packed"], *row["separate"])):
        lines.append("(a worker finished its warm-up after the window opened: rerun unloaded)")
    return "\n".join(lines)


def markdown(report: dict, command: str) -> str:
    from theory import report as theory_report

    c = report["config"]
    head = [
        "K",
        "packed images/s per run",
        "separate images/s per run",
        "packed / separate",
        "peak memory, packed",
        "peak memory, separate (sum)",
    ]
    rows = []
    for row in report["rows"]:
        k, packed, separate = row["members"], row["packed"], row["separate"]
        alone = sum(s["images_per_second_per_run"] for s in separate) / k
        rows.append(
            [
                str(k),
                f"{packed['images_per_second_per_run']:.0f}",
                f"{alone:.0f}",
                f"{row['ratio']:.2f}×",
                f"{packed['peak_bytes'] / 2**20:.0f} MiB",
                f"{sum(s['peak_bytes'] for s in separate) / 2**20:.0f} MiB",
            ]
        )
    return "\n".join(
        [
            f"Written by `{command}` on {report['device_name']} ({report['cores']} cores), torch "
            f"{report['torch']}, {report['date']}, load average {report['load_average'][0]:.2f} "
            f"at the end: ResNet18 width {c['width']}, {c['image_size']} px, batch "
            f"{c['batch_size']}, {c['variant']}; each figure a {c['seconds']:g} s window after "
            f"{c['warmup']} warm-up steps.",
            "",
            *theory_report.markdown_table(head, rows),
        ]
    )
