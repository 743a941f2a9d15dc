"""Theorem 5.1 and its variants (Section 5, Appendix G): do BYOL' and RAFT follow the same
parameter trajectory?

- ``engine``: the lockstep engine (learners, predictor maps, controls, traces);
- ``rule``: the decision rule (decisive steps, excesses, precision scaling);
- ``setups``: replayable runs of small models, and a run judged by the rule (``evaluate``);
- ``gradients``: the gradient identities of Appendix G (eq. 28) at single points;
- ``relations``: the sympy relation between the two losses;
- ``search``: random and adversarial setups, minimal counterexamples;
- ``check``, ``claims``, ``wording``: the checker, the claims as data, their evidence in words.
"""

from theory.thm51.claims import CONDITIONS
from theory.thm51.engine import (
    CONTROLS,
    Learner,
    Trace,
    identity_map,
    lockstep,
    mirrored,
    negate_output_layer,
    optimizer,
)
from theory.thm51.gradients import edge_points, gradient_gaps, judge_gap, judged_point
from theory.thm51.relations import symbolic_relation, symbolic_tangent_noop
from theory.thm51.rule import CONFIRM, FACTOR, FLOOR, assess, scales_like_drift, threshold
from theory.thm51.search import lr_range, minimal_counterexample
from theory.thm51.setups import PAIRS, Setup, build, evaluate, replay, run, view_pairs

__all__ = [
    "CONDITIONS",
    "CONFIRM",
    "CONTROLS",
    "FACTOR",
    "FLOOR",
    "Learner",
    "PAIRS",
    "Setup",
    "Trace",
    "assess",
    "build",
    "edge_points",
    "evaluate",
    "gradient_gaps",
    "identity_map",
    "judge_gap",
    "judged_point",
    "lockstep",
    "lr_range",
    "minimal_counterexample",
    "mirrored",
    "negate_output_layer",
    "optimizer",
    "replay",
    "run",
    "scales_like_drift",
    "symbolic_relation",
    "symbolic_tangent_noop",
    "threshold",
    "view_pairs",
]
