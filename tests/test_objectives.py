"""theory.objectives: the equations, their relations, and clear errors on degenerate input."""

import math

import pytest
import torch

from theory import objectives as obj


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(16, 8, generator=gen, dtype=torch.float64) for _ in range(4)]


def wang_isola_uniformity(x, t=2.0):
    """The reference definition (Wang & Isola, 2020), on l2-normalised x."""
    return torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log()


@pytest.mark.parametrize("t", [0.5, 2.0, 5.0])
def test_uniformity_equals_the_pdist_reference(batch, t):
    z = batch[0]
    reference = wang_isola_uniformity(z / z.norm(dim=1, keepdim=True), t)
    assert float(obj.uniformity(z, t)) == pytest.approx(float(reference), rel=1e-13)


def test_uniformity_stays_finite_where_the_reference_underflows():
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    assert float(wang_isola_uniformity(z, t=200.0)) == -math.inf
    assert float(obj.uniformity(z, t=200.0)) == pytest.approx(-800.0)


def test_alignment_and_byol_read_like_their_equations(batch):
    p1, p2, t1, t2 = batch
    u = lambda z: z / z.norm(dim=1, keepdim=True)  # noqa: E731
    assert float(obj.alignment(p1, p2)) == pytest.approx(
        float((u(p1) - u(p2)).pow(2).sum(1).mean())
    )
    assert float(obj.byol(p1, t2)) == pytest.approx(float((u(p1) - u(t2)).pow(2).sum(1).mean()))


def test_byol_prime_and_raft_differ_by_twice_the_cross_model(batch):
    p1, p2, t1, t2 = batch
    a, b = 0.7, 3.0
    difference = obj.byol_prime(p1, p2, t1, t2, a, b) - obj.raft(p1, p2, t1, t2, a, b)
    expected = 2 * b * obj.symmetric_cross_model(p1, p2, t1, t2)
    assert float(difference) == pytest.approx(float(expected), rel=1e-13)


def test_reduction_none_averages_to_mean(batch):
    p1, p2, t1, t2 = batch
    per_row = obj.byol_prime(p1, p2, t1, t2, 2.0, 0.5, reduction="none")
    assert per_row.shape == (16,)
    assert float(per_row.mean()) == pytest.approx(float(obj.byol_prime(p1, p2, t1, t2, 2.0, 0.5)))


def test_teacher_receives_no_gradient(batch):
    p1, p2, t1, t2 = (x.clone().requires_grad_(True) for x in batch)
    obj.raft(p1, p2, t1, t2).backward()
    assert t1.grad is None and t2.grad is None
    assert p1.grad is not None


