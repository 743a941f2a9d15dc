"""Replayable lockstep runs: the objective pairs compared, the small models they train, the
``Setup`` that fixes every value of a run, and a run judged by the decision rule (``evaluate``).

Every loss comes from ``theory.objectives``; every run is a pure function of its ``Setup``.
"""

from dataclasses import dataclass, replace
from typing import Callable, Iterator

import torch
from torch import nn

from theory import objectives as obj
from theory.claims import one_thread
from theory.thm51 import rule
from theory.thm51.engine import (
    DEFAULT_CONTROLS,
    OPTIMIZERS,
    Objective,
    OptimizerFactory,
    PredictorMap,
    Trace,
    identity_map,
    lockstep,
    negate_output_layer,
    optimizer,
)


def _weighted(loss, setup: "Setup", tangential: bool) -> Objective:
    def objective(p1, p2, t1, t2):
        return loss(
            p1,
            p2,
            t1,
            t2,
            setup.alpha,
            setup.beta,
            tangential=tangential,
            sphere=setup.sphere,
            validate=False,
        )

    return objective


def _byol(setup: "Setup", tangential: bool) -> Objective:
    """L_BYOL (eq. 4) in the engine's (p1, p2, t1, t2) signature."""

    def objective(p1, p2, t1, t2):
        return obj.byol(p1, t2, tangential=tangential, sphere=setup.sphere, validate=False)

    return objective


def _byol_symmetric(setup: "Setup", tangential: bool) -> Objective:
    def objective(p1, p2, t1, t2):
        return obj.byol_symmetric(
            p1, p2, t1, t2, tangential=tangential, sphere=setup.sphere, validate=False
        )

    return objective


def _half_alignment(setup: "Setup") -> Objective:
    """½·L_align (eq. 2) of the online outputs: what BYOL-NP descends at ξ = θ (Section 2.2)."""

    def objective(p1, p2, t1, t2):
        return 0.5 * obj.alignment(p1, p2, sphere=setup.sphere, validate=False)

    return objective


def frozen_negation(objective: Objective) -> Objective:
    """The objective of a run whose predictor is frozen at q(z) = −z (W = −I, never trained):
    its online outputs negated."""

    def negated_outputs(p1, p2, t1, t2):
        return objective(-p1, -p2, t1, t2)

    return negated_outputs


def run_away(objective: Objective) -> Objective:
    """−objective: 'run-away BYOL' minimises −‖p̂1 − t̂2‖², i.e. maximises the distance to the
    teacher that BYOL minimises."""

    def negated(p1, p2, t1, t2):
        return -objective(p1, p2, t1, t2)

    return negated


PAIRS: dict[str, Callable[["Setup"], tuple[Objective, Objective, PredictorMap]]] = {
    # Theorem 5.1: BYOL' from (θ0, W0), RAFT from (θ0, M(W0)).
    "byol'/raft": lambda s: (
        _weighted(obj.byol_prime, s, s.tangential),
        _weighted(obj.raft, s, s.tangential),
        negate_output_layer,
    ),
    # BYOL (eq. 4) from (θ0, W0), run-away BYOL from (θ0, M(W0)).
    "byol/run-away-byol": lambda s: (
        _byol(s, s.tangential),
        run_away(_byol(s, s.tangential)),
        negate_output_layer,
    ),
    "byol-sym/run-away-byol-sym": lambda s: (
        _byol_symmetric(s, s.tangential),
        run_away(_byol_symmetric(s, s.tangential)),
        negate_output_layer,
    ),
    # BYOL itself (eq. 4, symmetrised) from (θ0, W0), RAFT from (θ0, M(W0)).
    "byol-sym/raft": lambda s: (
        _byol_symmetric(s, s.tangential),
        _weighted(obj.raft, s, s.tangential),
        negate_output_layer,
    ),
    # BYOL'-NP from θ0, RAFT with its predictor frozen at −I from θ0.
    "byol'/raft-frozen": lambda s: (
        _weighted(obj.byol_prime, s, s.tangential),
        frozen_negation(_weighted(obj.raft, s, s.tangential)),
        identity_map,
    ),
    # Symmetrised BYOL against ½·L_align (Section 2.2's fixed point), from the same (θ0, W0).
    "byol-sym/half-align": lambda s: (
        _byol_symmetric(s, s.tangential),
        _half_alignment(s),
        identity_map,
    ),
    # A plain objective and its Tan* variant (Table 2) from the same (θ0, W0).
    "byol/tanbyol": lambda s: (_byol(s, False), _byol(s, True), identity_map),
    "byol'/tanbyol'": lambda s: (
        _weighted(obj.byol_prime, s, False),
        _weighted(obj.byol_prime, s, True),
        identity_map,
    ),
    "raft/tanraft": lambda s: (
        _weighted(obj.raft, s, False),
        _weighted(obj.raft, s, True),
        identity_map,
    ),
}

