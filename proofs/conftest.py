"""Hypothesis profiles for the proofs: ``ci`` (default; all of proofs/ in ≤ 2 minutes on two
cores) and ``thorough`` (select with ``pytest proofs/ --hypothesis-profile=thorough``).

``verdict(claim_id)`` runs a claim's checker once per session, at its default seed, so that
proof files can replay exactly what ``python -m theory verify`` reports."""

import functools

import pytest
from hypothesis import HealthCheck, settings

from theory import claims

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@functools.cache
def _verdict(claim_id: str) -> dict:
    (c,) = claims.get([claim_id])
    return claims.verify(c, claims.Effort(seed=0))


@pytest.fixture(scope="session")
def verdict():
    return _verdict


@pytest.fixture(autouse=True)
def float64():
    with claims.float64():
        yield
