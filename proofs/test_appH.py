"""Proofs behind Appendix H's claims: appH-sylvester, appH-dimension, appH-stationary,
appH-derivation, appH-random-W, appH-joint.

hypothesis generates matrices (small integer matrices, Jordan data under unimodular changes of
basis, sampled augmentation models); exact facts are checked in sympy (n ≤ 4) with code paths
independent of the checkers' (sympy's own gcd, Jordan form and differentiation); every
counterexample the checkers report at their default seed is replayed."""

import numpy as np
import pytest
import sympy
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from theory import appH as sy
from theory import objectives as obj

# The claims that hold, with the bound their worst value must respect; the others fail.
HOLDING = {
    "appH-sylvester": 1 + sy.RATIO_TOL,
    "appH-dimension": 0.0,
    "appH-stationary": sy.STATIONARY_TOL,
    "appH-joint": sy.STATIONARY_TOL,
}

# The ci profile's example count (100; the thorough profile's 5000), divided for the costlier
# properties so that this file stays within its share of the proofs' budget.
EXAMPLES = settings.default.max_examples


def examples(divisor: int):
    return settings(max_examples=max(5, EXAMPLES // divisor))


def integer_matrix(n: int):
    return st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n), min_size=n, max_size=n)


@st.composite
def integer_pairs(draw):
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return draw(integer_matrix(m)), draw(integer_matrix(n))


EIGENVALUES = [0, 1, -1, 2, 1 + 1j, 2j]


@st.composite
def jordan_data(draw, max_blocks: int = 3, max_size: int = 3):
    """Blocks [(eigenvalue, size)] for W and for C, and a seed for the changes of basis."""

    def blocks():
        return draw(
            st.lists(
                st.tuples(st.sampled_from(EIGENVALUES), st.integers(1, max_size)),
                min_size=1,
                max_size=max_blocks,
            )
        )

    return blocks(), blocks(), draw(st.integers(0, 2**32 - 1))


def rational_matrix(M):
    return sympy.Matrix([[sympy.Rational(str(x)) for x in r] for r in M])


def closed_form_gradients(theta, W, A, B):
    """∂/∂θ and ∂/∂W of E‖Wθx1 − ξx2‖² = tr(WθAθᵀWᵀ) − 2tr(WθBᵀξᵀ) + const at ξ = θ, by
    sympy's differentiation with ξ held fixed (the stop-gradient), then evaluated exactly."""
    d, n = theta.shape
    T = sympy.Matrix(d, n, sympy.symbols(f"t0:{d * n}"))
    V = sympy.Matrix(d, d, sympy.symbols(f"v0:{d * d}"))
    loss = (V * T * A * T.T * V.T).trace() - 2 * (V * T * B.T * theta.T).trace()
    values = dict(zip(list(T) + list(V), list(theta) + list(W)))
    g_theta = sympy.Matrix(d, n, [sympy.diff(loss, t).subs(values) for t in T])
    g_W = sympy.Matrix(d, d, [sympy.diff(loss, v).subs(values) for v in V])
    return g_theta, g_W


def autograd_relative_gradient(theta, W, A, B) -> float:
    """Autograd of theory.objectives.linear_byol_expected at ξ = θ, relative to the sizes of the
    two terms of WθA − θB (as the claim's worst)."""
    t = {
        k: torch.as_tensor(v).requires_grad_(k in ("theta", "W"))
        for k, v in dict(theta=theta, W=W, A=A, B=B).items()
    }
    loss = obj.linear_byol_expected(t["theta"], t["theta"].detach(), t["W"], t["A"], t["B"])
    g_theta, g_W = torch.autograd.grad(loss, (t["theta"], t["W"]))
    s = np.linalg.norm(W, 2) * np.linalg.norm(A, 2) + np.linalg.norm(B, 2)
    size = np.linalg.norm(theta)
    return max(
        float(g_theta.norm()) / max(2 * np.linalg.norm(W, 2) * s * size, 1e-300),
        float(g_W.norm()) / (2 * s * size * size),
    )


# -- appH-sylvester ----------------------------------------------------------------------------


