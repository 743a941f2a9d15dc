"""``python -m training.reproduce`` end to end through submitit's real LocalExecutor, on a
tiny sweep (2 variants × 2 seeds of 2 steps on generated CIFAR10 files): failed and killed
jobs are reported with their logs and do not stop the others, the killed ones resume, a rerun
launches nothing; and the plan, its refusals and the Slurm executor's settings."""

import json
import os
from pathlib import Path

import pytest

from theory import parallel
from training import reproduce
from training.reproduction import jobs, pipeline, sweep

TINY = {
    "dataset": "cifar10",
    "subset": 8,
    "batch_size": 4,
    "image_size": 16,
    "width": 4,
    "probe_size": 6,
    "epochs": 1,
    "linear_epochs": 2,
    "knn_bank": 8,
    "device": "cpu",
}
PAIR = (("byol-np", None), ("byol-lp", None))


@pytest.fixture
def tiny(cifar, monkeypatch):
    """A 'tiny' scale, and Figure 1 cut to two variants."""
    scale = sweep.Scale(
        "tiny",
        {**TINY, "data_dir": str(cifar)},
        seeds=2,
        jobs=4,
        threads=1,
        seconds_per_step=0.1,
        estimate="a guess for the tests",
    )
    monkeypatch.setitem(sweep.SCALES, "tiny", scale)
    monkeypatch.setitem(sweep.TARGETS, "figure1", PAIR)
    return scale


def _reproduce(out, *extra):
    return reproduce.main(["figure1", "--scale", "tiny", "--out", str(out), "--jobs", "4", *extra])


def _kill_one(monkeypatch, name):
    """Submit run ``name``'s job with training.run's test-only fault: SIGKILL in the middle of
    the write of epoch 1's checkpoint (the others run normally)."""
    start = jobs._start

    def start_with_a_fault(executor, planned, *args):
        with monkeypatch.context() as m:
            if planned.name == name:
                m.setenv("RAFT_VERIFY_FAULT", "kill@1")
            return start(executor, planned, *args)

    monkeypatch.setattr(jobs, "_start", start_with_a_fault)


