"""RAFT and collapse (abstract, Sections 1 and 4.2): "the second term of RAFT explicitly prevents
the representation collapse". Read as a statement about the objective: no collapsed
configuration (the online encoder maps every input to one point) attains the infimum of L_RAFT
(Definition 4.3, symmetrised, on the unit sphere), with no predictor, the linear predictor or
the MLP predictor, at the EMA fixed point ξ = θ and with an independent teacher.

On the sphere ‖a − c‖² = 4 − ‖a + c‖², so L_RAFT + 4β = α‖p̂1 − p̂2‖² + (β/2)(‖p̂1 + t̂1‖² +
‖p̂2 + t̂2‖²) per sample: the infimum is −4β, attained exactly where the predictions of a positive
pair agree and sit antipodal to the teacher's outputs — or, at ξ = θ without a predictor (the
teacher's outputs are the online ones, t̂ = p̂), L_RAFT = α·L_align ≥ 0 with infimum 0. The
checker searches collapsed configurations for the smallest L_RAFT − inf.
"""

import torch
from torch import nn

from theory import objectives, symbolic
from theory.claims import Claim, Effort, Family, Finding, Quote, fact
from theory.symbolic import ALPHA, BETA, Gram, is_identity

# A collapsed configuration attains the infimum when L_RAFT − inf ≤ TOLERANCE·4β: each side is a
# handful of rounded unit-vector distances (≤ 4 each), so round-off stays below 1e-14·4β.
TOLERANCE = 1e-12

PREDICTORS = ("none", "linear", "mlp")
TEACHERS = ("fixed point", "independent")
DIMS = (2, 8)
STARTS = 3
ASCENT_STEPS = 80


def infimum(predictor: str, teacher: str, beta: float) -> float:
    """inf L_RAFT per sample: 0 at ξ = θ without a predictor (L_RAFT = α·L_align there),
    −4β otherwise."""
    return 0.0 if (predictor, teacher) == ("none", "fixed point") else -4.0 * beta


def certificates() -> dict[str, bool]:
    """sympy over the Gram matrix of unit vectors: L_RAFT + 4β is a sum of squares; with the
    teacher's outputs equal to the online ones it is α‖p1 − p2‖² + 4β."""
    g = Gram(["p1", "p2", "t1", "t2"], unit=True)
    p1, p2, t1, t2 = g.vectors()
    squares = ALPHA * symbolic.alignment(p1, p2) + BETA / 2 * (
        (p1 + t1) @ (p1 + t1) + (p2 + t2) @ (p2 + t2)
    )
    at_fixed_point = symbolic.raft(p1, p2, p1, p2)
    return {
        "infimum": is_identity(symbolic.raft(p1, p2, t1, t2) + 4 * BETA, squares),
        "fixed-point": is_identity(at_fixed_point, ALPHA * symbolic.alignment(p1, p2)),
    }


def collapsed_loss(
    point: torch.Tensor,
    predictor: nn.Module | None,
    teacher: torch.Tensor | None,
    batch: int,
    alpha: float,
    beta: float,
) -> torch.Tensor:
    """L_RAFT of a collapsed online encoder (every input ↦ ``point``, shape (D,)) through the
    predictor (None: q = I), against ``teacher`` outputs (batch, 2, D) or, at ξ = θ (None), the
    teacher's own collapsed outputs."""
    z = point.expand(batch, -1)
    p = predictor(z) if predictor is not None else z
    t1, t2 = (z, z) if teacher is None else teacher.unbind(1)
    return objectives.raft(p, p, t1, t2, alpha, beta, validate=False)


def _teacher_pull(point, predictor, teacher, batch, beta) -> torch.Tensor:
    """L_RAFT's cross-model term as a function of independent teacher outputs. The objectives
    give the teacher no gradient (it follows the EMA), so the search descends the same distance
    with the roles exchanged."""
    if teacher is None:
        return torch.zeros(())
    with torch.no_grad():
        z = point.expand(batch, -1)
        p = predictor(z) if predictor is not None else z
    t1, t2 = teacher.unbind(1)
    return -beta * objectives.symmetric_cross_model(t1, t2, p, p, validate=False)


