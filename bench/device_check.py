"""The GPU check of the fast training path, in one call of a few minutes (bench/device_check.sh).

    python bench/device_check.py --out DIR [--fashion-mnist DIR] [--budget 450] [--quick]

Stages, in order of importance; each runs only if its estimated time still fits in ``--budget``
seconds (a stage that fails is recorded and the next one runs):

1. environment: GPU, versions, the device's two ceilings (a bf16 matrix product's TFLOP/s,
   a device-to-device copy's GB/s) and the FLOPs of one paper-configuration step, counted;
2. no-sync: 20 steady-state steps of run.py's inner loop under
   ``torch.cuda.set_sync_debug_mode("error")``: any host synchronisation raises;
3. bench: ``python -m training.bench`` at the paper's configuration (ResNet18, ImageNet stem,
   96×96, batch 128, two views, 50,000 synthetic CIFAR-shaped images: epoch = 390 steps), fast
   path against the reference, and the linear evaluation (100 epochs, 50,000 cached features);
4. real runs: byol-np and byol-lp, ``--epochs`` epochs each on Fashion-MNIST at 96 px with the
   paper's settings, through ``python -m training.run`` (bf16, the default on CUDA);
5. bench-fp32: the fast path with ``--precision fp32``;
6. real-fp32: byol-np again in fp32, to compare its collapse with the bf16 run's;
7. compile: the fast path with ``--compile`` (compilation time, then steps).

Fashion-MNIST comes from ``--fashion-mnist DIR`` (the four IDX .gz files), else ``data/
fashion-mnist`` in the working tree, else Debian's package; failing those, synthetic images in
the same format (then the real runs time the code but their accuracies mean nothing, and the
summary says so). "rest s" in the summary is the run's wall time less training, probes and
linear evaluation: start-up, data loading, checkpoints, feature extraction.

Writes into ``--out`` (at most 8 files, as the device tool returns): device_check.json
(everything), summary.md (the GPU figures for docs/performance.md) and the real runs' curves; prints
the summary last. ``--quick`` shrinks every size so that the whole script
runs on a CPU in seconds, on synthetic data (tests/test_device_check.py).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training.loop import augment, benchmark, config, data, models, training_step, variants  # noqa: E402

DEBIAN_FASHION_MNIST = data.DEBIAN_FASHION_MNIST
# Seconds each stage is expected to take on an H100 (a stage is skipped when it would not fit).
ESTIMATES = {
    "environment": 20,
    "no_sync": 30,
    "bench": 75,
    "real": 160,
    "bench_fp32": 25,
    "real_fp32": 100,
    "compile": 150,
}
PAPER = {
    "image_size": 96,
    "batch_size": 128,
    "width": 64,
    "dataset_size": 50_000,
    "steps": 100,
    "warmup": 20,
    "linear_epochs": 100,
    "epochs": 4,
    "probe_size": 1024,
    "subset": None,
}
QUICK = {
    "image_size": 16,
    "batch_size": 8,
    "width": 2,
    "dataset_size": 48,
    "steps": 2,
    "warmup": 1,
    "linear_epochs": 1,
    "epochs": 1,
    "probe_size": 16,
    "subset": 32,
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT") or str(REPO / "runs" / "device-check"))
    p.add_argument("--fashion-mnist", help="folder of the four Fashion-MNIST IDX .gz files")
    p.add_argument("--budget", type=float, default=450, help="seconds for all stages (default 450)")
    p.add_argument("--epochs", type=int, help="epochs of each real run (default 4)")
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a CPU test of this script")
    args = p.parse_args(argv)
    sizes = dict(QUICK if args.quick else PAPER)
    if args.epochs:
        sizes["epochs"] = args.epochs
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = config.resolve_device(args.device)
    began = time.monotonic()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "device": str(device),
        "sizes": sizes,
        "budget_seconds": args.budget,
        "stages": {},
    }

    def stage(name, function, *arguments):
        left = args.budget - (time.monotonic() - began)
        if not args.quick and ESTIMATES[name] > left:
            status = f"skipped: {left:.0f} s left, needs ~{ESTIMATES[name]} s"
            report["stages"][name] = {"status": status}
            print(f"[{name}] skipped ({left:.0f} s left)", flush=True)
            return
        print(f"[{name}] ...", flush=True)
        started = time.monotonic()
        try:
            result = function(*arguments, left)
            report["stages"][name] = {"status": "ok", **result}
        except Exception as error:  # one stage's failure must not cost the others' results
            report["stages"][name] = {
                "status": f"failed: {type(error).__name__}: {error}",
                "traceback": traceback.format_exc()[-4000:],
            }
        report["stages"][name]["seconds"] = time.monotonic() - started
        done = report["stages"][name]
        print(f"[{name}] {done['status']} ({done['seconds']:.1f} s)", flush=True)
        (out / "device_check.json").write_text(json.dumps(report, indent=2) + "\n")

    scratch = Path(tempfile.mkdtemp(prefix="fmnist-"))
    fashion = fashion_mnist(args.fashion_mnist, scratch, args.quick)
    report["fashion_mnist"] = fashion
    stage("environment", environment, device, sizes)
    stage("no_sync", no_sync, device, sizes)
    stage("bench", run_bench, device, sizes, [])
    both = [("byol-np", "auto"), ("byol-lp", "auto")]
    stage("real", real_runs, device, sizes, fashion, out, both)
    if args.quick:  # the remaining stages repeat code paths the stages above ran
        for name in ("bench_fp32", "real_fp32", "compile"):
            report["stages"][name] = {"status": "skipped: --quick"}
    else:
        stage("bench_fp32", run_bench, device, sizes, ["--precision", "fp32", "--paths", "fast"])
        stage("real_fp32", real_runs, device, sizes, fashion, out, [("byol-np", "fp32")])
        stage("compile", run_bench, device, sizes, ["--compile", "--paths", "fast"])
    report["total_seconds"] = time.monotonic() - began
    (out / "device_check.json").write_text(json.dumps(report, indent=2) + "\n")
    text = summary(report)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


# Stages ------------------------------------------------------------------------------------------


def environment(device, sizes, left) -> dict:
    """Versions, the matrix and copy ceilings, and the FLOPs of one step, counted by torch."""
    cudnn = torch.backends.cudnn
    result = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "cudnn": cudnn.version() if cudnn.is_available() else None,
    }
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        result.update(
            gpu=properties.name,
            multiprocessors=properties.multi_processor_count,
            memory_gib=properties.total_memory / 2**30,
        )
        n = 8192
        a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
        result["bf16_matmul_tflops"] = n**3 * 2 / _cuda_seconds(lambda: a @ b) / 1e12
        x = torch.empty(2**28, device=device)  # 1 GiB of fp32
        y = torch.empty_like(x)
        result["copy_gb_per_s"] = 2 * x.numel() * 4 / _cuda_seconds(lambda: y.copy_(x)) / 1e9
        del a, b, x, y
    else:
        result["cpu"] = benchmark.cpu_name()
    result["flops_per_step"] = step_flops(device, sizes)
    if "bf16_matmul_tflops" in result:
        rate = result["bf16_matmul_tflops"] * 1e12
        result["floor_ms_per_step"] = result["flops_per_step"] / rate * 1e3
    return result


def _cuda_seconds(function, repeat=10) -> float:
    for _ in range(3):
        function()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeat):
        function()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000 / repeat


def _paper_step(device, sizes, n_images):
    """A run.py step at these sizes on the fast path, and uint8 images resident on the device."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as run.py
    speed = training_step.Speed.choose(device)
    variant = variants.resolve("byol")
    online = models.Network(sizes["width"]).to(device, memory_format=speed.memory_format)
    predictor = models.predictor(variant.predictor).to(device)
    target = models.mean_teacher(online)
    optimizer = training_step.adam([*online.parameters(), *predictor.parameters()], 3e-4)
    views = augment.TwoViews("byol", sizes["image_size"], benchmark.CIFAR_MEAN, benchmark.CIFAR_STD)
    step = training_step.TrainStep(
        online, predictor, target, optimizer, variant, views, speed, ema=4e-3
    )
    images = torch.randint(0, 256, (n_images, 3, 32, 32), dtype=torch.uint8).to(device)
    return step, images


