"""Section 5's sentence on its own subject: "RAFT incorporates the MT in an extremely dynamic way
since it continuously varies from the history models, thus there would be no convergence of the
data points. So does the parameters." RAFT on the hypersphere with a linear predictor and an EMA
teacher, trained by gradient descent on a fixed finite data set: does some trajectory converge —
its parameters and its teacher stop moving, its representations not collapsed — or does none?

The checker trains batches of runs (a linear encoder θ: R^n → R^m, a linear predictor W, the
teacher ξ the EMA of θ; L_RAFT of Algorithm 1, plain and tangential forms) from random
initialisations on random data sets with fixed views, over a grid of learning rates and EMA
rates. A run converges when its relative gradient, its relative last update and its teacher gap
‖θ − ξ‖/‖θ‖ are all at most TOL and the representations of distinct inputs stay apart. The best
converged run is then confirmed: continued CONFIRM_STEPS further steps, its parameters must not
move beyond TOL, and its certificate (gradient, teacher gap, non-collapse) is recomputed there."""

import itertools
import math

import torch

from theory import objectives
from theory.claims import Effort, Finding, fact, one_thread

# Converged: relative gradient, relative last update of (θ, W, ξ) and teacher gap all ≤ TOL
# (float64 round-off of these quantities is ~1e-15, so 1e-10 is reached only by a run that
# has stopped); not collapsed: every two inputs' unit representations (encoder outputs and
# predictions) at least APART apart (a collapsed run maps every input to one point: 0).
TOL = 1e-10
APART = 1e-3
INPUTS, N_IN, DIM, NOISE = 6, 4, 3, 0.3
LRS, TAUS = (0.1, 0.2, 0.5, 1.0), (0.5, 0.9, 0.99, 0.996)
STEPS, CONFIRM_STEPS = 1500, 500
DATA_SETS = 2


