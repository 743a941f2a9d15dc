"""Proofs behind tangent-remark: the gradient of the Remark's tangential form is the tangential
component of the plain squared distance's gradient, on the unit sphere."""

import pytest
import sympy
import torch
from hypothesis import given
from hypothesis import strategies as st

from theory import objectives as obj
from theory.search import DIMS
from theory.tangent import LAMBDA_FLOOR, TOLERANCE, gradients, symbolic_difference


@st.composite
def unit_pairs(draw):
    dim = draw(st.sampled_from(DIMS))
    coordinate = st.floats(-1, 1, allow_nan=False, allow_subnormal=False)
    z, z_bar = (torch.tensor(draw(st.lists(coordinate, min_size=dim, max_size=dim))) for _ in "ab")
    if float(z.norm()) < 1e-6 or float(z_bar.norm()) < 1e-6:
        z, z_bar = torch.eye(dim)[0], torch.eye(dim)[min(1, dim - 1)] + torch.eye(dim)[0]
    return obj.unit(z[None]), obj.unit(z_bar[None])


@given(unit_pairs())
def test_tangent_remark_on_generated_vectors(pair):
    z, z_bar = pair
    if abs(float((z * z_bar).sum())) < LAMBDA_FLOOR:
        z_bar = obj.unit(z_bar + z)
    g_form, projected = gradients(z, z_bar)
    assert float((g_form - projected).norm()) <= TOLERANCE * 2 * float(z_bar.norm())


@given(unit_pairs(), st.floats(1.5, 10))
def test_tangent_remark_needs_the_unit_sphere(pair, scale):
    """Off the sphere (‖z‖ ≠ 1) the two gradients differ by 2(‖z‖² − 1)z, as the sympy
    derivation says: the Remark's hypothesis 'both normalized' matters."""
    z, z_bar = pair
    z = z * scale
    if abs(float((z * z_bar).sum())) < LAMBDA_FLOOR:
        z_bar = obj.unit(z_bar + z)
    g_form, projected = gradients(z, z_bar)
    expected = 2 * (z.pow(2).sum() - 1) * z
    assert torch.allclose(g_form - projected, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 3, 4])
def test_tangent_remark_symbolic(dim):
    assert symbolic_difference(dim) == sympy.zeros(dim, 1)


def test_tangential_form_refuses_lambda_zero():
    z, z_bar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    with pytest.raises(ValueError, match="λ"):
        obj.cross_model(z, z_bar, tangential=True)


def test_tangent_remark_holds_with_no_counterexample(verdict):
    v = verdict("tangent-remark")
    assert (v["verdict"], v["counterexample"]) == ("holds", None)
    assert v["worst"] <= TOLERANCE
