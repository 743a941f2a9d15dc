"""Fixtures shared by the unit tests: float64 as the default dtype, one intra-op thread, and the
thread count restored after a test that changes it."""

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
