"""The statistical rule of training.reproduction.verdicts and the claims of training.reproduction.empirical, on
hand-made values and hand-made runs."""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from training.reproduction import empirical, published, run_statistics, verdicts
from training.reproduction.verdicts import (
    NOT_SUPPORTED,
    RUNS_MISSING,
    SUPPORTED,
    TOO_FEW,
    TOO_SHORT,
    Comparison,
)


def _comparison(kind="greater", margin=0.0, decisive=None, b=("b", None)):
    return Comparison("t", "accuracy", ("a", None), b, kind, margin, decisive, "points")


def test_three_seeds_well_apart_support_a_greater_claim():
    outcome = verdicts.decide(_comparison(), [71.0, 71.5, 70.8], [69.0, 69.4, 68.9])
    assert outcome.verdict == SUPPORTED and outcome.interval[0] > 0
    assert outcome.p < verdicts.SIGNIFICANCE and outcome.hedges_g > 2


def test_three_seeds_the_other_way_do_not_support_it():
    outcome = verdicts.decide(_comparison(), [67.0, 67.4, 66.8], [68.6, 69.0, 68.4])
    assert outcome.verdict == NOT_SUPPORTED and outcome.interval[1] < 0 and outcome.p > 0.5


def test_overlapping_seeds_are_too_few_to_tell():
    assert verdicts.decide(_comparison(), [70.0, 68.0, 71.0], [69.0, 70.5, 68.5]).verdict == TOO_FEW


def test_one_seed_without_a_decisive_distance_is_too_few_to_tell():
    outcome = verdicts.decide(_comparison(), [90.0], [10.0])
    assert outcome.verdict == TOO_FEW and outcome.interval is None


@pytest.mark.parametrize(
    "effect, verdict", [(-2.5, SUPPORTED), (-1.5, TOO_FEW), (0.1, NOT_SUPPORTED)]
)
def test_one_seed_decides_an_effect_of_orders_of_magnitude_by_the_decisive_distance(
    effect, verdict
):
    test = _comparison(kind="less", margin=-1.0, decisive=1.0)
    assert verdicts.decide(test, [effect - 3.0], [-3.0]).verdict == verdict


@pytest.mark.parametrize(
    "a, verdict",
    [
        ([68.0, 68.3, 67.9], SUPPORTED),
        ([63.0, 63.4, 62.8], NOT_SUPPORTED),
        ([66.0, 69.0, 64.5], TOO_FEW),
    ],
)
def test_no_change_is_two_one_sided_tests_against_the_margin(a, verdict):
    assert (
        verdicts.decide(_comparison(kind="within", margin=2.0), a, [68.1, 67.8, 68.2]).verdict
        == verdict
    )


def test_a_one_sample_test_compares_with_the_constant():
    outcome = verdicts.decide(_comparison(kind="less", margin=20.0, b=0.0), [3.0, 4.0, 3.5], 0.0)
    assert outcome.verdict == SUPPORTED and outcome.effect == pytest.approx(3.5)


def test_an_unmeasurable_statistic_is_too_short_and_an_infinite_one_decides_by_its_sign():
    test = _comparison(kind="less", margin=20.0, decisive=5.0, b=0.0)
    assert verdicts.decide(test, [math.nan], 0.0).verdict == TOO_SHORT
    assert verdicts.decide(test, [3.0, math.inf], 0.0).verdict == NOT_SUPPORTED


def test_a_claim_is_supported_only_when_every_test_is():
    o = lambda v: verdicts.ComparisonOutcome(_comparison(), v)
    assert verdicts.combine([o(SUPPORTED), o(SUPPORTED)]) == SUPPORTED
    assert verdicts.combine([o(SUPPORTED), o(TOO_FEW)]) == TOO_FEW
    assert verdicts.combine([o(TOO_FEW), o(NOT_SUPPORTED)]) == NOT_SUPPORTED


@dataclass
class Run:
    result: dict
    history: list


def _run(align, uniform, accuracy=0.7, losses=(), uniforms=()):
    history = [{"epoch": 0, "step": 0, "loss": None, "uniform": -2.5}]
    history += [
        {"epoch": e + 1, "step": 390 * (e + 1), "loss": loss, "uniform": u}
        for e, (loss, u) in enumerate(
            zip(losses or [0.1] * len(uniforms), uniforms or [-1.0] * len(losses))
        )
    ]
    result = {"last_10_epochs": {"align": align, "uniform": uniform}, "linear_acc_last10": accuracy}
    return Run(result, history)


