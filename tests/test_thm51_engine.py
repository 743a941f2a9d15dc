"""The trajectory-correspondence engine of theory.thm51: EMA, BatchNorm, controls,
probes, the decision rule, and clear errors on bad input."""

import copy
import math

import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from theory import claims
from theory import objectives as obj
from theory import thm51 as C
from theory.thm51 import rule, search

pytestmark = pytest.mark.usefixtures("one_thread")


def _views(shape=(3,), batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    while True:
        x = torch.randn(batch, *shape, generator=g, dtype=torch.float64)
        yield x + 0.1 * torch.randn(x.shape, generator=g, dtype=torch.float64), x


def _byol_prime(p1, p2, t1, t2):
    return obj.byol_prime(p1, p2, t1, t2, validate=False)


def _raft(p1, p2, t1, t2):
    return obj.raft(p1, p2, t1, t2, validate=False)


def _mlp_bn(inputs=3, dim=4):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(inputs, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, dim)
    ).double()


def _lockstep(encoder=None, predictor=None, steps=3, **options):
    encoder = encoder if encoder is not None else _mlp_bn()
    predictor = predictor if predictor is not None else nn.Linear(4, 4, bias=False).double()
    options = {
        "make_optimizer": C.optimizer("sgd", lr=0.1),
        "tau": 0.9,
        "steps": steps,
        "views": _views(),
        **options,
    }
    return C.lockstep(encoder, predictor, _byol_prime, _raft, **options)


def test_ema_follows_eq5():
    encoder = _mlp_bn()
    learner = C.Learner(copy.deepcopy(encoder), None, _byol_prime, C.optimizer("sgd", lr=0.5), 0.9)
    for xi, theta in zip(learner.teacher.parameters(), encoder.parameters()):
        assert torch.equal(xi, theta)  # ξ0 = θ0
    xi0 = [p.detach().clone() for p in learner.teacher.parameters()]
    learner.backward(*next(_views()))
    learner.update()
    online = list(learner.encoder.parameters())
    # (the bias feeding BatchNorm gets no gradient: BatchNorm removes its effect)
    assert (
        sum(not torch.equal(theta, before) for theta, before in zip(online, xi0)) == len(online) - 1
    )
    for xi, before, theta in zip(learner.teacher.parameters(), xi0, online):
        torch.testing.assert_close(xi, 0.9 * before + 0.1 * theta, rtol=1e-15, atol=0)


def test_tau_zero_makes_the_teacher_the_online_encoder():
    learner = C.Learner(_mlp_bn(), None, _byol_prime, C.optimizer("sgd", lr=0.5), 0.0)
    learner.backward(*next(_views()))
    learner.update()
    for xi, theta in zip(learner.teacher.parameters(), learner.encoder.parameters()):
        assert torch.equal(xi, theta)


def test_batchnorm_statistics_are_part_of_the_compared_state():
    learner = C.Learner(_mlp_bn(), None, _byol_prime, C.optimizer("sgd", lr=0.5), 0.9)
    theta, predictor = learner.state()
    assert len(theta) == len(list(learner.encoder.parameters())) + 2  # running mean and var
    assert predictor == []
    mean = learner.encoder[1].running_mean.clone()
    learner.backward(*next(_views()))
    learner.update()
    assert not torch.equal(learner.state()[0][2], mean)  # the live running mean moved


def test_identical_objectives_give_bitwise_identical_trajectories():
    trace = C.lockstep(
        _mlp_bn(),
        nn.Linear(4, 4).double(),
        _raft,
        _raft,
        make_optimizer=C.optimizer("adam", lr=1e-2),
        tau=0.99,
        steps=5,
        views=_views(),
        predictor_map=C.identity_map,
    )
    assert trace.steps == 5 and trace.bitwise_identical


def test_mirrored_pair_stays_within_round_off_and_its_losses_differ_by_4beta():
    trace = _lockstep(steps=10, probe_gradients=True)
    assert all(d <= C.threshold(e) for d, e in zip(trace.deviation, trace.envelope))
    assert all(abs(b - a + 4.0) < 1e-12 for a, b in zip(trace.first_loss, trace.second_loss))
    assert len(trace.gradients) == 10
    assert all(g.ratio <= C.FACTOR for g in trace.gradients)


