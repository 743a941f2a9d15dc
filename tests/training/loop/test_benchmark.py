"""``python -m training.bench`` on the CPU at a tiny size: both paths run, and the JSON report has
its schema with sensible values. (The figures themselves are measured by running the bench, not
by tests.)"""

import json

import pytest

from training import bench
from training.loop import benchmark

TINY = [
    "--device",
    "cpu",
    "--image-size",
    "16",
    "--batch-size",
    "4",
    "--width",
    "2",
    "--steps",
    "2",
    "--warmup",
    "1",
    "--dataset-size",
    "12",
]
PATH_KEYS = {
    "images_per_second",
    "step_seconds",
    "epoch_seconds",
    "split_seconds_per_step",
    "peak_memory",
    "loss_finite",
}


pytestmark = pytest.mark.usefixtures("keep_threads")  # the bench sets its own thread count


def _report(capsys, *options):
    assert bench.main([*TINY, *options, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_both_paths_and_the_linear_evaluation_report_their_schema(capsys):
    report = _report(capsys, "--workers", "1", "--linear-epochs", "2", "--threads", "1")
    assert {
        "device",
        "device_name",
        "torch",
        "date",
        "config",
        "split_timer",
        "steps_per_epoch",
        "fast",
        "reference",
        "speedup",
        "linear",
    } <= set(report)
    assert report["device"] == "cpu" and report["split_timer"] == "perf_counter"
    assert (
        report["torch_threads"] == 1 and report["steps_per_epoch"] == 3
    )  # 12 images, batches of 4
    assert report["config"]["speed"] == {
        "bf16": False,
        "channels_last": False,
        "compile": False,
        "fp64": False,
    }
    for name in ("fast", "reference"):
        path = report[name]
        assert PATH_KEYS <= set(path), name
        assert path["loss_finite"] is True
        assert path["images_per_second"] > 0 and path["step_seconds"] > 0
        assert path["images_per_second"] == pytest.approx(4 / path["step_seconds"])
        assert path["epoch_seconds"] == pytest.approx(3 * path["step_seconds"])
        split = path["split_seconds_per_step"]
        assert set(split) == set(benchmark.REGIONS) and all(v >= 0 for v in split.values())
        # the regions tile the step: their sum is the wall time, up to the timer's own calls
        assert sum(split.values()) == pytest.approx(path["step_seconds"], rel=0.2)
        assert path["peak_memory"]["bytes"] > 0
    assert report["speedup"] == pytest.approx(
        report["fast"]["images_per_second"] / report["reference"]["images_per_second"]
    )
    linear = report["linear"]
    assert linear["epochs"] == 2 and linear["train_features"] == 12 and linear["dim"] == 16
    assert linear["seconds"] > 0


def test_reference_with_v2_transforms_and_no_workers_and_a_printed_summary(capsys):
    report = _report(
        capsys,
        "--paths",
        "reference",
        "--workers",
        "0",
        "--reference-transforms",
        "v2",
        "--augment",
        "simclr",
        "--variant",
        "raft-lp",
    )
    assert "fast" not in report and "speedup" not in report
    assert report["reference"]["loss_finite"] and report["config"]["variant"] == "raft-lp"
    assert bench.main([*TINY, "--paths", "fast"]) == 0
    printed = capsys.readouterr().out
    assert "images/s" in printed and "fast" in printed and "forward_backward" in printed


@pytest.mark.parametrize(
    "options, message",
    [
        (["--steps", "0"], "--steps must be ≥ 1"),
        (["--paths", "fast,slow"], "--paths"),
        (["--variant", "simsiam"], "simsiam"),
        (["--variant", "rand-baseline"], "does not train"),
        (["--dataset-size", "2"], "--dataset-size"),
        (["--threads", "-1"], "--threads must be ≥ 1"),
    ],
)
def test_bad_options_exit_2(capsys, options, message):
    assert bench.main([*TINY, *options]) == 2
    assert message in capsys.readouterr().err


def test_the_markdown_table_goes_into_the_named_block(tmp_path, capsys):
    from theory import report

    page = tmp_path / "performance.md"
    page.write_text(f"{report.begin_marker('cpu-tiny')}\n{report.end_marker('cpu-tiny')}\n")
    assert (
        bench.main([*TINY, "--linear-epochs", "1", "--markdown", str(page), "--block", "cpu-tiny"])
        == 0
    )
    text = page.read_text()
    assert "| fast |" in text and "| reference |" in text and "fast / reference" in text
    assert (
        "Written by `python -m training.bench --device cpu" in text and "Linear evaluation" in text
    )


def test_a_page_without_the_block_is_refused_before_the_bench_runs(tmp_path, capsys):
    page = tmp_path / "performance.md"
    page.write_text("no block\n")
    assert bench.main([*TINY, "--markdown", str(page), "--block", "cpu-tiny"]) == 2
    assert "no block to rewrite" in capsys.readouterr().err