@given(integer_pairs())
def test_appH_sylvester_exact_iff_on_integer_matrices(pair):
    """appH-sylvester: a non-zero exact solution exists iff sympy's gcd of the characteristic
    polynomials is non-constant (a shared complex eigenvalue)."""
    W, C = pair
    t = sympy.Symbol("t")
    common = sympy.gcd(sympy.Matrix(W).charpoly(t).as_expr(), sympy.Matrix(C).charpoly(t).as_expr())
    assert (sy.exact_nullity(W, C) > 0) == (sympy.degree(common, t) > 0)


@pytest.mark.parametrize("m, n", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_appH_sylvester_determinant_is_the_resultant(m, n):
    """appH-sylvester: det(I ⊗ W − Cᵀ ⊗ I) = ±Res(p_W, p_C) for symbolic W, C."""
    assert sy.determinant_identity(m, n)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_appH_sylvester_bound_by_the_eigenvalue_gap(m, n, seed):
    """appH-sylvester ('if', in numbers): σ_min(K) ≤ min|λ_i(W) − μ_j(C)|, and the numerical
    solution space is non-trivial iff σ_min(K) is below the tolerance."""
    rng = np.random.default_rng(seed)
    W, C = rng.standard_normal((m, m)), rng.standard_normal((n, n))
    if seed % 2:  # make them share: shift C onto one of W's real eigenvalues when there is one
        lam, mu = np.linalg.eigvals(W), np.linalg.eigvals(C)
        real_lam, real_mu = lam[lam.imag == 0], mu[mu.imag == 0]
        if len(real_lam) and len(real_mu):
            C = C + float(real_lam[0].real - real_mu[0].real) * np.eye(n)
    scale = np.linalg.norm(W, 2) + np.linalg.norm(C, 2)
    smallest = np.linalg.svd(sy.sylvester_operator(W, C), compute_uv=False)[-1]
    gap = np.min(np.abs(np.linalg.eigvals(W)[:, None] - np.linalg.eigvals(C)[None, :]))
    assert smallest <= gap * (1 + sy.RATIO_TOL) + 1e-12 * scale
    assert (len(sy.kronecker_solutions(W, C)) > 0) == (smallest <= sy.RTOL * scale)


# -- appH-dimension ----------------------------------------------------------------------------


@examples(4)
@given(jordan_data())
def test_appH_dimension_exact(data):
    """appH-dimension: exact nullity of eq. 68's operator = Σ_λ Σ_ij min(p_i, q_j)."""
    wb, cb, seed = data
    rng = np.random.default_rng(seed)
    W, C = sy.similar_rows(rng, wb), sy.similar_rows(rng, cb)
    assert sy.exact_nullity(W, C) == sy.predicted_dimension(wb, cb) == sy.jordan_dimension(W, C)


@examples(4)
@given(jordan_data(max_blocks=2, max_size=2))
def test_appH_dimension_with_sympys_jordan_form(data):
    """appH-dimension, n ≤ 4, blocks read off sympy's own Jordan form (real eigenvalues)."""
    wb, cb, seed = data
    wb = [(lam.real if isinstance(lam, complex) else lam, p) for lam, p in wb]
    cb = [(lam.real if isinstance(lam, complex) else lam, p) for lam, p in cb]
    rng = np.random.default_rng(seed)
    W, C = sy.similar_rows(rng, wb), sy.similar_rows(rng, cb)

    def blocks(M):
        _, J = sympy.Matrix(
            [[sympy.Rational(x.numerator, x.denominator) for x in r] for r in M]
        ).jordan_form()
        out, i = [], 0
        while i < J.rows:
            j = i
            while j + 1 < J.rows and J[j, j + 1] == 1:
                j += 1
            out.append((J[i, i], j - i + 1))
            i = j + 1
        return out

    bw, bc = blocks(W), blocks(C)
    formula = sum(min(p, q) for lam, p in bw for mu, q in bc if lam == mu)
    assert sy.exact_nullity(W, C) == formula


@examples(4)
@given(jordan_data())
def test_appH_dimension_float_methods(data):
    """appH-dimension in float64: both methods find the formula's dimension, orthonormal bases
    of exact (to 1e-12) solutions."""
    wb, cb, seed = data
    rng = np.random.default_rng(seed)
    W, C = sy.as_float(sy.similar_rows(rng, wb)), sy.as_float(sy.similar_rows(rng, cb))
    basis = sy.solution_space(W, C, method="both")
    assert len(basis) == sy.predicted_dimension(wb, cb)
    assert sy.residual(W, C, basis) < 1e-12


# -- appH-stationary ---------------------------------------------------------------------------


@examples(4)
@given(
    st.integers(2, 6), st.sampled_from(["noise", "mask", "asymmetric"]), st.integers(0, 2**32 - 1)
)
def test_appH_stationary_autograd(n, augmentation, seed):
    """appH-stationary: every solution of Wθ = θBA⁻¹ has vanishing autograd gradients of eq. 57
    in θ and W at ξ = θ."""
    rng = np.random.default_rng(seed)
    A, B, _ = sy.moments(*sy.sample_views(rng, n, 100 * n, augmentation))
    assume(np.linalg.cond(A) <= sy.COND_LIMIT)
    W = sy.sharing_predictor(rng, sy.target_matrix(A, B), blocks=1 + seed % 2)
    basis = sy.solution_space(W, sy.target_matrix(A, B))
    assert len(basis) > 0
    for theta in basis:
        assert autograd_relative_gradient(theta, W, A, B) <= sy.STATIONARY_TOL


@examples(10)
@given(jordan_data(max_blocks=2, max_size=2))
def test_appH_stationary_exact(data):
    """appH-stationary, exact (n ≤ 4): A = LLᵀ + I, B = CA, every exact solution θ of
    Wθ = θC (θ of shape m×n) is a stationary point of eq. 57 by sympy's differentiation."""
    wb, cb, seed = data
    rng = np.random.default_rng(seed)
    W, C = sy.similar_rows(rng, wb), sy.similar_rows(rng, cb)
    assume(max(len(W), len(C)) <= 4)
    m, n = len(W), len(C)
    L = sympy.Matrix(rng.integers(-2, 3, (n, n)).tolist())
    A = L * L.T + sympy.eye(n)
    B = rational_matrix(C) * A
    for theta in sy.exact_solution_space(W, C):
        g_theta, g_W = closed_form_gradients(theta, rational_matrix(W), A, B)
        assert g_theta == sympy.zeros(m, n) and g_W == sympy.zeros(m, m)


# -- appH-derivation ---------------------------------------------------------------------------


def _replay_derivation(example):
    W, theta, A, B = (rational_matrix(example[k]) for k in ("W", "theta", "A", "B"))
    zero = sympy.zeros(*W.shape)
    R = W * theta * A - theta * B
    assert theta != zero and A.det() != 0
    assert W.T * R == zero and R * theta.T == zero  # eqs. 65 and 66
    assert W * theta - theta * B * A.inv() != zero  # not eq. 67
    g_theta, g_W = closed_form_gradients(theta, W, A, B)  # a stationary point of eq. 57
    assert g_theta == zero and g_W == zero
    floats = [np.array(example[k], dtype=float) for k in ("theta", "W", "A", "B")]
    assert autograd_relative_gradient(*floats) == 0.0


def test_appH_derivation_reported_counterexample_replays(verdict):
    """appH-derivation: the reported (W, θ, A, B) satisfies eqs. 65–66 exactly, is a stationary
    point, and violates eq. 67; so does the one with W ≠ 0 reported beside it."""
    assert verdict("appH-derivation")["verdict"] == "fails"
    example = verdict("appH-derivation")["counterexample"]
    _replay_derivation(example)
    _replay_derivation(example["also_with_W_nonzero"])


@examples(4)
@given(st.integers(2, 4), st.data())
def test_appH_derivation_holds_with_W_invertible_or_theta_full_rank(n, data):
    """appH-derivation: the implication does hold when W is invertible or θ has full rank
    (and the exhaustive search finds violations only outside both)."""
    invertible_W = data.draw(st.booleans())
    rank_W = n if invertible_W else data.draw(st.integers(0, n))
    rank_theta = data.draw(st.integers(1, n)) if invertible_W else n
    found = sy.sample_stationary(
        np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), n, rank_W, rank_theta
    )
    assume(found is not None)
    W, theta, A, B = found
    assert (
        sy.relative_residual(sy.residual_matrix(theta, W, A, B), theta, W, A, B)
        <= sy.DERIVATION_TOL
    )