def _outcome(found, claim_id):
    return next(c for c in found if c.claim.id == claim_id)


def test_a_collapse_of_orders_of_magnitude_is_supported_by_one_seed():
    runs = {("byol-np", None): {0: _run(2e-10, -0.01)}, ("byol-lp", None): {0: _run(7e-4, -2.1)}}
    found = _outcome(empirical.assess(runs), "byol-np-collapses")
    assert found.verdict == SUPPORTED and not found.not_run


def test_no_collapse_is_not_supported_and_unrun_claims_are_left_out():
    runs = {("byol-np", None): {0: _run(8e-4, -2.0)}, ("byol-lp", None): {0: _run(7e-4, -2.1)}}
    found = empirical.assess(runs)
    assert _outcome(found, "byol-np-collapses").verdict == NOT_SUPPORTED
    assert _outcome(found, "raft-np-regularises").verdict is None


def test_raft_and_byolp_with_equal_accuracies_work_as_well():
    runs = {
        ("raft", 1.0): {s: _run(2e-3, -2.0, a) for s, a in enumerate((0.69, 0.70, 0.695))},
        ("byol'", 1.0): {s: _run(2e-3, -2.0, a) for s, a in enumerate((0.692, 0.70, 0.689))},
    }
    found = _outcome(empirical.assess(runs), "raft-works-as-well")
    assert found.outcomes[0].verdict == SUPPORTED and len(found.not_run) == 1


def test_a_claim_whose_other_runs_are_missing_is_inconclusive_not_supported():
    runs = {
        ("raft", 1.0): {s: _run(2e-3, -2.0, a) for s, a in enumerate((0.69, 0.70, 0.695))},
        ("byol'", 1.0): {s: _run(2e-3, -2.0, a) for s, a in enumerate((0.692, 0.70, 0.689))},
    }
    assert _outcome(empirical.assess(runs), "raft-works-as-well").verdict == RUNS_MISSING


def test_no_predictor_models_below_the_random_baseline_in_every_seed_are_supported():
    low = lambda: {s: _run(1e-8, -0.01, a) for s, a in enumerate((0.20, 0.22, 0.21))}
    runs = {g: low() for g in (("byol-np", None), ("byol'-np", 1.0), ("raft-np", 1.0))}
    runs[("rand-baseline", None)] = {
        s: _run(0.5, -0.5, a) for s, a in enumerate((0.42, 0.43, 0.425))
    }
    assert _outcome(empirical.assess(runs), "no-predictor-below-random").verdict == SUPPORTED


def test_a_tangential_run_identical_to_its_plain_seed_trains_as_it():
    plain = {s: _run(1e-3 * (s + 1), -2.0 - s / 10, 0.6 + s / 100) for s in range(3)}
    runs = {("byol-lp", None): plain, ("tanbyol-lp", None): dict(plain)}
    found = _outcome(empirical.assess(runs), "tangential-trains-as-plain")
    assert [o.verdict for o in found.outcomes] == [SUPPORTED] * 3 and found.verdict == RUNS_MISSING


def test_table_1s_tanbyol_lp_uniformity_is_beyond_the_margin_as_the_note_says():
    rows = {row.variant: row for row in published.TABLE1}
    test = _outcome(empirical.assess({}), "tangential-trains-as-plain").claim.tests[1]
    assert abs(rows["tanbyol-lp"].uniform.value - rows["byol-lp"].uniform.value) > test.margin


def test_a_run_without_the_w_probe_is_too_short_to_tell():
    runs = {("byol-lp", None): {s: _run(7e-4, -2.0, losses=[0.4] * 3) for s in range(2)}}
    found = _outcome(empirical.assess(runs), "linear-predictor-not-identity")
    assert found.outcomes[0].verdict == TOO_SHORT


def test_a_linear_predictor_far_from_identity_in_every_seed_is_supported():
    runs = {}
    for group, distances in (
        (("byol-lp", None), (1.1, 1.2, 1.15)),
        (("byol-lpi", None), (0.6, 0.7, 0.65)),
    ):
        runs[group] = {s: _run(7e-4, -2.0, losses=[0.4]) for s in range(3)}
        for run, d in zip(runs[group].values(), distances):
            run.history[-1]["w_identity_distance"] = d
    assert _outcome(empirical.assess(runs), "linear-predictor-not-identity").verdict == SUPPORTED


