"""``python -m training.run`` end to end on tiny generated data: every variant trains through the
real command-line path, the outputs have their schema, a killed run resumes to exactly the
parameters of an uninterrupted one, and bad input is refused clearly."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from training import run
from training.loop import config, data, outputs, training_step, variants

REPO = Path(__file__).resolve().parents[3]  # the repository root: its training package
METRICS = {
    "epoch",
    "step",
    "loss",
    "align",
    "uniform",
    "cross",
    "byol",
    "z_std",
    "eff_rank",
    "seconds",
}


# The subprocesses below run with one thread too, so that their arithmetic is this process's.
pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(cifar, out, *extra, epochs=1):
    """Options for a run of two steps an epoch (8 images, batches of 4) on a narrow ResNet18."""
    return [
        "--dataset",
        "cifar10",
        "--data-dir",
        str(cifar),
        "--subset",
        "8",
        "--batch-size",
        "4",
        "--image-size",
        "16",
        "--width",
        "4",
        "--probe-size",
        "6",
        "--epochs",
        str(epochs),
        "--linear-epochs",
        "2",
        "--log-every",
        "1",
        "--out",
        str(out),
        *extra,
    ]


def metrics_of(out):
    return [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]


def parameters(out):
    state = torch.load(Path(out) / "checkpoint.pt", weights_only=True)
    parts = ("online", "target", "predictor")
    return {f"{part}.{k}": v for part in parts for k, v in state[part].items()}


@pytest.mark.parametrize("name", list(variants.VARIANTS))
def test_every_variant_trains_two_steps_and_writes_its_outputs(cifar, tmp_path, name):
    spelled = name.replace("byol'", "byolp")  # as a shell user would type it
    assert run.main([spelled, *tiny(cifar, tmp_path / "out")]) == 0
    variant = variants.resolve(name)
    lines = metrics_of(tmp_path / "out")
    assert [m["epoch"] for m in lines] == ([0, 1] if variant.trains else [0])
    for m in lines:
        assert METRICS <= set(m)
        assert all(m[k] is not None for k in METRICS - {"loss"}), m
        assert 0 <= m["align"] <= 4 and m["uniform"] <= 0 and 0 <= m["cross"] <= 4
        assert 1 <= m["eff_rank"] <= 128 and m["z_std"] >= 0
    assert lines[0]["loss"] is None  # epoch 0 is the untrained model
    if variant.trains:
        assert lines[-1]["step"] == 2 and isinstance(lines[-1]["loss"], float)
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["variant"] == name and result["final"] == lines[-1]
    assert set(result["config"]) == set(config.Config.__dataclass_fields__)
    assert result["config"]["alpha"] == variant.alpha and result["config"]["beta"] == variant.beta
    assert 0 <= result["linear_acc"] <= 1
    assert result["test_images"] == 10 and result["train_images"] == 8
    assert (tmp_path / "out" / "curves.png").stat().st_size > 0
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "out").iterdir())


def test_fashion_mnist_idx_files_through_the_command_line(tmp_path):
    g = torch.Generator().manual_seed(1)
    split = lambda n: data.Images(  # noqa: E731
        torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g), torch.arange(n) % 10, ()
    )
    data.write_fashion_mnist(tmp_path / "fm", split(8), split(6))
    options = tiny(tmp_path / "fm", tmp_path / "out")
    options[options.index("cifar10")] = "fashion-mnist"
    assert run.main(["byol-lp", *options]) == 0
    assert json.loads((tmp_path / "out" / "result.json").read_text())["test_images"] == 6


def test_list_prints_table_2(capsys):
    assert run.main(["--list"]) == 0
    printed = capsys.readouterr().out
    for v in variants.VARIANTS.values():
        assert v.name in printed and v.description in printed


def _cut_in_epoch_2(monkeypatch, argv: list[str]) -> None:
    """``training.run`` with ``argv`` (2 steps per epoch), stopped by a Ctrl-C in the middle of
    epoch 2 (between steps 3 and 4, at the third EMA update)."""
    calls, real_update = {"n": 0}, training_step.ema_update

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real_update(*args, **kwargs)

    monkeypatch.setattr(training_step, "ema_update", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.main(argv)
    monkeypatch.setattr(training_step, "ema_update", real_update)


def test_resume_after_an_interruption_is_bitwise_the_uninterrupted_run(
    cifar, tmp_path, monkeypatch
):
    assert run.main(["byol-lp", *tiny(cifar, tmp_path / "whole", epochs=3)]) == 0
    _cut_in_epoch_2(monkeypatch, ["byol-lp", *tiny(cifar, tmp_path / "cut", epochs=3)])
    assert [m["epoch"] for m in metrics_of(tmp_path / "cut")] == [0, 1]
    assert run.main(["byol-lp", "--resume", *tiny(cifar, tmp_path / "cut", epochs=3)]) == 0

    whole, resumed = parameters(tmp_path / "whole"), parameters(tmp_path / "cut")
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole), [
        k for k in whole if not torch.equal(whole[k], resumed[k])
    ]
    untimed = [
        [
            {k: v for k, v in m.items() if not k.endswith("seconds")}
            for m in metrics_of(tmp_path / out)
        ]
        for out in ("whole", "cut")
    ]
    assert untimed[0] == untimed[1]
    results = [json.loads((tmp_path / o / "result.json").read_text()) for o in ("whole", "cut")]
    assert results[0]["linear_acc"] == results[1]["linear_acc"]


def test_the_early_log_has_every_steps_loss_and_the_probe_every_n_steps(cifar, tmp_path):
    out = tmp_path / "out"
    assert (
        run.main(
            ["byol-lpi", *tiny(cifar, out, "--early-epochs", "1", "--early-every", "2", epochs=2)]
        )
        == 0
    )
    lines = [json.loads(line) for line in (out / "early.jsonl").read_text().splitlines()]
    assert [(m["epoch"], m["step"]) for m in lines] == [(1, 1), (1, 2)]  # the first epoch only
    assert "align" not in lines[0] and {"loss", "align", "uniform"} <= set(lines[1])


def test_a_resumed_run_writes_the_early_log_of_the_uninterrupted_one(cifar, tmp_path, monkeypatch):
    early = ("--early-epochs", "3", "--early-every", "1")
    assert run.main(["byol-lpi", *tiny(cifar, tmp_path / "whole", *early, epochs=3)]) == 0
    _cut_in_epoch_2(monkeypatch, ["byol-lpi", *tiny(cifar, tmp_path / "cut", *early, epochs=3)])
    assert run.main(["byol-lpi", "--resume", *tiny(cifar, tmp_path / "cut", *early, epochs=3)]) == 0
    texts = [(tmp_path / o / "early.jsonl").read_text() for o in ("whole", "cut")]
    assert texts[0] == texts[1] and len(texts[0].splitlines()) == 6


def test_speed_options_are_recorded_and_may_change_on_resume(cifar, tmp_path):
    """How a run computes (precision, layout) may change when it resumes, as the device may:
    a checkpoint written in channels_last resumes in NCHW (its Adam moments are relaid out)."""
    out = tmp_path / "out"
    assert (
        run.main(["byol-lp", *tiny(cifar, out), "--channels-last", "on", "--precision", "fp32"])
        == 0
    )
    speed = json.loads((out / "result.json").read_text())["speed"]
    assert speed == {"bf16": False, "channels_last": True, "compile": False, "fp64": False}
    saved = torch.load(out / "checkpoint.pt", weights_only=True)["online"]["encoder.conv1.weight"]
    assert saved.is_contiguous(memory_format=torch.channels_last)
    assert (
        run.main(["byol-lp", "--resume", *tiny(cifar, out, epochs=2), "--channels-last", "off"])
        == 0
    )
    result = json.loads((out / "result.json").read_text())
    assert result["speed"]["channels_last"] is False and result["epochs_trained"] == 2
    assert result["config"]["channels_last"] == "off"


def test_a_killed_process_resumes_to_the_uninterrupted_parameters(cifar, tmp_path):
    """SIGKILL (no chance to clean up) once the first epoch's checkpoint is on disk."""
    out = tmp_path / "killed"
    environment = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "training.run", "raft-lp", *tiny(cifar, out, epochs=1000)],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            lines = metrics_of(out) if (out / "metrics.jsonl").is_file() else []
            if lines and lines[-1]["epoch"] >= 1:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    epoch = torch.load(out / "checkpoint.pt", weights_only=True)["epoch"]
    assert 1 <= epoch < 1000
    assert (out / outputs.LOCK).is_file()  # left by the killed run: it must not block the resume
    target_epochs = epoch + 1
    assert run.main(["raft-lp", "--resume", *tiny(cifar, out, epochs=target_epochs)]) == 0
    assert run.main(["raft-lp", *tiny(cifar, tmp_path / "whole", epochs=target_epochs)]) == 0
    whole, resumed = parameters(tmp_path / "whole"), parameters(out)
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    assert [m["epoch"] for m in metrics_of(out)] == list(range(target_epochs + 1))