# -- appH-random-W -----------------------------------------------------------------------------


def test_appH_random_W_reported_counterexample_replays(verdict):
    """appH-random-W: the reported draw (and its rounding) admits only θ = 0, exactly; the
    rounded W stays inside the init's support and A is positive definite."""
    assert verdict("appH-random-W")["verdict"] == "fails"
    example = verdict("appH-random-W")["counterexample"]
    n = example["n"]
    W, A, B = (
        sympy.Matrix([[sympy.Rational(x) for x in r] for r in example[k]]) for k in ("W", "A", "B")
    )
    C = B * A.inv()
    K = sympy.kronecker_product(sympy.eye(n), W) - sympy.kronecker_product(C.T, sympy.eye(n))
    assert K.det() != 0
    simplest = example["simplest"]
    W, A, B = (
        sympy.Matrix(simplest["exact"][k]).applyfunc(sympy.Rational) for k in ("W", "A", "B")
    )
    C = B * A.inv()
    K = sympy.kronecker_product(sympy.eye(n), W) - sympy.kronecker_product(C.T, sympy.eye(n))
    assert K.det() != 0 and str(K.det()) == simplest["exact"]["det(I ⊗ W − Cᵀ ⊗ I)"]
    assert A.is_symmetric() and A.is_positive_definite
    if example["init"] == "pytorch":
        assert max(abs(x) for x in W) <= 1 / sympy.sqrt(n)


