"""bench/device_check.py, the GPU check, runs end to end on the CPU at tiny sizes (--quick), so
that its Python is known to run before it spends a GPU machine's minutes."""

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _driver():
    spec = importlib.util.spec_from_file_location(
        "device_check", REPO / "bench" / "device_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_device_check_runs_every_stage_and_writes_its_report(tmp_path, capsys, keep_threads):
    assert _driver().main(["--quick", "--device", "cpu", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "device_check.json").read_text())
    stages = report["stages"]
    ran, skipped = (
        ("environment", "no_sync", "bench", "real"),
        ("bench_fp32", "real_fp32", "compile"),
    )
    assert [stages[s]["status"] for s in ran] == ["ok"] * 4, stages
    assert all(stages[s]["status"] == "skipped: --quick" for s in skipped)
    assert stages["environment"]["flops_per_step"] > 0
    bench = stages["bench"]["report"]
    assert bench["fast"]["loss_finite"] and bench["reference"]["loss_finite"]
    assert bench["linear"]["seconds"] > 0
    runs = stages["real"]["runs"]
    assert set(runs) == {"byol-np", "byol-lp"} and report["fashion_mnist"]["synthetic"]
    assert all([m["epoch"] for m in r["metrics"]] == [0, 1] for r in runs.values())
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["curves-byol-lp.png", "curves-byol-np.png", "device_check.json", "summary.md"]
    summary = (tmp_path / "summary.md").read_text()
    assert "fast / reference" in summary and "SYNTHETIC" in summary and "byol-lp" in summary
    assert summary.strip() in capsys.readouterr().out
