"""The pins come from the records, by a rule that keeps every measurement inside its band
(bench/cpu_paths.py; docs/decision-rule.md#other-cpus)."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("cpu_paths", REPO / "bench" / "cpu_paths.py")
cpu_paths = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cpu_paths)


def _record(cpu, **worsts):
    claims = [
        {
            "id": i,
            "verdict": "holds",
            "tolerance": 100.0,
            "worst": w,
            "cases": 10,
            "sampled": 5,
            "searched": 5,
        }
        for i, w in worsts.items()
    ]
    return {"cpu": cpu, "path": "native", "environment": {}, "claims": claims}


def test_the_committed_pins_are_what_the_committed_records_give():
    records = cpu_paths.read_records(sorted((REPO / "tests" / "data" / "cpu-paths").iterdir()))
    assert json.loads(
        (REPO / "tests" / "data" / "verdicts-seed0.json").read_text()
    ) == cpu_paths.pin(records)


def test_a_value_every_path_reproduces_is_pinned_exactly():
    assert cpu_paths.band([0.5, 0.5, 0.5]) == [0.5, 0.5]


def test_a_band_holds_every_measurement_and_as_much_again_on_a_log_scale():
    assert cpu_paths.band([1.0, 4.0]) == [0.25, 16.0]


def test_a_claim_is_pinned_from_the_records_that_hold_it():
    pinned = cpu_paths.pin([_record("A", old=1.0, new=2.0), _record("B", old=2.0)])["claims"]
    assert [(c["id"], c["records"], c["cpus"]) for c in pinned] == [
        ("old", 2, ["A", "B"]),
        ("new", 1, ["A"]),
    ]


def test_a_verdict_that_differs_between_paths_is_refused():
    other = _record("B", x=1.0)
    other["claims"][0]["verdict"] = "fails"
    with pytest.raises(SystemExit, match="x's verdict differs"):
        cpu_paths.pin([_record("A", x=1.0), other])
