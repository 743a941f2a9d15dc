"""Theorem 4.1 and its variants (Appendix F): is L_BYOL ≤ (1/α + 1/β)·L_BYOL'?

Each claim compares two sides, written once as functions of an objectives namespace ``o``:
evaluated with ``theory.objectives`` per sample (``PER_SAMPLE``) for four unit vectors p1, p2
(online predictions of two views), t1, t2 (teacher outputs) and weights α, β > 0, and with
``theory.symbolic`` over the Gram matrix, where an exact sum-of-squares certificate proves a
bound for every D and a numerical counterexample is confirmed in exact rational arithmetic.
"""

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import sympy
import torch

from theory import objectives, symbolic
from theory.claims import Claim, Effort, Family, Finding, Quote, fact
from theory.search import DIMS, Candidate, search
from theory.symbolic import ALPHA, BETA, Gram, is_identity, rational, rational_unit_vector
from theory.wording import search_sentences

# Relative tolerance: a case violates when LHS > RHS·(1 + TOLERANCE). Each side is a sum of at
# most D + 3 ≤ 131 non-negative rounded float64 terms (differences of close floats are exact),
# so its relative round-off is below 131·2⁻⁵³ ≈ 1.5e-14; 1e-12 cannot be crossed by round-off.
# Violations are confirmed in exact rational arithmetic anyway.
TOLERANCE = 1e-12

NAMES = ("p1", "p2", "t1", "t2")


class _PerSample:
    """``theory.objectives`` with reduction="none": the torch twin of ``theory.symbolic``.
    ``validate=False`` skips the checks that read tensor values (a degenerate vector then gives
    NaN instead of an error), so that nothing waits for the device."""

    def __init__(self, **options):
        self._options = {"reduction": "none", **options}

    def __getattr__(self, name: str):
        if name.startswith("_"):  # copy and pickle probe for special names before __init__
            raise AttributeError(name)
        return functools.partial(getattr(objectives, name), **self._options)


PER_SAMPLE = _PerSample()
PER_SAMPLE_UNCHECKED = _PerSample(validate=False)

Side = Callable  # side(o, p1, p2, t1, t2, α, β) with o = PER_SAMPLE or theory.symbolic


@dataclass(frozen=True)
class Repair:
    """A larger constant with which a failing bound does hold: ``rhs`` the repaired right-hand
    side, ``certificate`` a sum of squares equal to rhs − lhs, ``supremum`` the largest LHS/RHS
    of the original bound that the repair allows."""

    bound: str
    rhs: Side
    certificate: Callable[[Gram, sympy.Expr, sympy.Expr], sympy.Expr]
    certificate_words: str
    supremum: Callable[[float, float], float]
    supremum_words: str


@dataclass(frozen=True)
class Bound:
    """A claimed inequality lhs ≤ rhs. ``certificate``, where known, is a sum of squares claimed
    to equal rhs − lhs over the Gram matrix; ``lemma`` a further sympy identity of its proof."""

    lhs: Side
    rhs: Side
    certificate: Callable[[Gram, sympy.Expr, sympy.Expr], sympy.Expr] | None = None
    certificate_words: str = ""
    repair: Repair | None = None
    lemma: Callable[[], bool] | None = None

    def torch_sides(self, p1, p2, t1, t2, a, b, *, validate: bool = True):
        o = PER_SAMPLE if validate else PER_SAMPLE_UNCHECKED
        return tuple(side(o, p1, p2, t1, t2, a, b) for side in (self.lhs, self.rhs))

    def gram_sides(self, g: Gram, a=ALPHA, b=BETA, rhs: Side | None = None):
        vectors = g.vectors()
        return self.lhs(symbolic, *vectors, a, b), (rhs or self.rhs)(symbolic, *vectors, a, b)


def _square_of_split(g: Gram, a, b, online: str, other: str, teacher: str):
    """‖α(online − other) − β(other − teacher)‖²: αβ times the slack of one Cauchy–Schwarz
    step (eq. 13 with λ = β/α)."""
    return g.norm_squared({online: a, other: -(a + b), teacher: b})


def _eq13_slack_is_a_square() -> bool:
    """The slack of eq. 13, (1 + 1/λ)(‖p̂1 − p̂2‖² + λ‖p̂2 − t̂2‖²) − ‖p̂1 − t̂2‖², equals
    ‖(p̂1 − p̂2) − λ(p̂2 − t̂2)‖²/λ."""
    g = Gram(list(NAMES), unit=False)
    lam = sympy.Symbol("lambda", positive=True)
    eq13 = (1 + 1 / lam) * (g.squared_distance("p1", "p2") + lam * g.squared_distance("p2", "t2"))
    square = g.norm_squared({"p1": 1, "p2": -(1 + lam), "t2": lam}) / lam
    return is_identity(eq13 - g.squared_distance("p1", "t2"), square)


