"""The committed CPU-scale sweep, ``results/cpu`` (``python -m training.reproduce all --scale cpu
--seeds 3 --out results/cpu``): every run is there and done, so the same command launches
nothing, and what the committed runs give now is what was committed: the tables, their CSV and
the verdicts, word for word. Changing an empirical claim, its rule, a table or a run's files
without rerunning the command fails here."""

import argparse
from pathlib import Path

import pytest

from training.reproduction import pipeline, published, sweep

RESULTS = Path(__file__).resolve().parents[3] / "results" / "cpu"
OUTPUTS = [f"{t}.{kind}" for t in published.TABLES for kind in ("md", "csv")] + ["verdicts.md"]

pytestmark = pytest.mark.skipif(not RESULTS.is_dir(), reason="no committed CPU-scale sweep")


def planned():
    return sweep.plan("all", sweep.SCALES["cpu"], 3, RESULTS)


def test_every_run_of_the_committed_sweep_is_done_so_a_rerun_launches_nothing():
    assert {p.name: p.state for p in planned()} == {p.name: "done" for p in planned()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """The outputs written afresh from the committed runs."""
    out = tmp_path_factory.mktemp("regenerated")
    args = argparse.Namespace(target="all", units=published.DEFAULT_UNITS, markdown=None)
    runs = pipeline.load(planned())
    assert pipeline.write_outputs(args, sweep.SCALES["cpu"], planned(), runs, out, 0, []) == 0
    return out


@pytest.mark.parametrize("name", OUTPUTS)
def test_the_committed_runs_give_the_committed_outputs(regenerated, name):
    assert (regenerated / name).read_text() == (RESULTS / name).read_text()
