"""A verdict for each empirical claim of the paper, from the runs of a sweep, by one stated
rule over seeds (RULE below, repeated in every verdict report and in docs/reproduce.md).

A claim is a list of comparisons, each of a statistic of every run (one number per seed) between
two groups of runs, or against a constant: "greater" (the effect Δ = mean(A) − mean(B) exceeds
the margin m), "less" (Δ < m), "within" (|Δ| ≤ m). A claim is supported when all its
comparisons are, not supported when one is not, and otherwise "too few seeds to tell" (or "too
short to tell" when a comparison needs a time or a measurement the runs do not have, or
"inconclusive: runs missing" when a comparison's runs are not in the sweep).
"""

import math
import statistics
from dataclasses import dataclass, field

from scipy import stats as scipy_stats

SIGNIFICANCE = (
    0.05  # one-sided level; an equivalence ("within") is two one-sided tests at this level
)
MIN_SEEDS = 2  # per group: Welch's interval needs a variance in each group
PAPER_EPOCH_STEPS = 50_000 // 128  # an epoch of Appendix B: 390 full batches of CIFAR10

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"
TOO_FEW, TOO_SHORT = "too few seeds to tell", "too short to tell"
RUNS_MISSING = "inconclusive: runs missing"  # a comparison's runs were not in the sweep

RULE = (
    "Each comparison is of one number per run (seed) between two groups of runs, or with a "
    f"constant. With at least {MIN_SEEDS} seeds per group: Welch's t-interval of the effect Δ "
    f"= mean(A) − mean(B) at one-sided level α = {SIGNIFICANCE} (a one-sample interval against a "
    'constant); a claim "Δ > m" is supported when the interval\'s lower bound exceeds m and '
    'not supported when its upper bound is below m; "|Δ| ≤ m" (no change) is supported when '
    "the interval lies inside (−m, m) (two one-sided tests) and not supported when it lies "
    "outside [−m, m]; anything else is too few seeds to tell. The p-value of the one-sided "
    "test and Hedges' g are reported beside. With one seed in a group there is no variance: "
    "only a comparison with a stated decisive distance d (effects of orders of magnitude) is decided, "
    "supported when the observed Δ clears the margin by d and not supported when it misses it "
    "by d; any other is too few seeds to tell. A claim is supported when all its "
    "comparisons are, not supported when any is not, and inconclusive when runs a comparison "
    "needs are missing."
)

# (variant, β > 0 or None), as training.reproduction.published.Row.group
Group = tuple[str, float | None]


@dataclass(frozen=True)
class Comparison:
    """One comparison: ``statistic`` of each run of ``a`` against the same-seed run of
    ``reference`` (when the statistic is paired) minus ``b``'s (a group, or a constant)."""

    name: str
    statistic: str  # a key of STATISTICS
    a: Group
    b: Group | float
    kind: str  # "greater", "less" or "within"
    margin: float
    decisive: float | None  # single-seed decisive distance; None: the test needs variance
    units: str
    reference: Group | None = None
    reason: str = ""  # why this margin (and decisive distance): the paper's words or numbers


@dataclass(frozen=True)
class Quote:
    """The paper's own words behind a claim (verbatim up to whitespace) and where they are."""

    where: str
    text: str


@dataclass(frozen=True)
class EmpiricalClaim:
    """A statement of the paper, ``paper_text`` its words, decided by ``tests``; ``note`` what
    the reader must know besides (a disagreement within the paper, a reading)."""

    id: str
    title: str
    source: str
    tests: tuple[Comparison, ...]
    paper_text: Quote | None = None
    note: str = ""


@dataclass
class ComparisonOutcome:
    """What a comparison found: the numbers, the way it was decided, and the verdict."""

    test: Comparison
    verdict: str
    values_a: list[float] = field(default_factory=list)
    values_b: list[float] = field(default_factory=list)
    effect: float | None = None
    interval: tuple[float, float] | None = None
    p: float | None = None
    hedges_g: float | None = None
    how: str = ""


def decide(test: Comparison, a: list[float], b: list[float] | float) -> ComparisonOutcome:
    """The verdict of comparison ``test`` on the per-seed values ``a`` and ``b`` (or a constant)."""
    constant = not isinstance(b, list)
    values_b = [] if constant else list(b)
    outcome = ComparisonOutcome(test, TOO_FEW, list(a), values_b)
    if not a or (not constant and not b):
        outcome.how = "no runs"
        return outcome
    if any(math.isnan(v) for v in a + values_b):
        outcome.verdict, outcome.how = (
            TOO_SHORT,
            "a run did not reach or record what the comparison measures",
        )
        return outcome
    outcome.effect = statistics.fmean(a) - (b if constant else statistics.fmean(b))
    if math.isinf(outcome.effect):
        outcome.verdict = _point_verdict(test, outcome.effect, 0.0)
        outcome.how = "an infinite statistic decides by its sign"
    elif len(a) >= MIN_SEEDS and (constant or len(b) >= MIN_SEEDS):
        _by_interval(outcome, a, None if constant else b)
    elif test.decisive is None:
        outcome.how = f"fewer than {MIN_SEEDS} seeds, and the comparison needs variance"
    else:
        outcome.verdict = _point_verdict(test, outcome.effect, test.decisive)
        outcome.how = f"one seed: decided if Δ clears the margin by the decisive {test.decisive:g}"
    return outcome


