"""Appendix H's linear model: f_θ = θ, f_ξ = ξ, q_w = W on two views x1 = t1(x), x2 = t2(x) with
moments A = E[x1x1ᵀ], B = E[x2x1ᵀ]; the expected loss of eq. 57 is
``theory.objectives.linear_byol_expected``. Here: sampled views and their moments, C = BA⁻¹
(eq. 67), the gradients of eqs. 62–63 (autograd and closed form), their derivation in sympy
(eqs. 57–66), randomly initialised predictors, and θ and W trained jointly with an EMA target."""

import numpy as np
import sympy
import torch

from theory.appH.solutions import real_square
from theory.objectives import linear_byol_expected
from theory.teacher import ema_update

AUGMENTATIONS = ("none", "noise", "mask", "asymmetric")


def sample_views(rng: np.random.Generator, n: int, samples: int, augmentation: str = "noise"):
    """Two views (x1, x2), each (samples, n), of x ~ N(0, Σ), Σ random with eigenvalues
    log-uniform in [0.1, 10]. ``augmentation``: "none" (x1 = x2 = x, so B = A), "noise"
    (x + 0.5ε each view, ε independent standard Gaussian), "mask" (each coordinate kept with
    probability 0.8, independently per view), "asymmetric" (x1 = x + 0.5ε, x2 = a masked and
    slightly noisy x: differently distributed views, as BYOL's t and t′, so B ≠ Bᵀ)."""
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {AUGMENTATIONS}, not {augmentation!r}")
    if n < 1 or samples < 1:
        raise ValueError(f"need n ≥ 1 and samples ≥ 1, got n = {n}, samples = {samples}")
    basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
    scales = np.exp(rng.uniform(np.log(0.1), np.log(10.0), n)) ** 0.5
    x = (rng.standard_normal((samples, n)) * scales) @ basis.T

    def noisy(s):
        return x + s * rng.standard_normal(x.shape)

    def masked():
        return x * (rng.random(x.shape) < 0.8)

    if augmentation == "none":
        return x, x.copy()
    if augmentation == "noise":
        return noisy(0.5), noisy(0.5)
    if augmentation == "mask":
        return masked(), masked()
    return noisy(0.5), masked() + 0.1 * rng.standard_normal(x.shape)


def moments(x1, x2):
    """Empirical A = E[x1x1ᵀ], B = E[x2x1ᵀ], A2 = E[x2x2ᵀ] from paired views (samples, n)."""
    x1 = np.asarray(x1.detach().cpu() if isinstance(x1, torch.Tensor) else x1, dtype=np.float64)
    x2 = np.asarray(x2.detach().cpu() if isinstance(x2, torch.Tensor) else x2, dtype=np.float64)
    if x1.ndim != 2 or x1.shape != x2.shape or len(x1) == 0:
        raise ValueError(
            f"views must be two non-empty (samples, n) arrays of one shape, got {x1.shape}, {x2.shape}"
        )
    N = len(x1)
    return x1.T @ x1 / N, x2.T @ x1 / N, x2.T @ x2 / N


def target_matrix(A, B) -> np.ndarray:
    """C = BA⁻¹ (eq. 67). A = E[x1x1ᵀ] must be invertible: it is singular when the first
    view spans less than R^n (fewer samples than dimensions, a coordinate always zero)."""
    A, B = real_square("A", A), real_square("B", B)
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}")
    s = np.linalg.svd(A, compute_uv=False)
    if s[-1] <= len(A) * np.finfo(float).eps * s[0]:
        raise ValueError(
            f"A = E[x1x1ᵀ] is singular (σ_min/σ_max = {s[-1] / s[0] if s[0] else 0:.3g}): eq. 67 "
            "needs A⁻¹; the first view must span R^n (more samples than dimensions, no "
            "coordinate that is always zero)"
        )
    return np.linalg.solve(A.T, B.T).T


def residual_matrix(theta, W, A, B):
    """WθA − θB: eq. 65 is Wᵀ(WθA − θB) = 0, eq. 66 (WθA − θB)θᵀ = 0, eq. 67 WθA − θB = 0."""
    return W @ theta @ A - theta @ B


