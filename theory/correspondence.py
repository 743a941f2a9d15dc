"""Theorem 5.1 and its variants (Section 5, Appendix G): do BYOL' and RAFT follow the same
parameter trajectory?

The engine (``lockstep``) trains two objectives side by side on identical batches: the first
from (θ0, W0), the second from (θ0, M(W0)) where M is the predictor map (−W for a linear
predictor, the output layer negated for an MLP predictor, the identity for the Tan* checks).
Each side has its own mean teacher, the EMA of its own encoder (eq. 5). At every step it
records how far θ' is from θ and W' from M(W), relative to the parameters' scale, and both
losses. Control runs (each side again from an initialisation one ulp away) measure the float64
round-off amplification along the same trajectories: a deviation means something only next to
them, and an excess over them is settled by precision scaling (see "the decision rule").

The claims below point the engine at small encoders (MLPs, a CNN with BatchNorm) through a
replayable ``Setup``; training can point it at the real ResNet18 loop. Every loss comes from
``theory.objectives``.
"""

import copy
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Iterable, Iterator

import sympy
import torch
from torch import nn

from theory import objectives as obj
from theory.claims import Effort, Finding, claim, one_thread

Objective = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""objective(p1, p2, t1, t2) -> scalar loss: online predictions of both views, teacher outputs."""

OptimizerFactory = Callable[[list[nn.Parameter]], torch.optim.Optimizer]

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def optimizer(name: str, **hyper) -> OptimizerFactory:
    """A factory for one of ``OPTIMIZERS`` with the given hyper-parameters (lr, momentum, ...)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimiser {name!r}; known: {', '.join(OPTIMIZERS)}")

    def make(params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return OPTIMIZERS[name](params, **hyper)

    return make


# --------------------------------------------------------------------------- predictor maps

PredictorMap = Callable[[nn.Module], dict[str, float]]
"""map(predictor) -> {parameter name: sign}: the second side starts from sign·W0, tensor by
tensor, and W'_k is compared with sign·W_k."""


def negate_output_layer(predictor: nn.Module) -> dict[str, float]:
    """−W for a linear predictor q(z) = Wz (Theorem 5.1); for a deeper predictor whose last
    layer is linear, that layer's weight and bias negated, so that q'(z) = −q(z)."""
    linears = [name for name, m in predictor.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("negate_output_layer needs a predictor with an nn.Linear layer")
    last = linears[-1]
    output = {f"{last}.weight" if last else "weight", f"{last}.bias" if last else "bias"}
    return {name: -1.0 if name in output else 1.0 for name, _ in predictor.named_parameters()}


def identity_map(predictor: nn.Module) -> dict[str, float]:
    """Both sides start from the same predictor (the Tan* ↔ plain comparison)."""
    return {name: 1.0 for name, _ in predictor.named_parameters()}


# --------------------------------------------------------------------------- one training run


class Learner:
    """One BYOL-style training run: online encoder f_θ, predictor q_w (None: q = I), the mean
    teacher f_ξ (a copy of the encoder, then the EMA of eq. 5), an optimiser over θ and w.
    Every module runs in training mode (BatchNorm on batch statistics), the teacher too: eq. 5
    averages the teacher's parameters, its BatchNorm statistics are its own."""

    def __init__(self, encoder, predictor, objective: Objective, make_optimizer, tau: float):
        self.encoder = encoder.train()
        self.predictor = predictor.train() if predictor is not None else None
        self.teacher = copy.deepcopy(encoder).train().requires_grad_(False)
        self.objective = objective
        self.tau = tau
        self.optimizer = make_optimizer(self.parameters())
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"the optimiser factory returned {type(self.optimizer).__name__}, "
                "not a torch.optim.Optimizer"
            )
        # What runs are compared on: θ (parameters and floating buffers such as BatchNorm's
        # running statistics) and the predictor's parameters. Updates are in place, so these
        # tensors stay the live state.
        theta = self.encoder.state_dict(keep_vars=True).values()
        self._state = (
            [t.detach() for t in theta if t.is_floating_point()],
            [p.detach() for p in self.predictor.parameters()] if self.predictor is not None else [],
        )

    def parameters(self) -> list[nn.Parameter]:
        predictor = list(self.predictor.parameters()) if self.predictor is not None else []
        return list(self.encoder.parameters()) + predictor

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        return self.predictor(z) if self.predictor is not None else z

    def backward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """The loss on one pair of views, its gradient left in .grad (Algorithm 1, lines 5–10)."""
        self.optimizer.zero_grad(set_to_none=False)
        p1, p2 = self.predict(x1), self.predict(x2)
        with torch.no_grad():
            t1, t2 = self.teacher(x1), self.teacher(x2)
        loss = self.objective(p1, p2, t1, t2)
        loss.backward()
        return loss.detach()

    def update(self) -> None:
        """The optimiser step, then ξ ← τξ + (1 − τ)θ (eq. 5; Algorithm 1, lines 11–12)."""
        self.optimizer.step()
        with torch.no_grad():
            for xi, theta in zip(self.teacher.parameters(), self.encoder.parameters()):
                xi.mul_(self.tau).add_(theta, alpha=1 - self.tau)

    def state(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(θ with floating buffers, predictor parameters), live."""
        return self._state

    def gradients(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        predictor = list(self.predictor.parameters()) if self.predictor is not None else []
        return [p.grad for p in self.encoder.parameters()], [p.grad for p in predictor]

    def load(self, source: "Learner", signs: dict[str, float] | None = None, nudge: bool = False):
        """Take the source's exact state, its predictor mapped by ``signs``; ``nudge`` then
        moves every online parameter up by one ulp."""
        with torch.no_grad():
            self.encoder.load_state_dict(source.encoder.state_dict())
            self.teacher.load_state_dict(source.teacher.state_dict())
            if self.predictor is not None:
                for (name, p), q in zip(self.predictor.named_parameters(), source.predictor.parameters()):
                    p.copy_(q if signs is None else signs[name] * q)
            if nudge:
                _nudge(self.parameters())


def _nudge(params: Iterable[torch.Tensor]) -> None:
    """Move every entry one ulp towards +∞."""
    with torch.no_grad():
        for p in params:
            p.copy_(torch.nextafter(p, torch.full_like(p, math.inf)))


def relative_deviation(a: list[torch.Tensor], b: list[torch.Tensor], signs: list[float] | None = None) -> torch.Tensor:
    """max over tensors of ‖b − s·a‖∞ / max(‖a‖∞, ‖b‖∞) (a tensor of zeros counts 0): the
    largest deviation of b from its mapped counterpart, relative to each tensor's own scale."""
    signs = signs or [1.0] * len(a)
    gaps = torch.stack([(y - s * x).abs().max() for x, y, s in zip(a, b, signs)])
    scales = torch.stack([torch.maximum(x.abs().max(), y.abs().max()) for x, y in zip(a, b)])
    return torch.where(scales > 0, gaps / scales, gaps).max().double()


def relative_gap(a: list[torch.Tensor], b: list[torch.Tensor], signs: list[float] | None = None) -> torch.Tensor:
    """‖b − s·a‖₂ / max(‖a‖₂, ‖b‖₂) over the concatenated tensors (0 when both are zero): the
    norm-wise relative mismatch of two gradients."""
    signs = signs or [1.0] * len(a)
    gap = torch.stack([(y - s * x).pow(2).sum() for x, y, s in zip(a, b, signs)]).sum().sqrt()
    norm_a = torch.stack([x.pow(2).sum() for x in a]).sum().sqrt()
    norm_b = torch.stack([y.pow(2).sum() for y in b]).sum().sqrt()
    scale = torch.maximum(norm_a, norm_b)
    return torch.where(scale > 0, gap / scale, gap).double()


@dataclass
class GradientGap:
    """Eq. 28 at one point: the relative gaps of eq. 43 (θ) and eq. 53 (predictor), and the
    larger of the two objectives' own gradient gaps when the point moves by one ulp (the
    round-off control)."""

    theta: float
    predictor: float
    control_theta: float
    control_predictor: float

    @property
    def ratio(self) -> float:
        """The larger gap over its control (never taken below FLOOR); ∞ when not finite."""
        worst = 0.0
        for gap, control in ((self.theta, self.control_theta), (self.predictor, self.control_predictor)):
            worst = max(worst, gap / max(control, FLOOR) if math.isfinite(gap) else math.inf)
        return worst


def compare_gradients(first: "Learner", second: "Learner", first_control: "Learner",
                      second_control: "Learner", signs, x1, x2) -> list[torch.Tensor]:
    """At the state ``first`` holds (its gradients already computed): the gaps between its
    gradients and ``second``'s at the mapped state (θ, predictor), and the larger of each
    objective's own gradient gap when the point moves by one ulp (the control; θ, predictor)."""
    second.load(first, signs)
    second.backward(x1, x2)
    first_control.load(first, nudge=True)
    first_control.backward(x1, x2)
    second_control.load(second, nudge=True)
    second_control.backward(x1, x2)
    (theta_1, pred_1), (theta_2, pred_2) = first.gradients(), second.gradients()
    (theta_c1, pred_c1), (theta_c2, pred_c2) = first_control.gradients(), second_control.gradients()
    theta = [
        relative_gap(theta_1, theta_2),
        torch.maximum(relative_gap(theta_1, theta_c1), relative_gap(theta_2, theta_c2)),
    ]
    if first.predictor is None:
        predictor = [torch.zeros_like(theta[0])] * 2
    else:
        sign_list = [signs[n] for n, _ in first.predictor.named_parameters()]
        predictor = [
            relative_gap(pred_1, pred_2, sign_list),
            torch.maximum(relative_gap(pred_1, pred_c1), relative_gap(pred_2, pred_c2)),
        ]
    return [theta[0], predictor[0], theta[1], predictor[1]]


# --------------------------------------------------------------------------- the engine

CONTROLS = ("ulp", "reorder")
"""Round-off controls, run for each side: the side's objective again from the side's own
initialisation, (ulp) moved by one ulp in every entry, or (reorder) on every batch with its
rows permuted. Each is mathematically the side's own trajectory; how far it drifts from it is
that trajectory's float64 round-off amplification. Both sides get controls because their
round-off differs: near p̂ = t̂, RAFT's gradient is a small tangential difference of large
radial terms, BYOL''s is not.

The default is ``("ulp",)``: over 6421 decisive steps of 128 holding runs (four claims, with
batch 2, τ = 0 and 30x learning rates among them) the comparison's deviation stayed within
2.8x of the ulp controls' (median 0.33x), but reached 27x of the reorder controls' (per-row
rounding is identical in a permuted batch), and adding them only loosened the envelope."""
DEFAULT_CONTROLS = ("ulp",)


@dataclass
class Trace:
    """Per step k = 1, 2, ... (after the k-th update): the relative deviations of the second
    side from the mapped first side (θ and predictor), the losses before the update, each
    control's deviation from its own side, and with ``probe_gradients`` the gradient gaps
    at the first side's exact state (``GradientGap``)."""

    theta: list[float]
    predictor: list[float]
    first_loss: list[float]
    second_loss: list[float]
    controls: dict[str, list[float]]
    gradients: list[GradientGap] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.theta)

    @property
    def deviation(self) -> list[float]:
        return [max(a, b) for a, b in zip(self.theta, self.predictor)]

    @property
    def envelope(self) -> list[float]:
        """Per step, the largest deviation of any control run: the round-off scale."""
        runs = list(self.controls.values())
        return [max(values) for values in zip(*runs)] if runs else [0.0] * self.steps

    @property
    def bitwise_identical(self) -> bool:
        return all(d == 0 for d in self.deviation)


def _mirror(predictor: nn.Module | None, signs: dict[str, float]) -> nn.Module | None:
    if predictor is None:
        return None
    mirrored = copy.deepcopy(predictor)
    with torch.no_grad():
        for name, p in mirrored.named_parameters():
            p.mul_(signs[name])
    return mirrored


def lockstep(
    encoder: nn.Module,
    predictor: nn.Module | None,
    first: Objective,
    second: Objective,
    *,
    make_optimizer: OptimizerFactory,
    tau: float,
    steps: int,
    views: Iterable[tuple[torch.Tensor, torch.Tensor]],
    predictor_map: PredictorMap = negate_output_layer,
    controls: tuple[str, ...] = DEFAULT_CONTROLS,
    probe_gradients: bool = False,
    stop: Callable[[int, float, float], bool] | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> Trace:
    """Train ``first`` from (θ0, W0) and ``second`` from (θ0, M(W0)) on identical batches, M
    the predictor map, each with its own mean teacher (ξ0 = θ0, then eq. 5), and trace their
    deviation step by step (see ``Trace``).

    ``encoder`` and ``predictor`` are copied (cast to ``dtype`` on ``device``), never trained in
    place; ``predictor=None`` means q = I. ``views`` yields (x1, x2) batches. ``seed`` drives
    the reorder control's permutations. ``stop(k, deviation, envelope)``, if given, ends the
    run after step k when it returns True (it reads two numbers per step: a host
    synchronisation on an accelerator; without it the trace is read once, at the end).
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0 <= tau < 1:
        raise ValueError(
            f"the EMA rate τ must lie in [0, 1) (eq. 5: ξ ← τξ + (1 − τ)θ; τ = 1 never moves "
            f"the teacher), got {tau!r}"
        )
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        raise ValueError(f"unknown control {unknown[0]!r}; known: {', '.join(CONTROLS)}")

    def place(module):
        return copy.deepcopy(module).to(device=device, dtype=dtype) if module is not None else None

    encoder, predictor = place(encoder), place(predictor)
    signs = predictor_map(predictor) if predictor is not None else {}
    sign_list = [signs[n] for n, _ in predictor.named_parameters()] if predictor is not None else []

    def learner(objective, mirrored=False, nudge=False):
        enc = copy.deepcopy(encoder)
        pred = _mirror(predictor, signs) if mirrored else copy.deepcopy(predictor)
        if nudge:
            _nudge(list(enc.parameters()) + (list(pred.parameters()) if pred is not None else []))
        return Learner(enc, pred, objective, make_optimizer, tau)

    a, b = learner(first), learner(second, mirrored=True)
    control_runs = {
        (side, c): (reference, learner(objective, mirrored=side == "second", nudge=c == "ulp"))
        for side, objective, reference in (("first", first, a), ("second", second, b))
        for c in controls
    }
    probes = (
        (learner(second, mirrored=True), learner(first), learner(second, mirrored=True))
        if probe_gradients
        else None
    )
    permutations = torch.Generator().manual_seed(seed)

    theta, pred, first_loss, second_loss, gaps = [], [], [], [], []
    control_dev = {key: [] for key in control_runs}
    pairs = iter(views)
    for k in range(1, steps + 1):
        try:
            x1, x2 = next(pairs)
        except StopIteration:
            raise ValueError(f"the stream of views ended after {k - 1} of {steps} steps") from None
        x1, x2 = x1.to(device=device, dtype=dtype), x2.to(device=device, dtype=dtype)
        first_loss.append(a.backward(x1, x2))
        second_loss.append(b.backward(x1, x2))
        if probes is not None:
            gaps.append(torch.stack(compare_gradients(a, *probes, signs, x1, x2)).detach())
        order = torch.randperm(x1.shape[0], generator=permutations).to(device)
        for (_, kind), (_, run) in control_runs.items():
            if kind == "reorder":
                run.backward(x1[order], x2[order])
            else:
                run.backward(x1, x2)
        for run in (a, b, *(run for _, run in control_runs.values())):
            run.update()
        (theta_a, pred_a), (theta_b, pred_b) = a.state(), b.state()
        with torch.no_grad():
            theta.append(relative_deviation(theta_a, theta_b))
            pred.append(relative_deviation(pred_a, pred_b, sign_list) if pred_a else torch.zeros_like(theta[-1]))
            for key, (reference, run) in control_runs.items():
                control_dev[key].append(relative_deviation(sum(reference.state(), []), sum(run.state(), [])))
        if stop is not None:
            deviation = max(float(theta[-1]), float(pred[-1]))
            envelope = max((float(v[-1]) for v in control_dev.values()), default=0.0)
            if stop(k, deviation, envelope):
                break

    def floats(values):
        return torch.stack(values).double().cpu().tolist() if values else []

    return Trace(
        theta=floats(theta),
        predictor=floats(pred),
        first_loss=floats(first_loss),
        second_loss=floats(second_loss),
        controls={f"{side}-{kind}": floats(v) for (side, kind), v in control_dev.items()},
        gradients=[GradientGap(*row) for row in floats(gaps)],
    )


# --------------------------------------------------------------------------- objective pairs


def _options(setup: "Setup") -> dict:
    return dict(sphere=setup.sphere, validate=False)


def _byol_prime(setup: "Setup", tangential: bool) -> Objective:
    return _weighted(obj.byol_prime, setup, tangential)


def _raft(setup: "Setup", tangential: bool) -> Objective:
    return _weighted(obj.raft, setup, tangential)


def _weighted(loss, setup: "Setup", tangential: bool) -> Objective:
    def objective(p1, p2, t1, t2):
        return loss(p1, p2, t1, t2, setup.alpha, setup.beta, tangential=tangential, **_options(setup))

    return objective


def _byol(setup: "Setup", tangential: bool) -> Objective:
    """L_BYOL (eq. 4) in the engine's (p1, p2, t1, t2) signature."""

    def objective(p1, p2, t1, t2):
        return obj.byol(p1, t2, tangential=tangential, **_options(setup))

    return objective


def _byol_symmetric(setup: "Setup", tangential: bool) -> Objective:
    def objective(p1, p2, t1, t2):
        return obj.byol_symmetric(p1, p2, t1, t2, tangential=tangential, **_options(setup))

    return objective


def run_away(objective: Objective) -> Objective:
    """−objective: 'run-away BYOL' minimises −‖p̂1 − t̂2‖², i.e. maximises the distance to the
    teacher that BYOL minimises."""

    def negated(p1, p2, t1, t2):
        return -objective(p1, p2, t1, t2)

    return negated


PAIRS: dict[str, Callable[["Setup"], tuple[Objective, Objective, PredictorMap]]] = {
    # Theorem 5.1: BYOL' from (θ0, W0), RAFT from (θ0, M(W0)).
    "byol'/raft": lambda s: (_byol_prime(s, s.tangential), _raft(s, s.tangential), negate_output_layer),
    # BYOL (eq. 4) from (θ0, W0), run-away BYOL from (θ0, M(W0)).
    "byol/run-away-byol": lambda s: (
        _byol(s, s.tangential), run_away(_byol(s, s.tangential)), negate_output_layer
    ),
    "byol-sym/run-away-byol-sym": lambda s: (
        _byol_symmetric(s, s.tangential), run_away(_byol_symmetric(s, s.tangential)), negate_output_layer
    ),
    # A plain objective and its Tan* variant (Table 2) from the same (θ0, W0).
    "byol/tanbyol": lambda s: (_byol(s, False), _byol(s, True), identity_map),
    "byol'/tanbyol'": lambda s: (_byol_prime(s, False), _byol_prime(s, True), identity_map),
    "raft/tanraft": lambda s: (_raft(s, False), _raft(s, True), identity_map),
}


# --------------------------------------------------------------------------- small models

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
            nn.Linear(inputs, width, **f), nn.BatchNorm1d(width, **f), nn.ReLU(), nn.Linear(width, dim, **f)
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
        for name, known in (("pair", PAIRS), ("encoder", ENCODERS), ("predictor", PREDICTORS),
                            ("optimizer", OPTIMIZERS)):
            if getattr(self, name) not in known:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; known: {', '.join(known)}")
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"momentum applies to sgd only, not {self.optimizer!r}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.encoder == "cnn-bn":
            return (IMAGE_CHANNELS, self.inputs, self.inputs)
        return (self.inputs,)

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


# --------------------------------------------------------------------------- the decision rule

# A step k is *decisive* while every earlier step was and the round-off envelope (the largest
# control deviation) is finite and ≤ DECISIVE: past that the float64 trajectory no longer
# reproduces itself to 1e-8, so it cannot show whether two trajectories are the same.
DECISIVE = 1e-8
# At a decisive step the deviation is an *excess* when
#     deviation > FACTOR · max(envelope, FLOOR).
# The comparison and the controls are different samples of the same kind of round-off growth
# (every run is mathematically its side's trajectory), so their ratio stays near 1: at most 2.8
# over 6421 decisive steps of 128 random holding runs (see CONTROLS), 14.8 at most in the
# holding claims' default checks and 23.1 in their --thorough checks (seed 0; tangent-noop,
# adversarial runs with τ = 0, where the plain BYOL gradient is a small tangential difference
# of large radial terms and a one-ulp nudge rounds much the same way). An excess is not yet a
# separation (precision scaling decides, below). FACTOR = 100 leaves that margin, while a real
# break of the correspondence (a gradient gap of relative size ≳ 1e-3, an O(β) term) moves the
# parameters by ≳ lr·1e-3 ≫ 100·1e-15 at its first step: the failing claims separate at ~1e15
# times their control.
FACTOR = 100.0
# A deviation of a few ulps (2⁻⁵² ≈ 2.2e-16 relative) is rounding of the last update itself,
# so the envelope is never taken below FLOOR ≈ 4.5 ulps.
FLOOR = 1e-15
# Precision scaling confirms an excess. The controls can under-estimate the comparison's
# round-off when their rounding correlates with the run they control (a one-ulp nudge often
# rounds the same way). But round-off scales with the unit round-off and drift does not: the
# same run in float32 (u = 2⁻²⁴) deviates about 2⁵³⁻²⁴ = 2²⁹ ≈ 5.4e8 times more when the
# excess is round-off, about as much when it is drift. An excess is a *separation* when float32
# reproduces it within CONFIRM = 2^14.5 ≈ 2.3e4, the geometric midpoint of 1 and 2²⁹.
PRECISION_RATIO = 2.0**29
CONFIRM = math.sqrt(PRECISION_RATIO)
MIN_STEPS = 50


def threshold(envelope: float) -> float:
    return FACTOR * max(envelope, FLOOR)


def excess(deviation: float, envelope: float) -> bool:
    """Whether a deviation exceeds the round-off threshold (a non-finite one does)."""
    return not deviation <= threshold(envelope)


def decisive(envelope: float) -> bool:
    return math.isfinite(envelope) and envelope <= DECISIVE


def stop_when_settled(k: int, deviation: float, envelope: float) -> bool:
    """Stop a run at its first excess or when it stops being decisive."""
    return not decisive(envelope) or excess(deviation, envelope)


def stop_when_undecided(k: int, deviation: float, envelope: float) -> bool:
    return not decisive(envelope)


def scales_like_drift(float64: float, float32: float) -> bool | None:
    """True when the float32 value reproduces the float64 excess (drift), False when it is
    larger by more than CONFIRM (round-off), None when float32 cannot tell (one of the two
    is finite and the other not)."""
    if not math.isfinite(float64) or not math.isfinite(float32):
        return True if not math.isfinite(float64) and not math.isfinite(float32) else None
    return float32 <= CONFIRM * float64


@dataclass
class Assessment:
    """A trace judged by the rule above. ``roundoff`` maps the steps whose excess precision
    scaling showed to be round-off to their float32/float64 deviation ratio; ``unresolved``
    is a step whose excess neither precision could settle (decisive steps end before it)."""

    steps: int
    decisive: int
    separation: int | None
    worst_ratio: float
    worst_deviation: float
    worst_envelope: float
    roundoff: dict[int, float] = field(default_factory=dict)
    unresolved: int | None = None

    @property
    def fully_decisive(self) -> bool:
        return self.decisive == self.steps


def assess(trace: Trace, steps: int | None = None, roundoff: dict[int, float] | None = None,
           unresolved: int | None = None) -> Assessment:
    """Judge a trace of a run meant to last ``steps`` steps (default: as long as it ran):
    the first decisive excess not in ``roundoff`` is the separation; the worst ratio leaves
    the round-off steps out."""
    roundoff = roundoff or {}
    count, separation, ratio, worst, envelope_max = 0, None, 0.0, 0.0, 0.0
    for k, (deviation, envelope) in enumerate(zip(trace.deviation, trace.envelope), start=1):
        if not decisive(envelope) or k == unresolved:
            break
        count = k
        worst, envelope_max = max(worst, deviation if math.isfinite(deviation) else math.inf), max(envelope_max, envelope)
        if k in roundoff:
            continue
        ratio = max(ratio, deviation / max(envelope, FLOOR) if math.isfinite(deviation) else math.inf)
        if excess(deviation, envelope):
            separation = k
            break
    return Assessment(steps or trace.steps, count, separation, ratio, worst, envelope_max,
                      dict(roundoff), unresolved)


@dataclass
class Outcome:
    setup: Setup
    trace: Trace
    assessment: Assessment

    @property
    def pressure(self) -> float:
        """How hard the run tests the claim: its largest decisive deviation when float64
        decides every step (more amplified is harder), else below every such run."""
        a = self.assessment
        return a.worst_deviation if a.fully_decisive else a.decisive / a.steps - 1


def evaluate(setup: Setup, probe_gradients: bool = False) -> Outcome:
    """Run a setup, stopping at its first excess; settle that excess by precision scaling and,
    if it is round-off, judge the whole run with every excess settled the same way."""
    trace = run(setup, probe_gradients=probe_gradients, stop=stop_when_settled)
    first = assess(trace, setup.steps)
    k = first.separation
    if k is None:
        return Outcome(setup, trace, first)
    replay32 = run(replace(setup, steps=k), dtype=torch.float32, controls=())
    if scales_like_drift(trace.deviation[k - 1], replay32.deviation[k - 1]) is True:
        return Outcome(setup, trace, first)
    trace = run(setup, probe_gradients=probe_gradients, stop=stop_when_undecided)
    float32 = run(setup, dtype=torch.float32, controls=()).deviation
    roundoff, unresolved = {}, None
    for k, (deviation, envelope) in enumerate(zip(trace.deviation, trace.envelope), start=1):
        if not decisive(envelope):
            break
        if excess(deviation, envelope):
            drift = scales_like_drift(deviation, float32[k - 1])
            if drift is None:
                unresolved = k
            if drift is not False:
                break
            roundoff[k] = float32[k - 1] / deviation
    return Outcome(setup, trace, assess(trace, setup.steps, roundoff, unresolved))


# --------------------------------------------------------------------------- Appendix G, eq. 28


def gaps_at(source: Learner, setup: Setup, x1, x2, dtype: torch.dtype = torch.float64) -> GradientGap:
    """Eq. 28 by autograd at the state ``source`` holds (a run of the first objective), in
    ``dtype``: ∂L_first/∂θ at (θ, W) against ∂L_second/∂θ at (θ, M(W)) (eq. 43), M(∂L_first/∂W)
    against ∂L_second/∂W' (eq. 53), next to each objective's own gradient one ulp away."""
    first, second, predictor_map = PAIRS[setup.pair](setup)
    encoder, predictor = build(setup)
    signs = predictor_map(predictor) if predictor is not None else {}

    def fresh(objective):
        pred = copy.deepcopy(predictor).to(dtype) if predictor is not None else None
        return Learner(copy.deepcopy(encoder).to(dtype), pred, objective, setup.make_optimizer(), setup.tau)

    here = fresh(first)
    here.load(source)
    x1, x2 = x1.to(dtype), x2.to(dtype)
    with one_thread():
        here.backward(x1, x2)
        gaps = compare_gradients(here, fresh(second), fresh(first), fresh(second), signs, x1, x2)
    return GradientGap(*(float(g) for g in gaps))


def random_point(
    setup: Setup,
    *,
    teacher_noise: float = 0.5,
    predictor_scale: float = 1.0,
    predictor_weight: torch.Tensor | None = None,
) -> tuple[Learner, torch.Tensor, torch.Tensor]:
    """A point for eq. 28: θ and W from the setup's seed (W times ``predictor_scale``, or
    ``predictor_weight`` for a linear predictor), the teacher ξ = θ + ``teacher_noise``·ε (ε
    standard normal), and the first batch of the setup's views."""
    first = PAIRS[setup.pair](setup)[0]
    encoder, predictor = build(setup)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(setup.seed + 1)
        if predictor is not None:
            for p in predictor.parameters():
                p.mul_(predictor_scale)
            if predictor_weight is not None:
                predictor.weight.copy_(predictor_weight)
        source = Learner(encoder, predictor, first, setup.make_optimizer(), setup.tau)
        for xi in source.teacher.parameters():
            xi.add_(teacher_noise * torch.randn_like(xi))
    x1, x2 = next(view_pairs(setup))
    return source, x1, x2


def gradient_gaps(setup: Setup, *, dtype: torch.dtype = torch.float64, **point) -> GradientGap:
    """Eq. 28 at a ``random_point``."""
    source, x1, x2 = random_point(setup, **point)
    return gaps_at(source, setup, x1, x2, dtype)


def trajectory_point(setup: Setup, step: int) -> tuple[Learner, torch.Tensor, torch.Tensor]:
    """The first side's run of a setup just before its ``step``-th update, and that step's
    batch: the state the lockstep probe compares at that step (bitwise, on the CPU)."""
    first = PAIRS[setup.pair](setup)[0]
    encoder, predictor = build(setup)
    source = Learner(encoder, predictor, first, setup.make_optimizer(), setup.tau)
    views = view_pairs(setup)
    with one_thread():
        for _ in range(step - 1):
            source.backward(*next(views))
            source.update()
    x1, x2 = next(views)
    return source, x1, x2


def _rotation(dim: int, cosine: float) -> torch.Tensor:
    """I with the (e1, e2) block replaced by a rotation whose cosine is ``cosine``."""
    w = torch.eye(dim, dtype=torch.float64)
    sine = math.sqrt(1 - cosine**2)
    w[:2, :2] = torch.tensor([[cosine, -sine], [sine, cosine]], dtype=torch.float64)
    return w


def edge_points(setup: Setup) -> list[dict]:
    """Boundary points for eq. 28 (``random_point`` arguments): the teacher equal to the online
    encoder (ξ = θ, as at step 0) or far from it; the predictor tiny or huge; for a square
    linear predictor at ξ = θ, W = ±I (predictions on, or antipodal to, the teacher's) and
    rotations with ⟨Wz, z⟩ ≈ 0 (λ → 0 in the tangential form) or obtuse."""
    points = [
        dict(teacher_noise=0.0),
        dict(teacher_noise=5.0),
        dict(predictor_scale=1e-3),
        dict(predictor_scale=1e3),
    ]
    if setup.predictor == "linear" and setup.dim >= 2:
        eye = torch.eye(setup.dim, dtype=torch.float64)
        for w in (eye, -eye, _rotation(setup.dim, 1e-3), _rotation(setup.dim, -0.5)):
            points.append(dict(teacher_noise=0.0, predictor_weight=w))
    return points


def mirrored_output_gap(setup: Setup) -> float:
    """max |q_{M(w)}(z) + q_w(z)| / max |q_w(z)| at random z: 0 when the predictor map
    negates the predictor's output (q' = −q), as the mirrored pairs need."""
    _, predictor = build(setup)
    if predictor is None:
        return 0.0
    mirrored = _mirror(predictor, negate_output_layer(predictor))
    z = torch.randn(64, setup.dim, generator=torch.Generator().manual_seed(setup.seed), dtype=torch.float64)
    with torch.no_grad():
        q, q_mirrored = predictor(z), mirrored(z)
    return float((q_mirrored + q).abs().max() / q.abs().max())


GRADIENT_JUDGEMENTS = ("agrees", "round-off", "breaks", "unresolved")


def judge_gap(gap: GradientGap, in_float32: Callable[[], GradientGap]) -> str:
    """'agrees' within FACTOR of its control; otherwise precision scaling decides between
    'round-off' and 'breaks' (float32 reproduces the gap: eq. 28 fails at this point), or
    'unresolved'."""
    if gap.ratio <= FACTOR:
        return "agrees"
    g32 = in_float32()
    drifts = [
        scales_like_drift(g64, g)
        for g64, control, g in ((gap.theta, gap.control_theta, g32.theta),
                                (gap.predictor, gap.control_predictor, g32.predictor))
        if excess(g64, control)
    ]
    if any(d is True for d in drifts):
        return "breaks"
    return "unresolved" if any(d is None for d in drifts) else "round-off"


# --------------------------------------------------------------------------- sympy relations


def _mirrored(setup: Setup) -> bool:
    return setup.predictor != "none" and PAIRS[setup.pair](setup)[2] is negate_output_layer


def symbolic_losses(setup: Setup) -> tuple[sympy.Expr, sympy.Expr]:
    """Per sample, the first objective at the online outputs (p1, p2) and the second at the
    mapped point (s·p1, s·p2), s = −1 when the predictor is mirrored (q' = −q: a linear
    predictor −W, or an MLP with its output layer negated), else +1; over the Gram entries
    g_a_b = ⟨a, b⟩ of p1, p2, t1, t2 (of the l2-normalised vectors when ``sphere``: then
    g_a_a = 1). In the tangential form λ is frozen (the stop-gradient): Λ_pt = ⟨p, t⟩ on the
    first side; on the second λ' = ⟨s·p, t⟩, which the code derives as s·Λ_pt."""
    from theory.symbolic import ALPHA, BETA, Gram

    g = Gram(["p1", "p2", "t1", "t2"], unit=setup.sphere)
    lam = {(p, t): sympy.Symbol(f"Lambda_{p}{t}", real=True, nonzero=True)
           for p in ("p1", "p2") for t in ("t1", "t2")}

    def cross(p, t, s, tangential):
        if not tangential:
            return s * s * g(p, p) - 2 * s * g(p, t) + g(t, t)  # ‖s·p − t‖²
        here = (s * g(p, t)).subs(g(p, t), lam[p, t])  # λ' = ⟨s·p, t⟩ at the frozen ⟨p, t⟩ = Λ
        return (g(t, t) - 2 * here * s * g(p, t) + here**2 * s * s * g(p, p)) / here  # ‖t − λ's·p‖²/λ'

    def objectives(s, tangential):
        align = s * s * g.squared_distance("p1", "p2")
        symmetric = (cross("p1", "t1", s, tangential) + cross("p2", "t2", s, tangential)) / 2
        byol = cross("p1", "t2", s, tangential)
        byol_sym = (byol + cross("p2", "t1", s, tangential)) / 2
        return {
            "byol'": ALPHA * align + BETA * symmetric,
            "raft": ALPHA * align - BETA * symmetric,
            "byol": byol,
            "run-away-byol": -byol,
            "byol-sym": byol_sym,
            "run-away-byol-sym": -byol_sym,
        }

    name_first, name_second = setup.pair.split("/")
    if name_second.startswith("tan"):
        raise ValueError("a plain objective and its Tan* form differ in value: see symbolic_tangent_noop")
    s = -1 if _mirrored(setup) else 1
    return objectives(1, setup.tangential)[name_first], objectives(s, setup.tangential)[name_second]


def symbolic_relation(setup: Setup) -> tuple[sympy.Expr, list[sympy.Symbol]]:
    """L_second(mapped point) − L_first(point), simplified, and the Gram entries of the online
    outputs it still depends on (none: its gradient in the online outputs vanishes, so the
    two objectives' gradients correspond at every point)."""
    first, second = symbolic_losses(setup)
    relation = sympy.simplify(sympy.expand(second - first))
    online = [s for s in relation.free_symbols if s.name.startswith("g_p")]
    return relation, sorted(online, key=lambda s: s.name)


def symbolic_tangent_noop(dim: int = 3) -> sympy.Matrix:
    """∇_p[tangential cross-model] − ∇_p[plain cross-model], both composed with the
    l2-normalisation u = p/‖p‖ inside the graph, λ frozen at an arbitrary Λ ≠ 0, for an
    arbitrary teacher vector s, in components for dimension ``dim``: zero when the Tan* form
    leaves every gradient unchanged (the ∇_u difference, 2(Λ − 1)u, is radial, and the
    Jacobian of u annihilates radial vectors)."""
    p = sympy.Matrix(sympy.symbols(f"p1:{dim + 1}", real=True))
    s = sympy.Matrix(sympy.symbols(f"s1:{dim + 1}", real=True))
    lam = sympy.Symbol("Lambda", real=True, nonzero=True)
    u = p / sympy.sqrt(p.dot(p))
    tangential = (s - lam * u).dot(s - lam * u) / lam
    plain = (s - u).dot(s - u)
    return sympy.Matrix([sympy.simplify(sympy.diff(tangential - plain, c)) for c in p])


def symbolic_evidence(setup: Setup) -> list[str]:
    first, second = setup.pair.split("/")
    if second.startswith("tan"):
        difference = symbolic_tangent_noop()
        zero = difference == sympy.zeros(3, 1)
        return [
            "sympy, D = 3 in components: ∇_p[‖t̂ − Λû‖²/Λ] − ∇_p[‖t̂ − û‖²] with û = p/‖p‖ in the "
            f"graph, for every frozen Λ ≠ 0 and every teacher vector, = {list(difference)}"
            + ("; the ∇_û difference 2(Λ − 1)û is radial and the Jacobian of p/‖p‖ kills it"
               if zero else "; NOT zero")
        ]
    relation, online = symbolic_relation(setup)
    s = "−" if _mirrored(setup) else "+"
    where = "on the unit sphere" if setup.sphere else "on raw vectors"
    frozen = ""
    if setup.tangential:
        frozen = ", λ frozen" + (" (λ' = −λ at the mirrored point)" if _mirrored(setup) else "")
    line = (
        f"sympy, per sample {where}{frozen}: L_{second}({s}p) − L_{first}(p) = "
        f"{sympy.sstr(relation)}"
    )
    if online:
        frozen_values = {lam: sympy.Symbol(f"g_{lam.name[7:9]}_{lam.name[9:]}", real=True)
                         for lam in relation.free_symbols if lam.name.startswith("Lambda_")}
        if frozen_values:  # its value at the point itself, where each Λ_pt = ⟨p, t⟩
            line += f" (at the point itself, Λ_pt = g_p_t: {sympy.sstr(sympy.simplify(relation.subs(frozen_values)))})"
        line += (
            f"; it depends on the online outputs through {', '.join(map(str, online))}, so the "
            "two gradients differ wherever its gradient is non-zero"
        )
    else:
        line += (
            "; free of the online outputs, so at every point ∇θ L_first(θ, W) = "
            "∇θ L_second(θ, M(W)) and ∇W L_first = M(∇W L_second) (eqs. 43, 53)"
        )
    return [line]


# --------------------------------------------------------------------------- the search

STEPS = 60

SGD = {"optimizer": "sgd"}
MOMENTUM = {"optimizer": "sgd", "momentum": 0.9}
WEIGHT_DECAY = {"optimizer": "sgd", "weight_decay": 1e-2}
ADAM = {"optimizer": "adam"}
ADAMW = {"optimizer": "adamw", "weight_decay": 1e-2}


def lr_range(optimizer_name: str, sphere: bool) -> tuple[float, float]:
    """Sampled learning rates (log-uniform): Adam around the paper's 3e-4 (Appendix B) up to
    100x; SGD up to rates where a sphere-normalised step moves a weight by O(1); raw
    objectives are unbounded below (RAFT's −‖p − t‖²) and diverge within steps above ~0.1."""
    if optimizer_name in ("adam", "adamw"):
        return 1e-4, 3e-2
    return (1e-2, 3.0) if sphere else (1e-3, 1e-1)


@dataclass(frozen=True)
class Family:
    """A claim's conditions (what its setups fix) and the choices its checks vary."""

    pairs: tuple[str, ...] = ("byol'/raft",)
    sphere: bool = True
    tangential: tuple[bool, ...] = (True,)
    predictors: tuple[str, ...] = ("linear",)
    optimizers: tuple[dict, ...] = (SGD,)


def sample(family: Family, i: int, rng, thorough: bool) -> Setup:
    """The i-th random setup: encoders cycle MLP, MLP+BatchNorm, CNN+BatchNorm; τ cycles
    0.9, 0.996; D cycles 2, 8, 3, 16; α = β for i mod 4 ∈ {0, 1}, else both log-uniform in
    [0.1, 10]; the family's pairs, predictors, forms and optimisers cycle out of step, so that
    three runs already cover two of each; learning rate log-uniform in ``lr_range``; under
    --thorough runs last 60 to 240 steps."""
    encoder = ("mlp", "mlp-bn", "cnn-bn")[i % 3]
    preset = family.optimizers[i % len(family.optimizers)]
    low, high = lr_range(preset["optimizer"], family.sphere)
    equal = (i // 2) % 2 == 0
    alpha, beta = (1.0, 1.0) if equal else tuple(float(10 ** rng.uniform(-1, 1)) for _ in range(2))
    return Setup(
        pair=family.pairs[i % len(family.pairs)],
        sphere=family.sphere,
        tangential=family.tangential[((i + 1) // 2) % len(family.tangential)],
        alpha=alpha,
        beta=beta,
        encoder=encoder,
        inputs=4 if encoder == "cnn-bn" else int(rng.choice([3, 6])),
        width=int(rng.choice([4, 8, 16])),
        dim=(2, 8, 3, 16)[i % 4],
        predictor=family.predictors[(i + i // len(family.pairs)) % len(family.predictors)],
        **preset,
        lr=float(math.exp(rng.uniform(math.log(low), math.log(high)))),
        tau=(0.9, 0.996)[i % 2],
        batch=int(rng.choice([4, 8, 16])),
        steps=STEPS * (1 + i % 4 if thorough else 1),
        seed=int(rng.integers(2**31)),
    )


# Structured worst cases, each a change to the most amplified setup: BatchNorm over two
# samples, the smallest sphere (D = 2), a teacher that is the online encoder after every step
# (τ = 0), and one term dominating the other.
MOVES = (
    dict(batch=2),
    dict(dim=2),
    dict(tau=0.0),
    dict(alpha=0.1, beta=10.0),
    dict(alpha=10.0, beta=0.1),
)
LR_DECADES = 4


def climb(start: Outcome, rounds: int) -> list[Outcome]:
    """Greedy ascent of ``pressure`` over MOVES; stops at a separation or a local maximum."""
    tried, best = [], start
    for _ in range(rounds):
        candidates = [
            evaluate(replace(best.setup, **move))
            for move in MOVES
            if replace(best.setup, **move) != best.setup
        ]
        tried += candidates
        top = max(candidates, key=lambda o: o.pressure)
        if any(o.assessment.separation for o in candidates) or top.pressure <= best.pressure:
            break
        best = top
    return tried


def edge_of_decidability(start: Outcome, evaluations: int) -> list[Outcome]:
    """Bisection (in log lr, up to LR_DECADES decades above the start) for the largest
    learning rate at which float64 still decides every step: the most amplified test."""
    low = math.log(start.setup.lr)
    high = low + LR_DECADES * math.log(10)
    tried = []
    for i in range(evaluations):
        x = high if i == 0 else (low + high) / 2
        outcome = evaluate(replace(start.setup, lr=math.exp(x)))
        tried.append(outcome)
        if outcome.assessment.separation is not None:
            break
        if outcome.assessment.fully_decisive:
            low = x
            if i == 0:
                break
        else:
            high = x
    return tried


def search(random_runs: list[Outcome], effort: Effort) -> list[Outcome]:
    """From the ``effort.scale`` most amplified fully decisive random runs: greedy moves, then
    the learning rate pushed to the edge of decidability from the best setup found."""
    starts = sorted((o for o in random_runs if o.assessment.fully_decisive), key=lambda o: -o.pressure)
    searched = []
    for start in starts[: effort.scale]:
        climbed = climb(start, rounds=1 + effort.thorough)
        best = max([start] + climbed, key=lambda o: o.pressure)
        searched += climbed + edge_of_decidability(best, evaluations=3 + effort.thorough)
    return searched


def parameter_count(setup: Setup) -> int:
    encoder, predictor = build(setup)
    modules = [encoder] + ([predictor] if predictor is not None else [])
    return sum(p.numel() for m in modules for p in m.parameters())


def counterexample(setup: Setup) -> dict | None:
    """If ``setup`` separates, everything needed to replay and check it, the run cut at its
    first step of separation."""
    outcome = evaluate(setup)
    k = outcome.assessment.separation
    if k is None:
        return None
    trace = outcome.trace
    float32 = run(replace(setup, steps=k), dtype=torch.float32, controls=()).deviation[k - 1]
    return {
        "setup": asdict(replace(setup, steps=k)),
        "step": k,
        "deviation": trace.deviation[k - 1],
        "theta_deviation": trace.theta[k - 1],
        "predictor_deviation": trace.predictor[k - 1],
        "control": trace.envelope[k - 1],
        "threshold": threshold(trace.envelope[k - 1]),
        "float32_deviation": float32,
        "first_loss": trace.first_loss[k - 1],
        "second_loss": trace.second_loss[k - 1],
        "parameters": parameter_count(setup),
        "replay": "theory.correspondence.replay(counterexample)",
    }


def replay(example: dict) -> Trace:
    """The float64 trace of a counterexample's setup, from scratch."""
    return run(Setup(**example["setup"]))


def minimal_counterexample(found: Outcome) -> dict:
    """The smallest separating setup near a separating run, cut at its first step of
    separation: a linear encoder with 1 or 2 inputs, D = 1, 2, 3, batches of 1 or 2, α = β = 1
    before the run's own weights, smallest parameter count first; the run itself if none of
    those separates."""
    k = found.assessment.separation
    ladder = [
        replace(found.setup, encoder="linear", inputs=inputs, width=1, dim=dim, batch=batch,
                alpha=alpha, beta=beta, steps=k + 2)
        for alpha, beta in dict.fromkeys([(1.0, 1.0), (found.setup.alpha, found.setup.beta)])
        for dim in (1, 2, 3)
        for inputs in (1, 2)
        for batch in (1, 2)
    ]
    ladder.sort(key=lambda s: (parameter_count(s), s.dim, s.batch, (s.alpha, s.beta) != (1.0, 1.0)))
    for setup in ladder + [replace(found.setup, steps=k)]:
        example = counterexample(setup)
        if example is not None:
            return example
    raise RuntimeError(f"a separating run no longer separates on replay: {found.setup}")


# --------------------------------------------------------------------------- the checker


def describe(s: Setup) -> str:
    optimiser = s.optimizer + (f"(momentum {s.momentum:g})" if s.momentum else "") + (
        f"(weight decay {s.weight_decay:g})" if s.weight_decay else "")
    return (
        f"{s.pair}, {s.encoder} encoder, predictor {s.predictor}, D = {s.dim}, batch {s.batch}, "
        f"α = {s.alpha:.3g}, β = {s.beta:.3g}, τ = {s.tau:g}, {optimiser} lr = {s.lr:.3g}, "
        f"sphere = {s.sphere}, tangential = {s.tangential}, {s.steps} steps, seed {s.seed}"
    )


@dataclass
class JudgedGap:
    gap: GradientGap
    judgement: str


def _judged_points(family: Family, effort: Effort, rng) -> tuple[list[JudgedGap], list[JudgedGap]]:
    """Eq. 28 at random points (random setups, teacher distances, predictor scales) and at
    the edge points of two setups per predictor kind (times effort.scale)."""

    def judged(setup, point):
        gap = gradient_gaps(setup, **point)
        return JudgedGap(gap, judge_gap(gap, lambda: gradient_gaps(setup, dtype=torch.float32, **point)))

    sampled = []
    for i in range(8 * effort.scale):
        point = dict(teacher_noise=float(10 ** rng.uniform(-3, 0.5)),
                     predictor_scale=float(10 ** rng.uniform(-1, 1)))
        sampled.append(judged(sample(family, i, rng, thorough=False), point))
    searched = []
    for i, predictor in enumerate(family.predictors * 2 * effort.scale):
        setup = replace(sample(family, 100 + i, rng, thorough=False), predictor=predictor)
        searched += [judged(setup, point) for point in edge_points(setup)]
    return sampled, searched


def _judged_probe(outcome: Outcome) -> list[JudgedGap]:
    """The lockstep probe's gaps (eq. 28 at the first side's exact state, every step)."""
    setup = outcome.setup

    def in_float32(step):
        def gaps():
            source, x1, x2 = trajectory_point(setup, step)
            return gaps_at(source, setup, x1, x2, dtype=torch.float32)

        return gaps

    return [JudgedGap(g, judge_gap(g, in_float32(k))) for k, g in enumerate(outcome.trace.gradients, 1)]


def _gradient_line(label: str, judged: list[JudgedGap]) -> str:
    counted = [j for j in judged if j.judgement != "round-off"]
    finite = [j.gap for j in judged if math.isfinite(j.gap.ratio)]
    kinds = {k: sum(j.judgement == k for j in judged) for k in GRADIENT_JUDGEMENTS}
    line = (
        f"{label}: {len(judged)} points, largest gap eq. 43 (θ) "
        f"{max((g.theta for g in finite), default=0):.3g}, eq. 53 (predictor) "
        f"{max((g.predictor for g in finite), default=0):.3g}, largest gap/control "
        f"{max((j.gap.ratio for j in counted), default=0):.3g}"
    )
    extra = [f"{n} {k}" for k, n in kinds.items() if n and k != "agrees"]
    return line + (f" ({', '.join(extra)})" if extra else "")


def _trajectory_line(label: str, outcomes: list[Outcome]) -> str:
    decisive_steps = sum(o.assessment.decisive for o in outcomes)
    ratio = max(o.assessment.worst_ratio for o in outcomes)
    deviation = max(o.assessment.worst_deviation for o in outcomes)
    envelope = max(o.assessment.worst_envelope for o in outcomes)
    identical = sum(o.trace.bitwise_identical and o.assessment.fully_decisive for o in outcomes)
    full = sum(o.assessment.fully_decisive for o in outcomes)
    roundoff = [r for o in outcomes for r in o.assessment.roundoff.values()]
    line = (
        f"{label}: {len(outcomes)} runs ({', '.join(sorted({o.setup.encoder for o in outcomes}))}; "
        f"D in {sorted({o.setup.dim for o in outcomes})}; τ in {sorted({o.setup.tau for o in outcomes})}; "
        f"α = β in {sum(o.setup.alpha == o.setup.beta for o in outcomes)}), {full} decisive at "
        f"every step, {decisive_steps} decisive steps; largest relative deviation {deviation:.3g}, "
        f"largest control {envelope:.3g}, largest deviation/control {ratio:.3g}; {identical} "
        "bitwise identical"
    )
    if roundoff:
        line += (
            f"; {len(roundoff)} steps above {FACTOR:g}× control grew ≥ {min(roundoff):.3g}× in "
            "float32: round-off"
        )
    return line


def _precision_line(outcomes: list[Outcome]) -> str | None:
    """Precision scaling of the most amplified fully decisive run."""
    decided = [o for o in outcomes if o.assessment.fully_decisive and o.assessment.separation is None]
    if not decided:
        return None
    hardest = max(decided, key=lambda o: o.pressure)
    float32 = run(hardest.setup, dtype=torch.float32, controls=()).deviation
    worst32 = max((d for d in float32 if math.isfinite(d)), default=math.nan)
    worst64 = hardest.assessment.worst_deviation
    scale = f"{worst32 / worst64:.3g}×" if worst64 > 0 else "(float64: bitwise 0)"
    return (
        f"precision scaling of the most amplified run ({describe(hardest.setup)}): largest "
        f"deviation {worst64:.3g} in float64, {worst32:.3g} in float32 {scale}; round-off grows "
        f"by about 2^29 ≈ {PRECISION_RATIO:.3g} from float64 to float32, drift would not"
    )


def check(family: Family, effort: Effort) -> Finding:
    rng = effort.rng()
    first_setup = sample(family, 0, rng, thorough=False)
    evidence = symbolic_evidence(first_setup)
    mirrored = [p for p in family.predictors if _mirrored(replace(first_setup, predictor=p))]
    if mirrored:
        gap = max(mirrored_output_gap(replace(first_setup, predictor=p)) for p in mirrored)
        evidence.append(
            f"predictor map: max |q_M(w)(z) + q_w(z)| / max |q_w(z)| = {gap:.3g} at 64 random z "
            f"for predictors {', '.join(mirrored)} (q' = −q)"
        )

    sampled_gaps, searched_gaps = _judged_points(family, effort, rng)
    random_runs = [
        evaluate(sample(family, i, rng, effort.thorough), probe_gradients=(i == 0))
        for i in range(max(3, len(family.optimizers)) * effort.scale)
    ]
    probed = _judged_probe(random_runs[0])
    evidence += [
        _gradient_line("eq. 28 at random points", sampled_gaps),
        _gradient_line("eq. 28 at edge points (ξ = θ, far teacher, W tiny/huge, W = ±I, λ ≈ 0)", searched_gaps),
        _gradient_line("eq. 28 along a trajectory (the first side's exact state, every step)", probed),
        _trajectory_line("random trajectories", random_runs),
    ]

    searched_runs = [] if any(o.assessment.separation for o in random_runs) else search(random_runs, effort)
    if searched_runs:
        hardest = max(searched_runs, key=lambda o: o.pressure)
        evidence.append(
            _trajectory_line("adversarial search (greedy moves: batch 2, D = 2, τ = 0, β/α = 100 "
                             "and 1/100; then bisection of lr to the edge of decidability)", searched_runs)
            + f"; most amplified decisive run: {describe(hardest.setup)}, deviation "
            f"{hardest.assessment.worst_deviation:.3g} against control {hardest.assessment.worst_envelope:.3g}"
        )
    everything = random_runs + searched_runs
    _loss_evidence(everything, evidence)
    evidence.append(
        f"rule: a step is decisive while the larger control deviation (each side rerun from its "
        f"init moved one ulp) is ≤ {DECISIVE:g} and was at every "
        f"earlier step; a decisive deviation above {FACTOR:g}·max(control, {FLOOR:g}) separates "
        f"the trajectories when the float32 replay reproduces it within {CONFIRM:.3g}× (drift), "
        f"and is round-off when it grows more (round-off scales by 2^29); gradient gaps likewise"
    )

    gaps = sampled_gaps + searched_gaps + probed
    worst = max([o.assessment.worst_ratio for o in everything]
                + [j.gap.ratio for j in gaps if j.judgement != "round-off"])
    common = dict(
        worst=worst,
        tolerance=FACTOR,
        sampled=len(random_runs) + len(sampled_gaps),
        searched=len(searched_runs) + len(searched_gaps),
    )
    separated = [o for o in everything if o.assessment.separation is not None]
    if separated:
        found = min(separated, key=lambda o: (o.assessment.separation, parameter_count(o.setup)))
        example = minimal_counterexample(found)
        evidence.append(
            f"separation: {len(separated)} of {len(everything)} runs separate, first at step "
            f"{found.assessment.separation} ({describe(found.setup)}); minimal counterexample: "
            f"{describe(Setup(**example['setup']))}, {example['parameters']} parameters, separates "
            f"at step {example['step']} by {example['deviation']:.3g} (θ {example['theta_deviation']:.3g}, "
            f"predictor {example['predictor_deviation']:.3g}) against control {example['control']:.3g}; "
            f"float32 replay {example['float32_deviation']:.3g} (drift, not round-off)"
        )
        return Finding("fails", evidence=evidence, counterexample=example, **common)
    precision = _precision_line(everything)
    if precision:
        evidence.append(precision)
    breaks = sum(j.judgement == "breaks" for j in gaps)
    unresolved = sum(j.judgement == "unresolved" for j in gaps) + sum(
        o.assessment.unresolved is not None for o in everything)
    undecided = sum(o.assessment.decisive >= MIN_STEPS for o in random_runs) < len(random_runs) / 2
    if breaks or unresolved or undecided:
        reasons = [
            f"{breaks} gradient points break eq. 28 although no trajectory separates" if breaks else "",
            f"{unresolved} excesses that precision scaling cannot settle" if unresolved else "",
            f"fewer than half the random runs are decisive for {MIN_STEPS} steps" if undecided else "",
        ]
        evidence.append("inconclusive: " + "; ".join(r for r in reasons if r))
        return Finding("inconclusive", evidence=evidence, **common)
    return Finding("holds", evidence=evidence, **common)


def _loss_evidence(outcomes: list[Outcome], evidence: list[str]) -> None:
    """The measured loss relation L_second − L_first over every decisive step (divided by β
    for BYOL'/RAFT), per pair and form, beside the sympy relation."""
    groups: dict[tuple[str, bool], list[float]] = {}
    for o in outcomes:
        if o.setup.pair.split("/")[1].startswith("tan"):
            continue  # a plain objective and its Tan* form differ in value, not in gradient
        scale = o.setup.beta if o.setup.pair == "byol'/raft" else 1.0
        values = groups.setdefault((o.setup.pair, o.setup.tangential), [])
        for k in range(o.assessment.decisive):
            difference = (o.trace.second_loss[k] - o.trace.first_loss[k]) / scale
            if math.isfinite(difference):
                values.append(difference)
    for (pair, tangential), values in groups.items():
        if values:
            per = "/β" if pair == "byol'/raft" else ""
            form = "tangential" if tangential else "plain"
            evidence.append(
                f"measured {pair} ({form}): (L_second − L_first){per} over {len(values)} decisive "
                f"steps from {min(values):.17g} to {max(values):.17g}"
            )


# --------------------------------------------------------------------------- the claims

# What each claim fixes and varies (the proofs draw their configurations from these too).
CLAIM_FAMILIES = {
    "thm5.1": Family(),
    "thm5.1-adam": Family(optimizers=(ADAM, MOMENTUM, WEIGHT_DECAY, ADAMW)),
    "thm5.1-no-tangent": Family(tangential=(False,)),
    "thm5.1-no-sphere": Family(sphere=False),
    "thm5.1-linear-only": Family(sphere=False, tangential=(False,)),
    "thm5.1-mlp": Family(predictors=("mlp",), tangential=(True, False)),
    "thm5.1-np": Family(predictors=("none",)),
    "byol-dual": Family(pairs=("byol/run-away-byol", "byol-sym/run-away-byol-sym"),
                        tangential=(False,), predictors=("linear", "mlp")),
    "tangent-noop": Family(pairs=("byol/tanbyol", "byol'/tanbyol'", "raft/tanraft"),
                           predictors=("linear", "mlp")),
}

SOURCE = "Theorem 5.1, Appendix G (eqs. 28, 43, 53–56)"
WORST = (
    " worst = the largest ratio of a deviation (trajectories, and the gradient identities of "
    "eq. 28) to its float64 round-off control; 'holds' while ≤ 100."
)


def correspond(mapping: str, weights: bool = True) -> str:
    return (
        f" correspond: θ_k = θ'_k{mapping} at every step k, each side with its own EMA teacher "
        f"(eq. 5), for every encoder (BatchNorm included){', α, β > 0' if weights else ''} and "
        "τ ∈ [0, 1)." + WORST
    )


NEGATED = correspond(" and W_k = −W'_k")
FORM = (
    "lockstep(first, second): no decisive step (ulp controls ≤ 1e-8) whose relative deviation "
    "exceeds 100·max(control, 1e-15) and is reproduced by a float32 replay (drift, not "
    "round-off); autograd ∇θ L_first(θ, W) = ∇θ L_second(θ, M(W)) and M(∇W L_first(θ, W)) = "
    "∇W L_second(θ, M(W)) by the same rule"
)


def _form(pair: str, options: str) -> str:
    return f"{FORM}; {pair} with {options}"


@claim(
    "thm5.1",
    source=SOURCE,
    statement="Under (i) l2-normalised representations, (ii) a linear predictor q(z) = Wz, (iii) the "
    "tangential form of the cross-model term (Remark: ‖t̂ − λp̂‖²/λ, λ = sg⟨p̂, t̂⟩), plain SGD: "
    "BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
    form=_form("byol_prime / raft", "sphere=True, tangential=True, predictor −W0, SGD"),
)
def check_thm51(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["thm5.1"], effort)


@claim(
    "thm5.1-adam",
    source=SOURCE + "; Appendix B (Adam)",
    statement="As thm5.1, trained with Adam (the paper's optimiser), AdamW, SGD with momentum 0.9, "
    "and SGD with weight decay: BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
    form=_form("byol_prime / raft", "sphere=True, tangential=True, predictor −W0, Adam, AdamW, "
               "SGD(momentum=0.9), SGD(weight_decay=0.01)"),
)
def check_thm51_adam(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["thm5.1-adam"], effort)


@claim(
    "thm5.1-no-tangent",
    source=SOURCE + "; condition (iii) dropped",
    statement="(i) + (ii) only: ordinary gradients through the l2-normalisation, no tangential form, "
    "plain SGD: BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
    form=_form("byol_prime / raft", "sphere=True, tangential=False, predictor −W0, SGD"),
)
def check_thm51_no_tangent(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["thm5.1-no-tangent"], effort)


@claim(
    "thm5.1-no-sphere",
    source=SOURCE + "; condition (i) dropped",
    statement="(ii) + (iii) without (i): no l2-normalisation; the cross-model term in the Remark's "
    "form ‖z̄ − λz‖²/λ, λ = sg⟨z, z̄⟩, on the raw vectors; plain SGD: BYOL' from (θ0, W0) and RAFT "
    "from (θ0, −W0)" + NEGATED,
    form=_form("byol_prime / raft", "sphere=False, tangential=True, predictor −W0, SGD"),
)
def check_thm51_no_sphere(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["thm5.1-no-sphere"], effort)


@claim(
    "thm5.1-linear-only",
    source=SOURCE + "; conditions (i) and (iii) dropped",
    statement="(ii) alone: no l2-normalisation, no tangential form, plain squared distances on the "
    "raw vectors; plain SGD: BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
    form=_form("byol_prime / raft", "sphere=False, tangential=False, predictor −W0, SGD"),
)
def check_thm51_linear_only(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["thm5.1-linear-only"], effort)


@claim(
    "thm5.1-mlp",
    source=SOURCE + "; Appendix B (MLP predictor)",
    statement="(i) with the paper's MLP predictor Linear→ReLU→Linear instead of a linear one, with and "
    "without the tangential form, plain SGD: BYOL' from (θ0, w0) and RAFT from θ0 and w0 with the "
    "output layer's weight and bias negated" + correspond(
        ", the predictor's first layer equal and its output layer negated"),
    form=_form("byol_prime / raft", "sphere=True, tangential=True and False, MLP predictor with "
               "negated output layer, SGD"),
)
def check_thm51_mlp(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["thm5.1-mlp"], effort)


@claim(
    "thm5.1-np",
    source=SOURCE + "; Table 2 (BYOL'-NP, RAFT-NP)",
    statement="No predictor (q = I, as BYOL'-NP and RAFT-NP), with (i) and (iii), plain SGD: BYOL' "
    "and RAFT started from the same θ0 (there is no W to negate)" + correspond(""),
    form=_form("byol_prime / raft", "sphere=True, tangential=True, no predictor, SGD"),
)
def check_thm51_np(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["thm5.1-np"], effort)


@claim(
    "byol-dual",
    source="eq. 4, Section 5 (the correspondence applied to BYOL itself)",
    statement="Plain BYOL (eq. 4, the l2-normalised ‖p̂1 − t̂2‖², and its symmetrised form) from "
    "(θ0, W0) and 'run-away BYOL', minimising −‖p̂1 − t̂2‖², from (θ0, −W0), linear and MLP "
    "predictors (output layer negated), plain SGD" + correspond(
        " and W_k = −W'_k (for the MLP: output layer negated)", weights=False),
    form=_form("byol / −byol and byol_symmetric / −byol_symmetric", "sphere=True, "
               "tangential=False, predictor mapped, SGD"),
)
def check_byol_dual(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["byol-dual"], effort)


@claim(
    "tangent-noop",
    source="Remark after Theorem 5.1; Table 2 (TanBYOL-LP, TanBYOL'-LP, TanRAFT-LP)",
    statement="With the l2-normalisation inside the autograd graph, replacing the cross-model term "
    "by its tangential form (λ = sg⟨p̂, t̂⟩) leaves every parameter gradient unchanged, so each "
    "Tan* variant trains exactly as its plain counterpart (BYOL, BYOL', RAFT; linear and MLP "
    "predictors) from the same (θ0, W0): the trajectories" + correspond(" and W_k = W'_k"),
    form=_form("byol, byol_prime, raft with tangential=False / True", "sphere=True, the same "
               "(θ0, W0), SGD"),
)
def check_tangent_noop(effort: Effort) -> Finding:
    return check(CLAIM_FAMILIES["tangent-noop"], effort)