BOUNDS = {
    "thm4.1": Bound(
        lhs=lambda o, p1, p2, t1, t2, a, b: o.byol(p1, t2),
        rhs=lambda o, p1, p2, t1, t2, a, b: (
            (1 / a + 1 / b) * o.byol_prime_one_view(p1, p2, t2, a, b)
        ),
        certificate=lambda g, a, b: _square_of_split(g, a, b, "p1", "p2", "t2") / (a * b),
        certificate_words="‖α(p̂1 − p̂2) − β(p̂2 − t̂2)‖²/(αβ) ≥ 0",
        lemma=_eq13_slack_is_a_square,
    ),
    "thm4.1-sym": Bound(
        lhs=lambda o, p1, p2, t1, t2, a, b: o.byol(p1, t2),
        rhs=lambda o, p1, p2, t1, t2, a, b: (1 / a + 1 / b) * o.byol_prime(p1, p2, t1, t2, a, b),
        repair=Repair(
            bound="L_BYOL ≤ (1/α + 2/β)·L_BYOL' (symmetrised)",
            rhs=lambda o, p1, p2, t1, t2, a, b: (
                (1 / a + 2 / b) * o.byol_prime(p1, p2, t1, t2, a, b)
            ),
            certificate=lambda g, a, b: (
                g.norm_squared({"p1": 2 * a, "p2": -(2 * a + b), "t2": b}) / (2 * a * b)
                + (1 + b / (2 * a)) * g.squared_distance("p1", "t1")
            ),
            certificate_words="‖2α(p̂1 − p̂2) − β(p̂2 − t̂2)‖²/(2αβ) + (1 + β/(2α))‖p̂1 − t̂1‖²",
            supremum=lambda a, b: (2 * a + b) / (a + b),
            supremum_words="(2α + β)/(α + β)",
        ),
    ),
    "thm4.1-symsym": Bound(
        lhs=lambda o, p1, p2, t1, t2, a, b: o.byol_symmetric(p1, p2, t1, t2),
        rhs=lambda o, p1, p2, t1, t2, a, b: (1 / a + 1 / b) * o.byol_prime(p1, p2, t1, t2, a, b),
        certificate=lambda g, a, b: (
            (
                _square_of_split(g, a, b, "p1", "p2", "t2")
                + _square_of_split(g, a, b, "p2", "p1", "t1")
            )
            / (2 * a * b)
        ),
        certificate_words="[‖α(p̂1 − p̂2) − β(p̂2 − t̂2)‖² + ‖α(p̂2 − p̂1) − β(p̂1 − t̂1)‖²]/(2αβ) ≥ 0",
    ),
}


def ratio(bound: Bound, validate: bool = True):
    """The search score LHS/RHS (0/0 counts as 0: both sides vanish and the bound holds), of
    cases v of shape (N, 4, D) (p1, p2, t1, t2). ``validate`` as ``Bound.torch_sides``."""

    def score(v: torch.Tensor, alpha, beta) -> torch.Tensor:
        lhs, rhs = bound.torch_sides(*v.unbind(dim=1), alpha, beta, validate=validate)
        safe = torch.where(rhs > 0, rhs, torch.ones_like(rhs))
        return torch.where(rhs > 0, lhs / safe, torch.where(lhs > 0, math.inf, 0.0))

    return score


def exact_sides(bound: Bound, vectors: dict, alpha, beta) -> tuple[sympy.Rational, sympy.Rational]:
    """Both sides in exact rational arithmetic."""
    g = Gram(list(NAMES), unit=False)
    lhs, rhs = bound.gram_sides(g, rational(alpha), rational(beta))
    return sympy.nsimplify(g.substitute(lhs, vectors)), sympy.nsimplify(g.substitute(rhs, vectors))


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


