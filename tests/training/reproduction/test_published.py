"""training.reproduction.published: the published numbers as data, and the check of their consistency."""

import pytest

from training.loop import variants
from training.reproduction import published


def test_the_consistency_check_reports_exactly_the_four_disagreements():
    wrong = {f.quantity for f in published.consistency() if not f.agree}
    assert wrong == {
        "RAFT-LP (β = 1) uniform",  # Table 1 −2.23, Table 3 −2.25
        "BYOL'-NP (β = 1) uniform",  # Table 1 −0.10, Table 3 −0.12
        "BYOL accuracy",  # Section 3 68.08, Table 1 64.32
        "BYOL accuracy_std",  # Section 3 0.84, Table 1 0.89
    }


def test_rows_printed_in_both_tables_are_all_compared():
    compared = {f.quantity.split(" ")[0] for f in published.consistency()}
    assert {
        "Rand-Baseline",
        "RAFT",
        "RAFT-LP",
        "RAFT-NP",
        "BYOL'-NP",
        "BYOL",
        "BYOL-NP",
    } <= compared


@pytest.mark.parametrize(
    "a, b, agree",
    [
        ("78.09e-4", "7.81e-3", True),
        ("-0.006", "-0.01", True),
        ("-2.23", "-2.25", False),
        ("16.07e-4", "1.61e-3", True),
        ("16.07e-4", "1.62e-3", False),
        ("71.31", "71.31", True),
    ],
)
def test_two_printings_agree_only_when_both_can_round_one_number(a, b, agree):
    assert published.Printed(a).agrees_with(published.Printed(b)) is agree


def test_every_row_is_a_variant_of_table_2():
    for row in published.TABLE1 + published.TABLE3 + published.TEXT:
        assert variants.resolve(row.variant).name == row.variant


def test_table_3_prints_raft_beta_negated_and_the_rows_carry_definition_4_3s():
    raft = [r for r in published.TABLE3 if r.variant.startswith("raft")]
    assert all(r.beta.value < 0 and r.beta_ours == -r.beta.value for r in raft)
    byolp = [r for r in published.TABLE3 if r.variant == "byol'-np"]
    assert [r.beta_ours for r in byolp] == [1.0, 10.0, 100.0]
    assert {r.beta_ours for r in published.TABLE1 if r.variant in ("raft", "byol'")} == {1.0}
    assert published.TABLE1[1].beta_ours is None  # BYOL has no weights


def test_the_alignment_units_are_the_authors_loggers():
    assert published.ALIGNMENT_UNITS["per-dimension"][0] == 1 / 128
    assert published.ALIGNMENT_UNITS["batch-sum"][0] == 64 / 128
    assert published.ALIGNMENT_UNITS["paper"][0] == 1.0


def test_an_unknown_table_is_refused_with_the_valid_ones():
    with pytest.raises(KeyError, match="table1, table3"):
        published.rows("table2")
