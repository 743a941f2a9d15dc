"""The report as one self-contained HTML page (``python -m theory verify --report report.html``):
what a citation needs (toolkit version, commit, seed, depth, date, software, BibTeX), the
verdict table, then per claim its statement, source, verdict, evidence, counterexample and
replay command, and a figure drawn from its facts where a picture says more than numbers."""

import base64
import html
import io
import json
import platform
from datetime import datetime

import numpy
import scipy
import sympy
import torch

import theory
from theory import claims, report
from theory.claims import Effort
from theory.thm51.rule import FACTOR, FLOOR

PAPER_BIBTEX = """@article{shi2020run,
  title   = {Run Away From your Teacher: Understanding {BYOL} by a Novel Self-Supervised Approach},
  author  = {Shi, Haizhou and Luo, Dongliang and Tang, Siliang and Wang, Jian and Zhuang, Yueting},
  journal = {arXiv preprint arXiv:2011.10944},
  year    = {2020}
}"""


def toolkit_bibtex(commit: str, year: int) -> str:
    return (
        "@software{raft_verify,\n"
        "  title   = {raft-verify: the claims of Run Away From your Teacher (RAFT), checked},\n"
        f"  version = {{{theory.__version__}}},\n"
        f"  note    = {{commit {commit}}},\n"
        f"  year    = {{{year}}}\n"
        "}"
    )


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _facts(verdict: dict, kind: str) -> list[dict]:
    return [f for f in verdict["facts"] if f["kind"] == kind]


def _search_figure(verdict: dict, plt):
    """Largest score against β/α per D (where the claim has weights) and against D."""
    profile, by_dim = _facts(verdict, "profile"), _facts(verdict, "worst-by-dim")[0]
    panels = 2 if profile else 1
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.4), squeeze=False)
    if profile:
        p, axis = profile[0], axes[0][0]
        for dim, worst in zip(p["dims"], p["worst"]):
            points = [(10.0**b, w) for b, w in zip(p["bins"], worst) if w is not None]
            axis.plot(*zip(*points), marker=".", label=f"D = {dim}")
        axis.set_xscale("log")
        axis.set_xlabel("β/α")
        axis.set_ylabel("largest LHS/RHS (random phase)")
        axis.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        axis.legend(fontsize=6, ncol=2)
    axis = axes[0][panels - 1]
    axis.plot(by_dim["dims"], by_dim["worst"], marker="o")
    axis.set_xscale("log", base=2)
    axis.ticklabel_format(axis="y", useOffset=False)
    axis.set_xlabel("D")
    axis.set_ylabel("worst found (every phase)")
    if verdict["tolerance"] > 0 and (verdict["worst"] or 0) > 0 and verdict["worst"] < 1e-3:
        axis.set_yscale("log")
    return figure


def _trace_figure(verdict: dict, plt):
    """Deviation against step beside the round-off control and the rule's threshold."""
    t = _facts(verdict, "trace")[0]
    steps = range(1, len(t["deviation"]) + 1)
    floor = FLOOR / 100
    figure, axis = plt.subplots(figsize=(6.2, 3.4))
    axis.plot(
        steps,
        [max(d, floor) for d in t["deviation"]],
        marker=".",
        label="deviation of the second side",
    )
    axis.plot(
        steps, [max(e, floor) for e in t["envelope"]], marker=".", label="round-off control (ulp)"
    )
    axis.plot(
        steps,
        [FACTOR * max(e, FLOOR) for e in t["envelope"]],
        linestyle="--",
        color="grey",
        label=f"threshold {FACTOR:g}·max(control, {FLOOR:g})",
    )
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel(f"relative deviation (0 drawn at {floor:g})")
    axis.set_title(f"{t['which']} run", fontsize=9)
    axis.legend(fontsize=7)
    return figure


def _dimension_figure(verdict: dict, plt):
    """The exact dimension of the solution space against the Jordan formula."""
    pairs = _facts(verdict, "dimension-pairs")[0]["pairs"]
    figure, axis = plt.subplots(figsize=(4.2, 4.0))
    formula, dimension = zip(*pairs)
    axis.scatter(formula, dimension, s=12, alpha=0.6)
    top = max(max(formula), max(dimension)) + 1
    axis.plot([0, top], [0, top], color="black", linewidth=0.8, linestyle="--")
    axis.set_xlabel("Σ_λ Σ_ij min(p_i, q_j) (Jordan formula)")
    axis.set_ylabel("exact dim{θ : Wθ = θC}")
    return figure


FIGURES = (
    ("worst-by-dim", _search_figure),
    ("trace", _trace_figure),
    ("dimension-pairs", _dimension_figure),
)


def figure(verdict: dict) -> str | None:
    """A PNG data URI of the claim's figure, or None when its facts give none."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    for kind, draw in FIGURES:
        if _facts(verdict, kind):
            return _png(draw(verdict, plt))
    return None


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
.holds { color: #11693a; font-weight: 600; } .fails { color: #b3261e; font-weight: 600; }
.inconclusive { color: #8a5a00; font-weight: 600; }
section.claim { border-top: 2px solid #ccc; margin-top: 2rem; padding-top: 0.5rem; }
dl { display: grid; grid-template-columns: 9rem 1fr; gap: 0.2rem 1rem; } dt { font-weight: 600; }
pre { background: #f5f5f5; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
figure img { max-width: 100%; } code { font-size: 0.85rem; }
"""


