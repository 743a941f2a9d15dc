"""Tables 1 and 3 compare RAFT and BYOL' trained from independent random seeds. Theorem 5.1
and its variants make RAFT from (θ0, M(w0)) the mirror image of BYOL' from (θ0, w0) (M: −W for
the linear predictor, the output layer negated for the MLP); if the initial predictor's law is
invariant under M and independent of θ0, RAFT's encoder trajectory from a random initialisation
then has the law of BYOL''s, and a difference between their rows is seed noise. The checker
verifies the invariance of PyTorch's default initialisation exactly (the bounds it draws from)
and the equality of the two trajectories' laws statistically, beside a case whose laws differ
(the identity-initialised predictor), which shows the test can tell them apart."""

from dataclasses import replace

import scipy.stats
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from theory.claims import Claim, Effort, Family, Finding, Quote, fact, one_thread
from theory.thm51.engine import Learner
from theory.thm51.setups import PAIRS, Setup, build, view_pairs

# Statistical rule: the laws are called equal while every two-sample Kolmogorov–Smirnov test
# between RAFT's and BYOL''s runs keeps p ≥ ALPHA after Bonferroni's correction over the
# statistics; the test is called able to see a difference when it rejects the identity-initialised
# pair at the same level.
ALPHA = 0.01
RUNS, STEPS = 24, 15
FAN_INS = (1, 2, 3, 4, 5, 16, 64, 127, 128, 512)


class _UniformBounds(TorchDispatchMode):
    """Records the (from, to) of every uniform_ an initialisation draws."""

    def __init__(self):
        super().__init__()
        self.bounds = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.__name__.startswith("uniform_"):
            kwargs = kwargs or {}
            low = args[1] if len(args) > 1 else kwargs.get("from", 0.0)
            high = args[2] if len(args) > 2 else kwargs.get("to", 1.0)
            self.bounds.append((float(low), float(high)))
        return func(*args, **(kwargs or {}))


def init_bounds(fan_in: int, fan_out: int, bias: bool = True) -> list[tuple[float, float]]:
    """The bounds of the uniform draws of ``nn.Linear(fan_in, fan_out)``'s default
    initialisation, weight then bias, as torch itself calls them."""
    with _UniformBounds() as recorder:
        nn.Linear(fan_in, fan_out, bias=bias, dtype=torch.float64)
    return recorder.bounds


def symmetric_inits(fan_ins=FAN_INS) -> dict:
    """Every default-initialised Linear layer draws each entry from U(−b, b): the law is
    invariant under negation, for the weight and the bias, at every fan-in tried."""
    draws, asymmetric = 0, []
    for fan_in in fan_ins:
        for low, high in init_bounds(fan_in, 3):
            draws += 1
            if low != -high:
                asymmetric.append([fan_in, low, high])
    return dict(layers=len(fan_ins), draws=draws, asymmetric=asymmetric)


def _statistics(learner: Learner, start: list[torch.Tensor], probe: torch.Tensor) -> list[float]:
    """Encoder-only statistics of a run: ‖θ‖, the distance travelled ‖θ − θ0‖, the first
    weight, and the mean cosine of the probe's representations with their mean."""
    theta = torch.cat([p.detach().flatten() for p in learner.encoder.parameters()])
    theta0 = torch.cat([p.flatten() for p in start])
    with torch.no_grad():
        z = nn.functional.normalize(learner.encoder.eval()(probe), dim=1)
    learner.encoder.train()
    spread = float((z @ nn.functional.normalize(z.mean(0), dim=0)).mean())
    return [float(theta.norm()), float((theta - theta0).norm()), float(theta[0]), spread]


STATISTICS = ("‖θ‖", "‖θ − θ0‖", "θ's first weight", "mean cosine to the mean representation")


def trained(setup: Setup, side: int, identity_predictor: bool) -> list[float]:
    """One side of the pair (0: BYOL', 1: RAFT) trained from the setup's seed, its predictor at
    PyTorch's default initialisation (or W0 = I), and its statistics."""
    objective = PAIRS[setup.pair](setup)[side]
    encoder, predictor = build(setup)
    if identity_predictor:
        with torch.no_grad():
            predictor.weight.copy_(torch.eye(setup.dim, dtype=torch.float64))
    start = [p.detach().clone() for p in encoder.parameters()]
    learner = Learner(encoder, predictor, objective, setup.make_optimizer(), setup.tau)
    views = view_pairs(setup)
    for _ in range(setup.steps):
        learner.backward(*next(views))
        learner.update()
    probe = torch.randn(
        32, setup.inputs, generator=torch.Generator().manual_seed(7), dtype=torch.float64
    )
    return _statistics(learner, start, probe)


def compare_laws(rng, predictor: str, runs: int, identity_predictor: bool = False) -> dict:
    """BYOL' and RAFT from independent seeds: a KS test per statistic, Bonferroni-corrected."""
    base = Setup(
        pair="byol'/raft",
        tangential=False,
        encoder="mlp",
        inputs=4,
        width=8,
        dim=4,
        predictor=predictor,
        optimizer="adam",
        lr=1e-2,
        tau=0.9,
        batch=8,
        steps=STEPS,
    )
    with one_thread():
        sides = [
            [
                trained(replace(base, seed=int(rng.integers(2**31))), side, identity_predictor)
                for _ in range(runs)
            ]
            for side in (0, 1)
        ]
    p_values = [
        scipy.stats.ks_2samp([r[k] for r in sides[0]], [r[k] for r in sides[1]]).pvalue
        for k in range(len(STATISTICS))
    ]
    corrected = min(1.0, min(p_values) * len(p_values))
    return dict(
        predictor=predictor,
        identity_init=identity_predictor,
        runs=runs,
        steps=STEPS,
        p_values=p_values,
        corrected=corrected,
    )