def step_flops(device, sizes) -> int:
    """Floating-point operations of one step (convolutions and matrix products, forward and
    backward), as torch's FlopCounterMode counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    step, images = _paper_step(device, sizes, sizes["batch_size"])
    with FlopCounterMode(display=False) as counter:
        step(images, torch.Generator(device).manual_seed(0))
    return counter.get_total_flops()


def no_sync(device, sizes, left) -> dict:
    """run.py's inner loop (batch selection, step, loss sum, progress read) in steady state with
    CUDA's sync debug mode set to raise at any synchronisation."""
    step, images = _paper_step(device, sizes, 4 * sizes["batch_size"])
    generator = torch.Generator(device).manual_seed(0)
    shuffle = torch.Generator(device).manual_seed(1)
    order = torch.randperm(len(images), device=device, generator=shuffle)
    latest = training_step.LatestLoss(device)
    loss_sum = torch.zeros((), device=device)
    batch = sizes["batch_size"]

    def inner_loop(n):
        nonlocal loss_sum
        for i in range(n):
            j = i % 4
            loss = step(images[order[j * batch : (j + 1) * batch]], generator)
            loss_sum += loss
            latest.post(loss)

    inner_loop(3)  # first calls: cuDNN's benchmark, the constants' copies, Adam's state
    if device.type != "cuda":
        inner_loop(2)
        note = "no sync debug mode on the CPU (tests/training/loop/test_fast_path.py audits the operators)"
        return {"checked": False, "note": note}
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        inner_loop(20)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    finite = bool(torch.isfinite(loss_sum))
    return {"checked": True, "steps": 20, "synchronisations": 0, "loss_finite": finite}