@examples(10)
@given(
    st.integers(1, 3),
    st.sampled_from(sy.INITS),
    st.sampled_from(sy.AUGMENTATIONS),
    st.integers(0, 2**32 - 1),
)
def test_appH_random_W_draws_share_no_eigenvalue(n, init, augmentation, seed):
    """appH-random-W: a drawn W and C = BA⁻¹ from sampled views share no eigenvalue, exactly
    (on the float64 values): only θ = 0 solves Wθ = θC."""
    rng = np.random.default_rng(seed)
    A, B, _ = sy.moments(*sy.sample_views(rng, n, 100 * n, augmentation))
    W = sy.random_predictor(init, n, rng)
    C = rational_matrix(B.tolist()) * rational_matrix(A.tolist()).inv()
    t = sympy.Symbol("t")
    assert (
        sympy.degree(
            sympy.gcd(rational_matrix(W.tolist()).charpoly(t).as_expr(), C.charpoly(t).as_expr()), t
        )
        == 0
    )


# -- appH-joint --------------------------------------------------------------------------------


@examples(4)
@given(st.integers(1, 6), st.floats(0.0, 3.0), st.floats(-3, 3), st.integers(0, 2**32 - 1))
def test_appH_joint_family_is_stationary(n, log_cond, log_scale, seed):
    """appH-joint: (θ, W) = (S, S·BA⁻¹·S⁻¹) is stationary in θ and W for every invertible S."""
    rng = np.random.default_rng(seed)
    A, B, _ = sy.moments(*sy.sample_views(rng, n, 100 * n, "asymmetric"))
    S = np.exp(log_scale) * sy.random_invertible(rng, n, log_cond)
    W = S @ sy.target_matrix(A, B) @ np.linalg.inv(S)
    assert autograd_relative_gradient(S, W, A, B) <= sy.STATIONARY_TOL


@examples(10)
@given(
    st.lists(st.integers(-3, 3), min_size=4, max_size=4),
    st.lists(st.integers(-3, 3), min_size=4, max_size=4),
)
def test_appH_joint_exact(s, b):
    """appH-joint, exact (n = 2): with S invertible, A = I + LLᵀ and any B, θ = S and
    W = SBA⁻¹S⁻¹ make both gradients of eq. 57 exactly zero."""
    S = sympy.Matrix(2, 2, s)
    assume(S.det() != 0)
    A = sympy.Matrix([[2, 1], [1, 3]])
    B = sympy.Matrix(2, 2, b)
    W = S * B * A.inv() * S.inv()
    g_theta, g_W = closed_form_gradients(S, W, A, B)
    assert g_theta == sympy.zeros(2, 2) and g_W == sympy.zeros(2, 2)


@pytest.mark.parametrize("claim_id", list(HOLDING))
def test_holding_claim_has_no_counterexample(verdict, claim_id):
    v = verdict(claim_id)
    assert (v["verdict"], v["counterexample"]) == ("holds", None)
    assert v["worst"] <= HOLDING[claim_id]


def test_appH_joint_family_identity_for_every_n():
    """appH-joint: WθA − θB = 0 for θ = S, W = SBA⁻¹S⁻¹ in the free algebra of matrices."""
    assert sy.family_identity()
