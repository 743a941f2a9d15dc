"""``python -m training.bench`` refuses a device it cannot run on in one line, exit status 2,
before any work."""

import pytest
import torch

from training import bench

pytestmark = pytest.mark.usefixtures("keep_threads")  # the bench may set its own thread count


@pytest.mark.parametrize(
    "device, message",
    [
        ("foo", "--device 'foo' is not a device: use cpu, cuda, cuda:N or auto"),
        ("meta", "--device meta: only cpu and cuda are supported"),
        pytest.param(
            "cuda:0",
            "CUDA is not available",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),
        ),
    ],
)
def test_a_device_it_cannot_run_on_exits_2_in_one_line(capsys, device, message):
    assert bench.main(["--device", device]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
