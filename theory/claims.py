"""The claims registry: one entry per claim id, each with its source in the paper, its
statement, the exact mathematical form checked, and the checker that decides its verdict.

A checker receives an ``Effort`` (seed, depth) and returns a ``Finding``; ``verify`` turns it
into the verdict document of DESIGN.md. Families of claims live in their own modules and
register themselves with ``@claim``; ``FAMILIES`` lists those modules in reading order.
"""

import importlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

FAMILIES = ("theory.bound", "theory.tangent", "theory.correspondence", "theory.sylvester")

VERDICTS = ("holds", "fails", "inconclusive")

THOROUGH_FACTOR = 10


@dataclass(frozen=True)
class Effort:
    """How hard a checker searches: ``scale`` multiplies every sample and restart count."""

    seed: int = 0
    thorough: bool = False

    @property
    def scale(self) -> int:
        return THOROUGH_FACTOR if self.thorough else 1

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def torch_generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed)


@dataclass
class Finding:
    """What a checker found. ``sampled`` counts random cases, ``searched`` the cases visited by
    adversarial search and edge cases; a verdict of "holds" needs both."""

    verdict: str
    worst: float
    tolerance: float
    sampled: int
    searched: int
    evidence: list[str]
    counterexample: dict | None = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        if self.verdict == "fails" and self.counterexample is None:
            raise ValueError("a 'fails' verdict must carry a counterexample")
        if self.verdict == "holds" and (self.sampled == 0 or self.searched == 0):
            raise ValueError("random sampling alone never earns 'holds': run a search too")


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    statement: str
    form: str
    check: Callable[[Effort], Finding] = field(repr=False)


REGISTRY: dict[str, Claim] = {}


def claim(id: str, *, source: str, statement: str, form: str):
    """Register the decorated checker as the one checker of claim ``id``."""

    def register(check: Callable[[Effort], Finding]) -> Callable[[Effort], Finding]:
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        REGISTRY[id] = Claim(id, source, statement, form, check)
        return check

    return register


def all_claims() -> list[Claim]:
    for module in FAMILIES:
        importlib.import_module(module)
    return list(REGISTRY.values())


def get(ids: list[str]) -> list[Claim]:
    """The claims named by ``ids`` in that order; every claim when ``ids`` is empty."""
    claims = {c.id: c for c in all_claims()}
    unknown = [i for i in ids if i not in claims]
    if unknown:
        raise KeyError(
            f"unknown claim id {', '.join(map(repr, unknown))}; valid ids: {', '.join(claims)}"
        )
    return [claims[i] for i in ids] if ids else list(claims.values())


def replay_command(claim_id: str, seed: int, thorough: bool) -> str:
    return f"python -m theory verify {claim_id} --seed {seed}" + (" --thorough" if thorough else "")


def verify(c: Claim, effort: Effort) -> dict:
    """Run a claim's checker (float64 on CPU) and return its verdict document."""
    started = time.perf_counter()
    with float64():
        finding = c.check(effort)
    return {
        "id": c.id,
        "verdict": finding.verdict,
        "source": c.source,
        "statement": c.statement,
        "form": c.form,
        "cases": finding.sampled + finding.searched,
        "sampled": finding.sampled,
        "searched": finding.searched,
        "worst": finding.worst,
        "tolerance": finding.tolerance,
        "counterexample": finding.counterexample,
        "evidence": finding.evidence,
        "seed": effort.seed,
        "depth": "thorough" if effort.thorough else "default",
        "replay": replay_command(c.id, effort.seed, effort.thorough),
        "seconds": round(time.perf_counter() - started, 3),
    }


@contextmanager
def float64():
    """Verification runs in float64 (tensors are created on the CPU by default)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@contextmanager
def one_thread():
    """Tiny tensors gain nothing from intra-op threads and lose to their synchronisation (and,
    on a shared machine, a descheduled thread stalls every operation)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
