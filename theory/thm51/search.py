"""The search for a separation: random setups within a claim's conditions, then greedy moves
towards the most amplified ones and the learning rate pushed to the edge of decidability; and,
once a run separates, the smallest setup that still does."""

import math
from dataclasses import asdict, dataclass, replace

import torch

from theory.claims import Effort
from theory.thm51 import rule
from theory.thm51.setups import Outcome, Setup, evaluate, parameter_count, run

STEPS = 60
# --thorough spends ten times the default's work: 4× the random runs, each 1 to 4 times as long
# (2.5× on average), and the search from the 2 most amplified of them, climbing twice as far.
THOROUGH_RUNS = 4
THOROUGH_STARTS = 2

SGD = {"optimizer": "sgd"}
MOMENTUM = {"optimizer": "sgd", "momentum": 0.9}
WEIGHT_DECAY = {"optimizer": "sgd", "weight_decay": 1e-2}
ADAM = {"optimizer": "adam"}
ADAMW = {"optimizer": "adamw", "weight_decay": 1e-2}
ADAM_WEIGHT_DECAY = {"optimizer": "adam", "weight_decay": 1e-2}


def lr_range(optimizer_name: str, sphere: bool) -> tuple[float, float]:
    """Sampled learning rates (log-uniform): Adam around the paper's 3e-4 (Appendix B) up to
    100x; SGD up to rates where a sphere-normalised step moves a weight by O(1); raw
    objectives are unbounded below (RAFT's −‖p − t‖²) and diverge within steps above ~0.1."""
    if optimizer_name in ("adam", "adamw"):
        return 1e-4, 3e-2
    return (1e-2, 3.0) if sphere else (1e-3, 1e-1)


@dataclass(frozen=True)
class Conditions:
    """A claim's conditions (what its setups fix) and the choices its checks vary.
    ``at_fixed_point``: every gradient point has its teacher equal to the online encoder (ξ = θ),
    and runs keep it there with ``taus = (0.0,)``."""

    pairs: tuple[str, ...] = ("byol'/raft",)
    sphere: bool = True
    tangential: tuple[bool, ...] = (True,)
    predictors: tuple[str, ...] = ("linear",)
    optimizers: tuple[dict, ...] = (SGD,)
    taus: tuple[float, ...] = (0.9, 0.996)
    at_fixed_point: bool = False


def sample(conditions: Conditions, i: int, rng, thorough: bool) -> Setup:
    """The i-th random setup: encoders cycle MLP, MLP+BatchNorm, CNN+BatchNorm; τ cycles
    through the conditions' taus (0.9, 0.996 by default); D cycles 2, 8, 3, 16; α = β for i mod 4 ∈ {0, 1}, else both log-uniform in
    [0.1, 10]; the conditions' pairs, predictors, forms and optimisers cycle out of step, so
    that three runs already cover two of each; learning rate log-uniform in ``lr_range``; under
    --thorough runs last 60 to 240 steps."""
    encoder = ("mlp", "mlp-bn", "cnn-bn")[i % 3]
    preset = conditions.optimizers[i % len(conditions.optimizers)]
    low, high = lr_range(preset["optimizer"], conditions.sphere)
    equal = (i // 2) % 2 == 0
    alpha, beta = (1.0, 1.0) if equal else tuple(float(10 ** rng.uniform(-1, 1)) for _ in range(2))
    return Setup(
        pair=conditions.pairs[i % len(conditions.pairs)],
        sphere=conditions.sphere,
        tangential=conditions.tangential[((i + 1) // 2) % len(conditions.tangential)],
        alpha=alpha,
        beta=beta,
        encoder=encoder,
        inputs=4 if encoder == "cnn-bn" else int(rng.choice([3, 6])),
        width=int(rng.choice([4, 8, 16])),
        dim=(2, 8, 3, 16)[i % 4],
        predictor=conditions.predictors[
            (i + i // len(conditions.pairs)) % len(conditions.predictors)
        ],
        **preset,
        lr=float(math.exp(rng.uniform(math.log(low), math.log(high)))),
        tau=conditions.taus[i % len(conditions.taus)],
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


def random_run_count(conditions: Conditions, effort: Effort) -> int:
    """How many random setups a check trains: enough that three cover two of each choice, or
    one per optimiser."""
    return max(3, len(conditions.optimizers)) * (THOROUGH_RUNS if effort.thorough else 1)


def search(random_runs: list[Outcome], effort: Effort) -> list[Outcome]:
    """From the most amplified fully decisive random run (the 2 most amplified under
    --thorough): greedy moves, then the learning rate pushed to the edge of decidability from
    the best setup found."""
    starts = sorted(
        (o for o in random_runs if o.assessment.fully_decisive), key=lambda o: -o.pressure
    )
    searched = []
    for start in starts[: THOROUGH_STARTS if effort.thorough else 1]:
        climbed = climb(start, rounds=1 + effort.thorough)
        best = max([start] + climbed, key=lambda o: o.pressure)
        searched += climbed + edge_of_decidability(best, evaluations=3 + effort.thorough)
    return searched


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
        "threshold": rule.threshold(trace.envelope[k - 1]),
        "float32_deviation": float32,
        "first_loss": trace.first_loss[k - 1],
        "second_loss": trace.second_loss[k - 1],
        "parameters": parameter_count(setup),
        "replay": "theory.thm51.replay(counterexample)",
    }


def minimal_counterexample(found: Outcome) -> dict:
    """The smallest separating setup near a separating run, cut at its first step of
    separation: a linear encoder with 1 or 2 inputs, D = 1, 2, 3, batches of 1 or 2, α = β = 1
    before the run's own weights, smallest parameter count first; the run itself if none of
    those separates."""
    k = found.assessment.separation
    ladder = [
        replace(
            found.setup,
            encoder="linear",
            inputs=inputs,
            width=1,
            dim=dim,
            batch=batch,
            alpha=alpha,
            beta=beta,
            steps=k + 2,
        )
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
