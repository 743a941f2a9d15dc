"""Proofs behind no-convergence (theory.convergence): the reported run of Appendix H's linear
model converges to a fixed point with θ ≠ 0, and that fixed point attracts its neighbourhood; and
behind no-convergence-raft (theory.convergence_raft): the reported RAFT run on the sphere replays
to a state where its gradient and teacher gap vanish and its representations are apart."""

import numpy as np
import sympy
import torch

from theory import claims, convergence, convergence_raft, objectives
from theory.appH import relative_gradients, train_jointly


def test_the_reported_run_converges_to_a_fixed_point_with_nonzero_theta(verdict):
    v = verdict("no-convergence")
    assert v["verdict"] == "fails"
    e = v["counterexample"]
    A, B = np.array(e["A"]), np.array(e["B"])
    theta, W, xi = train_jointly(
        np.array([e["theta0"]]),
        np.array([e["W0"]]),
        A[None],
        B[None],
        steps=e["steps"],
        lr=e["lr"],
        tau=e["tau"],
    )
    assert (
        np.array_equal(theta[0], np.array(e["theta"]))
        and np.linalg.norm(theta) > convergence.NONZERO
    )
    assert relative_gradients(theta[0], W[0], A, B) <= convergence.STATIONARY_TOL
    assert np.allclose(W[0], B @ np.linalg.inv(A), rtol=1e-12)  # W → C = BA⁻¹ (n = 1)


def test_the_fixed_point_line_attracts(verdict):
    e = verdict("no-convergence")["counterexample"]
    exact = convergence.attracting(e)
    assert exact["attracting"] and exact["one_is_a_root"]
    assert sorted(exact["moduli"])[-1] == 1.0 and sorted(exact["moduli"])[-2] < 1


def test_every_point_of_the_line_is_fixed():
    A, B, lr, tau = (
        sympy.Rational(3, 2),
        sympy.Rational(1, 2),
        sympy.Rational(1, 20),
        sympy.Rational(99, 100),
    )
    theta, W, xi = sympy.symbols("theta W xi", real=True)
    residual = W * theta * A - xi * B
    theta_new = theta - lr * 2 * W * residual
    image = (theta_new, W - lr * 2 * theta * residual, tau * xi + (1 - tau) * theta_new)
    t = sympy.Symbol("t", real=True)
    point = {theta: t, W: B / A, xi: t}
    assert [sympy.simplify(c.subs(point)) for c in image] == [t, B / A, t]


# --------------------------------------------------------------------------- no-convergence-raft


def _raft_gradient(theta, W, xi, x1, x2, tangential):
    """∇ of L_RAFT (Algorithm 1, α = β = 1) in (θ, W) at one state, written from the statement
    with theory.objectives: p = Wθx (both views), t = ξx."""
    theta, W = theta.clone().requires_grad_(True), W.clone().requires_grad_(True)
    loss = objectives.raft(
        x1 @ theta.T @ W.T, x2 @ theta.T @ W.T, x1 @ xi.T, x2 @ xi.T, tangential=tangential
    )
    return torch.autograd.grad(loss, [theta, W])


def test_the_reported_raft_run_replays_to_its_reported_state(verdict):
    v = verdict("no-convergence-raft")
    e = v["counterexample"]
    x1, x2, theta0, W0 = (
        torch.tensor([e[k]], dtype=torch.float64) for k in ("x1", "x2", "theta0", "W0")
    )
    with claims.float64():
        state = convergence_raft.train(
            theta0,
            W0,
            theta0,
            x1,
            x2,
            torch.tensor([e["lr"]]),
            torch.tensor([e["tau"]]),
            e["form"] == "tangential",
            e["steps"],
        )
    # the checker ran it in a batch of runs: the same arithmetic, up to the order of round-off
    assert v["verdict"] == "fails"
    assert torch.allclose(
        state["theta"][0], torch.tensor(e["theta"], dtype=torch.float64), rtol=1e-10, atol=0
    )


def test_the_reported_raft_state_is_stationary_with_its_teacher_and_not_collapsed(verdict):
    e = verdict("no-convergence-raft")["counterexample"]
    theta, W, xi, x1, x2 = (
        torch.tensor(e[k], dtype=torch.float64) for k in ("theta", "W", "xi", "x1", "x2")
    )
    with claims.float64():
        g_theta, g_W = _raft_gradient(theta, W, xi, x1, x2, e["form"] == "tangential")
    relative = (
        torch.cat([g_theta.flatten(), g_W.flatten()]).norm()
        / torch.cat([theta.flatten(), W.flatten()]).norm()
    )
    z = objectives.unit(x1 @ theta.T)
    apart = min(float((z[i] - z[j]).norm()) for i in range(len(z)) for j in range(i))
    assert (
        relative <= convergence_raft.TOL
        and (theta - xi).norm() / theta.norm() <= convergence_raft.TOL
    )
    assert apart >= convergence_raft.APART


def test_the_reported_raft_run_has_stopped_when_continued(verdict):
    confirmation = verdict("no-convergence-raft")["counterexample"]["confirmation"]
    assert confirmation["confirmed"] and confirmation["moved"] <= convergence_raft.TOL