def test_a_different_objective_separates_at_once():
    trace = C.lockstep(
        _mlp_bn(),
        nn.Linear(4, 4, bias=False).double(),
        _byol_prime,
        _raft,
        make_optimizer=C.optimizer("sgd", lr=0.1),
        tau=0.9,
        steps=2,
        views=_views(),
        predictor_map=C.identity_map,
    )
    assert trace.deviation[0] > 1e-4 > 100 * trace.envelope[0]


def test_a_resnet_encoder_is_handled():
    torch.manual_seed(1)
    encoder = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        BasicBlock(4, 4),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 4),
    ).double()
    before = copy.deepcopy(encoder.state_dict())
    trace = C.lockstep(
        encoder,
        nn.Linear(4, 4, bias=False).double(),
        _byol_prime,
        _raft,
        make_optimizer=C.optimizer("sgd", lr=0.1, momentum=0.9),
        tau=0.996,
        steps=3,
        views=_views(shape=(3, 5, 5)),
    )
    assert trace.steps == 3
    assert all(d <= C.threshold(e) for d, e in zip(trace.deviation, trace.envelope))
    for name, tensor in encoder.state_dict().items():
        assert torch.equal(tensor, before[name])  # the engine trains copies only


def test_controls_of_both_kinds_on_both_sides():
    trace = _lockstep(controls=("ulp", "reorder"))
    assert sorted(trace.controls) == ["first-reorder", "first-ulp", "second-reorder", "second-ulp"]
    assert all(0 < max(v) < 1e-12 for k, v in trace.controls.items() if k.endswith("ulp"))


def test_stop_ends_the_run():
    trace = _lockstep(steps=10, stop=lambda k, deviation, envelope: k == 4)
    assert trace.steps == 4


def test_float32_run():
    trace = _lockstep(dtype=torch.float32, controls=())
    assert trace.steps == 3 and trace.controls == {} and trace.envelope == [0.0] * 3


def test_negate_output_layer():
    assert C.negate_output_layer(nn.Linear(3, 3, bias=False)) == {"weight": -1.0}
    mlp = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 3))
    assert C.negate_output_layer(mlp) == {
        "0.weight": 1.0,
        "0.bias": 1.0,
        "2.weight": -1.0,
        "2.bias": -1.0,
    }
    z = torch.randn(7, 3)
    with torch.no_grad():
        assert torch.equal(C.mirrored(mlp, C.negate_output_layer(mlp))(z), -mlp(z))


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(make_optimizer=None), ValueError, "unknown optimiser 'lbfgs'"),
        (dict(tau=1.0), ValueError, r"τ must lie in \[0, 1\)"),
        (dict(tau=-0.1), ValueError, r"τ must lie in \[0, 1\)"),
        (dict(tau=True), ValueError, r"τ must lie in \[0, 1\)"),
        (dict(steps=0), ValueError, "steps must be a positive integer"),
        (dict(steps=2.5), ValueError, "steps must be a positive integer"),
        (dict(controls=("twice",)), ValueError, "unknown control 'twice'"),
        (
            dict(views=iter([(torch.ones(4, 3), torch.ones(4, 3))]), steps=2),
            ValueError,
            "stream of views ended after 1 of 2 steps",
        ),
        (dict(make_optimizer=lambda params: "sgd"), TypeError, "not a torch.optim.Optimizer"),
    ],
)
def test_bad_input_gets_a_clear_error(options, error, match):
    if options.get("make_optimizer", 0) is None:
        with pytest.raises(error, match=match):
            C.optimizer("lbfgs", lr=0.1)
        return
    with pytest.raises(error, match=match):
        _lockstep(**options)


@pytest.mark.parametrize(
    "fields, match",
    [
        (dict(encoder="resnet"), "unknown encoder 'resnet'"),
        (dict(predictor="deep"), "unknown predictor 'deep'"),
        (dict(pair="byol/raft"), "unknown pair 'byol/raft'"),
        (dict(optimizer="lamb"), "unknown optimizer 'lamb'"),
        (dict(optimizer="adam", momentum=0.9), "momentum applies to sgd only"),
    ],
)
def test_bad_setup_gets_a_clear_error(fields, match):
    with pytest.raises(ValueError, match=match):
        C.Setup(**fields)


