"""theory.appH as a library: degenerate input errors, shapes, the two methods agree, the
exact mode, the linear model's helpers."""

from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch

from theory import appH as sy
from theory import objectives as obj
from theory.symbolic import fraction


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# -- degenerate input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "W, C, match",
    [
        (np.ones((2, 3)), np.eye(2), "W must be a non-empty square"),
        (np.eye(2), np.ones((3, 2)), "C must be a non-empty square"),
        (np.ones((2, 2, 2)), np.eye(2), "W must be a non-empty square"),
        (np.zeros((0, 0)), np.eye(2), "W must be a non-empty square"),
        (np.array([[np.nan]]), np.eye(1), "non-finite"),
        (np.eye(2), np.array([[np.inf, 0], [0, 1]]), "non-finite"),
        (np.eye(2) * 1j, np.eye(2), "real numeric"),
        ([["a", "b"], ["c", "d"]], np.eye(2), "real numeric"),
    ],
)
@pytest.mark.parametrize("method", ["kronecker", "schur", "both", "auto"])
def test_bad_matrices_are_refused(W, C, match, method):
    with pytest.raises(ValueError, match=match):
        sy.solution_space(W, C, method=method)


@pytest.mark.parametrize("tol", [-1e-3, 1.0, float("nan"), float("inf")])
def test_bad_tolerance_is_refused(tol):
    with pytest.raises(ValueError, match="relative tolerance"):
        sy.solution_space(np.eye(2), np.eye(2), tol=tol)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be"):
        sy.solution_space(np.eye(2), np.eye(2), method="jordan")


def test_singular_A_is_refused():
    A = np.array([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="singular"):
        sy.target_matrix(A, np.eye(2))


def test_fewer_samples_than_dimensions_give_a_singular_A(rng):
    x1, x2 = sy.sample_views(rng, 5, 3, "noise")
    A, B, _ = sy.moments(x1, x2)
    with pytest.raises(ValueError, match="singular"):
        sy.target_matrix(A, B)


def test_mismatched_moments_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        sy.target_matrix(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="views must be"):
        sy.moments(np.ones((4, 2)), np.ones((4, 3)))


def test_unknown_augmentation_and_init_are_refused(rng):
    with pytest.raises(ValueError, match="augmentation"):
        sy.sample_views(rng, 2, 10, "crop")
    with pytest.raises(ValueError, match="init"):
        sy.random_predictor("xavier", 2, rng)


def test_expected_loss_refuses_mismatched_shapes():
    t = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="W has shape"):
        obj.linear_byol_expected(t, t, torch.eye(2), torch.eye(2), torch.eye(2))
    with pytest.raises(ValueError, match="B has shape"):
        obj.linear_byol_expected(t, t, torch.eye(3), torch.eye(2), torch.eye(3))
    with pytest.raises(ValueError, match="theta must be"):
        obj.linear_byol_expected(torch.zeros(2), t, torch.eye(3), torch.eye(2), torch.eye(2))


def test_exact_mode_refuses_non_square():
    with pytest.raises(ValueError, match="square"):
        sy.exact_solution_space([[1, 2]], [[1]])


# -- shapes and the two methods ----------------------------------------------------------------


def _orthonormal(basis):
    flat = basis.reshape(len(basis), basis.shape[1] * basis.shape[2])
    return np.allclose(flat @ flat.T, np.eye(len(basis)), atol=1e-12)


@pytest.mark.parametrize("m, n", [(1, 1), (3, 3), (2, 5), (5, 2)])
def test_no_solution_has_shape_zero_m_n(rng, m, n):
    W, C = np.diag(np.arange(1.0, m + 1)), np.diag(np.arange(10.0, 10 + n))
    for method in ("kronecker", "schur", "both"):
        assert sy.solution_space(W, C, method=method).shape == (0, m, n)