def run_bench(device, sizes, extra, left) -> dict:
    command = [
        sys.executable,
        "-m",
        "training.bench",
        "--device",
        str(device),
        "--json",
        "--image-size",
        str(sizes["image_size"]),
        "--batch-size",
        str(sizes["batch_size"]),
        "--width",
        str(sizes["width"]),
        "--dataset-size",
        str(sizes["dataset_size"]),
        "--steps",
        str(sizes["steps"]),
        "--warmup",
        str(sizes["warmup"]),
        *extra,
    ]
    if not extra:
        command += ["--linear-epochs", str(sizes["linear_epochs"])]
    completed = _run(command, left)
    return {"command": " ".join(command[1:]), "report": json.loads(completed.stdout)}


def real_runs(device, sizes, fashion, out, runs, left) -> dict:
    results = {}
    for variant, precision in runs:
        name = f"{variant}-{precision}" if precision != "auto" else variant
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        command = [
            sys.executable,
            "-m",
            "training.run",
            variant,
            "--dataset",
            "fashion-mnist",
            "--data-dir",
            fashion["folder"],
            "--device",
            str(device),
            "--precision",
            precision,
            "--epochs",
            str(sizes["epochs"]),
            "--image-size",
            str(sizes["image_size"]),
            "--batch-size",
            str(sizes["batch_size"]),
            "--width",
            str(sizes["width"]),
            "--probe-size",
            str(sizes["probe_size"]),
            "--linear-epochs",
            str(sizes["linear_epochs"]),
            "--log-every",
            "0",
            "--out",
            str(folder / "run"),
        ]
        if sizes["subset"]:
            command += ["--subset", str(sizes["subset"])]
        started = time.monotonic()
        _run(command, left - (time.monotonic() - started))
        wall = time.monotonic() - started
        run_folder = folder / "run"
        result = json.loads((run_folder / "result.json").read_text())
        lines = (run_folder / "metrics.jsonl").read_text().splitlines()
        metrics = [json.loads(line) for line in lines]
        shutil.copy(run_folder / "curves.png", out / f"curves-{name}.png")
        shutil.rmtree(folder, ignore_errors=True)  # the checkpoint (~180 MB) stays behind
        kept = (
            "linear_acc",
            "linear_train_acc",
            "train_seconds",
            "linear_seconds",
            "speed",
            "steps",
            "train_images",
        )
        results[name] = {
            "command": " ".join(command[1:]),
            "wall_seconds": wall,
            "metrics": metrics,
            **{k: result[k] for k in kept},
        }
        left -= wall
    return {"runs": results}


def _run(command, timeout) -> subprocess.CompletedProcess:
    path = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    environment = dict(os.environ, PYTHONPATH=path)
    completed = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=max(timeout, 10)
    )
    sys.stderr.write(completed.stderr[-2000:])
    if completed.returncode != 0:
        raise RuntimeError(f"exit {completed.returncode}: {completed.stderr.strip()[-800:]}")
    return completed


