"""The fast path of training/loop/training_step.py: it computes the plain path's objective on identical views,
a step reads nothing back from the device, and its switches (precision, layout, fused Adam,
compile) do what they say."""

import collections
import copy

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from theory import objectives
from training.loop import augment, data, evaluate, models, probes, training_step, variants
from training.pairs import experiment, lockstep

PLAIN = training_step.Speed(bf16=False, channels_last=False, compile=False)
CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def _networks(variant, dtype=torch.float32, seed=0, width=4):
    torch.manual_seed(seed)
    online = models.Network(width).to(dtype)
    predictor = models.predictor(variant.predictor).to(dtype)
    target = models.mean_teacher(online)
    with torch.no_grad():  # a teacher that has drifted from the online network, as in training
        for p in target.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return online, predictor, target


def _views(dtype=torch.float32, seed=0, n=12, size=32):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    views = augment.TwoViews("byol", size, (0.5,), (0.25,))
    return views, [x.to(dtype) for x in views(images, torch.Generator().manual_seed(seed))]


def _loss_and_gradient(networks, variant, views, x1, x2, speed):
    layout = speed.memory_format
    online, predictor, target = (copy.deepcopy(m).to(memory_format=layout) for m in networks)
    step = training_step.TrainStep(
        online,
        predictor,
        target,
        None,
        variant,
        views,
        speed,
        ema=4e-3,
        alpha=variant.alpha,
        beta=variant.beta,
    )
    loss = step.loss(*(x.contiguous(memory_format=speed.memory_format) for x in (x1, x2)))
    loss.backward()
    return loss.detach(), torch.cat([p.grad.flatten() for p in online.parameters()])


OBJECTIVES = ("byol", "byol'", "raft")


@pytest.mark.parametrize("name", OBJECTIVES)
def test_plain_step_loss_is_the_variants_objective_of_the_networks_outputs(name):
    variant = variants.resolve(name)
    networks = _networks(variant, torch.float64)
    views, (x1, x2) = _views(torch.float64)
    loss, _ = _loss_and_gradient(networks, variant, views, x1, x2, PLAIN)
    online, predictor, target = (copy.deepcopy(m) for m in networks)
    p1, p2 = predictor(online(x1)), predictor(online(x2))
    t1, t2 = target(x1), target(x2)
    expected = {
        "byol": objectives.byol_symmetric(p1, p2, t1, t2),
        "byol_prime": objectives.byol_prime(p1, p2, t1, t2, alpha=1.0, beta=1.0),
        "raft": objectives.raft(p1, p2, t1, t2, alpha=1.0, beta=1.0),
    }[variant.objective]
    torch.testing.assert_close(loss, expected.detach(), rtol=1e-12, atol=0)  # the same float64 sums


@pytest.mark.parametrize(
    "dtype, rtol, grad_rtol",
    [
        # float64: the channels_last convolutions sum in another order; round-off of ~1e-16 grows
        # to ~1e-14 in the gradients (measured: loss ≤ 1.7e-15, gradient ≤ 2.1e-14 relative)
        (torch.float64, 1e-13, 1e-12),
        # float32: unit round-off 6e-8; measured loss ≤ 5.4e-7 and gradient ≤ 2.1e-5 relative (the
        # gradients of this network amplify round-off about 100×, in float64 as well)
        (torch.float32, 5e-6, 2e-4),
    ],
)
@pytest.mark.parametrize("name", OBJECTIVES)
def test_channels_last_gives_the_plain_paths_loss_and_gradient(name, dtype, rtol, grad_rtol):
    variant = variants.resolve(name)
    for seed in range(2):
        networks = _networks(variant, dtype, seed)
        views, (x1, x2) = _views(dtype, seed)
        plain_loss, plain_grad = _loss_and_gradient(networks, variant, views, x1, x2, PLAIN)
        speed = training_step.Speed(bf16=False, channels_last=True, compile=False)
        loss, grad = _loss_and_gradient(networks, variant, views, x1, x2, speed)
        assert abs(loss - plain_loss) <= rtol * abs(plain_loss)
        assert (grad - plain_grad).norm() <= grad_rtol * plain_grad.norm()