@pytest.mark.parametrize("name", list(sy.STRUCTURED))
def test_methods_agree_with_the_construction(rng, name):
    wb, cb = sy.STRUCTURED[name]
    W, C = sy.as_float(sy.similar_rows(rng, wb)), sy.as_float(sy.similar_rows(rng, cb))
    kron = sy.kronecker_solutions(W, C)
    schur = sy.schur_solutions(W, C)
    assert kron.shape == schur.shape == (sy.predicted_dimension(wb, cb), len(W), len(C))
    assert sy.principal_sine(kron, schur) < sy.SUBSPACE_TOL
    for basis in (kron, schur):
        assert _orthonormal(basis)
        assert sy.residual(W, C, basis) < 1e-12


@pytest.mark.parametrize("n", [2, 5, 9])
def test_methods_agree_when_W_equals_C_or_is_similar(rng, n):
    C = rng.standard_normal((n, n))
    S = rng.standard_normal((n, n))
    for W in (C, S @ C @ np.linalg.inv(S)):
        basis = sy.solution_space(W, C, method="both")
        assert basis.shape == (n, n, n)  # distinct eigenvalues: exactly the n polynomials in C
        assert sy.residual(W, C, basis) < 1e-10


def test_kronecker_operator_acts_on_column_stacked_theta(rng):
    W, C, theta = (
        rng.standard_normal((3, 3)),
        rng.standard_normal((4, 4)),
        rng.standard_normal((3, 4)),
    )
    K = sy.sylvester_operator(W, C)
    assert np.allclose(K @ theta.ravel(order="F"), (W @ theta - theta @ C).ravel(order="F"))


def test_identity_scales_to_the_full_space():
    basis = sy.schur_solutions(np.eye(6), np.eye(6))
    assert basis.shape == (36, 6, 6) and _orthonormal(basis)


def test_near_sharing_defective_blocks_are_reported_ambiguous():
    """J_4(0) against J_4(g): the Kronecker form sees σ_min(K) ≈ g⁷ below the tolerance while
    the eigenvalues are g apart, beyond the Schur method's clusters: the numerical dimension is
    ambiguous at this tolerance and 'both' says so instead of choosing."""
    J = np.diag(np.ones(3), 1)
    W, C = J, J + 0.05 * np.eye(4)
    assert len(sy.kronecker_solutions(W, C)) > 0 and len(sy.schur_solutions(W, C)) == 0
    with pytest.raises(sy.AmbiguousRank, match="Kronecker form finds"):
        sy.solution_space(W, C, method="both")
    assert len(sy.solution_space(W, C, tol=1e-16, method="both")) == 0


def test_separation_and_distance_vanish_exactly_when_shared(rng):
    C = rng.standard_normal((3, 3))
    assert sy.separation(C, C) < 1e-14 and sy.distance_to_sharing(C, C) < 1e-14
    W = rng.standard_normal((3, 3)) + 10 * np.eye(3)
    assert sy.separation(W, C) > 1e-2 and sy.distance_to_sharing(W, C) > 1e-2


# -- exact mode ------------------------------------------------------------------------------


def test_exact_basis_solves_the_equation_exactly():
    J = [[2, 1, 0], [0, 2, 0], [0, 0, 3]]
    C = [[2, 1], [0, 2]]
    basis = sy.exact_solution_space(J, C)
    assert len(basis) == 2 == sy.exact_nullity(J, C) == sy.jordan_dimension(J, C)
    for theta in basis:
        assert sympy.Matrix(J) * theta == theta * sympy.Matrix(C)


@pytest.mark.parametrize(
    "blocks", [[(2, 3), (2, 1), (5, 2)], [(0, 4)], [(1 + 1j, 2), (3, 1)], [(1, 1)] * 3]
)
def test_jordan_structure_matches_sympy_and_the_construction(rng, blocks):
    M = sy.similar_rows(rng, blocks)
    structure = sy.jordan_structure(M)
    if all(not isinstance(lam, complex) for lam, _ in blocks):
        _, J = sympy.Matrix(M).jordan_form()
        sizes, i = {}, 0
        while i < J.rows:  # read sympy's blocks off its Jordan matrix
            j = i
            while j + 1 < J.rows and J[j, j + 1] == 1:
                j += 1
            sizes.setdefault(J[i, i], []).append(j - i + 1)
            i = j + 1
        assert {(1, -lam): tuple(sorted(p, reverse=True)) for lam, p in sizes.items()} == structure
    assert (
        sy.predicted_dimension(blocks, blocks)
        == sy.jordan_dimension(M, M)
        == sy.exact_nullity(M, M)
    )


