"""Table 2 of the paper as data: every trainable model, with the objective it minimises.

Which loss each objective means (every one imported from ``theory.objectives``):

- ``byol``: L_BYOL of eq. 4 symmetrised over the two views, ½[L_BYOL(p1, t2) + L_BYOL(p2, t1)]
  (``objectives.byol_symmetric``). Eq. 4 writes one direction only, but Appendix B trains "the
  BYOL" with Grill et al.'s scheme, whose loss (their eq. 2) adds the view-swapped term; and the
  paper symmetrises every other objective the same way ("for the sake of symmetry", Def. 4.2;
  Algorithm 1, line 8), so BYOL, BYOL' and RAFT all see both views in both roles.
- ``byol_prime``: α L_align(q∘f_θ) + β ½[L_cross(view 1) + L_cross(view 2)] (Definition 4.2,
  eq. 10; ``objectives.byol_prime``).
- ``raft``: α L_align(q∘f_θ) − β ½[L_cross(view 1) + L_cross(view 2)] (Definition 4.3, eq. 11,
  Algorithm 1; ``objectives.raft``), β > 0.
- ``none``: no training (the random baseline of Tables 1 and 3).
- ``supervised``: the cross-entropy of a linear head on the projection f_θ(x) against the
  labels, averaged over the two views (Figure 5(a)'s supervised baseline; not an objective of
  the paper, which names none).

In every objective the teacher side is the mean teacher's projection f_ξ(x) = g_ξ(h_ξ(x))
(Algorithm 1, line 6: z' ← f_ξ(t(x))), the online side the prediction q_w(f_θ(x)) (line 5).
"Tan" variants keep only the tangential gradient of the teacher term (Remark after Theorem 5.1):
``tangential=True`` in the BYOL term, or in the cross-model term of BYOL'/RAFT (the alignment
term compares two online outputs and has no teacher, so it stays as it is). Because every
objective l2-normalises its inputs, whose Jacobian (I − ẑẑᵀ)/‖p‖ already drops the radial part
of the gradient, the tangential form changes the loss's value but not the gradient that reaches
the network (tests/training/loop/test_variants.py checks this): a Tan* variant trains as its plain
version, up to floating-point round-off.
"""

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from theory import objectives

PREDICTOR_KINDS = (
    "mlp",
    "linear",
    "linear-identity-init",
    "fixed-minus-identity",
    "none",
    "classifier",
)
OBJECTIVES = {
    "byol": "L_BYOL, eq. 4, symmetrised over the views",
    "byol_prime": "L_BYOL' = α·L_align + β·L_cross-model, eq. 10",
    "raft": "L_RAFT = α·L_align − β·L_cross-model, eq. 11",
    "none": "not trained (random encoder)",
    "supervised": "cross-entropy of a linear head on f_θ against the labels (Figure 5(a))",
}


@dataclass(frozen=True)
class Variant:
    name: str
    objective: str
    predictor: str
    tangential: bool
    alpha: float | None
    beta: float | None
    description: str

    @property
    def trains(self) -> bool:
        return self.objective != "none"

    @property
    def supervised(self) -> bool:
        """Whether it trains on the labels (``classification_loss``) instead of ``loss``."""
        return self.objective == "supervised"

    @property
    def weighted(self) -> bool:
        """Whether the objective has the weights α and β (BYOL' and RAFT)."""
        return self.objective in ("byol_prime", "raft")

    def loss(self, p1, p2, t1, t2, *, alpha=None, beta=None, validate=True) -> torch.Tensor:
        """This variant's objective on online predictions p1, p2 and teacher outputs t1, t2."""
        options = {"tangential": self.tangential, "validate": validate}
        if self.objective == "byol":
            return objectives.byol_symmetric(p1, p2, t1, t2, **options)
        if self.objective == "byol_prime":
            return objectives.byol_prime(p1, p2, t1, t2, alpha=alpha, beta=beta, **options)
        if self.objective == "raft":
            return objectives.raft(p1, p2, t1, t2, alpha=alpha, beta=beta, **options)
        if self.supervised:
            raise ValueError(f"variant {self.name!r} trains on labels: classification_loss")
        raise ValueError(f"variant {self.name!r} is not trained and has no loss")

    @staticmethod
    def classification_loss(logits1, logits2, labels) -> torch.Tensor:
        """The supervised baseline's objective: ½[CE(logits1, y) + CE(logits2, y)] over the
        batch, the two views' cross-entropies against the labels y."""
        return 0.5 * (F.cross_entropy(logits1, labels) + F.cross_entropy(logits2, labels))


