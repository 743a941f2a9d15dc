"""``python -m theory``: ids, the --json schema, --strict, --report and --summary, and every bad
input or interruption as one line with its exit status. Cheap claims keep it fast:
appH-stationary and appH-joint hold in a fraction of a second, thm5.1-np fails as fast."""

import json
import signal
import subprocess
import sys

import pytest

from theory import claims, report
from theory.__main__ import main

SCHEMA = {
    "id": str,
    "verdict": str,
    "source": str,
    "statement": str,
    "form": str,
    "cases": int,
    "sampled": int,
    "searched": int,
    "worst": float,
    "tolerance": float,
    "evidence": list,
    "facts": list,
    "seed": int,
    "depth": str,
    "replay": str,
    "seconds": float,
}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def theory(*argv, **options):
    return subprocess.Popen(
        [sys.executable, "-m", "theory", *argv],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **options,
    )


def one_error_line(err: str) -> str:
    (line,) = [x for x in err.splitlines() if not x.startswith("checking ")]
    assert line.startswith("error: ") and "Traceback" not in err
    return line


def test_list_names_every_claim_with_source_and_statement(capsys):
    code, out, _ = run(capsys, "list", "--json")
    listed = json.loads(out)["claims"]
    assert code == 0
    assert [c["id"] for c in listed] == [c.id for c in claims.all_claims()]
    assert all(c["title"] and c["source"] and c["statement"] and c["form"] for c in listed)


def test_unknown_id_is_one_error_line_naming_the_valid_ids(capsys):
    code, out, err = run(capsys, "verify", "thm4.1", "no-such-claim")
    assert (code, out) == (2, "")
    line = one_error_line(err)
    assert "no-such-claim" in line and all(c.id in line for c in claims.all_claims())


def test_json_is_one_document_with_the_verdict_schema_from_the_module_entry_point():
    out, _ = theory("verify", "appH-stationary", "--json", "--seed", "3").communicate()
    (v,) = json.loads(out)["claims"]
    for key, kind in SCHEMA.items():
        assert isinstance(v[key], kind), key
    assert v["verdict"] in claims.VERDICTS and "counterexample" in v
    assert v["cases"] == v["sampled"] + v["searched"] and v["sampled"] > 0 and v["searched"] > 0
    assert v["seed"] == 3 and v["depth"] == "default"
    assert v["replay"] == "python -m theory verify appH-stationary --seed 3"
    assert len(v["evidence"]) == len(v["facts"]) and all(isinstance(e, str) for e in v["evidence"])


@pytest.mark.parametrize("claim_id, code", [("appH-joint", 0), ("thm5.1-np", 1)])
def test_strict_exits_1_exactly_when_a_verdict_is_not_holds(capsys, claim_id, code):
    assert run(capsys, "verify", claim_id, "--strict")[0] == code


def test_report_holds_what_a_citation_needs(capsys, tmp_path):
    path = tmp_path / "report.md"
    code, _, _ = run(capsys, "verify", "thm5.1-np", "--report", str(path))
    text = path.read_text()
    assert code == 0 and "| `thm5.1-np` |" in text and "**fails**" in text
    assert (
        "commit" in text
        and "seed 0" in text
        and "python -m theory verify thm5.1-np --seed 0" in text
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]  # no temporary file left


def test_summary_rewrites_only_the_block_between_its_markers(capsys, tmp_path):
    path = tmp_path / "README.md"
    begin, end = report.begin_marker(report.SUMMARY), report.end_marker(report.SUMMARY)
    path.write_text(f"# title\n{begin}\nold table\n{end}\nafter\n")
    assert run(capsys, "verify", "appH-joint", "--summary", str(path))[0] == 0
    text = path.read_text()
    assert text.startswith(f"# title\n{begin}\n") and text.endswith(f"{end}\nafter\n")
    (row,) = [line for line in text.splitlines() if "`appH-joint`" in line]
    assert "old table" not in text and row.startswith("| [`appH-joint`](") and "| holds |" in row


@pytest.mark.parametrize(
    "option, target, message",
    [
        ("--report", "missing/report.md", "does not exist"),
        ("--report", ".", "is a folder"),
        ("--summary", "README-without-markers.md", "no block to rewrite"),
        ("--summary", "absent.md", "does not exist"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    capsys, tmp_path, option, target, message
):
    (tmp_path / "README-without-markers.md").write_text("# no markers\n")
    code, out, err = run(capsys, "verify", "thm4.1", option, str(tmp_path / target))
    assert (code, out) == (2, "") and "checking" not in err
    assert message in one_error_line(err)


@pytest.mark.parametrize("seed", ["-1", str(2**32), "seven"])
def test_a_seed_out_of_range_is_one_line_before_any_work(capsys, seed):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", "--seed", seed])
    _, err = capsys.readouterr()
    assert exit_.value.code == 2 and "--seed" in one_error_line(err)


def test_every_claim_accepts_the_largest_seed():
    assert (
        claims.Effort(seed=2**32 - 1).rng() is not None
        and claims.Effort(seed=2**32 - 1).torch_generator()
    )
    with pytest.raises(ValueError, match="2\\*\\*32"):
        claims.Effort(seed=2**32)


def test_a_closed_pipe_ends_quietly_with_one_line():
    process = theory("list", "--json")
    process.stdout.close()  # the reader is gone before a byte is written
    err = process.stderr.read()
    assert process.wait() == 1
    assert "closed" in one_error_line(err)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_interrupted_verification_says_so_in_one_line_and_writes_nothing(tmp_path, jobs):
    path = tmp_path / "report.md"
    # As from a terminal: a shell without job control starts background jobs with SIGINT
    # ignored, and Python then keeps ignoring it (CI may run the suite so).
    process = theory(
        "verify",
        "thm4.1",
        "thm4.1-sym",
        "--jobs",
        jobs,
        "--report",
        str(path),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr.readline().startswith("checking thm4.1")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate()
    assert process.returncode == 130 and out == "" and not path.exists()
    assert "interrupted after 0 of 2 claims" in one_error_line(err)


def test_same_seed_same_verdict(capsys):
    first = json.loads(run(capsys, "verify", "appH-joint", "--json", "--seed", "5")[1])
    second = json.loads(run(capsys, "verify", "appH-joint", "--json", "--seed", "5")[1])
    for v in (first, second):
        v["claims"][0].pop("seconds")
    assert first == second
