"""Proofs behind thm4.1-sym-exchangeable: Theorem 4.1 with the symmetrised BYOL', in expectation
over laws of (p̂1, p̂2, t̂1, t̂2) invariant under swapping the views.

The expectations are computed here from the statement with theory.objectives, over finite
exchangeable laws that hypothesis generates; the two identities of the certificate are
re-derived in sympy; the non-exchangeable control is replayed in exact rational arithmetic."""

from fractions import Fraction

import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st

from theory import objectives as obj
from theory import symbolic
from theory.symbolic import Gram, is_identity
from theory.thm41 import BOUNDS, NAMES, TOLERANCE

weights = st.floats(1e-3, 1e3)


@st.composite
def exchangeable_laws(draw):
    """1 to 3 atoms of four vectors in R^D, each atom with its swap, and integer weights (an
    atom and its swap weigh the same); α, β."""
    dim = draw(st.sampled_from([2, 3, 5]))
    coordinate = st.floats(-1, 1, allow_nan=False, allow_subnormal=False)
    atoms = []
    for _ in range(draw(st.integers(1, 3))):
        vectors = []
        for _ in NAMES:
            v = torch.tensor(draw(st.lists(coordinate, min_size=dim, max_size=dim)))
            if float(v.norm()) < 1e-6:
                v = torch.zeros(dim)
                v[0] = 1.0
            vectors.append(v[None])
        atoms.append((vectors, draw(st.integers(1, 5))))
    return atoms, draw(weights), draw(weights)


def _sides(p1, p2, t1, t2, a, b):
    """L_BYOL = ‖p̂1 − t̂2‖² and (1/α + 1/β)·L_BYOL' with the symmetrised cross-model term."""
    cross = 0.5 * (obj.cross_model(p1, t1) + obj.cross_model(p2, t2))
    return float(obj.byol(p1, t2)), float((1 / a + 1 / b) * (a * obj.alignment(p1, p2) + b * cross))


@given(exchangeable_laws())
def test_the_bound_holds_in_expectation_over_generated_exchangeable_laws(law):
    atoms, a, b = law
    expected_lhs = expected_rhs = 0.0
    for (p1, p2, t1, t2), weight in atoms:
        for case in ((p1, p2, t1, t2), (p2, p1, t2, t1)):
            lhs, rhs = _sides(*case, a, b)
            expected_lhs, expected_rhs = expected_lhs + weight * lhs, expected_rhs + weight * rhs
    assert expected_lhs <= expected_rhs * (1 + TOLERANCE)


def test_the_certificates_identities_hold_in_the_gram_entries():
    """The symmetrised RHS is swap invariant, and thm4.1-sym's LHS averaged with its swap is
    thm4.1-symsym's LHS, whose sum of squares then bounds it."""
    g = Gram(list(NAMES), unit=False)
    d = g.squared_distance
    a, b = sympy.symbols("alpha beta", positive=True)
    rhs = a * d("p1", "p2") + b * (d("p1", "t1") + d("p2", "t2")) / 2
    rhs_swapped = a * d("p2", "p1") + b * (d("p2", "t2") + d("p1", "t1")) / 2
    assert is_identity(rhs, rhs_swapped)
    p1, p2, t1, t2 = g.vectors()
    averaged = (
        BOUNDS["thm4.1-sym"].lhs(symbolic, p1, p2, t1, t2, a, b)
        + BOUNDS["thm4.1-sym"].lhs(symbolic, p2, p1, t2, t1, a, b)
    ) / 2
    assert is_identity(averaged, BOUNDS["thm4.1-symsym"].lhs(symbolic, p1, p2, t1, t2, a, b))


def test_the_claim_holds_with_its_certificate_and_no_law_above_one(verdict):
    v = verdict("thm4.1-sym-exchangeable")
    certificate = next(f for f in v["facts"] if f["kind"] == "exchangeable-certificate")
    assert (v["verdict"], v["counterexample"]) == ("holds", None) and v["worst"] <= 1 + TOLERANCE
    assert certificate["averaged"] and certificate["invariant"]


def test_the_control_exceeds_one_as_a_point_mass_and_not_once_symmetrised(verdict):
    """The point mass at thm4.1-sym's counterexample (α = β = 1), exactly."""
    control = next(
        f
        for f in verdict("thm4.1-sym-exchangeable")["facts"]
        if f["kind"] == "non-exchangeable-control"
    )
    p1, p2, t1, t2 = ([Fraction(c) for c in control["vectors"][n]] for n in NAMES)

    def sq(u, v):
        return sum((x - y) ** 2 for x, y in zip(u, v))

    def sides(p1, p2, t1, t2):
        return sq(p1, t2), 2 * (sq(p1, p2) + (sq(p1, t1) + sq(p2, t2)) / 2)

    (lhs, rhs), (lhs_s, rhs_s) = sides(p1, p2, t1, t2), sides(p2, p1, t2, t1)
    assert lhs / rhs > 1 >= (lhs + lhs_s) / (rhs + rhs_s)
    assert (str(lhs / rhs), str((lhs + lhs_s) / (rhs + rhs_s))) == (
        control["point"],
        control["symmetrised"],
    )
