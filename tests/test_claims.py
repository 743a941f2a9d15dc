"""The registry's guards, its discovery of families, and the search's effort scaling."""

import pytest

from theory import claims, search


def test_holds_needs_an_adversarial_search():
    with pytest.raises(ValueError, match="random sampling alone"):
        claims.Finding("holds", worst=0.5, tolerance=1e-12, sampled=100, searched=0, evidence=[])


def test_fails_needs_a_counterexample():
    with pytest.raises(ValueError, match="counterexample"):
        claims.Finding("fails", worst=2.0, tolerance=1e-12, sampled=100, searched=10, evidence=[])


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict"):
        claims.Finding("maybe", worst=0.0, tolerance=0.0, sampled=1, searched=1, evidence=[])


def test_duplicate_claim_id_is_refused():
    (family, *_) = claims.families()
    with pytest.raises(ValueError, match="registered twice"):
        claims.in_order([family, family])


def test_families_are_discovered_in_reading_order():
    ids = [c.id for c in claims.all_claims()]
    assert (
        ids.index("thm4.1")
        < ids.index("tangent-remark")
        < ids.index("thm5.1")
        < ids.index("appH-sylvester")
    )


def _spread(v, alpha, beta):
    """A toy score: the distance between the two vectors, weighted by alpha/beta."""
    return (v[:, 0] - v[:, 1]).norm(dim=-1) * alpha / beta


def test_thorough_searches_ten_times_harder(float64):
    default = search.search(_spread, k=2, dims=[2, 5], effort=claims.Effort(0))
    thorough = search.search(_spread, k=2, dims=[2, 5], effort=claims.Effort(0, thorough=True))
    cases = lambda report: {p.name: p.cases for p in report.phases}  # noqa: E731
    assert cases(thorough)["random"] == 10 * cases(default)["random"]
    assert cases(thorough)["adversarial"] == 10 * cases(default)["adversarial"]
    # edge cases are an exhaustive list, the same at every depth
    assert cases(thorough)["edge cases"] == cases(default)["edge cases"]


def test_search_finds_the_maximum_it_is_asked_for(float64):
    """The ascent and polish reach the supremum 2·1e6/1e-6 of the toy score (antipodal vectors,
    extreme weights) that random sampling alone misses."""
    report = search.search(_spread, k=2, dims=[3, 16], effort=claims.Effort(1))
    random_phase = next(p for p in report.phases if p.name == "random")
    assert random_phase.worst.score < 2e6
    assert report.worst.score == pytest.approx(2e12, rel=1e-6)
