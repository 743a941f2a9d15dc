"""training.reproduce never loses or hides results, on hand-made run folders (no training):
damaged files make a run "broken" with the file named and the way out, --overwrite moves them
aside and keeps a good checkpoint, another variant's checkpoint is a conflict, outputs are
kept when their runs vanished, and bad options or signals are one line."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from training import reproduce
from training.loop import outputs
from training.reproduction import pipeline, sweep

REPO = Path(__file__).resolve().parents[3]
SCALE = sweep.Scale(
    "files",
    {"dataset": "cifar10", "epochs": 1, "device": "cpu"},
    seeds=1,
    jobs=1,
    threads=1,
    seconds_per_step=None,
    estimate="none",
)


@pytest.fixture
def planned(tmp_path, monkeypatch):
    """Two finished runs, as training.run and the job leave them (the plan of figure5)."""
    monkeypatch.setitem(sweep.SCALES, "files", SCALE)
    monkeypatch.setitem(sweep.TARGETS, "figure5", (("raft", 1.0), ("byol'", 1.0)))
    runs = sweep.plan("figure5", SCALE, 1, tmp_path)
    for p in runs:
        p.folder.mkdir(parents=True)
        history = [
            {"epoch": e, "step": 2 * e, "loss": 0.5, "align": 2e-3, "uniform": -2.0}
            for e in range(2)
        ]
        result = {
            "config": p.config,
            "variant": p.variant,
            "final": history[-1],
            "steps": 2,
            "last_10_epochs": {"align": 2e-3, "uniform": -2.0},
            "linear_acc": 0.6,
            "train_seconds": 1.0,
            "linear_seconds": 1.0,
            "epochs_trained": 1,
        }
        (p.folder / "result.json").write_text(json.dumps(result))
        (p.folder / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in history))
        np.savez(
            p.folder / sweep.REPRESENTATIONS, z=np.ones((6, 4), np.float32), labels=np.arange(6)
        )
    return runs


def reproduce_main(tmp_path, *extra):
    return reproduce.main(["figure5", "--scale", "files", "--out", str(tmp_path), *extra])


def state(tmp_path, index=0):
    return sweep.plan("figure5", SCALE, 1, tmp_path)[index]


def checkpoint(p, **config):
    """A checkpoint that training.run's reader accepts, of ``p``'s configuration changed by
    ``config``."""
    state = {key: {} for key in ("online", "target", "predictor", "optimizer", "rng")}
    state |= {
        "format": outputs.CHECKPOINT_FORMAT,
        "config": {**p.config, **config},
        "epoch": 1,
        "step": 2,
        "history": [],
    }
    torch.save(state, p.folder / "checkpoint.pt")


def recorded_launches(monkeypatch) -> list[list[str]]:
    """The training.run command lines the sweep would launch (nothing is launched)."""
    launched = []

    def record(planned, args, *rest):
        launched.extend(job.argv() for job in sweep.pack(planned, args.overwrite, args.pack))
        return []

    monkeypatch.setattr(pipeline, "launch_missing", record)
    return launched


def errors(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error: ")]


def test_finished_runs_are_done_and_aggregated(planned, tmp_path, capsys):
    assert reproduce_main(tmp_path) == 0 and (tmp_path / "verdicts.md").is_file()
    assert json.loads((tmp_path / pipeline.USED).read_text()) == sorted(p.name for p in planned)


def test_a_cut_metrics_file_makes_the_run_broken_naming_the_file(planned, tmp_path):
    path = planned[0].folder / "metrics.jsonl"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    p = state(tmp_path)
    assert p.state == "broken" and str(path) in p.problem and "cut" in p.problem


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[]", "holds list"),
        ('{"config": null}', "lacks"),
        ("{", "cut or not JSON"),
    ],
)
def test_a_malformed_result_json_makes_the_run_broken_not_another_configuration(
    planned, tmp_path, text, problem
):
    (planned[0].folder / "result.json").write_text(text)
    p = state(tmp_path)
    assert p.state == "broken" and "result.json" in p.problem and problem in p.problem


def test_a_broken_run_is_refused_up_front_with_the_file_and_the_way_out(planned, tmp_path, capsys):
    (planned[0].folder / "result.json").write_text("[]")
    assert reproduce_main(tmp_path) == 2
    (line,) = errors(capsys.readouterr().err)
    assert "result.json" in line and "pass --overwrite to move its damaged files aside" in line


def test_overwrite_moves_damaged_files_aside_and_a_good_checkpoint_resumes(
    planned, tmp_path, monkeypatch
):
    folder = planned[0].folder
    checkpoint(planned[0])
    (folder / "result.json").write_text("{")
    launched = recorded_launches(monkeypatch)
    reproduce_main(tmp_path, "--overwrite")
    assert (folder / "checkpoint.pt").is_file() and (
        folder / "result.json.damaged"
    ).read_text() == "{"
    assert launched[0][-1] == "--resume"


def test_overwrite_restarts_a_run_whose_checkpoint_is_damaged_and_keeps_it_aside(
    planned, tmp_path, monkeypatch
):
    folder = planned[0].folder
    (folder / "result.json").unlink()
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert state(tmp_path).state == "broken"
    launched = recorded_launches(monkeypatch)
    reproduce_main(tmp_path, "--overwrite")
    assert (folder / "checkpoint.pt.damaged").read_bytes() == b"not a checkpoint"
    assert launched[0][-1] == "--overwrite"


def test_a_checkpoint_of_another_variant_is_a_conflict_with_the_way_out(planned, tmp_path, capsys):
    folder = planned[0].folder
    (folder / "result.json").unlink()
    checkpoint(planned[0], variant="byol")
    assert state(tmp_path).state == "conflict" and "variant" in state(tmp_path).differs
    assert (
        reproduce_main(tmp_path) == 2 and "pass --overwrite" in errors(capsys.readouterr().err)[0]
    )


def test_outputs_are_kept_when_runs_they_were_made_from_did_not_finish_again(
    planned, tmp_path, monkeypatch, capsys
):
    assert reproduce_main(tmp_path) == 0
    kept = (tmp_path / "verdicts.md").read_text()
    (planned[1].folder / "result.json").unlink()  # as a rerun whose job failed leaves it
    monkeypatch.setattr(pipeline, "launch_missing", lambda *args: [])
    capsys.readouterr()
    assert reproduce_main(tmp_path) == 1
    err = capsys.readouterr().err
    assert (tmp_path / "verdicts.md").read_text() == kept
    assert "were kept" in err and planned[1].name in err


def test_a_cut_launch_record_is_one_line_naming_the_file(planned, tmp_path, capsys):
    (tmp_path / pipeline.LAUNCHES).write_text('{"date": "2026-01-01", "comm')
    assert reproduce_main(tmp_path) == 1
    (line,) = errors(capsys.readouterr().err)
    assert f"{tmp_path / pipeline.LAUNCHES} line 1 is cut" in line


@pytest.mark.parametrize(
    "option, value",
    [
        ("--seeds", "0"),
        ("--seeds", "-1"),
        ("--seeds", "1000000000"),
        ("--jobs", "0"),
        ("--jobs", "-1"),
    ],
)
def test_seeds_and_jobs_outside_their_bounds_are_refused_with_exit_2(
    planned, tmp_path, capsys, option, value
):
    with pytest.raises(SystemExit) as exit_:
        reproduce_main(tmp_path, option, value)
    assert exit_.value.code == 2 and option in capsys.readouterr().err


def test_an_out_that_is_a_file_is_one_line_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert reproduce.main(["table1", "--scale", "cpu", "--out", str(tmp_path / "file")]) == 2
    assert "not a folder" in errors(capsys.readouterr().err)[0]


def test_sigterm_while_jobs_run_stops_them_with_one_line_and_status_143(
    planned, tmp_path, monkeypatch, capsys
):
    (planned[0].folder / "result.json").unlink()

    def terminated(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the launch")

    monkeypatch.setattr(pipeline, "launch_missing", terminated)
    assert reproduce_main(tmp_path) == 143
    (line,) = errors(capsys.readouterr().err)
    assert "interrupted by SIGTERM" in line and "jobs were stopped" in line


SWEEP_SCRIPT = """
import sys
from training import reproduce
from training.reproduction import sweep
scale = sweep.Scale("tiny", {{"dataset": "cifar10", "subset": 8, "batch_size": 4, "image_size": 16,
    "width": 4, "probe_size": 6, "epochs": 1000, "linear_epochs": 1, "knn_bank": 8, "device": "cpu",
    "data_dir": {data!r}}}, seeds=1, jobs=2, threads=1, seconds_per_step=0.1, estimate="a guess")
sweep.SCALES["tiny"] = scale
sweep.TARGETS["figure1"] = (("byol-np", None), ("byol-lp", None))
sys.exit(reproduce.main(["figure1", "--scale", "tiny", "--out", {out!r}]))
"""


def test_ctrl_c_at_the_terminal_stops_the_jobs_with_one_line_and_no_traceback(cifar, tmp_path):
    script = SWEEP_SCRIPT.format(data=str(cifar), out=str(tmp_path / "sweep"))
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        while "started byol-lp" not in process.stdout.readline():
            assert process.poll() is None, process.stderr.read()
        time.sleep(3)  # the jobs are training
        os.killpg(
            process.pid, signal.SIGINT
        )  # as a terminal's Ctrl-C reaches every process of the group
        _, err = process.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    (line,) = errors(err)
    assert "interrupted by SIGINT" in line and "jobs were stopped" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_an_out_that_cannot_be_written_is_one_line_before_any_launch(tmp_path, capsys):
    tmp_path.chmod(0o500)
    try:
        code = reproduce.main(["table1", "--scale", "cpu", "--out", str(tmp_path / "sweep")])
    finally:
        tmp_path.chmod(0o700)
    assert code == 2 and "cannot be written" in errors(capsys.readouterr().err)[0]
