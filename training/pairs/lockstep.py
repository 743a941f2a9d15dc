"""Two training runs side by side, as ``python -m training.pair`` trains them: the Theorem 5.1 map
from FIRST's state to SECOND's (``correspondence``), the loss difference the theory predicts
(``predicted_difference``), the runs built from ``training.run``'s ``prepare`` (``build``: FIRST,
SECOND mapped, the control one ulp away), and their steps on one draw of views with checks of
their deviations (``Pair``, ``train``). No step reads the device; a check reads it once."""

import copy
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from tqdm import tqdm

from theory import symbolic
from theory.thm51 import engine
from training.loop import config, models, outputs, runner, training_step, variants


class GivenViews:
    """The views ``TrainStep`` is handed: the pair draws each batch's views once and gives every side
    the same tensors, so a step's ``images`` are the pair (x1, x2) itself."""

    def __call__(self, pair, generator):
        return pair

    def compile(self) -> None:  # the pair's own views are compiled, not these
        pass


# What corresponds to what ------------------------------------------------------------------


@dataclass(frozen=True)
class Correspondence:
    """SECOND's start from FIRST's: ``sign`` −1 when the predictor is mirrored (q' = −q),
    ``signs`` the map per predictor parameter (None: SECOND's predictor is its own, fixed),
    ``words`` the map in words."""

    sign: int
    signs: dict[str, float] | None
    words: str


def correspondence(first: variants.Variant, second: variants.Variant) -> Correspondence:
    """The Theorem 5.1 map from FIRST to SECOND: the predictor mirrored (q' = −q) when exactly
    one of the two objectives is RAFT's (the teacher term's sign flips), else the same; q = I
    maps to RAFT's fixed W = −I. UsageError for predictors with no map between them."""
    for v in (first, second):
        if not v.trains:
            raise config.UsageError(f"{v.name} is not trained: a pair compares two training runs")
    sign = -1 if (first.objective == "raft") != (second.objective == "raft") else 1
    kinds = {first.predictor, second.predictor}
    if kinds == {"none"}:
        return Correspondence(1, None, "q = I on both sides")
    if kinds == {"none", "fixed-minus-identity"}:
        if sign == 1:
            raise config.UsageError("q = I and W = −I correspond only when one side is RAFT")
        return Correspondence(-1, None, "q = I mapped to the fixed W = −I")
    shapes = [
        {k: v.shape for k, v in models.predictor(v.predictor).state_dict().items()}
        for v in (first, second)
    ]
    if shapes[0] != shapes[1] or "fixed-minus-identity" in kinds:
        raise config.UsageError(
            f"{first.name}'s predictor ({first.predictor}) and {second.name}'s ({second.predictor}) "
            "have no map between them: pair variants with the same predictor, or q = I with W = −I"
        )
    predictor = models.predictor(first.predictor)
    if sign == -1:
        return Correspondence(
            -1, engine.negate_output_layer(predictor), "q' = −q (output layer negated)"
        )
    return Correspondence(1, engine.identity_map(predictor), "q' = q (the same predictor)")


def predicted_difference(first, second, sign: int, alpha, beta) -> dict:
    """What the theory predicts for L_SECOND − L_FIRST at corresponding points: the per-sample
    relation of ``thm51.relations.symbolic_relation`` when it is free of the online outputs (then
    the gradients correspond and the difference is that constant), else nothing."""
    if first.name == second.name:
        return {"relation": "0", "value": 0.0}
    objectives = {first.objective, second.objective}
    if objectives != {"byol_prime", "raft"} or first.tangential != second.tangential:
        return {"relation": None, "value": None}
    from theory.thm51.relations import symbolic_relation  # sympy: only when a pair needs it
    from theory.thm51.setups import Setup

    setup = Setup(
        pair="byol'/raft", tangential=first.tangential, predictor="linear" if sign == -1 else "none"
    )
    relation, online = symbolic_relation(setup)
    if online:
        return {"relation": None, "value": None}
    if first.objective == "raft":  # the relation runs from BYOL' to RAFT
        relation = -relation
    value = float(relation.subs({symbolic.ALPHA: alpha, symbolic.BETA: beta}))
    return {"relation": str(relation), "value": value}


# The three runs ------------------------------------------------------------------------------


