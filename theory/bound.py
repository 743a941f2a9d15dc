"""Theorem 4.1 and its variants (Appendix F): is L_BYOL ≤ (1/α + 1/β)·L_BYOL'?

Each claim compares a left-hand side built from ``theory.objectives`` with a right-hand side
built from the same module, for four unit vectors p1, p2 (online predictions of two views),
t1, t2 (teacher outputs) and weights α, β > 0. The same two sides are written over the Gram
matrix in sympy: there an exact sum-of-squares certificate proves a bound for every D, and a
numerical counterexample is confirmed in exact rational arithmetic.
"""

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import sympy
import torch

from theory import objectives as obj
from theory.claims import Effort, Finding, claim
from theory.search import Candidate, search
from theory.symbolic import ALPHA, BETA, Gram, is_identity, rational, rational_unit_vector

# Relative tolerance: a case violates when LHS > RHS·(1 + TOLERANCE). Each side is a sum of at
# most D + 3 ≤ 131 non-negative rounded float64 terms (differences of close floats are exact),
# so its relative round-off is below 131·2⁻⁵³ ≈ 1.5e-14; 1e-12 cannot be crossed by round-off.
# Violations are confirmed in exact rational arithmetic anyway.
TOLERANCE = 1e-12

DIMS = [2, 3, 4, 8, 16, 32, 64, 128]
NAMES = ("p1", "p2", "t1", "t2")


@dataclass(frozen=True)
class Repair:
    """A larger constant with which a failing bound does hold: rhs_gram is the repaired right-
    hand side, certificate a sum of squares equal to rhs_gram − lhs, supremum the largest
    LHS/RHS of the original bound that the repair allows."""

    words: str
    rhs_gram: Callable[[Gram, sympy.Expr, sympy.Expr], sympy.Expr]
    certificate: Callable[[Gram, sympy.Expr, sympy.Expr], sympy.Expr]
    certificate_words: str
    supremum: Callable[[float, float], float]
    supremum_words: str


@dataclass(frozen=True)
class Bound:
    """A claimed inequality lhs ≤ rhs, in torch (per row) and over the Gram matrix (sympy).
    ``certificate``, where known, is a sum of squares claimed to equal rhs − lhs."""

    lhs: Callable
    rhs: Callable
    lhs_gram: Callable[[Gram], sympy.Expr]
    rhs_gram: Callable[[Gram, sympy.Expr, sympy.Expr], sympy.Expr]
    certificate: Callable[[Gram, sympy.Expr, sympy.Expr], sympy.Expr] | None = None
    repair: Repair | None = None


def _cross_model_second_view(g: Gram, a, b):
    return (1 / a + 1 / b) * (a * g.squared_distance("p1", "p2") + b * g.squared_distance("p2", "t2"))


def _cross_model_symmetric(g: Gram, a, b):
    cross = (g.squared_distance("p1", "t1") + g.squared_distance("p2", "t2")) / 2
    return (1 / a + 1 / b) * (a * g.squared_distance("p1", "p2") + b * cross)


def _square_of_split(g: Gram, a, b, online: str, other: str, teacher: str):
    """‖α(online − other) − β(other − teacher)‖²: αβ times the slack of one Cauchy–Schwarz
    step (eq. 13 with λ = β/α)."""
    return g.norm_squared({online: a, other: -(a + b), teacher: b})


def _halved_cross_model_repair(g: Gram, a, b):
    """(1/α + 2/β)·L_BYOL': Cauchy–Schwarz with weights α and β/2, since the symmetrised
    cross-model term holds only half of ‖p̂2 − t̂2‖²."""
    return (1 / a + 2 / b) / (1 / a + 1 / b) * _cross_model_symmetric(g, a, b)


