"""Section 5: "RAFT incorporates the MT in an extremely dynamic way since it continuously varies
from the history models, thus there would be no convergence of the data points. So does the
parameters." Read as a claim about BYOL's dynamics: with an EMA teacher (τ ∈ (0, 1)) no
trajectory converges to a fixed point with θ ≠ 0. The checker trains Appendix H's linear model
(gradient descent on the expected loss of eq. 57, θ and W trained, ξ the EMA of θ) and a small
nonlinear encoder on a fixed batch (full-batch SGD on BYOL's l2-normalised loss), and, for a
trajectory that does converge, shows in exact arithmetic that its limit is a fixed point that
attracts its neighbourhood (the update map's Jacobian there has the eigenvalue 1 along the line
of fixed points and all others inside the unit circle)."""

import math
from fractions import Fraction

import numpy as np
import sympy
import torch

from theory import convergence_raft, objectives
from theory.appH.linear_model import (
    STATIONARY_TOL,
    moments,
    random_predictor,
    relative_gradients,
    sample_views,
    train_jointly,
)
from theory.claims import Claim, Effort, Family, Finding, Quote, fact, one_thread
from theory.thm51.engine import Learner, optimizer
from theory.thm51.setups import build_encoder, build_predictor

# A trajectory converges when its last step moves (θ, W, ξ) by at most UPDATE_TOL relative and
# its gradient is at most STATIONARY_TOL relative (the stationarity tolerance of Appendix H's
# claims); θ ≠ 0 means ‖θ‖_F ≥ 1e-6: below that, the run collapsed to the trivial fixed point.
UPDATE_TOL = 1e-12
NONZERO = 1e-6
LR, TAU, STEPS = 0.05, 0.99, 3000
SIZES = (1, 2, 4)


def _relative_update(before, after) -> np.ndarray:
    """Per run: ‖after − before‖ / ‖after‖ over θ, W and ξ together."""
    moved = sum(((a - b) ** 2).reshape(len(a), -1).sum(1) for a, b in zip(after, before))
    size = sum((a**2).reshape(len(a), -1).sum(1) for a in after)
    return np.sqrt(moved / np.maximum(size, np.finfo(float).tiny))


def linear_runs(
    rng, n: int, runs: int, lr: float = LR, tau: float = TAU, steps: int = STEPS
) -> list[dict]:
    """Batched runs of the linear model from θ Gaussian, W PyTorch-initialised (moments of
    noise views); each run's final state, last relative update and relative gradient."""
    A, B, _ = moments(*sample_views(rng, n, 100 * n, "noise"))
    theta0 = np.stack([random_predictor("gaussian", n, rng) for _ in range(runs)])
    W0 = np.stack([random_predictor("pytorch", n, rng) for _ in range(runs)])
    As, Bs = np.stack([A] * runs), np.stack([B] * runs)
    state = train_jointly(theta0, W0, As, Bs, steps=steps - 1, lr=lr, tau=tau)
    last = train_jointly(state[0], state[1], As, Bs, steps=1, lr=lr, tau=tau, xi=state[2])
    updates = _relative_update(state, last)
    out = []
    for r in range(runs):
        theta, W, xi = (m[r] for m in last)
        finite = np.all(np.isfinite(theta)) and np.all(np.isfinite(W))
        gradient = (
            relative_gradients(theta, W, A, B) if finite and np.linalg.norm(theta) > 0 else math.inf
        )
        out.append(
            dict(
                n=n,
                lr=lr,
                tau=tau,
                steps=steps,
                theta_norm=float(np.linalg.norm(theta)) if finite else math.inf,
                update=float(updates[r]) if finite else math.inf,
                gradient=float(gradient),
                A=A.tolist(),
                B=B.tolist(),
                theta0=theta0[r].tolist(),
                W0=W0[r].tolist(),
                theta=theta.tolist(),
                W=W.tolist(),
                xi=xi.tolist(),
            )
        )
    return out


