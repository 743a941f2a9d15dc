"""``python -m theory``: ids, the --json schema, unknown ids, --strict, --report."""

import json
import subprocess
import sys

import pytest

from theory import claims
from theory.__main__ import main

SCHEMA = {
    "id": str, "verdict": str, "source": str, "statement": str, "form": str, "cases": int,
    "sampled": int, "searched": int, "worst": float, "tolerance": float, "evidence": list,
    "seed": int, "depth": str, "replay": str, "seconds": float,
}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_claim_with_source_and_statement(capsys):
    code, out, _ = run(capsys, "list", "--json")
    listed = json.loads(out)["claims"]
    assert code == 0
    assert [c["id"] for c in listed] == [c.id for c in claims.all_claims()]
    assert {"thm4.1", "thm4.1-sym", "thm4.1-symsym", "tangent-remark"} <= {c["id"] for c in listed}
    assert all(c["source"] and c["statement"] and c["form"] for c in listed)


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "theory", "list"], capture_output=True, text=True, check=True
    )
    assert "thm4.1-symsym" in result.stdout


def test_unknown_id_is_one_error_line_naming_the_valid_ids(capsys):
    code, out, err = run(capsys, "verify", "thm4.1", "no-such-claim")
    assert code == 2
    assert out == ""
    (line,) = err.strip().splitlines()
    assert "no-such-claim" in line
    assert all(c.id in line for c in claims.all_claims())


@pytest.fixture(scope="module")
def tangent_json():
    result = subprocess.run(
        [sys.executable, "-m", "theory", "verify", "tangent-remark", "--json", "--seed", "3"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)


def test_json_is_one_document_with_the_verdict_schema(tangent_json):
    (v,) = tangent_json["claims"]
    for key, kind in SCHEMA.items():
        assert isinstance(v[key], kind), key
    assert v["verdict"] in claims.VERDICTS
    assert v["cases"] == v["sampled"] + v["searched"] and v["sampled"] > 0 and v["searched"] > 0
    assert v["seed"] == 3 and v["depth"] == "default"
    assert v["replay"] == "python -m theory verify tangent-remark --seed 3"
    assert "counterexample" in v


def test_strict_exits_1_exactly_when_a_verdict_is_not_holds(capsys, tmp_path):
    report = tmp_path / "report.md"
    code, out, _ = run(capsys, "verify", "thm4.1-sym", "--json", "--report", str(report))
    (v,) = json.loads(out)["claims"]
    assert code == 0
    strict_code, _, _ = run(capsys, "verify", "thm4.1-sym", "--strict")
    assert strict_code == (0 if v["verdict"] == "holds" else 1)

    text = report.read_text()
    assert "| `thm4.1-sym` |" in text and f"**{v['verdict']}**" in text
    assert "commit" in text and "seed 0" in text
    assert "python -m theory verify thm4.1-sym --seed 0" in text


def test_same_seed_same_verdict(capsys):
    first = json.loads(run(capsys, "verify", "tangent-remark", "--json", "--seed", "5")[1])
    second = json.loads(run(capsys, "verify", "tangent-remark", "--json", "--seed", "5")[1])
    for v in (first, second):
        v["claims"][0].pop("seconds")
    assert first == second
