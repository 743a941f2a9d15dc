"""Appendix G, eq. 28, at single points: ∂L_first/∂θ at (θ, W) against ∂L_second/∂θ at
(θ, M(W)) (eq. 43) and M(∂L_first/∂W) against ∂L_second/∂W' (eq. 53), by autograd, next to each
objective's own gradient one ulp away; random points, edge points and points along a
trajectory, each judged by the decision rule."""

import copy
import math
from typing import Callable

import torch

from theory.claims import one_thread
from theory.thm51 import rule
from theory.thm51.engine import Learner, compare_gradients, mirrored, negate_output_layer
from theory.thm51.rule import GradientGap
from theory.thm51.setups import PAIRS, Setup, build, view_pairs


def gaps_at(
    source: Learner, setup: Setup, x1, x2, dtype: torch.dtype = torch.float64
) -> GradientGap:
    """Eq. 28 by autograd at the state ``source`` holds (a run of the first objective), in
    ``dtype``."""
    first, second, predictor_map = PAIRS[setup.pair](setup)
    encoder, predictor = build(setup)
    signs = predictor_map(predictor) if predictor is not None else {}

    def fresh(objective):
        pred = copy.deepcopy(predictor).to(dtype) if predictor is not None else None
        return Learner(
            copy.deepcopy(encoder).to(dtype), pred, objective, setup.make_optimizer(), setup.tau
        )

    here = fresh(first)
    here.load(source)
    x1, x2 = x1.to(dtype), x2.to(dtype)
    with one_thread():
        here.backward(x1, x2)
        gaps = compare_gradients(here, fresh(second), fresh(first), fresh(second), signs, x1, x2)
    return GradientGap(*(float(g) for g in gaps))


def random_point(
    setup: Setup,
    *,
    teacher_noise: float = 0.5,
    predictor_scale: float = 1.0,
    predictor_weight: torch.Tensor | None = None,
) -> tuple[Learner, torch.Tensor, torch.Tensor]:
    """A point for eq. 28: θ and W from the setup's seed (W times ``predictor_scale``, or
    ``predictor_weight`` for a linear predictor), the teacher ξ = θ + ``teacher_noise``·ε (ε
    standard normal), and the first batch of the setup's views."""
    first = PAIRS[setup.pair](setup)[0]
    encoder, predictor = build(setup)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(setup.seed + 1)
        if predictor is not None:
            for p in predictor.parameters():
                p.mul_(predictor_scale)
            if predictor_weight is not None:
                predictor.weight.copy_(predictor_weight)
        source = Learner(encoder, predictor, first, setup.make_optimizer(), setup.tau)
        for xi in source.teacher.parameters():
            xi.add_(teacher_noise * torch.randn_like(xi))
    x1, x2 = next(view_pairs(setup))
    return source, x1, x2


def gradient_gaps(setup: Setup, *, dtype: torch.dtype = torch.float64, **point) -> GradientGap:
    """Eq. 28 at a ``random_point``."""
    source, x1, x2 = random_point(setup, **point)
    return gaps_at(source, setup, x1, x2, dtype)


def trajectory_point(setup: Setup, step: int) -> tuple[Learner, torch.Tensor, torch.Tensor]:
    """The first side's run of a setup just before its ``step``-th update, and that step's
    batch: the state the lockstep probe compares at that step (bitwise, on the CPU)."""
    first = PAIRS[setup.pair](setup)[0]
    encoder, predictor = build(setup)
    source = Learner(encoder, predictor, first, setup.make_optimizer(), setup.tau)
    views = view_pairs(setup)
    with one_thread():
        for _ in range(step - 1):
            source.backward(*next(views))
            source.update()
    x1, x2 = next(views)
    return source, x1, x2


def rotation(dim: int, cosine: float) -> torch.Tensor:
    """I with the (e1, e2) block replaced by a rotation whose cosine is ``cosine``."""
    w = torch.eye(dim, dtype=torch.float64)
    sine = math.sqrt(1 - cosine**2)
    w[:2, :2] = torch.tensor([[cosine, -sine], [sine, cosine]], dtype=torch.float64)
    return w


def edge_points(setup: Setup, at_fixed_point: bool = False) -> list[dict]:
    """Boundary points for eq. 28 (``random_point`` arguments): the teacher equal to the online
    encoder (ξ = θ, as at step 0) or far from it; the predictor tiny or huge; for a square
    linear predictor at ξ = θ, W = ±I (predictions on, or antipodal to, the teacher's) and
    rotations with ⟨Wz, z⟩ ≈ 0 (λ → 0 in the tangential form) or obtuse. ``at_fixed_point``:
    only points with ξ = θ (the predictor's scales too)."""
    far = [] if at_fixed_point else [dict(teacher_noise=5.0)]
    near = dict(teacher_noise=0.0) if at_fixed_point else {}
    points = [
        dict(teacher_noise=0.0),
        *far,
        dict(predictor_scale=1e-3, **near),
        dict(predictor_scale=1e3, **near),
    ]
    if setup.predictor == "linear" and setup.dim >= 2:
        eye = torch.eye(setup.dim, dtype=torch.float64)
        for w in (eye, -eye, rotation(setup.dim, 1e-3), rotation(setup.dim, -0.5)):
            points.append(dict(teacher_noise=0.0, predictor_weight=w))
    return points


def mirrored_output_gap(setup: Setup) -> float:
    """max |q_{M(w)}(z) + q_w(z)| / max |q_w(z)| at random z: 0 when the predictor map
    negates the predictor's output (q' = −q), as the mirrored pairs need."""
    _, predictor = build(setup)
    if predictor is None:
        return 0.0
    negated = mirrored(predictor, negate_output_layer(predictor))
    z = torch.randn(
        64, setup.dim, generator=torch.Generator().manual_seed(setup.seed), dtype=torch.float64
    )
    with torch.no_grad():
        q, q_negated = predictor(z), negated(z)
    return float((q_negated + q).abs().max() / q.abs().max())


JUDGEMENTS = ("agrees", "round-off", "breaks", "unresolved")


def judged_point(setup: Setup, point: dict) -> tuple[GradientGap, str]:
    """Eq. 28 at a ``random_point`` and its judgement (float32 replayed only if needed)."""
    gap = gradient_gaps(setup, **point)
    return gap, judge_gap(gap, lambda: gradient_gaps(setup, dtype=torch.float32, **point))


def judge_gap(gap: GradientGap, in_float32: Callable[[], GradientGap]) -> str:
    """'agrees' within FACTOR of its control; otherwise precision scaling decides between
    'round-off' and 'breaks' (float32 reproduces the gap: eq. 28 fails at this point), or
    'unresolved'."""
    if gap.ratio <= rule.FACTOR:
        return "agrees"
    g32 = in_float32()
    drifts = [
        rule.scales_like_drift(g64, g)
        for g64, control, g in (
            (gap.theta, gap.control_theta, g32.theta),
            (gap.predictor, gap.control_predictor, g32.predictor),
        )
        if rule.excess(g64, control)
    ]
    if any(d is True for d in drifts):
        return "breaks"
    return "unresolved" if any(d is None for d in drifts) else "round-off"
