"""Theorem 4.1 in expectation, with the symmetrised BYOL' it trains, when the two views are drawn
alike: E‖p̂1 − t̂2‖² ≤ (1/α + 1/β)·E[L_BYOL'] for every law of (p̂1, p̂2, t̂1, t̂2) that swapping
the views, (p̂1, p̂2, t̂1, t̂2) ↦ (p̂2, p̂1, t̂2, t̂1), leaves unchanged (t1, t2 drawn independently
from one law T1 = T2, as SimCLR's augmentations).

The proof is a certificate in two sympy identities and one inequality: under such a law
E[f] = E[f∘swap], so E[LHS] = E[½(LHS + LHS∘swap)], the left side of thm4.1-symsym; RHS∘swap =
RHS; and thm4.1-symsym's sum of squares bounds it per sample. The search tries to break it
anyway: finite exchangeable laws (K atoms, each with its swap, uniform weights; an atom
repeated is a heavier atom) whose E[LHS]/E[RHS] the adversarial search of ``theory.search``
pushes up. A point mass at thm4.1-sym's own counterexample, a law that is not exchangeable, is
the control: it exceeds 1, and its symmetrisation does not."""

import math

import torch

from theory import symbolic
from theory.claims import Claim, Effort, Family, Finding, Quote, fact
from theory.search import search
from theory.symbolic import ALPHA, BETA, Gram, is_identity
from theory.thm41 import (
    BOUNDS,
    NAMES,
    PER_SAMPLE,
    STATEMENT_SUFFIX,
    TOLERANCE,
    WORDING,
    _on_small_circle_points,
    exact_sides,
    symbolic_facts,
)
from theory.wording import search_sentences

BOUND = BOUNDS["thm4.1-sym"]
# Atoms per law, the dimensions searched for each, and the search's sizes (random laws, ascent
# starts): one atom (with its swap) at the per-sample search's sizes; more atoms in fewer
# dimensions and smaller searches (E[LHS]/E[RHS] is a mediant of the atoms' ratios, so more atoms
# can only help a search that got stuck, never beat the best atom): the verify budget.
ATOMS = ((1, (2, 3), 1024, 32), (2, (3,), 512, 16), (4, (8,), 256, 8))


def swapped(vectors):
    """(p1, p2, t1, t2) ↦ (p2, p1, t2, t1): the two views exchanged."""
    p1, p2, t1, t2 = vectors
    return p2, p1, t2, t1


def expected_ratio(atoms: int):
    """E[LHS]/E[RHS] of thm4.1-sym under the law that puts weight 1/(2·atoms) on each atom and on
    each atom's swap; cases v of shape (N, 4·atoms, D)."""

    def score(v: torch.Tensor, alpha, beta) -> torch.Tensor:
        n, _, dim = v.shape
        law = v.reshape(n * atoms, 4, dim).unbind(dim=1)
        a, b = alpha.repeat_interleave(atoms), beta.repeat_interleave(atoms)
        lhs, rhs = (
            sum(side(PER_SAMPLE, *x, a, b) for x in (law, swapped(law))).view(n, atoms).mean(dim=1)
            for side in (BOUND.lhs, BOUND.rhs)
        )
        safe = torch.where(rhs > 0, rhs, torch.ones_like(rhs))
        return torch.where(rhs > 0, lhs / safe, torch.where(lhs > 0, math.inf, 0.0))

    return score


def certificate() -> tuple[bool, list[dict]]:
    """sympy: LHS averaged with its swap is thm4.1-symsym's left side, RHS is swap invariant,
    and thm4.1-symsym's sum of squares holds; together, E[LHS] ≤ E[RHS] under every
    exchangeable law."""
    g = Gram(list(NAMES), unit=False)
    vectors = g.vectors()
    sides = [
        side(symbolic, *x, ALPHA, BETA)
        for side in (BOUND.lhs, BOUND.rhs)
        for x in (vectors, swapped(vectors))
    ]
    lhs, lhs_swapped, rhs, rhs_swapped = sides
    averaged = is_identity(
        (lhs + lhs_swapped) / 2, BOUNDS["thm4.1-symsym"].lhs(symbolic, *vectors, ALPHA, BETA)
    )
    invariant = is_identity(rhs, rhs_swapped)
    proven, facts = symbolic_facts(BOUNDS["thm4.1-symsym"])
    return averaged and invariant and proven, [
        fact("exchangeable-certificate", averaged=averaged, invariant=invariant),
        *facts,
    ]


def control() -> dict:
    """The simplest exact counterexample of thm4.1-sym (D = 2, α = β = 1) as a point mass, and
    the exchangeable law half on it, half on its swap: both ratios in exact arithmetic."""
    example = _on_small_circle_points(BOUND, 1, 1)
    exact = example["exact"]
    vectors = {n: [symbolic.fraction(c) for c in exact[n]] for n in NAMES}
    swapped_vectors = dict(zip(NAMES, swapped([vectors[n] for n in NAMES])))
    lhs, rhs = exact_sides(BOUND, vectors, 1, 1)
    lhs_s, rhs_s = exact_sides(BOUND, swapped_vectors, 1, 1)
    return dict(
        point=str(lhs / rhs),
        symmetrised=str((lhs + lhs_s) / (rhs + rhs_s)),
        vectors={n: exact[n] for n in NAMES},
    )


