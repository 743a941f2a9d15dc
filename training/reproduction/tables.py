"""Tables 1 and 3 side by side with the paper, and the verdict report, from a sweep's runs.

Each table row gives our mean ± standard deviation over seeds beside the paper's number:
L_align in the authors' logged units (``training.reproduction.published.ALIGNMENT_UNITS``) with the log10
ratio to the paper's (decades), L_uniform with its difference, and the linear evaluation as
the authors print it (the mean of its last 10 epochs) with the difference in units of the
paper's ±. ``runs`` is {group: {seed: run}} (``training.reproduce.load``).
"""

import csv
import io
import math
import statistics

from theory import report
from training.reproduction import empirical, published, run_statistics, verdicts

COLUMNS = (
    "model",
    "q_w",
    "alpha",
    "beta",
    "seeds",
    "align_ours",
    "align_ours_std",
    "align_paper",
    "align_decades",
    "align_eq2_ours",
    "uniform_ours",
    "uniform_ours_std",
    "uniform_paper",
    "uniform_diff",
    "acc_ours",
    "acc_ours_std",
    "acc_paper",
    "acc_paper_std",
    "acc_diff_in_paper_std",
    "knn_ours",
    "variant",
    "beta_ours",
)


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def row_values(row: published.Row, runs: dict, units: str) -> dict:
    """One table row: the paper's printed numbers and ours, in the row's units."""
    factor = published.ALIGNMENT_UNITS[units][0]
    found = list(runs.get(row.group, {}).values())
    last = [r.result["last_10_epochs"] for r in found]
    align, align_std = _stats([m["align"] * factor for m in last])
    uniform, uniform_std = _stats([m["uniform"] for m in last])
    acc, acc_std = _stats([run_statistics.accuracy(r) for r in found])
    knn, _ = _stats(
        [
            100 * r.result["final"]["knn_acc"]
            for r in found
            if r.result["final"].get("knn_acc") is not None
        ]
    )
    value = lambda printed: None if printed is None else printed.value
    paper_align, paper_acc, paper_std = (
        value(row.align),
        value(row.accuracy),
        value(row.accuracy_std),
    )
    return {
        "model": row.model,
        "q_w": row.q_w,
        "alpha": row.alpha and str(row.alpha),
        "beta": row.beta and str(row.beta),
        "seeds": len(found),
        "align_ours": align,
        "align_ours_std": align_std,
        "align_paper": paper_align,
        "align_decades": math.log10(align / paper_align) if align and paper_align else None,
        "align_eq2_ours": _stats([m["align"] for m in last])[0],
        "uniform_ours": uniform,
        "uniform_ours_std": uniform_std,
        "uniform_paper": value(row.uniform),
        "uniform_diff": None if uniform is None else uniform - value(row.uniform),
        "acc_ours": acc,
        "acc_ours_std": acc_std,
        "acc_paper": paper_acc,
        "acc_paper_std": paper_std,
        "acc_diff_in_paper_std": None if acc is None else (acc - paper_acc) / paper_std,
        "knn_ours": knn,
        "variant": row.variant,
        "beta_ours": row.beta_ours,
    }