@pytest.mark.parametrize("name", OBJECTIVES)
def test_bf16_autocast_gives_the_plain_paths_loss_within_bf16_precision(name):
    """bf16 keeps 8 significant bits (unit round-off 2^-9 ≈ 2e-3). The outputs of the network
    carry a few units of it and the objective, computed in fp32 from them, inherits that: the
    loss at initialisation (≈ 2 for BYOL, ≈ −1 for RAFT, whose difference of two terms loses a
    little) within 2e-2 relative (measured ≤ 7.0e-3 over three objectives, two layouts and three
    seeds). Its gradients are much further off: this network amplifies round-off about 100× into
    its gradients (fp32: ≤ 2.1e-5 relative), so bf16's are 44–59% off in norm at initialisation
    (cosine 0.84–0.91 with fp32's). The cosine bound below is a sanity check (a lost or reversed
    gradient fails it), not a precision claim."""
    variant = variants.resolve(name)
    for seed in range(2):
        networks = _networks(variant, seed=seed)
        views, (x1, x2) = _views(seed=seed)
        plain_loss, plain_grad = _loss_and_gradient(networks, variant, views, x1, x2, PLAIN)
        for layout in (False, True):
            speed = training_step.Speed(bf16=True, channels_last=layout, compile=False)
            loss, grad = _loss_and_gradient(networks, variant, views, x1, x2, speed)
            assert loss.dtype == torch.float32  # the objective itself runs in fp32
            assert abs(loss - plain_loss) <= 2e-2 * abs(plain_loss), (loss, plain_loss)
            assert torch.nn.functional.cosine_similarity(grad, plain_grad, dim=0) > 0.5


def test_bf16_step_keeps_fp32_weights_moments_and_teacher():
    variant = variants.resolve("byol-lp")
    online, predictor, target = _networks(variant)
    optimizer = training_step.adam([*online.parameters(), *predictor.parameters()], 1e-3)
    views, _ = _views()
    speed = training_step.Speed(bf16=True, channels_last=False, compile=False)
    step = training_step.TrainStep(
        online, predictor, target, optimizer, variant, views, speed, ema=0.5
    )
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    before = [p.clone() for p in target.parameters()]
    loss = step(images, torch.Generator().manual_seed(0))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    for module in (online, predictor, target):
        assert all(p.dtype == torch.float32 for p in module.parameters())
    moments = [v for s in optimizer.state.values() for k, v in s.items() if k.startswith("exp_avg")]
    assert moments and all(m.dtype == torch.float32 for m in moments)
    for xi, xi0, theta in zip(target.parameters(), before, online.parameters()):
        torch.testing.assert_close(xi, 0.5 * xi0 + 0.5 * theta)  # eq. 5 in fp32 after the step


# No host synchronisation -------------------------------------------------------------------------

# Operators that read a device value on the host, or make a shape that depends on one, or copy
# Python data to the device: each would stall a GPU's queue at every step.
SYNCHRONISING = {
    "aten._local_scalar_dense",  # .item(), bool(), int(), float() of a tensor
    "aten.nonzero",
    "aten.masked_select",
    "aten._unique2",
    "aten.unique_dim",
    "aten.unique_consecutive",
    "aten.equal",
    "aten.is_nonzero",
    "aten.allclose",
    "aten.repeat_interleave.Tensor",  # without output_size, its size is read from the device
    "aten.lift_fresh",
    "aten.lift_fresh_copy",  # torch.tensor(python data): a host-to-device copy
}


class SyncAudit(TorchDispatchMode):
    """Records every operator that would synchronise, and boolean-mask indexing (a nonzero)."""

    def __init__(self):
        super().__init__()
        self.found = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        packet = str(func.overloadpacket)
        if str(func) in SYNCHRONISING or packet in SYNCHRONISING:
            self.found[str(func)] += 1
        if packet in ("aten.index", "aten.index_put", "aten.index_put_"):
            indices = args[1] if len(args) > 1 else []
            if any(i is not None and i.dtype == torch.bool for i in indices):
                self.found[f"{func} with a boolean mask"] += 1
        return func(*args, **(kwargs or {}))


