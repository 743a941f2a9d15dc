"""The checker of ``appH-steps``: every step of ``theory.steps.appH`` decided by its sympy
results, its residuals at random and edge points of the linear model, adversarial searches
(``theory.search``) of the same residuals, the EMA of ``theory.teacher`` for eq. 64, and the
finding of ``appH-derivation`` for eq. 67's implication (by reference: that claim's checker,
run as the registry runs it)."""

import numpy as np
import scipy.optimize
import torch

from theory import claims
from theory.appH.linear_model import AUGMENTATIONS, sample_views
from theory.claims import Effort, Finding, fact
from theory.search import search
from theory.steps import algebra, linear
from theory.steps.appH import PLANS, PROOFS, TOLERANCE
from theory.steps.records import Residuals, finding, phase_worst, symbolic
from theory.steps.status import CORRECTED, FAILS, HOLDS, UNDECIDED, Record
from theory.teacher import ema_update

DIMS = (1, 2, 3, 4)
SEARCH_DIMS = (2, 3, 4)
SAMPLE_DIMS = (2, 4)  # the edge cases of k = 4 vectors in D = 3 would be 32400 sample sets
SEARCH_BUDGET = dict(n_random=128, n_starts=4, steps=10, n_polish=1)
LINES = ("58.1", "58.2", "58.3*", "58.4", "59.1", "59.2", "59.3", "59.4", "59.5", "60")
SAMPLES = ("62", "63", "65", "66", "67.1", "67.2")


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _matrices(rng, n: int):
    return [_t(rng.standard_normal((n, n)) / np.sqrt(n)) for _ in range(3)]


def _evaluate(seen: Residuals, phase: str, theta, W, xi, x1, x2) -> None:
    """Lines of eqs. 58–60 per sample, eqs. 62–67 over the samples (and eqs. 62–63's closed form
    against autograd of ``linear_byol_expected``), eq. 68 with C = ξ."""
    lines = linear.line_residuals(theta, W, xi, x1, x2)
    seen.add(phase, {k: v.max() for k, v in lines.items()}, cases=len(x1))
    seen.add(
        phase,
        {k: v.max() for k, v in linear.sample_residuals(theta, W, xi, x1[None], x2[None]).items()},
    )
    closed_form = linear.expected_autograd(theta, W, xi, x1, x2)
    seen.add(
        phase, {"62": closed_form, "63": closed_form, "68": linear.kronecker_residual(W, xi, theta)}
    )


def _edge_cases(rng):
    """(θ, W, ξ, x1, x2): W = 0; θ of rank 1; ξ = θ; the collapse W = θ = ξ = I with x2 = x1;
    n = 1; samples 1e50 and 1e-50 times larger; one sample; fewer samples than n (A singular);
    heavy-tailed samples; ξ = W (C = W in eq. 68)."""
    n = 3
    theta, W, xi = _matrices(rng, n)
    x1, x2 = (_t(v) for v in sample_views(rng, n, 8, "noise"))
    rank_one = _t(np.outer(rng.standard_normal(n), rng.standard_normal(n)))
    eye = torch.eye(n, dtype=torch.float64)
    cauchy = _t(rng.standard_cauchy((8, n)))
    yield theta, torch.zeros_like(W), xi, x1, x2
    yield rank_one, W, xi, x1, x2
    yield theta, W, theta.clone(), x1, x2
    yield eye, eye, eye, x1, x1.clone()
    yield *_matrices(rng, 1), x1[:, :1], x2[:, :1]
    yield theta, W, xi, 1e50 * x1, 1e50 * x2
    yield theta, W, xi, 1e-50 * x1, 1e-50 * x2
    yield theta, W, xi, x1[:1], x2[:1]
    yield theta, W, xi, x1[:2], x2[:2]
    yield theta, W, xi, cauchy, cauchy + _t(rng.standard_normal((8, n)))
    yield theta, W, W.clone(), x1, x2