@dataclass
class Sides:
    first: runner.Run
    second: runner.Run
    control: runner.Run | None
    correspondence: Correspondence

    @property
    def runs(self) -> list[runner.Run]:
        return [self.first, self.second] + ([self.control] if self.control else [])


def _optimizer(online, predictor, cfg: config.Config):
    return training_step.adam([*online.parameters(), *predictor.parameters()], cfg.lr)


def build(
    first_cfg: config.Config, second_cfg: config.Config, corr: Correspondence, control: bool
) -> Sides:
    """FIRST as ``training.run`` prepares it (data, networks, generators, probe set), SECOND from
    its state mapped by ``corr``, and the control from it moved up by one ulp."""
    first = runner.prepare(first_cfg, None)
    second_variant = variants.resolve(second_cfg.variant)
    if corr.signs is None:
        predictor = models.predictor(second_variant.predictor).to(first.device, first.speed.dtype)
    else:
        predictor = engine.mirrored(first.predictor, corr.signs)
    online = copy.deepcopy(first.online)
    second = replace(
        first,
        cfg=second_cfg,
        variant=second_variant,
        online=online,
        predictor=predictor,
        target=copy.deepcopy(first.target),
        optimizer=_optimizer(online, predictor, second_cfg),
        history=[],
    )
    nudged = None
    if control:
        online, predictor = copy.deepcopy(first.online), copy.deepcopy(first.predictor)
        engine.nudge_up(
            [p for p in (*online.parameters(), *predictor.parameters()) if p.requires_grad]
        )
        nudged = replace(
            first,
            online=online,
            predictor=predictor,
            target=models.mean_teacher(online),
            optimizer=_optimizer(online, predictor, first_cfg),
            history=[],
        )
    return Sides(first, second, nudged, corr)


def _theta(live: runner.Run) -> list[torch.Tensor]:
    """θ as the theory engine compares it: parameters and floating buffers (batch-norm
    statistics) of the online network, live (updated in place)."""
    return [
        t.detach() for t in live.online.state_dict(keep_vars=True).values() if t.is_floating_point()
    ]


def _predictor(live: runner.Run) -> list[torch.Tensor]:
    return [p.detach() for p in live.predictor.parameters()]


def deterministic(device: torch.device) -> None:
    """On CUDA: deterministic kernels, so that both sides compute alike (see the docstring)."""
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True


# Training side by side -----------------------------------------------------------------------


class _Enough(Exception):
    """A replay has reached the step it was run for."""


class Pair:
    """The sides trained on the same batches, checked every ``check_every`` steps (0: at epoch
    ends only) and at every epoch's end; ``measure``: the probe metrics of both at epoch ends;
    ``until``: stop after the check at that step (a replay)."""

    def __init__(
        self,
        sides: Sides,
        predicted: float | None,
        check_every: int,
        *,
        measure: bool = True,
        until: int | None = None,
        out: Path | None = None,
    ):
        self.sides, self.predicted, self.check_every = sides, predicted, check_every
        self.measure, self.until, self.out = measure, until, out
        given = GivenViews()
        self.steps = [
            training_step.TrainStep(
                r.online,
                r.predictor,
                r.target,
                r.optimizer,
                r.variant,
                given,
                r.speed,
                ema=r.cfg.ema,
                alpha=r.cfg.alpha,
                beta=r.cfg.beta,
            )
            for r in sides.runs
        ]
        if sides.first.speed.compile:
            sides.first.views.compile()
        self.states = [(_theta(r), _predictor(r)) for r in sides.runs]
        self.checks: list[dict] = []  # as measured (non-finite values kept)
        zero = torch.zeros((), dtype=torch.float64, device=sides.first.device)
        self.gap, self.second_sum, self.latest = zero.clone(), zero.clone(), None
        self.step = 0
        self.per_epoch = len(sides.first.images) // sides.first.cfg.batch_size

    def __call__(self, images, generator) -> torch.Tensor:
        """One step of every side on one draw of views; FIRST's loss (for ``runner.train_epoch``)."""
        x1, x2 = self.sides.first.views(images, generator)
        losses = [train((x1, x2), None) for train in self.steps]
        self.latest = losses[:2]
        if self.predicted is not None:
            difference = losses[1].double() - losses[0].double()
            self.gap = torch.maximum(self.gap, (difference - self.predicted).abs())
        self.second_sum += losses[1]
        self.step += 1
        if self.check_every and self.step % self.check_every == 0 and self.step % self.per_epoch:
            self.check()  # an epoch's last step is checked with the epoch's metrics
        return losses[0]

    def deviations(self) -> list[torch.Tensor | None]:
        """θ, predictor and control deviations, on the device (None where there is nothing)."""
        (theta_a, pred_a), (theta_b, pred_b) = self.states[0], self.states[1]
        signs = self.sides.correspondence.signs
        theta = engine.relative_deviation(theta_a, theta_b)
        predictor = None
        if signs is not None and pred_a:
            names = [n for n, _ in self.sides.first.predictor.named_parameters()]
            predictor = engine.relative_deviation(pred_a, pred_b, [signs[n] for n in names])
        control = None
        if self.sides.control:
            theta_c, pred_c = self.states[2]
            control = engine.relative_deviation(theta_a + pred_a, theta_c + pred_c)
        return [theta, predictor, control]

    def check(self, metrics: dict | None = None) -> dict:
        """Read the deviations and losses (one device read) and record them as a line."""
        with torch.no_grad():
            values = self.deviations()
            if self.latest is not None:
                values += [x.double() for x in self.latest]
                values.append(self.gap if self.predicted is not None else None)
            present = [v for v in values if v is not None]
            read = iter(torch.stack(present).tolist()) if present else iter(())
            theta, predictor, control, *losses = [None if v is None else next(read) for v in values]
        self.gap.zero_()
        line = {
            "step": self.step,
            "epoch": self.sides.first.epoch,
            "theta": theta,
            "predictor": predictor,
            "deviation": _worst(theta, predictor),
            "control": control,
        }
        line.update(_losses(losses, self.predicted))
        if metrics:
            line.update(metrics)
        self.checks.append(line)
        if self.out is not None:
            outputs.append_jsonl(self.out / "pair.jsonl", outputs.finite(line))
        if self.until is not None and self.step >= self.until:
            raise _Enough
        return line