def test_unknown_variant_one_line_exit_2():
    completed = subprocess.run(
        [sys.executable, "-m", "training.run", "simsiam"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "simsiam" in lines[0]
    assert all(name in lines[0] for name in variants.VARIANTS)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["raft", "--alpha", "0"], "--alpha must be a finite number > 0"),
        (["raft-np", "--beta", "-1"], "Table 3 prints RAFT's β negated"),
        (["byol'", "--beta", "nan"], "--beta must be a finite number > 0"),
        (["byol", "--alpha", "2"], "has no α or β"),
        (["byol", "--batch-size", "1"], "--batch-size must be ≥ 2"),
        (["byol", "--subset", "2"], "--subset must be ≥ the batch size"),
        (["byol", "--device", "tpu"], "--device"),
        (["byol-np", "--predictor-bias"], "--predictor-bias: byol-np's predictor (none)"),
    ],
)
def test_bad_values_exit_2_with_a_clear_error(cifar, tmp_path, capsys, arguments, message):
    variant, *options = arguments
    assert run.main([variant, *tiny(cifar, tmp_path / "out"), *options]) == 2  # the last one wins
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before writing anything


def test_the_authors_biased_linear_predictor_trains_its_bias_and_starts_at_i_for_lpi(
    cifar, tmp_path
):
    assert run.main(["byol-lpi", *tiny(cifar, tmp_path / "out"), "--predictor-bias"]) == 0
    state = torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=False)["predictor"]
    assert state["bias"].shape == (128,) and state["bias"].abs().max() > 0  # trained from 0
    assert (
        metrics_of(tmp_path / "out")[0]["w_identity_distance"] is None
    )  # Appendix H's q = Wz only


