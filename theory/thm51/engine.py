"""The lockstep engine: two objectives trained side by side on identical batches.

The first side starts from (θ0, W0), the second from (θ0, M(W0)) where M is the predictor map
(−W for a linear predictor, the output layer negated for an MLP predictor, the identity for the
Tan* checks). Each side has its own mean teacher, the EMA of its own encoder (eq. 5). At every
step the engine records how far θ' is from θ and W' from M(W), relative to the parameters'
scale, both losses, and how far each side's round-off controls drift from it (``rule`` judges
the result). Any ``nn.Module`` encoder works; ``training.pair`` points it at the real loop.
"""

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn

from theory.teacher import ema_update
from theory.thm51.rule import GradientGap

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


def mirrored(predictor: nn.Module | None, signs: dict[str, float]) -> nn.Module | None:
    """A copy of the predictor with each parameter tensor multiplied by its sign."""
    if predictor is None:
        return None
    copied = copy.deepcopy(predictor)
    with torch.no_grad():
        for name, p in copied.named_parameters():
            p.mul_(signs[name])
    return copied


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
        """The optimiser step, then the teacher's EMA (eq. 5; Algorithm 1, lines 11–12)."""
        self.optimizer.step()
        ema_update(self.teacher.parameters(), self.encoder.parameters(), tau=self.tau)

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
                for (name, p), q in zip(
                    self.predictor.named_parameters(), source.predictor.parameters()
                ):
                    p.copy_(q if signs is None else signs[name] * q)
            if nudge:
                nudge_up(self.parameters())


def nudge_up(params: Iterable[torch.Tensor]) -> None:
    """Move every entry one ulp towards +∞."""
    with torch.no_grad():
        for p in params:
            p.copy_(torch.nextafter(p, torch.full_like(p, math.inf)))


def relative_deviation(
    a: list[torch.Tensor], b: list[torch.Tensor], signs: list[float] | None = None
) -> torch.Tensor:
    """max over tensors of ‖b − s·a‖∞ / max(‖a‖∞, ‖b‖∞) (a tensor of zeros counts 0): the
    largest deviation of b from its mapped counterpart, relative to each tensor's own scale."""
    signs = signs or [1.0] * len(a)
    gaps = torch.stack([(y - s * x).abs().max() for x, y, s in zip(a, b, signs)])
    scales = torch.stack([torch.maximum(x.abs().max(), y.abs().max()) for x, y in zip(a, b)])
    return torch.where(scales > 0, gaps / scales, gaps).max().double()


def relative_gap(
    a: list[torch.Tensor], b: list[torch.Tensor], signs: list[float] | None = None
) -> torch.Tensor:
    """‖b − s·a‖₂ / max(‖a‖₂, ‖b‖₂) over the concatenated tensors (0 when both are zero): the
    norm-wise relative mismatch of two gradients."""
    signs = signs or [1.0] * len(a)
    gap = torch.stack([(y - s * x).pow(2).sum() for x, y, s in zip(a, b, signs)]).sum().sqrt()
    norm_a = torch.stack([x.pow(2).sum() for x in a]).sum().sqrt()
    norm_b = torch.stack([y.pow(2).sum() for y in b]).sum().sqrt()
    scale = torch.maximum(norm_a, norm_b)
    return torch.where(scale > 0, gap / scale, gap).double()


def compare_gradients(
    first: Learner, second: Learner, first_control: Learner, second_control: Learner, signs, x1, x2
) -> list[torch.Tensor]:
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


CONTROLS = ("ulp", "reorder")
"""Round-off controls, run for each side: the side's objective again from the side's own
initialisation, (ulp) moved by one ulp in every entry, or (reorder) on every batch with its
rows permuted. Each is mathematically the side's own trajectory; how far it drifts from it is
that trajectory's float64 round-off amplification. Both sides get controls because their
round-off differs: near p̂ = t̂, RAFT's gradient is a small tangential difference of large
radial terms, BYOL''s is not. The default is the ulp control alone: permuted batches round each
row identically, so the reorder control under-estimates the comparison's round-off."""
DEFAULT_CONTROLS = ("ulp",)


@dataclass
class Trace:
    """Per step k = 1, 2, ... (after the k-th update): the relative deviations of the second
    side from the mapped first side (θ and predictor), the losses before the update, each
    control's deviation from its own side, and with ``probe_gradients`` the gradient gaps
    at the first side's exact state."""

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


def _check_schedule(steps, tau, controls) -> None:
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