BOUNDS = {
    "thm4.1": Bound(
        lhs=lambda p1, p2, t1, t2, a, b: obj.byol(p1, t2, reduction="none"),
        rhs=lambda p1, p2, t1, t2, a, b: (1 / a + 1 / b)
        * obj.byol_prime_one_view(p1, p2, t2, a, b, reduction="none"),
        lhs_gram=lambda g: g.squared_distance("p1", "t2"),
        rhs_gram=_cross_model_second_view,
        certificate=lambda g, a, b: _square_of_split(g, a, b, "p1", "p2", "t2") / (a * b),
    ),
    "thm4.1-sym": Bound(
        lhs=lambda p1, p2, t1, t2, a, b: obj.byol(p1, t2, reduction="none"),
        rhs=lambda p1, p2, t1, t2, a, b: (1 / a + 1 / b)
        * obj.byol_prime(p1, p2, t1, t2, a, b, reduction="none"),
        lhs_gram=lambda g: g.squared_distance("p1", "t2"),
        rhs_gram=_cross_model_symmetric,
        repair=Repair(
            words="L_BYOL ≤ (1/α + 2/β)·L_BYOL' (symmetrised)",
            rhs_gram=_halved_cross_model_repair,
            certificate=lambda g, a, b: g.norm_squared({"p1": 2 * a, "p2": -(2 * a + b), "t2": b})
            / (2 * a * b)
            + (1 + b / (2 * a)) * g.squared_distance("p1", "t1"),
            certificate_words="‖2α(p̂1 − p̂2) − β(p̂2 − t̂2)‖²/(2αβ) + (1 + β/(2α))‖p̂1 − t̂1‖²",
            supremum=lambda a, b: (2 * a + b) / (a + b),
            supremum_words="(2α + β)/(α + β)",
        ),
    ),
    "thm4.1-symsym": Bound(
        lhs=lambda p1, p2, t1, t2, a, b: obj.byol_symmetric(p1, p2, t1, t2, reduction="none"),
        rhs=lambda p1, p2, t1, t2, a, b: (1 / a + 1 / b)
        * obj.byol_prime(p1, p2, t1, t2, a, b, reduction="none"),
        lhs_gram=lambda g: (g.squared_distance("p1", "t2") + g.squared_distance("p2", "t1")) / 2,
        rhs_gram=_cross_model_symmetric,
        certificate=lambda g, a, b: (
            _square_of_split(g, a, b, "p1", "p2", "t2") + _square_of_split(g, a, b, "p2", "p1", "t1")
        )
        / (2 * a * b),
    ),
}


