"""The generated figures of the docs are the code's: the README's verdict table and
docs/verdicts.md, as `python -m theory verify --summary README.md --report docs/verdicts.md`
writes them at the default seed, match what the claims report now."""

from datetime import datetime, timezone
from pathlib import Path

from theory import claims, report

REPO = Path(__file__).resolve().parents[1]
# Lines that say when, where and how fast the report was made, not what it found.
CIRCUMSTANCES = ("- toolkit:", "- run:", "- software:", "- time:")


def _block(text: str, name: str) -> str:
    start = text.index(report.begin_marker(name)) + len(report.begin_marker(name))
    return text[start : text.index(report.end_marker(name))].strip()


def _findings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if not line.startswith(CIRCUMSTANCES)]


def _verdicts(verdict) -> list[dict]:
    return [verdict(c.id) for c in claims.all_claims()]


def test_the_readme_verdict_table_is_what_the_code_reports(verdict):
    expected = report.summary(_verdicts(verdict), claims.Effort(seed=0), REPO)
    assert _block((REPO / "README.md").read_text(), report.SUMMARY) == expected.strip()


def test_docs_verdicts_is_the_report_the_code_writes(verdict):
    expected = report.markdown(_verdicts(verdict), claims.Effort(seed=0), datetime.now(timezone.utc))
    assert _findings((REPO / "docs" / "verdicts.md").read_text()) == _findings(expected)
