"""The checker of the Theorem 5.1 family: for one claim's conditions, the sympy relation of the
two losses, eq. 28 at random, edge and trajectory points, random and adversarial trajectories,
and the verdict by the decision rule. It returns evidence as facts (``wording`` writes them)."""

import math
from dataclasses import asdict, replace

import sympy
import torch

from theory.claims import Effort, Finding, fact
from theory.thm51 import rule
from theory.thm51.gradients import (
    JUDGEMENTS,
    edge_points,
    gaps_at,
    judge_gap,
    judged_point,
    mirrored_output_gap,
    trajectory_point,
)
from theory.thm51.relations import (
    at_teacher_equals_online,
    at_the_point,
    online_gradients,
    symbolic_relation,
    symbolic_tangent_noop,
)
from theory.thm51.search import Conditions, minimal_counterexample, random_run_count, sample, search
from theory.thm51.setups import Outcome, Setup, evaluate, parameter_count, run


def relation_fact(setup: Setup) -> dict:
    """The exact relation between the two losses (or, for a Tan* pair, between their gradients)."""
    first, second = setup.pair.split("/")
    if second.startswith("tan"):
        difference = symbolic_tangent_noop()
        return fact(
            "tangent-noop-gradient",
            difference=[str(x) for x in difference],
            zero=difference == sympy.zeros(3, 1),
        )
    relation, online = symbolic_relation(setup)
    held = any(s.name.startswith("Lambda_") for s in relation.free_symbols)
    return fact(
        "loss-relation",
        first=first,
        second=second,
        mirrored=setup.mirrored,
        sphere=setup.sphere,
        tangential=setup.tangential,
        relation=sympy.sstr(relation),
        online=[str(s) for s in online],
        at_the_point=sympy.sstr(at_the_point(setup, relation)) if online and held else None,
    )


def judged_points(conditions: Conditions, effort: Effort, rng):
    """Eq. 28 at random points (random setups, teacher distances, predictor scales) and at
    the edge points of two setups per predictor kind (times effort.scale)."""
    sampled = []
    for i in range(8 * effort.scale):
        noise = float(10 ** rng.uniform(-3, 0.5))
        point = dict(
            teacher_noise=0.0 if conditions.at_fixed_point else noise,
            predictor_scale=float(10 ** rng.uniform(-1, 1)),
        )
        sampled.append(judged_point(sample(conditions, i, rng, thorough=False), point))
    searched = []
    for i, predictor in enumerate(conditions.predictors * 2 * effort.scale):
        setup = replace(sample(conditions, 100 + i, rng, thorough=False), predictor=predictor)
        searched += [
            judged_point(setup, point) for point in edge_points(setup, conditions.at_fixed_point)
        ]
    return sampled, searched


def judged_probe(outcome: Outcome):
    """The lockstep probe's gaps (eq. 28 at the first side's exact state, every step)."""
    setup = outcome.setup

    def in_float32(step):
        def gaps():
            source, x1, x2 = trajectory_point(setup, step)
            return gaps_at(source, setup, x1, x2, dtype=torch.float32)

        return gaps

    return [(g, judge_gap(g, in_float32(k))) for k, g in enumerate(outcome.trace.gradients, 1)]


def gradient_fact(where: str, judged, at_fixed_point: bool = False) -> dict:
    counted = [gap for gap, judgement in judged if judgement != "round-off"]
    finite = [gap for gap, _ in judged if math.isfinite(gap.ratio)]
    return fact(
        "gradient-identities",
        where=where,
        at_fixed_point=at_fixed_point,
        points=len(judged),
        theta=max((g.theta for g in finite), default=0),
        predictor=max((g.predictor for g in finite), default=0),
        ratio=max((g.ratio for g in counted), default=0),
        judgements={k: sum(j == k for _, j in judged) for k in JUDGEMENTS},
    )


