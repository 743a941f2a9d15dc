"""Proofs behind appG-steps and appH-steps: every equation's status as the checkers report it,
each wrong step's counterexample replayed by autograd (and its correction agreeing with
autograd there), and the property behind each status checked again on generated points."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from theory import objectives as obj
from theory.appH.linear_model import derivation_identities, expected_gradients, sample_views
from theory.appH.solutions import sylvester_operator
from theory.steps import algebra, calculus, exact, linear, network, points, sphere, updates
from theory.steps.appG import TOLERANCE
from theory.steps.status import CORRECTED, HOLDS
from theory.teacher import ema_update

G = {eq: HOLDS for eq in map(str, range(28, 57))} | dict.fromkeys(
    ("31", "32", "39", "40", "44", "45"), CORRECTED
)
ROWS_H = (
    "58, line 1",
    "58, line 2",
    "58, line 3",
    "58, line 4",
    "59, line 1",
    "59, line 2",
    "59, line 3",
    "59, line 4",
    "59, line 5",
    "60",
    "61",
    "62",
    "63",
    "64, fixed point",
    "64, as a limit",
    "65",
    "66",
    "67, line 1",
    "67, line 2",
    "67, implication",
    "68",
)
H = {
    eq: CORRECTED if eq in ("58, line 3", "64, as a limit", "67, implication") else HOLDS
    for eq in ROWS_H
}


def _steps(v) -> dict:
    return {f["eq"]: f for f in v["facts"] if f["kind"] == "step"}


# -- statuses, as the checkers report them ----------------------------------------------------


@pytest.mark.parametrize("claim_id, expected", [("appG-steps", G), ("appH-steps", H)])
def test_every_equation_is_listed_once(verdict, claim_id, expected):
    assert list(_steps(verdict(claim_id))) == list(expected)


@pytest.mark.parametrize("eq", list(G))
def test_appG_step_status(verdict, eq):
    assert _steps(verdict("appG-steps"))[eq]["status"] == G[eq]


@pytest.mark.parametrize("eq", list(H))
def test_appH_step_status(verdict, eq):
    assert _steps(verdict("appH-steps"))[eq]["status"] == H[eq]


@pytest.mark.parametrize("claim_id, first", [("appG-steps", "31"), ("appH-steps", "58, line 3")])
def test_claim_fails_at_its_first_wrong_equation(verdict, claim_id, first):
    v = verdict(claim_id)
    assert (v["verdict"], v["counterexample"]["equation"]) == ("fails", first)


@pytest.mark.parametrize("claim_id", ["appG-steps", "appH-steps"])
def test_every_holding_step_was_searched_and_sampled(verdict, claim_id):
    for f in _steps(verdict(claim_id)).values():
        if f["status"] == HOLDS and not f["reference"]:
            assert f["written"]["sampled"] > 0 and f["written"]["searched"] > 0, f["eq"]
            assert f["written"]["worst"] <= f["tolerance"], f["eq"]


# -- Appendix G: the counterexamples replay -----------------------------------------------------


def test_appG_counterexample_replays(verdict):
    """Eq. 31 as written differs from autograd at the reported point; the corrected form agrees."""
    example = verdict("appG-steps")["counterexample"]
    found = exact.replay(example)
    assert found["as_written"] != pytest.approx(found["autograd"], abs=1e-9)
    assert found["corrected"] == pytest.approx(found["autograd"], abs=1e-12)
    assert found["as_written"] == float(Fraction(example["exact"]["as_written"]))
    assert found["autograd"] == float(Fraction(example["exact"]["tangential_gradient"]))


@pytest.mark.parametrize("eq", sorted(exact.WRONG))
def test_wrong_step_exact_counterexample_agrees_with_autograd(eq):
    example = exact.simplest(eq)
    found = exact.replay(example)
    assert found["autograd"] == float(Fraction(example["exact"]["tangential_gradient"]))
    assert (
        found["as_written"] == float(Fraction(example["exact"]["as_written"])) != found["autograd"]
    )
    assert found["corrected"] == pytest.approx(found["autograd"], abs=1e-12)


# -- Appendix G: the properties on generated points ---------------------------------------------


@st.composite
def network_points(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return points.random_points(rng, draw(st.integers(1, 6)))[-1]


HOLDING = (
    "28",
    "29",
    "30",
    "33",
    "34",
    "35",
    "36",
    "37",
    "38",
    "41",
    "42",
    "43",
    "46",
    "47",
    "47 raw",
    "48",
    "48 raw",
    "49",
    "50",
    "51",
    "52",
    "53",
    "54",
    "55",
    "56",
    "31*",
    "32*",
    "39*",
    "40*",
    "44*",
    "45*",
)


@given(network_points())
def test_appG_holding_steps_and_corrections_agree_with_autograd(point):
    prime, plain = network.side(point, 1), network.side(point, -1)
    found = network.residuals(prime, plain) | updates.step_residuals(point, prime, plain, lr=0.1)
    assert max(found[k] for k in HOLDING) <= TOLERANCE


@given(network_points())
def test_eq39_as_written_is_the_norm_of_Wf_times_the_tangential_gradient(point):
    """Eq. 39's W'·∂f/∂θ' is the raw derivative: the written form is ‖W'f_θ'(x2)‖ times autograd's."""
    s = network.side(point, 1)
    written, reference, _ = network.cross_forms(s, 0)["written"]
    norm = float(s.jacobians["norm2"])
    assert torch.allclose(
        written, norm * reference, rtol=1e-9, atol=1e-12 * float(written.abs().max())
    )


@given(st.integers(2, 16), st.integers(0, 2**32 - 1))
def test_eq31_violation_is_the_sympy_closed_form(dim, seed):
    """‖P_z1[(z1 − z2)_∥(at z2) − (z1 − z2)]‖/‖z1 − z2‖ = (1 − c)·√((1 + c)/2), c = ⟨z1, z2⟩."""
    g = torch.Generator().manual_seed(seed)
    v = obj.unit(torch.randn(1, 2, dim, generator=g, dtype=torch.float64)[0])[None]
    c = float((v[0, 0] * v[0, 1]).sum())
    assert float(sphere.wrong_point(v)[0]) == pytest.approx(
        (1 - c) * math.sqrt((1 + c) / 2), rel=1e-9
    )


def test_eq31_violation_reaches_four_over_three_root_three():
    p = sphere.proof("wrong-point")
    assert (p["identity"], p["at"], p["supremum_value"]) == (
        False,
        "-1/3",
        pytest.approx(4 / (3 * math.sqrt(3))),
    )


@pytest.mark.parametrize(
    "name", ["decomposition", "orthogonal", "eq35", "mirror", "eq41", "own-point"]
)
def test_vector_lemma_is_a_gram_identity(name):
    assert sphere.proof(name)["identity"]


@pytest.mark.parametrize("name, off", [("eq35", "(‖z2‖² - 1)·z2"), ("eq41", "(2 - 2*‖z2‖²)·z2")])
def test_eqs_35_and_41_need_the_unit_sphere(name, off):
    assert sphere.proof(name)["off_sphere"] == off


@given(st.floats(1.5, 10.0), st.integers(0, 2**32 - 1))
def test_eq41_fails_off_the_sphere_by_the_sympy_term(scale, seed):
    g = torch.Generator().manual_seed(seed)
    z2 = scale * obj.unit(torch.randn(1, 3, generator=g, dtype=torch.float64))
    z_bar = obj.unit(torch.randn(1, 3, generator=g, dtype=torch.float64))
    gap = sphere.tangential(z_bar + z2, -z2) - sphere.tangential(z_bar - z2, z2)
    assert torch.allclose(gap, 2 * (1 - z2.pow(2).sum()) * z2, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "proof",
    [
        calculus.chain_rule_proof,
        calculus.unit_jacobian_proof,
        calculus.odd_derivative_proof,
        calculus.raw_derivative_proof,
        calculus.sgd_odd_proof,
    ],
)
def test_calculus_identity(proof):
    assert proof()["identity"]


def test_raw_jacobian_factor_is_the_norm():
    p = calculus.raw_jacobian_factor_proof()
    assert (p["identity"], p["factor"]) == (False, True)


def test_eq56_trajectories_correspond_with_an_ema_teacher():
    a = updates.trajectory(3, "mlp", 3, 0.5, 0.2, 10)
    assert a.fully_decisive and a.separation is None


def test_eq56_needs_the_same_teacher():
    point = points.random_points(np.random.default_rng(0), 1)[0]
    assert updates.teacher_gap(point, point.t2 + 1.0) > 1e-3


# -- Appendix H ---------------------------------------------------------------------------------


def test_appH_counterexample_replays(verdict):
    """Eq. 58's third line as written is a row where ∂/∂θ_ij stands: it differs from autograd in
    some entry; its i-th entry (the correction W_{k,i}) is autograd's."""
    example = verdict("appH-steps")["counterexample"]
    found = algebra.replay_line3(example)
    assert any(entry != found["autograd"] for entry in found["as_written"])
    assert found["as_written"][example["i"] - 1] == found["autograd"]