def test_the_audit_sees_each_kind_of_synchronisation():
    """The audit below can fail: each of these would be reported."""
    x = torch.arange(4.0)
    cases = [
        lambda: x.sum().item(),
        lambda: bool(x.any()),
        lambda: x[x > 1],
        lambda: torch.tensor([1.0, 2.0]),
        lambda: x.nonzero(),
        lambda: x.unique(),
    ]
    for case in cases:
        with SyncAudit() as audit:
            case()
        assert audit.found, case


@pytest.mark.parametrize(
    "speed", [PLAIN, training_step.Speed(bf16=True, channels_last=True, compile=False)]
)
def test_a_training_step_reads_nothing_back(speed):
    """The whole inner loop of run.py (batch selection, views, forward, backward, fused Adam,
    EMA, the loss sum) in steady state (after a first step, which copies the normalisation
    constants to the device once)."""
    variant = variants.resolve("raft-lp")
    online, predictor, target = (
        m.to(memory_format=speed.memory_format) for m in _networks(variant)
    )
    optimizer = training_step.adam([*online.parameters(), *predictor.parameters()], 1e-3)
    views = augment.TwoViews("byol", 16, (0.5,), (0.25,))
    step = training_step.TrainStep(
        online, predictor, target, optimizer, variant, views, speed, ema=4e-3, alpha=1.0, beta=1.0
    )
    images = torch.randint(0, 256, (16, 1, 32, 32), dtype=torch.uint8)
    order, generator = torch.randperm(16), torch.Generator().manual_seed(0)
    loss_sum = torch.zeros(())
    loss_sum += step(images[order[:8]], generator)
    with SyncAudit() as audit:
        loss_sum += step(images[order[8:]], generator)
    assert not audit.found, audit.found


def test_the_theory_probes_compute_on_the_device_without_reading_it():
    """training/loop/probes.py's device part (the probe set's outputs, Theorem 4.1's ratios, W and the
    projections for the host): its one read comes after, at the epoch's end."""
    variant = variants.resolve("byol-lp")
    online, predictor, target = _networks(variant)
    views = augment.TwoViews("byol", 16, (0.5,), (0.25,))
    images = torch.randint(0, 256, (6, 1, 32, 32), dtype=torch.uint8)
    probe = evaluate.Probe(images, views, torch.Generator().manual_seed(0))
    probes.on_device(online, predictor, target, probe, 1.0, 1.0)
    with SyncAudit() as audit:
        values = probes.on_device(online, predictor, target, probe, 1.0, 1.0)
    assert not audit.found, audit.found
    assert {"W", "z1", "z2", "thm41_sym_max"} <= set(values)


def test_a_pair_step_reads_nothing_back(tmp_path):
    """training.pairs.experiment's step: one draw of views, the steps of both sides and of the control, the
    gap to the predicted loss difference and SECOND's loss sum (deviations are read at checks)."""
    g = torch.Generator().manual_seed(0)
    split = data.Images(
        torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.arange(8) % 10,
        tuple(f"c{i}" for i in range(10)),
    )
    data.write_cifar10(tmp_path, split, split)
    given = {
        "dataset": "cifar10",
        "data_dir": str(tmp_path),
        "batch_size": 4,
        "image_size": 16,
        "width": 4,
        "probe_size": 6,
    }
    first, second = (
        experiment.side_config(given, name, tmp_path / "out") for name in ("byol'-lp", "raft-lp")
    )
    corr = lockstep.correspondence(variants.resolve("byol'-lp"), variants.resolve("raft-lp"))
    sides = lockstep.build(first, second, corr, control=True)
    step = lockstep.Pair(sides, -4.0, check_every=0)
    images, generator = sides.first.images, sides.first.generators["augment"]
    step(images[:4], generator)
    with SyncAudit() as audit:
        step(images[4:], generator)
    assert not audit.found, audit.found


# The switches -----------------------------------------------------------------------------------


def test_speed_defaults_and_choices():
    assert training_step.Speed.choose(CPU) == PLAIN  # fp32, NCHW on the CPU (README: measured)
    assert training_step.Speed.choose(CPU, "bf16", "on", True) == training_step.Speed(
        True, True, True
    )
    assert training_step.Speed.choose(CPU, "fp32", "off") == PLAIN
    with pytest.raises(ValueError, match="precision"):
        training_step.Speed.choose(CPU, "fp16")
    with pytest.raises(ValueError, match="channels_last"):
        training_step.Speed.choose(CPU, channels_last="yes")


