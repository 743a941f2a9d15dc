"""The JSON helpers of training.loop.outputs: non-finite numbers as null, and JSON Lines appended
one line at a time, a failed write one clear RunFailed."""

import json
import math

import pytest

from training.loop import config, outputs


def test_finite_writes_every_non_finite_number_as_null_at_any_depth():
    assert outputs.finite({"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": 2}) == {
        "a": None,
        "b": [1.0, None, {"c": None}],
        "d": 2,
    }


def test_append_jsonl_adds_one_line_per_call(tmp_path):
    path = tmp_path / "log.jsonl"
    outputs.append_jsonl(path, {"n": 1})
    outputs.append_jsonl(path, {"n": 2})
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 2]


def test_append_jsonl_into_a_missing_folder_is_run_failed(tmp_path):
    with pytest.raises(config.RunFailed, match="cannot write"):
        outputs.append_jsonl(tmp_path / "missing" / "log.jsonl", {"n": 1})
