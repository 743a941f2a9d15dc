"""The paper's published numbers as data: Table 1, Table 3 and the accuracies quoted in
Section 3, each as printed (so that its precision is known) with where it comes from; how the
authors' code logged the alignment, to put our measurements in the tables' units; and a check
of the numbers' internal consistency, ``python -m training.paper``.

``beta`` is as printed: Table 3 writes the loss as α·L_align + β·L_cross-model, so its RAFT
rows have β < 0. ``Row.beta_ours`` is Definition 4.3's (and ``training.run``'s) β > 0.
"""

from dataclasses import dataclass
from decimal import Decimal

from training.loop import models

D = models.PROJECTION_DIM  # 128, the dimension of the projections the alignment compares
LOGGED_SAMPLES = 64  # the authors' loggers keep the first 64 samples of a batch


@dataclass(frozen=True)
class Printed:
    """A number as the paper prints it: its value and half a unit of its last digit."""

    text: str

    @property
    def value(self) -> float:
        return float(Decimal(self.text))

    @property
    def half_unit(self) -> float:
        return float(Decimal(1).scaleb(Decimal(self.text).as_tuple().exponent)) / 2

    def agrees_with(self, other: "Printed") -> bool:
        """Whether both could be roundings of one number: their distance is at most the sum of
        their half units (a relative 1e-12 absorbs the binary representation)."""
        slack = self.half_unit + other.half_unit
        return abs(self.value - other.value) <= slack * (1 + 1e-12)

    def __str__(self) -> str:
        return self.text


def _p(text: str | None) -> Printed | None:
    return None if text is None else Printed(text)


@dataclass(frozen=True)
class Row:
    """One row of a table (or one number of the text): the model as printed, our variant, the
    weights as printed, and the metrics as printed (None where the source gives none).
    ``align`` is L_align(q_w∘f_θ) in the authors' logged units (ALIGNMENT_UNITS), ``uniform``
    L_uniform(f_θ), ``accuracy`` and ``accuracy_std`` the linear evaluation in percent."""

    source: str
    model: str
    variant: str
    q_w: str
    alpha: Printed | None
    beta: Printed | None
    align: Printed | None
    uniform: Printed | None
    accuracy: Printed | None
    accuracy_std: Printed | None

    @property
    def beta_ours(self) -> float | None:
        """β of Definitions 4.2 and 4.3 (> 0), as ``training.run --beta`` takes it; None for a
        model without weights. Table 1 trains BYOL' and RAFT with (α, β) = (1, 1)."""
        if not self.variant.startswith(("byol'", "raft", "tanbyol'", "tanraft")):
            return None
        if self.beta is None:
            return 1.0
        return abs(self.beta.value)

    @property
    def group(self) -> tuple[str, float | None]:
        """The runs this row is compared with: (variant, β > 0 or None)."""
        return (self.variant, self.beta_ours)


def _row(source, model, variant, q_w, alpha, beta, align, uniform, accuracy, std) -> Row:
    return Row(
        source,
        model,
        variant,
        q_w,
        _p(alpha),
        _p(beta),
        _p(align),
        _p(uniform),
        _p(accuracy),
        _p(std),
    )


T1 = "Table 1"
TABLE1 = (
    _row(
        T1, "Rand-Baseline", "rand-baseline", "W", None, None, "78.09e-4", "-0.51", "42.74", "0.41"
    ),
    _row(T1, "BYOL", "byol", "MLP", None, None, "25.03e-4", "-2.22", "64.32", "0.89"),
    _row(T1, "BYOL'", "byol'", "MLP", "1", "1", "22.09e-4", "-2.07", "69.21", "1.01"),
    _row(T1, "RAFT", "raft", "MLP", "1", "1", "18.90e-4", "-2.04", "71.31", "0.75"),
    _row(T1, "BYOL-LP", "byol-lp", "W", None, None, "7.71e-4", "-2.16", "67.64", "0.90"),
    _row(T1, "BYOL'-LP", "byol'-lp", "W", "1", "1", "7.32e-4", "-2.19", "68.61", "0.73"),
    _row(T1, "RAFT-LP", "raft-lp", "W", "1", "1", "7.42e-4", "-2.23", "67.55", "0.55"),
    _row(T1, "BYOL-NP", "byol-np", "I", None, None, "1.94e-10", "-0.14", "20.92", "1.29"),
    _row(T1, "BYOL'-NP", "byol'-np", "I", "1", "1", "1.35e-10", "-0.10", "16.92", "1.05"),
    _row(T1, "RAFT-NP", "raft-np", "I", "1", "1", "16.07e-4", "-0.006", "11.72", "0.05"),
    _row(T1, "TanBYOL-LP", "tanbyol-lp", "W", None, None, "7.83e-4", "-1.92", "67.63", "1.27"),
    _row(T1, "TanBYOL'-LP", "tanbyol'-lp", "W", "1", "1", "7.52e-4", "-2.19", "67.66", "0.76"),
    _row(T1, "TanRAFT-LP", "tanraft-lp", "W", "1", "1", "7.61e-4", "-2.13", "69.31", "0.87"),
)

