"""The claims registry: every claim of the paper as data — its id, source, statement, the exact
form checked, the checker and the checker's arguments — grouped in families, one per module or
package of ``theory`` that defines a ``FAMILY``, and the families of plugins
(``theory.plugins``); ``families()`` finds them all.

A checker receives an ``Effort`` (seed, depth) and its claim's arguments and returns a
``Finding``: the verdict, the numbers that decided it, and its evidence as facts (``fact``:
a kind and its values, data only). ``verify`` turns a finding into the verdict document
(``theory.report.document``); ``theory.report`` turns facts into sentences with the family's ``wording``.
"""

import importlib
import json
import math
import numbers
import pkgutil
import shlex
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch

from theory import containment

VERDICTS = ("holds", "fails", "inconclusive")

# Which reading of the paper a claim decides: its sentence with its own quantifiers and setting,
# a stronger statement (a failure refutes only the strengthening), a weaker one (a hold proves
# only the weakening), another precise reading of an ambiguous sentence, or beyond the paper.
READINGS = ("as written", "stronger", "weaker", "alternative", "extension")

THOROUGH_FACTOR = 10

# Every claim accepts every seed in this range (numpy's and torch's generators take it whole,
# and checkers derive further seeds from their generators, never by arithmetic on this one).
SEEDS = range(2**32)


@dataclass(frozen=True)
class Effort:
    """How hard a checker searches: ``scale`` multiplies every sample and restart count."""

    seed: int = 0
    thorough: bool = False

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed not in SEEDS:
            raise ValueError(f"the seed must be an integer in [0, 2**32), got {self.seed!r}")

    @property
    def scale(self) -> int:
        return THOROUGH_FACTOR if self.thorough else 1

    @property
    def depth(self) -> str:
        return "thorough" if self.thorough else "default"

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def torch_generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed)


def fact(kind: str, **values) -> dict:
    """One piece of evidence as data: ``kind`` names it (its family's wording turns it into a
    sentence), the values are its numbers, cases and names, made plain JSON types."""
    return {"kind": kind, **{k: _plain(v) for k, v in values.items()}}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.generic, torch.Tensor)):
        return value.item()
    return value


@dataclass
class Finding:
    """What a checker found. ``sampled`` counts random cases, ``searched`` the cases visited by
    adversarial search and edge cases; a verdict of "holds" needs both."""

    verdict: str
    worst: float
    tolerance: float
    sampled: int
    searched: int
    evidence: list[dict]
    counterexample: dict | None = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        if self.verdict == "fails" and self.counterexample is None:
            raise ValueError("a 'fails' verdict must carry a counterexample")
        if self.verdict == "holds" and (self.sampled == 0 or self.searched == 0):
            raise ValueError("random sampling alone never earns 'holds': run a search too")


@dataclass(frozen=True)
class Quote:
    """The paper's own words behind a claim: ``text`` verbatim from the paper (up to
    whitespace), ``where`` its location (section, equation)."""

    where: str
    text: str


@dataclass(frozen=True)
class Claim:
    """A claim: ``check(effort, **arguments)`` decides it; ``title`` is its one-line summary;
    ``paper_text`` the sentence it reads and ``reading`` how (one of READINGS; a plugin may
    leave both out)."""

    id: str
    title: str
    source: str
    statement: str
    form: str
    check: Callable[..., Finding] = field(repr=False)
    arguments: Mapping = field(default_factory=dict, repr=False)
    reading: str = ""
    paper_text: Quote | None = None

    def __post_init__(self):
        if self.reading and self.reading not in READINGS:
            raise ValueError(
                f"claim {self.id}: reading must be one of {READINGS}, not {self.reading!r}"
            )


@dataclass(frozen=True)
class Family:
    """Claims that share a checker and a wording, in the order ``families()`` lists them
    (``order``: reading order of the paper; plugins follow the paper's claims). ``wording`` maps
    a fact's kind to a function that writes it as a sentence; ``doc`` is the page that explains
    the family. ``plugin`` names the plugin a family comes from (empty for the toolkit's own);
    ``replay_option`` is what a replay command needs to load it."""

    name: str
    order: int
    claims: tuple[Claim, ...]
    wording: Mapping[str, Callable[[dict], str]] = field(repr=False)
    doc: str = ""
    plugin: str = ""
    replay_option: str = ""