def check(effort: Effort) -> Finding:
    proven, evidence = certificate()
    sampled = searched = 0
    worst = -math.inf
    for atoms, dims, n_random, n_starts in ATOMS:
        report = search(
            expected_ratio(atoms),
            k=4 * atoms,
            dims=dims,
            effort=effort,
            n_random=n_random,
            n_starts=n_starts,
            edge_dims=3 if atoms == 1 else 0,
        )
        sampled, searched = sampled + report.sampled, searched + report.searched
        worst = max(worst, report.worst.score)
        evidence.append(
            fact(
                "exchangeable-search",
                atoms=atoms,
                dims=list(dims),
                cases=report.sampled + report.searched,
                worst=report.worst.score,
                dim=report.worst.dim,
                alpha=report.worst.alpha,
                beta=report.worst.beta,
            )
        )
    evidence.append(fact("non-exchangeable-control", **control()))
    common = dict(worst=worst, tolerance=TOLERANCE, sampled=sampled, searched=searched)
    if worst <= 1 + TOLERANCE and proven:
        return Finding("holds", evidence=evidence, **common)
    evidence.append(fact("unconfirmed", proven=proven))
    return Finding("inconclusive", evidence=evidence, **common)


EXPECTED_WORDING = {
    **WORDING,
    **search_sentences("E[LHS]/E[RHS]"),
    "exchangeable-certificate": lambda f: (
        "sympy: ½(LHS + LHS∘swap) = ½(‖p̂1 − t̂2‖² + ‖p̂2 − t̂1‖²), thm4.1-symsym's left side "
        f"({'proven' if f['averaged'] else 'NOT proven'}), and RHS∘swap = RHS "
        f"({'proven' if f['invariant'] else 'NOT proven'}), identically in α, β and the Gram entries; "
        "under a law invariant under the swap E[LHS] = E[½(LHS + LHS∘swap)], so thm4.1-symsym's "
        "certificate below bounds E[LHS] by E[RHS]"
    ),
    "exchangeable-search": lambda f: (
        f"finite exchangeable laws of {f['atoms']} atom{'s' if f['atoms'] > 1 else ''} and "
        f"{'their' if f['atoms'] > 1 else 'its'} swap{'s' if f['atoms'] > 1 else ''}, D in {f['dims']}: "
        f"{f['cases']} laws (random, Adam ascent, L-BFGS-B{', edge cases' if f['atoms'] == 1 else ''}), "
        f"largest E[LHS]/E[RHS] = {f['worst']:.15g} (D = {f['dim']}, α = {f['alpha']:.6g}, β = {f['beta']:.6g})"
    ),
    "non-exchangeable-control": lambda f: (
        "control: a point mass at thm4.1-sym's counterexample "
        + ", ".join(f"{n} = ({', '.join(x)})" for n, x in f["vectors"].items())
        + f" (α = β = 1), a law "
        f"that is not exchangeable, has E[LHS]/E[RHS] = {f['point']} > 1; the exchangeable law "
        f"half on it and half on its swap has {f['symmetrised']}"
    ),
}

FAMILY = Family(
    name="Theorem 4.1 in expectation, views drawn alike",
    order=42,
    doc="docs/claims/thm41.md",
    wording=EXPECTED_WORDING,
    claims=(
        Claim(
            "thm4.1-sym-exchangeable",
            title="Theorem 4.1 with the symmetrised BYOL', in expectation when the two views are drawn alike",
            source="Theorem 4.1, eq. 8 (an inequality of expectations, eqs. 4 and 7) with Definition "
            "4.2's symmetrised cross-model; views t1, t2 drawn from one law (T1 = T2)",
            statement="For every law of (p̂1, p̂2, t̂1, t̂2) that is invariant under swapping the two "
            "views ((p̂1, p̂2, t̂1, t̂2) ↦ (p̂2, p̂1, t̂2, t̂1), as when t1 and t2 are drawn independently "
            "from one augmentation law): E‖p̂1 − t̂2‖² ≤ (1/α + 1/β)·E[α‖p̂1 − p̂2‖² + β·½(‖p̂1 − t̂1‖² + "
            "‖p̂2 − t̂2‖²)]"
            + STATEMENT_SUFFIX.replace(
                "all unit vectors p̂1, p̂2, t̂1, t̂2", "every such law of unit vectors"
            )
            + " worst = the largest E[LHS]/E[RHS] found over finite exchangeable laws.",
            form="sympy: ½(byol(p1, t2) + byol(p2, t1)) = byol_symmetric, byol_prime swap-invariant, "
            "thm4.1-symsym's certificate; search: mean over atoms and their swaps of byol(p1, t2) / "
            "mean of (1/α + 1/β)·byol_prime(p1, p2, t1, t2, α, β), 1, 2 and 4 atoms",
            check=check,
            reading="weaker",
            paper_text=Quote(
                "Definition 4.2 (with Theorem 4.1, eq. 8)",
                r"For the sake of symmetry, we use  $\mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta)$  to denote  $(1/2)[\mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta, f_\xi, \mathcal{X}_1) + \mathcal{L}_{\text{cross-model}}(q_w \circ f_\theta, f_\xi, \mathcal{X}_2)]$  to compute the cross-model loss.",
            ),
        ),
    ),
)