@torch.no_grad()
def model_residuals(effort: Effort, rng) -> Residuals:
    """The residuals at random points (n = 1…4, every augmentation of
    ``theory.appH.linear_model.sample_views``, 8 samples) and at the edge cases."""
    seen = Residuals()
    for _ in range(effort.scale):
        for n in DIMS:
            for augmentation in AUGMENTATIONS:
                x1, x2 = (_t(v) for v in sample_views(rng, n, 8, augmentation))
                _evaluate(seen, "random", *_matrices(rng, n), x1, x2)
    for case in _edge_cases(rng):
        _evaluate(seen, "edge", *case)
    return seen


def _score(rng, keys, samples: int):
    """A ``theory.search`` score: the largest of ``keys``' residuals at matrices fixed per
    dimension, the search's unit vectors scaled by α (first views) and β (second views)."""
    fixed = {n: _matrices(rng, n) for n in sorted(set(SEARCH_DIMS + SAMPLE_DIMS))}

    def score(v, alpha, beta):
        theta, W, xi = fixed[v.shape[-1]]
        x1, x2 = alpha[:, None, None] * v[:, 0::2], beta[:, None, None] * v[:, 1::2]
        if samples == 1:
            values = linear.line_residuals(theta, W, xi, x1[:, 0], x2[:, 0])
        else:
            values = linear.sample_residuals(theta, W, xi, x1, x2)
        return torch.stack([values[k] for k in keys]).amax(0)

    return score


def searched(effort: Effort, rng) -> Residuals:
    """Adversarial searches of the lines (one sample, k = 2 vectors) and of eqs. 62–67 (two
    samples, k = 4): the largest residual of each group, which bounds each of its members."""
    seen = Residuals()
    for keys, samples in ((LINES, 1), (SAMPLES, 2)):
        report = search(
            _score(rng, keys, samples),
            k=2 * samples,
            dims=SEARCH_DIMS if samples == 1 else SAMPLE_DIMS,
            effort=effort,
            **SEARCH_BUDGET,
        )
        seen.add(
            "random", dict.fromkeys(keys, phase_worst(report, random=True)), cases=report.sampled
        )
        seen.add(
            "edge", dict.fromkeys(keys, phase_worst(report, random=False)), cases=report.searched
        )
    return seen


def _kronecker_score(W, C):
    def score(v, alpha, beta):
        return linear.kronecker_residual(alpha[:, None, None] * W, beta[:, None, None] * C, v)

    return score


def kronecker_searched(effort: Effort, rng) -> Residuals:
    """Eq. 68 searched: θ's rows the search's unit vectors (k = n), W and C fixed and scaled by
    α and β, for n = 2, 3."""
    seen = Residuals()
    for n in (2, 3):
        W, C, _ = _matrices(rng, n)
        report = search(_kronecker_score(W, C), k=n, dims=[n], effort=effort, **SEARCH_BUDGET)
        seen.add("random", {"68": phase_worst(report, random=True)}, cases=report.sampled)
        seen.add("edge", {"68": phase_worst(report, random=False)}, cases=report.searched)
    return seen


def ema_residual(theta: torch.Tensor, xi: torch.Tensor, tau: float) -> float:
    """How far ``theory.teacher.ema_update``'s increment ξ(k+1) − ξ(k) is from (1 − τ)(θ − ξ),
    relative to |θ| + |ξ| entry by entry: the identity behind eq. 64 (the increment vanishes
    iff θ = ξ, for τ ≠ 1)."""
    new = xi.clone()
    ema_update([new], [theta], tau=tau)
    scale = (theta.abs() + xi.abs()).clamp_min(torch.finfo(theta.dtype).tiny)
    return float((((new - xi) - (1 - tau) * (theta - xi)).abs() / scale).max())