def test_a_sweep_reports_failures_resumes_the_killed_job_and_then_launches_nothing(
    tiny, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "sweep"
    broken = out / "runs" / "byol-lp-s1"
    broken.mkdir(parents=True)
    (broken / "metrics.jsonl").write_text("{}\n")  # a stray file training.run will not start over
    with monkeypatch.context() as m:
        _kill_one(m, "byol-np-s0")
        assert _reproduce(out, "--pack", "1") == 1
    first = capsys.readouterr()
    assert first.err.count("failed (job") == 2 and "nothing to resume" in first.err
    assert "finished byol-np-s1" in first.out and "finished byol-lp-s0" in first.out
    (broken / "metrics.jsonl").unlink()
    assert _reproduce(out, "--pack", "1") == 0
    second = capsys.readouterr().out
    assert "started byol-np-s0 (resume)" in second and "started byol-lp-s1 (new)" in second
    assert second.count("as job") == 2
    for name in ("byol-np-s0", "byol-np-s1", "byol-lp-s0", "byol-lp-s1"):
        metrics = (out / "runs" / name / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(m)["epoch"] for m in metrics] == [0, 1]
    assert drawn(out) == {"byol-np-s0": True, "byol-np-s1": True, "byol-lp-s0": False}
    jobs = set((out / "jobs").iterdir())
    assert _reproduce(out) == 0
    assert "nothing to launch" in capsys.readouterr().out and set((out / "jobs").iterdir()) == jobs
    assert "BYOL-NP collapses" in (out / "verdicts.md").read_text()
    assert (out / "figure1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_packed_sweep_trains_each_configurations_seeds_as_one_job(tiny, tmp_path, capsys):
    assert _reproduce(tmp_path) == 0
    printed = capsys.readouterr().out
    assert "started byol-np-s0,1 (new)" in printed and printed.count("as job") == 2
    assert drawn(tmp_path) == {"byol-np-s0": True, "byol-np-s1": True, "byol-lp-s0": False}
    assert _reproduce(tmp_path) == 0 and "nothing to launch" in capsys.readouterr().out


def drawn(out) -> dict:
    """Whether each of three runs holds Figure 5's representations (byol-np is Figure 5's)."""
    names = ("byol-np-s0", "byol-np-s1", "byol-lp-s0")
    return {name: (out / "runs" / name / sweep.REPRESENTATIONS).is_file() for name in names}


def test_the_plan_prints_its_packing(tiny, tmp_path, capsys):
    assert _reproduce(tmp_path, "--dry-run", "--seeds", "3", "--pack", "2") == 0
    assert "packing: 4 jobs, 2 of them batches" in capsys.readouterr().out


def test_the_plan_names_each_run_and_knows_what_its_folder_holds(tiny, tmp_path):
    planned = sweep.plan("table3", tiny, 1, tmp_path)
    names = [p.name for p in planned]
    assert "raft-np-b100-s0" in names and "byolp-np-b10-s0" in names and "rand-baseline-s0" in names
    assert {p.state for p in planned} == {"new"}
    raft = next(p for p in planned if p.name == "raft-b0.1-s0")
    assert raft.config["beta"] == 0.1 and raft.argv()[-1] == "--resume" and raft.steps == 2


def test_a_finished_run_of_another_configuration_is_refused_without_overwrite(
    tiny, tmp_path, capsys
):
    planned = sweep.plan("figure1", tiny, 1, tmp_path)
    folder = planned[0].folder
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({"config": {**planned[0].config, "lr": 1.0}}))
    assert sweep.plan("figure1", tiny, 1, tmp_path)[0].state == "conflict"
    assert _reproduce(tmp_path, "--seeds", "1") == 2
    assert "pass --overwrite" in capsys.readouterr().err


def test_a_dry_run_prints_the_plan_and_its_cost_and_launches_nothing(tiny, tmp_path, capsys):
    assert _reproduce(tmp_path, "--dry-run") == 0
    printed = capsys.readouterr().out
    assert "4 runs: 0 done, 0 to resume, 4 new" in printed and "4 steps" in printed  # 2 jobs of 2
    assert not (tmp_path / "jobs").exists()


def test_training_run_options_after_the_separator_reach_every_run_and_the_plans_own_are_refused(
    tiny, tmp_path, capsys
):
    planned = sweep.plan("figure1", tiny, 1, tmp_path, sweep.extra_options(["--lr", "0.001"]))
    assert all(p.config["lr"] == 0.001 and "--lr" in p.argv() for p in planned)
    assert _reproduce(tmp_path, "--", "--seed", "3") == 2
    assert "the plan sets seed itself" in capsys.readouterr().err


def test_the_slurm_executor_asks_for_the_partition_time_gpus_and_array(tmp_path, monkeypatch):
    (tmp_path / "srun").write_text("#!/bin/sh\nexit 0\n")  # submitit looks for srun on the PATH
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{Path('/usr/bin')}:{Path('/bin')}")
    executor = jobs.slurm_executor(
        tmp_path / "jobs", partition="gpu", time_min=90, gpus=1, cpus=6, parallelism=3
    )
    assert executor._executor.parameters == {
        "time": 90,
        "gpus_per_node": 1,
        "cpus_per_task": 6,
        "job_name": "raft-verify",
        "array_parallelism": 3,
        "partition": "gpu",
    }


def test_other_sbatch_options_reach_the_executor(tmp_path, monkeypatch):
    (tmp_path / "srun").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    args = reproduce.parser().parse_args(
        [
            "table1",
            "--launcher",
            "slurm",
            "--slurm-option",
            "account=abc",
            "--slurm-option",
            "qos=high",
        ]
    )
    executor = pipeline.slurm_executor(args, tmp_path, at_once=5)
    assert executor._executor.parameters["additional_parameters"] == {
        "account": "abc",
        "qos": "high",
    }
    assert executor._executor.parameters["array_parallelism"] == 5


def test_slurm_without_slurm_is_one_line_and_exit_2(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert _reproduce(tmp_path, "--launcher", "slurm") == 2
    assert "--launcher slurm" in capsys.readouterr().err


class _RecordingExecutor:
    """Stands for submitit's LocalExecutor: records the BLAS pool size a job would inherit."""

    def __init__(self, folder):
        self.folder, self.seen = folder, []

    def submit(self, *args):
        self.seen.append({name: os.environ.get(name) for name in parallel.THREAD_VARIABLES})
        return type("Job", (), {"job_id": "1"})()


def test_a_local_job_inherits_blas_pools_of_the_scales_threads_and_the_launcher_keeps_its_own(
    tiny, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")
    job = sweep.pack(sweep.plan("figure1", tiny, 1, tmp_path), overwrite=False, most=1)[0]
    executor = _RecordingExecutor(tmp_path)
    jobs._start(executor, job, train=None, slot=0, gpus=0, threads=1, echo=lambda line: None)
    assert executor.seen == [dict.fromkeys(parallel.THREAD_VARIABLES, "1")]
    assert os.environ["OPENBLAS_NUM_THREADS"] == "7"
