"""Every claim of the toolkit says which reading of the paper it decides, and quotes the paper."""

from pathlib import Path

import pytest

from theory import claims

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper.md"


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "claim", [c for f in claims.built_in() for c in f.claims], ids=lambda c: c.id
)
def test_every_claim_names_its_reading_and_the_paper_text_it_reads(claim):
    assert claim.reading in claims.READINGS and claim.paper_text and claim.paper_text.where


@pytest.mark.skipif(not PAPER.is_file(), reason=f"the paper is not at {PAPER}")
@pytest.mark.parametrize(
    "claim", [c for f in claims.built_in() for c in f.claims], ids=lambda c: c.id
)
def test_every_paper_text_is_the_papers_own_words(claim):
    assert _words(claim.paper_text.text) in _words(PAPER.read_text(encoding="utf-8"))


def test_an_unknown_reading_is_refused():
    with pytest.raises(ValueError, match="reading"):
        claims.Claim("x", title="", source="", statement="", form="", check=print, reading="loose")
