"""A claim from another paper, as a raft-verify plugin: BYOL's loss (Grill et al., 2020, eq. 2)
is 2 − 2 times the cosine between the prediction and the target,

    ‖q̂ − ẑ'‖² = 2 − 2·⟨q, z'⟩ / (‖q‖·‖z'‖).

Load it with ``python -m theory verify grill-cosine --plugin examples/byol_cosine.py`` (or
``--plugin examples.byol_cosine`` from the repository's root), or install a package that declares
it in the entry-point group ``raft_verify.claims``. docs/howto/write-a-claim.md walks through it.
"""

import torch

from theory import objectives, symbolic
from theory.claims import Claim, Effort, Family, Finding, fact
from theory.search import DIMS, search
from theory.wording import search_sentences

# Both sides are a few rounded operations on unit vectors of length ≤ 128: their difference is
# round-off of order 1e-15; 1e-12 (relative to the largest value, 4) is far above it.
TOLERANCE = 1e-12


def gap(v: torch.Tensor, alpha=None, beta=None) -> torch.Tensor:
    """|‖q̂ − ẑ'‖² − (2 − 2 cos(q, z'))| / 4 for v = (q, z') per row: the search's score."""
    q, z = v[:, 0], v[:, 1]
    squared = objectives.byol(q, z, reduction="none", validate=False)
    cosine = torch.nn.functional.cosine_similarity(q, z, dim=-1)
    return (squared - (2 - 2 * cosine)).abs() / 4


def check(effort: Effort) -> Finding:
    report = search(gap, k=2, dims=DIMS, effort=effort, weights=False)
    g = symbolic.Gram(["q", "z"], unit=True)
    q, z = g.vectors()
    proven = symbolic.is_identity(symbolic.byol(q, z), 2 - 2 * (q @ z))
    evidence = report.facts() + [fact("identity", proven=proven)]
    worst = report.worst.score
    common = dict(
        worst=worst, tolerance=TOLERANCE, sampled=report.sampled, searched=report.searched
    )
    if worst <= TOLERANCE and proven:
        return Finding("holds", evidence=evidence, **common)
    return Finding("inconclusive", evidence=evidence, **common)


FAMILY = Family(
    name="Grill et al. (2020): BYOL's loss as a cosine",
    order=1000,
    wording={
        **search_sentences("|difference|/4"),
        "identity": lambda f: (
            "sympy over the Gram matrix of unit vectors: ‖q̂ − ẑ'‖² = 2 − 2⟨q̂, ẑ'⟩ "
            + ("identically" if f["proven"] else "does NOT reduce")
        ),
    },
    claims=(
        Claim(
            "grill-cosine",
            title="BYOL's loss is 2 − 2·cos(prediction, target)",
            source="Grill et al. (2020), Bootstrap your own latent, eq. 2",
            statement="For non-zero q, z' in every D ≥ 2, ‖q/‖q‖ − z'/‖z'‖‖² = 2 − 2⟨q, z'⟩/(‖q‖‖z'‖). "
            "worst = the largest |difference|/4 found.",
            form="objectives.byol(q, z') against 2 − 2·cosine_similarity(q, z'), per sample",
            check=check,
        ),
    ),
)
