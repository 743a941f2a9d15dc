"""Shared by tests/ and proofs/: every claim's verdict at the default seed, computed once per
test session, so that the proofs replay exactly what ``python -m theory verify`` reports and
tests/test_verdicts.py compares it with the pinned file and the committed docs."""

import functools

import pytest

from theory import claims


@functools.cache
def _verdict(claim_id: str) -> dict:
    (c,) = claims.get([claim_id])
    return claims.verify(c, claims.Effort(seed=0))


@pytest.fixture(scope="session")
def verdict():
    return _verdict
