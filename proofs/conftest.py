"""Hypothesis profiles for the proofs: ``ci`` (default; all of proofs/ in ≤ 2 minutes on two
cores, the same examples on every run) and ``thorough`` (select with ``pytest proofs/ --hypothesis-profile=thorough``); every
proof runs in float64. (The ``verdict`` fixture, every claim's verdict at the default seed, is
in the repository's conftest.py.)"""

import pytest
from hypothesis import HealthCheck, settings

from theory import claims

# ci draws the same examples on every run (a red CI is a finding, not bad luck); thorough
# draws new ones each time.
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def float64():
    with claims.float64():
        yield


def pytest_report_header(config):
    from theory import certificates

    if certificates.coq_installed():
        return f"coq: Coq {certificates.coq_version()} found; proofs/test_coq.py compiles and checks the proofs"
    return (
        "coq: Coq or mathcomp is NOT installed; the Coq proofs are skipped "
        "(apt-get install coq libcoq-mathcomp-algebra)"
    )
