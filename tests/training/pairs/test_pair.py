"""``python -m training.pair``: Theorem 5.1's map between the variants, the loss difference the
theory predicts, the verdicts of a few real steps (an identical pair, one within round-off, one
that separates), the decision rule's plumbing on hand-made checks, and the fixed W = −I."""

import json
import math

import pytest
import torch

from theory.thm51 import rule
from training import pair
from training.loop import config, models, runner, training_step, variants
from training.pairs import experiment, lockstep

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cifar(make_cifar):
    return make_cifar(8, 6)


def tiny(cifar, out, *extra):
    """An epoch of two steps (8 images, batches of 4) on a narrow ResNet18, in float64."""
    return [
        "--dataset",
        "cifar10",
        "--data-dir",
        str(cifar),
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
        "--precision",
        "fp64",
        "--check-every",
        "1",
        "--out",
        str(out),
        *extra,
    ]


def result(out) -> dict:
    return json.loads((out / "pair.json").read_text())


def lines(out) -> list[dict]:
    return [json.loads(line) for line in (out / "pair.jsonl").read_text().splitlines()]


# What corresponds to what -------------------------------------------------------------------


def test_raft_against_byol_prime_mirrors_the_predictors_output_layer():
    corr = lockstep.correspondence(variants.resolve("byol'"), variants.resolve("raft"))
    assert corr.sign == -1 and corr.signs == {
        "0.weight": 1.0,
        "0.bias": 1.0,
        "2.weight": -1.0,
        "2.bias": -1.0,
    }


def test_no_predictor_corresponds_to_the_fixed_minus_identity_and_to_itself():
    assert (
        lockstep.correspondence(variants.resolve("byol'-np"), variants.resolve("raft-minus-i")).sign
        == -1
    )
    assert (
        lockstep.correspondence(variants.resolve("byol'-np"), variants.resolve("raft-np")).sign == 1
    )


def test_predictors_without_a_map_between_them_are_refused():
    with pytest.raises(config.UsageError, match="no map"):
        lockstep.correspondence(variants.resolve("byol'-lp"), variants.resolve("raft"))


@pytest.mark.parametrize(
    "first, second, expected",
    [
        ("tanbyol'-lp", "tanraft-lp", 0.0),  # L_TanRAFT(−p) = L_TanBYOL'(p)
        ("byol'-lp", "raft-lp", -2.0),  # −4β, β = 0.5
        ("raft-lp", "byol'-lp", 2.0),
        ("byol'-np", "raft-minus-i", -2.0),
        ("byol'-np", "raft-np", None),  # no correspondence: the difference depends on the outputs
        ("byol", "raft", None),
    ],
)
def test_the_predicted_loss_difference_is_the_theorys_relation(first, second, expected):
    a, b = variants.resolve(first), variants.resolve(second)
    predicted = lockstep.predicted_difference(a, b, lockstep.correspondence(a, b).sign, 1.0, 0.5)
    assert predicted["value"] == expected


# Real steps ----------------------------------------------------------------------------------


def test_the_tangential_pair_is_identical_to_the_bit(cifar, tmp_path):
    assert pair.main(["tanbyolp-lp", "tanraft-lp", *tiny(cifar, tmp_path / "p")]) == 0
    verdict = result(tmp_path / "p")["verdict"]
    assert verdict["kind"] == "identical" and verdict["steps"] == 2, verdict
    assert all(line["loss_difference"] in (None, 0.0) for line in lines(tmp_path / "p"))
    assert (tmp_path / "p" / "pair.png").is_file()


def test_the_plain_pair_stays_within_round_off_and_its_losses_differ_by_minus_four_beta(
    cifar, tmp_path
):
    assert pair.main(["byolp-lp", "raft-lp", *tiny(cifar, tmp_path / "p")]) == 0
    r = result(tmp_path / "p")
    assert r["verdict"]["kind"] == "within-round-off" and r["verdict"]["fully_decisive"], r[
        "verdict"
    ]
    assert r["predicted_difference"]["value"] == -4.0
    assert r["loss_difference"]["largest_gap_from_prediction"] < 1e-12  # float64 sums of O(1) terms


def test_the_negative_control_separates_at_its_second_step(cifar, tmp_path):
    """At step 1 the teacher is the online network itself, so the cross-model term and its
    gradient vanish on both sides: the first step is the same, the second is not."""
    assert pair.main(["byolp-np", "raft-np", *tiny(cifar, tmp_path / "p")]) == 0
    verdict = result(tmp_path / "p")["verdict"]
    assert verdict["kind"] == "separates" and verdict["separation_step"] == 2, verdict
    assert verdict["other_precision_deviation"] > 0  # the float32 replay separates as well
    first, second = lines(tmp_path / "p")[1:3]
    assert first["theta"] == 0.0 and second["theta"] > 1e3 * second["control"]


