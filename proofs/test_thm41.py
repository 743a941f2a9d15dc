"""Proofs behind the Theorem 4.1 family: thm4.1, thm4.1-sym, thm4.1-symsym.

Each side is computed here from the statement with theory.objectives (not through the
checker's own composition), on vectors that hypothesis generates; the symbolic certificates are
checked with sympy; the counterexample the checker reports is replayed in float64 and in exact
rational arithmetic."""

from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from theory import objectives as obj
from theory.search import DIMS
from theory.symbolic import ALPHA, BETA, Gram, is_identity
from theory.thm41 import BOUNDS, NAMES, TOLERANCE

EXPECTED = {"thm4.1": "holds", "thm4.1-sym": "fails", "thm4.1-symsym": "holds"}

weights = st.floats(1e-3, 1e3)


@st.composite
def configurations(draw):
    """Four vectors in R^D (D among the checkers' dimensions; normalised inside the
    objectives), α, β."""
    dim = draw(st.sampled_from(DIMS))
    coordinate = st.floats(-1, 1, allow_nan=False, allow_subnormal=False)
    vectors = []
    for _ in NAMES:
        v = torch.tensor(draw(st.lists(coordinate, min_size=dim, max_size=dim)))
        if float(v.norm()) < 1e-6:
            v = torch.zeros(dim)
            v[draw(st.integers(0, dim - 1))] = 1.0
        vectors.append(v[None])
    return vectors, draw(weights), draw(weights)


def thm41_sides(p1, p2, t1, t2, a, b):
    """Theorem 4.1 as eq. 8 states it, cross-model term on the second view."""
    lhs = obj.byol(p1, t2)
    rhs = (1 / a + 1 / b) * (a * obj.alignment(p1, p2) + b * obj.cross_model(p2, t2))
    return float(lhs), float(rhs)


def symmetrised_byol_prime(p1, p2, t1, t2, a, b):
    cross = 0.5 * (obj.cross_model(p1, t1) + obj.cross_model(p2, t2))
    return (1 / a + 1 / b) * (a * obj.alignment(p1, p2) + b * cross)


@given(configurations())
def test_thm41_holds_on_generated_vectors(case):
    (p1, p2, t1, t2), a, b = case
    lhs, rhs = thm41_sides(p1, p2, t1, t2, a, b)
    assert lhs <= rhs * (1 + TOLERANCE)


@given(configurations())
def test_thm41_symsym_holds_on_generated_vectors(case):
    (p1, p2, t1, t2), a, b = case
    lhs = float(0.5 * (obj.byol(p1, t2) + obj.byol(p2, t1)))
    assert lhs <= float(symmetrised_byol_prime(p1, p2, t1, t2, a, b)) * (1 + TOLERANCE)


@given(configurations())
def test_thm41_sym_holds_with_the_repaired_constant(case):
    """L_BYOL ≤ (1/α + 2/β)·L_BYOL' (symmetrised), the constant the checker's repair proves."""
    (p1, p2, t1, t2), a, b = case
    lhs = float(obj.byol(p1, t2))
    repaired = (1 / a + 2 / b) / (1 / a + 1 / b) * symmetrised_byol_prime(p1, p2, t1, t2, a, b)
    assert lhs <= float(repaired) * (1 + TOLERANCE)


@pytest.mark.parametrize("claim_id", ["thm4.1", "thm4.1-symsym"])
def test_certificate_is_the_exact_slack(claim_id):
    bound = BOUNDS[claim_id]
    g = Gram(list(NAMES), unit=False)
    lhs, rhs = bound.gram_sides(g)
    assert is_identity(rhs - lhs, bound.certificate(g, ALPHA, BETA))


def test_thm41_sym_repair_certificate_is_the_exact_slack():
    bound = BOUNDS["thm4.1-sym"]
    g = Gram(list(NAMES), unit=False)
    lhs, rhs = bound.gram_sides(g, rhs=bound.repair.rhs)
    assert is_identity(rhs - lhs, bound.repair.certificate(g, ALPHA, BETA))


@pytest.mark.parametrize("claim_id", list(BOUNDS))
def test_thm41_gram_sides_agree_with_objectives(claim_id):
    """The sympy sides the checkers prove things about are the objectives' sides."""
    bound = BOUNDS[claim_id]
    v = obj.unit(torch.randn(4, 5, generator=torch.Generator().manual_seed(1)))
    a, b = 0.3, 7.0
    torch_sides = [
        float(side[0])
        for side in bound.torch_sides(*(x[None] for x in v), torch.tensor([a]), torch.tensor([b]))
    ]
    g = Gram(list(NAMES), unit=False)
    vectors = {n: [Fraction(float(c)) for c in x] for n, x in zip(NAMES, v)}
    exact = [
        float(g.substitute(side, vectors)) for side in bound.gram_sides(g, Fraction(a), Fraction(b))
    ]
    assert torch_sides == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("claim_id", [c for c, v in EXPECTED.items() if v == "holds"])
def test_holding_bound_has_no_counterexample(verdict, claim_id):
    v = verdict(claim_id)
    assert (v["verdict"], v["counterexample"]) == ("holds", None)
    assert v["worst"] <= 1 + TOLERANCE


@pytest.mark.parametrize("claim_id", [c for c, v in EXPECTED.items() if v == "fails"])
def test_reported_counterexample_replays(verdict, claim_id):
    """Every counterexample a Theorem 4.1 checker reports violates its bound: exactly, with
    rational unit vectors, and in float64 through theory.objectives."""
    assert verdict(claim_id)["verdict"] == "fails"
    example = verdict(claim_id)["counterexample"]
    exact = {n: [Fraction(c) for c in example["exact"][n]] for n in NAMES}
    for name, x in exact.items():
        assert sum(c * c for c in x) == 1, f"{name} is not exactly a unit vector"
    a, b = Fraction(example["exact"]["alpha"]), Fraction(example["exact"]["beta"])

    def sq(u, v):
        return sum((x - y) ** 2 for x, y in zip(u, v))

    p1, p2, t1, t2 = (exact[n] for n in NAMES)
    lhs = {"thm4.1-symsym": (sq(p1, t2) + sq(p2, t1)) / 2}.get(claim_id, sq(p1, t2))
    cross = {"thm4.1": sq(p2, t2)}.get(claim_id, (sq(p1, t1) + sq(p2, t2)) / 2)
    rhs = (1 / a + 1 / b) * (a * sq(p1, p2) + b * cross)
    assert lhs > rhs
    assert (str(lhs), str(rhs)) == (example["exact"]["lhs"], example["exact"]["rhs"])

    floats = [torch.tensor([example[n]]) for n in NAMES]
    float_lhs, float_rhs = (
        float(side[0])
        for side in BOUNDS[claim_id].torch_sides(*floats, example["alpha"], example["beta"])
    )
    assert float_lhs > float_rhs * (1 + TOLERANCE)
