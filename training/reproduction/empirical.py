"""The paper's empirical claims as data (Sections 3 and 4.2, Tables 1 and 3, Figures 1 and 4),
each a list of ``verdicts.Comparison``, the per-run statistics they compare, and their evaluation on
the runs of a sweep. Margins and decisive distances are written beside each test with their
meaning; they were fixed from the paper's wording, before any run was looked at.

A run here is anything with ``result`` (its result.json) and ``history`` (its metrics.jsonl).
"""

import math
import statistics
from dataclasses import dataclass

from training.reproduction import verdicts
from training.reproduction.verdicts import Comparison, EmpiricalClaim

FLOOR = 1e-15  # an alignment or uniformity of exactly 0 (float32 underflow) counts as this
RECOVERED = 0.5  # BYOL-LPI has recovered when its loss is back within 2× of BYOL-LP's
QUARTER_POINTS = 3  # epochs needed in each of the last two quarters to fit a rate


def log10_align(run, _reference=None) -> float:
    """log10 of L_align(q_w∘f_θ) averaged over the last 10 epochs (as Table 1)."""
    return math.log10(max(run.result["last_10_epochs"]["align"], FLOOR))


def log10_uniform_gap(run, _reference=None) -> float:
    """log10 of −L_uniform(f_θ) over the last 10 epochs: how far from 0 (collapse) it is."""
    return math.log10(max(-run.result["last_10_epochs"]["uniform"], FLOOR))


def accuracy(run, _reference=None) -> float:
    """Linear evaluation in percent, averaged over its last 10 epochs as the authors print it
    (the final epoch's for runs that did not record that)."""
    result = run.result
    return 100 * result.get("linear_acc_last10", result.get("linear_acc"))


def _loss_ratios(run, reference) -> list[tuple[int, float]]:
    """(step, loss of ``run`` / loss of ``reference``) at every epoch ≥ 1 both trained."""
    theirs = {m["epoch"]: m["loss"] for m in reference.history if m.get("loss")}
    return [
        (m["step"], m["loss"] / theirs[m["epoch"]])
        for m in run.history
        if m.get("loss") is not None and theirs.get(m["epoch"])
    ]


def lpi_dip(run, reference) -> float:
    """log10 of the smallest ratio of BYOL-LPI's training loss to BYOL-LP's (same seed, same
    epoch): how close to 0 its loss falls."""
    ratios = _loss_ratios(run, reference)
    return math.log10(max(min(r for _, r in ratios), FLOOR)) if ratios else math.nan


def lpi_recovery(run, reference, horizon: float = 25.0) -> float:
    """Appendix-B epochs (390 steps each) from the start until BYOL-LPI's loss, after its
    lowest point, is back within 2× of BYOL-LP's: +inf if it never is in a run of at least
    ``horizon`` such epochs, NaN (not measurable) in a shorter one."""
    ratios = _loss_ratios(run, reference)
    if not ratios:
        return math.nan
    lowest = min(range(len(ratios)), key=lambda i: ratios[i][1])
    for step, ratio in ratios[lowest:]:
        if ratio >= RECOVERED:
            return step / verdicts.PAPER_EPOCH_STEPS
    return math.inf if ratios[-1][0] / verdicts.PAPER_EPOCH_STEPS >= horizon else math.nan