def _variant(name, objective, predictor, description, tangential=False):
    weights = 1.0 if objective in ("byol_prime", "raft") else None
    return Variant(name, objective, predictor, tangential, weights, weights, description)


VARIANTS = {
    v.name: v
    for v in (
        _variant("byol", "byol", "mlp", "BYOL-MLPP: BYOL with MLP predictor"),
        _variant("byol-np", "byol", "none", "BYOL-NP: BYOL with no predictor"),
        _variant("byol-lp", "byol", "linear", "BYOL-LP: BYOL with linear predictor"),
        _variant(
            "byol-lpi",
            "byol",
            "linear-identity-init",
            "BYOL-LPI: BYOL with linear predictor initialised with I",
        ),
        _variant(
            "tanbyol-lp",
            "byol",
            "linear",
            "TanBYOL-LP: BYOL, linear predictor, tangential gradient only",
            tangential=True,
        ),
        _variant(
            "byol'", "byol_prime", "mlp", "BYOL'-MLPP: L_align + L_cross-model, MLP predictor"
        ),
        _variant(
            "byol'-lp",
            "byol_prime",
            "linear",
            "BYOL'-LP: L_align + L_cross-model, linear predictor",
        ),
        _variant(
            "byol'-np", "byol_prime", "none", "BYOL'-NP: L_align + L_cross-model, no predictor"
        ),
        _variant(
            "tanbyol'-lp",
            "byol_prime",
            "linear",
            "TanBYOL'-LP: BYOL', linear predictor, tangential gradient only",
            tangential=True,
        ),
        _variant("raft", "raft", "mlp", "RAFT-MLPP: L_align − L_cross-model, MLP predictor"),
        _variant("raft-np", "raft", "none", "RAFT-NP: RAFT with no predictor"),
        _variant("raft-lp", "raft", "linear", "RAFT-LP: RAFT with linear predictor"),
        _variant(
            "tanraft-lp",
            "raft",
            "linear",
            "TanRAFT-LP: RAFT, linear predictor, tangential gradient only",
            tangential=True,
        ),
        _variant(
            "raft-minus-i",
            "raft",
            "fixed-minus-identity",
            "RAFT with W fixed at −I (not trained): the Theorem 5.1 mirror of BYOL'-NP (not in Table 2)",
        ),
        _variant(
            "supervised",
            "supervised",
            "classifier",
            "Supervised: the encoder and projector trained with cross-entropy on the labels "
            "through a linear head (Figure 5(a)'s baseline; not in Table 2)",
        ),
        _variant(
            "rand-baseline",
            "none",
            "linear",
            "Rand-Baseline (Table 1): random encoder and linear predictor W, linear evaluation only",
        ),
    )
}


def resolve(name: str) -> Variant:
    """The variant called ``name``; a ``p`` after ``byol`` stands for the prime (byolp-lp = byol'-lp),
    since shells and file names dislike quotes. Raises KeyError naming the valid variants."""
    key = name.strip().lower().replace("byolp", "byol'")
    if key not in VARIANTS:
        raise KeyError(f"unknown variant {name!r}; valid variants: {', '.join(VARIANTS)}")
    return VARIANTS[key]


def file_name(variant: Variant) -> str:
    """The variant's name without a quote (byol' -> byolp), for directories."""
    return variant.name.replace("'", "p")


def table() -> str:
    """Table 2 (plus the random baseline) as printed by ``python -m training.run --list``."""
    header = ("variant", "objective", "predictor", "tangential", "α", "β", "description")
    rows = [header] + [
        (
            v.name,
            v.objective,
            v.predictor,
            "yes" if v.tangential else "no",
            "-" if v.alpha is None else f"{v.alpha:g}",
            "-" if v.beta is None else f"{v.beta:g}",
            v.description,
        )
        for v in VARIANTS.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows
    ]
    legend = [""] + [f"{key}: {meaning}" for key, meaning in OBJECTIVES.items()]
    legend.append("byolp is accepted for byol' (byolp-lp for byol'-lp, ...).")
    return "\n".join(lines + legend)
