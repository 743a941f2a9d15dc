"""``python -m training.bench [options]``: the fast training path against a loop written the way
typical SSL repositories are, on synthetic CIFAR-shaped data (``training.loop.benchmark`` says
what each path does and what is timed); ``--markdown FILE --block NAME`` writes the figures into
a block of a page (docs/performance.md's come from here)."""

import argparse
import json
import sys

import torch

from theory import containment
from training import cli
from training.loop import augment, benchmark, config, pack_benchmark, training_step, variants


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.bench", description=benchmark.__doc__.split("\n\n")[0]
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--image-size", type=int, default=96, help="side of the views (default 96)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=50, help="timed steps per path (default 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="the reference's DataLoader workers (default: one per CPU core, ≤ 16)",
    )
    p.add_argument("--width", type=int, default=64, help="ResNet18's first-stage width (64)")
    p.add_argument(
        "--dataset-size",
        type=int,
        default=50_000,
        help="synthetic uint8 32×32×3 images (default 50,000, CIFAR10's training set)",
    )
    p.add_argument("--variant", default="byol", help="the objective and predictor (default byol)")
    p.add_argument("--augment", choices=augment.RECIPES, default="byol")
    p.add_argument(
        "--reference-transforms",
        choices=("v1", "v2"),
        default="v1",
        help="torchvision.transforms on PIL images (v1, default) or v2 on uint8 tensors",
    )
    p.add_argument("--precision", choices=training_step.PRECISIONS, default="auto")
    p.add_argument("--channels-last", choices=training_step.LAYOUTS, default="auto")
    p.add_argument("--compile", action="store_true", help="torch.compile in the fast path")
    p.add_argument(
        "--paths",
        default="fast,reference",
        help="fast, reference, both (default) or none (with --linear-epochs)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads in this process")
    p.add_argument(
        "--linear-epochs",
        type=int,
        default=0,
        help="also time the linear evaluation for this many epochs (default 0: no)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--pack",
        help="instead of the paths: K runs packed in one process against K separate processes "
        "on the same cores, for each K of a list such as 1,2,3,6 (training.loop.pack_benchmark)",
    )
    p.add_argument(
        "--seconds", type=float, default=20.0, help="--pack: each timing window (default 20)"
    )
    p.add_argument("--pack-worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    cli.add_markdown_options(p, "bench", "the figures")
    return p


def main(argv=None) -> int:
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
    args = parser().parse_args(argv)
    paths = [p for p in args.paths.split(",") if p and p != "none"]
    problems = [
        f"--{name} must be ≥ {least}"
        for name, value, least in (
            ("steps", args.steps, 1),
            ("warmup", args.warmup, 0),
            ("batch-size", args.batch_size, 2),
            ("image-size", args.image_size, 8),
            ("width", args.width, 1),
            ("linear-epochs", args.linear_epochs, 0),
            ("workers", args.workers or 0, 0),
            ("threads", 1 if args.threads is None else args.threads, 1),
        )
        if value < least
    ]
    packs = pack_benchmark.parse_packs(args.pack, problems) if args.pack else []
    if args.pack and not 0 < args.seconds < 3600:
        problems.append(f"--seconds must be in (0, 3600), got {args.seconds}")
    if args.dataset_size < args.batch_size:
        problems.append("--dataset-size must be ≥ the batch size")
    if set(paths) - {"fast", "reference"} or not (paths or args.linear_epochs):
        problems.append(
            f"--paths takes fast and/or reference (or none, with --linear-epochs), got {args.paths!r}"
        )
    try:
        variant = variants.resolve(args.variant)
        if not variant.trains:
            problems.append(f"--variant {variant.name} does not train")
    except KeyError as error:
        problems.append(error.args[0])
    try:
        device = config.resolve_device(args.device)
    except config.UsageError as error:
        problems.append(str(error))
    try:
        cli.check_markdown(args)
    except cli.BAD_INPUT as error:
        problems.append(str(error))
    if problems:
        return cli.error("; ".join(problems), cli.USAGE)
    if args.threads:
        torch.set_num_threads(args.threads)
    command = "python -m training.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.pack_worker:
        print(json.dumps(pack_benchmark.worker(args, device, variant, args.pack_worker)))
        return 0
    if packs:
        report = pack_benchmark.compare(args, packs, pack_benchmark.worker_argv(argv))
        print(json.dumps(report, indent=2) if args.json else pack_benchmark.summary(report))
        return cli.write_markdown(args, pack_benchmark.markdown(report, command), "figures")
    report = benchmark.bench(args, device, variant, paths)
    print(json.dumps(report, indent=2) if args.json else benchmark.summary(report))
    return cli.write_markdown(args, benchmark.markdown(report, command), "figures")


if __name__ == "__main__":
    sys.exit(main())