def test_adam_is_fused_where_supported_and_falls_back_to_foreach(monkeypatch):
    parameters = [torch.nn.Parameter(torch.ones(3))]
    assert (
        training_step.adam(parameters, 1e-3).defaults["fused"] is True
    )  # torch ≥ 2.4 fuses on CPU too

    real = torch.optim.Adam

    def no_fused(params, **options):
        if options.get("fused"):
            raise RuntimeError("`fused=True` requires all the params to be ... supported devices")
        return real(params, **options)

    monkeypatch.setattr(torch.optim, "Adam", no_fused)
    fallback = training_step.adam(
        iter(parameters), 1e-3
    )  # a generator is consumed once: still works
    assert fallback.defaults["foreach"] is True and not fallback.defaults["fused"]
    assert fallback.param_groups[0]["params"] == parameters


def test_match_layouts_lets_fused_adam_resume_across_layouts():
    """A checkpoint keeps its tensors' layout: NCHW moments into a channels_last model."""
    conv = torch.nn.Conv2d(3, 4, 3)
    saved = training_step.adam(conv.parameters(), 1e-2)
    conv(torch.randn(2, 3, 8, 8)).sum().backward()
    saved.step()
    state = copy.deepcopy(saved.state_dict())
    resumed_conv = copy.deepcopy(conv).to(memory_format=torch.channels_last)
    resumed = training_step.adam(resumed_conv.parameters(), 1e-2)
    resumed.load_state_dict(state)
    training_step.match_layouts(resumed)
    moment = resumed.state[resumed_conv.weight]["exp_avg"]
    assert moment.stride() == resumed_conv.weight.stride()
    torch.testing.assert_close(moment, saved.state[conv.weight]["exp_avg"], rtol=0, atol=0)
    resumed_conv(torch.randn(2, 3, 8, 8)).sum().backward()
    resumed.step()  # fused Adam accepts it


def test_timer_splits_the_loop_into_its_regions():
    timer = training_step.Timer(CPU)
    timer.start()
    for _ in range(3):
        torch.randn(200, 200) @ torch.randn(200, 200)
        timer.lap("a")
        timer.lap("b")
    seconds = timer.seconds()
    assert set(seconds) == {"a", "b"} and seconds["a"] > 0 and seconds["b"] >= 0
    assert timer.marks[-1][1] - timer.marks[0][1] == pytest.approx(sum(seconds.values()))


def test_latest_loss_on_the_cpu_is_the_value_itself():
    latest = training_step.LatestLoss(CPU)
    assert latest.value is None
    latest.post(torch.tensor(1.5))
    assert latest.value == 1.5


def test_compile_wraps_the_networks_and_the_augmentations(monkeypatch):
    """--compile's wiring, traced by dynamo with the eager backend (inductor's code generation
    takes minutes; the device script times it on a GPU): the compiled step computes the eager
    step's loss, and the state dicts stay the modules' own."""
    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", lambda f, **kw: real_compile(f, backend="eager", **kw))
    torch._dynamo.reset()
    variant = variants.resolve("byol-lp")
    networks = _networks(variant)
    views, (x1, x2) = _views(n=8, size=16)
    compiled = training_step.Speed(bf16=False, channels_last=False, compile=True)
    online, predictor, target = (copy.deepcopy(m) for m in networks)
    step = training_step.TrainStep(
        online, predictor, target, None, variant, views, compiled, ema=4e-3
    )
    assert step.run_online is not online and views.apply is not augment.apply
    eager_views = augment.TwoViews("byol", 16, (0.5,), (0.25,))
    eager_loss, _ = _loss_and_gradient(networks, variant, eager_views, x1, x2, PLAIN)
    torch.testing.assert_close(step.loss(x1, x2), eager_loss, rtol=1e-6, atol=0)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    compiled_pair = views(images, torch.Generator().manual_seed(1))
    for a, b in zip(compiled_pair, eager_views(images, torch.Generator().manual_seed(1))):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert set(online.state_dict()) == set(networks[0].state_dict())  # no _orig_mod. prefixes
    torch._dynamo.reset()
