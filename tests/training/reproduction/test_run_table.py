"""``python -m training.summary``: finished runs side by side, on hand-made run folders."""

import json

from theory import report
from training import summary


def _run(folder, variant, aligns):
    folder.mkdir()
    history = [
        {"epoch": e, "align": a, "uniform": -a, "eff_rank": 10.0 - e} for e, a in enumerate(aligns)
    ]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in history))
    config = {"dataset": "fashion-mnist", "image_size": 32, "width": 8, "batch_size": 64}
    (folder / "result.json").write_text(
        json.dumps(
            {
                "variant": variant,
                "epochs_trained": len(aligns) - 1,
                "steps": 64 * (len(aligns) - 1),
                "linear_acc": 0.7,
                "train_seconds": 10.0,
                "linear_seconds": 2.0,
                "config": config,
                "train_images": 4096,
                "device": "cpu",
                "torch": "2.x",
            }
        )
    )
    return str(folder)


def test_a_row_per_run_with_each_metric_from_epoch_1_to_the_last(tmp_path, capsys):
    runs = [
        _run(tmp_path / "np", "byol-np", [1.2, 0.03, 0.01]),
        _run(tmp_path / "lp", "byol-lp", [1.2, 0.02, 0.02]),
    ]
    assert summary.main(runs) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["variant", "epochs"]
    assert "0.03 → 0.01" in out[1] and out[1].startswith("byol-np") and "9 → 8" in out[1]


def test_the_markdown_table_goes_into_the_named_block(tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_text(f"x\n{report.begin_marker('recipe')}\n{report.end_marker('recipe')}\ny\n")
    assert (
        summary.main(
            [
                _run(tmp_path / "np", "byol-np", [1.0, 0.5]),
                "--markdown",
                str(page),
                "--block",
                "recipe",
            ]
        )
        == 0
    )
    text = page.read_text()
    assert (
        "| byol-np | 1 | 64 | 0.5 |" in text and "--block recipe" in text and text.endswith("y\n")
    )


def test_an_unfinished_run_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "half").mkdir()
    assert summary.main([str(tmp_path / "half")]) == 2
    assert "no finished run" in capsys.readouterr().err


def test_a_cut_metrics_file_is_one_line_naming_it(tmp_path, capsys):
    folder = _run(tmp_path / "np", "byol-np", [1.0, 0.5, 0.2])
    metrics = tmp_path / "np" / "metrics.jsonl"
    metrics.write_text(metrics.read_text()[:-10])
    assert summary.main([folder]) == 2
    err = capsys.readouterr().err
    assert str(metrics) in err and "Traceback" not in err


def test_a_result_without_linear_accuracy_shows_a_dash(tmp_path, capsys):
    folder = _run(tmp_path / "np", "byol-np", [1.0, 0.5])
    result = json.loads((tmp_path / "np" / "result.json").read_text())
    del result["linear_acc"]
    (tmp_path / "np" / "result.json").write_text(json.dumps(result))
    assert summary.main([folder]) == 0 and "–" in capsys.readouterr().out.splitlines()[1]
