"""A plugin's checker cannot silence or spoil a run: an exit, a malformed Finding, printing, a
hang are that claim's error (one line naming the plugin, exit 1) while the other claims run;
replay commands are shell-safe and a repeated id is checked once."""

import json
import shlex
import subprocess
import sys

import pytest

from theory import claims
from theory.__main__ import main

CHEAP = "appH-joint"
PLUGIN = """from dataclasses import replace
from theory.claims import Finding, fact
from examples.byol_cosine import FAMILY as F
def check(effort):
{body}
FAMILY = replace(F, claims=(replace(F.claims[0], id={claim_id!r}, check=check),))
"""


@pytest.fixture(autouse=True)
def no_plugins_after():
    yield
    claims.use_plugins([])
    claims._FINDINGS.pop(
        ("odd", claims.Effort()), None
    )  # each test's plugin claim "odd" is another


def plugin(tmp_path, body: str, claim_id="odd") -> str:
    path = tmp_path / "odd_plugin.py"
    lines = "\n".join("    " + line for line in body.splitlines())
    path.write_text(PLUGIN.format(body=lines, claim_id=claim_id))
    return str(path)


def finding(worst="0.0", evidence="[]"):
    return (
        f"return Finding(verdict='holds', worst={worst}, tolerance=1e-9, sampled=1, searched=1, "
        f"evidence={evidence})"
    )


def verify(capsys, spec, *argv, ids=("odd", CHEAP)):
    """In this process (--jobs 1): tests/test_parallel.py checks the worker processes."""
    code = main(["verify", *ids, "--json", "--plugin", spec, "--jobs", "1", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def only_error(err: str) -> str:
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error: ")]
    return line


def checked_ids(out: str) -> list[str]:
    return [v["id"] for v in json.loads(out)["claims"]]


@pytest.mark.parametrize(
    "body, message",
    [
        ("import sys; sys.exit(0)", "raised SystemExit"),
        ("raise GeneratorExit('gone')", "raised GeneratorExit"),
        (finding(worst="float('nan')"), "worst = nan"),
        (finding(worst="'small'"), "worst = 'small'"),
        (finding(evidence="[{'kind': 'x', 'when': object()}]"), "not plain JSON"),
        (finding(evidence="[{'kind': 'x', 'v': float('inf')}]"), "not plain JSON"),
    ],
)
def test_a_checker_that_exits_or_returns_a_malformed_finding_is_its_claims_error(
    capsys, tmp_path, body, message
):
    spec = plugin(tmp_path, body)
    code, out, err = verify(capsys, spec)
    line = only_error(err)
    assert code == 1 and spec in line and "claim odd" in line and message in line
    assert checked_ids(out) == [CHEAP]


def test_a_strict_run_with_an_exiting_plugin_does_not_pass(capsys, tmp_path):
    code, _, err = verify(capsys, plugin(tmp_path, "raise SystemExit(0)"), "--strict")
    assert code == 1 and "SystemExit" in only_error(err)


def test_a_worst_of_none_is_accepted_and_shown_as_null(capsys, tmp_path):
    code, out, _ = verify(capsys, plugin(tmp_path, finding(worst="None")))
    assert code == 0 and json.loads(out)["claims"][0]["worst"] is None


def test_what_a_checker_prints_goes_to_stderr_and_json_stays_one_document(capsys, tmp_path):
    code, out, err = verify(capsys, plugin(tmp_path, "print('chatter')\n" + finding()))
    assert code == 0 and checked_ids(out) == ["odd", CHEAP] and "chatter" in err


def test_what_a_checker_writes_to_file_descriptor_1_goes_to_stderr(tmp_path):
    body = "import os; os.write(1, b'raw chatter\\n')\n" + finding()
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "theory",
            "verify",
            "odd",
            "--json",
            "--plugin",
            plugin(tmp_path, body),
        ],
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0 and "raw chatter" in process.stderr
    assert checked_ids(process.stdout) == ["odd"]


def test_a_plugin_that_prints_on_import_leaves_list_json_one_document(capsys, tmp_path):
    spec = plugin(tmp_path, finding())
    with open(spec, "a") as f:
        f.write("print('loaded!')\n")
    assert main(["list", "--json", "--plugin", spec]) == 0
    out, err = capsys.readouterr()
    assert "odd" in [c["id"] for c in json.loads(out)["claims"]] and "loaded!" in err


def test_a_hanging_checker_ends_at_the_claim_timeout_as_its_claims_error(capsys, tmp_path):
    code, out, err = verify(
        capsys, plugin(tmp_path, "import time; time.sleep(60)"), "--claim-timeout", "0.5"
    )
    assert code == 1 and "did not finish within --claim-timeout 0.5 s" in only_error(err)
    assert checked_ids(out) == [CHEAP]


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "soon"])
def test_a_claim_timeout_that_is_not_a_positive_number_is_a_usage_error(capsys, seconds):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", CHEAP, "--claim-timeout", seconds])
    assert exit_.value.code == 2 and "--claim-timeout" in only_error(capsys.readouterr().err)


def test_a_replay_command_quotes_a_claim_id_with_shell_metacharacters(capsys, tmp_path):
    claim_id = "odd; rm -rf ~"
    code, out, _ = verify(capsys, plugin(tmp_path, finding(), claim_id=claim_id), ids=(claim_id,))
    replay = json.loads(out)["claims"][0]["replay"]
    assert code == 0 and shlex.split(replay)[4] == claim_id


def test_a_repeated_claim_id_is_checked_once(capsys):
    code = main(["verify", CHEAP, CHEAP, "--json"])
    assert code == 0 and checked_ids(capsys.readouterr().out) == [CHEAP]


def test_a_plugin_wording_that_prints_or_fails_leaves_json_whole_and_shows_the_fact(
    capsys, tmp_path
):
    spec = plugin(tmp_path, finding(evidence="[fact('chat', n=1), fact('boom', n=2)]"))
    with open(spec, "a") as f:
        f.write(
            "def chat(f):\n    print('wording chatter')\n    return 'chatted'\n"
            "def boom(f):\n    raise ValueError('no words')\n"
            "FAMILY = replace(FAMILY, wording={'chat': chat, 'boom': boom})\n"
        )
    code, out, err = verify(capsys, spec)
    (odd, _) = json.loads(out)["claims"]
    assert code == 0 and "wording chatter" in err
    assert odd["evidence"] == ["chatted", "boom: n = 2 (its wording failed: ValueError: no words)"]


def test_a_plugin_that_exits_on_import_is_left_out_with_one_line_and_list_json_stays_whole(
    capsys, tmp_path
):
    path = tmp_path / "exits.py"
    path.write_text("import sys\nsys.exit(0)\n")
    code = main(["list", "--json", "--plugin", str(path)])
    out, err = capsys.readouterr()
    assert code == 1 and "SystemExit" in only_error(err) and str(path) in only_error(err)
    assert json.loads(out)["claims"]