def ratio(bound: Bound):
    """The search score LHS/RHS (0/0 counts as 0: both sides vanish and the bound holds)."""

    def score(v: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        p1, p2, t1, t2 = v.unbind(dim=1)
        lhs = bound.lhs(p1, p2, t1, t2, alpha, beta)
        rhs = bound.rhs(p1, p2, t1, t2, alpha, beta)
        safe = torch.where(rhs > 0, rhs, torch.ones_like(rhs))
        return torch.where(rhs > 0, lhs / safe, torch.where(lhs > 0, math.inf, 0.0))

    return score


def exact_sides(bound: Bound, vectors: dict, alpha, beta) -> tuple[sympy.Rational, sympy.Rational]:
    """Both sides in exact rational arithmetic."""
    g = Gram(list(NAMES), unit=False)
    weights = {ALPHA: rational(alpha), BETA: rational(beta)}
    lhs = g.substitute(bound.lhs_gram(g), vectors)
    rhs = g.substitute(bound.rhs_gram(g, ALPHA, BETA).subs(weights), vectors)
    return sympy.nsimplify(lhs), sympy.nsimplify(rhs)


def _simple_weights(alpha: float, beta: float) -> list[tuple[Fraction, Fraction]]:
    """Weights to try for a counterexample, simplest first: the paper's α = β = 1, then
    powers of ten, then small fractions near the case found, then the case's own."""
    tries = [
        (Fraction(1), Fraction(1)),
        tuple(Fraction(10) ** round(math.log10(w)) for w in (alpha, beta)),
        (Fraction(alpha).limit_denominator(100), Fraction(beta).limit_denominator(100)),
        (Fraction(alpha), Fraction(beta)),
    ]
    return list(dict.fromkeys(tries))


def _circle_points(max_denominator: int) -> list[list[Fraction]]:
    """Rational points of the unit circle whose stereographic coordinate has denominator at
    most ``max_denominator``: (±1, 0), (0, ±1), (±3/5, ±4/5), (±4/5, ±3/5), ..."""
    ys = {Fraction(p, q) for q in range(1, max_denominator + 1) for p in range(-q, q + 1)}
    points = {(s * (1 - y * y) / (1 + y * y), 2 * y / (1 + y * y)) for y in ys for s in (1, -1)}
    return [list(p) for p in sorted(points)]


def _counterexample(bound: Bound, vectors: dict, alpha: Fraction, beta: Fraction) -> dict | None:
    lhs, rhs = exact_sides(bound, vectors, alpha, beta)
    if not lhs > rhs:
        return None
    return {
        "dim": len(vectors["p1"]),
        **{n: [float(c) for c in x] for n, x in vectors.items()},
        "alpha": float(alpha),
        "beta": float(beta),
        "lhs": float(lhs),
        "rhs": float(rhs),
        "exact": {
            **{n: [str(c) for c in x] for n, x in vectors.items()},
            "alpha": str(alpha),
            "beta": str(beta),
            "lhs": str(lhs),
            "rhs": str(rhs),
        },
    }


def _on_small_circle_points(bound: Bound, alpha: Fraction, beta: Fraction) -> dict | None:
    """D = 2: every assignment of rational circle points, denominators growing, to
    (p1, p2, t1, t2); the most violating assignments are confirmed exactly, first wins."""
    score = ratio(bound)
    for max_denominator in range(1, 7):
        points = _circle_points(max_denominator)
        table = torch.tensor([[float(c) for c in p] for p in points])
        index = torch.cartesian_prod(*[torch.arange(len(points))] * len(NAMES))
        n = len(index)
        s = score(table[index], torch.full((n,), float(alpha)), torch.full((n,), float(beta)))
        for i in torch.argsort(s, descending=True)[:8]:
            if s[i] <= 1 + TOLERANCE:
                break
            example = _counterexample(
                bound, {name: points[int(j)] for name, j in zip(NAMES, index[i])}, alpha, beta
            )
            if example:
                return example
    return None


def _rationalised(bound: Bound, found: Candidate, alpha: Fraction, beta: Fraction) -> dict | None:
    """The case found, its vectors replaced by rational unit vectors of growing denominators."""
    for bits in range(1, 40):
        vectors = {n: rational_unit_vector(list(x), 2**bits) for n, x in zip(NAMES, found.vectors)}
        example = _counterexample(bound, vectors, alpha, beta)
        if example:
            return example
    return None


def minimal_counterexample(bound: Bound, found: Candidate) -> dict | None:
    """The simplest violation, exactly on the sphere, given a violating case of the lowest
    dimension searched: simplest weights first (α = β = 1 before all others); in D = 2 the
    rational circle points of smallest denominators, in higher D the case's own vectors made
    rational with the smallest denominators that still violate in exact arithmetic."""
    for alpha, beta in _simple_weights(found.alpha, found.beta):
        if found.dim == 2:
            example = _on_small_circle_points(bound, alpha, beta)
        else:
            example = _rationalised(bound, found, alpha, beta)
        if example:
            return example
    return None


def _symbolic_evidence(claim_id: str, bound: Bound) -> tuple[bool, list[str]]:
    g = Gram(list(NAMES), unit=False)
    if bound.certificate is None:
        lines = ["sympy: no sum-of-squares certificate is known for RHS − LHS"]
        repair = bound.repair
        if repair and is_identity(
            repair.rhs_gram(g, ALPHA, BETA) - bound.lhs_gram(g), repair.certificate(g, ALPHA, BETA)
        ):
            lines.append(
                f"sympy proof of the repaired bound {repair.words}: its slack is "
                f"{repair.certificate_words} ≥ 0 for every D and α, β > 0, so LHS/RHS of this "
                f"claim never exceeds {repair.supremum_words} < 2"
            )
        return False, lines
    slack = bound.rhs_gram(g, ALPHA, BETA) - bound.lhs_gram(g)
    if not is_identity(slack, bound.certificate(g, ALPHA, BETA)):
        return False, ["sympy: the proposed sum-of-squares certificate does NOT equal RHS − LHS"]
    lines = [
        f"sympy proof: RHS − LHS = {_certificate_words(claim_id)}, identically in α, β and the "
        "Gram entries ⟨a, b⟩, hence for every D and all vectors (unit or not)"
    ]
    if claim_id == "thm4.1":
        lam = sympy.Symbol("lambda", positive=True)
        eq13 = (1 + 1 / lam) * (
            g.squared_distance("p1", "p2") + lam * g.squared_distance("p2", "t2")
        ) - g.squared_distance("p1", "t2")
        square = g.norm_squared({"p1": 1, "p2": -(1 + lam), "t2": lam}) / lam
        if is_identity(eq13, square):
            lines.append(
                "sympy proof: the slack of eq. 13 is ‖(p̂1 − p̂2) − λ(p̂2 − t̂2)‖²/λ ≥ 0 for every "
                "λ > 0; λ = β/α gives eq. 14"
            )
    return True, lines


def _certificate_words(claim_id: str) -> str:
    return {
        "thm4.1": "‖α(p̂1 − p̂2) − β(p̂2 − t̂2)‖²/(αβ) ≥ 0",
        "thm4.1-symsym": "[‖α(p̂1 − p̂2) − β(p̂2 − t̂2)‖² + ‖α(p̂2 − p̂1) − β(p̂1 − t̂1)‖²]/(2αβ) ≥ 0",
    }[claim_id]


def check(claim_id: str, effort: Effort) -> Finding:
    bound = BOUNDS[claim_id]
    report = search(ratio(bound), k=4, dims=DIMS, effort=effort)
    worst = report.worst.score
    evidence = report.evidence("LHS/RHS")
    proven, symbolic = _symbolic_evidence(claim_id, bound)
    evidence += symbolic
    common = dict(worst=worst, tolerance=TOLERANCE, sampled=report.sampled, searched=report.searched)
    if worst <= 1 + TOLERANCE:
        return Finding("holds", evidence=evidence, **common)
    counterexample = minimal_counterexample(bound, report.lowest_dim_above(1 + TOLERANCE))
    if counterexample is None:
        evidence.append(
            "a float64 violation was found but could not be confirmed in exact arithmetic"
            + (" (and the sympy certificate proves the bound)" if proven else "")
        )
        return Finding("inconclusive", evidence=evidence, **common)
    if bound.repair:
        w = report.worst
        limit = bound.repair.supremum(w.alpha, w.beta)
        relation = "within" if w.score <= limit * (1 + TOLERANCE) else "BEYOND (inconsistent)"
        evidence.append(
            f"the worst case found, LHS/RHS = {w.score:.15g} at α = {w.alpha:.6g}, β = {w.beta:.6g}, "
            f"is {relation} the repaired bound's {bound.repair.supremum_words} = {limit:.15g}"
        )
    evidence.append(
        f"counterexample in D = {counterexample['dim']}, confirmed in exact rational arithmetic "
        f"with unit vectors exactly on the sphere: LHS = {counterexample['exact']['lhs']} > "
        f"RHS = {counterexample['exact']['rhs']} at α = {counterexample['exact']['alpha']}, "
        f"β = {counterexample['exact']['beta']}"
    )
    return Finding("fails", evidence=evidence, counterexample=counterexample, **common)


STATEMENT_SUFFIX = " for all α, β > 0, every D ≥ 2 and all unit vectors p̂1, p̂2, t̂1, t̂2."
WORST = " worst = the largest LHS/RHS found."


@claim(
    "thm4.1",
    source="Theorem 4.1, eq. 8; Appendix F, eqs. 12–14",
    statement="L_BYOL = ‖p̂1 − t̂2‖² (eq. 4) ≤ (1/α + 1/β)·[α‖p̂1 − p̂2‖² + β‖p̂2 − t̂2‖²] "
    "(eq. 8 with the cross-model term on the second view, as eqs. 7 and 13)" + STATEMENT_SUFFIX + WORST,
    form="byol(p1, t2) ≤ (1/α + 1/β)·byol_prime_one_view(p1, p2, t2, α, β), per sample",
)
def check_thm41(effort: Effort) -> Finding:
    return check("thm4.1", effort)


@claim(
    "thm4.1-sym",
    source="Theorem 4.1, eq. 8 with Definition 4.2's symmetrised cross-model (Algorithm 1)",
    statement="L_BYOL = ‖p̂1 − t̂2‖² (eq. 4) ≤ (1/α + 1/β)·[α‖p̂1 − p̂2‖² + β·½(‖p̂1 − t̂1‖² + "
    "‖p̂2 − t̂2‖²)], the BYOL' that Definition 4.2 adopts 'for the sake of symmetry' and "
    "Algorithm 1 and the experiments train" + STATEMENT_SUFFIX + WORST,
    form="byol(p1, t2) ≤ (1/α + 1/β)·byol_prime(p1, p2, t1, t2, α, β), per sample",
)
def check_thm41_sym(effort: Effort) -> Finding:
    return check("thm4.1-sym", effort)


@claim(
    "thm4.1-symsym",
    source="Theorem 4.1, eq. 8, both sides symmetrised (Definition 4.2; BYOL's symmetric loss)",
    statement="½(‖p̂1 − t̂2‖² + ‖p̂2 − t̂1‖²) ≤ (1/α + 1/β)·[α‖p̂1 − p̂2‖² + β·½(‖p̂1 − t̂1‖² + "
    "‖p̂2 − t̂2‖²)]" + STATEMENT_SUFFIX + WORST,
    form="byol_symmetric(p1, p2, t1, t2) ≤ (1/α + 1/β)·byol_prime(p1, p2, t1, t2, α, β), per sample",
)
def check_thm41_symsym(effort: Effort) -> Finding:
    return check("thm4.1-symsym", effort)
