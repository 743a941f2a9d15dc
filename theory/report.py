"""The one renderer: verdict documents (``theory.claims.verify``) as a terminal table, as JSON
and as a citable Markdown report. Facts become sentences through their family's wording."""

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import numpy
import scipy
import sympy
import torch

import theory
from theory import claims
from theory.claims import Claim, Effort


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
    width = max((len(v["id"]) for v in verdicts), default=len("claim"))
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


def markdown_table(header, rows) -> list[str]:
    """A Markdown table's lines: the header, its rule, a line per row of cells (strings)."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


def number(value) -> str:
    """A table's number: three significant digits, or a dash where there is none."""
    return "–" if value is None else f"{value:.3g}"


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
    """The citable report: what a citation needs, a table of verdicts, then per claim its
    statement, source, checked form, evidence, counterexample and replay command."""
    ids = [v["id"] for v in verdicts]
    out = [
        "# raft-verify report",
        "",
        "Claims of Shi et al., *Run Away From your Teacher: Understanding BYOL by a Novel "
        "Self-Supervised Approach* (RAFT), checked numerically (float64, CPU) and symbolically.",
        "",
        f"- toolkit: raft-verify {theory.__version__}, commit {git_commit()}",
        f"- run: {started.isoformat(timespec='seconds')}, seed {effort.seed}, depth {effort.depth}",
        f"- software: Python {platform.python_version()}, torch {torch.__version__}, numpy "
        f"{numpy.__version__}, scipy {scipy.__version__}, sympy {sympy.__version__}",
        f"- replay the whole run: `{claims.replay_all(ids, effort.seed, effort.thorough)}`",
        "",
        "A verdict is *holds* when neither random sampling nor adversarial search (optimisation "
        "that maximises the violation, plus edge cases) found a case beyond the stated relative "
        "tolerance; *fails* when a counterexample was found and confirmed (it is given below and "
        "replayed by `pytest proofs/`); *inconclusive* otherwise. Cite a claim by its id and this "
        "report's commit and seed.",
        "",
        "| claim | what is checked | source | verdict | worst | tolerance | cases |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        c = claims.get([v["id"]])[0]
        out.append(
            f"| `{v['id']}` | {_cell(c.title)} | {_cell(v['source'])} | {_verdict(v)} | "
            f"{v['worst']:.15g} | {v['tolerance']:g} | {v['cases']} |"
        )
    for v in verdicts:
        out += _section(v)
    return "\n".join(out) + "\n"


def _verdict(v: dict) -> str:
    return v["verdict"] if v["verdict"] == "holds" else f"**{v['verdict']}**"


def _section(v: dict) -> list[str]:
    out = [
        "",
        f"## `{v['id']}` — {v['verdict']}",
        "",
        f"- source: {v['source']}",
        f"- statement: {v['statement']}",
        f"- checked form: `{v['form']}`",
        f"- cases: {v['sampled']} sampled at random, {v['searched']} visited by adversarial "
        "search and edge cases",
        f"- time: {v['seconds']:.2f} s",
        f"- replay: `{v['replay']}`",
        "",
    ]
    out += [f"- {e}" for e in evidence(v)]
    if v["counterexample"] is not None:
        out += ["", "Counterexample:", "", "```json", json.dumps(v["counterexample"], indent=2), "```"]
    return out


SUMMARY = "verdicts"


def summary(verdicts: list[dict], effort: Effort, base: Path) -> str:
    """The verdict table of the README: claim (linked to its family's page, relative to the
    folder ``base`` of the file it goes into), verdict, worst, what is checked. The pages are in
    the repository beside the ``theory`` package."""
    repository = Path(theory.__file__).resolve().parents[1]
    out = [
        f"Seed {effort.seed}, {effort.depth} depth; `worst` is each claim's worst observed value "
        "(its meaning is in the claim's statement).",
        "",
        "| claim | verdict | worst | what is checked |",
        "|---|---|---|---|",
    ]
    for v in verdicts:
        c, family = claims.get([v["id"]])[0], claims.family_of(v["id"])
        link = os.path.relpath(repository / family.doc, Path(base).resolve()) if family.doc else None
        name = f"[`{v['id']}`]({link})" if link else f"`{v['id']}`"
        out.append(f"| {name} | {_verdict(v)} | {v['worst']:.10g} | {_cell(c.title)} |")
    return "\n".join(out)


class OutputError(ValueError):
    """An output file that cannot be written (exit status 2)."""


def check_writable(path) -> None:
    """Refuse, before any work, a path that is a folder or lies where no file can be written."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder: give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}."):
            pass
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def write_atomically(path, text: str) -> None:
    """Write the whole text or nothing: a temporary file in the same folder, renamed over path."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would have made it, not mkstemp's 0600
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def begin_marker(name: str) -> str:
    return f"<!-- begin {name} -->"


def end_marker(name: str) -> str:
    return f"<!-- end {name} -->"


def _block_bounds(text: str, name: str, path) -> tuple[int, int]:
    begin, end = begin_marker(name), end_marker(name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise OutputError(f"{path} has no block to rewrite: it needs a line {begin} and, after it, {end}")
    return start + len(begin), stop


def check_block(path, name: str) -> None:
    """Refuse, before any work, a file without the block ``write_block`` rewrites."""
    if not Path(path).is_file():
        raise OutputError(f"{path} does not exist: the table is written into a block of an existing file")
    _block_bounds(Path(path).read_text(encoding="utf-8"), name, path)


def write_block(path, name: str, content: str) -> None:
    """Replace what stands between the block's markers in a Markdown file with ``content``."""
    text = Path(path).read_text(encoding="utf-8")
    start, stop = _block_bounds(text, name, path)
    write_atomically(path, text[:start] + "\n" + content.strip("\n") + "\n" + text[stop:])


def silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that Python's exit flush does not fail
    again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