def test_each_epoch_records_both_runs_metrics_and_their_files(cifar, tmp_path):
    assert pair.main(["byolp-np", "raft-minus-i", *tiny(cifar, tmp_path / "p")]) == 0
    epochs = [line for line in lines(tmp_path / "p") if "first" in line]
    assert [line["epoch"] for line in epochs] == [0, 1]
    assert epochs[-1]["second"]["w_eigenvalues"][0] == [-1.0, 0.0]  # W = −I throughout
    assert epochs[-1]["first"]["w_eigenvalues"] is None  # q = I has no W
    for side in ("first", "second"):
        assert (tmp_path / "p" / side / "checkpoint.pt").is_file()
        assert len((tmp_path / "p" / side / "metrics.jsonl").read_text().splitlines()) == 2


def test_a_used_folder_is_refused_without_overwrite(cifar, tmp_path):
    assert pair.main(["tanbyolp-lp", "tanraft-lp", *tiny(cifar, tmp_path / "p")]) == 0
    assert pair.main(["tanbyolp-lp", "tanraft-lp", *tiny(cifar, tmp_path / "p")]) == 2


def test_the_table_of_finished_pairs_goes_into_a_block(cifar, tmp_path):
    assert pair.main(["tanbyolp-lp", "tanraft-lp", *tiny(cifar, tmp_path / "p")]) == 0
    page = tmp_path / "page.md"
    page.write_text("x\n<!-- begin pairs -->\n<!-- end pairs -->\n")
    assert (
        pair.main(["table", str(tmp_path / "p"), "--markdown", str(page), "--block", "pairs"]) == 0
    )
    assert "| tanbyol'-lp → tanraft-lp | fp64 | 2 | 0 |" in page.read_text()


def test_the_former_table_flag_still_tabulates_with_a_note(cifar, tmp_path, capsys):
    assert pair.main(["tanbyolp-lp", "tanraft-lp", *tiny(cifar, tmp_path / "p")]) == 0
    capsys.readouterr()
    assert pair.main(["table", str(tmp_path / "p")]) == 0
    table = capsys.readouterr()
    assert pair.main(["--table", str(tmp_path / "p")]) == 0
    former = capsys.readouterr()
    assert (
        former.out == table.out and former.err.startswith("note: ") and former.err.count("\n") == 1
    )


# The rule on hand-made checks -----------------------------------------------------------------


def _checks(deviations, controls):
    return [
        {"step": k, "theta": d, "predictor": 0.0, "deviation": d, "control": c}
        for k, (d, c) in enumerate(zip([0.0, *deviations], [1.0, *controls]))
    ]


def test_an_excess_that_grows_2_to_the_29_in_float32_is_set_aside_as_round_off():
    checks = _checks([1e-15, 1e-12, 2e-12], [1e-15, 2e-15, 3e-15])  # step 2: 500× the control
    float32 = [d * rule.PRECISION_RATIO for d in (1e-15, 1e-12, 2e-12)]
    verdict = experiment.judge(checks, torch.float64, lambda until: float32)
    assert verdict["kind"] == "within-round-off" and verdict["roundoff_steps"] == [2, 3], verdict


def test_an_excess_that_float32_reproduces_is_a_separation():
    checks = _checks([1e-15, 1e-6, 1e-5], [1e-15, 2e-15, 3e-15])
    verdict = experiment.judge(checks, torch.float64, lambda until: [1e-7, 1.1e-6, 1e-5])
    assert verdict["kind"] == "separates" and verdict["separation_step"] == 2, verdict


def test_float32_is_judged_in_float32s_units_and_undecided_past_its_limit():
    ulps = 1e-7  # a few float32 ulps: round-off at float32's scale, no excess
    verdict = experiment.judge(
        _checks([ulps, ulps], [ulps, 2 * experiment.FLOAT32_DECISIVE]), torch.float32, None
    )
    assert verdict["kind"] == "within-round-off" and verdict["decisive_until"] == 1, verdict


# The fixed predictor ---------------------------------------------------------------------------


def test_the_fixed_predictor_is_minus_identity_and_no_step_moves_it():
    variant = variants.resolve("raft-minus-i")
    online, predictor = models.Network(4), models.predictor(variant.predictor)
    optimizer = training_step.adam([*online.parameters(), *predictor.parameters()], 1e-2)
    views = runner.augment.TwoViews("byol", 16, (0.5,), (0.25,))
    step = training_step.TrainStep(
        online,
        predictor,
        models.mean_teacher(online),
        optimizer,
        variant,
        views,
        training_step.Speed(False, False, False),
        ema=0.5,
        alpha=1.0,
        beta=1.0,
    )
    for _ in range(2):
        assert math.isfinite(
            step(
                torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8),
                torch.Generator().manual_seed(0),
            )
        )
    assert torch.equal(predictor.weight, -torch.eye(models.PROJECTION_DIM))
