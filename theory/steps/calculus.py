"""Appendix G's calculus in sympy, component by component for D = 2 and 3: the chain rule of
eqs. 29–30, the Jacobian of the l2-normalisation (eqs. 37, 47–48), the raw derivative of
eqs. 47–48, and the factor by which eqs. 39–40's W·∂f/∂θ differs from ∂z/∂θ.

Representations are sympy functions of one parameter p (any θ_ij or W_ij), so each result
holds for every network: z(p) = u(p)/‖u(p)‖ with u(p) = W f_θ(x) arbitrary."""

from functools import cache

import sympy

DIMS = (2, 3)
P = sympy.Symbol("p", real=True)


def _functions(name: str, dim: int) -> sympy.Matrix:
    return sympy.Matrix([sympy.Function(f"{name}{k}", real=True)(P) for k in range(dim)])


def _unit(u: sympy.Matrix) -> sympy.Matrix:
    return u / sympy.sqrt(u.dot(u))


def _zero(M: sympy.Matrix) -> bool:
    return M.applyfunc(lambda e: sympy.simplify(sympy.expand(e))) == sympy.zeros(*M.shape)


@cache
def chain_rule_proof() -> dict:
    """Eqs. 29–30: d‖z1 − z2‖²/dp = 2[(z1 − z2)_∥ + (z1 − z2)_⊥]·(dz1/dp − dz2/dp), the
    decomposition taken at z2 as eq. 33 does, for arbitrary z1(p), z2(p)."""
    ok = True
    for dim in DIMS:
        z1, z2 = _functions("z1_", dim), _functions("z2_", dim)
        w = z1 - z2
        parallel, normal = w - w.dot(z2) * z2, w.dot(z2) * z2
        difference = sympy.diff(w.dot(w), P) - 2 * (parallel + normal).dot(z1.diff(P) - z2.diff(P))
        ok &= sympy.expand(difference) == 0
    return {"identity": ok, "method": "componentwise", "dims": list(DIMS)}


@cache
def unit_jacobian_proof() -> dict:
    """The Jacobian of u ↦ u/‖u‖ is (I − ẑẑᵀ)/‖u‖ (tangent at ẑ, scaled by 1/‖u‖) and even in
    u, J(−u) = J(u): so ∂(−z)/∂p = −∂z/∂p for z' = −z (eq. 37) and ∂z'/∂W' at W' = −W equals
    ∂z/∂W at W (eqs. 47–48 with the normalisation)."""
    formula_ok, even_ok = True, True
    for dim in DIMS:
        u = sympy.Matrix(sympy.symbols(f"u1:{dim + 1}", real=True))
        z = _unit(u)
        J = z.jacobian(u)
        formula = (sympy.eye(dim) - z * z.T) / sympy.sqrt(u.dot(u))
        formula_ok &= _zero(J - formula)
        even_ok &= _zero(J.subs({c: -c for c in u}, simultaneous=True) - J)
    return {
        "identity": formula_ok and even_ok,
        "method": "componentwise",
        "dims": list(DIMS),
        "formula": formula_ok,
        "even": even_ok,
    }


@cache
def odd_derivative_proof() -> dict:
    """Eq. 37: d[(−u)/‖−u‖]/dp = −d[u/‖u‖]/dp for arbitrary u(p)."""
    ok = True
    for dim in DIMS:
        u = _functions("u", dim)
        ok &= _zero(_unit(-u).diff(P) + _unit(u).diff(P))
    return {"identity": ok, "method": "componentwise", "dims": list(DIMS)}


@cache
def raw_derivative_proof() -> dict:
    """Eqs. 47–48 without the normalisation: ∂(Wf)/∂W_ij = e_i f_j does not depend on W, so
    it is the same at W' = −W and at W."""
    ok = True
    for dim in DIMS:
        W = sympy.Matrix(dim, dim, sympy.symbols(f"w0:{dim * dim}", real=True))
        f = sympy.Matrix(sympy.symbols(f"f0:{dim}", real=True))
        for i in range(dim):
            for j in range(dim):
                expected = sympy.zeros(dim, 1)
                expected[i] = f[j]
                ok &= (W * f).diff(W[i, j]) == expected
    return {"identity": ok, "method": "componentwise", "dims": list(DIMS)}


@cache
def raw_jacobian_factor_proof() -> dict:
    """Eqs. 39–40 contract (z̄2 − z2)_∥ with W·∂f/∂θ = ∂u/∂p, the raw derivative of
    u = W f_θ(x2), where the tangential gradient has ∂z/∂p, z = u/‖u‖: for every a,
    ⟨P_z a, ∂u/∂p⟩ = ‖u‖·⟨a, ∂z/∂p⟩. So the written form is ‖u‖ times the tangential
    gradient: right where ‖W f_θ(x2)‖ = 1, wrong by that factor elsewhere."""
    ok = True
    for dim in DIMS:
        u = _functions("u", dim)
        a = sympy.Matrix(sympy.symbols(f"a0:{dim}", real=True))
        z = _unit(u)
        projected = a - a.dot(z) * z
        ok &= _zero(
            sympy.Matrix([projected.dot(u.diff(P)) - sympy.sqrt(u.dot(u)) * a.dot(z.diff(P))])
        )
    return {"identity": False, "method": "componentwise", "dims": list(DIMS), "factor": ok}


@cache
def sgd_odd_proof() -> dict:
    """Eqs. 54–56: with ∂L_RAFT/∂θ = ∂L_BYOL'/∂θ' = g and ∂L_RAFT/∂W = −∂L_BYOL'/∂W' = −h at
    (θ, W) = (θ', −W') (eqs. 43 and 53), one plain SGD step keeps θ = θ' and W = −W', and the
    EMA ξ ← τξ + (1 − τ)θ, the same function of (ξ, θ) on both sides, keeps ξ = ξ'. Symbols
    stand for tensors entry by entry."""
    theta, W, g, h, eta, tau, xi = sympy.symbols("theta W g h eta tau xi", real=True)
    byol = (theta - eta * g, W - eta * h)
    raft = (theta - eta * g, -W - eta * (-h))
    ema = tau * xi + (1 - tau) * byol[0], tau * xi + (1 - tau) * raft[0]
    ok = (
        raft[0] == byol[0]
        and sympy.expand(raft[1] + byol[1]) == 0
        and sympy.expand(ema[0] - ema[1]) == 0
    )
    return {"identity": ok, "method": "symbols"}