@st.composite
def linear_points(draw):
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mats = [torch.tensor(rng.standard_normal((n, n))) for _ in range(3)]
    x1, x2 = (
        torch.tensor(v)
        for v in sample_views(rng, n, 5, draw(st.sampled_from(["noise", "mask", "asymmetric"])))
    )
    return (*mats, x1, x2)


@given(linear_points())
def test_appH_lines_and_corrections_agree_with_autograd(case):
    with torch.no_grad():
        found = linear.line_residuals(*case) | linear.sample_residuals(
            *case[:3], case[3][None], case[4][None]
        )
    assert max(float(v.max()) for k, v in found.items() if k != "58.3") <= TOLERANCE


@given(linear_points())
def test_eq58_line3_as_written_is_wrong_unless_n_is_one(case):
    """The written row matches ∂/∂θ_ij in every entry only where W_{k,:} = W_{k,1} (n = 1), or
    where the derivative vanishes (x1 = 0)."""
    with torch.no_grad():
        written = float(linear.line_residuals(*case)["58.3"].max())
    n, x1 = len(case[0]), case[3]
    assert (written <= TOLERANCE) == (n == 1 or float(x1.abs().max()) == 0)


@given(linear_points())
def test_eqs_62_63_mean_of_per_sample_gradients_is_the_gradient_of_the_expectation(case):
    theta, W, xi, x1, x2 = case
    assert linear.expected_autograd(theta, W, xi, x1, x2) <= TOLERANCE


