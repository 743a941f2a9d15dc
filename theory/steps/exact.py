"""Exact counterexamples to the steps of Appendix G that are wrong as written (eqs. 31–32,
39–40, 44–45), and their replay in float64 by autograd.

The network is the smallest one: a linear encoder f_θ(x) = θx + b with D = 2 inputs and
outputs, θ = I, b = 0, the predictor W = s·I (s = 1, 2); views and teacher outputs are ±e1,
±e2. Everything is rational there (‖W f_θ(x)‖ = s), so the paper's expression and the
tangential gradient are computed exactly with fractions, from the chain rule (eq. 29, proven in
``calculus``) and the Jacobian of the l2-normalisation, (I − zzᵀ)/‖u‖ (proven there too).
Candidates are tried simplest first (s = 1 before 2; then views, teacher, parameter in order);
the first whose two values differ is the counterexample. ``replay`` recomputes it in float64
with ``theory.steps.network`` (autograd through ``theory.objectives``)."""

import math
from fractions import Fraction
from itertools import product

import torch

from theory.steps import network
from theory.thm51.setups import build_encoder

DIM = 2
AXES = ((1, 0), (0, 1), (-1, 0), (0, -1))
# equation -> (side: +1 BYOL', −1 RAFT; "align" or "cross"; 0: ∂/∂θ, 1: ∂/∂W)
WRONG = {
    "31": (1, "align", 0),
    "32": (-1, "align", 0),
    "39": (1, "cross", 0),
    "40": (-1, "cross", 0),
    "44": (1, "align", 1),
    "45": (-1, "align", 1),
}
PARAMETERS = [("weight", i, j) for i in range(DIM) for j in range(DIM)] + [
    ("bias", i, None) for i in range(DIM)
]
PREDICTOR = [("W", i, j) for i in range(DIM) for j in range(DIM)]


def _dot(a, b) -> Fraction:
    return sum((x * y for x, y in zip(a, b)), Fraction(0))


def _sub(a, b):
    return [x - y for x, y in zip(a, b)]


def _scale(c, a):
    return [c * x for x in a]


def _tangential(v, z):
    return _sub(v, _scale(_dot(v, z), z))


def _sqrt(q: Fraction) -> Fraction | None:
    n, d = q.numerator, q.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    return Fraction(rn, rd) if rn * rn == n and rd * rd == d else None


def _unit(u):
    norm = _sqrt(_dot(u, u))
    return None if not norm else (_scale(1 / norm, u), norm)


def _du(parameter, W, x, f):
    """∂u/∂p for u = W(θx + b): W e_i x_j (θ_ij), W e_i (b_i), e_i f_j (W_ij)."""
    kind, i, j = parameter
    if kind == "W":
        return [f[j] if k == i else Fraction(0) for k in range(DIM)]
    column = [W[k][i] for k in range(DIM)]
    return _scale(x[j], column) if kind == "weight" else column


def _values(equation: str, W, x1, x2, t2, parameter) -> dict | None:
    """The written expression, the tangential gradient and the corrected expression, exactly."""
    sign, kind, _ = WRONG[equation]
    W = [[sign * w for w in row] for row in W]
    us = [[_dot(row, x) for row in W] for x in (x1, x2)]  # θ = I, b = 0: f = x
    units, z_bar = [_unit(u) for u in us], _unit(t2)
    if None in units or z_bar is None:
        return None
    (z1, n1), (z2, n2), (z_bar, _) = *units, z_bar
    du1, du2 = (_du(parameter, W, x, x) for x in (x1, x2))
    dz1, dz2 = (_scale(1 / n, _tangential(du, z)) for du, z, n in ((du1, z1, n1), (du2, z2, n2)))
    if kind == "align":
        w = _sub(z1, z2)
        written = 2 * _dot(_tangential(w, z2), _sub(dz1, dz2))
        true = 2 * _dot(w, _sub(dz1, dz2))
        corrected = 2 * _dot(_tangential(w, z1), dz1) - 2 * _dot(_tangential(w, z2), dz2)
    else:
        coefficient = _scale(-2 * sign, _tangential(_sub(z_bar, z2), z2))
        written, corrected = _dot(coefficient, du2), _dot(coefficient, dz2)
        true = sign * 2 * _dot(_sub(z2, z_bar), dz2)
    return {"as_written": written, "tangential_gradient": true, "corrected": corrected}


def simplest(equation: str) -> dict | None:
    """The simplest exact counterexample to a wrong step (see the module's docstring)."""
    parameters = PARAMETERS if WRONG[equation][2] == 0 else PREDICTOR
    axes = [[Fraction(c) for c in a] for a in AXES]
    for s, x1, x2, t2, parameter in product((1, 2), axes, axes, axes, parameters):
        W = [[Fraction(s) if i == j else Fraction(0) for j in range(DIM)] for i in range(DIM)]
        values = _values(equation, W, x1, x2, t2, parameter)
        if values and values["as_written"] != values["tangential_gradient"]:
            return _record(equation, W, x1, x2, t2, parameter, values)
    return None


def _text(v) -> str:
    """Fractions, or lists of them, as "[[1, 0], [0, 1]]"."""
    return "[" + ", ".join(_text(x) for x in v) + "]" if isinstance(v, list) else str(v)


def _record(equation, W, x1, x2, t2, parameter, values) -> dict:
    kind, i, j = parameter
    floats = lambda v: [float(c) for c in v]  # noqa: E731
    return {
        "equation": equation,
        "encoder": "linear",
        "inputs": DIM,
        "dim": DIM,
        "weight": [[1.0, 0.0], [0.0, 1.0]],
        "bias": [0.0, 0.0],
        "W": [floats(row) for row in W],
        "x1": floats(x1),
        "x2": floats(x2),
        "t2": floats(t2),
        "parameter": f"{kind}[{i}]" + (f"[{j}]" if j is not None else ""),
        "exact": {
            "W": _text(W),
            "x1": _text(x1),
            "x2": _text(x2),
            "t2": _text(t2),
            **{k: str(v) for k, v in values.items()},
        },
    }


def _index(example: dict) -> tuple[int, int]:
    """(0 for θ, 1 for W; the flat index) of the example's parameter."""
    text = example["parameter"].replace("]", "").split("[")
    kind, idx = text[0], [int(t) for t in text[1:]]
    if kind == "W":
        return 1, idx[0] * DIM + idx[1]
    return 0, (idx[0] * DIM + idx[1]) if kind == "weight" else DIM * DIM + idx[0]


def point(example: dict) -> network.Point:
    encoder = build_encoder(example["encoder"], example["inputs"], network.WIDTH, example["dim"])
    with torch.no_grad():
        encoder.weight.copy_(torch.tensor(example["weight"]))
        encoder.bias.copy_(torch.tensor(example["bias"]))
    tensor = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    return network.Point(
        encoder,
        torch.tensor(example["W"], dtype=torch.float64),
        tensor(example["x1"]),
        tensor(example["x2"]),
        tensor(example["t2"]),
        name="counterexample",
    )


def replay(example: dict) -> dict[str, float]:
    """The counterexample in float64: the paper's expression, autograd's gradient (through
    ``theory.objectives``) and the corrected expression, for the example's parameter."""
    sign, kind, wrt = WRONG[example["equation"]]
    s = network.side(point(example), sign)
    forms = (network.align_forms if kind == "align" else network.cross_forms)(s, wrt)
    _, index = _index(example)
    (written, reference, _), (corrected, _, _) = forms["written"], forms["corrected"]
    return {
        "as_written": float(written[index]),
        "autograd": float(reference[index]),
        "corrected": float(corrected[index]),
    }
