"""Appendix G's vector algebra on the unit sphere: eqs. 33–36, 41, 46, and the coefficient
form of its tangential gradients (eqs. 31–32, 39–40, 44–45, 50–51).

Each step of Appendix G that is about gradients has the form Σ_i ⟨c_i, ∂z_i/∂p⟩: a coefficient
vector c_i per representation z_i, contracted with the derivative of z_i, which (z_i being
l2-normalised) is tangent to the sphere at z_i. Such a step holds for every network exactly
when its coefficients agree after projection onto the tangent space at z_i, a statement about
unit vectors alone. Each ``Lemma`` below is one such statement: a torch score for
``theory.search`` (its relative violation, larger is worse, measured against the magnitudes of
its terms, which is what round-off is proportional to) and a sympy identity over the Gram
matrix (hence for every dimension D at once), with what remains off the unit sphere.
"""

from dataclasses import dataclass
from functools import cache
from typing import Callable

import sympy
import torch

from theory import objectives
from theory.steps.calculus import unit_jacobian_proof
from theory.symbolic import Gram, Vector


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1, keepdim=True)


def tangential(v, z):
    """v_∥ = v − ⟨v, z⟩z (eq. 34), rows of torch tensors or ``theory.symbolic`` vectors."""
    if isinstance(v, Vector):
        return v - (v @ z) * z
    return v - dot(v, z) * z


def _norm(v: torch.Tensor) -> torch.Tensor:
    return v.norm(dim=-1)