def _e(text) -> str:
    return html.escape(str(text))


def _compact(value: dict) -> str:
    """A counterexample as JSON, one top-level key a line, each value on its line."""
    lines = [
        f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
        for k, v in value.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}"


def _header(
    verdicts: list[dict], effort: Effort, started: datetime, changes: list[str]
) -> list[str]:
    commit = report.git_commit()
    ids = [v["id"] for v in verdicts]
    rows = [
        ("toolkit", f"raft-verify {theory.__version__}"),
        ("commit", commit),
        ("seed", effort.seed),
        ("depth", effort.depth),
        ("date", started.isoformat(timespec="seconds")),
        ("machine", report.machine()),
        (
            "software",
            f"Python {platform.python_version()}, torch {torch.__version__}, numpy "
            f"{numpy.__version__}, scipy {scipy.__version__}, sympy {sympy.__version__}",
        ),
        ("replay", claims.replay_all(ids, effort.seed, effort.thorough)),
        *([("provenance", report.dirty_note(changes))] if changes else []),
    ]
    return [
        "<header>",
        "<h1>raft-verify report</h1>",
        "<p>Claims of Shi et al., <em>Run Away From your Teacher: Understanding BYOL by a Novel "
        "Self-Supervised Approach</em> (RAFT), checked numerically (float64, CPU) and symbolically.</p>",
        '<dl class="run">',
        *[f"<dt>{_e(k)}</dt><dd><code>{_e(v)}</code></dd>" for k, v in rows],
        "</dl>",
        "<h2>Cite</h2>",
        '<pre class="bibtex">'
        + _e(toolkit_bibtex(commit, started.year))
        + "\n\n"
        + _e(PAPER_BIBTEX)
        + "</pre>",
        "</header>",
    ]


def _table(verdicts: list[dict]) -> list[str]:
    out = [
        '<section id="verdicts"><h2>Verdicts</h2><table>',
        "<tr><th>claim</th><th>what is checked</th><th>reading</th><th>verdict</th><th>worst</th><th>tolerance</th><th>cases</th></tr>",
    ]
    for v in verdicts:
        c = claims.get([v["id"]])[0]
        out.append(
            f'<tr><td><a href="#{_e(v["id"])}"><code>{_e(v["id"])}</code></a></td><td>{_e(c.title)}</td>'
            f'<td>{_e(report.reading(v))}</td><td class="{_e(v["verdict"])}">{_e(v["verdict"])}</td><td>{report.number(v["worst"], ".10g")}</td>'
            f"<td>{v['tolerance']:g}</td><td>{v['cases']}</td></tr>"
        )
    return out + ["</table></section>"]


def _section(v: dict) -> list[str]:
    out = [
        f'<section class="claim" id="{_e(v["id"])}">',
        f'<h2><code>{_e(v["id"])}</code> — <span class="{_e(v["verdict"])}">{_e(v["verdict"])}</span></h2>',
        "<dl>",
        f"<dt>source</dt><dd>{_e(v['source'])}</dd>",
        f"<dt>paper text</dt><dd>{_e(report.paper_words(v) or 'none given')}</dd>",
        f"<dt>reading</dt><dd>{_e(report.reading(v))}</dd>",
        f"<dt>statement</dt><dd>{_e(v['statement'])}</dd>",
        f"<dt>checked form</dt><dd><code>{_e(v['form'])}</code></dd>",
        f"<dt>cases</dt><dd>{v['sampled']} sampled at random, {v['searched']} visited by adversarial search "
        f"and edge cases; {v['seconds']:.2f} s</dd>",
        f"<dt>replay</dt><dd><code>{_e(v['replay'])}</code></dd>",
        *_certificate(v),
        "</dl>",
        '<ul class="evidence">',
        *[f"<li>{_e(e)}</li>" for e in report.evidence(v)],
        "</ul>",
    ]
    image = figure(v)
    if image:
        out.append(f'<figure><img alt="figure of {_e(v["id"])}" src="{image}"></figure>')
    if v["counterexample"] is not None:
        out += [
            '<details class="counterexample" open><summary>Counterexample</summary>',
            f"<pre>{_e(_compact(v['counterexample']))}</pre></details>",
        ]
    return out + ["</section>"]


def _certificate(v: dict) -> list[str]:
    cert = v.get("certificate")
    if not cert:
        return []
    return [
        f"<dt>machine-checked</dt><dd><code>{_e(cert['theorem'])}</code> ({_e(cert['prover'])} "
        f"{_e(cert['version'])}) proves {_e(cert['proves'])}:<pre>{_e(cert['statement'])}</pre>"
        f"assumptions: {_e(', '.join(cert['assumptions']) or 'none')}; gap: {_e(cert['gap'])}; "
        f"re-check: <code>python -m theory certify {_e(v['id'])}</code></dd>"
    ]


def page(verdicts: list[dict], effort: Effort, started: datetime, changes: list[str] = ()) -> str:
    body = _header(verdicts, effort, started, changes) + _table(verdicts)
    for v in verdicts:
        body += _section(v)
    return (
        "\n".join(
            [
                "<!doctype html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                "<title>raft-verify report</title>",
                f"<style>{STYLE}</style>",
                "</head>",
                "<body>",
                *body,
                "</body>",
                "</html>",
            ]
        )
        + "\n"
    )
