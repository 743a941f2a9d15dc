"""Proofs behind Section 2.2's fixed-point claims (theory.fixed_point): byol-np-fixed-point holds
(at ξ = θ the symmetrised BYOL loss without a predictor has the gradient of ½·L_align) and
byol-fixed-point fails (with a predictor it does not); counterexamples replay."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import fixed_point
from theory import objectives as obj
from theory import thm51 as C
from theory.thm51 import relations


@st.composite
def fixed_point_setups(draw, claim_id: str, steps: int = 15):
    conditions = fixed_point.CONDITIONS[claim_id]
    encoder = draw(st.sampled_from(["mlp", "mlp-bn", "cnn-bn"]))
    return C.Setup(
        pair=conditions.pairs[0],
        tangential=draw(st.sampled_from(conditions.tangential)),
        encoder=encoder,
        inputs=4 if encoder == "cnn-bn" else draw(st.integers(2, 6)),
        width=draw(st.sampled_from([4, 8])),
        dim=draw(st.integers(2, 6)),
        predictor=draw(st.sampled_from(conditions.predictors)),
        lr=math.exp(draw(st.floats(math.log(1e-2), math.log(3.0)))),
        tau=0.0,
        batch=draw(st.sampled_from([2, 4, 8])),
        steps=steps,
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def test_the_loss_difference_has_no_gradient_where_the_teacher_is_the_online_network():
    setup = C.Setup(pair="byol-sym/half-align", predictor="none", tangential=False)
    gradients = relations.online_gradients(setup)
    assert all(
        c == 0
        for p in gradients
        for c in relations.at_teacher_equals_online(setup, gradients[p]).values()
    )
    assert any(c != 0 for c in gradients["p1"].values())  # off the fixed point it does


def test_byol_np_gradient_is_half_the_alignment_gradient_by_autograd():
    g = torch.Generator().manual_seed(0)
    z1, z2 = (
        torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2)
    )
    byol = obj.byol_symmetric(
        z1, z2, z1.detach(), z2.detach()
    )  # ξ = θ: the teacher's outputs are the online ones
    half_align = 0.5 * obj.alignment(z1, z2)
    first = torch.autograd.grad(byol, (z1, z2))
    second = torch.autograd.grad(half_align, (z1, z2))
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)


@settings(max_examples=3)
@given(fixed_point_setups("byol-np-fixed-point"))
def test_byol_np_with_tau_0_follows_half_the_alignment(setup):
    outcome = C.evaluate(setup)
    assert outcome.assessment.separation is None and outcome.assessment.unresolved is None, setup


@settings(max_examples=4)
@given(fixed_point_setups("byol-fixed-point", steps=2))
def test_with_a_predictor_the_first_step_already_differs(setup):
    gap, judgement = C.judged_point(setup, dict(teacher_noise=0.0))
    assert judgement == "breaks", (setup, gap)


def test_byol_np_fixed_point_holds(verdict):
    v = verdict("byol-np-fixed-point")
    assert (v["verdict"], v["counterexample"]) == ("holds", None) and v["worst"] <= C.FACTOR


def test_byol_fixed_point_counterexample_replays(verdict):
    v = verdict("byol-fixed-point")
    assert v["verdict"] == "fails"
    example = v["counterexample"]
    trace = C.replay(example)
    k = example["step"]
    assert example["setup"]["tau"] == 0.0 and example["setup"]["predictor"] in ("linear", "mlp")
    assert trace.deviation[k - 1] == pytest.approx(example["deviation"], rel=1e-12)
    assert trace.deviation[k - 1] > C.threshold(trace.envelope[k - 1])
    assert C.scales_like_drift(example["deviation"], example["float32_deviation"]) is True