def fashion_mnist(given, scratch: Path, quick: bool) -> dict:
    """Where the real runs read Fashion-MNIST from; synthetic files in its format if nowhere."""
    names = [f"{n}.gz" for pair in data.FASHION_MNIST_FILES.values() for n in pair]
    for folder in [given, REPO / "data" / "fashion-mnist", DEBIAN_FASHION_MNIST]:
        if folder and all((Path(folder) / n).is_file() for n in names) and not quick:
            return {"folder": str(folder), "synthetic": False}
    generator = torch.Generator().manual_seed(0)
    train, test = (60_000, 10_000) if not quick else (48, 24)

    def split(n):
        images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=generator)
        labels = torch.randint(0, 10, (n,), generator=generator)
        return data.Images(images, labels, data.FASHION_MNIST_CLASSES)

    data.write_fashion_mnist(scratch, split(train), split(test))
    return {"folder": str(scratch), "synthetic": True}


# The summary ------------------------------------------------------------------------------------


def summary(report) -> str:
    stages = report["stages"]
    lines = [f"# Device check, {report['date']}", ""]
    env = stages.get("environment", {})
    if env.get("status") == "ok":
        line = f"{env.get('gpu', env.get('cpu'))}; torch {env['torch']}, CUDA {env['cuda']}, "
        line += f"cuDNN {env['cudnn']}; "
        if "bf16_matmul_tflops" in env:
            line += f"bf16 matmul {env['bf16_matmul_tflops']:.0f} TFLOP/s, "
            line += f"copy {env['copy_gb_per_s']:.0f} GB/s; "
        line += f"one step = {env['flops_per_step'] / 1e9:.1f} GFLOP"
        if "floor_ms_per_step" in env:
            line += f" (floor {env['floor_ms_per_step']:.2f} ms at that matmul rate)"
        lines.append(line)
    lines += ["", "| stage | status | seconds |", "|---|---|---|"]
    for name, s in stages.items():
        lines.append(
            f"| {name} | {s['status'].splitlines()[0][:120]} | {s.get('seconds', 0):.0f} |"
        )
    for name in ("bench", "bench_fp32", "compile"):
        s = stages.get(name, {})
        if s.get("status") != "ok":
            continue
        speed = s["report"]["config"]["speed"]
        label = "bf16" if speed["bf16"] else "fp32"
        label += ", channels_last" if speed["channels_last"] else ""
        label += ", compiled" if speed["compile"] else ""
        lines += ["", f"## Bench ({name}): fast path {label}", "", "```"]
        lines += [benchmark.summary(s["report"]), "```"]
    real = {**stages.get("real", {}).get("runs", {}), **stages.get("real_fp32", {}).get("runs", {})}
    if real:
        synthetic = report["fashion_mnist"]["synthetic"]
        warning = " (SYNTHETIC images: timings only, accuracies meaningless)" if synthetic else ""
        lines += [
            "",
            f"## Real runs: Fashion-MNIST{warning}",
            "",
            "| run | epochs | s/epoch (train + probe) | align, epoch 1 → last "
            "| uniform, epoch 1 → last | eff_rank last | linear_acc | linear s | rest s | wall s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in real.items():
            trained = [m for m in r["metrics"] if m["epoch"] >= 1] or r["metrics"]
            per_epoch = sorted(m["seconds"] for m in trained)[len(trained) // 2]
            first, last = trained[0], trained[-1]
            rest = r["wall_seconds"] - r["train_seconds"] - r["linear_seconds"]
            lines.append(
                f"| {name} | {last['epoch']} | {per_epoch:.2f} "
                f"| {_g(first['align'])} → {_g(last['align'])} "
                f"| {_g(first['uniform'])} → {_g(last['uniform'])} | {_g(last['eff_rank'])} "
                f"| {r['linear_acc']:.4f} | {r['linear_seconds']:.1f} | {rest:.1f} "
                f"| {r['wall_seconds']:.0f} |"
            )
    total, budget = report.get("total_seconds", 0), report["budget_seconds"]
    lines += ["", f"total {total:.0f} s of a {budget:.0f} s budget"]
    return "\n".join(lines)


def _g(value) -> str:
    return "null" if value is None else f"{value:.4g}"


if __name__ == "__main__":
    sys.exit(main())
