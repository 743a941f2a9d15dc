"""A batch of runs trained as one packed network (``training.loop.batched``): each member is, to
round-off, the single run with its seed, and writes what that run writes.

The yardstick of round-off is the pair's control: the single run with the member's seed started
one ulp away from itself. In float64 every member must stay within ``ROUNDOFF_FACTOR`` times
that control's deviation after the same 64 steps, or within ``FLOOR`` of the parameters' scale,
whichever is larger (a control that lands on exactly the same values gives no yardstick).
Batches of 16 keep the runs out of the chaotic regime of batch norm over a handful of samples,
where one ulp grows to O(1) within 64 steps and no comparison means anything."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from training import run
from training.loop import batched, config, evaluate, packing, runner, variants

ROUNDOFF_FACTOR = 10  # measured: members deviate 0.5–2.1× as much as the control does
FLOOR = 1e-13  # float64: ~500 ulps; the measured deviations are 2e-12 to 2e-11
SEEDS = [0, 1, 2]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def images(make_cifar):
    return make_cifar(256, 10)


def options(images, **more) -> dict:
    """64 steps (4 epochs of 16 batches of 16) of a ResNet18 of width 2 at 8 px, in float64."""
    return {
        "dataset": "cifar10",
        "data_dir": str(images),
        "subset": 256,
        "batch_size": 16,
        "image_size": 8,
        "width": 2,
        "probe_size": 6,
        "epochs": 4,
        "linear_epochs": 1,
        "knn_bank": 0,
        "log_every": 0,
        "precision": "fp64",
        "device": "cpu",
        **more,
    }


def single(given: dict, out: Path, nudge: bool = False) -> dict:
    """The single run of ``given`` (``nudge``: its online network moved up one ulp at the
    start); its parameters at the end."""
    variant = variants.resolve(given["variant"])
    cfg = config.settle(replace(config.Config(), **given, out=str(out)), variant)
    live = runner.prepare(cfg, None)
    runner.start(live)
    if nudge:
        with torch.no_grad():
            for p in live.online.parameters():
                p.copy_(torch.nextafter(p, torch.full_like(p, torch.inf)))
    runner.train_epochs(live)
    return state(live.online, live.predictor, live.target)


def state(*networks) -> dict:
    return {
        f"{i}.{k}": v.detach().clone()
        for i, n in enumerate(networks)
        for k, v in n.state_dict().items()
        if v.is_floating_point()
    }


def saved(folder: Path) -> dict:
    checkpoint = torch.load(folder / "checkpoint.pt", weights_only=False)
    return {
        f"{i}.{k}": v
        for i, part in enumerate(("online", "predictor", "target"))
        for k, v in checkpoint[part].items()
        if v.is_floating_point()
    }


def deviation(a: dict, b: dict) -> float:
    """The largest deviation of a tensor of ``a`` from ``b``'s, relative to ``b``'s largest entry."""
    return max(((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-300)).item() for k in b)


def batch(given: dict, out: Path, seeds=SEEDS) -> list[Path]:
    folders = [out / f"s{s}" for s in seeds]
    batched.run_in_folders(
        {**given, "out": str(out / "s{seed}")}, seeds, resume=False, overwrite=False, command="t"
    )
    return folders


@pytest.mark.parametrize(
    "variant, more",
    [
        ("byol-np", {}),
        ("byol-lp", {}),
        ("byol-lpi", {}),
        ("byol", {}),
        ("tanbyol-lp", {}),
        ("raft-np", {"beta": 2.0}),
    ],
)
def test_every_member_of_a_float64_batch_is_its_single_run_to_round_off(
    images, tmp_path, monkeypatch, variant, more
):
    monkeypatch.setattr(runner.probes, "measure", lambda *_, **__: {})  # costly, and read-only
    given = options(images, variant=variant, **more)
    for seed, member in zip(SEEDS, batch(given, tmp_path / "batch")):
        alone = single({**given, "seed": seed}, tmp_path / f"alone{seed}")
        nudged = single({**given, "seed": seed}, tmp_path / f"nudged{seed}", nudge=True)
        bound = max(ROUNDOFF_FACTOR * deviation(nudged, alone), FLOOR)
        assert deviation(saved(member), alone) <= bound


def test_packing_then_unpacking_gives_back_the_members_exactly():
    members = [torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)) for _ in "ab"]
    packed = packing.pack(members)
    copies = [torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)) for _ in "ab"]
    packing.unload_members(packed, copies)
    assert all(deviation(state(c), state(m)) == 0 for c, m in zip(copies, members))


def test_a_member_writes_what_a_single_run_writes(images, tmp_path):
    given = options(images, variant="byol-lp", epochs=1, precision="fp32")
    member = batch(given, tmp_path / "batch", seeds=[3, 4])[0]
    run.main(["byol-lp", *argv(given), "--seed", "3", "--out", str(tmp_path / "alone")])
    assert sorted(p.name for p in member.iterdir()) == sorted(
        p.name for p in (tmp_path / "alone").iterdir()
    )
    assert lines(member)[-1].keys() == lines(tmp_path / "alone")[-1].keys()


def argv(given: dict) -> list[str]:
    return [
        w for k, v in given.items() if k != "variant" for w in (f"--{k.replace('_', '-')}", str(v))
    ]


def lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def checkpoints(folders) -> list[dict]:
    return [torch.load(f / "checkpoint.pt", weights_only=False) for f in folders]


def same_bits(a, b) -> bool:
    if torch.is_tensor(a):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_bits(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_bits(x, y) for x, y in zip(a, b))
    return a == b


def test_a_resumed_batch_continues_bitwise(images, tmp_path, monkeypatch):
    monkeypatch.setattr(runner.probes, "measure", lambda *_, **__: {})  # costly, and read-only
    given = options(images, variant="byol-lp", precision="fp32", epochs=2, subset=64)
    straight = batch(given, tmp_path / "straight")
    batch({**given, "epochs": 1}, tmp_path / "stopped")
    batched.run_in_folders(
        {**given, "out": str(tmp_path / "stopped" / "s{seed}")},
        SEEDS,
        resume=True,
        overwrite=False,
        command="t",
    )
    for a, b in zip(
        checkpoints(straight), checkpoints(tmp_path / "stopped" / f"s{s}" for s in SEEDS)
    ):
        assert same_bits(
            [a[k] for k in ("online", "target", "predictor", "optimizer", "rng")],
            [b[k] for k in ("online", "target", "predictor", "optimizer", "rng")],
        )


def test_a_member_resumes_alone_as_a_single_run(images, tmp_path, monkeypatch):
    monkeypatch.setattr(runner.probes, "measure", lambda *_, **__: {})  # costly, and read-only
    given = options(images, variant="byol-lp", precision="fp32", epochs=1, subset=64)
    member = batch(given, tmp_path / "batch", seeds=[0, 1])[1]
    code = run.main(["byol-lp", *argv({**given, "epochs": 2}), "--out", str(member), "--resume"])
    assert code == 0 and lines(member)[-1]["epoch"] == 2


def test_a_member_whose_loss_is_not_finite_stops_alone(images, tmp_path, monkeypatch):
    start = runner.start

    def poisoned(live):  # seed 1's network turns to NaN once its epoch 0 is measured
        start(live)
        if live.cfg.seed == 1:
            with torch.no_grad():
                next(live.online.parameters()).fill_(float("nan"))

    monkeypatch.setattr(runner, "start", poisoned)
    given = options(images, variant="byol-np", precision="fp32", epochs=1, subset=64)
    with pytest.raises(config.RunFailed, match="1 of 3 runs stopped"):
        batch(given, tmp_path / "batch")
    done = [(tmp_path / "batch" / f"s{s}" / "result.json").exists() for s in SEEDS]
    assert done == [True, False, True]


@pytest.mark.parametrize("seeds", ["x", "0,0", "0", "65", "1,-2", ""])
def test_bad_seeds_exit_2_with_one_line(seeds, capsys):
    assert run.main(["byol", "--seeds", seeds]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_batch_that_would_not_fit_is_refused_before_any_folder_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(batched, "available_bytes", lambda device: 1)
    out = tmp_path / "runs"
    assert run.main(["byol", "--seeds", "3", "--device", "cpu", "--out", str(out)]) == 2
    assert not out.exists()


def test_linear_evaluations_of_a_batch_are_each_runs_own(float64):
    torch.manual_seed(0)
    xs, y = [torch.randn(40, 6) for _ in range(3)], torch.randint(0, 3, (40,))
    options = {"classes": 3, "epochs": 12, "lr": 0.01, "batch_size": 16}
    batch = evaluate.linear_evaluations(
        xs, y, xs, y, generators=[torch.Generator().manual_seed(k) for k in range(3)], **options
    )
    alone = [
        evaluate.linear_evaluation(
            x, y, x, y, generator=torch.Generator().manual_seed(k), **options
        )
        for k, x in enumerate(xs)
    ]
    assert batch == alone


@pytest.mark.parametrize("extra", [["supervised"], ["byol-lp", "--early-epochs", "1"]])
def test_what_a_batch_cannot_train_is_refused_with_one_line(extra, capsys):
    assert run.main([*extra, "--seeds", "2", "--device", "cpu"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


FLOAT32_METRICS = ("loss", "align", "uniform", "cross", "byol")


def final_metrics(folder: Path) -> dict:
    return {k: lines(folder)[-1][k] for k in FLOAT32_METRICS}


def relative(a: dict, b: dict) -> dict:
    return {k: abs(a[k] - b[k]) / abs(b[k]) for k in b}


def test_every_member_of_a_float32_batch_ends_with_its_single_runs_metrics_to_round_off(
    images, tmp_path, monkeypatch
):
    """Float32's round-off grows chaotically (a one-ulp nudge moved L_align by 0.5–18% after 64
    steps, measured): each member's final metrics must lie within ROUNDOFF_FACTOR times the
    largest deviation a one-ulp nudge causes among the same seeds' single runs (measured:
    members at most 5.2× it, most below 2×)."""
    monkeypatch.setattr(runner.probes, "measure", lambda *_, **__: {})  # costly, and read-only
    given = options(images, variant="raft-np", beta=2.0, precision="fp32")
    members, alone, control = batch(given, tmp_path / "batch"), {}, {}
    for seed in SEEDS:
        single({**given, "seed": seed}, tmp_path / f"alone{seed}")
        single({**given, "seed": seed}, tmp_path / f"nudged{seed}", nudge=True)
        alone[seed] = final_metrics(tmp_path / f"alone{seed}")
        control[seed] = relative(final_metrics(tmp_path / f"nudged{seed}"), alone[seed])
    for seed, member in zip(SEEDS, members):
        deviations = relative(final_metrics(member), alone[seed])
        for key, value in deviations.items():
            assert value <= ROUNDOFF_FACTOR * max(c[key] for c in control.values()), key