_BUILT_IN: list[Family] = []
_PLUGINS: dict[str, list] = {}  # "families", "errors", "specs": loaded once per set of specs


def built_in() -> list[Family]:
    """Every family of claims defined in ``theory`` (a module or package with a ``FAMILY``),
    in reading order."""
    if not _BUILT_IN:
        import theory

        found = []
        for info in pkgutil.walk_packages(theory.__path__, "theory."):
            if info.name.rsplit(".", 1)[-1] != "__main__":
                family = getattr(importlib.import_module(info.name), "FAMILY", None)
                if isinstance(family, Family):
                    found.append(family)
        _BUILT_IN.extend(in_order(found))
    return list(_BUILT_IN)


def use_plugins(specs: list[str]) -> None:
    """Load the plugins named by ``specs`` (beside the installed ones) from now on."""
    _PLUGINS.clear()
    _PLUGINS["specs"] = list(specs)


def _plugins() -> dict[str, list]:
    if "families" not in _PLUGINS:
        from theory import plugins

        taken = {c.id for f in built_in() for c in f.claims}
        _PLUGINS["families"], _PLUGINS["errors"] = plugins.discover(
            _PLUGINS.get("specs", []), taken
        )
    return _PLUGINS


def plugin_errors() -> list[str]:
    """One line per plugin left out (it could not be loaded, or its claim ids are taken)."""
    return list(_plugins()["errors"])


def families() -> list[Family]:
    """The toolkit's families in reading order, then the plugins' in the order they were found."""
    return built_in() + list(_plugins()["families"])


def in_order(found: list[Family]) -> list[Family]:
    """Families in reading order; a claim id defined twice is refused."""
    ids = [c.id for f in found for c in f.claims]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"claim id {', '.join(map(repr, twice))} registered twice")
    return sorted(found, key=lambda f: f.order)


def all_claims() -> list[Claim]:
    return [c for f in families() for c in f.claims]


def family_of(claim_id: str) -> Family:
    return next(f for f in families() if any(c.id == claim_id for c in f.claims))


def get(ids: list[str]) -> list[Claim]:
    """The claims named by ``ids`` in that order, each once; every claim when ``ids`` is empty."""
    claims = {c.id: c for c in all_claims()}
    unknown = [i for i in ids if i not in claims]
    if unknown:
        raise KeyError(
            f"unknown claim id {', '.join(map(repr, unknown))}; valid ids: {', '.join(claims)}"
        )
    return [claims[i] for i in dict.fromkeys(ids)] if ids else list(claims.values())


def quoted(c: Claim) -> dict | None:
    """A claim's paper text as data (None when a plugin's claim gives none)."""
    return (
        None if c.paper_text is None else {"where": c.paper_text.where, "text": c.paper_text.text}
    )


def replay_command(claim_id: str, seed: int, thorough: bool, option: str = "") -> str:
    return _replay([claim_id], seed, thorough, option)


def replay_all(ids: list[str], seed: int, thorough: bool) -> str:
    """The command that replays a whole run of these claims, with the plugins they need."""
    options = dict.fromkeys(family_of(i).replay_option for i in ids if family_of(i).replay_option)
    return _replay(ids, seed, thorough, " ".join(options))


def _replay(ids: list[str], seed: int, thorough: bool, option: str) -> str:
    """A shell command: a plugin's claim ids are quoted (``option`` is quoted where it is made)."""
    return (
        f"python -m theory verify {' '.join(map(shlex.quote, ids))} --seed {seed}"
        + (" --thorough" if thorough else "")
        + (f" {option}" if option else "")
    )


class CheckerError(Exception):
    """A checker that raised or returned something else than a Finding; one line naming it."""


_FINDINGS: dict[tuple[str, Effort], tuple[Finding, float]] = {}


