"""One tiny end-to-end run on the real Fashion-MNIST files of Debian's dataset-fashion-mnist
package, through the real command line (CI installs the package; elsewhere this is skipped)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_byol_lp_runs_end_to_end_on_debian_fashion_mnist(tmp_path):
    out = tmp_path / "smoke"
    command = [
        sys.executable,
        "-m",
        "training.run",
        "byol-lp",
        "--dataset",
        "fashion-mnist",
        "--image-size",
        "16",
        "--width",
        "8",
        "--subset",
        "64",
        "--batch-size",
        "32",
        "--epochs",
        "1",
        "--probe-size",
        "64",
        "--linear-epochs",
        "1",
        "--out",
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    epochs = [
        json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    assert epochs == [0, 1]
    result = json.loads((out / "result.json").read_text())
    assert result["variant"] == "byol-lp" and 0.0 <= result["linear_acc"] <= 1.0
    assert (out / "curves.png").stat().st_size > 0 and (out / "checkpoint.pt").exists()
