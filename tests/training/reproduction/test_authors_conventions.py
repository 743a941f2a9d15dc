"""What training.run gained for the reproduction: the authors' conventions (--target-init,
--ema-updates, --objective-reduction), the per-epoch k-NN monitor, and the linear evaluation's
last-10-epoch summary."""

import copy
import json
from dataclasses import replace

import pytest
import torch
from torch import nn

from theory.teacher import ema_update
from training import run
from training.loop import config, evaluate, models, runner, training_step, variants

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(cifar, tmp_path, **options) -> config.Config:
    cfg = config.Config(
        variant="byol-lp",
        data_dir=str(cifar),
        subset=8,
        batch_size=4,
        image_size=16,
        width=4,
        probe_size=6,
        knn_bank=8,
        device="cpu",
        out=str(tmp_path),
    )
    return config.settle(replace(cfg, **options), variants.resolve(cfg.variant))


def _step(live: runner.Run, variant=None):
    return training_step.TrainStep(
        live.online,
        live.predictor,
        live.target,
        live.optimizer,
        variant or live.variant,
        live.views,
        live.speed,
        ema=live.cfg.ema,
    )


class _PerDimension:
    """A variant whose loss is averaged over the D dimensions, as the authors' losses are."""

    def __init__(self, variant):
        self.variant = variant

    def loss(self, *outputs, **options):
        return self.variant.loss(*outputs, **options) / models.PROJECTION_DIM


def test_the_mean_reduction_trains_as_the_loss_divided_by_d(cifar, tmp_path):
    mean = runner.prepare(_config(cifar, tmp_path, objective_reduction="mean"), None)
    by_hand = runner.prepare(_config(cifar, tmp_path), None)
    assert mean.optimizer.param_groups[0]["eps"] == pytest.approx(1e-8 * 128)
    images = mean.images[:4]
    for live, variant in ((mean, None), (by_hand, _PerDimension(by_hand.variant))):
        step, g = _step(live, variant), torch.Generator().manual_seed(5)
        for _ in range(2):
            step(images, g)
    for a, b in zip(mean.online.parameters(), by_hand.online.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)  # fused Adam's round-off only


def test_two_ema_updates_move_the_teacher_before_and_after_the_adam_step(cifar, tmp_path):
    live = runner.prepare(_config(cifar, tmp_path, ema_updates=2, ema=0.1), None)
    before_online = [p.detach().clone() for p in live.online.parameters()]
    expected = copy.deepcopy(live.target)
    ema_update(expected.parameters(), before_online, tau=0.9)
    _step(live)(live.images[:4], torch.Generator().manual_seed(5))
    ema_update(expected.parameters(), list(live.online.parameters()), tau=0.9)
    for a, b in zip(live.target.parameters(), expected.parameters()):
        torch.testing.assert_close(a, b)


def test_an_independent_teacher_starts_apart_from_the_online_network(cifar, tmp_path):
    same = runner.prepare(_config(cifar, tmp_path), None)
    apart = runner.prepare(_config(cifar, tmp_path, target_init="independent"), None)
    pairs = lambda live: zip(live.online.state_dict().values(), live.target.state_dict().values())
    assert all(torch.equal(a, b) for a, b in pairs(same))
    assert not torch.equal(apart.online.encoder.conv1.weight, apart.target.encoder.conv1.weight)


class _Flat(nn.Module):
    def features(self, x):
        return x.flatten(1)


def test_the_knn_monitor_votes_with_the_nearest_bank_images():
    bank = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    queries = torch.tensor([[1.0, 0.05], [0.05, 1.0]])
    monitor = lambda query_labels: evaluate.KNN(
        bank, labels, queries, query_labels, lambda x: x, k=2, temperature=0.1, classes=2
    )
    assert monitor(torch.tensor([0, 1])).accuracy(_Flat()).item() == 1.0
    assert monitor(torch.tensor([1, 0])).accuracy(_Flat()).item() == 0.0


def test_every_epoch_records_the_knn_accuracy_unless_the_monitor_is_off(cifar, tmp_path):
    common = [
        "byol-lp",
        "--data-dir",
        str(cifar),
        "--subset",
        "8",
        "--batch-size",
        "4",
        "--image-size",
        "16",
        "--width",
        "4",
        "--probe-size",
        "6",
        "--epochs",
        "1",
        "--linear-epochs",
        "2",
        "--device",
        "cpu",
    ]
    assert run.main([*common, "--knn-bank", "8", "--out", str(tmp_path / "on")]) == 0
    assert run.main([*common, "--knn-bank", "0", "--out", str(tmp_path / "off")]) == 0
    lines = lambda name: [
        json.loads(x) for x in (tmp_path / name / "metrics.jsonl").read_text().splitlines()
    ]
    assert all(0 <= m["knn_acc"] <= 1 for m in lines("on")) and len(lines("on")) == 2
    assert all("knn_acc" not in m for m in lines("off"))
    result = json.loads((tmp_path / "on" / "result.json").read_text())
    assert result["linear_acc_last10_std"] >= 0 and 0 <= result["linear_acc_last10"] <= 1


def test_a_convention_that_does_not_exist_is_refused(cifar, tmp_path):
    cfg = _config(cifar, tmp_path, target_init="shared")
    with pytest.raises(config.UsageError, match="--target-init must be one of copy, independent"):
        config.check(cfg, variants.resolve(cfg.variant))