def test_predictor_map_needs_a_linear_layer():
    with pytest.raises(ValueError, match="needs a predictor with an nn.Linear"):
        C.negate_output_layer(nn.ReLU())


def test_setup_round_trips_through_a_dict():
    from dataclasses import asdict

    setup = C.Setup(encoder="cnn-bn", inputs=4, predictor="mlp", tau=0.9, alpha=0.5, steps=10)
    assert C.Setup(**asdict(setup)) == setup
    first, second = C.run(setup).deviation, C.run(setup).deviation
    assert first == second  # a setup replays bitwise


def _trace(deviation, envelope):
    return C.Trace(
        theta=deviation,
        predictor=[0.0] * len(deviation),
        first_loss=[0.0] * len(deviation),
        second_loss=[0.0] * len(deviation),
        controls={"first-ulp": envelope},
    )


def test_assess_counts_decisive_steps_and_finds_the_first_excess():
    a = C.assess(_trace([1e-16, 1e-15, 1e-9], [1e-16, 1e-15, 2e-15]), steps=5)
    assert (a.decisive, a.separation, a.fully_decisive) == (3, 3, False)
    assert a.worst_ratio == pytest.approx(1e-9 / 2e-15)
    undecided = C.assess(_trace([0.0, 0.0, 0.0], [1e-16, 1e-7, 1e-16]))
    assert (undecided.decisive, undecided.separation) == (1, None)
    blown = C.assess(_trace([1e-16, math.nan], [1e-16, 1e-16]))
    assert blown.separation == 2  # one side not finite while the controls are


def test_assess_leaves_out_round_off_steps_and_stops_at_an_unresolved_one():
    trace = _trace([1e-16, 1e-12, 1e-16, 1e-12], [1e-16] * 4)
    a = C.assess(trace, roundoff={2: 5e8})
    assert (a.separation, a.decisive, a.worst_ratio) == (4, 4, 1e-12 / C.FLOOR)
    b = C.assess(trace, roundoff={2: 5e8}, unresolved=4)
    assert (b.separation, b.decisive, b.unresolved) == (None, 3, 4)


def test_precision_scaling_tells_drift_from_round_off():
    assert C.scales_like_drift(1e-3, 1.2e-3) is True
    assert C.scales_like_drift(1e-14, 1e-14 * 2**29) is False
    assert C.scales_like_drift(math.inf, math.nan) is True  # one side blew up in both precisions
    assert C.scales_like_drift(1e-12, math.nan) is None


def test_an_excess_that_grows_like_round_off_in_float32_is_not_a_separation(monkeypatch):
    monkeypatch.setattr(rule, "FACTOR", 1e-3)  # every round-off deviation becomes an excess
    outcome = C.evaluate(C.Setup(tangential=False, encoder="mlp-bn", steps=8))
    a = outcome.assessment
    assert a.roundoff and a.separation is None and a.unresolved is None and a.fully_decisive
    assert all(ratio > C.CONFIRM for ratio in a.roundoff.values())


def test_a_gradient_gap_is_judged_by_precision_scaling(monkeypatch):
    monkeypatch.setattr(rule, "FACTOR", 1e-3)
    holding, breaking = C.Setup(tangential=False), C.Setup(tangential=False, sphere=False)
    for setup, expected in ((holding, "round-off"), (breaking, "breaks")):
        gap = C.gradient_gaps(setup)
        assert C.judge_gap(gap, lambda: C.gradient_gaps(setup, dtype=torch.float32)) == expected


def _random_steps(conditions, effort) -> int:
    rng = effort.rng()
    count = search.random_run_count(conditions, effort)
    return sum(search.sample(conditions, i, rng, effort.thorough).steps for i in range(count))


@pytest.mark.parametrize(
    "conditions", [search.Conditions(), search.Conditions(optimizers=(search.SGD, search.ADAM) * 2)]
)
def test_thorough_random_runs_train_ten_times_the_default_steps(conditions):
    default, thorough = claims.Effort(0), claims.Effort(0, thorough=True)
    assert _random_steps(conditions, thorough) == 10 * _random_steps(conditions, default)
