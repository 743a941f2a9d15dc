"""bench/sylvester.py runs at a tiny size and writes its table into a Markdown block (the figures
themselves are measured by running it, not by tests)."""

import subprocess
import sys
from pathlib import Path

from theory import report

REPO = Path(__file__).resolve().parents[1]


def test_the_bench_writes_its_table_into_the_block(tmp_path):
    page = tmp_path / "page.md"
    begin, end = report.begin_marker("sylvester-timings"), report.end_marker("sylvester-timings")
    page.write_text(f"before\n{begin}\n{end}\nafter\n")
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "sylvester.py"),
            "--sizes",
            "2",
            "3",
            "--repeat",
            "1",
            "--markdown",
            str(page),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    text = page.read_text()
    rows = [
        line for line in text.splitlines() if line.startswith("| 2 |") or line.startswith("| 3 |")
    ]
    assert len(rows) == 10 and text.startswith("before\n") and text.endswith(f"{end}\nafter\n")
