"""What `python -m theory verify` reports at the default seed is pinned: every claim's verdict,
worst value, case counts and counterexample, as tests/data/verdicts-seed0.json keeps them."""

import json
from pathlib import Path

import pytest

PINNED = json.loads((Path(__file__).parent / "data" / "verdicts-seed0.json").read_text())["claims"]


def _same(found, pinned) -> bool:
    """Equal, floats to 1e-12 relative: a change of meaning moves them by far more, while
    another CPU's vector units may round a last bit differently."""
    if isinstance(pinned, float) and isinstance(found, float):
        return found == pytest.approx(pinned, rel=1e-12, abs=0.0) or found == pinned
    if isinstance(pinned, dict) and isinstance(found, dict):
        return found.keys() == pinned.keys() and all(_same(found[k], pinned[k]) for k in pinned)
    if isinstance(pinned, list) and isinstance(found, list):
        return len(found) == len(pinned) and all(_same(f, p) for f, p in zip(found, pinned))
    return found == pinned


def test_every_claim_is_pinned():
    from theory import claims

    assert [c["id"] for c in PINNED] == [c.id for c in claims.all_claims()]


@pytest.mark.parametrize("pinned", PINNED, ids=lambda c: c["id"])
def test_verdict_at_the_default_seed_is_the_pinned_one(verdict, pinned):
    found = {k: verdict(pinned["id"])[k] for k in pinned}
    assert _same(found, pinned), (found, pinned)