def named(claim_id: str) -> str:
    """How an error line names a claim: with its plugin, if it comes from one."""
    family = family_of(claim_id)
    return f"plugin {family.plugin}, claim {claim_id}" if family.plugin else f"claim {claim_id}"


def finding(c: Claim, effort: Effort, timeout: float | None = None) -> Finding:
    """What a claim's checker finds at this effort (float64 on CPU), computed once per process:
    a checker is a pure function of its effort, and a claim that cites another's finding (as
    appH-steps cites appH-derivation's) reuses it. A checker that fails to give a well-formed
    Finding, exits, or runs past ``timeout`` seconds is a CheckerError (Ctrl-C stays an
    interruption); what it prints goes to stderr (``theory.containment``)."""
    if (c.id, effort) not in _FINDINGS:
        where = named(c.id)
        started = time.perf_counter()
        try:
            with float64(), containment.stdout_to_stderr(), containment.time_limit(timeout):
                found = c.check(effort, **c.arguments)
        except KeyboardInterrupt:
            raise
        except containment.TimeLimit:
            # a finding cited inside a checker that ran out of time: the outer one's
            if timeout is None:
                raise
            raise CheckerError(
                f"{where}: the checker did not finish within --claim-timeout {timeout:g} s"
            ) from None
        except (
            BaseException
        ) as error:  # a checker's own code, sys.exit included, is its claim's failure
            raise CheckerError(
                f"{where}: the checker raised {type(error).__name__}: {error}"
            ) from error
        if not isinstance(found, Finding):
            raise CheckerError(
                f"{where}: the checker returned {type(found).__name__}, not a theory.claims.Finding"
            )
        problem = malformed(found)
        if problem:
            raise CheckerError(f"{where}: the checker's Finding {problem}")
        _FINDINGS[c.id, effort] = found, time.perf_counter() - started
    return _FINDINGS[c.id, effort][0]


def _finite(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def malformed(found: Finding) -> str:
    """What makes a Finding unusable in a verdict document (empty when nothing does): worst
    and tolerance finite real numbers (worst may be None), counts non-negative integers, the
    evidence and counterexample plain JSON without NaN."""
    if found.worst is not None and not _finite(found.worst):
        return f"has worst = {found.worst!r}: it must be a finite real number or None"
    if not _finite(found.tolerance):
        return f"has tolerance = {found.tolerance!r}: it must be a finite real number"
    if not all(isinstance(n, numbers.Integral) and n >= 0 for n in (found.sampled, found.searched)):
        return (
            f"has sampled = {found.sampled!r}, searched = {found.searched!r}: they must be counts"
        )
    try:
        json.dumps([found.evidence, found.counterexample], allow_nan=False)
    except (TypeError, ValueError) as error:
        return f"has evidence or a counterexample that is not plain JSON ({error})"
    return ""


def verify(c: Claim, effort: Effort, timeout: float | None = None) -> dict:
    """A claim's verdict document (see ``finding``); its evidence is the list of facts under
    "facts", its time the seconds its checker took, its Coq proof (if any) under
    "certificate" (``theory.certificates.document``)."""
    from theory import certificates

    family = family_of(c.id)
    found = finding(c, effort, timeout)
    certificate = certificates.document(c.id)
    return {
        "id": c.id,
        "verdict": found.verdict,
        "source": c.source,
        "statement": c.statement,
        "form": c.form,
        "reading": c.reading,
        "paper_text": quoted(c),
        "cases": found.sampled + found.searched,
        "sampled": found.sampled,
        "searched": found.searched,
        "worst": None if found.worst is None else float(found.worst),
        "tolerance": float(found.tolerance),
        "counterexample": found.counterexample,
        "facts": found.evidence,
        "seed": effort.seed,
        "depth": effort.depth,
        "replay": replay_command(c.id, effort.seed, effort.thorough, family.replay_option),
        "seconds": round(_FINDINGS[c.id, effort][1], 3),
    } | ({"certificate": certificate} if certificate else {})


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