def _by_interval(outcome: ComparisonOutcome, a: list[float], b: list[float] | None) -> None:
    test, effect = outcome.test, outcome.effect
    variance_a = statistics.variance(a) / len(a)
    variance_b = 0.0 if b is None else statistics.variance(b) / len(b)
    se = math.sqrt(variance_a + variance_b)
    df = _welch_df(variance_a, variance_b, len(a), None if b is None else len(b))
    t = float(scipy_stats.t.ppf(1 - SIGNIFICANCE, df)) if se > 0 else 0.0
    outcome.interval = (effect - t * se, effect + t * se)
    outcome.verdict = _interval_verdict(test, *outcome.interval)
    outcome.p = _p_value(test, effect, se, df)
    outcome.hedges_g = _hedges_g(a, b, effect)
    outcome.how = f"Welch's interval at one-sided α = {SIGNIFICANCE} (df {df:.1f})"


def _interval_verdict(test: Comparison, low: float, high: float) -> str:
    m = test.margin
    if test.kind == "greater":
        return SUPPORTED if low > m else NOT_SUPPORTED if high < m else TOO_FEW
    if test.kind == "less":
        return SUPPORTED if high < m else NOT_SUPPORTED if low > m else TOO_FEW
    return (
        SUPPORTED if -m < low and high < m else NOT_SUPPORTED if low > m or high < -m else TOO_FEW
    )


def _point_verdict(test: Comparison, effect: float, d: float) -> str:
    """One seed: the observed effect must clear the margin by the decisive distance d."""
    m = test.margin
    if test.kind == "greater":
        return SUPPORTED if effect - m >= d else NOT_SUPPORTED if m - effect >= d else TOO_FEW
    if test.kind == "less":
        return SUPPORTED if m - effect >= d else NOT_SUPPORTED if effect - m >= d else TOO_FEW
    size = abs(effect)
    return SUPPORTED if size <= m - d else NOT_SUPPORTED if size >= m + d else TOO_FEW


def _welch_df(va: float, vb: float, na: int, nb: int | None) -> float:
    """Welch–Satterthwaite degrees of freedom (n − 1 against a constant)."""
    if nb is None:
        return na - 1
    if va + vb == 0:
        return na + nb - 2
    denominator = (va**2 / (na - 1) if na > 1 else 0) + (vb**2 / (nb - 1) if nb > 1 else 0)
    return (va + vb) ** 2 / denominator


def _p_value(test: Comparison, effect: float, se: float, df: float) -> float | None:
    """The one-sided p-value of the test's null hypothesis (the larger of the two for
    "within")."""
    if se == 0:
        return None
    above = lambda m: scipy_stats.t.sf((effect - m) / se, df)  # P(Δ this large | Δ = m)
    if test.kind == "greater":
        return float(above(test.margin))
    if test.kind == "less":
        return float(1 - above(test.margin))
    return float(max(1 - above(test.margin), above(-test.margin)))


def _hedges_g(a: list[float], b: list[float] | None, effect: float) -> float | None:
    """The effect in units of the pooled standard deviation, with Hedges' small-sample
    correction (against a constant: in units of A's standard deviation)."""
    if b is None:
        sd, n = statistics.stdev(a), len(a)
    else:
        n = len(a) + len(b)
        pooled = (len(a) - 1) * statistics.variance(a) + (len(b) - 1) * statistics.variance(b)
        sd = math.sqrt(pooled / (n - 2))
    if sd == 0:
        return None
    correction = 1 - 3 / (4 * n - 9) if 4 * n > 9 else 1.0
    return effect / sd * correction


def combine(outcomes: list[ComparisonOutcome], missing: int = 0) -> str:
    """A claim's verdict from its comparisons' outcomes, ``missing`` of them not run: one not
    supported decides; otherwise a missing comparison leaves the claim inconclusive."""
    verdicts = [o.verdict for o in outcomes]
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    if missing:
        return RUNS_MISSING
    if verdicts and all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    return TOO_SHORT if TOO_SHORT in verdicts else TOO_FEW
