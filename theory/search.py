"""Adversarial search: numerical optimisation that tries to make a claim fail.

A claim about k unit vectors in R^D (and, optionally, weights α, β > 0) is handed over as a
*score*: a batched function, larger is worse, e.g. LHS/RHS of an inequality. ``search`` then
tries, for every dimension asked for,

1. random sampling: uniform points on the sphere, near-coincident and near-antipodal
   configurations, α and β log-uniform in [1e-3, 1e3];
2. adversarial ascent: Adam on the raw coordinates and log-weights, maximising the score from
   the worst random cases and from fresh near-coincident / near-antipodal restarts;
3. polish: L-BFGS-B with exact (autograd) gradients from the best ascent candidates;
4. edge cases (D ≤ 3; scores are rotation invariant, so they cover every D): every
   assignment of ±e1, ±e2, ±e3 to the k vectors (coincident, antipodal and orthogonal
   configurations) against a grid of extreme weights.
"""

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.optimize
import torch

from theory import objectives
from theory.claims import fact

Score = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""score(vectors (B, k, D) unit rows, alpha (B,), beta (B,)) -> (B,) finite scores."""

# The dimensions every search over the sphere tries (scores are rotation invariant, so D ≤ 3
# covers the edge cases; larger D gives random configurations room).
DIMS = (2, 3, 4, 8, 16, 32, 64, 128)
SAMPLED_LOG_WEIGHTS = (math.log(1e-3), math.log(1e3))
SEARCHED_LOG_WEIGHTS = (math.log(1e-6), math.log(1e6))
EDGE_WEIGHTS = (1e-3, 1e-1, 1.0, 1e1, 1e3)


@dataclass
class Candidate:
    vectors: np.ndarray
    alpha: float
    beta: float
    score: float

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


@dataclass
class Phase:
    name: str
    cases: int
    worst: Candidate


# The random phase's largest score per bin of log10(β/α), per dimension: the profile that the
# HTML report plots (sampled weights are log-uniform in [1e-3, 1e3], so β/α spans 1e-6 to 1e6;
# a bin with fewer than PROFILE_CASES cases, in the thin tails, is left empty).
PROFILE_BINS = tuple(range(-6, 7))
PROFILE_CASES = 20


@dataclass
class Report:
    phases: list[Phase]
    by_dim: dict[int, Candidate]
    weights: bool
    profile: dict[int, list[float | None]] = field(default_factory=dict)

    @property
    def worst(self) -> Candidate:
        return max((p.worst for p in self.phases), key=lambda c: c.score)

    @property
    def sampled(self) -> int:
        return sum(p.cases for p in self.phases if p.name == "random")

    @property
    def searched(self) -> int:
        return sum(p.cases for p in self.phases if p.name != "random")

    def lowest_dim_above(self, threshold: float) -> Candidate | None:
        for dim in sorted(self.by_dim):
            if self.by_dim[dim].score > threshold:
                return self.by_dim[dim]
        return None

    def facts(self) -> list[dict]:
        """One fact per phase: its cases, the dimensions searched, its worst score and where."""
        facts = [
            fact(
                "search",
                phase=p.name,
                cases=p.cases,
                dims=sorted(self.by_dim),
                worst=p.worst.score,
                dim=p.worst.dim,
                **({"alpha": p.worst.alpha, "beta": p.worst.beta} if self.weights else {}),
            )
            for p in self.phases
        ]
        facts.append(
            fact(
                "worst-by-dim",
                dims=sorted(self.by_dim),
                worst=[self.by_dim[d].score for d in sorted(self.by_dim)],
            )
        )
        if self.profile:
            facts.append(
                fact(
                    "profile",
                    bins=list(PROFILE_BINS),
                    dims=sorted(self.profile),
                    worst=[self.profile[d] for d in sorted(self.profile)],
                )
            )
        return facts


def _unit(x: torch.Tensor) -> torch.Tensor:
    # Raw search coordinates are Gaussian or moved by the optimiser, never checked per step.
    return objectives.unit(x, validate=False)


def _log_weights(gen: torch.Generator, batch: int, weights: bool, low_high=SAMPLED_LOG_WEIGHTS):
    """log α, log β per case: log-uniform in ``low_high``, or α = β = 1 for a claim without
    weights (or one searched at fixed weights)."""
    if not weights:
        return torch.zeros(batch, 2)
    low, high = low_high
    return low + (high - low) * torch.rand(batch, 2, generator=gen)


def structured_starts(gen: torch.Generator, batch: int, k: int, dim: int) -> torch.Tensor:
    """Raw points: a third uniform, a third near-coincident (all vectors within ε of one
    point), a third near-antipodal (each vector within ε of +c or −c, signs random); ε is
    log-uniform in [1e-8, 1]."""
    uniform = torch.randn(batch, k, dim, generator=gen)
    centre = _unit(torch.randn(batch, 1, dim, generator=gen))
    eps = 10.0 ** (-8 * torch.rand(batch, 1, 1, generator=gen))
    near = centre + eps * torch.randn(batch, k, dim, generator=gen)
    signs = torch.where(torch.rand(batch, k, 1, generator=gen) < 0.5, -1.0, 1.0)
    antipodal = signs * centre + eps * torch.randn(batch, k, dim, generator=gen)
    kind = torch.randint(0, 3, (batch, 1, 1), generator=gen)
    return torch.where(kind == 0, uniform, torch.where(kind == 1, near, antipodal))


def _evaluate(score: Score, x: torch.Tensor, log_w: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        s = score(_unit(x), log_w[:, 0].exp(), log_w[:, 1].exp())
    return torch.nan_to_num(s, nan=-math.inf)


def _best(x: torch.Tensor, log_w: torch.Tensor, s: torch.Tensor) -> Candidate:
    i = int(torch.argmax(s))
    return Candidate(
        _unit(x[i]).detach().numpy().copy(),
        float(log_w[i, 0].exp()),
        float(log_w[i, 1].exp()),
        float(s[i]),
    )


def _profile(log_w: torch.Tensor, s: torch.Tensor) -> list[float | None]:
    """The largest score per bin of log10(β/α) (None where a bin holds too few cases)."""
    ratio = (log_w[:, 1] - log_w[:, 0]) / math.log(10)
    out = []
    for centre in PROFILE_BINS:
        inside = (ratio >= centre - 0.5) & (ratio < centre + 0.5) & torch.isfinite(s)
        out.append(float(s[inside].max()) if int(inside.sum()) >= PROFILE_CASES else None)
    return out


def _ascend(score: Score, x, log_w, steps: int, lr: float, weights: bool):
    """Adam on raw coordinates (and log-weights) maximising the score; returns, for every
    start, the best point visited."""
    x = x.clone().requires_grad_(True)
    log_w = log_w.clone().requires_grad_(weights)
    params = [x, log_w] if weights else [x]
    opt = torch.optim.Adam(params, lr=lr)
    best_s = _evaluate(score, x, log_w)
    best_x, best_w = x.detach().clone(), log_w.detach().clone()
    for _ in range(steps):
        opt.zero_grad()
        s = score(_unit(x), log_w[:, 0].exp(), log_w[:, 1].exp())
        (-torch.nan_to_num(s, nan=0.0).sum()).backward()
        for p in params:
            p.grad = torch.nan_to_num(p.grad, nan=0.0, posinf=0.0, neginf=0.0)
        opt.step()
        with torch.no_grad():
            log_w.clamp_(*SEARCHED_LOG_WEIGHTS)
        s = _evaluate(score, x, log_w)
        better = s > best_s
        best_s = torch.where(better, s, best_s)
        best_x[better] = x.detach()[better]
        best_w[better] = log_w.detach()[better]
    return best_x, best_w, best_s


def polish(
    score: Score, start: Candidate, weights: bool, maxiter: int = 200
) -> tuple[Candidate, int]:
    """L-BFGS-B with autograd gradients from one candidate; returns the better of start and
    result, and the number of evaluations."""
    k, dim = start.vectors.shape
    n = k * dim

    def negative(p: np.ndarray):
        t = torch.tensor(p, requires_grad=True)
        log_w = t[n:] if weights else torch.log(torch.tensor([start.alpha, start.beta]))
        s = score(_unit(t[:n].view(1, k, dim)), log_w[0].exp().view(1), log_w[1].exp().view(1))[0]
        if not torch.isfinite(s):
            return 0.0, np.zeros_like(p)
        (-s).backward()
        return -s.item(), np.nan_to_num(t.grad.numpy().copy())

    p0 = start.vectors.ravel()
    bounds = [(None, None)] * n
    if weights:
        p0 = np.concatenate([p0, np.log([start.alpha, start.beta])])
        bounds += [SEARCHED_LOG_WEIGHTS] * 2
    result = scipy.optimize.minimize(
        negative, p0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter}
    )
    x = torch.tensor(result.x[:n]).view(1, k, dim)
    log_w = torch.tensor(result.x[n:] if weights else np.log([start.alpha, start.beta])).view(1, 2)
    s = _evaluate(score, x, log_w)
    polished = _best(x, log_w, s)
    return (polished if polished.score > start.score else start), int(result.nfev)


def edge_cases(k: int, dim: int, weights: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Every assignment of ±e1, ±e2(, ±e3) to the k vectors, against a grid of extreme
    weights (or α = β = 1 when the claim has none)."""
    axes = [s * e for e in torch.eye(dim)[: min(dim, 3)] for s in (1.0, -1.0)]
    configs = torch.stack([torch.stack(c) for c in itertools.product(axes, repeat=k)])
    grid = list(itertools.product(EDGE_WEIGHTS, repeat=2)) if weights else [(1.0, 1.0)]
    log_w = torch.log(torch.tensor(grid))
    x = configs.repeat_interleave(len(grid), dim=0)
    return x, log_w.repeat(len(configs), 1)