def converged(run: dict) -> bool:
    return (
        run["update"] <= UPDATE_TOL
        and run["gradient"] <= STATIONARY_TOL
        and run["theta_norm"] >= NONZERO
    )


def update_map_jacobian(A, B, lr, tau):
    """For n = 1: the update (θ, W, ξ) ↦ (θ − η∂θL, W − η∂WL, τξ + (1 − τ)θ_new) of
    ``train_jointly``, with L = E(Wθx1 − ξx2)² (eq. 57), and its Jacobian, in sympy."""
    theta, W, xi = sympy.symbols("theta W xi", real=True)
    residual = W * theta * A - xi * B
    theta_new = theta - lr * 2 * W * residual
    W_new = W - lr * 2 * theta * residual
    xi_new = tau * xi + (1 - tau) * theta_new
    F = sympy.Matrix([theta_new, W_new, xi_new])
    return F.jacobian([theta, W, xi]), (theta, W, xi)


def attracting(run: dict) -> dict:
    """Exact, for a converged n = 1 run: the fixed point (θ*, C, θ*) with C = B/A nearest its limit
    (A, B, θ* its float64 values, exactly), the Jacobian's eigenvalues there, and whether all but
    the eigenvalue 1 (the line of fixed points θ ↦ (θ, C, θ)) lie inside the unit circle."""
    A, B = (sympy.Rational(Fraction(v[0][0])) for v in (run["A"], run["B"]))
    lr, tau = sympy.Rational(Fraction(run["lr"])), sympy.Rational(Fraction(run["tau"]))
    theta_star = sympy.Rational(Fraction(run["theta"][0][0]))
    J, variables = update_map_jacobian(A, B, lr, tau)
    J = J.subs(dict(zip(variables, (theta_star, B / A, theta_star))))
    polynomial = sympy.Poly(J.charpoly(sympy.Symbol("lam")).as_expr(), sympy.Symbol("lam"))
    roots = polynomial.nroots(n=30)
    others = sorted((abs(complex(r)) for r in roots), reverse=True)[1:]
    return dict(
        fixed_point=[str(theta_star), str(B / A), str(theta_star)],
        one_is_a_root=polynomial.eval(1) == 0,
        moduli=[abs(complex(r)) for r in roots],
        attracting=polynomial.eval(1) == 0 and max(others) < 1,
    )


