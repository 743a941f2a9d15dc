"""theory.symbolic's objectives are theory.objectives per sample: each sympy form, evaluated
exactly on the float vectors, equals its torch twin."""

from fractions import Fraction

import pytest
import torch

from theory import objectives as obj
from theory import symbolic as sym

NAMES = ["p1", "p2", "t1", "t2"]
ALPHA, BETA = 0.3, 7.0

# Each objective once, as a function of a namespace (theory.objectives or theory.symbolic) and
# the vectors (p1, p2, t1, t2).
FORMS = {
    "alignment": lambda o, v, **k: o.alignment(v[0], v[1], **k),
    "cross_model": lambda o, v, **k: o.cross_model(v[0], v[2], **k),
    "byol": lambda o, v, **k: o.byol(v[0], v[3], **k),
    "byol_symmetric": lambda o, v, **k: o.byol_symmetric(*v, **k),
    "byol_prime_one_view": lambda o, v, **k: o.byol_prime_one_view(
        v[0], v[1], v[3], ALPHA, BETA, **k
    ),
    "byol_prime": lambda o, v, **k: o.byol_prime(*v, ALPHA, BETA, **k),
    "raft": lambda o, v, **k: o.raft(*v, ALPHA, BETA, **k),
}
TANGENTIAL = ["cross_model", "byol", "byol_symmetric", "byol_prime", "raft"]


def _sides(name: str, sphere: bool, **options) -> tuple[float, float]:
    """(torch, exact sympy) values of one objective on four random vectors of R^5."""
    v = torch.randn(4, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    if sphere:
        v = obj.unit(v)
    form = FORMS[name]
    value = form(obj, [x[None] for x in v], sphere=sphere, reduction="none", **options)
    g = sym.Gram(NAMES, unit=sphere)
    exact = g.substitute(
        form(sym, g.vectors(), **options),
        {n: [Fraction(float(c)) for c in x] for n, x in zip(NAMES, v)},
    )
    return float(value[0]), float(exact)


@pytest.mark.parametrize("name", FORMS)
def test_the_sympy_form_is_the_objective_on_raw_vectors(name):
    torch_value, exact = _sides(name, sphere=False)
    assert torch_value == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("name", FORMS)
def test_the_sympy_form_over_a_unit_gram_is_the_objective_on_the_sphere(name):
    torch_value, exact = _sides(name, sphere=True)
    assert torch_value == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("name", TANGENTIAL)
def test_the_tangential_sympy_form_is_the_objective_with_lambda_held(name):
    torch_value, exact = _sides(name, sphere=False, tangential=True)
    assert torch_value == pytest.approx(exact, rel=1e-12)


def test_held_inner_products_carry_no_gradient():
    g = sym.Gram(NAMES, unit=False)
    p, t = g.vector("p1"), g.vector("t1")
    tangential = sym.cross_model(p, t, tangential=True)
    # with λ held, d/d⟨p, t⟩ of ‖t − λp‖²/λ is −2: the plain term's, not the value's own
    assert tangential.diff(g("p1", "t1")) == -2
    assert g.release(g.held(p @ t)) == p @ t


def test_fraction_is_exact_for_floats_and_sympy_rationals():
    assert sym.fraction(0.1) == Fraction(3602879701896397, 36028797018963968)
    assert sym.fraction(sym.rational(Fraction(2, 3))) == Fraction(2, 3)