def _worst(*values) -> float:
    """The largest of the values given (None: absent); ∞ if one is not finite."""
    present = [v for v in values if v is not None]
    return max(present) if all(math.isfinite(v) for v in present) else math.inf


def _losses(losses: list, predicted: float | None) -> dict:
    first, second, gap = (losses + [None, None, None])[:3]
    difference = None if first is None else second - first
    return {
        "loss_first": first,
        "loss_second": second,
        "loss_difference": difference,
        "predicted_difference": predicted,
        "largest_gap": gap,
    }


def train(pair: Pair, epochs: int) -> str | None:
    """Step 0's check, then the epochs, each closed by a check with both runs' metrics. Returns
    why training stopped early (a non-finite loss), or None."""
    first, second = pair.sides.first, pair.sides.second
    latest = training_step.LatestLoss(first.device)
    per_epoch = pair.per_epoch
    progress = tqdm(
        total=epochs * per_epoch,
        desc=f"{first.variant.name} | {second.variant.name}",
        unit="step",
        dynamic_ncols=True,
        disable=epochs == 0,
    )
    try:
        with progress:
            pair.check(_metrics(pair, None, None, time.perf_counter()))
            for epoch in range(1, epochs + 1):
                began = time.perf_counter()
                first.epoch = second.epoch = epoch
                pair.second_sum.zero_()
                losses = runner.train_epoch(first, pair, latest, progress, per_epoch)
                mean = sum(losses) / len(losses)
                second_mean = (pair.second_sum / per_epoch).item()
                second.step = first.step
                finite = math.isfinite(mean) and math.isfinite(second_mean)
                # the probes' spectra of non-finite weights fail: check first, measure only then
                pair.check(_metrics(pair, mean, second_mean, began) if finite else None)
                if not finite:
                    return f"the loss became non-finite in epoch {epoch} (FIRST {mean}, SECOND {second_mean})"
    except _Enough:
        pass
    return None


def _metrics(pair: Pair, mean, second_mean, began: float) -> dict:
    """Both runs' probe metrics (``Run.measure``), kept in their histories and metrics.jsonl."""
    if not pair.measure:
        return {}
    lines = {}
    for name, live, loss in (
        ("first", pair.sides.first, mean),
        ("second", pair.sides.second, second_mean),
    ):
        line = live.measure(loss, began)
        live.history.append(line)
        if pair.out is not None:
            outputs.append_metrics(pair.out / name, line)
        lines[name] = line
    return lines
