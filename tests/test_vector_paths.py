"""The verdicts do not depend on the CPU's vector units: every test that uses the seed-0
verdicts (the pins, the generated docs, the proofs' replays of each counterexample) passes
again in a process whose libraries take their baseline kernels — PyTorch's ATen without
vectorisation, MKL at SSE4.2, OpenBLAS's Prescott core — the path furthest from what any
modern CPU runs by itself, so it rounds differently from the path the rest of the suite took."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BASELINE = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "OPENBLAS_CORETYPE": "Prescott",
}
MARK = "RAFT_VERIFY_SECOND_PATH"


@pytest.mark.skipif(bool(os.environ.get(MARK)), reason="this process is already the second path")
def test_the_verdict_tests_pass_on_the_baseline_vector_path():
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-n",
        "0",
        "-m",
        "verdicts",
        "-q",
        "-p",
        "no:cacheprovider",
        str(REPO / "tests"),
        str(REPO / "proofs"),
    ]
    done = subprocess.run(
        command, cwd=REPO, env={**os.environ, **BASELINE, MARK: "1"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
