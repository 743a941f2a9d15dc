"""Shared by tests/ and proofs/: every claim's verdict at the default seed, computed once per
test session, so that the proofs replay exactly what ``python -m theory verify`` reports and
tests/test_verdicts.py compares it with the pinned file and the committed docs.

The suite runs on every core (pytest-xdist, ``-n auto`` in pyproject.toml): the tests that use
the verdicts share one worker (one computation of the verdicts), and each worker keeps torch to
one thread, since the workers already fill the cores. The tests that use the verdicts are marked
``verdicts``: tests/test_vector_paths.py runs them again on another vector-unit path."""

import functools
import os

import pytest
import torch

from theory import claims

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    for item in items:
        if "verdict" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("verdicts"))
            item.add_marker(pytest.mark.verdicts)


@functools.cache
def _verdict(claim_id: str) -> dict:
    (c,) = claims.get([claim_id])
    return claims.verify(c, claims.Effort(seed=0))


@pytest.fixture(scope="session")
def verdict():
    return _verdict