class _Sides:
    """The runs of one lockstep comparison: the two sides, their controls, the gradient probes,
    and what is recorded of them at every step (device tensors, read at the end)."""

    def __init__(
        self,
        encoder,
        predictor,
        first,
        second,
        make_optimizer,
        tau,
        predictor_map,
        controls,
        probe_gradients,
    ):
        self.signs = predictor_map(predictor) if predictor is not None else {}
        self.sign_list = (
            [self.signs[n] for n, _ in predictor.named_parameters()]
            if predictor is not None
            else []
        )

        def learner(objective, mirror=False, nudge=False):
            enc = copy.deepcopy(encoder)
            pred = mirrored(predictor, self.signs) if mirror else copy.deepcopy(predictor)
            if nudge:
                nudge_up(
                    list(enc.parameters()) + (list(pred.parameters()) if pred is not None else [])
                )
            return Learner(enc, pred, objective, make_optimizer, tau)

        self.a, self.b = learner(first), learner(second, mirror=True)
        self.control_runs = {
            (side, c): (reference, learner(objective, mirror=side == "second", nudge=c == "ulp"))
            for side, objective, reference in (("first", first, self.a), ("second", second, self.b))
            for c in controls
        }
        self.probes = (
            (learner(second, mirror=True), learner(first), learner(second, mirror=True))
            if probe_gradients
            else None
        )
        self.theta, self.predictor, self.first_loss, self.second_loss, self.gaps = (
            [],
            [],
            [],
            [],
            [],
        )
        self.control_deviation = {key: [] for key in self.control_runs}

    def step(self, x1, x2, order) -> None:
        """One step of every run on the views (x1, x2); the reorder controls see them permuted."""
        self.first_loss.append(self.a.backward(x1, x2))
        self.second_loss.append(self.b.backward(x1, x2))
        if self.probes is not None:
            self.gaps.append(
                torch.stack(compare_gradients(self.a, *self.probes, self.signs, x1, x2)).detach()
            )
        for (_, kind), (_, run) in self.control_runs.items():
            if kind == "reorder":
                run.backward(x1[order], x2[order])
            else:
                run.backward(x1, x2)
        for run in (self.a, self.b, *(run for _, run in self.control_runs.values())):
            run.update()
        self._record()

    def _record(self) -> None:
        (theta_a, pred_a), (theta_b, pred_b) = self.a.state(), self.b.state()
        with torch.no_grad():
            self.theta.append(relative_deviation(theta_a, theta_b))
            self.predictor.append(
                relative_deviation(pred_a, pred_b, self.sign_list)
                if pred_a
                else torch.zeros_like(self.theta[-1])
            )
            for key, (reference, run) in self.control_runs.items():
                self.control_deviation[key].append(
                    relative_deviation(sum(reference.state(), []), sum(run.state(), []))
                )

    def latest(self) -> tuple[float, float]:
        """(deviation, envelope) of the last step, read from the device."""
        deviation = max(float(self.theta[-1]), float(self.predictor[-1]))
        envelope = max((float(v[-1]) for v in self.control_deviation.values()), default=0.0)
        return deviation, envelope

    def trace(self) -> Trace:
        def floats(values):
            return torch.stack(values).double().cpu().tolist() if values else []

        return Trace(
            theta=floats(self.theta),
            predictor=floats(self.predictor),
            first_loss=floats(self.first_loss),
            second_loss=floats(self.second_loss),
            controls={
                f"{side}-{kind}": floats(v) for (side, kind), v in self.control_deviation.items()
            },
            gradients=[GradientGap(*row) for row in floats(self.gaps)],
        )


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
    _check_schedule(steps, tau, controls)

    def place(module):
        return copy.deepcopy(module).to(device=device, dtype=dtype) if module is not None else None

    sides = _Sides(
        place(encoder),
        place(predictor),
        first,
        second,
        make_optimizer,
        tau,
        predictor_map,
        controls,
        probe_gradients,
    )
    permutations = torch.Generator().manual_seed(seed)
    pairs = iter(views)
    for k in range(1, steps + 1):
        try:
            x1, x2 = next(pairs)
        except StopIteration:
            raise ValueError(f"the stream of views ended after {k - 1} of {steps} steps") from None
        x1, x2 = x1.to(device=device, dtype=dtype), x2.to(device=device, dtype=dtype)
        order = torch.randperm(x1.shape[0], generator=permutations).to(device)
        sides.step(x1, x2, order)
        if stop is not None and stop(k, *sides.latest()):
            break
    return sides.trace()
