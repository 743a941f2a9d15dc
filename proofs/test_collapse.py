"""Proofs behind raft-no-collapse (theory.collapse): the infimum of L_RAFT on the sphere and
the collapsed configurations that attain it, replayed with theory.objectives."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from theory import collapse
from theory import objectives as obj


def test_the_infimum_certificates_are_identities():
    assert collapse.certificates() == {"infimum": True, "fixed-point": True}


@given(st.integers(1, 16), st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), st.integers(0, 2**31 - 1))
def test_no_configuration_goes_below_minus_four_beta(dim, alpha, beta, seed):
    p1, p2, t1, t2 = torch.randn(
        4, 3, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    assert float(obj.raft(p1, p2, t1, t2, alpha, beta)) >= -4 * beta * (1 + 1e-12)


@pytest.mark.parametrize(
    "case", collapse.constructions(dim=3), ids=lambda c: f"{c['predictor']}-{c['teacher']}"
)
def test_each_collapsed_construction_attains_the_infimum(case):
    assert case["loss"] == case["infimum"]


def test_raft_no_collapse_fails_with_a_one_dimensional_counterexample(verdict):
    v = verdict("raft-no-collapse")
    assert v["verdict"] == "fails" and v["worst"] == 0.0
    example = v["counterexample"]
    assert (example["predictor"], example["teacher"], example["dim"]) == (
        "linear",
        "fixed point",
        1,
    )
    e1 = torch.ones(1, 1, dtype=torch.float64)
    prediction = -e1  # W = −I applied to the collapsed point e1
    assert float(obj.raft(prediction, prediction, e1, e1, 1.0, 1.0)) == example["loss"] == -4.0
    assert len(example["all_cases"]) == 6