def search(
    score: Score,
    k: int,
    dims: list[int],
    effort,
    *,
    weights: bool = True,
    n_random: int = 2048,
    n_starts: int = 64,
    steps: int = 100,
    n_polish: int = 2,
    edge_dims: int = 3,
) -> Report:
    """Search every dimension in ``dims`` for the configuration that maximises ``score``;
    ``effort.scale`` multiplies every count. Edge cases run in the dimensions up to
    ``edge_dims`` (there are 6^k of them: a search over many vectors asks for none)."""
    gen = effort.torch_generator()
    scale = effort.scale
    phases = {
        name: Phase(name, 0, Candidate(np.zeros((k, 1)), 1.0, 1.0, -math.inf))
        for name in ("random", "adversarial", "polish", "edge cases")
    }
    by_dim: dict[int, Candidate] = {}
    profile: dict[int, list[float | None]] = {}

    def record(name: str, cases: int, candidate: Candidate) -> None:
        phase = phases[name]
        phase.cases += cases
        if candidate.score > phase.worst.score:
            phase.worst = candidate
        if candidate.dim not in by_dim or candidate.score > by_dim[candidate.dim].score:
            by_dim[candidate.dim] = candidate

    for dim in dims:
        batch = n_random * scale
        x = structured_starts(gen, batch, k, dim)
        log_w = _log_weights(gen, batch, weights)
        s = _evaluate(score, x, log_w)
        record("random", batch, _best(x, log_w, s))
        if weights:
            profile[dim] = _profile(log_w, s)

        half = n_starts * scale // 2
        top = torch.topk(s, half).indices
        fresh_x = structured_starts(gen, half, k, dim)
        x0 = torch.cat([x[top], fresh_x])
        w0 = torch.cat([log_w[top], _log_weights(gen, half, weights, SEARCHED_LOG_WEIGHTS)])
        bx, bw, bs = _ascend(score, x0, w0, steps, lr=0.02, weights=weights)
        record("adversarial", len(x0) * (steps + 1), _best(bx, bw, bs))

        for i in torch.topk(bs, min(n_polish * scale, len(bs))).indices:
            start = _best(bx[i : i + 1], bw[i : i + 1], bs[i : i + 1])
            polished, evaluations = polish(score, start, weights)
            record("polish", evaluations, polished)

        if dim <= min(edge_dims, 3):
            ex, ew = edge_cases(k, dim, weights)
            record("edge cases", len(ex), _best(ex, ew, _evaluate(score, ex, ew)))

    return Report([p for p in phases.values() if p.cases], by_dim, weights, profile)
