"""Network points for Appendix G's steps (``theory.steps.network.Point``): random ones, and the
edge cases where a step could break: coincident, nearly coincident and antipodal views, the
teacher on, against or orthogonal to the prediction (⟨z2, z̄2⟩ = 0), the teacher equal to the
online encoder (ξ = θ, as at step 0), tiny and huge W, rank-deficient W, huge and tiny inputs,
and D = 1 (where the sphere has no tangent directions)."""

import copy

import numpy as np
import torch

from theory.steps.network import ENCODERS, INPUTS, WIDTH, Point
from theory.thm51.setups import build_encoder

DIMS = (2, 3, 5)


def _parts(gen: torch.Generator, encoder: str, dim: int):
    """An encoder from the generator's seed, a Gaussian W (scale 1/√D) and a view x1."""
    seed = int(torch.randint(0, 2**31, (1,), generator=gen))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        f = build_encoder(encoder, INPUTS, WIDTH, dim)
    W = torch.randn(dim, dim, generator=gen, dtype=torch.float64) / dim**0.5
    return f, W, torch.randn(1, INPUTS, generator=gen, dtype=torch.float64)


def _teacher_output(gen, f, x2, noise: float) -> torch.Tensor:
    """f_ξ(x2) for ξ = θ + noise·ε (ε standard normal)."""
    teacher = copy.deepcopy(f)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(noise * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        return teacher(x2)


def random_points(rng: np.random.Generator, count: int) -> list[Point]:
    """``count`` points: encoder and D in turn, the second view x1 + σε (σ log-uniform in
    [1e-2, 3]), the teacher θ + νε (ν log-uniform in [1e-3, 1])."""
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    points = []
    for i in range(count):
        encoder, dim = ENCODERS[i % len(ENCODERS)], DIMS[(i // len(ENCODERS)) % len(DIMS)]
        f, W, x1 = _parts(gen, encoder, dim)
        x2 = x1 + float(10 ** rng.uniform(-2, 0.5)) * torch.randn(
            x1.shape, generator=gen, dtype=x1.dtype
        )
        t2 = _teacher_output(gen, f, x2, float(10 ** rng.uniform(-3, 0)))
        points.append(Point(f, W, x1, x2, t2, name=f"random ({encoder}, D = {dim})"))
    return points


def _views_and_teachers(gen, f, W, x1) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, x2, t2) edge cases for one encoder and W."""
    x2 = x1 + 0.5 * torch.randn(x1.shape, generator=gen, dtype=x1.dtype)
    with torch.no_grad():
        f2, u2 = f(x2), f(x2) @ W.T
    z2 = u2 / u2.norm()
    r = torch.randn(u2.shape, generator=gen, dtype=u2.dtype)
    orthogonal = r - (r * z2).sum() * z2
    near = x1 + 1e-7 * torch.randn(x1.shape, generator=gen, dtype=x1.dtype)
    return [
        ("coincident views", x1.clone(), _teacher_output(gen, f, x1, 0.3)),
        ("nearly coincident views (1e-7)", near, _teacher_output(gen, f, near, 0.3)),
        ("teacher on z'2 (z̄2 = z'2 = −z2)", x2, u2.clone()),
        ("teacher antipodal to z'2", x2, -u2),
        ("teacher orthogonal to z2 (⟨z2, z̄2⟩ = 0)", x2, orthogonal),
        ("teacher = online encoder (ξ = θ)", x2, f2.clone()),
        ("huge inputs (1e8·x)", 1e8 * x2, _teacher_output(gen, f, 1e8 * x2, 0.3)),
    ]


def _predictors(gen, W) -> list[tuple[str, torch.Tensor]]:
    dim = W.shape[0]
    a, b = (torch.randn(dim, 1, generator=gen, dtype=W.dtype) for _ in range(2))
    U, s, Vh = torch.linalg.svd(W)
    s[-1] = 0.0
    return [
        ("tiny W (1e-100)", 1e-100 * W),
        ("huge W (1e100)", 1e100 * W),
        ("rank-1 W", a @ b.T),
        ("singular W (rank D − 1)", U @ torch.diag(s) @ Vh),
    ]


def edge_points(rng: np.random.Generator) -> list[Point]:
    """Every edge case of the module's docstring, for each encoder (D = 3), plus antipodal
    views (a linear encoder without bias, x2 = −x1) and D = 1."""
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    points = []
    for encoder in ENCODERS:
        f, W, x1 = _parts(gen, encoder, 3)
        for name, x2, t2 in _views_and_teachers(gen, f, W, x1):
            points.append(Point(f, W, x1, x2, t2, name=f"{name} ({encoder})"))
        x2 = x1 + 0.5 * torch.randn(x1.shape, generator=gen, dtype=x1.dtype)
        t2 = _teacher_output(gen, f, x2, 0.3)
        for name, V in _predictors(gen, W):
            points.append(Point(f, V, x1, x2, t2, name=f"{name} ({encoder})"))
    f, W, x1 = _parts(gen, "linear", 3)
    with torch.no_grad():
        f.bias.zero_()
    points.append(
        Point(f, W, x1, -x1, _teacher_output(gen, f, -x1, 0.3), name="antipodal views (z2 = −z1)")
    )
    f, W, x1 = _parts(gen, "mlp", 1)
    x2 = x1 + 0.5 * torch.randn(x1.shape, generator=gen, dtype=x1.dtype)
    points.append(Point(f, W, x1, x2, _teacher_output(gen, f, x2, 0.3), name="D = 1"))
    return points
