"""The generated figures of the docs are the code's: the README's verdict table and
docs/verdicts.md, as `python -m theory verify --summary README.md --report docs/verdicts.md`
writes them at the default seed, match what the claims report now — on any CPU: their words,
verdicts and structure exactly, their numbers (round-off, which each CPU rounds its own way)
masked, and each table's `worst` inside the claim's pinned band."""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from theory import claims, report

REPO = Path(__file__).resolve().parents[1]
BANDS = {
    c["id"]: c["worst"]
    for c in json.loads((REPO / "tests" / "data" / "verdicts-seed0.json").read_text())["claims"]
}
# Lines that say when, where and how fast the report was made, not what it found.
CIRCUMSTANCES = ("- toolkit:", "- run:", "- machine:", "- software:", "- time:")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
MACHINE = re.compile(r"computed on [^.]*\.")


def _block(text: str, name: str) -> str:
    start = text.index(report.begin_marker(name)) + len(report.begin_marker(name))
    return text[start : text.index(report.end_marker(name))].strip()


def _masked(line: str) -> str:
    return NUMBER.sub("#", MACHINE.sub("computed on #.", line))


def _findings(markdown: str) -> list[str]:
    """The report's lines that say what it found, numbers masked. Of each evidence sentence
    only its opening words count (which run the search found most amplified, or the digits of
    a counterexample, are round-off: the proofs replay whichever the checker finds); the
    counterexamples are left out."""
    lines, in_json, in_evidence = [], False, False
    for line in markdown.splitlines():
        if in_json or line.strip() == "```json":
            in_json = line.strip() != "```"
        elif line.startswith("## "):
            in_evidence = False
            lines.append(_masked(line))
        elif in_evidence and line.startswith("- "):
            lines.append(_masked(re.split(r"[:(]", line, maxsplit=1)[0]))
        elif not line.startswith(CIRCUMSTANCES):
            in_evidence = in_evidence or line.startswith("- replay:")
            lines.append(_masked(line))
    return lines


def _worsts(markdown: str) -> dict[str, float]:
    """Claim id -> the `worst` cell of each row of the report's verdict table."""
    rows = [
        line.strip("| ").split(" | ") for line in markdown.splitlines() if line.startswith("| ")
    ]
    column = rows[0].index("worst")
    return {
        re.search(r"`([^`]+)`", row[0]).group(1): float(row[column])
        for row in rows[1:]
        if "`" in row[0]
    }


def _verdicts(verdict) -> list[dict]:
    return [verdict(c.id) for c in claims.all_claims()]


def _in_bands(worsts: dict[str, float], digits: int) -> bool:
    """Each printed worst inside its claim's band, give or take its rounding to ``digits``
    significant digits (half a unit in the last printed digit, relative)."""
    rounding = 0.5 * 10.0 ** (1 - digits)
    return worsts.keys() == BANDS.keys() and all(
        BANDS[i][0] - rounding * abs(BANDS[i][0]) <= w <= BANDS[i][1] + rounding * abs(BANDS[i][1])
        for i, w in worsts.items()
    )


def test_the_readme_verdict_table_is_what_the_code_reports(verdict):
    expected = report.summary(_verdicts(verdict), claims.Effort(seed=0), REPO)
    found = _block((REPO / "README.md").read_text(), report.SUMMARY)
    assert _findings(found) == _findings(expected)


def test_the_readme_worst_values_lie_in_their_pinned_bands():
    assert _in_bands(_worsts(_block((REPO / "README.md").read_text(), report.SUMMARY)), digits=10)


def test_docs_verdicts_is_the_report_the_code_writes(verdict):
    expected = report.markdown(
        _verdicts(verdict), claims.Effort(seed=0), datetime.now(timezone.utc)
    )
    assert _findings((REPO / "docs" / "verdicts.md").read_text()) == _findings(expected)


def test_docs_verdicts_worst_values_lie_in_their_pinned_bands():
    assert _in_bands(_worsts((REPO / "docs" / "verdicts.md").read_text()), digits=15)


def test_docs_verdicts_names_the_machine_that_computed_it():
    assert any(
        line.startswith("- machine: ")
        for line in (REPO / "docs" / "verdicts.md").read_text().splitlines()
    )