def uniformity_rate(run, _reference=None) -> float:
    """log2 of the ratio of the rates (least-squares slopes against the step) at which
    L_uniform(f_θ) falls in the last quarter of the run and in the quarter before; +inf when
    it does not fall in either; NaN when a quarter has fewer than QUARTER_POINTS epochs."""
    points = [(m["step"], m["uniform"]) for m in run.history[1:] if m.get("uniform") is not None]
    n = len(points)
    third, fourth = points[n // 2 : 3 * n // 4], points[3 * n // 4 :]
    if min(len(third), len(fourth)) < QUARTER_POINTS:
        return math.nan
    slopes = [statistics.linear_regression(*zip(*quarter)).slope for quarter in (third, fourth)]
    if max(slopes) >= 0:
        return math.inf
    return math.log2(slopes[1] / slopes[0])


STATISTICS = {
    "log10_align": log10_align,
    "log10_uniform_gap": log10_uniform_gap,
    "accuracy": accuracy,
    "lpi_dip": lpi_dip,
    "lpi_recovery": lpi_recovery,
    "uniformity_rate": uniformity_rate,
}

DECADES, POINTS = "decades", "percentage points"


def _collapse(claim_id, title, source, np, lp) -> EmpiricalClaim:
    """Collapse without a predictor, against the linear predictor's run: alignment at least 10×
    smaller (margin 1 decade; one seed decides at 2 decades, i.e. 100×), and the uniformity at
    least √10× closer to 0 (margin 0.5 decade; one seed decides at 1 decade). Table 1: 6.6 and
    1.2 decades (BYOL), 6.7 and 1.3 (BYOL')."""
    name = np[0].upper()
    return EmpiricalClaim(
        claim_id,
        title,
        source,
        (
            Comparison(
                f"{name}'s alignment ≥ 10× below {lp[0].upper()}'s",
                "log10_align",
                np,
                lp,
                "less",
                -1.0,
                1.0,
                DECADES,
            ),
            Comparison(
                f"{name}'s uniformity ≥ √10× closer to 0 than {lp[0].upper()}'s",
                "log10_uniform_gap",
                np,
                lp,
                "less",
                -0.5,
                0.5,
                DECADES,
            ),
        ),
    )


def _beats(a, b) -> Comparison:
    """Higher linear accuracy; a difference of accuracies needs variance (no decisive distance)."""
    return Comparison(
        f"{a[0].upper()} above {b[0].upper()} (linear accuracy)",
        "accuracy",
        a,
        b,
        "greater",
        0.0,
        None,
        POINTS,
    )


def _same(a, b) -> Comparison:
    """ "No significant change": within ±2 points of linear accuracy, about twice the paper's
    ± of ~1 point; needs variance."""
    return Comparison(
        f"{a[0].upper()} and {b[0].upper()} within ±2 points (linear accuracy)",
        "accuracy",
        a,
        b,
        "within",
        2.0,
        None,
        POINTS,
    )


def _regularises(beta: float) -> Comparison:
    """RAFT-NP's alignment at least 10× BYOL'-NP's at the same β (one seed decides at 100×)."""
    return Comparison(
        f"β = {beta:g}: RAFT-NP's alignment ≥ 10× BYOL'-NP's",
        "log10_align",
        ("raft-np", beta),
        ("byol'-np", beta),
        "greater",
        1.0,
        1.0,
        DECADES,
    )


def _constant_rate(group) -> Comparison:
    """Uniformity falling at a constant rate: the last quarter's rate within 2× of the third
    quarter's (|log2| ≤ 1; one seed decides within √2, or beyond 2√2)."""
    return Comparison(
        f"{group[0].upper()}: uniformity falls at a constant rate (last two quarters)",
        "uniformity_rate",
        group,
        0.0,
        "within",
        1.0,
        0.5,
        "log2 of the rates' ratio",
    )


BYOL, NP, LP, LPI = ("byol", None), ("byol-np", None), ("byol-lp", None), ("byol-lpi", None)
CLAIMS = (
    _collapse("byol-np-collapses", "BYOL-NP collapses", "Section 3, Table 1, Figure 1", NP, LP),
    _collapse(
        "byolp-np-collapses",
        "BYOL'-NP collapses",
        "Section 4.1, Table 1",
        ("byol'-np", 1.0),
        ("byol'-lp", 1.0),
    ),
    EmpiricalClaim(
        "predictor-architecture",
        "The predictor's architecture makes no significant change",
        "Section 3, Table 1, Figure 1(c)",
        (_same(BYOL, LP), _same(BYOL, LPI)),
    ),
    EmpiricalClaim(
        "raft-beats-byolp",
        "RAFT beats BYOL' with a predictor",
        "Table 1, Section 4.2",
        (
            _beats(("raft", 1.0), ("byol'", 1.0)),
            _beats(("raft-lp", 1.0), ("byol'-lp", 1.0)),
            _beats(("tanraft-lp", 1.0), ("tanbyol'-lp", 1.0)),
        ),
    ),
    EmpiricalClaim(
        "raft-np-regularises",
        "RAFT-NP regularises the alignment where BYOL'-NP does not, increasingly with β",
        "Section 4.2, Table 3, Figure 4(a, b)",
        (
            *(_regularises(beta) for beta in (1.0, 10.0, 100.0)),
            # Growing with β: the largest β against the smallest; one seed decides at 0.5 decade.
            Comparison(
                "RAFT-NP's alignment grows with β (β = 100 against β = 1)",
                "log10_align",
                ("raft-np", 100.0),
                ("raft-np", 1.0),
                "greater",
                0.0,
                0.5,
                DECADES,
            ),
        ),
    ),
    EmpiricalClaim(
        "byol-lpi-recovers",
        "BYOL-LPI's loss falls to ~0 and recovers within 10–20 epochs",
        "Section 3, Figure 1(a)",
        (
            # Falls to ~0: at least 10× below BYOL-LP's (one seed decides at 10^1.5 ≈ 32×).
            Comparison(
                "BYOL-LPI's loss falls ≥ 10× below BYOL-LP's",
                "lpi_dip",
                LPI,
                0.0,
                "less",
                -1.0,
                0.5,
                DECADES,
                reference=LP,
            ),
            # Within 20 epochs of Appendix B, 7,800 steps (one seed decides at 15 or 25 epochs).
            Comparison(
                "BYOL-LPI's loss is back within 2× of BYOL-LP's within 20 epochs of 390 steps",
                "lpi_recovery",
                LPI,
                0.0,
                "less",
                20.0,
                5.0,
                "epochs of 390 steps",
                reference=LP,
            ),
        ),
    ),
    EmpiricalClaim(
        "linear-predictor-constant-rate",
        "With a linear predictor the uniformity improves at a constant rate",
        "Figure 1(b), Figure 4(c)",
        (_constant_rate(LP), _constant_rate(LPI), _constant_rate(("raft-lp", 1.0))),
    ),
)


@dataclass
class ClaimOutcome:
    claim: EmpiricalClaim
    verdict: str | None  # None: no test of the claim had its runs
    outcomes: list[verdicts.ComparisonOutcome]
    not_run: list[Comparison]


def assess(runs: dict, claims=CLAIMS) -> list[ClaimOutcome]:
    """Every claim on ``runs``, {group: {seed: run}}. A test whose groups were not run is left
    out of its claim (listed as not run)."""
    found = []
    for claim in claims:
        outcomes, not_run = [], []
        for test in claim.tests:
            values = _values(test, runs)
            if values is None:
                not_run.append(test)
            else:
                outcomes.append(verdicts.decide(test, *values))
        verdict = verdicts.combine(outcomes) if outcomes else None
        found.append(ClaimOutcome(claim, verdict, outcomes, not_run))
    return found


def _values(test: Comparison, runs: dict):
    statistic = STATISTICS[test.statistic]
    a, reference = runs.get(test.a, {}), runs.get(test.reference, {}) if test.reference else {}
    seeds = [s for s in sorted(a) if not test.reference or s in reference]
    if not seeds:
        return None
    values_a = [statistic(a[s], reference.get(s)) for s in seeds]
    if not isinstance(test.b, tuple):
        return values_a, test.b
    b = runs.get(test.b, {})
    return (values_a, [statistic(b[s]) for s in sorted(b)]) if b else None