ENCODERS = ("linear", "mlp", "mlp-bn", "cnn-bn")
PREDICTORS = ("linear", "linear-bias", "mlp", "none")
IMAGE_CHANNELS = 2


def build_encoder(kind: str, inputs: int, width: int, dim: int, dtype=torch.float64) -> nn.Module:
    """f_θ for the checks: ``inputs`` features (an ``inputs``×``inputs`` image of
    IMAGE_CHANNELS channels for ``cnn-bn``) to a ``dim``-dimensional representation. Weights are
    drawn in ``dtype`` itself, so a seed gives the same model whatever the default dtype."""
    f = dict(dtype=dtype)
    if kind == "linear":
        return nn.Linear(inputs, dim, **f)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(inputs, width, **f), nn.ReLU(), nn.Linear(width, dim, **f))
    if kind == "mlp-bn":
        return nn.Sequential(
            nn.Linear(inputs, width, **f),
            nn.BatchNorm1d(width, **f),
            nn.ReLU(),
            nn.Linear(width, dim, **f),
        )
    if kind == "cnn-bn":
        return nn.Sequential(
            nn.Conv2d(IMAGE_CHANNELS, width, 3, padding=1, **f),
            nn.BatchNorm2d(width, **f),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(width * inputs * inputs, dim, **f),
        )
    raise ValueError(f"unknown encoder {kind!r}; known: {', '.join(ENCODERS)}")


def build_predictor(kind: str, dim: int, width: int, dtype=torch.float64) -> nn.Module | None:
    """q_w: the paper's linear predictor W (no bias, Appendix B), with a bias, its MLP
    Linear→ReLU→Linear (Appendix B, no BatchNorm), or none (q = I, the -NP variants)."""
    f = dict(dtype=dtype)
    if kind == "linear":
        return nn.Linear(dim, dim, bias=False, **f)
    if kind == "linear-bias":
        return nn.Linear(dim, dim, **f)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(dim, width, **f), nn.ReLU(), nn.Linear(width, dim, **f))
    if kind == "none":
        return None
    raise ValueError(f"unknown predictor {kind!r}; known: {', '.join(PREDICTORS)}")