def test_a_linear_predictor_records_its_distance_to_the_identity_every_epoch(cifar, tmp_path):
    assert run.main(["byol-lpi", *tiny(cifar, tmp_path / "out")]) == 0
    distances = [m["w_identity_distance"] for m in metrics_of(tmp_path / "out")]
    assert distances[0] == 0.0 and distances[1] > 0


@pytest.mark.parametrize("option, value", [("--precision", "fp16"), ("--channels-last", "maybe")])
def test_unknown_speed_choices_exit_2_naming_the_valid_ones(cifar, tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit:
        run.main(["byol", *tiny(cifar, tmp_path / "out"), option, value])
    assert exit.value.code == 2 and f"argument {option}: invalid choice" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_used_out_is_refused_unless_resume_or_overwrite(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert run.main(["byol", *tiny(cifar, out)]) == 2
    assert "--resume" in capsys.readouterr().err and not (out / "metrics.jsonl").exists()
    assert run.main(["byol", "--resume", *tiny(cifar, out)]) == 2  # nothing to resume
    assert run.main(["byol", "--overwrite", *tiny(cifar, out)]) == 0
    assert (out / "notes.txt").read_text() == "mine"  # only the run's own files are replaced


def test_resume_refuses_changed_settings(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(["raft", *tiny(cifar, out)]) == 0
    before = (out / "checkpoint.pt").read_bytes()
    assert run.main(["raft", "--resume", *tiny(cifar, out), "--beta", "10"]) == 2
    assert "beta: saved 1.0, given 10.0" in capsys.readouterr().err
    assert run.main(["raft", "--resume", *tiny(cifar, out, epochs=0)]) == 2  # cannot untrain
    assert (out / "checkpoint.pt").read_bytes() == before


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    cifar, tmp_path, capsys, monkeypatch
):
    calls = {"n": 0}
    real_loss = variants.Variant.loss

    def poisoned(self, *args, **kwargs):  # finite in epoch 1 (steps 1-2), NaN from step 3
        calls["n"] += 1
        loss = real_loss(self, *args, **kwargs)
        return loss * float("nan") if calls["n"] >= 3 else loss

    monkeypatch.setattr(variants.Variant, "loss", poisoned)
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out, epochs=3)]) == 1
    error = capsys.readouterr().err
    assert "non-finite" in error and "epoch 2" in error and "epoch 1" in error
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1
    assert all(
        bool(torch.isfinite(v).all()) for v in state["online"].values() if v.is_floating_point()
    )
    assert [m["epoch"] for m in metrics_of(out)] == [0, 1] and not (out / "result.json").exists()


