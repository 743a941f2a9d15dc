"""Appendix H's derivation, eqs. 58–68, in the linear model: f_θ = θ, f_ξ = ξ, q_w = W, all
n×n (the shapes force m = n: Wθx1 and ξ_{k,:}x2 for k ≤ m need it), the per-sample loss
‖Wθx1 − ξx2‖² (``theory.objectives.squared_distance``, eq. 57's integrand) and the expected loss
(``theory.objectives.linear_byol_expected``).

``line_residuals`` checks each line of eqs. 58–60 for single samples against autograd;
``sample_residuals`` checks eqs. 62–63 (E and ∂ exchanged), 65–66 (ξ = θ substituted after
differentiating, as the stop-gradient does) and the two lines of eq. 67 over sets of samples.
Both take batches (one matrix copy per sample, so that autograd gives per-sample gradients)
and are differentiable, so that ``theory.search`` can maximise them. Each residual is relative
to the magnitudes of the terms involved, which bound its round-off."""

import torch

from theory import objectives as obj
from theory.appH.linear_model import expected_gradients, residual_matrix


def _mv(M, x):
    return (M @ x[..., None])[..., 0]


def per_sample_loss(theta, W, xi, x1, x2):
    """‖Wθx1 − ξx2‖² per row (eq. 57's integrand); ξ is the target (no gradient)."""
    flat = lambda v: v.reshape(-1, v.shape[-1])  # noqa: E731
    loss = obj.squared_distance(flat(_mv(W @ theta, x1)), flat(_mv(xi.detach(), x2)))
    return loss.reshape(x1.shape[:-1])


def _T(theta, W, xi, x1, x2):
    return _mv(W @ theta, x1) - _mv(xi, x2)


def _norm(M, dims=(-2, -1)):
    return M.pow(2).sum(dims).sqrt()


def _gap(a, b, scale, dims=(-2, -1)):
    gap = (a - b).abs().amax(dims)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.where(scale > 0, gap / safe, torch.where(gap > 0, torch.inf, 0.0))


def written_line3(theta, W, xi, x1, x2):
    """Eq. 58, line 3 as written: Σ_k 2T_k W_{k,:}(x1)_j, a row vector for each (i, j) (it does not
    depend on i): returned as [..., j, l]."""
    return torch.einsum("...k,kl,...j->...jl", 2 * _T(theta, W, xi, x1, x2), W, x1)


def _copies(M, batch):
    return M.expand(*batch, *M.shape).clone().requires_grad_(True)


def _grads(outputs, inputs, create_graph):
    return torch.autograd.grad(outputs, inputs, create_graph=create_graph, retain_graph=True)


def _component_lines(T, thetas, Ws, create_graph):
    """Σ_k ∂(T_k²)/∂p and Σ_k 2T_k ∂T_k/∂p for p = θ, W, each ∂ by its own backward pass."""
    squares, chains = [0, 0], [0, 0]
    for k in range(T.shape[-1]):
        for index, g in enumerate(_grads((T[..., k] ** 2).sum(), (thetas, Ws), create_graph)):
            squares[index] = squares[index] + g
        for index, g in enumerate(_grads(T[..., k].sum(), (thetas, Ws), create_graph)):
            chains[index] = chains[index] + 2 * T[..., k, None, None] * g
    return squares, chains


def line_residuals(theta, W, xi, x1, x2) -> dict:
    """Every line of eqs. 58–60 at samples x1, x2 (B, n), against autograd's derivatives."""
    outer = torch.is_grad_enabled()
    with torch.enable_grad():
        thetas, Ws = _copies(theta, x1.shape[:-1]), _copies(W, x1.shape[:-1])
        T = _T(thetas, Ws, xi, x1, x2)
        d_theta, d_W = _grads(per_sample_loss(thetas, Ws, xi, x1, x2).sum(), (thetas, Ws), outer)
        squares, chains = _component_lines(T, thetas, Ws, outer)
    T = _T(theta, W, xi, x1, x2)
    n1 = x1.pow(2).sum(-1).sqrt()
    size_T = _norm(W) * _norm(theta) * n1 + _norm(xi) * x2.pow(2).sum(-1).sqrt()
    s_theta, s_W = 2 * size_T * _norm(W) * n1, 2 * size_T * _norm(theta) * n1
    theta_x1, outer_product = _mv(theta, x1), lambda a, b: a[..., :, None] * b[..., None, :]  # noqa: E731
    g60 = expected_gradients(theta, xi, W, outer_product(x1, x1), outer_product(x2, x1))
    lines = {
        "58.1": (squares[0], d_theta, s_theta),
        "58.2": (chains[0], d_theta, s_theta),
        "58.3*": (torch.einsum("...k,ki,...j->...ij", 2 * T, W, x1), d_theta, s_theta),
        "58.4": (2 * outer_product(_mv(W.T, T), x1), d_theta, s_theta),
        "59.1": (squares[1], d_W, s_W),
        "59.2": (chains[1], d_W, s_W),
        "59.3": (
            torch.einsum("...k,...j,ki->...ij", 2 * T, theta_x1, torch.eye(len(W), dtype=W.dtype)),
            d_W,
            s_W,
        ),
        "59.4": (2 * T[..., :, None] * (theta * x1[..., None, :]).sum(-1)[..., None, :], d_W, s_W),
        "59.5": (2 * outer_product(T, theta_x1), d_W, s_W),
    }
    out = {k: _gap(*v) for k, v in lines.items()}
    out["60"] = torch.maximum(_gap(g60[0], d_theta, s_theta), _gap(g60[1], d_W, s_W))
    # [..., i, j, l], the same for every i
    written = written_line3(theta, W, xi, x1, x2)[..., None, :, :]
    out["58.3"] = _gap(written, d_theta[..., None], s_theta, dims=(-3, -2, -1))
    return out