def test_exact_mode_takes_floats_exactly():
    assert fraction(0.1) != Fraction(1, 10)  # the binary value, not the decimal
    assert sy.share_eigenvalue([[0.5]], [[0.5]]) and not sy.share_eigenvalue([[0.1]], [[0.2]])


# -- the linear model ------------------------------------------------------------------------


def test_expected_loss_is_the_sample_mean_of_eq_57(rng):
    n, d = 4, 3
    x1, x2 = sy.sample_views(rng, n, 50, "asymmetric")
    A, B, A2 = sy.moments(x1, x2)
    theta, xi, W = (
        rng.standard_normal((d, n)),
        rng.standard_normal((d, n)),
        rng.standard_normal((d, d)),
    )
    t = lambda M: torch.as_tensor(M)  # noqa: E731
    sample = obj.byol(t(x1) @ t(W @ theta).T, t(x2) @ t(xi).T, sphere=False)
    closed = obj.linear_byol_expected(t(theta), t(xi), t(W), t(A), t(B), t(A2))
    assert float(closed) == pytest.approx(float(sample), rel=1e-12)
    without = obj.linear_byol_expected(t(theta), t(xi), t(W), t(A), t(B))
    assert float(closed - without) == pytest.approx(float(np.trace(xi @ A2 @ xi.T)), rel=1e-12)


def test_target_gets_no_gradient_and_gradients_match_eqs_62_63(rng):
    n = 3
    A, B, _ = sy.moments(*sy.sample_views(rng, n, 60, "noise"))
    theta, xi, W = (rng.standard_normal((n, n)) for _ in range(3))
    xi_t = torch.as_tensor(xi).requires_grad_(True)
    loss = obj.linear_byol_expected(
        torch.as_tensor(theta), xi_t, torch.as_tensor(W), torch.as_tensor(A), torch.as_tensor(B)
    )
    assert not loss.requires_grad  # θ and W were not asked for gradients; ξ never carries one
    g_theta, g_W = sy.stationarity_gradients(theta, W, A, B, xi=xi)
    c_theta, c_W = sy.expected_gradients(theta, xi, W, A, B)
    assert np.allclose(g_theta, c_theta, rtol=1e-12, atol=1e-12)
    assert np.allclose(g_W, c_W, rtol=1e-12, atol=1e-12)


def test_no_augmentation_gives_B_equal_A_and_C_identity(rng):
    A, B, A2 = sy.moments(*sy.sample_views(rng, 3, 40, "none"))
    assert np.array_equal(A, B) and np.array_equal(A, A2)
    assert np.allclose(sy.target_matrix(A, B), np.eye(3))


def test_pytorch_predictor_is_linear_default_init(rng):
    W = sy.random_predictor("pytorch", 16, rng)
    assert W.shape == (16, 16) and np.abs(W).max() <= 1 / 4
    assert not np.array_equal(W, sy.random_predictor("pytorch", 16, rng))


def test_joint_training_keeps_shapes_and_decreases_the_gradient(rng):
    n, runs = 3, 2
    moments = [sy.moments(*sy.sample_views(rng, n, 90, "noise"))[:2] for _ in range(runs)]
    A, B = np.stack([m[0] for m in moments]), np.stack([m[1] for m in moments])
    theta0 = rng.standard_normal((runs, n, n)) / 2
    W0 = rng.standard_normal((runs, n, n)) / 2
    theta, W, xi = sy.train_jointly(theta0, W0, A, B, steps=3000)
    assert theta.shape == W.shape == xi.shape == (runs, n, n)
    for r in range(runs):
        assert sy.relative_gradients(theta[r], W[r], A[r], B[r]) < sy.relative_gradients(
            theta0[r], W0[r], A[r], B[r]
        )