def test_corrupt_checkpoint_is_a_clear_error_and_stays_untouched(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(["byol-np", *tiny(cifar, out)]) == 0
    (out / "checkpoint.pt").write_bytes(b"\x80\x02 half a checkpoint")
    metrics = (out / "metrics.jsonl").read_bytes()
    assert run.main(["byol-np", "--resume", *tiny(cifar, out, epochs=2)]) == 1
    assert "unreadable" in capsys.readouterr().err
    assert (out / "checkpoint.pt").read_bytes() == b"\x80\x02 half a checkpoint"
    assert (out / "metrics.jsonl").read_bytes() == metrics


def test_missing_dataset_exits_1_saying_where_to_put_it(tmp_path, capsys, monkeypatch):
    def offline(root, train, download):
        raise OSError("Network is unreachable")

    monkeypatch.setattr("torchvision.datasets.CIFAR10", offline)
    assert run.main(["byol", *tiny(tmp_path / "no-data", tmp_path / "out")]) == 1
    assert "cifar-10-batches-py" in capsys.readouterr().err


# Reliability: kills, full disks, two runs, other data, signals, one-line errors ----------------


def background(cifar, out, *extra, epochs=1000, fault=None):
    """``training.run raft-lp`` on the tiny data in another process, its stderr in a pipe."""
    environment = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    if fault:
        environment[outputs.FAULT_VARIABLE] = fault
    return subprocess.Popen(
        [sys.executable, "-m", "training.run", "raft-lp", *tiny(cifar, out, *extra, epochs=epochs)],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_epoch(process, out, epoch):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "metrics.jsonl").is_file() and metrics_of(out)[-1]["epoch"] >= epoch:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run did not reach epoch {epoch} (exit {process.poll()})")


def only_line(err: str) -> str:
    """What a refused command prints: one line, starting with error:."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def last_line(err: str) -> str:
    """What a run stopped during training prints after its progress bar: one error line last."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert "Traceback" not in err
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], lines[-3:]
    return lines[-1]


def leftovers(out):
    return sorted(p.name for p in Path(out).iterdir() if p.name.endswith(".tmp"))


def test_a_kill_during_the_first_checkpoint_write_leaves_a_run_resume_restarts(
    cifar, tmp_path, capsys
):
    out = tmp_path / "out"
    process = background(cifar, out, epochs=1, fault="kill@0")
    assert process.wait() == -signal.SIGKILL
    assert leftovers(out) == ["checkpoint.pt.tmp"] and not (out / "checkpoint.pt").exists()
    assert run.main(["raft-lp", "--resume", *tiny(cifar, out)]) == 0
    assert "starting afresh" in capsys.readouterr().err
    assert run.main(["raft-lp", *tiny(cifar, tmp_path / "whole")]) == 0
    whole, restarted = parameters(tmp_path / "whole"), parameters(out)
    assert all(torch.equal(whole[k], restarted[k]) for k in whole) and leftovers(out) == []


@pytest.mark.parametrize("resume", [False, True])
def test_a_folder_holding_only_what_a_killed_run_leaves_starts_afresh(cifar, tmp_path, resume):
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoint.pt.tmp").write_bytes(b"PK\x03\x04 half")
    (out / outputs.LOCK).write_text('{"pid": 1, "command": "python -m training.run raft-lp"}\n')
    assert run.main(["raft-lp", *(["--resume"] if resume else []), *tiny(cifar, out)]) == 0
    assert leftovers(out) == []