def check(effort: Effort) -> Finding:
    rng = effort.rng()
    inits = symmetric_inits()
    laws = [compare_laws(rng, kind, RUNS * effort.scale) for kind in ("linear", "mlp")]
    # At the default size: the power to see a difference only grows with the sample.
    power = compare_laws(rng, "linear", RUNS, identity_predictor=True)
    evidence = [
        fact("init-symmetry", **inits),
        *[fact("same-law", **law) for law in laws],
        fact("power", **power),
        fact("composes", claims=["thm5.1-adam-mlp", "thm5.1-adam", "thm5.1-no-tangent"]),
    ]
    worst = min(law["corrected"] for law in laws)
    common = dict(
        worst=worst,
        tolerance=ALPHA,
        sampled=2 * RUNS * effort.scale * len(laws),
        searched=inits["draws"] + 2 * power["runs"],
    )
    if inits["asymmetric"]:
        first = inits["asymmetric"][0]
        return Finding(
            "fails",
            evidence=evidence,
            counterexample={"fan_in": first[0], "uniform_from": first[1], "uniform_to": first[2]},
            **common,
        )
    if worst < ALPHA or power["corrected"] >= ALPHA:
        evidence.append(fact("undecided", differ=worst < ALPHA, blind=power["corrected"] >= ALPHA))
        return Finding("inconclusive", evidence=evidence, **common)
    return Finding("holds", evidence=evidence, **common)


def _p_values(f: dict) -> str:
    return ", ".join(f"{name} p = {p:.3g}" for name, p in zip(STATISTICS, f["p_values"]))


WORDING = {
    "init-symmetry": lambda f: (
        f"exact: PyTorch's default nn.Linear initialisation, {f['layers']} fan-ins from 1 to 512, "
        f"{f['draws']} uniform draws recorded as torch calls them: "
        + (
            "every one draws from U(−b, b), a law invariant under negation (weight and bias), so M "
            "maps the initial predictor's law to itself; on the float grid U(−b, b) and its mirror "
            "differ in one point of probability 2⁻²⁴ (float32) or 2⁻⁵³ (float64)"
            if not f["asymmetric"]
            else f"{len(f['asymmetric'])} draw from an asymmetric interval"
        )
    ),
    "same-law": lambda f: (
        f"statistics: {f['runs']} runs of BYOL' and {f['runs']} of RAFT ({f['predictor']} predictor at "
        f"PyTorch's default init, MLP encoder, Adam, {f['steps']} steps, independent seeds): two-sample "
        f"KS tests {_p_values(f)}; smallest p after Bonferroni {f['corrected']:.3g} (the laws are "
        f"called different below {ALPHA:g})"
    ),
    "power": lambda f: (
        f"the test sees a difference where the laws differ: with the predictor initialised to W0 = I "
        f"(BYOL-LPI's init, not invariant under −W) {f['runs']} + {f['runs']} runs give "
        f"{_p_values(f)}; smallest p after Bonferroni {f['corrected']:.3g}"
    ),
    "composes": lambda f: (
        "composes: with the invariance above, the equality in law follows from the correspondence "
        f"of {', '.join(f['claims'])} (the paper trains with Adam, plain cross-model terms, linear "
        "and MLP predictors); see their verdicts"
    ),
    "undecided": lambda f: (
        "inconclusive: "
        + "; ".join(
            ([f"a KS test rejects equality at {ALPHA:g}"] if f["differ"] else [])
            + (
                [
                    "the test does not reject the pair whose laws differ, so it could not see a difference"
                ]
                if f["blind"]
                else []
            )
        )
    ),
}

FAMILY = Family(
    name="RAFT and BYOL' from random seeds (Tables 1 and 3)",
    order=53,
    doc="docs/claims/same-law.md",
    wording=WORDING,
    claims=(
        Claim(
            "raft-byolp-same-law",
            title="RAFT from a random initialisation has the law of BYOL' (PyTorch's default init)",
            source="Tables 1 and 3 (RAFT and BYOL' rows, independent seeds); Theorem 5.1; Appendix B",
            statement="With PyTorch's default initialisation of the linear and MLP predictors (every "
            "entry of every Linear layer drawn independently from U(−b, b)) and θ0 drawn "
            "independently of the predictor, the law of the initial predictor is invariant under the "
            "Theorem 5.1 map M (−W; the MLP's output layer negated), so RAFT's encoder trajectory "
            "from a random initialisation has the same distribution as BYOL''s, given the "
            "correspondence in the setting these runs train (Adam, plain cross-model term): "
            "thm5.1-adam-mlp for the MLP predictor; for the linear one thm5.1-adam (Adam, tangential "
            "form) and thm5.1-no-tangent (plain form, SGD). worst = the smallest "
            "Bonferroni-corrected two-sample KS p-value between RAFT's and BYOL''s runs "
            f"('holds' while ≥ {ALPHA:g}).",
            form="exact: the (from, to) of every uniform_ of nn.Linear's default init satisfy from = −to; "
            "statistical: scipy.stats.ks_2samp on encoder statistics after training BYOL' and RAFT "
            "from independent seeds, against the identity-initialised predictor as a power check",
            check=check,
            reading="extension",
            paper_text=Quote(
                "Section 4.2",
                r"we find BYOL' is a special form of RAFT under certain conditions, which makes the performance of BYOL' a guarantee of the effectiveness of RAFT.",
            ),
        ),
    ),
)
