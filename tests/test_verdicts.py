"""What `python -m theory verify` reports at the default seed is pinned as far as it does not
depend on the CPU (tests/data/verdicts-seed0.json): every claim's verdict and tolerance exactly,
its worst value and case counts inside the bands measured on every CPU and vector-unit path so
far (`python bench/cpu_paths.py --pin`). Counterexamples are not compared bit for bit: the
proofs replay whichever one the checker finds (proofs/)."""

import json
from pathlib import Path

import pytest

PINS = json.loads((Path(__file__).parent / "data" / "verdicts-seed0.json").read_text())
PINNED = PINS["claims"]


def test_every_claim_is_pinned():
    from theory import claims

    assert [c["id"] for c in PINNED] == [c.id for c in claims.all_claims()]


def test_the_pins_were_measured_on_more_than_one_cpu():
    assert len({m["cpu"] for m in PINS["measured"]}) >= 2


@pytest.mark.parametrize("pinned", PINNED, ids=lambda c: c["id"])
def test_each_claim_was_measured_on_at_least_three_vector_unit_paths(pinned):
    assert pinned["records"] >= 3


@pytest.mark.parametrize("pinned", PINNED, ids=lambda c: c["id"])
def test_the_verdict_and_tolerance_at_the_default_seed_are_the_pinned_ones(verdict, pinned):
    found = verdict(pinned["id"])
    assert (found["verdict"], found["tolerance"]) == (pinned["verdict"], pinned["tolerance"])


@pytest.mark.parametrize("pinned", PINNED, ids=lambda c: c["id"])
def test_the_worst_value_lies_in_its_measured_band(verdict, pinned):
    low, high = pinned["worst"]
    assert low <= verdict(pinned["id"])["worst"] <= high


@pytest.mark.parametrize("pinned", PINNED, ids=lambda c: c["id"])
def test_the_case_counts_lie_in_their_measured_bands(verdict, pinned):
    found = verdict(pinned["id"])
    assert all(pinned[k][0] <= found[k] <= pinned[k][1] for k in ("cases", "sampled", "searched"))