def test_tangential_form_value_on_the_sphere(batch):
    """For unit vectors ‖z̄ − λz‖²/λ = (1 − λ²)/λ with λ = ⟨z, z̄⟩."""
    p, t = batch[0], batch[1]
    lam = (obj.unit(p) * obj.unit(t)).sum(1)
    values = obj.cross_model(p, t, tangential=True, reduction="none")
    assert torch.allclose(values, (1 - lam**2) / lam, rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda z, w: obj.alignment(z, w),
        lambda z, w: obj.uniformity(z),
        lambda z, w: obj.byol(z, w),
        lambda z, w: obj.byol(w, z),
        lambda z, w: obj.byol_prime(z, w, w, w),
        lambda z, w: obj.raft(w, w, w, z),
        lambda z, w: obj.cross_model(z, w, tangential=True),
        lambda z, w: obj.embedding_std(z),
        lambda z, w: obj.effective_rank(z),
    ],
)
def test_zero_vector_is_a_clear_error(call):
    z = torch.tensor([[1.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    w = torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="row 1"):
        call(z, w)


def test_non_finite_vector_is_a_clear_error():
    z = torch.tensor([[1.0, math.inf]], dtype=torch.float64)
    with pytest.raises(ValueError, match="non-finite"):
        obj.alignment(z, torch.ones(1, 2, dtype=torch.float64))


@pytest.mark.parametrize("sphere", [True, False])
def test_tangential_lambda_zero_is_a_clear_error(sphere):
    z = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    z_bar = torch.tensor([[0.0, 3.0], [1.0, 0.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="row 0.*λ"):
        obj.cross_model(z, z_bar, tangential=True, sphere=sphere)


@pytest.mark.parametrize("alpha, beta", [(0.0, 1.0), (1.0, -1.0), (math.nan, 1.0), (1.0, math.inf)])
def test_weights_must_be_positive_and_finite(batch, alpha, beta):
    with pytest.raises(ValueError, match="> 0"):
        obj.raft(*batch, alpha=alpha, beta=beta)
    with pytest.raises(ValueError, match="> 0"):
        obj.byol_prime(*batch, alpha=alpha, beta=beta)


def test_bad_reduction_and_bad_uniformity_arguments(batch):
    with pytest.raises(ValueError, match="reduction"):
        obj.alignment(batch[0], batch[1], reduction="sum")
    with pytest.raises(ValueError, match="at least 2"):
        obj.uniformity(batch[0][:1])
    with pytest.raises(ValueError, match="t must be > 0"):
        obj.uniformity(batch[0], t=0.0)


def test_validate_false_skips_the_check_and_the_loss_shows_it():
    """The hot path's contract: no check (no host sync), a non-finite loss to catch per epoch."""
    z = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    assert torch.isnan(obj.alignment(z, torch.ones(1, 2, dtype=torch.float64), validate=False))


def test_collapse_indicators():
    collapsed = torch.ones(32, 8, dtype=torch.float64)
    spread = torch.cat([torch.eye(8), -torch.eye(8)]).to(torch.float64)
    assert float(obj.embedding_std(collapsed)) == 0.0
    assert float(obj.effective_rank(collapsed)) == pytest.approx(1.0)
    assert float(obj.effective_rank(spread)) == pytest.approx(8.0)
    assert float(obj.embedding_std(spread)) == pytest.approx(math.sqrt(2 / 15))


# Shapes and dtypes: refused, never broadcast ---------------------------------------------------

CALLS = {  # each function on the batches p1, p2, t1, t2, and which of them it takes
    "alignment": (lambda b, **o: obj.alignment(b[0], b[1], **o), (0, 1)),
    "cross_model": (lambda b, **o: obj.cross_model(b[0], b[2], **o), (0, 2)),
    "byol": (lambda b, **o: obj.byol(b[0], b[3], **o), (0, 3)),
    "byol_symmetric": (lambda b, **o: obj.byol_symmetric(*b, **o), (0, 1, 2, 3)),
    "symmetric_cross_model": (lambda b, **o: obj.symmetric_cross_model(*b, **o), (0, 1, 2, 3)),
    "byol_prime": (lambda b, **o: obj.byol_prime(*b, **o), (0, 1, 2, 3)),
    "byol_prime_one_view": (
        lambda b, **o: obj.byol_prime_one_view(b[0], b[1], b[3], **o),
        (0, 1, 3),
    ),
    "raft": (lambda b, **o: obj.raft(*b, **o), (0, 1, 2, 3)),
}


@pytest.mark.parametrize(
    "name, position", [(name, i) for name, (_, taken) in CALLS.items() for i in taken]
)
@pytest.mark.parametrize("other", [(4, 1), (1, 8), (3, 8)])
def test_batches_of_different_shapes_are_refused_not_broadcast(name, position, other):
    """(4, 8) against (4, 1) broadcast to 7.25 for unit vectors; now any one argument of
    another shape is a ValueError, even with validate=False."""
    batches = [torch.randn(4, 8, dtype=torch.float64) for _ in range(4)]
    batches[position] = torch.randn(*other, dtype=torch.float64)
    call, _ = CALLS[name]
    with pytest.raises(ValueError, match="one shape"):
        call(batches, validate=False)


@pytest.mark.parametrize(
    "z, message",
    [
        (torch.zeros(0, 8), "at least 1 vector"),
        (torch.zeros(4, 0), r"shape \(N, D\)"),
        (torch.zeros(8), r"shape \(N, D\)"),
        (torch.zeros(2, 4, 8), r"shape \(N, D\)"),
        (torch.ones(4, 8, dtype=torch.complex128), "real floating point"),
        (torch.ones(4, 8, dtype=torch.int64), "real floating point"),
        ([[1.0, 2.0]], "must be a tensor"),
    ],
)
def test_what_is_not_a_real_floating_batch_is_refused(z, message):
    with pytest.raises(ValueError, match=message):
        obj.alignment(z, z, validate=False)
    with pytest.raises(ValueError, match=message):
        obj.raft(z, z, z, z, validate=False)


@pytest.mark.parametrize("metric", [obj.uniformity, obj.embedding_std, obj.effective_rank])
def test_one_vector_is_refused_where_pairs_are_needed(metric):
    with pytest.raises(ValueError, match="at least 2 vectors, got 1"):
        metric(torch.ones(1, 8, dtype=torch.float64), validate=False)


def test_the_shape_checks_read_no_tensor_values():
    """Meta tensors have shapes and no values: the hot path's call runs on them, so neither the
    checks nor the arithmetic read the device; a bad shape is still refused."""
    p1, p2, t1, t2 = (torch.empty(4, 8, device="meta") for _ in range(4))
    assert obj.raft(p1, p2, t1, t2, 1.0, 1.0, validate=False).device.type == "meta"
    assert obj.byol_symmetric(p1, p2, t1, t2, tangential=True, validate=False).shape == ()
    with pytest.raises(ValueError, match="one shape"):
        obj.raft(p1, p2, t1, torch.empty(4, 1, device="meta"), validate=False)


def test_per_row_weights_must_have_one_weight_per_row(batch):
    rows = batch[0].shape[0]
    assert obj.raft(*batch, torch.ones(rows), torch.ones(rows), reduction="none").shape == (rows,)
    with pytest.raises(ValueError, match=r"shape \(\) or \(16,\)"):
        obj.raft(*batch, torch.ones(rows, 1), 1.0, reduction="none")
    with pytest.raises(ValueError, match=r"shape \(\) or \(16,\)"):
        obj.byol_prime(*batch, 1.0, torch.ones(3))


@pytest.mark.parametrize("scale, fault", [(1e-200, "underflows to 0"), (1e200, "overflows")])
def test_unit_says_when_the_norm_of_a_finite_vector_under_or_overflows(scale, fault):
    z = torch.tensor([[1.0, 1.0], [scale, scale]], dtype=torch.float64)
    with pytest.raises(ValueError, match=f"row 1.*finite and non-zero.*{fault}"):
        obj.unit(z)
