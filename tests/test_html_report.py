"""The HTML report: one self-contained page whose structure a parser can read — the run's
citation data, the verdict table, a section per claim with its evidence, figures embedded as
PNG, counterexamples and BibTeX."""

import base64
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest

from theory import claims, html_report

IDS = ["thm4.1-sym", "tangent-remark", "thm5.1-np", "appH-dimension", "appH-joint"]


class Outline(HTMLParser):
    """Tags with their attributes, and the text under each dt, section and pre."""

    def __init__(self):
        super().__init__()
        self.tags, self.stack, self.text = [], [], {}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        if self.stack:
            self.text.setdefault(self.stack[-1], []).append(data)


@pytest.fixture(scope="module")
def outline(verdict):
    page = html_report.page(
        [verdict(i) for i in IDS], claims.Effort(seed=0), datetime.now(timezone.utc)
    )
    parsed = Outline()
    parsed.feed(page)
    return parsed


def test_the_header_carries_what_a_citation_needs(outline):
    assert {"toolkit", "commit", "seed", "depth", "date", "software", "replay"} <= set(
        outline.text["dt"]
    )
    bibtex = "".join(outline.text["pre"])
    assert (
        "@software{raft_verify" in bibtex
        and "@article{shi2020run" in bibtex
        and "2011.10944" in bibtex
    )


def test_every_claim_has_a_row_and_a_section(outline):
    sections = [
        a["id"] for tag, a in outline.tags if tag == "section" and a.get("class") == "claim"
    ]
    links = [a["href"] for tag, a in outline.tags if tag == "a"]
    assert sections == IDS and links == [f"#{i}" for i in IDS]


def test_figures_are_embedded_pngs_for_the_claims_that_have_one(outline):
    images = [a for tag, a in outline.tags if tag == "img"]
    assert [a["alt"].split()[-1] for a in images] == [
        "thm4.1-sym",
        "tangent-remark",
        "thm5.1-np",
        "appH-dimension",
    ]
    for a in images:
        assert base64.b64decode(a["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_failing_claim_shows_its_counterexample(outline, verdict):
    details = [a for tag, a in outline.tags if tag == "details"]
    failing = [i for i in IDS if verdict(i)["verdict"] == "fails"]
    assert failing == ["thm4.1-sym", "thm5.1-np"] and len(details) == len(failing)
