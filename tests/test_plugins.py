"""Claims that users add: the example plugin loads through the entry-point mechanism (nothing
installed) and from the command line, and every kind of broken plugin is one line naming it
while the other claims still run."""

import importlib.metadata
import json
from pathlib import Path

import pytest

from theory import claims, plugins
from theory.__main__ import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "byol_cosine.py")


@pytest.fixture(autouse=True)
def no_plugins_after():
    yield
    claims.use_plugins([])


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


def test_an_installed_plugin_is_found_through_its_entry_point(monkeypatch, capsys):
    entry = importlib.metadata.EntryPoint(
        name="grill", value="examples.byol_cosine", group=plugins.GROUP
    )
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group: [entry] if group == plugins.GROUP else []
    )
    code, out, _ = run(capsys, "list", "--json")
    listed = [c["id"] for c in json.loads(out)["claims"]]
    assert code == 0 and listed[-1] == "grill-cosine" and "thm4.1" in listed


def test_a_plugin_named_on_the_command_line_is_verified_like_the_built_in_claims(capsys):
    code, out, _ = run(
        capsys, "verify", "grill-cosine", "appH-joint", "--json", "--plugin", EXAMPLE, "--jobs", "1"
    )
    verdicts = {v["id"]: v for v in json.loads(out)["claims"]}
    assert code == 0 and verdicts["grill-cosine"]["verdict"] == "holds"
    assert verdicts["grill-cosine"]["replay"].endswith(f"--plugin {EXAMPLE}")
    assert verdicts["grill-cosine"]["evidence"][-1].startswith("sympy")


BROKEN = {
    "import": "raise ImportError('a missing dependency')\n",
    "no-family": "FAMILY = 3\n",
    "duplicate": "from theory.thm41 import FAMILY\n",
    "raises": "from examples.byol_cosine import FAMILY as F\nfrom dataclasses import replace\n"
    "def boom(effort): raise RuntimeError('boom')\n"
    "FAMILY = replace(F, claims=(replace(F.claims[0], id='boom', check=boom),))\n",
    "not-a-finding": "from examples.byol_cosine import FAMILY as F\nfrom dataclasses import replace\n"
    "FAMILY = replace(F, claims=(replace(F.claims[0], id='vague', check=lambda e: 'holds'),))\n",
}
MESSAGES = {
    "import": "cannot be imported (ImportError: a missing dependency)",
    "no-family": "defines no FAMILY",
    "duplicate": "'thm4.1', 'thm4.1-sym', 'thm4.1-symsym' is already taken",
    "raises": "claim boom: the checker raised RuntimeError: boom",
    "not-a-finding": "claim vague: the checker returned str, not a theory.claims.Finding",
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_plugin_is_one_line_naming_it_and_the_other_claims_still_run(
    kind, tmp_path, capsys
):
    path = tmp_path / f"{kind}.py"
    path.write_text(BROKEN[kind])
    ids = ["appH-joint"] + {"raises": ["boom"], "not-a-finding": ["vague"]}.get(kind, [])
    code, out, err = run(capsys, "verify", *ids, "--json", "--plugin", str(path), "--jobs", "1")
    (line,) = errors(err)
    assert code == 1 and str(path) in line and MESSAGES[kind] in line and "Traceback" not in err
    assert [v["id"] for v in json.loads(out)["claims"]] == ["appH-joint"]