def _n(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _pm(mean, std, digits: int = 3) -> str:
    return _n(mean, digits) if std is None else f"{_n(mean, digits)} ± {_n(std, 2)}"


def markdown(table: str, runs: dict, units: str, setting: str) -> str:
    rows = [row_values(r, runs, units) for r in published.rows(table)]
    factor, source = published.ALIGNMENT_UNITS[units]
    head = (
        f"{table.capitalize()} of the paper beside ours ({setting}). Ours: mean ± std over "
        f"seeds. L_align(q_w∘f_θ) in the authors' logged units `{units}` (eq. 2 × {factor:.4g}: "
        f"{source}), measured on the probe's test images at each epoch's end and averaged over "
        "the last 10 epochs; *decades*: log10(ours / paper). L_uniform(f_θ): eq. 3, t = 2, same "
        "probe and epochs. Linear evaluation (%): the mean of its last 10 epochs, as the "
        "authors' eval/eval.py prints it; *Δ/σ*: (ours − paper) / the paper's ±, which that "
        "script computes over those 10 epochs of one run (not over seeds). kNN (%): the "
        "per-epoch monitor at the last epoch."
    )
    header = (
        "model",
        "q_w",
        "α",
        "β",
        "seeds",
        "L_align ours",
        "paper",
        "decades",
        "L_uniform ours",
        "paper",
        "Δ",
        "linear % ours",
        "paper",
        "Δ/σ",
        "kNN %",
    )
    table = []
    for v in rows:
        table.append(
            (
                v["model"],
                v["q_w"],
                v["alpha"] or "–",
                v["beta"] or "–",
                str(v["seeds"]),
                _pm(v["align_ours"], v["align_ours_std"]),
                _n(v["align_paper"]),
                _signed(v["align_decades"], 2),
                _pm(v["uniform_ours"], v["uniform_ours_std"]),
                _n(v["uniform_paper"]),
                _signed(v["uniform_diff"], 2),
                _pm(v["acc_ours"], v["acc_ours_std"], 4),
                f"{_n(v['acc_paper'], 4)} ± {_n(v['acc_paper_std'], 2)}",
                _signed(v["acc_diff_in_paper_std"], 1),
                _n(v["knn_ours"], 3),
            )
        )
    return "\n".join([head, "", *report.markdown_table(header, table)])


def _signed(value, decimals: int) -> str:
    return "–" if value is None else f"{value:+.{decimals}f}"


def csv_text(table: str, runs: dict, units: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in published.rows(table):
        writer.writerow(
            {k: ("" if v is None else v) for k, v in row_values(row, runs, units).items()}
        )
    return out.getvalue()


def verdict_markdown(found: list[empirical.ClaimOutcome], setting: str) -> str:
    lines = [
        f"Verdicts at the scale that was run ({setting}).",
        "",
        f"Rule: {verdicts.RULE}",
        "",
        "| claim | source | verdict |",
        "|---|---|---|",
    ]
    for c in found:
        lines.append(
            f"| {c.claim.title} | {c.claim.source} | {c.verdict or verdicts.RUNS_MISSING} |"
        )
    for c in found:
        if c.verdict is None:
            continue
        lines += ["", f"**{c.claim.title}** ({c.claim.id}): {c.verdict}", ""]
        if c.claim.paper_text:
            lines += [f"> {c.claim.paper_text.text} ({c.claim.paper_text.where})", ""]
        lines += [f"- {_test_line(o)}" for o in c.outcomes]
        lines += [f"- runs missing: {t.name}" for t in c.not_run]
        if c.claim.note:
            lines += ["", c.claim.note]
    return "\n".join(lines)


def _test_line(o: verdicts.ComparisonOutcome) -> str:
    t = o.test
    wanted = {
        "greater": f"Δ > {t.margin:g}",
        "less": f"Δ < {t.margin:g}",
        "within": f"|Δ| ≤ {t.margin:g}",
    }[t.kind]
    b = f"{_list(o.values_b)}" if o.values_b else f"{t.b:g}"
    parts = [f"{t.name} ({wanted} {t.units}): {o.verdict}", f"A = {_list(o.values_a)}, B = {b}"]
    if o.effect is not None:
        parts.append(f"Δ = {o.effect:.3g}")
    if o.interval:
        parts.append(f"interval [{o.interval[0]:.3g}, {o.interval[1]:.3g}]")
    if o.p is not None:
        parts.append(f"p = {o.p:.2g}")
    if o.hedges_g is not None:
        parts.append(f"Hedges' g = {o.hedges_g:.2g}")
    reason = f"; the margin: {t.reason}" if t.reason else ""
    return "; ".join(parts) + f" ({o.how}{reason})"


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values) + "]"


def runs_markdown(runs: dict) -> str:
    """Every run's final figures: last-10-epoch L_align (eq. 2) and L_uniform, k-NN and
    linear accuracy (%), and its training and evaluation seconds."""
    header = (
        "run",
        "steps",
        "L_align (eq. 2)",
        "L_uniform",
        "kNN %",
        "linear %",
        "train s",
        "linear eval s",
    )
    table = []
    for group in runs.values():
        for seed in sorted(group):
            r = group[seed]
            last, final = r.result["last_10_epochs"], r.result["final"]
            knn = final.get("knn_acc")
            seconds = (f"{r.result[key]:.0f}" for key in ("train_seconds", "linear_seconds"))
            cells = (
                r.folder.name,
                str(r.result["steps"]),
                _n(last["align"]),
                _n(last["uniform"]),
                _n(None if knn is None else 100 * knn),
                _n(run_statistics.accuracy(r), 4),
                *seconds,
            )
            table.append(cells)
    return "\n".join(report.markdown_table(header, table))
