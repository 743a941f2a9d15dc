"""The tangential-gradient Remark after Theorem 5.1: with λ = sg(⟨z, z̄⟩) ≠ 0, the gradient in z
of ‖z̄ − λz‖²/λ is the tangential component, at z on the unit sphere, of the gradient of
‖z̄ − z‖²."""

import sympy
import torch

from theory import objectives as obj
from theory.claims import Claim, Effort, Family, Finding, Quote, fact
from theory.search import DIMS, search
from theory.wording import search_sentences

# Relative to 2‖z̄‖, which bounds both gradients (each is −2 P_z z̄). The two are computed along
# different float64 paths, each a handful of dot products of length D ≤ 128: their round-off is
# below a few hundred ulps, far under 1e-12.
TOLERANCE = 1e-12

# Below this |λ|, λ·z̄ is subnormal and 1/λ near overflow: float64 cannot represent the form.
# Such cases are scored 0 and lie outside the claim's hypothesis λ ≠ 0 only numerically.
LAMBDA_FLOOR = 1e-300


def gradients(z: torch.Tensor, z_bar: torch.Tensor, create_graph: bool = False):
    """Per row: the autograd gradient in z of the tangential form, and the tangential
    component at z of the autograd gradient in z of ‖z̄ − z‖², both from theory.objectives."""
    with torch.enable_grad():
        if not z.requires_grad:
            z = z.detach().requires_grad_(True)
        options = dict(sphere=False, reduction="none")
        tangential = obj.cross_model(z, z_bar, tangential=True, validate=False, **options)
        plain = obj.cross_model(z, z_bar, **options)
        (g_tangential,) = torch.autograd.grad(tangential.sum(), z, create_graph=create_graph)
        (g_plain,) = torch.autograd.grad(plain.sum(), z, create_graph=create_graph)
    projected = g_plain - (g_plain * z).sum(-1, keepdim=True) * z
    if not create_graph:
        return g_tangential.detach(), projected.detach()
    return g_tangential, projected


def mismatch(v: torch.Tensor, alpha=None, beta=None) -> torch.Tensor:
    """Search score: ‖∇_z form − P_z ∇_z‖z̄ − z‖²‖ / (2‖z̄‖) for v = (z, z̄) per row."""
    z, z_bar = v[:, 0], v[:, 1]
    inside = (z * z_bar).sum(-1).abs() >= LAMBDA_FLOOR
    z_bar = torch.where(inside.unsqueeze(-1), z_bar, z)
    g_tangential, projected = gradients(z, z_bar, create_graph=torch.is_grad_enabled())
    score = (g_tangential - projected).norm(dim=-1) / (2 * z_bar.norm(dim=-1))
    return torch.where(inside, score, torch.zeros_like(score))


def symbolic_difference(dim: int) -> sympy.Expr:
    """∇_z[‖z̄ − λz‖²/λ] − P_z ∇_z‖z̄ − z‖² in components for dimension ``dim`` (λ held
    constant: the stop-gradient), minus 2(‖z‖² − 1)z; zero when the Remark is exact."""
    z = sympy.Matrix(sympy.symbols(f"z1:{dim + 1}", real=True))
    z_bar = sympy.Matrix(sympy.symbols(f"zbar1:{dim + 1}", real=True))
    lam = sympy.Symbol("lambda", real=True, nonzero=True)
    form = (z_bar - lam * z).dot(z_bar - lam * z) / lam
    plain = (z_bar - z).dot(z_bar - z)
    grad_form = sympy.Matrix([sympy.diff(form, c) for c in z]).subs(lam, z.dot(z_bar))
    grad_plain = sympy.Matrix([sympy.diff(plain, c) for c in z])
    projected = grad_plain - grad_plain.dot(z) * z
    off_sphere = 2 * (z.dot(z) - 1) * z
    return sympy.simplify(sympy.expand(grad_form - projected - off_sphere))


def check(effort: Effort) -> Finding:
    report = search(mismatch, k=2, dims=DIMS, effort=effort, weights=False)
    worst = report.worst.score
    dims = list(range(2, 7))
    proven = all(symbolic_difference(d) == sympy.zeros(d, 1) for d in dims)
    evidence = report.facts() + [
        fact("symbolic-difference", dims=dims, proven=proven),
        fact("lambda-floor", floor=LAMBDA_FLOOR),
    ]
    common = dict(
        worst=worst, tolerance=TOLERANCE, sampled=report.sampled, searched=report.searched
    )
    if worst <= TOLERANCE:
        return Finding("holds", evidence=evidence, **common)
    z, z_bar = report.worst.vectors
    g_tangential, projected = gradients(torch.tensor(z)[None], torch.tensor(z_bar)[None])
    counterexample = {
        "z": z.tolist(),
        "z_bar": z_bar.tolist(),
        "grad_form": g_tangential[0].tolist(),
        "tangential_grad": projected[0].tolist(),
        "mismatch": worst,
    }
    if proven:
        evidence.append(fact("round-off"))
    return Finding(
        "inconclusive" if proven else "fails",
        evidence=evidence,
        counterexample=counterexample,
        **common,
    )


WORDING = {
    **search_sentences("relative gradient mismatch"),
    "symbolic-difference": lambda f: (
        f"sympy proof, component-wise for D = {f['dims'][0]}…{f['dims'][-1]}: ∇_z[‖z̄ − λz‖²/λ] − "
        "(I − zzᵀ)∇_z‖z̄ − z‖² = 2(‖z‖² − 1)z, zero exactly on the unit sphere (and only there, "
        "for z ≠ 0)"
        if f["proven"]
        else "sympy: the component-wise difference did not reduce to 2(‖z‖² − 1)z"
    ),
    "lambda-floor": lambda f: (
        f"cases with |λ| < {f['floor']:g} are scored 0 (float64 cannot represent the form there)"
    ),
    "round-off": lambda f: (
        "float64 disagrees with the exact proof: round-off, not a counterexample"
    ),
}

FAMILY = Family(
    name="The tangential-gradient Remark (after Theorem 5.1)",
    order=50,
    doc="docs/claims/tangent.md",
    wording=WORDING,
    claims=(
        Claim(
            "tangent-remark",
            title="the Remark's ‖z̄ − λz‖²/λ has the tangential gradient of ‖z̄ − z‖² on the unit sphere",
            source="Remark after Theorem 5.1 (Section 5)",
            statement="For unit z, z̄ with λ = sg(⟨z, z̄⟩) ≠ 0, the gradient with respect to z of "
            "‖z̄ − λz‖²/λ equals the tangential component at z (on the unit sphere) of the gradient of "
            "‖z̄ − z‖², in every D ≥ 2. worst = the largest ‖difference‖/(2‖z̄‖) found.",
            form="autograd ∇_z cross_model(z, z̄, tangential=True, sphere=False) = (I − zzᵀ) ∇_z "
            "cross_model(z, z̄, sphere=False)",
            check=check,
            reading="as written",
            paper_text=Quote(
                "Remark after Theorem 5.1",
                r"the cross-model loss  $\|\bar{z} - z\|_2^2$  can be revised as  $\|\bar{z} - \lambda z\|_2^2/\lambda$ , where  $\lambda = \text{sg}(\langle z, \bar{z} \rangle)$  stands for stopping gradient of the inner product of  $z$  and  $\bar{z}$ .",
            ),
        ),
    ),
)
