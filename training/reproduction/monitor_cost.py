"""What the per-epoch k-NN monitor costs against an epoch of training at a reproduction scale
(``python -m training.knn_cost`` is the command): seconds of N training steps (scaled to the
epoch), of the probe metrics and of the k-NN accuracy, each the best of three after a warm-up."""

import os
import time
from dataclasses import replace

import torch

from training.loop import config, evaluate, runner, training_step, variants
from training.reproduction import sweep


def _best(function, repeats: int = 3) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(scale: sweep.Scale, steps_timed: int) -> dict:
    cfg = config.settle(
        replace(config.Config(), variant="byol-lp", out="/nonexistent", **scale.options),
        variants.resolve("byol-lp"),
    )
    live = runner.prepare(cfg, None)
    step = training_step.TrainStep(
        live.online,
        live.predictor,
        live.target,
        live.optimizer,
        live.variant,
        live.views,
        live.speed,
        ema=cfg.ema,
    )
    batch = live.images[: cfg.batch_size]
    generator = live.generators["augment"]
    sync = torch.cuda.synchronize if live.device.type == "cuda" else (lambda: None)

    def train():
        for _ in range(steps_timed):
            step(batch, generator)
        sync()

    per_epoch = len(live.images) // cfg.batch_size
    metrics = lambda: evaluate.probe_metrics(live.online, live.predictor, live.target, live.probe)
    probe = lambda: torch.stack(list(metrics().values())).tolist()
    return {
        "load": os.getloadavg()[0],
        "setting": f"--scale {scale.name}: {cfg.dataset}, {cfg.image_size} px, width {cfg.width}, "
        f"batch {cfg.batch_size}, {per_epoch} steps per epoch, k-NN bank {cfg.knn_bank}, "
        f"{cfg.probe_size} queries, {live.device}, {torch.get_num_threads()} thread(s)",
        "epoch": _best(train, repeats=1) / steps_timed * per_epoch,
        "probe": _best(probe),
        "knn": _best(lambda: live.knn.accuracy(live.online).item()),
    }


def markdown(found: dict, command: str) -> str:
    share = found["knn"] / found["epoch"]
    return (
        f"Written by `{command}` ({found['setting']}; load average {found['load']:.2f} "
        f"over the minute before): an epoch of training "
        f"{found['epoch']:.1f} s, the probe metrics {found['probe']:.2f} s, the k-NN "
        f"monitor {found['knn']:.2f} s, i.e. {100 * share:.1f}% of the epoch."
    )