def trajectory_fact(which: str, outcomes: list[Outcome]) -> dict:
    roundoff = [r for o in outcomes for r in o.assessment.roundoff.values()]
    values = dict(
        which=which,
        runs=len(outcomes),
        encoders=sorted({o.setup.encoder for o in outcomes}),
        dims=sorted({o.setup.dim for o in outcomes}),
        taus=sorted({o.setup.tau for o in outcomes}),
        equal_weights=sum(o.setup.alpha == o.setup.beta for o in outcomes),
        fully_decisive=sum(o.assessment.fully_decisive for o in outcomes),
        decisive_steps=sum(o.assessment.decisive for o in outcomes),
        deviation=max(o.assessment.worst_deviation for o in outcomes),
        envelope=max(o.assessment.worst_envelope for o in outcomes),
        ratio=max(o.assessment.worst_ratio for o in outcomes),
        identical=sum(o.trace.bitwise_identical and o.assessment.fully_decisive for o in outcomes),
        roundoff_steps=len(roundoff),
        roundoff_growth=min(roundoff) if roundoff else None,
        factor=rule.FACTOR,
    )
    if which == "adversarial":
        hardest = max(outcomes, key=lambda o: o.pressure)
        values.update(
            hardest=asdict(hardest.setup),
            hardest_deviation=hardest.assessment.worst_deviation,
            hardest_envelope=hardest.assessment.worst_envelope,
        )
    return fact("trajectories", **values)


# The pairs whose loss relation is a multiple of β (L_RAFT(θ, −W) = L_BYOL'(θ, W) − 4β).
WEIGHTED_PAIRS = ("byol'/raft", "byol'/raft-frozen")


def loss_facts(outcomes: list[Outcome]) -> list[dict]:
    """The measured loss relation L_second − L_first over every decisive step (divided by β
    for BYOL'/RAFT), per pair and form, beside the sympy relation."""
    groups: dict[tuple[str, bool], list[float]] = {}
    for o in outcomes:
        if o.setup.pair.split("/")[1].startswith("tan"):
            continue  # a plain objective and its Tan* form differ in value, not in gradient
        scale = o.setup.beta if o.setup.pair in WEIGHTED_PAIRS else 1.0
        values = groups.setdefault((o.setup.pair, o.setup.tangential), [])
        for k in range(o.assessment.decisive):
            difference = (o.trace.second_loss[k] - o.trace.first_loss[k]) / scale
            if math.isfinite(difference):
                values.append(difference)
    return [
        fact(
            "loss-measured",
            pair=pair,
            tangential=tangential,
            per_beta=pair in WEIGHTED_PAIRS,
            steps=len(values),
            low=min(values),
            high=max(values),
        )
        for (pair, tangential), values in groups.items()
        if values
    ]


def most_amplified(outcomes: list[Outcome]) -> Outcome | None:
    """The fully decisive, unseparated run whose trajectory amplifies round-off most."""
    decided = [
        o for o in outcomes if o.assessment.fully_decisive and o.assessment.separation is None
    ]
    return max(decided, key=lambda o: o.pressure) if decided else None


def precision_fact(hardest: Outcome) -> dict:
    """Precision scaling of a run: its largest deviation in float64 and in float32."""
    float32 = run(hardest.setup, dtype=torch.float32, controls=()).deviation
    return fact(
        "precision-scaling",
        setup=asdict(hardest.setup),
        float64=hardest.assessment.worst_deviation,
        float32=max((d for d in float32 if math.isfinite(d)), default=math.nan),
        expected=rule.PRECISION_RATIO,
    )


def trace_fact(which: str, outcome: Outcome) -> dict:
    """A run's deviation and control per step (the HTML report plots them)."""
    return fact(
        "trace",
        which=which,
        setup=asdict(outcome.setup),
        deviation=outcome.trace.deviation,
        envelope=outcome.trace.envelope,
        decisive=outcome.assessment.decisive,
    )


def separation_fact(separated: list[Outcome], total: int, found: Outcome, example: dict) -> dict:
    return fact(
        "separation",
        separated=len(separated),
        runs=total,
        step=found.assessment.separation,
        found=asdict(found.setup),
        example=example,
    )


