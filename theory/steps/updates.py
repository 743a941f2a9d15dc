"""Eqs. 54–56 of Appendix G: one plain SGD step on each side (eqs. 54–55), the mirrored
parameters after it (θ^(1) = θ'^(1), W^(1) = −W'^(1)), and "furthermore at any iteration k":
many steps, each side with its own mean teacher (eq. 5), by ``theory.thm51.engine.lockstep``
judged by ``theory.thm51.rule`` (deviation against the round-off of one-ulp controls)."""

import torch
from torch import nn

from theory import objectives as obj
from theory.steps.network import INPUTS, WIDTH, Point, Side, flat_parameters, gap, side
from theory.thm51 import rule
from theory.thm51.engine import lockstep, negate_output_layer, optimizer
from theory.thm51.setups import build_encoder


def sgd_step(point: Point, s: Side, lr: float):
    """(θ, W) after torch's SGD step on side ``s``'s objective at ``point``, θ − η∂L/∂θ and
    W − η∂L/∂W as eqs. 54–55 write them, and each step's scale ‖θ‖ + η‖∂L/∂θ‖ (and for W)."""
    _, _, theta = flat_parameters(point.encoder)
    start = [theta, s.sign * point.W.reshape(-1)]
    params = [nn.Parameter(p.clone()) for p in start]
    for p, g in zip(params, s.gradients["total"]):
        p.grad = g.clone()
    torch.optim.SGD(params, lr=lr).step()
    formula = [p - lr * g for p, g in zip(start, s.gradients["total"])]
    scales = [p.norm() + lr * g.norm() for p, g in zip(start, s.gradients["total"])]
    return [p.detach() for p in params], formula, scales


def step_residuals(point: Point, prime: Side, plain: Side, lr: float) -> dict[str, float]:
    """ "54", "55": torch's SGD step against the formula, for BYOL' (``prime``) and RAFT
    (``plain``); "56": RAFT's θ^(1), W^(1) against BYOL''s θ'^(1), −W'^(1)."""
    out, after = {}, {}
    for label, s in (("54", prime), ("55", plain)):
        params, formula, scales = sgd_step(point, s, lr)
        out[label] = max(gap(p, f, size) for p, f, size in zip(params, formula, scales))
        after[s.sign] = params
    (theta_p, W_p), (theta, W) = after[1], after[-1]
    out["56"] = max(gap(theta, theta_p, theta_p.norm()), gap(W, -W_p, W_p.norm()))
    return out


def teacher_gap(point: Point, other_t2: torch.Tensor) -> float:
    """Eq. 43's relative gap when RAFT's teacher output is ``other_t2`` instead of the
    shared one: what the induction loses if the two teachers ever differ."""
    other = Point(point.encoder, point.W, point.x1, point.x2, other_t2)
    prime, plain = side(point, 1), side(other, -1)
    scale = max(s.gradients["total"][0].norm() for s in (prime, plain))
    return gap(prime.gradients["total"][0], plain.gradients["total"][0], scale)


def _one_view(sign: int):
    """Eqs. 26–27 in the engine's (p1, p2, t1, t2) signature: L_BYOL' (sign +1), L_RAFT (−1)."""

    def objective(p1, p2, t1, t2):
        return obj.alignment(p1, p2, validate=False) + sign * obj.cross_model(
            p2, t2, validate=False
        )

    return objective


def trajectory(
    seed: int, encoder: str, dim: int, tau: float, lr: float, steps: int
) -> rule.Assessment:
    """BYOL' from (θ0, W0) and RAFT from (θ0, −W0), plain SGD, batch size 1, each with its own
    EMA teacher started at θ0, judged by the decision rule of Theorem 5.1's checks."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        f = build_encoder(encoder, INPUTS, WIDTH, dim)
        q = nn.Linear(dim, dim, bias=False, dtype=torch.float64)

    def views():
        while True:
            x = torch.randn(1, INPUTS, generator=gen, dtype=torch.float64)
            yield x + 0.5 * torch.randn(x.shape, generator=gen, dtype=torch.float64), x

    trace = lockstep(
        f,
        q,
        _one_view(1),
        _one_view(-1),
        make_optimizer=optimizer("sgd", lr=lr),
        tau=tau,
        steps=steps,
        views=views(),
        predictor_map=negate_output_layer,
        seed=seed,
    )
    return rule.assess(trace, steps)
