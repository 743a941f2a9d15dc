"""theory.certificates: the table of Coq certificates agrees with the registry and the record,
"current" means hashed against the sources, and a verdict says "proved in Coq" only then.
Compiling the proofs is proofs/test_coq.py's (it needs coqc)."""

import json
import re

import pytest

from theory import certificates, claims, report
from theory.__main__ import main

# Claims that the proofs cover before the registry has them (another version adds them).
NOT_YET_REGISTERED = {"thm4.1-sym-exchangeable"}


def test_every_certificate_names_a_registered_claim_or_a_pending_one():
    registered = {c.id for c in claims.all_claims()}
    assert {c.claim for c in certificates.TABLE} - registered <= NOT_YET_REGISTERED


def test_every_certified_theorem_has_a_recorded_statement():
    names = {c.qualified(t) for c in certificates.TABLE for t in (c.theorem, *c.also)}
    assert names <= set(certificates.recorded())


def test_recorded_assumptions_are_only_the_standard_axioms():
    for name, record in certificates.recorded().items():
        assert set(record["assumptions"]) <= certificates.STANDARD_AXIOMS, name


def test_the_proof_sources_admit_nothing_and_declare_no_axiom():
    for path in certificates.proofs_dir().glob("*.v"):
        text = re.sub(r"\(\*.*?\*\)", "", path.read_text(), flags=re.S)
        assert not re.search(r"\b(Admitted|admit|Axiom|Axioms|Parameter|Conjecture)\b", text), (
            path.name
        )


def test_a_holds_is_proved_in_coq_only_with_a_current_certificate():
    cert = {"proves": "the claim", "status": "proved"}
    assert certificates.label({"verdict": "holds", "certificate": cert}) == "holds (proved in Coq)"
    stale = cert | {"status": "changed since certified"}
    assert certificates.label({"verdict": "holds", "certificate": stale}) == "holds"


def test_a_fails_backed_by_a_refutation_says_so():
    cert = {"proves": "the negation of the claim", "status": "proved"}
    assert (
        certificates.label({"verdict": "fails", "certificate": cert}) == "fails (disproved in Coq)"
    )


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """A proofs/coq/ stand-in: two sources, a "compiled" file, certify's stamp of them."""
    (tmp_path / "_CoqProject").write_text("-R . RaftVerify\nInnerSpace.v\nThm41.v\n")
    (tmp_path / "InnerSpace.v").write_text("Definition x := 1.\n")
    (tmp_path / "Thm41.v").write_text("From RaftVerify Require Import InnerSpace.\n")
    (tmp_path / "Thm41.vo").write_bytes(b"compiled")
    stamp = {
        "Thm41.v": {
            "source": certificates.source_digest(tmp_path, "Thm41.v"),
            "coq": "8.16.1",
            "vo": certificates._sha256(tmp_path / "Thm41.vo"),
            "record": certificates.record_digest("Thm41.v"),
        }
    }
    (tmp_path / certificates.STAMP).write_text(json.dumps(stamp))
    monkeypatch.setattr(certificates, "proofs_dir", lambda: tmp_path)
    return tmp_path


def thm41():
    return certificates.by_claim()["thm4.1"]


def test_a_certified_file_unchanged_is_current(sources):
    assert certificates.status(thm41()) == "proved"


def test_an_edited_import_makes_the_certificate_stale(sources):
    (sources / "InnerSpace.v").write_text("Definition x := 2.\n")
    assert certificates.status(thm41()) == "changed since certified"


def test_a_replaced_compiled_file_makes_the_certificate_stale(sources):
    (sources / "Thm41.vo").write_bytes(b"something else")
    assert certificates.status(thm41()) == "changed since certified"


def test_without_the_stamp_nothing_is_certified_here(sources):
    (sources / certificates.STAMP).unlink()
    assert certificates.status(thm41()) == "not certified here"


def test_the_verdict_document_carries_the_certificate(verdict):
    cert = verdict("thm4.1")["certificate"]
    assert cert["theorem"] == "RaftVerify.Thm41.thm41_byol_bounded_by_byol_prime"
    assert cert["prover"] == "Coq" and cert["statement"].startswith("forall (E : InnerSpace)")


def test_the_coq_counterexample_to_thm41_sym_is_the_checkers(verdict):
    exact = verdict("thm4.1-sym")["counterexample"]["exact"]
    vectors = " ".join(
        f"(v2 {' '.join(c if '/' not in c else f'({c})' for c in exact[n])})"
        for n in ("p1", "p2", "t1", "t2")
    )
    source = (certificates.proofs_dir() / "Thm41.v").read_text()
    assert f"specialize (H {exact['alpha']} {exact['beta']} {vectors})" in source


def test_certify_of_an_unknown_id_is_a_usage_error(capsys):
    assert main(["certify", "no-such-claim"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown claim id")


@pytest.mark.parametrize("page", certificates.pages(), ids=lambda p: p.name)
def test_each_claim_page_shows_the_coq_statements_the_record_holds(page):
    text = page.read_text()
    start = text.index(report.begin_marker(certificates.BLOCK)) + len(
        report.begin_marker(certificates.BLOCK)
    )
    block = text[start : text.index(report.end_marker(certificates.BLOCK))].strip()
    assert block == certificates.page_block(certificates.pages()[page])


def test_every_claim_page_has_its_block_of_certificates():
    assert {f.doc for f in claims.built_in() if f.doc} == {
        f.doc for fs in certificates.pages().values() for f in fs
    }


def test_every_claim_without_a_proof_says_why():
    covered = {c.claim for c in certificates.TABLE}
    assert {c.id for c in claims.all_claims()} - covered <= set(certificates.OUT_OF_REACH)


def _coq_matrix(text: str) -> str:
    """ "[[0, 0], [0, 1]]" as AppH.v writes it: Z2, I2 or (mat 0 0 0 1)."""
    entries = text.replace("[", " ").replace("]", " ").replace(",", " ").split()
    return {"0 0 0 0": "Z2", "1 0 0 1": "I2"}.get(" ".join(entries), f"(mat {' '.join(entries)})")


def test_the_coq_counterexample_to_appH_derivation_is_the_checkers(verdict):
    exact = verdict("appH-derivation")["counterexample"]["exact"]
    matrices = " ".join(_coq_matrix(exact[n]) for n in ("W", "theta", "A", "B"))
    assert f"pose proof (H {matrices} I2 " in (certificates.proofs_dir() / "AppH.v").read_text()
