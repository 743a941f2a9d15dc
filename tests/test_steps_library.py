"""The steps family's building blocks: how a step's status follows from its checks, the
tallies, and the torch helpers that stand in for existing numpy ones."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from theory.appH.linear_model import moments as numpy_moments
from theory.steps import exact, linear, sphere
from theory.steps.records import Residuals
from theory.steps.status import CORRECTED, FAILS, HOLDS, UNDECIDED, Record, Step, Tally

STEP = Step("1", "a statement", correction="a correction")


def _tally(worst, sampled=10, searched=10):
    t = Tally()
    t.add("random", sampled, worst)
    t.add("search", searched, worst)
    return t


def test_a_step_holds_when_sampled_and_searched_within_tolerance():
    assert Record(STEP, 1e-12, written=_tally(1e-13)).status == HOLDS


def test_random_sampling_alone_never_makes_a_step_hold():
    assert Record(STEP, 1e-12, written=_tally(0.0, searched=0)).status == UNDECIDED


def test_a_violation_without_counterexample_is_undecided():
    assert Record(STEP, 1e-12, written=_tally(0.5)).status == UNDECIDED


def test_a_disproof_overrules_small_numbers():
    r = Record(STEP, 1e-12, written=_tally(0.0), proof={"identity": False}, counterexample={"x": 1})
    assert r.status == FAILS


def test_a_wrong_step_with_a_holding_correction_holds_after_correction():
    r = Record(STEP, 1e-12, written=_tally(0.5), counterexample={"x": 1}, corrected=_tally(1e-14))
    assert r.status == CORRECTED


def test_a_correction_that_fails_too_leaves_the_step_failing():
    r = Record(STEP, 1e-12, written=_tally(0.5), counterexample={"x": 1}, corrected=_tally(0.1))
    assert r.status == FAILS


def test_a_nan_violation_counts_as_infinite():
    t = Tally()
    t.add("random", 1, math.nan)
    seen = Residuals()
    seen.add("edge", {"k": math.nan})
    assert t.worst == math.inf and seen.worst["edge", "k"] == math.inf


def test_torch_moments_are_appH_moments(float64):
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    A, B = linear.moments(torch.tensor(x1), torch.tensor(x2))
    A_np, B_np, _ = numpy_moments(x1, x2)
    assert np.allclose(A.numpy(), A_np, rtol=1e-14) and np.allclose(B.numpy(), B_np, rtol=1e-14)


def test_batched_kron_is_torchs_kron(float64):
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 2, 2, generator=g), torch.randn(4, 3, 3, generator=g)
    assert all(torch.equal(linear.kron(a, b)[i], torch.kron(a[i], b[i])) for i in range(4))


def test_unit_jacobian_is_the_projection_over_the_norm(float64):
    u = torch.tensor([[3.0, 4.0, 0.0]])
    z = u / 5
    expected = (torch.eye(3) - z.T @ z) / 5
    assert torch.allclose(sphere.unit_jacobian(u)[0], expected, atol=1e-16)


@pytest.mark.parametrize(
    "q, root", [(Fraction(9, 4), Fraction(3, 2)), (Fraction(2), None), (Fraction(0), Fraction(0))]
)
def test_exact_square_roots(q, root):
    assert exact._sqrt(q) == root