def test_byol_lpi_that_dips_and_recovers_early_is_supported():
    lp = _run(7e-4, -2.0, losses=[0.4] * 12)
    lpi = _run(7e-4, -2.0, losses=[0.001, 0.002, 0.05, 0.3] + [0.4] * 8)
    runs = {("byol-lpi", None): {0: lpi}, ("byol-lp", None): {0: lp}}
    found = _outcome(empirical.assess(runs), "byol-lpi-recovers")
    assert found.verdict == SUPPORTED
    assert [o.values_a for o in found.outcomes] == [[pytest.approx(math.log10(0.0025))], [4.0]]


def test_a_run_shorter_than_the_recovery_horizon_is_too_short_to_tell():
    lp, lpi = _run(7e-4, -2.0, losses=[0.4] * 4), _run(7e-4, -2.0, losses=[0.001] * 4)
    runs = {("byol-lpi", None): {0: lpi}, ("byol-lp", None): {0: lp}}
    assert _outcome(empirical.assess(runs), "byol-lpi-recovers").verdict == TOO_SHORT


def test_uniformity_falling_in_a_straight_line_is_a_constant_rate_and_a_flattening_one_is_not():
    straight = _run(7e-4, -2.0, uniforms=[-0.1 * e for e in range(1, 21)])
    flat = _run(7e-4, -2.0, uniforms=[-2 + 1.9 * 0.7**e for e in range(1, 21)])
    assert run_statistics.uniformity_rate(straight) == pytest.approx(0.0, abs=1e-9)
    runs = {("byol-lp", None): {0: straight}, ("byol-lpi", None): {0: flat}}
    found = _outcome(empirical.assess(runs), "linear-predictor-constant-rate")
    assert [o.verdict for o in found.outcomes] == [SUPPORTED, NOT_SUPPORTED]


def test_the_papers_own_table_1_as_one_seed_each_supports_both_collapses():
    runs = {
        row.group: {0: _run(row.align.value * 128, row.uniform.value, row.accuracy.value / 100)}
        for row in published.TABLE1
    }
    found = empirical.assess(runs)
    assert _outcome(found, "byol-np-collapses").verdict == SUPPORTED
    assert _outcome(found, "byolp-np-collapses").verdict == SUPPORTED
    assert _outcome(found, "raft-np-regularises").verdict == RUNS_MISSING  # Table 3's β = 10, 100
    assert _outcome(found, "raft-works-as-well").verdict == TOO_FEW  # accuracies need variance


def test_the_papers_own_table_3_as_one_seed_each_supports_raft_np_regularising():
    runs = {
        row.group: {0: _run(row.align.value * 128, row.uniform.value, row.accuracy.value / 100)}
        for row in published.TABLE3
    }
    found = empirical.assess(runs)
    assert _outcome(found, "raft-np-regularises").verdict == SUPPORTED
    assert _outcome(found, "byolp-np-alignment-to-zero").verdict == SUPPORTED


PAPER = Path(__file__).resolve().parents[4] / "shared" / "paper.md"


def test_every_comparison_states_the_reason_for_its_margin():
    assert all(test.reason for claim in empirical.CLAIMS for test in claim.tests)


@pytest.mark.skipif(not PAPER.is_file(), reason=f"the paper is not at {PAPER}")
@pytest.mark.parametrize("claim", empirical.CLAIMS, ids=lambda c: c.id)
def test_every_empirical_claim_quotes_the_papers_own_words(claim):
    words = lambda text: " ".join(text.split())
    assert claim.paper_text.where and words(claim.paper_text.text) in words(
        PAPER.read_text("utf-8")
    )


def test_a_dip_inside_the_first_epoch_is_seen_in_the_early_log(tmp_path):
    runs = {}
    for name, losses in (("lp", [0.4, 0.4, 0.4]), ("lpi", [0.4, 0.001, 0.3])):
        (tmp_path / name).mkdir()
        lines = [{"epoch": 1, "step": s + 1, "loss": loss} for s, loss in enumerate(losses)]
        (tmp_path / name / "early.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lines))
        run = _run(7e-4, -2.0, losses=[0.4])  # the epoch means show no dip
        run.folder = tmp_path / name
        runs[name] = run
    assert run_statistics.lpi_dip(runs["lpi"], runs["lp"]) == pytest.approx(math.log10(0.001 / 0.4))


def test_the_reference_lists_every_claim_with_its_rule():
    text = (Path(__file__).resolve().parents[3] / "docs" / "reproduce.md").read_text("utf-8")
    assert all(f"`{c.id}`" in text and c.tests[0].reason in text for c in empirical.CLAIMS)
