"""The aggregation of training.reproduction.pipeline on hand-made run folders: the tables beside the
paper's numbers (Markdown and CSV), the verdict report, and the figures."""

import csv
import io

import numpy as np
import pytest

from training import reproduce
from training.reproduction import figures, pipeline, sweep, tables

PNG = b"\x89PNG\r\n\x1a\n"


def _record(folder, align, uniform, accuracy, epochs=12, knn=0.5):
    folder.mkdir(parents=True, exist_ok=True)
    history = [
        {
            "epoch": e,
            "step": 10 * e,
            "loss": None if e == 0 else 1.0 / e,
            "align": align,
            "uniform": uniform - 0.01 * e,
            "knn_acc": knn,
        }
        for e in range(epochs + 1)
    ]
    result = {
        "last_10_epochs": {"align": align, "uniform": uniform},
        "linear_acc": accuracy,
        "linear_acc_last10": accuracy,
        "final": history[-1],
        "steps": 10 * epochs,
        "train_seconds": 5.0,
        "linear_seconds": 1.0,
    }
    return pipeline.FinishedRun(folder, result, history)


@pytest.fixture
def runs(tmp_path):
    """BYOL-NP at three seeds, BYOL-LP at one, as a sweep would have them."""
    np_runs = {
        s: _record(tmp_path / f"np{s}", 2e-8 * (s + 1), -0.01, a)
        for s, a in enumerate((0.2121, 0.2221, 0.2321))
    }
    return {
        ("byol-np", None): np_runs,
        ("byol-lp", None): {0: _record(tmp_path / "lp", 0.1, -2.0, 0.68)},
    }


def test_a_table_row_puts_our_mean_over_seeds_beside_the_papers_number(runs):
    row = next(r for r in tables.published.TABLE1 if r.variant == "byol-np")
    values = tables.row_values(row, runs, "per-dimension")
    assert values["seeds"] == 3
    assert values["align_ours"] == pytest.approx(4e-8 / 128)  # eq. 2 → the authors' units
    assert values["align_decades"] == pytest.approx(np.log10(4e-8 / 128 / 1.94e-10))
    assert values["acc_ours"] == pytest.approx(22.21) and values["acc_ours_std"] == pytest.approx(
        1.0
    )
    assert values["acc_diff_in_paper_std"] == pytest.approx((22.21 - 20.92) / 1.29)


def test_the_units_option_converts_the_alignment_as_the_authors_later_logger(runs):
    row = next(r for r in tables.published.TABLE1 if r.variant == "byol-lp")
    assert tables.row_values(row, runs, "batch-sum")["align_ours"] == pytest.approx(0.1 * 64 / 128)


def test_the_markdown_and_csv_tables_have_a_row_per_paper_row_and_say_which_definitions(runs):
    text = tables.markdown("table1", runs, "per-dimension", "a setting")
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + 13 and "eq. 2 × 0.0078" in text and "not over seeds" in text
    assert any(line.startswith("| BYOL-NP | I | – | – | 3 |") for line in lines)
    rows = list(csv.DictReader(io.StringIO(tables.csv_text("table3", runs, "per-dimension"))))
    assert len(rows) == 13 and rows[0]["model"] == "Rand-Baseline" and rows[0]["seeds"] == "0"
    assert tuple(rows[0]) == tables.COLUMNS


def test_the_verdict_report_states_the_rule_and_each_claim(runs):
    found = tables.empirical.assess(runs)
    text = tables.verdict_markdown(found, "a setting")
    assert "Welch" in text and "Hedges' g" in text and "| BYOL-NP collapses |" in text
    title = "RAFT works as well as BYOL' (linear accuracy), with an MLP and a linear predictor"
    assert f"| {title} | Section 4.2, Table 1 | inconclusive: runs missing |" in text


def test_the_figures_are_written_as_png(runs, tmp_path):
    for group in runs.values():
        for record in group.values():
            z = np.random.default_rng(0).normal(size=(20, 128)).astype(np.float32)
            np.savez(record.folder / sweep.REPRESENTATIONS, z=z, labels=np.arange(20) % 10)
    runs[("byol", None)] = runs[("byol-lp", None)]
    runs[("raft-np", 10.0)] = runs[("byol-np", None)]
    for name, draw in pipeline.FIGURES.items():
        draw(runs, tmp_path / f"{name}.png", "a setting")
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG


def test_a_collapsed_representation_is_one_point_on_the_circle_and_a_spread_one_is_not():
    rng = np.random.default_rng(0)
    collapsed = np.ones((200, 128)) + 1e-3 * rng.normal(size=(200, 128))
    spread = rng.normal(size=(200, 128))
    spread_of = lambda angles: 1 - abs(np.exp(1j * angles).mean())  # circular variance
    assert spread_of(figures.circle_angles(collapsed)) < 1e-3
    assert spread_of(figures.circle_angles(spread)) > 0.5


def _write_run(planned, accuracy):
    """A finished run's files as training.run and the job leave them, made by hand."""
    import json

    planned.folder.mkdir(parents=True)
    history = [
        {
            "epoch": e,
            "step": 2 * e,
            "loss": None if e == 0 else 0.5,
            "align": 2e-3,
            "uniform": -2.0,
            "knn_acc": 0.5,
        }
        for e in range(2)
    ]
    result = {
        "config": planned.config,
        "variant": planned.variant,
        "final": history[-1],
        "last_10_epochs": {"align": 2e-3, "uniform": -2.0},
        "linear_acc": accuracy,
        "linear_acc_last10": accuracy,
        "steps": 2,
        "train_seconds": 1.0,
        "linear_seconds": 1.0,
        "epochs_trained": 1,
    }
    (planned.folder / "result.json").write_text(json.dumps(result))
    (planned.folder / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in history))
    z = np.random.default_rng(0).normal(size=(6, 128)).astype(np.float32)
    np.savez(planned.folder / sweep.REPRESENTATIONS, z=z, labels=np.arange(6))


def test_hand_made_run_files_where_raft_is_far_below_byolp_give_not_supported(
    tmp_path, monkeypatch, capsys
):
    scale = sweep.Scale(
        "files",
        {"dataset": "cifar10", "epochs": 1, "device": "cpu"},
        seeds=3,
        jobs=1,
        threads=1,
        seconds_per_step=None,
        estimate="none",
    )
    monkeypatch.setitem(sweep.SCALES, "files", scale)
    monkeypatch.setitem(sweep.TARGETS, "figure5", (("raft", 1.0), ("byol'", 1.0)))
    accuracies = {"raft": (0.555, 0.560, 0.552), "byol'": (0.692, 0.700, 0.689)}
    for planned in sweep.plan("figure5", scale, 3, tmp_path):
        _write_run(planned, accuracies[planned.variant][planned.seed])
    assert reproduce.main(["figure5", "--scale", "files", "--out", str(tmp_path)]) == 0
    assert "nothing to launch" in capsys.readouterr().out
    text = (tmp_path / "verdicts.md").read_text()
    title = "RAFT works as well as BYOL' (linear accuracy), with an MLP and a linear predictor"
    assert f"| {title} | Section 4.2, Table 1 | not supported |" in text
    assert "p = " in text and "Hedges' g = " in text
    assert (tmp_path / "figure5.png").read_bytes()[:8] == PNG


def test_the_circle_spread_is_near_1_for_uniform_angles_and_0_for_one_place():
    angles = np.random.default_rng(0).uniform(-np.pi, np.pi, 512)
    assert figures.spread(angles) > 0.97 and figures.spread(np.zeros(512)) == 0.0
