"""``python -m theory verify`` in worker processes (theory.parallel): the same document, error
lines and exit status as one claim after another in this process (--jobs 1), what a checker
prints on stderr, and no worker left behind by Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from theory import claims
from theory.__main__ import main

CHEAP = ["appH-stationary", "thm5.1-np", "appH-joint"]
PLUGIN = """import os, time
from dataclasses import replace
from theory.claims import Finding
from examples.byol_cosine import FAMILY as F
def quick(effort):
    print("chatter")
    return Finding(verdict="holds", worst=0.0, tolerance=1e-9, sampled=1, searched=1, evidence=[])
def hang(effort):
    time.sleep(60)
def die(effort):
    os._exit(3)
FAMILY = replace(F, claims=tuple(replace(F.claims[0], id=f.__name__, check=f) for f in (quick, hang, die)))
"""


@pytest.fixture(autouse=True)
def no_plugins_after():
    yield
    claims.use_plugins([])
    for claim_id in ("quick", "hang", "die"):
        claims._FINDINGS.pop((claim_id, claims.Effort()), None)


@pytest.fixture
def plugin(tmp_path) -> str:
    path = tmp_path / "side_by_side.py"
    path.write_text(PLUGIN)
    return str(path)


def verify(capsys, *argv):
    """Exit status, the JSON document without the checkers' times, stderr."""
    code = main(["verify", "--json", *argv])
    out, err = capsys.readouterr()
    document = json.loads(out)
    for verdict in document["claims"]:
        verdict.pop("seconds")
    return code, document, err


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


def test_parallel_and_serial_verification_give_the_same_document(capsys):
    code, document, _ = verify(capsys, *CHEAP, "--jobs", "2")
    assert (code, document) == verify(capsys, *CHEAP, "--jobs", "1")[:2]


@pytest.mark.parametrize("jobs", ["0", "-1", "x"])
def test_a_number_of_jobs_that_is_not_a_positive_integer_is_one_usage_error_line(capsys, jobs):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", *CHEAP, "--jobs", jobs])
    (line,) = errors(capsys.readouterr().err)
    assert exit_.value.code == 2 and "--jobs" in line


def test_a_claim_timeout_in_a_worker_is_reported_as_in_this_process(capsys, plugin):
    argv = ["quick", "hang", "--plugin", plugin, "--claim-timeout", "1"]
    code, document, err = verify(capsys, *argv, "--jobs", "2")
    serial_code, serial_document, serial_err = verify(capsys, *argv, "--jobs", "1")
    assert (code, document, errors(err)) == (serial_code, serial_document, errors(serial_err))
    assert code == 1 and "did not finish within --claim-timeout 1 s" in errors(err)[0]


def test_a_plugin_that_cannot_be_loaded_is_reported_once(capsys, tmp_path):
    missing = tmp_path / "missing.py"
    code, document, err = verify(capsys, *CHEAP[:2], "--plugin", str(missing), "--jobs", "2")
    assert code == 1 and errors(err) == [f"error: plugin {missing}: no such file"]
    assert document["errors"] == [f"plugin {missing}: no such file"]


def test_what_a_checker_in_a_worker_prints_goes_to_stderr_and_json_stays_one_document(
    capsys, plugin
):
    code, document, err = verify(capsys, "quick", *CHEAP[:1], "--plugin", plugin, "--jobs", "2")
    assert code == 0 and "chatter" in err and len(document["claims"]) == 2


def test_a_worker_that_dies_is_its_claims_error_and_the_other_claims_still_run(capsys, plugin):
    code, document, err = verify(capsys, "die", "quick", "--plugin", plugin, "--jobs", "2")
    assert code == 1 and [v["id"] for v in document["claims"]] == ["quick"]
    assert "claim die: its worker process stopped (exit status 3)" in errors(err)[0]


def test_ctrl_c_stops_every_worker_and_exits_130():
    process = subprocess.Popen(
        [sys.executable, "-m", "theory", "verify", *CHEAP, "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr.readline().startswith("checking ")
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the parent and its workers alike
    out, err = process.communicate()
    assert process.returncode == 130 and out == "" and "interrupted after" in errors(err)[0]
    assert group_ends(process.pid)


def group_ends(group: int, seconds: float = 10) -> bool:
    """Whether every process of the group is gone within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