T3 = "Table 3"
TABLE3 = (
    _row(
        T3, "Rand-Baseline", "rand-baseline", "W", None, None, "7.81e-3", "-0.51", "42.74", "0.41"
    ),
    _row(T3, "RAFT", "raft", "MLP", "1", "-0.1", "8.37e-5", "-2.00", "65.53", "0.99"),
    _row(T3, "RAFT", "raft", "MLP", "1", "-1", "1.89e-3", "-2.04", "71.31", "0.75"),
    _row(T3, "RAFT", "raft", "MLP", "1", "-10", "1.00e-2", "-0.29", "25.88", "0.42"),
    _row(T3, "RAFT-LP", "raft-lp", "W", "1", "-0.1", "8.22e-6", "-1.61", "52.57", "2.72"),
    _row(T3, "RAFT-LP", "raft-lp", "W", "1", "-1", "7.42e-4", "-2.25", "67.55", "0.55"),
    _row(T3, "RAFT-LP", "raft-lp", "W", "1", "-10", "3.70e-4", "-2.15", "66.10", "0.82"),
    _row(T3, "RAFT-NP", "raft-np", "I", "1", "-1", "1.61e-3", "-0.01", "11.72", "0.05"),
    _row(T3, "RAFT-NP", "raft-np", "I", "1", "-10", "1.54e-2", "-0.99", "32.13", "0.52"),
    _row(T3, "RAFT-NP", "raft-np", "I", "1", "-100", "1.56e-2", "-1.29", "29.36", "0.53"),
    _row(T3, "BYOL'-NP", "byol'-np", "I", "1", "1", "1.35e-10", "-0.12", "16.92", "1.05"),
    _row(T3, "BYOL'-NP", "byol'-np", "I", "1", "10", "2.38e-10", "-0.88", "24.42", "1.14"),
    _row(T3, "BYOL'-NP", "byol'-np", "I", "1", "100", "4.55e-8", "-1.14", "37.48", "2.06"),
)

S3 = "Section 3 (text)"
TEXT = (
    _row(S3, "BYOL", "byol", "MLP", None, None, None, None, "68.08", "0.84"),
    _row(S3, "BYOL-NP", "byol-np", "I", None, None, None, None, "20.92", "1.29"),
    _row(S3, "Rand-Baseline", "rand-baseline", "W", None, None, None, None, "42.74", "0.41"),
)

TABLES = {"table1": TABLE1, "table3": TABLE3}

# How the authors' code logged L_align, as a factor on the paper's definition (eq. 2, the mean
# over the batch of ‖ẑ1 − ẑ2‖²), with where each comes from (docs/reproduce.md gives the
# evidence for the default).
ALIGNMENT_UNITS = {
    "per-dimension": (
        1 / D,
        "models/main/byol.py estimate_align (commits 74d51b9 to b9dcc31, 27 Nov to 18 Dec 2020): "
        "(z1 - z2).square().mean() over the batch and the D = 128 dimensions, i.e. L_align / D",
    ),
    "batch-sum": (
        LOGGED_SAMPLES / D,
        "models/wrappers/logger_wrapper.py _lalign (a15e863, 20 Dec 2020, onwards): "
        "(x1 - x2).square().sum(dim=0).mean() over the first 64 samples, i.e. L_align · N / D",
    ),
    "paper": (1.0, "eq. 2 as defined: the mean over the batch of ‖ẑ1 − ẑ2‖²"),
}
DEFAULT_UNITS = "per-dimension"


def rows(table: str) -> tuple[Row, ...]:
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; valid: {', '.join(TABLES)}")
    return TABLES[table]


@dataclass(frozen=True)
class PrintedTwice:
    """One quantity printed twice: where, both printings, and whether they agree."""

    quantity: str
    first: tuple[str, Printed]
    second: tuple[str, Printed]

    @property
    def agree(self) -> bool:
        return self.first[1].agrees_with(self.second[1])

    def __str__(self) -> str:
        (a, x), (b, y) = self.first, self.second
        word = "agree" if self.agree else "DISAGREE"
        return f"{word}: {self.quantity}: {a} prints {x}, {b} prints {y}"


QUANTITIES = ("align", "uniform", "accuracy", "accuracy_std")


def consistency() -> list[PrintedTwice]:
    """Every quantity printed in two places: the rows Tables 1 and 3 both report (same model,
    same α, β), and the accuracies Section 3 quotes against Table 1's."""
    findings = []
    pairs = [(a, b) for a in TABLE1 for b in TABLE3 if a.group == b.group]
    pairs += [(a, b) for a in TEXT for b in TABLE1 if a.group == b.group]
    for a, b in pairs:
        for quantity in QUANTITIES:
            x, y = getattr(a, quantity), getattr(b, quantity)
            if x is not None and y is not None:
                name = f"{a.model}{_weights(a)} {quantity}"
                findings.append(PrintedTwice(name, (a.source, x), (b.source, y)))
    return findings


def _weights(row: Row) -> str:
    return "" if row.beta_ours is None else f" (β = {row.beta_ours:g})"


def consistency_markdown() -> str:
    findings = consistency()
    wrong = [f for f in findings if not f.agree]
    lines = [
        f"The paper prints {len(findings)} quantities twice (Tables 1 and 3; Section 3 "
        f"against Table 1); {len(wrong)} disagree beyond rounding (two printings agree "
        "when both can be roundings of one number):",
        "",
    ]
    lines += [f"- {f}" for f in wrong] or ["- none"]
    return "\n".join(lines)
