"""Fixtures shared by the unit tests: float64 as the default dtype, one intra-op thread, the
thread count restored after a test that changes it, and tiny CIFAR10 folders on disk."""

import pytest
import torch

from theory import claims


@pytest.fixture
def float64():
    with claims.float64():
        yield


@pytest.fixture
def one_thread():
    """Tiny tensors: a second thread only adds synchronisation. Tests that compare a subprocess's
    arithmetic with this process's also need both on one thread."""
    with claims.one_thread():
        yield


@pytest.fixture
def keep_threads():
    """For code under test that sets the thread count itself."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def make_cifar(tmp_path_factory):
    """``make_cifar(train, test)``: a CIFAR10 folder of that many random images in the real
    pickled format (the same images for the same sizes)."""

    def make(train: int, test: int):
        from training.loop import data

        root = tmp_path_factory.mktemp("cifar")
        g = torch.Generator().manual_seed(0)

        def split(n):
            images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
            return data.Images(images, torch.arange(n) % 10, tuple(f"class{i}" for i in range(10)))

        data.write_cifar10(root, split(train), split(test))
        return root

    return make


@pytest.fixture(scope="module")
def cifar(make_cifar):
    """A CIFAR10 folder of 12 training and 10 test images."""
    return make_cifar(12, 10)