def test_eq64_teacher_can_converge_away_from_theta():
    p = algebra.ema_limit_proof()
    assert (
        p["increment"] < 1e-15
        and p["gap"] > 0.28
        and p["limit_gap"] == pytest.approx(0.2887880950866024)
    )


def test_eq64_with_a_constant_tau_the_teacher_reaches_theta():
    """The correction: with τ_k ≤ τ̄ < 1 a converging teacher reaches θ (here θ fixed)."""
    xi, theta = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(2000):
        ema_update([xi], [theta], tau=0.99)
    assert float((theta - xi).abs().max()) < 1e-8


def test_eq67_implication_is_appH_derivations_finding(verdict):
    step = _steps(verdict("appH-steps"))["67, implication"]
    theirs = verdict("appH-derivation")
    assert step["reference"]["verdict"] == theirs["verdict"] == "fails"
    assert [step["counterexample"][k] for k in ("W", "theta", "B")] == [
        theirs["counterexample"][k] for k in ("W", "theta", "B")
    ]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_eq68_as_written_is_appH_sylvesters_operator_for_square_theta(n):
    rng = np.random.default_rng(n)
    W, C = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    paper = np.kron(np.eye(n), W) - np.kron(C.T, np.eye(n))
    assert np.array_equal(paper, sylvester_operator(W, C))


def test_eq68_as_written_has_mismatched_blocks_for_rectangular_theta():
    p = algebra.kronecker_proof()
    assert (
        p["identity"] and p["rectangular_shapes"] == [[4, 4], [9, 9]] and p["rectangular_corrected"]
    )


def test_eqs_65_66_substitute_after_differentiating():
    rng = np.random.default_rng(1)
    X1, X2 = (torch.tensor(v) for v in sample_views(rng, 3, 32, "noise"))
    theta, W = (torch.tensor(rng.standard_normal((3, 3))) for _ in range(2))
    assert linear.stop_gradient_matters(theta, W, X1, X2) > 1e-3


def test_eq60_is_expected_gradients_at_a_point_mass():
    rng = np.random.default_rng(2)
    theta, W, xi = (torch.tensor(rng.standard_normal((2, 2))) for _ in range(3))
    x1, x2 = (torch.tensor(rng.standard_normal(2)) for _ in range(2))
    g_theta, g_W = expected_gradients(theta, xi, W, torch.outer(x1, x1), torch.outer(x2, x1))
    T = W @ theta @ x1 - xi @ x2
    assert torch.allclose(g_theta, 2 * torch.outer(W.T @ T, x1)) and torch.allclose(
        g_W, 2 * torch.outer(T, theta @ x1)
    )


@pytest.mark.parametrize("key", algebra.line_proofs().keys())
def test_appH_line_proof(key):
    assert algebra.line_proofs()[key]["identity"] == (key != "58.3")


def test_ema_fixed_point_proof():
    assert algebra.ema_fixed_point_proof()["identity"]


def test_sympy_cited_identities_hold():
    assert all(derivation_identities(2).values())