def data_set(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """INPUTS inputs in R^N_IN, each with two fixed views x + NOISE·ε."""
    x = torch.randn(INPUTS, N_IN, generator=gen)
    return tuple(x + NOISE * torch.randn(INPUTS, N_IN, generator=gen) for _ in range(2))


def _losses(theta, W, xi, x1, x2, tangential: bool) -> torch.Tensor:
    """Per run: L_RAFT (α = β = 1) over its data set, p = Wθx, t = ξx (batched over runs)."""
    runs, inputs, _ = x1.shape
    p1, p2 = (x @ theta.transpose(1, 2) @ W.transpose(1, 2) for x in (x1, x2))
    t1, t2 = (x @ xi.transpose(1, 2) for x in (x1, x2))
    flat = [v.reshape(runs * inputs, -1) for v in (p1, p2, t1, t2)]
    return (
        objectives.raft(*flat, tangential=tangential, reduction="none", validate=False)
        .view(runs, inputs)
        .mean(1)
    )


def _norm(*tensors) -> torch.Tensor:
    return sum(t.pow(2).sum((1, 2)) for t in tensors).sqrt()


def train(theta, W, xi, x1, x2, lr, tau, tangential: bool, steps: int) -> dict:
    """Gradient descent on L_RAFT in (θ, W), then ξ ← τξ + (1 − τ)θ (eq. 5), ``steps`` times,
    for a batch of runs (lr, tau of shape (runs,)); the final state and its certificate."""
    theta, W, xi = theta.clone().requires_grad_(True), W.clone().requires_grad_(True), xi.clone()
    lr, tau = lr[:, None, None], tau[:, None, None]
    with one_thread():
        for _ in range(steps):
            g_theta, g_W = torch.autograd.grad(
                _losses(theta, W, xi, x1, x2, tangential).sum(), [theta, W]
            )
            with torch.no_grad():
                before = (theta.clone(), W.clone(), xi.clone())
                theta -= lr * g_theta
                W -= lr * g_W
                xi.mul_(tau).add_((1 - tau) * theta)
    theta, W = theta.detach(), W.detach()
    g_theta, g_W = _gradient(theta, W, xi, x1, x2, tangential)
    size = _norm(theta, W, xi)
    return dict(
        theta=theta,
        W=W,
        xi=xi,
        gradient=_norm(g_theta, g_W) / _norm(theta, W),
        update=_norm(*(a - b for a, b in zip((theta, W, xi), before))) / size,
        gap=_norm(theta - xi) / _norm(theta),
        apart=_apart(theta, W, x1),
    )


def _gradient(theta, W, xi, x1, x2, tangential):
    theta, W = theta.clone().requires_grad_(True), W.clone().requires_grad_(True)
    return torch.autograd.grad(_losses(theta, W, xi, x1, x2, tangential).sum(), [theta, W])


def _apart(theta, W, x1) -> torch.Tensor:
    """Per run: the smallest distance between the unit representations of two distinct inputs,
    encoder outputs θx and predictions Wθx (first views)."""

    def smallest(z):
        unit = objectives.unit(z.reshape(-1, z.shape[-1]), validate=False).view(z.shape)
        distances = torch.cdist(unit, unit) + torch.diag(torch.full((z.shape[1],), math.inf))
        return distances.amin((1, 2))

    z = x1 @ theta.transpose(1, 2)
    return torch.minimum(smallest(z), smallest(z @ W.transpose(1, 2)))


def converged(state: dict) -> torch.Tensor:
    return (
        (state["gradient"] <= TOL)
        & (state["update"] <= TOL)
        & (state["gap"] <= TOL)
        & (state["apart"] >= APART)
    )


def search(effort: Effort, tangential: bool) -> dict:
    """Every (lr, τ) of the grid on DATA_SETS data sets, effort.scale random initialisations each
    (θ0 Gaussian/2, W0 Gaussian/√m, ξ0 = θ0), STEPS steps (twice as many under --thorough)."""
    gen = effort.torch_generator()
    grid = list(itertools.product(LRS, TAUS)) * DATA_SETS * effort.scale
    runs = len(grid)
    views = [data_set(gen) for _ in range(DATA_SETS)]
    which = torch.arange(runs) // (runs // DATA_SETS)
    x1, x2 = (torch.stack([views[int(i)][k] for i in which]) for k in (0, 1))
    theta0 = torch.randn(runs, DIM, N_IN, generator=gen) / 2
    W0 = torch.randn(runs, DIM, DIM, generator=gen) / math.sqrt(DIM)
    lr, tau = (torch.tensor([g[k] for g in grid]) for k in (0, 1))
    steps = STEPS * (2 if effort.thorough else 1)
    state = train(theta0, W0, theta0, x1, x2, lr, tau, tangential, steps)
    return dict(
        tangential=tangential,
        x1=x1,
        x2=x2,
        theta0=theta0,
        W0=W0,
        lr=lr,
        tau=tau,
        steps=steps,
        state=state,
        converged=converged(state),
    )


def confirm(found: dict, i: int) -> dict:
    """Run i continued CONFIRM_STEPS steps from its final state: how far it moves, and its
    certificate there."""
    s = found["state"]
    pick = [
        t[i : i + 1]
        for t in (s["theta"], s["W"], s["xi"], found["x1"], found["x2"], found["lr"], found["tau"])
    ]
    later = train(*pick, found["tangential"], CONFIRM_STEPS)
    moved = float(
        _norm(later["theta"] - s["theta"][i : i + 1], later["W"] - s["W"][i : i + 1])[0]
        / _norm(later["theta"], later["W"])[0]
    )
    certificate = {k: float(later[k][0]) for k in ("gradient", "update", "gap", "apart")}
    return dict(moved=moved, **certificate, confirmed=moved <= TOL and bool(converged(later)[0]))


def summary(found: dict) -> dict:
    """Per τ of the grid: runs, converged runs, the smallest relative gradient reached."""
    s, done = found["state"], found["converged"]
    rows = []
    for tau in TAUS:
        mine = found["tau"] == tau
        rows.append(
            dict(
                tau=tau,
                runs=int(mine.sum()),
                converged=int((done & mine).sum()),
                smallest_gradient=float(s["gradient"][mine].min()),
            )
        )
    collapsed = int((s["apart"] < APART).sum())
    return dict(
        tangential=found["tangential"],
        steps=found["steps"],
        runs=len(done),
        by_tau=rows,
        collapsed=collapsed,
    )


def counterexample(found: dict, i: int, confirmation: dict) -> dict:
    s = found["state"]
    return dict(
        form="tangential" if found["tangential"] else "plain",
        lr=float(found["lr"][i]),
        tau=float(found["tau"][i]),
        steps=found["steps"],
        x1=found["x1"][i].tolist(),
        x2=found["x2"][i].tolist(),
        theta0=found["theta0"][i].tolist(),
        W0=found["W0"][i].tolist(),
        theta=s["theta"][i].tolist(),
        W=s["W"][i].tolist(),
        xi=s["xi"][i].tolist(),
        gradient=float(s["gradient"][i]),
        update=float(s["update"][i]),
        gap=float(s["gap"][i]),
        apart=float(s["apart"][i]),
        confirmation=confirmation,
        replay="theory.convergence_raft.train(θ0, W0, ξ0 = θ0, x1, x2, lr, τ, tangential, steps), batch of one",
    )


def check(effort: Effort) -> Finding:
    found = [search(effort, tangential) for tangential in (False, True)]
    evidence = [fact("raft-runs", **summary(f)) for f in found]
    runs = sum(len(f["converged"]) for f in found)
    candidates = [
        (float(f["state"]["gradient"][i]), n, int(i))
        for n, f in enumerate(found)
        for i in torch.nonzero(f["converged"]).flatten()
    ]
    # sampled: the random initialisations; searched: the grid of learning rates, EMA rates and
    # forms they are run at, and the confirmation of the run reported
    common = dict(tolerance=TOL, sampled=runs, searched=len(LRS) * len(TAUS) * len(found))
    if not candidates:
        worst = min(float(f["state"]["gradient"].min()) for f in found)
        evidence.append(fact("raft-none-converged", smallest_gradient=worst))
        return Finding("holds", worst=worst, evidence=evidence, **common)
    _, n, i = min(candidates)
    confirmation = confirm(found[n], i)
    example = counterexample(found[n], i, confirmation)
    evidence.append(
        fact(
            "raft-converged",
            **{k: v for k, v in example.items() if not isinstance(v, (list, dict))},
            **{f"confirm_{k}": v for k, v in confirmation.items()},
        )
    )
    common.update(searched=common["searched"] + 1, worst=example["gradient"])
    if not confirmation["confirmed"]:
        return Finding("inconclusive", evidence=evidence, **common)
    return Finding("fails", evidence=evidence, counterexample=example, **common)


def _runs_sentence(f: dict) -> str:
    per_tau = "; ".join(
        f"τ = {r['tau']:g}: {r['converged']} of {r['runs']} (smallest relative gradient "
        f"{r['smallest_gradient']:.2g})"
        for r in f["by_tau"]
    )
    return (
        f"RAFT ({'tangential' if f['tangential'] else 'plain'} form), linear encoder R^{N_IN} → R^{DIM}, linear "
        f"predictor, EMA teacher, full-batch gradient descent on {DATA_SETS} data sets of {INPUTS} inputs with "
        f"fixed views, learning rates {', '.join(map(str, LRS))}, {f['runs']} runs of {f['steps']} steps: converged "
        f"(relative gradient, last update and teacher gap ≤ {TOL:g}, inputs ≥ {APART:g} apart on the sphere): "
        f"{per_tau}; {f['collapsed']} collapsed"
    )


WORDING = {
    "raft-runs": _runs_sentence,
    "raft-none-converged": lambda f: (
        f"no run converged; the smallest relative gradient reached is {f['smallest_gradient']:.3g}"
    ),
    "raft-converged": lambda f: (
        f"a converging trajectory: the {f['form']} form at lr {f['lr']:g}, τ = {f['tau']:g}, after "
        f"{f['steps']} steps has relative gradient {f['gradient']:.2g}, last relative update "
        f"{f['update']:.2g}, teacher gap ‖θ − ξ‖/‖θ‖ {f['gap']:.2g}, and its inputs' unit "
        f"representations are at least {f['apart']:.3g} apart (not collapsed); continued "
        f"{CONFIRM_STEPS} steps it moves by {f['confirm_moved']:.2g} (relative) and ends with relative "
        f"gradient {f['confirm_gradient']:.2g}, teacher gap {f['confirm_gap']:.2g}, inputs "
        f"{f['confirm_apart']:.3g} apart: "
        + (
            "confirmed, the parameters and the teacher have stopped"
            if f["confirm_confirmed"]
            else "NOT confirmed"
        )
    ),
}