def test_resume_restarts_a_run_killed_before_its_first_checkpoint_beside_other_files(
    cifar, tmp_path
):
    """A run started with --overwrite in a folder holding the user's files, then killed."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / outputs.LOCK).write_text('{"pid": 1, "command": "python -m training.run raft-lp"}\n')
    assert run.main(["raft-lp", "--resume", *tiny(cifar, out)]) == 0
    assert (out / "notes.txt").read_text() == "mine"


def test_resume_refuses_a_run_whose_checkpoint_is_gone_but_outputs_remain(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(["byol-lp", *tiny(cifar, out)]) == 0
    (out / "checkpoint.pt").unlink()
    capsys.readouterr()
    assert run.main(["byol-lp", "--resume", *tiny(cifar, out)]) == 2
    assert "holds a run's curves.png, metrics.jsonl, result.json" in only_line(
        capsys.readouterr().err
    )


def test_a_full_disk_at_the_first_checkpoint_says_so_and_leaves_no_partial_file(
    cifar, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv(outputs.FAULT_VARIABLE, "disk-full@0")
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out)]) == 1
    line = only_line(capsys.readouterr().err)
    assert line.startswith(f"error: the disk is full: cannot write {out / 'checkpoint.pt'}")
    assert "checkpoint.pt does not exist yet, and the partial file was removed" in line
    assert leftovers(out) == [] and not (out / "checkpoint.pt").exists()


def test_a_full_disk_later_keeps_the_last_good_checkpoint(cifar, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(outputs.FAULT_VARIABLE, "disk-full@2")
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out, epochs=2)]) == 1
    line = last_line(capsys.readouterr().err)
    assert "the disk is full" in line and "checkpoint.pt keeps its last good version" in line
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert leftovers(out) == [] and [m["epoch"] for m in metrics_of(out)] == [0, 1]


def test_a_second_run_on_the_same_out_is_refused_naming_the_first(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    first = background(cifar, out)
    try:
        wait_for_epoch(first, out, 0)
        assert run.main(["byol-lp", *tiny(cifar, out), "--overwrite"]) == 2
        line = only_line(capsys.readouterr().err)
        assert (
            f"is in use by another run (pid {first.pid}" in line and "training.run raft-lp" in line
        )
        assert first.poll() is None and all(m["epoch"] == i for i, m in enumerate(metrics_of(out)))
    finally:
        first.kill()
        first.wait()


def test_sigterm_ends_the_process_with_143_one_line_and_the_last_checkpoint(cifar, tmp_path):
    out = tmp_path / "out"
    process = background(cifar, out)
    try:
        wait_for_epoch(process, out, 1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143
    line = last_line(err)
    assert (
        line.startswith("error: interrupted by SIGTERM at epoch ")
        and "resume with --resume" in line
    )
    kept = torch.load(out / "checkpoint.pt", weights_only=True)
    assert f"checkpoint.pt keeps epoch {kept['epoch']}, step {kept['step']}" in line
    assert leftovers(out) == []


def signal_at(monkeypatch, module, name, number, call):
    """Send this process signal ``number`` from the ``call``-th call of ``module.name``."""
    real, calls = getattr(module, name), {"n": 0}

    def sending(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            os.kill(os.getpid(), number)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, sending)


def test_sigint_stops_the_run_with_130_and_one_line_keeping_the_last_checkpoint(
    cifar, tmp_path, capsys, monkeypatch
):
    signal_at(
        monkeypatch, training_step, "ema_update", signal.SIGINT, call=3
    )  # epoch 2's first step
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out, epochs=3)]) == 130
    assert last_line(capsys.readouterr().err) == (
        "error: interrupted by SIGINT at epoch 2, step 2; checkpoint.pt keeps epoch 1, step 2: "
        "resume with --resume"
    )
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert [m["epoch"] for m in metrics_of(out)] == [0, 1] and not (out / "result.json").exists()


def test_a_signal_during_a_checkpoint_write_waits_for_the_write_to_end(
    cifar, tmp_path, capsys, monkeypatch
):
    signal_at(monkeypatch, torch, "save", signal.SIGINT, call=2)  # epoch 1's checkpoint
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out, epochs=3)]) == 130
    assert "checkpoint.pt keeps epoch 1, step 2" in last_line(capsys.readouterr().err)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert leftovers(out) == []


def test_an_interrupted_extension_leaves_no_stale_result_json(cifar, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out)]) == 0
    signal_at(monkeypatch, training_step, "ema_update", signal.SIGTERM, call=3)  # in epoch 2
    assert run.main(["raft-lp", "--resume", *tiny(cifar, out, epochs=3)]) == 143
    assert not (out / "result.json").exists()


def test_resume_on_a_missing_folder_says_it_starts_afresh(cifar, tmp_path, capsys):
    assert run.main(["byol-np", "--resume", *tiny(cifar, tmp_path / "new")]) == 0
    assert f"nothing to resume in {tmp_path / 'new'} (no checkpoint.pt): starting afresh" in (
        capsys.readouterr().err
    )


def other_cifar(root, seed):
    g = torch.Generator().manual_seed(seed)
    images = lambda n: torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)  # noqa: E731
    classes = tuple(f"class{i}" for i in range(10))
    split = lambda n: data.Images(images(n), torch.arange(n) % 10, classes)  # noqa: E731
    data.write_cifar10(root, split(12), split(10))
    return root


def test_resume_refuses_other_data_in_one_line(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out)]) == 0
    before = (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    other = other_cifar(tmp_path / "other", seed=9)
    assert (
        run.main(["raft-lp", "--resume", *tiny(cifar, out, epochs=2), "--data-dir", str(other)])
        == 2
    )
    line = only_line(capsys.readouterr().err)
    assert f"--data-dir {other} holds other cifar10 data than the checkpoint was trained on" in line
    assert (out / "checkpoint.pt").read_bytes() == before


def test_resume_accepts_the_same_data_in_another_folder(cifar, tmp_path):
    out = tmp_path / "out"
    assert run.main(["raft-lp", *tiny(cifar, out)]) == 0
    copy = shutil.copytree(cifar, tmp_path / "copy")
    assert (
        run.main(["raft-lp", "--resume", *tiny(cifar, out, epochs=2), "--data-dir", str(copy)]) == 0
    )


def fashion_mnist_options(root, out):
    g = torch.Generator().manual_seed(1)
    split = lambda n: data.Images(  # noqa: E731
        torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g), torch.arange(n) % 10, ()
    )
    data.write_fashion_mnist(root, split(8), split(6))
    options = tiny(root, out)
    options[options.index("cifar10")] = "fashion-mnist"
    return options


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda root: (root / "train-labels-idx1-ubyte.gz").unlink(), "lacks train-labels-idx1"),
        (
            lambda root: (root / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b cut"),
            "unreadable",
        ),
        (
            lambda root: data.write_idx(
                root / "t10k-images-idx3-ubyte.gz", np.zeros((6, 27), np.uint8)
            ),
            "does not hold Fashion-MNIST images",
        ),
    ],
    ids=["missing-labels", "corrupt-gzip", "wrong-shape"],
)
def test_broken_dataset_files_exit_1_in_one_line(tmp_path, capsys, monkeypatch, damage, message):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    options = fashion_mnist_options(tmp_path / "fm", tmp_path / "out")
    damage(tmp_path / "fm")
    assert run.main(["byol-lp", *options]) == 1
    assert message in only_line(capsys.readouterr().err)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64])
def test_a_seed_out_of_numpys_range_exits_2_in_one_line(cifar, tmp_path, capsys, seed):
    assert run.main(["byol-lp", *tiny(cifar, tmp_path / "out"), "--seed", str(seed)]) == 2
    assert "--seed must be in [0, 4294967295]" in only_line(capsys.readouterr().err)


def test_the_largest_seed_numpy_takes_runs(cifar, tmp_path):
    assert run.main(["byol-lp", *tiny(cifar, tmp_path / "out"), "--seed", str(2**32 - 1)]) == 0


def test_an_unwritable_out_is_refused_before_any_work(cifar, tmp_path, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the data was loaded")

    monkeypatch.setattr(data, "load", no_work)
    (tmp_path / "file").write_text("a file, not a folder")
    assert run.main(["byol-lp", *tiny(cifar, tmp_path / "file" / "out")]) == 2
    assert "cannot be written (Not a directory)" in only_line(capsys.readouterr().err)


def test_a_checkpoint_with_settings_this_version_does_not_know_exits_1(cifar, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(["byol-lp", *tiny(cifar, out)]) == 0
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    state["config"]["warmup_epochs"] = 10
    torch.save(state, out / "checkpoint.pt")
    before = (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert run.main(["byol-lp", "--resume", *tiny(cifar, out, epochs=2)]) == 1
    assert "include warmup_epochs, which this version does not know" in only_line(
        capsys.readouterr().err
    )
    assert (out / "checkpoint.pt").read_bytes() == before