def ema_checks(effort: Effort, rng) -> Residuals:
    """Random τ in [0, 1) and vectors of every scale; edge τ (0, 1e-16, ½, 0.996, 1 − 1e-8,
    1 − 2⁻⁵²) against θ = ξ, θ = −ξ, ξ = 0 and entries 1e±150; and the τ maximising the
    residual (bounded scalar search) for a few random pairs."""
    seen = Residuals()
    vector = lambda: _t(rng.standard_normal(8) * 10 ** rng.uniform(-3, 3, 8))  # noqa: E731
    for _ in range(64 * effort.scale):
        seen.add("random", {"64": ema_residual(vector(), vector(), float(rng.uniform(0, 1)))})
    xi = vector()
    pairs = [
        (xi.clone(), xi),
        (-xi, xi),
        (xi, torch.zeros_like(xi)),
        (1e150 * xi, -1e150 * xi),
        (1e-150 * xi, xi),
    ]
    for theta, base in pairs:
        for tau in (0.0, 1e-16, 0.5, 0.996, 1 - 1e-8, 1 - 2**-52):
            seen.add("edge", {"64": ema_residual(theta, base, tau)})
    for _ in range(4 * effort.scale):
        theta, base = vector(), vector()
        result = scipy.optimize.minimize_scalar(
            lambda tau: -ema_residual(theta, base, tau), bounds=(0, 1), method="bounded"
        )
        seen.add("edge", {"64": -result.fun}, cases=result.nfev)
    return seen


def derivation_reference(effort: Effort) -> dict:
    """Eq. 67's implication by reference: the finding of ``appH-derivation`` (its checker, at
    this effort). A "fails" there with no violation among the configurations where W is
    invertible, θ has full rank or B + Bᵀ ≻ 0 makes this step hold after that correction."""
    (c,) = claims.get(["appH-derivation"])
    f = claims.finding(c, effort)
    categories = [
        {k: e[k] for k in ("category", "configurations", "violating")}
        for e in f.evidence
        if e["kind"] == "derivation-category"
    ]
    repaired = bool(categories) and all(
        e["configurations"] > 0 and e["violating"] == 0 for e in categories
    )
    status = {"holds": HOLDS, "inconclusive": UNDECIDED}.get(
        f.verdict, CORRECTED if repaired else FAILS
    )
    example = f.counterexample and {
        k: f.counterexample[k] for k in ("n", "W", "theta", "A", "B")
    } | {"residual": f.counterexample["exact"]["W·theta − theta·B·A⁻¹"]}
    return {
        "status": status,
        "claim": "appH-derivation",
        "verdict": f.verdict,
        "worst": f.worst,
        "categories": categories,
        "counterexample": example,
    }


def record(plan: dict, seen: Residuals, reference: dict) -> Record:
    step = plan["step"]
    r = Record(step, TOLERANCE, proof=symbolic(plan["proofs"], PROOFS))
    seen.into(r.written, plan["keys"])
    if step.eq == "61":
        r.reference = {"status": HOLDS, "definition": True}
    elif step.eq == "67, implication":
        r.reference = reference
        r.counterexample = reference["counterexample"]
    elif step.eq == "58, line 3":
        example = algebra.simplest_line3()
        r.counterexample = example and example | {"float64": algebra.replay_line3(example)}
    elif step.eq == "64, as a limit":
        r.counterexample = algebra.ema_limit_proof()
        r.written.add("edge", 1, r.counterexample["limit_gap"])
    if plan["fix_keys"]:
        r.corrected_proof = symbolic(plan["fix_proofs"], PROOFS)
        seen.into(r.correct(), plan["fix_keys"])
    return r


def check(effort: Effort) -> Finding:
    rng = effort.rng()
    seen = model_residuals(effort, rng)
    for more in (searched(effort, rng), kronecker_searched(effort, rng), ema_checks(effort, rng)):
        for (phase, key), cases in more.cases.items():
            seen.add(phase, {key: more.worst[phase, key]}, cases=cases)
    reference = derivation_reference(effort)
    records = [record(p, seen, reference) for p in PLANS]
    X1, X2 = (_t(v) for v in sample_views(rng, 3, 64, "noise"))
    theta, W, _ = _matrices(rng, 3)
    evidence = [fact("stop-gradient", change=linear.stop_gradient_matters(theta, W, X1, X2))]
    return finding(records, evidence, TOLERANCE)