def nonlinear_run(seed: int, steps: int, tau: float = TAU) -> dict:
    """A small MLP encoder with a linear predictor trained by full-batch SGD on BYOL's
    symmetrised, l2-normalised loss, on one fixed batch with fixed views, EMA teacher: how far
    its parameters still move over the last tenth of the run."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder, predictor = build_encoder("mlp", 4, 16, 4), build_predictor("linear", 4, 16)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 4, generator=g, dtype=torch.float64)
    x1, x2 = (x + 0.3 * torch.randn(16, 4, generator=g, dtype=torch.float64) for _ in range(2))

    def byol(p1, p2, t1, t2):
        return objectives.byol_symmetric(p1, p2, t1, t2, validate=False)

    learner = Learner(encoder, predictor, byol, optimizer("sgd", lr=0.5), tau)

    def flat():
        return torch.cat([p.detach().flatten() for p in learner.parameters()])

    with one_thread():
        for k in range(steps):
            if k == steps - steps // 10:
                before = flat()
            loss = learner.backward(x1, x2)
            learner.update()
    after = flat()
    return dict(
        seed=seed,
        steps=steps,
        tau=tau,
        loss=float(loss),
        moved=float((after - before).norm() / after.norm()),
        last=steps // 10,
    )


def search(rng, effort: Effort) -> list[dict]:
    """Edge cases and a push on the learning rate and τ: slower and faster teachers
    (τ = 0.5, 0.999), larger steps, for n = 1 and 2."""
    runs = []
    for n in (1, 2):
        for lr, tau in ((LR, 0.5), (LR, 0.999), (2 * LR, TAU), (LR / 2, TAU)):
            runs += linear_runs(rng, n, 2 * effort.scale, lr=lr, tau=tau)
    return runs


def check(effort: Effort) -> Finding:
    rng = effort.rng()
    sampled = [run for n in SIZES for run in linear_runs(rng, n, 8 * effort.scale)]
    searched = search(rng, effort)
    nonlinear = [nonlinear_run(seed, 1000) for seed in range(effort.scale)]
    found = [r for r in sampled + searched if converged(r)]
    evidence = [
        fact("linear-runs", which="random", **_summary(sampled)),
        fact("linear-runs", which="adversarial", **_summary(searched)),
        *[fact("nonlinear-run", **r) for r in nonlinear],
    ]
    common = dict(
        worst=min((r["update"] for r in found), default=math.inf),
        tolerance=UPDATE_TOL,
        sampled=len(sampled),
        searched=len(searched) + len(nonlinear),
    )
    ones = [r for r in found if r["n"] == 1]
    if not ones:
        verdict = "inconclusive" if found else "holds"
        return Finding(verdict, evidence=evidence, **common)
    smallest = min(ones, key=lambda r: r["update"])
    exact = attracting(smallest)
    evidence.append(
        fact(
            "attracting-fixed-point",
            **{
                k: v
                for k, v in smallest.items()
                if k in ("lr", "tau", "steps", "theta_norm", "update")
            },
            **exact,
        )
    )
    if not exact["attracting"]:
        return Finding("inconclusive", evidence=evidence, **common)
    counterexample = {
        **smallest,
        **exact,
        "replay": "theory.appH.train_jointly(theta0, W0, A, B, steps, lr, tau)",
    }
    return Finding("fails", evidence=evidence, counterexample=counterexample, **common)


def _summary(runs: list[dict]) -> dict:
    stopped = [r for r in runs if converged(r)]
    collapsed = [r for r in runs if math.isfinite(r["theta_norm"]) and r["theta_norm"] < NONZERO]
    diverged = [r for r in runs if not math.isfinite(r["theta_norm"])]
    return dict(
        runs=len(runs),
        sizes=sorted({r["n"] for r in runs}),
        converged=len(stopped),
        collapsed=len(collapsed),
        diverged=len(diverged),
        moving=len(runs) - len(stopped) - len(collapsed) - len(diverged),
        norms=[
            min((r["theta_norm"] for r in stopped), default=None),
            max((r["theta_norm"] for r in stopped), default=None),
        ],
        smallest_update=min((r["update"] for r in stopped), default=None),
    )


def _linear_sentence(f: dict) -> str:
    where = (
        "random runs"
        if f["which"] == "random"
        else "adversarial runs (τ = 0.5 and 0.999, the learning rate doubled and halved)"
    )
    line = (
        f"Appendix H's linear model, {where}, n in {f['sizes']}, {f['runs']} runs of {STEPS} steps: "
        f"{f['converged']} converged to a fixed point with θ ≠ 0 (last relative update ≤ {UPDATE_TOL:g}, "
        f"relative gradient ≤ {STATIONARY_TOL:g})"
    )
    if f["converged"]:
        line += f", ‖θ‖_F from {f['norms'][0]:.3g} to {f['norms'][1]:.3g}, smallest last update {f['smallest_update']:.3g}"
    return (
        line
        + f"; {f['collapsed']} collapsed to θ = 0, {f['diverged']} diverged, {f['moving']} still moving"
    )


WORDING = {
    **convergence_raft.WORDING,
    "linear-runs": _linear_sentence,
    "nonlinear-run": lambda f: (
        f"an MLP encoder with a linear predictor, full-batch SGD on BYOL's l2-normalised loss, one "
        f"fixed batch with fixed views, τ = {f['tau']:g}, seed {f['seed']}: after {f['steps']} steps the "
        f"loss is {f['loss']:.3g} and the parameters still moved by {f['moved']:.3g} (relative) over "
        f"the last {f['last']} steps"
    ),
    "attracting-fixed-point": lambda f: (
        f"exact (sympy, n = 1, the run's float64 values as rationals): the run (lr {f['lr']:g}, "
        f"τ = {f['tau']:g}, {f['steps']} steps, ‖θ‖ = {f['theta_norm']:.3g}, last update "
        f"{f['update']:.3g}) approaches (θ, W, ξ) = ({', '.join(f['fixed_point'])}), a fixed point of "
        f"the update map; its Jacobian's eigenvalues there have moduli "
        f"{', '.join(f'{m:.6g}' for m in f['moduli'])}: 1 {'is' if f['one_is_a_root'] else 'is NOT'} "
        "one of them (the line of fixed points (θ, C, θ)) and the others are "
        + (
            "inside the unit circle, so the line attracts every trajectory that comes near it"
            if f["attracting"]
            else "not all inside the unit circle"
        )
    ),
}

FAMILY = Family(
    name="Section 5: no convergence",
    order=57,
    doc="docs/claims/convergence.md",
    wording=WORDING,
    claims=(
        Claim(
            "no-convergence",
            title="no BYOL trajectory with an EMA teacher converges to a fixed point with θ ≠ 0",
            source="Section 5 ('there would be no convergence of the data points ... So does the parameters')",
            statement="With an EMA teacher (ξ ← τξ + (1 − τ)θ, τ ∈ (0, 1)) and a trained predictor, no "
            "BYOL trajectory converges to a fixed point with θ ≠ 0: neither in Appendix H's linear "
            "model (gradient descent on eq. 57 in θ and W) nor with a small nonlinear encoder trained "
            "by full-batch SGD on BYOL's l2-normalised loss. worst = the smallest last relative update "
            f"of a run that converged with θ ≠ 0 ('holds' while none does: none reaches ≤ {UPDATE_TOL:g}).",
            form="theory.appH.train_jointly from θ Gaussian, W PyTorch-initialised: last relative "
            "update of (θ, W, ξ) ≤ 1e-12, relative gradient ≤ 1e-8, ‖θ‖ ≥ 1e-6; sympy: the update "
            "map's Jacobian at the limit (n = 1)",
            check=check,
            reading="alternative",
            paper_text=Quote(
                "Section 5, last paragraph",
                r"RAFT incorporates the MT in an extremely dynamic way since it continuously varies from the history models, thus there would be no convergence of the data points. So does the parameters.",
            ),
        ),
        Claim(
            "no-convergence-raft",
            title="no RAFT trajectory (sphere, linear predictor, EMA teacher) converges without collapse",
            source="Section 5 ('RAFT ... continuously varies from the history models, thus there would "
            "be no convergence of the data points ... So does the parameters'); Algorithm 1",
            statement="RAFT on the hypersphere (L_RAFT of Algorithm 1, α = β = 1, plain and tangential "
            "cross-model term) with a linear encoder, a linear predictor W and an EMA teacher "
            "(ξ ← τξ + (1 − τ)θ, τ ∈ (0, 1)), trained by full-batch gradient descent in (θ, W) on a "
            "fixed finite data set with fixed views: no trajectory converges — none reaches a state "
            "where the parameters and the teacher stop moving (relative gradient, relative update and "
            f"‖θ − ξ‖/‖θ‖ all ≤ {convergence_raft.TOL:g}) with the inputs' representations apart on "
            f"the sphere (≥ {convergence_raft.APART:g}: not collapsed). worst = the relative gradient "
            "of the best converged run (or the smallest reached, when none converged).",
            form="theory.convergence_raft.train: batches of runs from θ0 Gaussian, W0 Gaussian, ξ0 = θ0, "
            f"lr in {convergence_raft.LRS}, τ in {convergence_raft.TAUS}, {convergence_raft.STEPS} steps; "
            f"the best converged run continued {convergence_raft.CONFIRM_STEPS} steps must move ≤ "
            f"{convergence_raft.TOL:g}",
            check=convergence_raft.check,
            reading="as written",
            paper_text=Quote(
                "Section 5, last paragraph",
                r"RAFT incorporates the MT in an extremely dynamic way since it continuously varies from the history models, thus there would be no convergence of the data points. So does the parameters.",
            ),
        ),
    ),
)