@dataclass(frozen=True)
class Setup:
    """Every value needed to replay one lockstep run: ``run(Setup(**counterexample['setup']))``.

    ``tangential`` applies to the mirrored pairs; the Tan* pairs compare plain with tangential.
    """

    pair: str = "byol'/raft"
    sphere: bool = True
    tangential: bool = True
    alpha: float = 1.0
    beta: float = 1.0
    encoder: str = "mlp"
    inputs: int = 6
    width: int = 8
    dim: int = 8
    predictor: str = "linear"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0
    tau: float = 0.996
    batch: int = 8
    steps: int = 60
    seed: int = 0
    noise: float = 0.5

    def __post_init__(self):
        for name, known in (
            ("pair", PAIRS),
            ("encoder", ENCODERS),
            ("predictor", PREDICTORS),
            ("optimizer", OPTIMIZERS),
        ):
            if getattr(self, name) not in known:
                raise ValueError(
                    f"unknown {name} {getattr(self, name)!r}; known: {', '.join(known)}"
                )
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"momentum applies to sgd only, not {self.optimizer!r}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.encoder == "cnn-bn":
            return (IMAGE_CHANNELS, self.inputs, self.inputs)
        return (self.inputs,)

    @property
    def mirrored(self) -> bool:
        """Whether the second side starts from the negated predictor (q' = −q)."""
        return self.predictor != "none" and PAIRS[self.pair](self)[2] is negate_output_layer

    def make_optimizer(self) -> OptimizerFactory:
        hyper = dict(lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "sgd":
            hyper["momentum"] = self.momentum
        return optimizer(self.optimizer, **hyper)


def view_pairs(setup: Setup) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """A seeded stream of positive pairs: each step draws a batch from a fixed pool of base
    points and adds independent Gaussian noise (the 'augmentation') to each view."""
    g = torch.Generator().manual_seed(setup.seed)
    pool = torch.randn(4 * setup.batch, *setup.input_shape, generator=g, dtype=torch.float64)
    while True:
        x = pool[torch.randint(0, len(pool), (setup.batch,), generator=g)]
        yield (
            x + setup.noise * torch.randn(x.shape, generator=g, dtype=torch.float64),
            x + setup.noise * torch.randn(x.shape, generator=g, dtype=torch.float64),
        )


def build(setup: Setup) -> tuple[nn.Module, nn.Module | None]:
    """The encoder and predictor of a setup, initialised from its seed (float64)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(setup.seed)
        encoder = build_encoder(setup.encoder, setup.inputs, setup.width, setup.dim)
        predictor = build_predictor(setup.predictor, setup.dim, setup.width)
    return encoder, predictor


def parameter_count(setup: Setup) -> int:
    encoder, predictor = build(setup)
    modules = [encoder] + ([predictor] if predictor is not None else [])
    return sum(p.numel() for m in modules for p in m.parameters())


def run(
    setup: Setup,
    *,
    probe_gradients: bool = False,
    stop=None,
    dtype: torch.dtype = torch.float64,
    controls: tuple[str, ...] = DEFAULT_CONTROLS,
) -> Trace:
    """The lockstep run a setup describes (float64, ulp controls on both sides by default)."""
    first, second, predictor_map = PAIRS[setup.pair](setup)
    encoder, predictor = build(setup)
    with one_thread():
        return lockstep(
            encoder,
            predictor,
            first,
            second,
            make_optimizer=setup.make_optimizer(),
            tau=setup.tau,
            steps=setup.steps,
            views=view_pairs(setup),
            predictor_map=predictor_map,
            controls=controls,
            probe_gradients=probe_gradients,
            stop=stop,
            dtype=dtype,
            seed=setup.seed,
        )


def replay(example: dict) -> Trace:
    """The float64 trace of a counterexample's setup, from scratch."""
    return run(Setup(**example["setup"]))


@dataclass
class Outcome:
    setup: Setup
    trace: Trace
    assessment: rule.Assessment

    @property
    def pressure(self) -> float:
        """How hard the run tests the claim: its largest decisive deviation when float64
        decides every step (more amplified is harder), else below every such run."""
        a = self.assessment
        return a.worst_deviation if a.fully_decisive else a.decisive / a.steps - 1


def evaluate(setup: Setup, probe_gradients: bool = False) -> Outcome:
    """Run a setup, stopping at its first excess; settle that excess by precision scaling and,
    if it is round-off, judge the whole run with every excess settled the same way."""
    trace = run(setup, probe_gradients=probe_gradients, stop=rule.stop_when_settled)
    first = rule.assess(trace, setup.steps)
    k = first.separation
    if k is None:
        return Outcome(setup, trace, first)
    replay32 = run(replace(setup, steps=k), dtype=torch.float32, controls=())
    if rule.scales_like_drift(trace.deviation[k - 1], replay32.deviation[k - 1]) is True:
        return Outcome(setup, trace, first)
    trace = run(setup, probe_gradients=probe_gradients, stop=rule.stop_when_undecided)
    return Outcome(setup, trace, _settled(trace, setup))


def _settled(trace: Trace, setup: Setup) -> rule.Assessment:
    """The trace judged with each excess settled by its float32 replay: round-off excesses
    are set aside, the first drift (or the first excess float32 cannot settle) ends it."""
    float32 = run(setup, dtype=torch.float32, controls=()).deviation

    def scaling(k: int, deviation: float) -> tuple[bool | None, float]:
        return rule.scales_like_drift(deviation, float32[k - 1]), float32[k - 1] / deviation

    return rule.settle(trace, setup.steps, scaling)