def _ratio(gap: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """gap/scale, 0 where both vanish (an identity between zeros holds)."""
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.where(scale > 0, gap / safe, torch.where(gap > 0, torch.inf, 0.0))


def decomposition(v, alpha=None, beta=None):
    """Eq. 33: w_∥ + w_⊥ = w for w = z1 − z2 at z2."""
    z1, z2 = v[:, 0], v[:, 1]
    w = z1 - z2
    normal = dot(w, z2) * z2
    return _ratio(_norm((w - normal) + normal - w), _norm(w) + 2 * _norm(normal))


def orthogonal(v, alpha=None, beta=None):
    """Eq. 34: ⟨v_∥, z⟩ = 0 at a unit z (v_∥ is tangent, v_⊥ = ⟨v, z⟩z normal)."""
    w, z = v[:, 0], v[:, 1]
    return _ratio(dot(tangential(w, z), z)[:, 0].abs(), _norm(w) + dot(w, z)[:, 0].abs())


def eq35(v, alpha=None, beta=None):
    """Eq. 35: (z1 − z2) − ⟨z1 − z2, z2⟩z2 = z1 − ⟨z2, z1⟩z2."""
    z1, z2 = v[:, 0], v[:, 1]
    w = z1 - z2
    lhs, rhs = w - dot(w, z2) * z2, z1 - dot(z2, z1) * z2
    scale = _norm(w) + dot(w, z2)[:, 0].abs() + _norm(z1) + dot(z2, z1)[:, 0].abs()
    return _ratio(_norm(lhs - rhs), scale)


def mirror(v, alpha=None, beta=None):
    """Eqs. 36 and 46: with z'_i = −z_i, (z'1 − z'2)_∥ at z'2 = −(z1 − z2)_∥ at z2."""
    z1, z2 = v[:, 0], v[:, 1]
    w = z1 - z2
    gap = tangential(-z1 - (-z2), -z2) + tangential(w, z2)
    return _ratio(_norm(gap), 2 * (_norm(w) + dot(w, z2)[:, 0].abs()))


def eq41(v, alpha=None, beta=None):
    """Eq. 41: with z'2 = −z2, (z̄2 − z'2)_∥ at z'2 = (z̄2 − z2)_∥ at z2."""
    z2, z_bar = v[:, 0], v[:, 1]
    plus, minus = z_bar + z2, z_bar - z2
    gap = tangential(plus, -z2) - tangential(minus, z2)
    scale = _norm(plus) + dot(plus, z2)[:, 0].abs() + _norm(minus) + dot(minus, z2)[:, 0].abs()
    return _ratio(_norm(gap), scale)


def wrong_point(v, alpha=None, beta=None):
    """Eqs. 31–32, 44–45 as written: the z1 term's coefficient projected at z2, P_{z2}(z1 − z2),
    against the tangential gradient's P_{z1}(z1 − z2), seen by tangent vectors at z1:
    ‖P_{z1}[P_{z2}(z1 − z2) − (z1 − z2)]‖/‖z1 − z2‖."""
    z1, z2 = v[:, 0], v[:, 1]
    w = z1 - z2
    return _ratio(_norm(tangential(tangential(w, z2) - w, z1)), _norm(w))


def own_point(v, alpha=None, beta=None):
    """The corrected eqs. 31–32, 44–45 (each term projected at its own point) and eqs. 39–40
    corrected, 50–51: against tangent vectors at z, w_∥ acts as w: P_z(P_z w − w) = 0, for
    w = z' − z (z' = the other view, or the teacher's z̄)."""
    z, other = v[:, 0], v[:, 1]
    w = other - z
    return _ratio(_norm(tangential(tangential(w, z) - w, z)), _norm(w) + dot(w, z)[:, 0].abs())


def unit_jacobian(u: torch.Tensor) -> torch.Tensor:
    """Autograd's Jacobian of ``theory.objectives.unit`` at each row of u, (B, D, D): one
    backward pass per output coordinate, differentiable itself when grad mode is on (the
    search's ascent differentiates the score)."""
    outer = torch.is_grad_enabled()
    with torch.enable_grad():
        leaf = u if u.requires_grad else u.detach().requires_grad_(True)
        z = objectives.unit(leaf, validate=False)
        rows = [
            torch.autograd.grad(z[:, k].sum(), leaf, create_graph=outer, retain_graph=True)[0]
            for k in range(z.shape[1])
        ]
    return torch.stack(rows, dim=1)


def jacobian_even(v, alpha, beta=None):
    """Eqs. 37, 47–48: the Jacobian of the l2-normalisation, by autograd, is even, J(−u) = J(u),
    at u = α·z1 (α sets the norm ‖u‖)."""
    u = alpha[:, None] * v[:, 0]
    J, J_minus = unit_jacobian(u), unit_jacobian(-u)
    return _ratio((J_minus - J).flatten(1).norm(dim=-1), J.flatten(1).norm(dim=-1))


@dataclass(frozen=True)
class Lemma:
    """A vector statement: its score over ``vectors`` unit vectors for ``theory.search``
    (``weights``: the search's α scales them), and its sympy result."""

    name: str
    vectors: int
    score: Callable
    symbolic: Callable[[], dict]
    weights: bool = False


# ---- the same statements in sympy, over the Gram matrix


def _vectors(names: str, unit: bool) -> tuple[Gram, list[Vector]]:
    g = Gram(names.split(), unit=unit)
    return g, g.vectors()


def _on_sphere(g: Gram, expr: sympy.Expr) -> sympy.Expr:
    return expr.subs({g(n, n): 1 for n in g.names})


def words(g: Gram, expr: sympy.Expr) -> str:
    """A Gram polynomial with ⟨a, b⟩ and ‖a‖² for its symbols."""
    names = {}
    for a in g.names:
        for b in g.names:
            symbol = g(a, b)
            if isinstance(symbol, sympy.Symbol):
                names[symbol] = sympy.Symbol(f"‖{a}‖²" if a == b else f"⟨{a},{b}⟩")
    return sympy.sstr(sympy.factor(expr).subs(names))


def vector_identity(g: Gram, difference: Vector, *, needs_unit: bool) -> dict:
    """Whether ``difference`` vanishes identically (on the unit sphere when ``needs_unit``),
    and, if it needs the sphere, what it is off it."""
    on = {
        n: sympy.cancel(_on_sphere(g, c) if needs_unit else c)
        for n, c in difference.coefficients.items()
    }
    identity = all(c == 0 for c in on.values())
    off = [
        f"({words(g, c)})·{n}" for n, c in difference.coefficients.items() if sympy.cancel(c) != 0
    ]
    return {"identity": identity, "method": "gram", "off_sphere": " + ".join(off) or None}


def _decomposition_proof() -> dict:
    g, (z1, z2) = _vectors("z1 z2", unit=False)
    w = z1 - z2
    return vector_identity(g, tangential(w, z2) + (w @ z2) * z2 - w, needs_unit=False)


def _orthogonal_proof() -> dict:
    g, (v, z) = _vectors("v z", unit=False)
    value = tangential(v, z) @ z
    return {
        "identity": sympy.cancel(_on_sphere(g, value)) == 0,
        "method": "gram",
        "off_sphere": words(g, value),
    }


def _eq35_proof() -> dict:
    g, (z1, z2) = _vectors("z1 z2", unit=False)
    w = z1 - z2
    return vector_identity(g, (w - (w @ z2) * z2) - (z1 - (z2 @ z1) * z2), needs_unit=True)


def _mirror_proof() -> dict:
    g, (z1, z2) = _vectors("z1 z2", unit=False)
    return vector_identity(g, tangential(-z1 + z2, -z2) + tangential(z1 - z2, z2), needs_unit=False)


def _eq41_proof() -> dict:
    g, (z2, z_bar) = _vectors("z2 zbar", unit=False)
    return vector_identity(
        g, tangential(z_bar + z2, -z2) - tangential(z_bar - z2, z2), needs_unit=True
    )


def _own_point_proof() -> dict:
    g, (z, w) = _vectors("z w", unit=False)
    return vector_identity(g, tangential(tangential(w, z) - w, z), needs_unit=True)


def _wrong_point_proof() -> dict:
    """On the sphere, with c = ⟨z1, z2⟩: ‖P_{z1}[P_{z2}w − w]‖²/‖w‖² = (1 − c)²(1 + c)/2 for
    w = z1 − z2, not identically 0; its supremum over c ∈ [−1, 1) and where it is reached."""
    g, (z1, z2) = _vectors("z1 z2", unit=True)
    w = z1 - z2
    seen = tangential(tangential(w, z2) - w, z1)
    c = g("z1", "z2")
    ratio = sympy.factor(sympy.cancel((seen @ seen) / (w @ w)))
    critical = [r for r in sympy.solve(sympy.diff(ratio, c), c) if -1 <= r < 1]
    top = max(critical, key=lambda r: ratio.subs(c, r))
    return {
        "identity": False,
        "method": "gram",
        "squared": words(g, ratio),
        "at": str(top),
        "supremum": str(sympy.sqrt(ratio.subs(c, top))),
        "supremum_value": float(sympy.sqrt(ratio.subs(c, top))),
    }


LEMMAS = {
    lemma.name: lemma
    for lemma in (
        Lemma("decomposition", 2, decomposition, _decomposition_proof),
        Lemma("orthogonal", 2, orthogonal, _orthogonal_proof),
        Lemma("eq35", 2, eq35, _eq35_proof),
        Lemma("mirror", 2, mirror, _mirror_proof),
        Lemma("eq41", 2, eq41, _eq41_proof),
        Lemma("wrong-point", 2, wrong_point, _wrong_point_proof),
        Lemma("own-point", 2, own_point, _own_point_proof),
        Lemma("jacobian-even", 1, jacobian_even, unit_jacobian_proof, weights=True),
    )
}


@cache
def proof(name: str) -> dict:
    """The sympy result of a lemma (computed once: it does not depend on the seed)."""
    return LEMMAS[name].symbolic()