def fixed_point_fact(setup: Setup) -> dict:
    """∇ of the loss difference in the online outputs, and whether it vanishes where each
    teacher output equals its online output (ξ = θ without a predictor)."""

    def words(combination):
        terms = [f"({sympy.sstr(c)})·{name}" for name, c in combination.items() if c != 0]
        return " + ".join(terms) or "0"

    gradients = online_gradients(setup)
    return fact(
        "fixed-point-gradient",
        sphere=setup.sphere,
        predictor=setup.predictor,
        gradients={p: words(c) for p, c in gradients.items()},
        vanishes=all(
            c == 0
            for p in gradients
            for c in at_teacher_equals_online(setup, gradients[p]).values()
        ),
    )


def _symbolic_facts(conditions: Conditions, first_setup: Setup) -> list[dict]:
    facts = [relation_fact(first_setup)]
    if conditions.at_fixed_point:
        facts.append(fixed_point_fact(first_setup))
    mirrored = [p for p in conditions.predictors if replace(first_setup, predictor=p).mirrored]
    if mirrored:
        gap = max(mirrored_output_gap(replace(first_setup, predictor=p)) for p in mirrored)
        facts.append(fact("predictor-map", gap=gap, predictors=mirrored))
    return facts


def _inconclusive(gaps, outcomes: list[Outcome], random_runs: list[Outcome]) -> dict | None:
    breaks = sum(j == "breaks" for _, j in gaps)
    unresolved = sum(j == "unresolved" for _, j in gaps) + sum(
        o.assessment.unresolved is not None for o in outcomes
    )
    undecided = (
        sum(o.assessment.decisive >= rule.MIN_STEPS for o in random_runs) < len(random_runs) / 2
    )
    if breaks or unresolved or undecided:
        return fact(
            "inconclusive",
            breaks=breaks,
            unresolved=unresolved,
            undecided=undecided,
            min_steps=rule.MIN_STEPS,
        )
    return None


def check(effort: Effort, conditions: Conditions) -> Finding:
    rng = effort.rng()
    evidence = _symbolic_facts(conditions, sample(conditions, 0, rng, thorough=False))
    sampled_gaps, searched_gaps = judged_points(conditions, effort, rng)
    random_runs = [
        evaluate(sample(conditions, i, rng, effort.thorough), probe_gradients=(i == 0))
        for i in range(random_run_count(conditions, effort))
    ]
    probed = judged_probe(random_runs[0])
    fixed = conditions.at_fixed_point
    evidence += [
        gradient_fact("random", sampled_gaps, fixed),
        gradient_fact("edge", searched_gaps, fixed),
        gradient_fact("trajectory", probed, fixed),
        trajectory_fact("random", random_runs),
    ]
    searched_runs = (
        [] if any(o.assessment.separation for o in random_runs) else search(random_runs, effort)
    )
    if searched_runs:
        evidence.append(trajectory_fact("adversarial", searched_runs))
    everything = random_runs + searched_runs
    evidence += loss_facts(everything)
    evidence.append(
        fact(
            "rule",
            decisive=rule.DECISIVE,
            factor=rule.FACTOR,
            floor=rule.FLOOR,
            confirm=rule.CONFIRM,
        )
    )
    gaps = sampled_gaps + searched_gaps + probed
    common = dict(
        worst=max(
            [o.assessment.worst_ratio for o in everything]
            + [g.ratio for g, j in gaps if j != "round-off"]
        ),
        tolerance=rule.FACTOR,
        sampled=len(random_runs) + len(sampled_gaps),
        searched=len(searched_runs) + len(searched_gaps),
    )
    separated = [o for o in everything if o.assessment.separation is not None]
    if separated:
        found = min(separated, key=lambda o: (o.assessment.separation, parameter_count(o.setup)))
        example = minimal_counterexample(found)
        evidence += [
            separation_fact(separated, len(everything), found, example),
            trace_fact("first separating", found),
        ]
        return Finding("fails", evidence=evidence, counterexample=example, **common)
    hardest = most_amplified(everything)
    if hardest is not None:
        evidence += [precision_fact(hardest), trace_fact("most amplified", hardest)]
    undecided = _inconclusive(gaps, everything, random_runs)
    if undecided:
        evidence.append(undecided)
        return Finding("inconclusive", evidence=evidence, **common)
    return Finding("holds", evidence=evidence, **common)