def moments(X1, X2):
    """A = E[x1x1ᵀ], B = E[x2x1ᵀ] over the samples (..., N, n), as
    ``theory.appH.linear_model.moments`` computes them, in torch so that the search can
    differentiate them."""
    N = X1.shape[-2]
    return X1.transpose(-1, -2) @ X1 / N, X2.transpose(-1, -2) @ X1 / N


def _per_sample_mean(theta, W, xi, X1, X2, create_graph):
    """The mean over samples of autograd's per-sample ∂/∂θ, ∂/∂W (one matrix copy each)."""
    with torch.enable_grad():
        thetas, Ws = _copies(theta, X1.shape[:-1]), _copies(W, X1.shape[:-1])
        grads = _grads(per_sample_loss(thetas, Ws, xi, X1, X2).sum(), (thetas, Ws), create_graph)
    return [g.mean(-3) for g in grads]


def sample_residuals(theta, W, xi, X1, X2) -> dict:
    """Eqs. 62–63, 65–66 and 67's two lines over sets of samples X1, X2 (B, N, n). Eqs. 62–63
    compare the mean of per-sample gradients with ∂E/∂θ, ∂E/∂W in closed form
    (``expected_gradients``, which ``expected_autograd`` checks against autograd)."""
    outer = torch.is_grad_enabled()
    mean_theta, mean_W = _per_sample_mean(theta, W, xi, X1, X2, outer)
    at_teacher = _per_sample_mean(theta, W, theta, X1, X2, outer)
    A, B = moments(X1, X2)
    expected = expected_gradients(theta, xi, W, A, B)
    R = (_mv(W @ theta, X1) - _mv(theta, X2))[..., :, None] * X1[..., None, :]
    R = R.mean(-3)
    n1, n2 = X1.pow(2).sum(-1).sqrt(), X2.pow(2).sum(-1).sqrt()
    x_size = (n1 * (_norm(W) * _norm(theta) * n1 + _norm(xi) * n2)).mean(-1)
    x_teacher = (n1 * (_norm(W) * _norm(theta) * n1 + _norm(theta) * n2)).mean(-1)
    closed = residual_matrix(theta, W, A, B)
    moment_size = _norm(W) * _norm(theta) * _norm(A) + _norm(theta) * _norm(B)
    return {
        "62": _gap(mean_theta, expected[0], 2 * x_size * _norm(W)),
        "63": _gap(mean_W, expected[1], 2 * x_size * _norm(theta)),
        "65": _gap(at_teacher[0], 2 * W.T @ R, 2 * x_teacher * _norm(W)),
        "66": _gap(at_teacher[1], 2 * R @ theta.T, 2 * x_teacher * _norm(theta)),
        "67.1": _gap(W.T @ R, W.T @ closed, (x_teacher + moment_size) * _norm(W)),
        "67.2": _gap(R @ theta.T, closed @ theta.T, (x_teacher + moment_size) * _norm(theta)),
    }


def expected_autograd(theta, W, xi, X1, X2) -> float:
    """Eqs. 62–63's right-hand side by autograd of ``linear_byol_expected`` (one set of samples
    (N, n)) against ``expected_gradients``, relative."""
    A, B = moments(X1, X2)
    t, w = theta.clone().requires_grad_(True), W.clone().requires_grad_(True)
    with torch.enable_grad():
        grads = torch.autograd.grad(obj.linear_byol_expected(t, xi, w, A, B), (t, w))
    closed = expected_gradients(theta, xi, W, A, B)
    return max(float(_gap(g, c, _norm(c) + _norm(g))) for g, c in zip(grads, closed))


def stop_gradient_matters(theta, W, X1, X2) -> float:
    """‖∂/∂θ E‖Wθx1 − θx2‖² − (the same with ξ = θ held fixed)‖ relative to the latter: what
    substituting ξ = θ before differentiating would change (eqs. 65–66 substitute after)."""
    held = _per_sample_mean(theta, W, theta, X1[None], X2[None], False)[0][0]
    t = theta.clone().requires_grad_(True)
    with torch.enable_grad():
        unheld = obj.squared_distance(_mv(W @ t, X1), _mv(t, X2)).mean()
        (g,) = torch.autograd.grad(unheld, t)
    return float(_norm(g - held) / _norm(held))


def kron(a, b):
    """The Kronecker product of square matrices, batched over leading dimensions (torch.kron
    multiplies the batch dimensions too)."""
    n, m = a.shape[-1], b.shape[-1]
    return (a[..., :, None, :, None] * b[..., None, :, None, :]).reshape(
        *a.shape[:-2], n * m, n * m
    )


def kronecker_residual(W, C, theta):
    """Eq. 68 as written, I_m ⊗ W − (BA⁻¹)ᵀ ⊗ I_n with m = n, on vec θ (columns stacked),
    against vec(Wθ − θC), relative to the terms' magnitudes; batched over leading dims."""
    n = W.shape[-1]
    eye = torch.eye(n, dtype=W.dtype)
    K = kron(eye.expand_as(W), W) - kron(C.transpose(-1, -2), eye.expand_as(C))
    vec = lambda M: M.transpose(-1, -2).reshape(*M.shape[:-2], n * n)  # noqa: E731
    scale = (_norm(W) + _norm(C)) * _norm(theta)
    return _gap(_mv(K, vec(theta)), vec(W @ theta - theta @ C), scale, dims=-1)
