"""Every loss and metric of the RAFT paper (Shi et al., "Run Away From your Teacher"), once.

Inputs are batches of raw vectors of shape (N, D). With ``sphere=True`` (the default, the
paper's setting: "the vectors in the representation space are automatically l2-normalized",
Sec. 2.1) every function l2-normalises inside. ``p1, p2`` are online predictions
q_w(f_θ(x1)), q_w(f_θ(x2)); ``t1, t2`` are the mean teacher's f_ξ(x1), f_ξ(x2). The teacher
never receives a gradient (its parameters follow the EMA of eq. 5), so teacher arguments are
detached here.

``reduction="mean"`` averages over the batch (the expectations of the paper);
``reduction="none"`` returns one value per row, for checks that need per-sample values.

Every function refuses, with a ValueError, what would broadcast into a wrong value or give no
value at all: an input that is not a real floating (N, D) batch with N ≥ 1 and D ≥ 1, inputs
of different shapes, and fewer than 2 vectors where pairs are needed. These checks read shapes
and dtypes only, never tensor values, and so run with ``validate=False`` too.

``validate=True`` also raises a clear error on degenerate values (a zero or non-finite vector,
λ = 0 in the tangential form). Those checks read tensor values and so synchronise with the
device; training's hot path passes ``validate=False`` and checks the loss once per epoch.
"""

import math

import torch


def _batches(function: str, least: int = 1, **batches: torch.Tensor) -> None:
    """Refuse anything but real floating (N, D) batches of one shape with N ≥ ``least`` and
    D ≥ 1, naming ``function`` and the argument. Reads shapes and dtypes only: no device read."""
    for name, z in batches.items():
        if not torch.is_tensor(z):
            kind = type(z).__name__
            raise ValueError(f"{function}: {name} must be a tensor of shape (N, D), got {kind}")
        if not z.is_floating_point():
            raise ValueError(f"{function}: {name} must be real floating point, got {z.dtype}")
        if z.dim() != 2 or z.shape[1] < 1:
            raise ValueError(f"{function}: {name} must have shape (N, D), got {tuple(z.shape)}")
    shapes = {name: tuple(z.shape) for name, z in batches.items()}
    if len(set(shapes.values())) > 1:
        described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{function} needs batches of one shape (N, D), got {described}")
    n = next(iter(shapes.values()))[0]
    if n < least:
        needed = "vector" if least == 1 else "vectors"
        raise ValueError(f"{function} needs at least {least} {needed}, got {n}")


