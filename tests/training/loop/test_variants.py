"""Table 2 as data: every variant is there, means what the paper says, and computes its loss with
theory.objectives."""

import pytest
import torch

from theory import objectives
from theory.teacher import ema_update
from training.loop import models, variants

TABLE_2 = (
    "byol",
    "byol-np",
    "byol-lp",
    "byol-lpi",
    "tanbyol-lp",
    "byol'",
    "byol'-lp",
    "byol'-np",
    "tanbyol'-lp",
    "raft",
    "raft-np",
    "raft-lp",
    "tanraft-lp",
)


BEYOND_TABLE_2 = {
    "rand-baseline",
    "raft-minus-i",
    "supervised",
}  # Table 1's baseline; Theorem 5.1's mirror of BYOL'-NP; Figure 5(a)'s supervised baseline


def test_table_2_and_the_random_baseline_are_all_there():
    assert set(variants.VARIANTS) == set(TABLE_2) | BEYOND_TABLE_2
    for v in variants.VARIANTS.values():
        assert v.predictor in variants.PREDICTOR_KINDS and v.objective in variants.OBJECTIVES
        suffix = v.name.rsplit("-", 1)[-1] if "-" in v.name else "mlp"
        expected = {"np": "none", "lp": "linear", "lpi": "linear-identity-init", "mlp": "mlp"}
        if v.name not in BEYOND_TABLE_2:
            assert v.predictor == expected[suffix], v.name
            assert v.tangential == v.name.startswith("tan"), v.name
            assert v.weighted == (v.alpha == v.beta == 1.0), v.name  # (α, β) = (1, 1), Table 1


@pytest.mark.parametrize(
    "spelled, name",
    [
        ("byolp", "byol'"),
        ("BYOLp-LP", "byol'-lp"),
        ("tanbyolp-lp", "tanbyol'-lp"),
        ("byol'-np", "byol'-np"),
    ],
)
def test_byolp_spells_byol_prime(spelled, name):
    assert variants.resolve(spelled).name == name


def test_unknown_variant_lists_the_valid_ones():
    with pytest.raises(KeyError) as error:
        variants.resolve("simsiam")
    assert all(name in error.value.args[0] for name in variants.VARIANTS)


def _outputs(seed=0, n=6, d=5):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(4)]


@pytest.mark.parametrize("name", TABLE_2)
def test_each_variant_computes_its_papers_objective(name):
    v = variants.resolve(name)
    p1, p2, t1, t2 = _outputs()
    alpha, beta = 0.7, 1.9
    cross = objectives.symmetric_cross_model(p1, p2, t1, t2, tangential=v.tangential)
    expected = {
        "byol": 0.5
        * (
            objectives.byol(p1, t2, tangential=v.tangential)
            + objectives.byol(p2, t1, tangential=v.tangential)
        ),
        "byol_prime": alpha * objectives.alignment(p1, p2) + beta * cross,
        "raft": alpha * objectives.alignment(p1, p2) - beta * cross,
    }[v.objective]
    got = v.loss(p1, p2, t1, t2, alpha=alpha, beta=beta)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "plain, tan",
    [("byol-lp", "tanbyol-lp"), ("byol'-lp", "tanbyol'-lp"), ("raft-lp", "tanraft-lp")],
)
def test_tangential_form_leaves_the_gradient_in_the_raw_outputs_unchanged(plain, tan):
    """A computed fact the Tan* rows of Table 1 rest on: the objectives l2-normalise their
    inputs, and the normalisation's Jacobian (I − ẑẑᵀ)/‖p‖ already removes the radial part of the
    gradient, so the tangential form (Remark after Theorem 5.1) changes the loss value but not
    the gradient that reaches the network: Tan* variants train as their plain versions do."""
    p1, p2, t1, t2 = _outputs(1)
    results = {}
    for name in (plain, tan):
        q1, q2 = p1.clone().requires_grad_(), p2.clone().requires_grad_()
        loss = variants.resolve(name).loss(q1, q2, t1, t2, alpha=1.0, beta=1.0)
        loss.backward()
        results[name] = loss.detach(), q1.grad, q2.grad
    assert not torch.isclose(results[plain][0], results[tan][0])
    for g_plain, g_tan in zip(results[plain][1:], results[tan][1:]):
        torch.testing.assert_close(g_tan, g_plain, rtol=1e-12, atol=1e-15)  # float64 round-off


def test_rand_baseline_has_no_loss():
    with pytest.raises(ValueError, match="not trained"):
        variants.resolve("rand-baseline").loss(*_outputs())


def test_the_supervised_variant_trains_a_linear_head_on_the_labels_and_measures_with_q_equal_i():
    head, z = models.predictor("classifier", classes=7), torch.randn(5, 128)
    labels = torch.tensor([0, 1, 2, 3, 6])
    assert torch.equal(head(z), z) and head.logits(z).shape == (5, 7)
    expected = torch.nn.functional.cross_entropy(head.logits(z), labels)
    loss = variants.resolve("supervised").classification_loss(
        head.logits(z), head.logits(z), labels
    )
    torch.testing.assert_close(loss, expected)


def test_the_supervised_variant_has_no_self_supervised_loss():
    with pytest.raises(ValueError, match="labels"):
        variants.resolve("supervised").loss(*_outputs())


def test_predictor_kinds_have_appendix_b_shapes():
    mlp = models.predictor("mlp")
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Linear"]  # no batch norm
    assert (mlp[0].in_features, mlp[0].out_features, mlp[2].out_features) == (128, 512, 128)
    linear = models.predictor("linear")
    assert linear.bias is None and linear.weight.shape == (128, 128)
    assert not torch.equal(linear.weight, torch.eye(128))
    assert torch.equal(models.predictor("linear-identity-init").weight, torch.eye(128))
    assert isinstance(models.predictor("none"), torch.nn.Identity)
    projector = models.projector(512)
    assert [type(m).__name__ for m in projector] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]


def test_resnet18_is_torchvisions_without_classifier():
    network = models.Network()
    assert isinstance(network.encoder.fc, torch.nn.Identity)
    assert network.encoder.conv1.kernel_size == (7, 7) and network.encoder.conv1.stride == (2, 2)
    n_parameters = sum(p.numel() for p in network.encoder.parameters())
    assert n_parameters == 11_176_512  # torchvision resnet18 (11,689,512) minus fc (513,000)


def test_the_mean_teacher_follows_equation_5():
    online, tau = models.Network(width=2), 0.75
    target = models.mean_teacher(online)
    before = [p.clone() for p in target.parameters()]
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    ema_update(target.parameters(), online.parameters(), tau=tau)
    for xi, xi0, theta in zip(target.parameters(), before, online.parameters()):
        torch.testing.assert_close(xi, tau * xi0 + (1 - tau) * theta)
        assert not xi.requires_grad
