"""What the two checkers share: adversarial searches of vector statements, tallies of
residuals over random and edge points, sympy results by name, and the claim's ``Finding``
from its per-equation records."""

from collections import defaultdict

from theory.claims import Finding, fact
from theory.search import search
from theory.steps import calculus, sphere
from theory.steps.status import CORRECTED, FAILS, HOLDS, UNDECIDED, Record

# Dimensions for the vector searches: 2 and 3 give the edge cases (±e1, ±e2, ±e3; the scores
# are rotation invariant), 8 gives random configurations room.
VECTOR_DIMS = (2, 3, 8)
SEARCH_BUDGET = dict(n_random=128, n_starts=6, steps=20, n_polish=1)

PROOFS = {
    "chain-rule": calculus.chain_rule_proof,
    "unit-jacobian": calculus.unit_jacobian_proof,
    "odd-derivative": calculus.odd_derivative_proof,
    "raw-derivative": calculus.raw_derivative_proof,
    "raw-jacobian-factor": calculus.raw_jacobian_factor_proof,
    "sgd-odd": calculus.sgd_odd_proof,
}


def symbolic(names, proofs=None) -> dict | None:
    """The named sympy results together: an identity when every part is one."""
    if not names:
        return None
    table = {**PROOFS, **(proofs or {})}
    parts = [{"name": n, **(sphere.proof(n) if n in sphere.LEMMAS else table[n]())} for n in names]
    return {"identity": all(p["identity"] for p in parts), "parts": parts}


def phase_worst(report, random: bool) -> float:
    phases = [p.worst.score for p in report.phases if (p.name == "random") == random]
    return max(phases, default=0.0)


def lemma_searches(names, effort) -> dict:
    """``theory.search`` (random sampling, Adam ascent, L-BFGS polish, edge cases) of each
    named lemma of ``theory.steps.sphere``."""
    reports = {}
    for name in sorted(set(names)):
        lemma = sphere.LEMMAS[name]
        reports[name] = search(
            lemma.score,
            k=lemma.vectors,
            dims=VECTOR_DIMS,
            effort=effort,
            weights=lemma.weights,
            **SEARCH_BUDGET,
        )
    return reports


class Residuals:
    """Per residual key and phase ("random" or "edge"): how many points and the worst value."""

    def __init__(self):
        self.cases = defaultdict(int)
        self.worst = defaultdict(float)

    def add(self, phase: str, values: dict[str, float], cases: int = 1) -> None:
        for key, value in values.items():
            self.cases[phase, key] += cases
            value = float("inf") if value != value else float(value)
            self.worst[phase, key] = max(self.worst[phase, key], value)

    def into(self, tally, keys) -> None:
        for key in keys:
            tally.add("random", self.cases["random", key], self.worst["random", key])
            tally.add("edge", self.cases["edge", key], self.worst["edge", key])


def add_searches(tally, reports, names) -> None:
    for name in names:
        report = reports[name]
        tally.add("random", report.sampled, phase_worst(report, random=True))
        tally.add("search", report.searched, phase_worst(report, random=False))


def step_fact(r: Record) -> dict:
    s = r.step
    return fact(
        "step",
        eq=s.eq,
        status=r.status,
        statement=s.statement,
        correction=s.correction,
        note=s.note,
        tolerance=r.tolerance,
        written=r.written.as_dict(),
        corrected=r.corrected.as_dict() if r.corrected else None,
        proof=r.proof,
        corrected_proof=r.corrected_proof,
        counterexample=r.counterexample,
        reference=r.reference,
    )


def finding(records: list[Record], evidence: list[dict], tolerance: float) -> Finding:
    """The claim's verdict from its steps: "holds" when every step holds as written,
    "inconclusive" when one is undecided, else "fails" with the first step that does not hold
    as its counterexample. ``worst``: that step's largest violation as written (for "holds",
    the largest over all steps)."""
    statuses = [r.status for r in records]
    evidence = [step_fact(r) for r in records] + evidence
    evidence.append(
        fact("tally", **{s: statuses.count(s) for s in (HOLDS, CORRECTED, FAILS, UNDECIDED)})
    )
    tallies = [t for r in records for t in (r.written, r.corrected) if t is not None]
    common = dict(
        tolerance=tolerance,
        sampled=sum(t.sampled for t in tallies),
        searched=sum(t.searched for t in tallies),
        evidence=evidence,
    )
    if UNDECIDED in statuses:
        return Finding("inconclusive", worst=max(r.written.worst for r in records), **common)
    wrong = [r for r in records if r.status != HOLDS]
    if not wrong:
        return Finding("holds", worst=max(r.written.worst for r in records), **common)
    first = wrong[0]
    counterexample = {
        "equation": first.step.eq,
        "status": first.status,
        "correction": first.step.correction,
        **(first.counterexample or {}),
    }
    return Finding("fails", worst=first.written.worst, counterexample=counterexample, **common)