def stationarity_gradients(theta, W, A, B, xi=None):
    """Autograd ∂L/∂θ and ∂L/∂W of the expected loss (eq. 57, ``linear_byol_expected``) at the
    target ξ (default ξ = θ, the EMA fixed point of eq. 64); ξ receives no gradient (eqs. 62–63
    differentiate in θ and W only)."""
    as_tensor = lambda M: torch.as_tensor(np.asarray(M, dtype=np.float64))  # noqa: E731
    theta_t = as_tensor(theta).requires_grad_(True)
    W_t = as_tensor(W).requires_grad_(True)
    xi_t = as_tensor(theta if xi is None else xi)
    with torch.enable_grad():
        loss = linear_byol_expected(theta_t, xi_t, W_t, as_tensor(A), as_tensor(B))
        g_theta, g_W = torch.autograd.grad(loss, (theta_t, W_t))
    return g_theta.numpy(), g_W.numpy()


def target_gradient(theta, xi, W, B, A2) -> np.ndarray:
    """∂/∂ξ of eq. 57 had the target no stop-gradient: 2(ξA2 − WθBᵀ), A2 = E[x2x2ᵀ]
    (``derivation_identities`` derives it from eq. 57 in sympy)."""
    return 2 * (xi @ A2 - W @ theta @ B.T)


def derivation_identities(n: int) -> dict[str, bool]:
    """sympy, for symbolic n×n θ, ξ, W and symbolic moments: eq. 57's expectation (moments
    substituted for the products of the views' coordinates) equals the closed form
    tr(WθAθᵀWᵀ) − 2tr(WθBᵀξᵀ) + tr(ξA2ξᵀ), and its derivatives are the expectations of
    eqs. 58–60: ∂/∂θ = 2Wᵀ(WθA − ξB) (eq. 62), ∂/∂W = 2(WθA − ξB)θᵀ (eq. 63); at ξ = θ they
    are eqs. 65–66. Also ∂/∂ξ = 2(ξA2 − WθBᵀ) (the gradient the stop-gradient removes)."""
    M = lambda name: sympy.Matrix(n, n, sympy.symbols(f"{name}0:{n * n}"))  # noqa: E731
    theta, xi, W, B = M("th"), M("xi"), M("w"), M("b")
    sym = lambda name: sympy.Matrix(
        n, n, lambda i, j: sympy.Symbol(f"{name}{min(i, j)}{max(i, j)}")
    )  # noqa: E731
    A, A2 = sym("a"), sym("aa")
    x1 = sympy.Matrix(sympy.symbols(f"u0:{n}"))
    x2 = sympy.Matrix(sympy.symbols(f"v0:{n}"))
    diff = W * theta * x1 - xi * x2
    sample = sympy.Poly(sympy.expand((diff.T * diff)[0]), *x1, *x2)
    expected = 0
    for monomial, coeff in sample.terms():
        i, j = (k for k, e in enumerate(monomial) for _ in range(e))  # x-coordinates, i ≤ j
        if j < n:  # both from view 1: x1_i x1_j -> A
            expected += coeff * A[i, j]
        elif i >= n:  # both from view 2: x2 x2 -> A2
            expected += coeff * A2[i - n, j - n]
        else:  # x1_i x2_b -> E[x2 x1ᵀ]_bi = B[b, i]
            expected += coeff * B[j - n, i]
    closed = (
        (W * theta * A * theta.T * W.T).trace()
        - 2 * (W * theta * B.T * xi.T).trace()
        + (xi * A2 * xi.T).trace()
    )
    grad = lambda P: sympy.Matrix(n, n, lambda i, j: sympy.diff(closed, P[i, j]))  # noqa: E731
    zero = lambda E: sympy.expand(E) == sympy.zeros(n, n)  # noqa: E731
    R = W * theta * A - xi * B
    return {
        "eq57-closed-form": sympy.expand(expected - closed) == 0,
        "eq62": zero(grad(theta) - 2 * W.T * R),
        "eq63": zero(grad(W) - 2 * R * theta.T),
        "target": zero(grad(xi) - 2 * (xi * A2 - W * theta * B.T)),
        "eq65-66": zero((W.T * R).subs(dict(zip(xi, theta))) - W.T * (W * theta * A - theta * B))
        and zero((R * theta.T).subs(dict(zip(xi, theta))) - (W * theta * A - theta * B) * theta.T),
    }


