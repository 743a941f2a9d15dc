"""The numbers the empirical claims compare: one statistic per run (seed), read from its
result.json (``run.result``), metrics.jsonl (``run.history``) or, for Figure 5, the
representations the sweep saves beside it (``run.folder``). A statistic the run did not record
is NaN, which the rule reads as "too short to tell" (the run lacks what the claim measures).

Paired statistics (``..._minus_reference``) take the same-seed run of a reference group.
"""

import json
import math
import statistics

import numpy as np

from training.loop import runner
from training.loop.early import EARLY
from training.reproduction import sweep, verdicts
from training.reproduction.figures import SPREAD_BINS, circle_angles, spread

FLOOR = 1e-15  # an alignment or uniformity of exactly 0 (float32 underflow) counts as this
RECOVERED = 0.5  # BYOL-LPI has recovered when its loss is back within 2× of BYOL-LP's
QUARTER_POINTS = 3  # epochs needed in each of the last two quarters to fit a rate
LAST = 10  # Table 1 averages the last 10 epochs
# L_align (eq. 2) of two independent uniformly random unit directions: E‖u − v‖² = 2 − 2E⟨u, v⟩
# = 2. The paper's "every data is randomly projected" (Table 3's RAFT-NP at β = −10, −100).
INDEPENDENT_ALIGN = 2.0


def log10_align(run, _reference=None) -> float:
    """log10 of L_align(q_w∘f_θ) averaged over the last 10 epochs (as Table 1)."""
    return math.log10(max(run.result["last_10_epochs"]["align"], FLOOR))


def log10_align_over_independent(run, _reference=None) -> float:
    """log10 of L_align(q_w∘f_θ) (last 10 epochs) over its value for independent directions, 2:
    0 when the two views of an image are as far apart as two unrelated images."""
    return math.log10(max(run.result["last_10_epochs"]["align"], FLOOR) / INDEPENDENT_ALIGN)


def log10_uniform_gap(run, _reference=None) -> float:
    """log10 of −L_uniform(f_θ) over the last 10 epochs: how far from 0 (collapse) it is."""
    return math.log10(max(-run.result["last_10_epochs"]["uniform"], FLOOR))


def uniform(run, _reference=None) -> float:
    """L_uniform(f_θ) (eq. 3, t = 2) averaged over the last 10 epochs, as Table 1 prints it."""
    return run.result["last_10_epochs"]["uniform"]


def accuracy(run, _reference=None) -> float:
    """Linear evaluation in percent, averaged over its last 10 epochs as the authors print it
    (the final epoch's for runs that did not record that)."""
    result = run.result
    return 100 * result.get("linear_acc_last10", result.get("linear_acc"))


def w_identity_distance(run, _reference=None) -> float:
    """‖W − I‖_F/√D of the linear predictor, averaged over the last 10 epochs (0 at W = I; NaN
    when the run did not record it)."""
    values = [m.get("w_identity_distance") for m in run.history[1:][-LAST:]]
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else math.nan


def _early_losses(run) -> dict[int, float]:
    """{step: training loss} of every step the run logged finely (early.jsonl, --early-epochs);
    empty when it did not."""
    path = getattr(run, "folder", None)
    if path is None or not (path / EARLY).is_file():
        return {}
    lines = (json.loads(text) for text in (path / EARLY).read_text("utf-8").splitlines())
    return {m["step"]: m["loss"] for m in lines if m.get("loss") is not None}


def _block_losses(run) -> dict[int, float]:
    """{step: the mean training loss of the LOSS_BLOCK steps ending there}, from every epoch's
    ``loss_blocks`` in metrics.jsonl; empty for runs that did not record them."""
    losses = {}
    for m in run.history:
        blocks = m.get("loss_blocks") or []
        for j, value in enumerate(blocks):
            if value is not None:
                losses[m["step"] - (len(blocks) - 1 - j) * runner.LOSS_BLOCK] = value
    return losses


def _loss_ratios(run, reference) -> list[tuple[int, float]]:
    """(step, loss of ``run`` / loss of ``reference``), in the order of the steps: at every
    epoch ≥ 1 both trained (epoch means), at every block of LOSS_BLOCK steps both recorded
    (``loss_blocks``), and at every step both logged finely (one batch's loss; the same batch
    and views for two runs of one seed)."""
    theirs = {m["epoch"]: m["loss"] for m in reference.history if m.get("loss")}
    ratios = [
        (m["step"], m["loss"] / theirs[m["epoch"]])
        for m in run.history
        if m.get("loss") is not None and theirs.get(m["epoch"])
    ]
    for fine in (_early_losses, _block_losses):
        mine, theirs_fine = fine(run), fine(reference)
        ratios += [(s, loss / theirs_fine[s]) for s, loss in mine.items() if theirs_fine.get(s)]
    return sorted(ratios, key=lambda pair: pair[0])


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


def _uniform_points(run) -> list[tuple[int, float]]:
    return [(m["step"], m["uniform"]) for m in run.history[1:] if m.get("uniform") is not None]


def uniformity_rate(run, _reference=None) -> float:
    """log2 of the ratio of the rates (least-squares slopes against the step) at which
    L_uniform(f_θ) falls in the last quarter of the run and in the quarter before; +inf when
    it does not fall in either; NaN when a quarter has fewer than QUARTER_POINTS epochs."""
    points = _uniform_points(run)
    n = len(points)
    third, fourth = points[n // 2 : 3 * n // 4], points[3 * n // 4 :]
    if min(len(third), len(fourth)) < QUARTER_POINTS:
        return math.nan
    slopes = [statistics.linear_regression(*zip(*quarter)).slope for quarter in (third, fourth)]
    if max(slopes) >= 0:
        return math.inf
    return math.log2(slopes[1] / slopes[0])


def uniform_slope(run, _reference=None) -> float:
    """The least-squares slope of L_uniform(f_θ) against the step over the second half of the
    run, per 1,000 steps (negative: still improving); NaN with fewer than 2·QUARTER_POINTS
    epochs there."""
    points = _uniform_points(run)
    half = points[len(points) // 2 :]
    if len(half) < 2 * QUARTER_POINTS:
        return math.nan
    return 1000 * statistics.linear_regression(*zip(*half)).slope


def circle_spread(run, _reference=None) -> float:
    """How evenly Figure 5's circle holds the probe images (``figures.spread`` of
    ``figures.circle_angles``): 1 an even spread, 0 every image at one place. NaN when the
    run's representations were not saved."""
    path = getattr(run, "folder", None)
    if path is None or not (path / sweep.REPRESENTATIONS).is_file():
        return math.nan
    return spread(circle_angles(np.load(path / sweep.REPRESENTATIONS)["z"]), SPREAD_BINS)


STATISTICS = {
    "log10_align": log10_align,
    "log10_align_over_independent": log10_align_over_independent,
    "log10_uniform_gap": log10_uniform_gap,
    "uniform": uniform,
    "accuracy": accuracy,
    "w_identity_distance": w_identity_distance,
    "lpi_dip": lpi_dip,
    "lpi_recovery": lpi_recovery,
    "uniformity_rate": uniformity_rate,
    "uniform_slope": uniform_slope,
    "circle_spread": circle_spread,
}


def _minus_reference(statistic):
    return lambda run, reference: statistic(run) - statistic(reference)


for _name in ("log10_align", "uniform", "accuracy"):  # same seed, paired
    STATISTICS[f"{_name}_minus_reference"] = _minus_reference(STATISTICS[_name])
