"""Proofs behind no-convergence (theory.convergence): the reported run of Appendix H's linear
model converges to a fixed point with θ ≠ 0, and that fixed point attracts its neighbourhood."""

import numpy as np
import sympy

from theory import convergence
from theory.appH import relative_gradients, train_jointly


def test_the_reported_run_converges_to_a_fixed_point_with_nonzero_theta(verdict):
    v = verdict("no-convergence")
    assert v["verdict"] == "fails"
    e = v["counterexample"]
    A, B = np.array(e["A"]), np.array(e["B"])
    theta, W, xi = train_jointly(np.array([e["theta0"]]), np.array([e["W0"]]), A[None], B[None],
                                 steps=e["steps"], lr=e["lr"], tau=e["tau"])
    assert np.array_equal(theta[0], np.array(e["theta"])) and np.linalg.norm(theta) > convergence.NONZERO
    assert relative_gradients(theta[0], W[0], A, B) <= convergence.STATIONARY_TOL
    assert np.allclose(W[0], B @ np.linalg.inv(A), rtol=1e-12)  # W → C = BA⁻¹ (n = 1)


def test_the_fixed_point_line_attracts(verdict):
    e = verdict("no-convergence")["counterexample"]
    exact = convergence.attracting(e)
    assert exact["attracting"] and exact["one_is_a_root"]
    assert sorted(exact["moduli"])[-1] == 1.0 and sorted(exact["moduli"])[-2] < 1


def test_every_point_of_the_line_is_fixed():
    A, B, lr, tau = sympy.Rational(3, 2), sympy.Rational(1, 2), sympy.Rational(1, 20), sympy.Rational(99, 100)
    theta, W, xi = sympy.symbols("theta W xi", real=True)
    residual = W * theta * A - xi * B
    theta_new = theta - lr * 2 * W * residual
    image = (theta_new, W - lr * 2 * theta * residual, tau * xi + (1 - tau) * theta_new)
    t = sympy.Symbol("t", real=True)
    point = {theta: t, W: B / A, xi: t}
    assert [sympy.simplify(c.subs(point)) for c in image] == [t, B / A, t]