def symbolic_facts(bound: Bound) -> tuple[bool, list[dict]]:
    """Whether sympy proves the bound for every D, and what it showed: the certificate (or its
    absence), the lemma, the repaired bound's certificate."""
    g = Gram(list(NAMES), unit=False)
    if bound.certificate is None:
        facts = [fact("no-certificate")]
        repair = bound.repair
        if repair:
            lhs, rhs = bound.gram_sides(g, rhs=repair.rhs)
            proven = is_identity(rhs - lhs, repair.certificate(g, ALPHA, BETA))
            facts.append(
                fact(
                    "repair-proof",
                    proven=proven,
                    bound=repair.bound,
                    certificate=repair.certificate_words,
                    supremum=repair.supremum_words,
                )
            )
        return False, facts
    lhs, rhs = bound.gram_sides(g)
    proven = is_identity(rhs - lhs, bound.certificate(g, ALPHA, BETA))
    facts = [fact("certificate", proven=proven, certificate=bound.certificate_words)]
    if proven and bound.lemma is not None:
        facts.append(fact("eq13-lemma", proven=bound.lemma()))
    return proven, facts


def _repair_fact(bound: Bound, worst: Candidate) -> dict:
    limit = bound.repair.supremum(worst.alpha, worst.beta)
    return fact(
        "within-repair",
        worst=worst.score,
        alpha=worst.alpha,
        beta=worst.beta,
        supremum=bound.repair.supremum_words,
        limit=limit,
        within=worst.score <= limit * (1 + TOLERANCE),
    )


def check(effort: Effort, bound: Bound) -> Finding:
    report = search(ratio(bound), k=4, dims=DIMS, effort=effort)
    worst = report.worst.score
    proven, symbolic_evidence = symbolic_facts(bound)
    evidence = report.facts() + symbolic_evidence
    common = dict(
        worst=worst, tolerance=TOLERANCE, sampled=report.sampled, searched=report.searched
    )
    if worst <= 1 + TOLERANCE:
        return Finding("holds", evidence=evidence, **common)
    counterexample = minimal_counterexample(bound, report.lowest_dim_above(1 + TOLERANCE))
    if counterexample is None:
        evidence.append(fact("unconfirmed", proven=proven))
        return Finding("inconclusive", evidence=evidence, **common)
    if bound.repair:
        evidence.append(_repair_fact(bound, report.worst))
    exact = counterexample["exact"]
    evidence.append(
        fact(
            "exact-counterexample",
            dim=counterexample["dim"],
            lhs=exact["lhs"],
            rhs=exact["rhs"],
            alpha=exact["alpha"],
            beta=exact["beta"],
        )
    )
    return Finding("fails", evidence=evidence, counterexample=counterexample, **common)


WORDING = {
    **search_sentences("LHS/RHS"),
    "no-certificate": lambda f: "sympy: no sum-of-squares certificate is known for RHS − LHS",
    "repair-proof": lambda f: (
        f"sympy proof of the repaired bound {f['bound']}: its slack is {f['certificate']} ≥ 0 "
        f"for every D and α, β > 0, so LHS/RHS of this claim never exceeds {f['supremum']} < 2"
        if f["proven"]
        else f"sympy: the certificate of the repaired bound {f['bound']} does NOT hold"
    ),
    "certificate": lambda f: (
        f"sympy proof: RHS − LHS = {f['certificate']}, identically in α, β and the Gram entries "
        "⟨a, b⟩, hence for every D and all vectors (unit or not)"
        if f["proven"]
        else "sympy: the proposed sum-of-squares certificate does NOT equal RHS − LHS"
    ),
    "eq13-lemma": lambda f: (
        "sympy proof: the slack of eq. 13 is ‖(p̂1 − p̂2) − λ(p̂2 − t̂2)‖²/λ ≥ 0 for every λ > 0; "
        "λ = β/α gives eq. 14"
        if f["proven"]
        else "sympy: the slack of eq. 13 did NOT reduce to ‖(p̂1 − p̂2) − λ(p̂2 − t̂2)‖²/λ"
    ),
    "unconfirmed": lambda f: (
        "a float64 violation was found but could not be confirmed in exact arithmetic"
        + (" (and the sympy certificate proves the bound)" if f["proven"] else "")
    ),
    "within-repair": lambda f: (
        f"the worst case found, LHS/RHS = {f['worst']:.15g} at α = {f['alpha']:.6g}, "
        f"β = {f['beta']:.6g}, is {'within' if f['within'] else 'BEYOND (inconsistent)'} the "
        f"repaired bound's {f['supremum']} = {f['limit']:.15g}"
    ),
    "exact-counterexample": lambda f: (
        f"counterexample in D = {f['dim']}, confirmed in exact rational arithmetic with unit "
        f"vectors exactly on the sphere: LHS = {f['lhs']} > RHS = {f['rhs']} at α = {f['alpha']}, "
        f"β = {f['beta']}"
    ),
}

