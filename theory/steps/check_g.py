"""The checker of ``appG-steps``: every plan of ``theory.steps.appG`` decided by its sympy
results, its vector statements searched adversarially, its residuals at random and edge network
points, whole-network gradient identities (``theory.thm51.judged_point``), SGD trajectories, and
for the steps wrong as written an exact counterexample."""

import math

import numpy as np

from theory.claims import Effort, Finding, fact
from theory.steps import exact, points, updates
from theory.steps.appG import PLANS, TOLERANCE, Plan
from theory.steps.network import residuals, side
from theory.steps.records import Residuals, add_searches, finding, lemma_searches, symbolic
from theory.steps.status import Record
from theory.thm51 import rule
from theory.thm51.gradients import edge_points as whole_edge_points
from theory.thm51.gradients import judged_point
from theory.thm51.setups import Setup

RANDOM_POINTS = 8
TRAJECTORY_STEPS = 10


def network_residuals(effort: Effort, rng: np.random.Generator) -> tuple[Residuals, float]:
    """Every residual at random and edge points (one SGD step of learning rate log-uniform in
    [1e-3, 1] at random points, 1 at edge points), and eq. 43's gap at the first random
    point had RAFT's teacher differed."""
    seen = Residuals()
    randoms = points.random_points(rng, RANDOM_POINTS * effort.scale)
    for phase, batch in (("random", randoms), ("edge", points.edge_points(rng))):
        for p in batch:
            prime, plain = side(p, 1), side(p, -1)
            lr = float(10 ** rng.uniform(-3, 0)) if phase == "random" else 1.0
            seen.add(phase, residuals(prime, plain) | updates.step_residuals(p, prime, plain, lr))
    first = randoms[0]
    return seen, updates.teacher_gap(first, first.t2 + 0.5 * first.t2.norm())


def whole_network(effort: Effort, rng: np.random.Generator) -> tuple[Residuals, dict]:
    """Eq. 28 (43 and 53) on whole networks by ``theory.thm51.judged_point``: the symmetrised
    BYOL'/RAFT of Definition 4.2 with the tangential form, random points for a linear and an MLP
    encoder, and ``thm51``'s edge points (teacher equal or far, predictor tiny or huge, W = ±I,
    ⟨Wz, z⟩ ≈ 0) for the MLP."""
    seen, judgements = Residuals(), {}
    for encoder in ("linear", "mlp"):
        setup = Setup(encoder=encoder, inputs=3, width=6, dim=3, seed=int(rng.integers(2**31)))
        sampled = [
            dict(
                teacher_noise=float(10 ** rng.uniform(-3, 0.5)),
                predictor_scale=float(10 ** rng.uniform(-1, 1)),
            )
            for _ in range(2 * effort.scale)
        ]
        edges = whole_edge_points(setup) if encoder == "mlp" else []
        for phase, where in (("random", sampled), ("edge", edges)):
            for point in where:
                gap, judgement = judged_point(setup, point)
                judgements[judgement] = judgements.get(judgement, 0) + 1
                seen.add(phase, {"theta": gap.theta, "predictor": gap.predictor})
    return seen, judgements


def trajectories(effort: Effort, rng: np.random.Generator) -> tuple[Residuals, dict]:
    """Eq. 56 at every k: lockstep runs (``updates.trajectory``), random ones (τ uniform in
    [0, 1), learning rate log-uniform in [1e-2, 0.5]) and edge ones (τ = 0: the teacher is the
    last θ; τ = 0.999 with learning rate 1; D = 1). A run counts as a violation (∞) if the rule
    finds a separation, or if float64 stops deciding it before its last step."""
    runs = [
        (
            "random",
            "mlp" if i % 2 else "linear",
            3,
            float(rng.uniform(0, 1)),
            float(10 ** rng.uniform(-2, -0.3)),
        )
        for i in range(2 * effort.scale)
    ]
    runs += [
        ("edge", "mlp", 3, 0.0, 0.1),
        ("edge", "linear", 3, 0.999, 1.0),
        ("edge", "mlp", 1, 0.5, 0.1),
    ]
    seen, ratio, decisive = Residuals(), 0.0, 0
    for phase, encoder, dim, tau, lr in runs:
        a = updates.trajectory(int(rng.integers(2**31)), encoder, dim, tau, lr, TRAJECTORY_STEPS)
        broken = a.separation is not None or not a.fully_decisive
        seen.add(phase, {"56": math.inf if broken else 0.0})
        ratio, decisive = max(ratio, a.worst_ratio), decisive + a.decisive
    return seen, fact(
        "trajectories",
        runs=len(runs),
        steps=TRAJECTORY_STEPS,
        decisive=decisive,
        ratio=ratio,
        factor=rule.FACTOR,
    )


def record(plan: Plan, reports, network: Residuals, whole: Residuals, paths: Residuals) -> Record:
    r = Record(plan.step, TOLERANCE, proof=symbolic(plan.proofs))
    network.into(r.written, plan.network)
    whole.into(r.written, plan.whole)
    if plan.trajectories:
        paths.into(r.written, ["56"])
    add_searches(r.written, reports, plan.lemmas)
    if plan.exact:
        example = exact.simplest(plan.step.eq)
        r.counterexample = example and example | {"float64": exact.replay(example)}
    if plan.fix_network or plan.fix_lemmas:
        r.corrected_proof = symbolic(plan.fix_proofs)
        network.into(r.correct(), plan.fix_network)
        add_searches(r.corrected, reports, plan.fix_lemmas)
    return r


def check(effort: Effort) -> Finding:
    rng = effort.rng()
    reports = lemma_searches([n for p in PLANS for n in p.lemmas + p.fix_lemmas], effort)
    network, teacher = network_residuals(effort, rng)
    whole, judgements = whole_network(effort, rng)
    paths, trajectory_fact = trajectories(effort, rng)
    records = [record(p, reports, network, whole, paths) for p in PLANS]
    evidence = [
        fact("whole-network", judgements=judgements),
        trajectory_fact,
        fact("teacher-needed", gap=teacher, tolerance=TOLERANCE),
    ]
    return finding(records, evidence, TOLERANCE)