def unit(z: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
    """The rows of z projected onto the unit hypersphere, z/‖z‖₂ (Sec. 2.1)."""
    norm = z.norm(dim=-1, keepdim=True)
    if validate:
        bad = (norm == 0) | ~torch.isfinite(norm)
        if bool(bad.any()):
            row = int(bad.flatten().nonzero()[0])
            value = float(norm.flatten()[row])
            raise ValueError(
                f"cannot l2-normalise row {row}: its norm is {value} "
                f"({_why_no_direction(z.reshape(-1, z.shape[-1])[row], value)})"
            )
    return z / norm


def _why_no_direction(vector: torch.Tensor, norm: float) -> str:
    if not bool(torch.isfinite(vector).all()):
        return "a non-finite vector has no direction on the hypersphere"
    if not bool(vector.any()):
        return "the zero vector has no direction on the hypersphere"
    fault = "underflows to 0" if norm == 0 else "overflows"
    return f"the vector is finite and non-zero, but its norm {fault} in {vector.dtype}: rescale it"


def squared_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖a − b‖₂² per row: the integrand of eqs. 2, 4 and 6."""
    return (a - b).pow(2).sum(dim=-1)


def tangential_squared_distance(
    z: torch.Tensor, z_bar: torch.Tensor, *, validate: bool = True
) -> torch.Tensor:
    """‖z̄ − λz‖₂²/λ per row with λ = sg(⟨z, z̄⟩) (Remark after Theorem 5.1).

    For unit z its gradient in z is the tangential component (at z, on the sphere) of the
    gradient of ‖z̄ − z‖₂²; ``theory.tangent`` checks that claim.
    """
    lam = (z * z_bar).sum(dim=-1).detach()
    if validate:
        bad = (lam == 0) | ~torch.isfinite(1.0 / lam)
        if bool(bad.any()):
            row = int(bad.nonzero()[0])
            raise ValueError(
                f"tangential form undefined at row {row}: λ = ⟨z, z̄⟩ = {float(lam[row])!r} "
                "(z ⟂ z̄ makes ‖z̄ − λz‖²/λ divide by zero)"
            )
    return squared_distance(z_bar, lam.unsqueeze(-1) * z) / lam


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean' or 'none', not {reduction!r}")


def _weights(alpha, beta, rows: int) -> None:
    """α, β > 0 (Definitions 4.2 and 4.3); numbers, or tensors of per-row weights: of shape ()
    or (N,) for a batch of N rows, since any other shape would broadcast the loss wrongly."""
    for name, value in (("alpha", alpha), ("beta", beta)):
        if isinstance(value, (int, float)):  # checked on the host: no tensor, no device read
            ok = math.isfinite(value) and value > 0
        else:
            v = torch.as_tensor(value)
            if v.is_complex() or v.shape not in ((), (rows,)):
                raise ValueError(
                    f"{name} must be a real number or a tensor of per-row weights of shape () "
                    f"or ({rows},), got {v.dtype} of shape {tuple(v.shape)}"
                )
            ok = bool(torch.all(torch.isfinite(v) & (v > 0)))
        if not ok:
            raise ValueError(
                f"{name} must be a finite number > 0 (Definitions 4.2 and 4.3), got {value!r}"
            )


def alignment(
    z1: torch.Tensor,
    z2: torch.Tensor,
    *,
    sphere: bool = True,
    reduction: str = "mean",
    validate: bool = True,
) -> torch.Tensor:
    """L_align = E‖f(x1) − f(x2)‖₂² over positive pairs (Definition 2.1, eq. 2)."""
    _batches("alignment", z1=z1, z2=z2)
    if sphere:
        z1, z2 = unit(z1, validate=validate), unit(z2, validate=validate)
    return _reduce(squared_distance(z1, z2), reduction)


def uniformity(z: torch.Tensor, t: float = 2.0, *, validate: bool = True) -> torch.Tensor:
    """L_uniform = log E exp(−t‖f(x) − f(y)‖₂²) over distinct pairs (Definition 2.2, eq. 3).

    As Wang & Isola's reference, ``torch.pdist(x).pow(2).mul(-t).exp().mean().log()``, computed
    as a log-sum-exp so that it stays finite when every pair is far apart.
    """
    _batches("uniformity", least=2, z=z)
    if not t > 0:
        raise ValueError(f"uniformity's temperature t must be > 0, got {t!r}")
    squared = torch.pdist(unit(z, validate=validate)).pow(2)
    return torch.logsumexp(-t * squared, dim=0) - math.log(squared.numel())


def cross_model(
    p: torch.Tensor,
    t: torch.Tensor,
    *,
    tangential: bool = False,
    sphere: bool = True,
    reduction: str = "mean",
    validate: bool = True,
) -> torch.Tensor:
    """L_cross-model = E‖f(x) − g(x)‖₂² between the online p and the teacher t (Definition 4.1,
    eq. 6). ``tangential=True`` uses the Remark's form ‖t − λp‖²/λ, λ = sg(⟨p, t⟩)."""
    _batches("cross_model", p=p, t=t)
    t = t.detach()
    if sphere:
        p, t = unit(p, validate=validate), unit(t, validate=validate)
    if tangential:
        values = tangential_squared_distance(p, t, validate=validate)
    else:
        values = squared_distance(p, t)
    return _reduce(values, reduction)


def symmetric_cross_model(
    p1: torch.Tensor, p2: torch.Tensor, t1: torch.Tensor, t2: torch.Tensor, **options
) -> torch.Tensor:
    """½[L_cross-model on view 1 + L_cross-model on view 2], the form Definition 4.2 adopts
    "for the sake of symmetry" and Algorithm 1 (line 8) computes."""
    _batches("symmetric_cross_model", p1=p1, p2=p2, t1=t1, t2=t2)
    return 0.5 * (cross_model(p1, t1, **options) + cross_model(p2, t2, **options))


def byol(p1: torch.Tensor, t2: torch.Tensor, **options) -> torch.Tensor:
    """L_BYOL = E‖q_w(f_θ(x1)) − f_ξ(x2)‖₂² (eq. 4): the online prediction of view 1 against
    the teacher's view 2. Options as ``cross_model`` (``tangential=True``: TanBYOL)."""
    _batches("byol", p1=p1, t2=t2)
    return cross_model(p1, t2, **options)


def byol_symmetric(
    p1: torch.Tensor, p2: torch.Tensor, t1: torch.Tensor, t2: torch.Tensor, **options
) -> torch.Tensor:
    """½[L_BYOL(p1, t2) + L_BYOL(p2, t1)]: eq. 4 with the roles of the views swapped and
    averaged, as BYOL trains (Grill et al., 2020, eq. 2)."""
    _batches("byol_symmetric", p1=p1, p2=p2, t1=t1, t2=t2)
    return 0.5 * (byol(p1, t2, **options) + byol(p2, t1, **options))


def _weighted_alignment(p1, p2, alpha, beta, options: dict) -> torch.Tensor:
    """α·L_align after checking α, β > 0; the tangential option belongs to the cross-model
    term alone."""
    _weights(alpha, beta, rows=p1.shape[0])
    return alpha * alignment(p1, p2, **{k: v for k, v in options.items() if k != "tangential"})


def byol_prime_one_view(
    p1: torch.Tensor,
    p2: torch.Tensor,
    t2: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
    **options,
) -> torch.Tensor:
    """α L_align(q_w∘f_θ) + β L_cross-model(q_w∘f_θ, f_ξ; X₂) exactly as eq. 7 writes it:
    the cross-model term on the second view only (as in eq. 13)."""
    _batches("byol_prime_one_view", p1=p1, p2=p2, t2=t2)
    return _weighted_alignment(p1, p2, alpha, beta, options) + beta * cross_model(p2, t2, **options)


def byol_prime(
    p1: torch.Tensor,
    p2: torch.Tensor,
    t1: torch.Tensor,
    t2: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
    **options,
) -> torch.Tensor:
    """L_BYOL' = α L_align(q_w∘f_θ) + β L_cross-model(q_w∘f_θ, f_ξ) (Definition 4.2, eqs. 7
    and 10), the cross-model term symmetrised over the two views as Algorithm 1 computes.
    ``tangential=True`` (TanBYOL') replaces the cross-model term by its tangential form."""
    _batches("byol_prime", p1=p1, p2=p2, t1=t1, t2=t2)
    cross = symmetric_cross_model(p1, p2, t1, t2, **options)
    return _weighted_alignment(p1, p2, alpha, beta, options) + beta * cross


def raft(
    p1: torch.Tensor,
    p2: torch.Tensor,
    t1: torch.Tensor,
    t2: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
    **options,
) -> torch.Tensor:
    """L_RAFT = α L_align(q_w∘f_θ) − β L_cross-model(q_w∘f_θ, f_ξ) (Definition 4.3, eqs. 9 and
    11; Algorithm 1), with β > 0: running away from the mean teacher. Table 3 prints this β
    with a minus sign. ``tangential=True`` (TanRAFT) as in ``byol_prime``."""
    _batches("raft", p1=p1, p2=p2, t1=t1, t2=t2)
    cross = symmetric_cross_model(p1, p2, t1, t2, **options)
    return _weighted_alignment(p1, p2, alpha, beta, options) - beta * cross


def embedding_std(z: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
    """Mean over dimensions of the batch standard deviation of the l2-normalised embeddings:
    0 under complete collapse, about 1/√D when they spread uniformly over the sphere
    (the collapse indicator of Chen & He, 2021, Sec. 4.1)."""
    _batches("embedding_std", least=2, z=z)  # a standard deviation needs two samples
    return unit(z, validate=validate).std(dim=0).mean()


def effective_rank(z: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
    """exp(entropy) of the normalised eigenvalue spectrum of the covariance of the
    l2-normalised embeddings (Roy & Vetterli, 2007): 1 when they collapse onto a line,
    D when they fill every direction equally (dimensional collapse indicator)."""
    _batches("effective_rank", least=2, z=z)  # a covariance needs two samples
    centred = unit(z, validate=validate)
    centred = centred - centred.mean(dim=0)
    spectrum = torch.linalg.svdvals(centred).pow(2)
    tiny = torch.finfo(spectrum.dtype).tiny
    p = spectrum / spectrum.sum().clamp_min(tiny)
    return torch.exp(-(p * torch.log(p.clamp_min(tiny))).sum())


def linear_byol_expected(
    theta: torch.Tensor,
    xi: torch.Tensor,
    W: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    A2: torch.Tensor | None = None,
) -> torch.Tensor:
    """E‖Wθx1 − ξx2‖₂² for Appendix H's linear model (eq. 57; f_θ = θ, f_ξ = ξ, q_w = W, no
    l2-normalisation), in closed form from the moments A = E[x1x1ᵀ], B = E[x2x1ᵀ] and
    A2 = E[x2x2ᵀ]: tr(WθAθᵀWᵀ) − 2 tr(WθBᵀξᵀ) + tr(ξA2ξᵀ).

    ξ is the target: detached (eqs. 62–63 differentiate in θ and W only). A2 contributes only
    the constant tr(ξA2ξᵀ), which carries no gradient; ``A2=None`` drops it (the loss up to that
    constant). Shapes: θ, ξ (d, n); W (d, d); A, B, A2 (n, n)."""
    if theta.dim() != 2:
        raise ValueError(f"theta must be a (d, n) matrix, got shape {tuple(theta.shape)}")
    d, n = theta.shape
    expected = {
        "xi": (xi, (d, n)),
        "W": (W, (d, d)),
        "A": (A, (n, n)),
        "B": (B, (n, n)),
        "A2": (A2, (n, n)),
    }
    for name, (value, shape) in expected.items():
        if value is not None and tuple(value.shape) != shape:
            raise ValueError(
                f"{name} has shape {tuple(value.shape)}, expected {shape} for θ of shape {(d, n)} "
                "(θ, ξ: d×n; W: d×d; A, B, A2: n×n)"
            )
    xi = xi.detach()
    online = W @ theta
    value = ((online @ A) * online).sum() - 2 * ((online @ B.T) * xi).sum()
    if A2 is not None:
        value = value + ((xi @ A2) * xi).sum()
    return value