STATEMENT_SUFFIX = " for all α, β > 0, every D ≥ 2 and all unit vectors p̂1, p̂2, t̂1, t̂2."
WORST = " worst = the largest LHS/RHS found."

FAMILY = Family(
    name="Theorem 4.1 and its variants (Appendix F)",
    order=41,
    doc="docs/claims/thm41.md",
    wording=WORDING,
    claims=(
        Claim(
            "thm4.1",
            title="Theorem 4.1 as eq. 8 writes it: L_BYOL ≤ (1/α + 1/β)·L_BYOL', cross-model term on the second view",
            source="Theorem 4.1, eq. 8; Appendix F, eqs. 12–14",
            statement="L_BYOL = ‖p̂1 − t̂2‖² (eq. 4) ≤ (1/α + 1/β)·[α‖p̂1 − p̂2‖² + β‖p̂2 − t̂2‖²] "
            "(eq. 8 with the cross-model term on the second view, as eqs. 7 and 13)"
            + STATEMENT_SUFFIX
            + WORST,
            form="byol(p1, t2) ≤ (1/α + 1/β)·byol_prime_one_view(p1, p2, t2, α, β), per sample",
            check=check,
            arguments={"bound": BOUNDS["thm4.1"]},
            reading="as written",
            paper_text=Quote(
                "Theorem 4.1, eq. 8",
                r"Concretely speaking, for any given constants  $\alpha, \beta > 0$ , we have $$\mathcal{L}_{\text{BYOL}} \leq \left(\frac{1}{\alpha} + \frac{1}{\beta}\right) \mathcal{L}_{\text{BYOL}'}. \quad (8)$$",
            ),
        ),
        Claim(
            "thm4.1-sym",
            title="Theorem 4.1 with the symmetrised BYOL' that Definition 4.2 and the experiments use",
            source="Theorem 4.1, eq. 8 with Definition 4.2's symmetrised cross-model (Algorithm 1)",
            statement="L_BYOL = ‖p̂1 − t̂2‖² (eq. 4) ≤ (1/α + 1/β)·[α‖p̂1 − p̂2‖² + β·½(‖p̂1 − t̂1‖² + "
            "‖p̂2 − t̂2‖²)], the BYOL' that Definition 4.2 adopts 'for the sake of symmetry' and "
            "Algorithm 1 and the experiments train"
            + STATEMENT_SUFFIX
            + " Per sample, or in expectation "
            "when the views are not drawn alike (e.g. BYOL's asymmetric augmentations, T1 ≠ T2: a point "
            "mass is such a law); with views drawn alike it is thm4.1-sym-exchangeable." + WORST,
            form="byol(p1, t2) ≤ (1/α + 1/β)·byol_prime(p1, p2, t1, t2, α, β), per sample",
            check=check,
            arguments={"bound": BOUNDS["thm4.1-sym"]},
            reading="as written",
            paper_text=Quote(
                "Definition 4.2 (with Theorem 4.1, eq. 8)",
                r"For the sake of symmetry, we use  $\mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta)$  to denote  $(1/2)[\mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta, f_\xi, \mathcal{X}_1) + \mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta, f_\xi, \mathcal{X}_2)]$  to compute the cross-model loss.",
            ),
        ),
        Claim(
            "thm4.1-symsym",
            title="Theorem 4.1 with both sides symmetrised",
            source="Theorem 4.1, eq. 8, both sides symmetrised (Definition 4.2; BYOL's symmetric loss)",
            statement="½(‖p̂1 − t̂2‖² + ‖p̂2 − t̂1‖²) ≤ (1/α + 1/β)·[α‖p̂1 − p̂2‖² + β·½(‖p̂1 − t̂1‖² + "
            "‖p̂2 − t̂2‖²)]" + STATEMENT_SUFFIX + WORST,
            form="byol_symmetric(p1, p2, t1, t2) ≤ (1/α + 1/β)·byol_prime(p1, p2, t1, t2, α, β), per sample",
            check=check,
            arguments={"bound": BOUNDS["thm4.1-symsym"]},
            reading="alternative",
            paper_text=Quote(
                "Definition 4.2 (with Theorem 4.1, eq. 8)",
                r"For the sake of symmetry, we use  $\mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta)$  to denote  $(1/2)[\mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta, f_\xi, \mathcal{X}_1) + \mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta, f_\xi, \mathcal{X}_2)]$  to compute the cross-model loss.",
            ),
        ),
    ),
)