def _predictor(kind: str, dim: int, generator: torch.Generator) -> nn.Module | None:
    """A random predictor of the given kind, drawn in float64 from ``generator``."""
    if kind == "none":
        return None
    if kind == "linear":
        layer = nn.Linear(dim, dim, bias=False, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
        return layer
    hidden = 4 * dim
    mlp = nn.Sequential(
        nn.Linear(dim, hidden, dtype=torch.float64),
        nn.ReLU(),
        nn.Linear(hidden, dim, dtype=torch.float64),
    )
    with torch.no_grad():
        for p in mlp.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
    return mlp


def _search_case(predictor_kind: str, teacher: str, dim: int, effort: Effort, generator) -> dict:
    """Random collapsed configurations, then Adam descending L_RAFT over the collapsed point,
    the predictor and (independent teacher) the teacher's outputs: the smallest relative gap to
    the infimum found, by sampling and by the search."""
    batch, alpha, beta = 4, 1.0, 1.0
    target = infimum(predictor_kind, teacher, beta)
    starts = []
    for _ in range(STARTS * effort.scale):
        point = torch.randn(dim, generator=generator, dtype=torch.float64)
        predictor = _predictor(predictor_kind, dim, generator)
        outputs = (
            None
            if teacher == "fixed point"
            else torch.randn(batch, 2, dim, generator=generator, dtype=torch.float64)
        )
        starts.append((point, predictor, outputs))
    with torch.no_grad():
        sampled = [float(collapsed_loss(*start, batch, alpha, beta)) - target for start in starts]
    searched = [loss - target for loss in _descend(starts, batch, alpha, beta)]
    scale = 4 * beta
    return dict(
        predictor=predictor_kind,
        teacher=teacher,
        dim=dim,
        sampled=len(sampled),
        searched=len(searched) * (ASCENT_STEPS + 1),
        sampled_gap=min(sampled) / scale,
        searched_gap=min(searched) / scale,
    )


def _descend(starts: list, batch: int, alpha: float, beta: float) -> list[float]:
    """ASCENT_STEPS of Adam from every start at once (``torch.func.vmap`` over the starts; Adam
    is elementwise, so one optimiser over the stacked parameters is one per start), and each
    start's final L_RAFT."""
    points, predictors, outputs = zip(*starts)
    points = torch.stack(points).requires_grad_(True)
    template = predictors[0]
    weights = torch.func.stack_module_state(list(predictors))[0] if template is not None else {}
    teacher = None if outputs[0] is None else torch.stack(outputs).requires_grad_(True)

    def loss(point, weight, teacher_outputs, pull: bool):
        q = (
            None
            if template is None
            else (lambda z: torch.func.functional_call(template, weight, (z,)))
        )
        value = collapsed_loss(point, q, teacher_outputs, batch, alpha, beta)
        return value + _teacher_pull(point, q, teacher_outputs, batch, beta) if pull else value

    every = torch.func.vmap(loss, in_dims=(0, 0, None if teacher is None else 0, None))
    optimiser = torch.optim.Adam(
        [points, *weights.values(), *([] if teacher is None else [teacher])], lr=0.2
    )
    for _ in range(ASCENT_STEPS):
        optimiser.zero_grad()
        every(points, weights, teacher, True).sum().backward()
        optimiser.step()
    with torch.no_grad():
        return every(points, weights, teacher, False).tolist()


def _constant_predictor(kind: str, dim: int, output: torch.Tensor) -> nn.Module | None:
    """The predictor of a construction: none; W = ±I (``output`` = ±e1 says which); an MLP
    whose output is the constant ``output`` (every weight 0, the output bias ``output``)."""
    if kind == "none":
        return None
    if kind == "linear":
        layer = nn.Linear(dim, dim, bias=False, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(float(output[0]) * torch.eye(dim, dtype=torch.float64))
        return layer
    mlp = nn.Sequential(
        nn.Linear(dim, 1, dtype=torch.float64), nn.ReLU(), nn.Linear(1, dim, dtype=torch.float64)
    )
    with torch.no_grad():
        for p in mlp.parameters():
            p.zero_()
        mlp[2].bias.copy_(output)
    return mlp


PREDICTOR_WORDS = {
    ("none", 1): "none",
    ("none", -1): "none",
    ("linear", -1): "W = −I",
    ("linear", 1): "W = I",
    ("mlp", -1): "an MLP with output bias −e1, every weight 0",
    ("mlp", 1): "an MLP with output bias e1, every weight 0",
}


def constructions(dim: int = 1) -> list[dict]:
    """Exact collapsed configurations at the infimum, one per predictor and teacher: the online
    encoder maps every input to e1 (a linear encoder with zero weight and bias e1); at ξ = θ the
    predictor maps e1 to −e1 (the teacher's outputs are e1), with an independent teacher the
    predictor keeps e1 and the teacher maps every input to −e1. Their L_RAFT (α = β = 1, one
    sample), computed with theory.objectives."""
    e1 = torch.zeros(dim, dtype=torch.float64)
    e1[0] = 1.0
    out = []
    for kind in PREDICTORS:
        for teacher in TEACHERS:
            sign = -1 if teacher == "fixed point" else 1
            predictor = _constant_predictor(kind, dim, sign * e1)
            outputs = None if teacher == "fixed point" else (-e1).expand(1, 2, dim)
            with torch.no_grad():
                loss = float(collapsed_loss(e1, predictor, outputs, 1, 1.0, 1.0))
            out.append(
                dict(
                    predictor=kind,
                    teacher=teacher,
                    dim=dim,
                    loss=loss,
                    infimum=infimum(kind, teacher, 1.0),
                    predictor_weights=PREDICTOR_WORDS[kind, sign],
                    teacher_outputs="the online outputs (ξ = θ)" if sign < 0 else "−e1",
                )
            )
    return out


def check(effort: Effort) -> Finding:
    generator = effort.torch_generator()
    proofs = certificates()
    cases = [
        _search_case(kind, teacher, dim, effort, generator)
        for kind in PREDICTORS
        for teacher in TEACHERS
        for dim in DIMS
    ]
    exact = constructions()
    worst = min(min(c["sampled_gap"], c["searched_gap"]) for c in cases)
    worst = min(worst, min((c["loss"] - c["infimum"]) / 4 for c in exact))
    evidence = [fact("infimum-certificate", **proofs)]
    evidence += [fact("collapsed-search", **c) for c in cases]
    evidence += [fact("collapsed-construction", **c) for c in exact]
    common = dict(
        worst=worst,
        tolerance=TOLERANCE,
        sampled=sum(c["sampled"] for c in cases),
        searched=sum(c["searched"] for c in cases) + len(exact),
    )
    attained = [c for c in exact if c["loss"] - c["infimum"] <= TOLERANCE * 4]
    if not attained:
        return Finding(
            "holds" if worst > TOLERANCE else "inconclusive", evidence=evidence, **common
        )
    smallest = next(
        c for c in attained if c["predictor"] == "linear" and c["teacher"] == "fixed point"
    )
    counterexample = {
        **smallest,
        "alpha": 1.0,
        "beta": 1.0,
        "batch": 1,
        "encoder": "linear, weight 0, bias e1",
        "all_cases": attained,
        "replay": "theory.collapse.constructions()",
    }
    evidence.append(fact("collapse-attains", cases=len(attained), total=len(exact)))
    return Finding("fails", evidence=evidence, counterexample=counterexample, **common)


def _search_sentence(f: dict) -> str:
    return (
        f"collapsed configurations, predictor {f['predictor']}, teacher {f['teacher']}, D = {f['dim']}: "
        f"{f['sampled']} random, smallest (L_RAFT − inf)/4β {f['sampled_gap']:.3g}; Adam descending "
        f"L_RAFT over the collapsed point, the predictor{' and the teacher outputs' if f['teacher'] == 'independent' else ''} "
        f"({f['searched']} evaluations): {f['searched_gap']:.3g}"
    )


WORDING = {
    "infimum-certificate": lambda f: (
        "sympy over the Gram matrix of unit vectors: L_RAFT + 4β = α‖p̂1 − p̂2‖² + (β/2)(‖p̂1 + t̂1‖² + "
        f"‖p̂2 + t̂2‖²) {'✓' if f['infimum'] else '✗'} (so inf L_RAFT = −4β, attained iff the "
        "predictions of a pair agree and are antipodal to the teacher's outputs); with t̂ = p̂ "
        f"(ξ = θ, no predictor) L_RAFT = α·L_align {'✓' if f['fixed-point'] else '✗'} (inf 0)"
    ),
    "collapsed-search": _search_sentence,
    "collapsed-construction": lambda f: (
        f"exact: predictor {f['predictor']} ({f['predictor_weights']}), teacher {f['teacher']} "
        f"(outputs {f['teacher_outputs']}), every input ↦ e1 in D = {f['dim']}: L_RAFT = {f['loss']:g} "
        f"= the infimum {f['infimum']:g} (α = β = 1)"
    ),
    "collapse-attains": lambda f: (
        f"{f['cases']} of {f['total']} predictor/teacher cases have a collapsed configuration at the "
        "infimum: L_RAFT does not tell a collapsed encoder from a working one (non-collapsed "
        "configurations with aligned pairs attain it too)"
    ),
}

FAMILY = Family(
    name="RAFT and collapse (abstract, Sections 1 and 4.2)",
    order=43,
    doc="docs/claims/collapse.md",
    wording=WORDING,
    claims=(
        Claim(
            "raft-no-collapse",
            title="no collapsed configuration attains the infimum of L_RAFT",
            source="Abstract ('the second term of RAFT explicitly prevents the representation "
            "collapse'); Section 1; Section 4.2 ('a conceptually non-collapsing algorithm')",
            statement="On the unit sphere, no collapsed configuration — the online encoder mapping "
            "every input to one point — attains the infimum of L_RAFT = α L_align(q∘f_θ) − β "
            "L_cross-model(q∘f_θ, f_ξ) (Definition 4.3, symmetrised as Algorithm 1), for no "
            "predictor, the linear predictor W and the MLP predictor, both at the EMA fixed point "
            "ξ = θ (infimum over the parameters with the teacher equal to the online encoder) and "
            "with an independent teacher (infimum over online, predictor and teacher), for all "
            "α, β > 0. worst = the smallest (L_RAFT − inf)/4β found over collapsed "
            "configurations (0: a collapsed configuration attains the infimum).",
            form="min over collapsed configurations of raft(q(c), q(c), t1, t2, α, β) − inf, with "
            "inf = −4β (0 at ξ = θ without a predictor); sympy certificate L_RAFT + 4β = sum of squares",
            check=check,
            reading="alternative",
            paper_text=Quote(
                "Abstract",
                r"The second term of RAFT explicitly prevents the representation collapse and thus makes RAFT a more conceptually reliable framework.",
            ),
        ),
    ),
)
