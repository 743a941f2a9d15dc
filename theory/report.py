"""The one renderer: verdict documents (``theory.claims.verify``) as a terminal table, as JSON
and as a citable Markdown report. Facts become sentences through their family's wording."""

import json
import platform
import subprocess
from datetime import datetime
from pathlib import Path

import numpy
import scipy
import sympy
import torch

import theory
from theory import claims
from theory.claims import Claim, Effort, replay_command


def describe(c: Claim) -> dict:
    return {"id": c.id, "title": c.title, "source": c.source, "statement": c.statement, "form": c.form}


def sentence(wording, f: dict) -> str:
    """A fact in words: its family's wording, or its values listed when the family has none."""
    if f["kind"] in wording:
        return wording[f["kind"]](f)
    return f["kind"] + ": " + ", ".join(f"{k} = {v}" for k, v in f.items() if k != "kind")


def evidence(verdict: dict) -> list[str]:
    """The verdict's facts as sentences."""
    wording = claims.family_of(verdict["id"]).wording
    return [sentence(wording, f) for f in verdict["facts"]]


def document(verdict: dict) -> dict:
    """The JSON form of a verdict: its fields, the evidence in words before its facts."""
    out = {}
    for key, value in verdict.items():
        if key == "facts":
            out["evidence"] = evidence(verdict)
        out[key] = value
    return out


def table(verdicts: list[dict]) -> str:
    width = max(len(v["id"]) for v in verdicts)
    lines = [f"{'claim':<{width}}  {'verdict':<12}  {'worst':>22}  {'cases':>9}  {'seconds':>7}"]
    for v in verdicts:
        lines.append(
            f"{v['id']:<{width}}  {v['verdict']:<12}  {v['worst']:>22.15g}  {v['cases']:>9}  "
            f"{v['seconds']:>7.2f}"
        )
    for v in verdicts:
        lines += ["", f"{v['id']}: {v['verdict'].upper()}  [{v['source']}]", f"  {v['statement']}"]
        lines += [f"  - {e}" for e in evidence(v)]
        if v["counterexample"] is not None:
            lines.append(f"  counterexample: {json.dumps(v['counterexample'].get('exact', v['counterexample']))}")
        lines.append(f"  replay: {v['replay']}")
    return "\n".join(lines)


def git_commit() -> str:
    """The commit of the checkout the toolkit runs from, '+dirty' if it has changes."""
    here = Path(theory.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unavailable (not run from a git checkout)"
    return commit + ("+dirty" if dirty else "")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def markdown(verdicts: list[dict], effort: Effort, started: datetime) -> str:
    ids = " ".join(v["id"] for v in verdicts)
    out = [
        "# raft-verify report",
        "",
        "Claims of Shi et al., *Run Away From your Teacher: Understanding BYOL by a Novel "
        "Self-Supervised Approach* (RAFT), checked numerically (float64, CPU) and symbolically.",
        "",
        f"- toolkit: raft-verify {theory.__version__}, commit {git_commit()}",
        f"- run: {started.isoformat(timespec='seconds')}, seed {effort.seed}, depth "
        f"{'thorough' if effort.thorough else 'default'}",
        f"- software: Python {platform.python_version()}, torch {torch.__version__}, numpy "
        f"{numpy.__version__}, scipy {scipy.__version__}, sympy {sympy.__version__}",
        f"- replay the whole run: `{replay_command(ids, effort.seed, effort.thorough)}`",
        "",
        "A verdict is *holds* when neither random sampling nor adversarial search (optimisation "
        "that maximises the violation, plus edge cases) found a case beyond the stated relative "
        "tolerance; *fails* when a counterexample was found and confirmed (it is given below and "
        "replayed by `pytest proofs/`); *inconclusive* otherwise. Cite a claim by its id and this "
        "report's commit and seed.",
        "",
        "| id | source | statement | verdict | worst | tolerance | cases | evidence |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        cell = "<br>".join(_cell(e) for e in evidence(v))
        out.append(
            f"| `{v['id']}` | {_cell(v['source'])} | {_cell(v['statement'])} | **{v['verdict']}** | "
            f"{v['worst']:.15g} | {v['tolerance']:g} | {v['cases']} | {cell} |"
        )
    for v in verdicts:
        out += [
            "",
            f"## `{v['id']}` — {v['verdict']}",
            "",
            f"- source: {v['source']}",
            f"- statement: {v['statement']}",
            f"- checked form: `{v['form']}`",
            f"- cases: {v['sampled']} sampled at random, {v['searched']} visited by adversarial "
            f"search and edge cases; {v['seconds']:.2f} s",
            f"- replay: `{v['replay']}`",
            "",
        ]
        out += [f"- {e}" for e in evidence(v)]
        if v["counterexample"] is not None:
            out += ["", "Counterexample:", "", "```json", json.dumps(v["counterexample"], indent=2), "```"]
    return "\n".join(out) + "\n"