def family_identity() -> bool:
    """sympy proof in the free algebra of n×n matrices (every n): with θ = S and W = SBA⁻¹S⁻¹
    (S, A invertible), WθA − θB = 0, so eqs. 65–67 hold for the whole family."""
    n = sympy.Symbol("n", integer=True, positive=True)
    S, A, B = (sympy.MatrixSymbol(name, n, n) for name in "SAB")
    W, theta = S * B * A.I * S.I, S
    return (W * theta * A - theta * B).doit() == sympy.ZeroMatrix(n, n)


INITS = ("gaussian", "pytorch")


def random_predictor(init: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """A randomly initialised linear predictor W (n×n): "gaussian", entries N(0, 1/n); or
    "pytorch", torch.nn.Linear(n, n, bias=False)'s default init (Kaiming-uniform, a = √5, i.e.
    U(−1/√n, 1/√n)), seeded from ``rng``."""
    if init == "gaussian":
        return rng.standard_normal((n, n)) / np.sqrt(n)
    if init == "pytorch":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            layer = torch.nn.Linear(n, n, bias=False)
        return layer.weight.detach().to(torch.float64).numpy().copy()
    raise ValueError(f"init must be one of {INITS}, not {init!r}")


# Relative gradient: ‖∂L/∂θ‖_F/(2‖W‖₂·s·‖θ‖_F) and ‖∂L/∂W‖_F/(2·s·‖θ‖_F²), s = ‖W‖₂‖A‖₂ + ‖B‖₂,
# the sizes of the two terms of WθA − θB. For θ a numerical solution (‖Wθ − θC‖ ≤ RTOL·(‖W‖ +
# ‖C‖)·‖θ‖) and C = BA⁻¹ rounded (relative error ≲ n·eps·cond(A)), WθA − θB = (Wθ − θC)A +
# θ(CA − B) is ≲ (RTOL + n·eps)·cond(A)·s·‖θ‖. Every instance keeps cond(A) ≤ COND_LIMIT = 100,
# so 1e-8 bounds what the tolerance and rounding can explain; exact solutions reach ~1e-15.
STATIONARY_TOL = 1e-8
COND_LIMIT = 100.0


def relative_gradients(theta, W, A, B) -> float:
    """max of the two relative gradient norms (above) of eq. 57 at ξ = θ, by autograd."""
    g_theta, g_W = stationarity_gradients(theta, W, A, B)
    s = np.linalg.norm(W, 2) * np.linalg.norm(A, 2) + np.linalg.norm(B, 2)
    t = np.linalg.norm(theta)
    tiny = np.finfo(float).tiny
    return float(
        max(
            np.linalg.norm(g_theta) / max(2 * np.linalg.norm(W, 2) * s * t, tiny),
            np.linalg.norm(g_W) / max(2 * s * t * t, tiny),
        )
    )


def expected_gradients(theta, xi, W, A, B):
    """∂L/∂θ = 2Wᵀ(WθA − ξB) and ∂L/∂W = 2(WθA − ξB)θᵀ (eqs. 62–63) in closed form, batched over
    leading dimensions: the autograd gradients of ``linear_byol_expected`` (sympy proves the
    formulas in ``derivation_identities``), without autograd's per-call overhead."""
    R = W @ theta @ A - xi @ B
    return 2 * W.swapaxes(-1, -2) @ R, 2 * R @ theta.swapaxes(-1, -2)


def train_jointly(theta, W, A, B, steps: int, lr: float = 0.05, tau: float = 0.99, xi=None):
    """Gradient descent on θ and W (batched runs) with the target ξ an EMA of θ (eq. 5 / 64),
    starting from ξ = θ unless ``xi`` is given: the linear model of Appendix H trained the way
    BYOL trains. Returns (θ, W, ξ) as arrays."""
    theta, W, A, B = (torch.tensor(np.asarray(M, dtype=np.float64)) for M in (theta, W, A, B))
    xi = theta.clone() if xi is None else torch.tensor(np.asarray(xi, dtype=np.float64))
    for _ in range(steps):
        g_theta, g_W = expected_gradients(theta, xi, W, A, B)
        theta -= lr * g_theta
        W -= lr * g_W
        ema_update([xi], [theta], tau=tau)
    return theta.numpy(), W.numpy(), xi.numpy()


def random_invertible(rng, n: int, log_cond: float) -> np.ndarray:
    """U·diag(e^s)·V with U, V random orthogonal and s spread evenly over ±log_cond/2:
    cond = e^log_cond."""
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return U @ np.diag(np.exp(np.linspace(-log_cond / 2, log_cond / 2, n))) @ V
