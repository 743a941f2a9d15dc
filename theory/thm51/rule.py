"""The decision rule: when are two float64 trajectories the same, and when have they separated?

Float64 round-off is amplified along a training trajectory, so "deviation below a fixed
tolerance" is no criterion. Every comparison runs beside controls (each side again from its
initialisation moved by one ulp, ``engine.CONTROLS``): how far a control drifts from its side is
that trajectory's round-off amplification, its *envelope*. ``docs/decision-rule.md`` explains
the rule and gives the measured ratios behind its constants.
"""

import math
from dataclasses import dataclass, field

# A step k is *decisive* while every earlier step was and the round-off envelope (the largest
# control deviation) is finite and ≤ DECISIVE: past that the float64 trajectory no longer
# reproduces itself to 1e-8, so it cannot show whether two trajectories are the same.
DECISIVE = 1e-8
# At a decisive step the deviation is an *excess* when
#     deviation > FACTOR · max(envelope, FLOOR).
# The comparison and the controls are different samples of the same kind of round-off growth
# (every run is mathematically its side's trajectory), so their ratio stays near 1; the
# adversarial search pushes it highest where one side's gradient is a small tangential difference
# of large radial terms (τ = 0 with plain BYOL). An excess is not yet a separation (precision
# scaling decides, below). FACTOR = 100 leaves a wide margin over those ratios, while a real
# break of the correspondence (a gradient gap of relative size ≳ 1e-3, an O(β) term) moves the
# parameters by ≳ lr·1e-3 ≫ 100·1e-15 at its first step.
FACTOR = 100.0
# A deviation of a few ulps (2⁻⁵² ≈ 2.2e-16 relative) is rounding of the last update itself,
# so the envelope is never taken below FLOOR ≈ 4.5 ulps.
FLOOR = 1e-15
# Precision scaling confirms an excess. The controls can under-estimate the comparison's
# round-off when their rounding correlates with the run they control (a one-ulp nudge often
# rounds the same way). But round-off scales with the unit round-off and drift does not: the
# same run in float32 (u = 2⁻²⁴) deviates about 2⁵³⁻²⁴ = 2²⁹ times more when the excess is
# round-off, about as much when it is drift. An excess is a *separation* when float32
# reproduces it within CONFIRM = 2^14.5, the geometric midpoint of 1 and 2²⁹.
PRECISION_RATIO = 2.0**29
CONFIRM = math.sqrt(PRECISION_RATIO)
# A claim holds only if at least half its random runs are decisive for this many steps.
MIN_STEPS = 50


def threshold(envelope: float) -> float:
    return FACTOR * max(envelope, FLOOR)


def excess(deviation: float, envelope: float) -> bool:
    """Whether a deviation exceeds the round-off threshold (a non-finite one does)."""
    return not deviation <= threshold(envelope)


def decisive(envelope: float) -> bool:
    return math.isfinite(envelope) and envelope <= DECISIVE


def stop_when_settled(k: int, deviation: float, envelope: float) -> bool:
    """Stop a run at its first excess or when it stops being decisive."""
    return not decisive(envelope) or excess(deviation, envelope)


def stop_when_undecided(k: int, deviation: float, envelope: float) -> bool:
    return not decisive(envelope)


def scales_like_drift(float64: float, float32: float) -> bool | None:
    """True when the float32 value reproduces the float64 excess (drift), False when it is
    larger by more than CONFIRM (round-off), None when float32 cannot tell (one of the two
    is finite and the other not)."""
    if not math.isfinite(float64) or not math.isfinite(float32):
        return True if not math.isfinite(float64) and not math.isfinite(float32) else None
    return float32 <= CONFIRM * float64


@dataclass
class GradientGap:
    """Eq. 28 at one point: the relative gaps of eq. 43 (θ) and eq. 53 (predictor), and the
    larger of the two objectives' own gradient gaps when the point moves by one ulp (the
    round-off control)."""

    theta: float
    predictor: float
    control_theta: float
    control_predictor: float

    @property
    def ratio(self) -> float:
        """The larger gap over its control (never taken below FLOOR); ∞ when not finite."""
        worst = 0.0
        for gap, control in (
            (self.theta, self.control_theta),
            (self.predictor, self.control_predictor),
        ):
            worst = max(worst, gap / max(control, FLOOR) if math.isfinite(gap) else math.inf)
        return worst


@dataclass
class Assessment:
    """A trace judged by the rule. ``roundoff`` maps the steps whose excess precision scaling
    showed to be round-off to their float32/float64 deviation ratio; ``unresolved`` is a step
    whose excess neither precision could settle (decisive steps end before it)."""

    steps: int
    decisive: int
    separation: int | None
    worst_ratio: float
    worst_deviation: float
    worst_envelope: float
    roundoff: dict[int, float] = field(default_factory=dict)
    unresolved: int | None = None

    @property
    def fully_decisive(self) -> bool:
        return self.decisive == self.steps


def assess(
    trace,
    steps: int | None = None,
    roundoff: dict[int, float] | None = None,
    unresolved: int | None = None,
) -> Assessment:
    """Judge a trace (``engine.Trace``) of a run meant to last ``steps`` steps (default: as long
    as it ran): the first decisive excess not in ``roundoff`` is the separation; the worst ratio
    leaves the round-off steps out."""
    roundoff = roundoff or {}
    count, separation, ratio, worst, envelope_max = 0, None, 0.0, 0.0, 0.0
    for k, (deviation, envelope) in enumerate(zip(trace.deviation, trace.envelope), start=1):
        if not decisive(envelope) or k == unresolved:
            break
        count = k
        worst = max(worst, deviation if math.isfinite(deviation) else math.inf)
        envelope_max = max(envelope_max, envelope)
        if k in roundoff:
            continue
        ratio = max(
            ratio, deviation / max(envelope, FLOOR) if math.isfinite(deviation) else math.inf
        )
        if excess(deviation, envelope):
            separation = k
            break
    return Assessment(
        steps or trace.steps,
        count,
        separation,
        ratio,
        worst,
        envelope_max,
        dict(roundoff),
        unresolved,
    )


def settle(trace, steps: int, precision_scaling) -> Assessment:
    """The trace judged with each decisive excess settled by precision scaling:
    ``precision_scaling(k, deviation)`` returns (``scales_like_drift``'s answer, the growth of
    the deviation in the other precision) for the excess at step k. Round-off excesses are set
    aside; the first drift, or the first excess precision scaling cannot settle, ends it."""
    roundoff, unresolved = {}, None
    for k, (deviation, envelope) in enumerate(zip(trace.deviation, trace.envelope), start=1):
        if not decisive(envelope):
            break
        if excess(deviation, envelope):
            drift, growth = precision_scaling(k, deviation)
            if drift is None:
                unresolved = k
            if drift is not False:
                break
            roundoff[k] = growth
    return assess(trace, steps, roundoff, unresolved)
