"""The one renderer: verdict documents (``theory.claims.verify``) as a terminal table, as JSON
and as a citable Markdown report. Facts become sentences through their family's wording."""

import json
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy
import scipy
import sympy
import torch

import theory
from theory import certificates, claims, files
from theory.claims import Claim, Effort


def describe(c: Claim) -> dict:
    return {
        "id": c.id,
        "title": c.title,
        "source": c.source,
        "statement": c.statement,
        "form": c.form,
        "reading": c.reading,
        "paper_text": claims.quoted(c),
    }


def paper_words(v: dict) -> str:
    """The paper text a verdict reads, with its location, in one line ("" when none is given)."""
    quote = v.get("paper_text")
    return f"{quote['where']}: “{' '.join(quote['text'].split())}”" if quote else ""


def reading(v: dict) -> str:
    return v.get("reading") or "not stated"


def sentence(wording, f: dict) -> str:
    """A fact in words: its family's wording, or its values listed when the family has none."""
    listed = f["kind"] + ": " + ", ".join(f"{k} = {v}" for k, v in f.items() if k != "kind")
    if f["kind"] in wording:
        try:
            return wording[f["kind"]](f)
        except Exception as error:  # a plugin's wording: its facts still show, as data
            return f"{listed} (its wording failed: {type(error).__name__}: {error})"
    return listed


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


def number(value, spec: str = ".3g") -> str:
    """A table's number in ``spec``'s format (three significant digits unless told); a dash where
    there is none (a plugin's checker that gave no worst case, a probe that was not taken)."""
    return "–" if value is None else format(value, spec)


def table(verdicts: list[dict]) -> str:
    width = max((len(v["id"]) for v in verdicts), default=len("claim"))
    labels = {v["id"]: certificates.label(v) for v in verdicts}
    column = max([len(label) for label in labels.values()] + [12])
    lines = [
        f"{'claim':<{width}}  {'verdict':<{column}}  {'worst':>22}  {'cases':>9}  {'seconds':>7}"
    ]
    for v in verdicts:
        lines.append(
            f"{v['id']:<{width}}  {labels[v['id']]:<{column}}  {number(v['worst'], '.15g'):>22}  {v['cases']:>9}  "
            f"{v['seconds']:>7.2f}"
        )
    for v in verdicts:
        lines += ["", f"{v['id']}: {v['verdict'].upper()}  [{v['source']}]", f"  {v['statement']}"]
        lines.append(
            f"  reading: {reading(v)}" + (f" of {paper_words(v)}" if paper_words(v) else "")
        )
        if "certificate" in v:
            cert = v["certificate"]
            lines.append(
                f"  Coq: {cert['theorem']} proves {cert['proves']}; compiled proof here: {cert['status']}"
            )
        lines += [f"  - {e}" for e in evidence(v)]
        if v["counterexample"] is not None:
            lines.append(
                f"  counterexample: {json.dumps(v['counterexample'].get('exact', v['counterexample']))}"
            )
        lines.append(f"  replay: {v['replay']}")
    return "\n".join(lines)


def markdown_table(header, rows) -> list[str]:
    """A Markdown table's lines: the header, its rule, a line per row of cells (strings)."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def git_commit() -> str:
    """The commit of the checkout the toolkit runs from, '+dirty' if it has changes."""
    here = Path(theory.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unavailable (not run from a git checkout)"
    return commit + ("+dirty" if dirty else "")


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), or what the platform says elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The CPU and the vector-unit path that computed the figures: the last digits of a
    ``worst`` are round-off, which another CPU or path rounds differently (within the bands of
    tests/data/verdicts-seed0.json; docs/decision-rule.md says why no verdict moves)."""
    return f"{cpu_model()}, torch CPU capability {torch.backends.cpu.get_cpu_capability()}"


REPOSITORY = Path(theory.__file__).resolve().parents[1]


def tree_changes(repository: Path = REPOSITORY) -> list[str] | None:
    """The files (relative to the repository) where its working tree differs from its commit:
    modified, staged, deleted, or untracked and not ignored (an untracked module of ``theory``
    adds claims); None when it is not a git checkout."""
    try:
        status = subprocess.run(
            [
                "git",
                "-C",
                str(repository),
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        top = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    entries, files = iter(status.split("\0")), []
    for entry in entries:
        if entry:
            files.append(os.path.relpath(Path(top, entry[3:]), Path(repository).resolve()))
            # a staged rename or copy: its source path follows, as an entry of its own
            if entry[0] in "RC":
                next(entries, None)
    return sorted(files)


def require_clean(outputs, allow_dirty: bool, repository: Path = REPOSITORY) -> list[str]:
    """A generated document that the repository ships (an output inside it) cites a commit that
    can be checked out: refuse to write it from a working tree that differs from its commit,
    naming the files, unless ``allow_dirty``. The output files themselves are left out (they are
    what is being regenerated). Returns the files that differ (empty when clean, or when no
    output lies in the repository, or outside a git checkout)."""
    root = Path(repository).resolve()
    # realpath: a loop of links stays as it is (files.target refuses it)
    real = [Path(os.path.realpath(o)) for o in outputs]
    inside = [o for o in real if o.is_relative_to(root)]
    changes = tree_changes(root) if inside else None
    if not changes:
        return []
    own = {str(o.relative_to(root)) for o in inside}
    changes = [c for c in changes if c not in own]
    if changes and not allow_dirty:
        raise OutputError(
            f"the working tree differs from its commit in {', '.join(changes)}: a generated document "
            "must cite a commit that can be checked out; commit first, or pass --allow-dirty (the "
            "document then says so)"
        )
    return changes


def dirty_note(changes: list[str]) -> str:
    """What a document written with --allow-dirty says about its provenance."""
    return (
        f"Written with --allow-dirty: the working tree differed from commit {git_commit()} in "
        f"{', '.join(changes)}, so that commit does not reproduce this exactly."
    )


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def markdown(
    verdicts: list[dict], effort: Effort, started: datetime, changes: list[str] = ()
) -> str:
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
        f"- machine: {machine()}",
        f"- software: Python {platform.python_version()}, torch {torch.__version__}, numpy "
        f"{numpy.__version__}, scipy {scipy.__version__}, sympy {sympy.__version__}",
        f"- replay the whole run: `{claims.replay_all(ids, effort.seed, effort.thorough)}`",
        *([f"- provenance: {dirty_note(changes)}"] if changes else []),
        "",
        "A verdict is *holds* when neither random sampling nor adversarial search (optimisation "
        "that maximises the violation, plus edge cases) found a case beyond the stated relative "
        "tolerance; *fails* when a counterexample was found and confirmed (it is given below and "
        "replayed by `pytest proofs/`); *inconclusive* otherwise. Cite a claim by its id and this "
        "report's commit and seed.",
        "",
        "| claim | what is checked | reading | source | verdict | worst | tolerance | cases |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        c = claims.get([v["id"]])[0]
        out.append(
            f"| `{v['id']}` | {_cell(c.title)} | {reading(v)} | {_cell(v['source'])} | {_verdict(v)} | "
            f"{number(v['worst'], '.15g')} | {v['tolerance']:g} | {v['cases']} |"
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
        f"- paper text: {_cell(paper_words(v)) or 'none given'}",
        f"- reading: {reading(v)}",
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
        out += [
            "",
            "Counterexample:",
            "",
            "```json",
            json.dumps(v["counterexample"], indent=2),
            "```",
        ]
    return out + (certificate_lines(v["certificate"], v["id"]) if "certificate" in v else [])


def certificate_lines(cert: dict, claim_id: str) -> list[str]:
    """A certificate in Markdown: what it proves, the statement as Coq prints it, its axioms
    and gap, and the command that re-checks it (its status on the machine that wrote the
    report is not a finding, so it is left out)."""
    return [
        "",
        f"Machine-checked: `{cert['theorem']}` ({cert['prover']} {cert['version']}, "
        f"`{cert['file']}`) proves {cert['proves']}:",
        "",
        "```coq",
        cert["statement"],
        "```",
        "",
        f"- assumptions: {', '.join(cert['assumptions']) or 'none'}",
        f"- gap: {cert['gap']}",
        f"- re-check: `python -m theory certify {claim_id}`",
    ]


SUMMARY = "verdicts"


def summary(verdicts: list[dict], effort: Effort, base: Path, changes: list[str] = ()) -> str:
    """The verdict table of the README: claim (linked to its family's page, relative to the
    folder ``base`` of the file it goes into), verdict, worst, what is checked. The pages are in
    the repository beside the ``theory`` package."""
    repository = Path(theory.__file__).resolve().parents[1]

    def link(target: str) -> str:
        return os.path.relpath(repository / target, Path(base).resolve())

    out = [
        f"Seed {effort.seed}, {effort.depth} depth, computed on {machine()}. `worst` is each "
        "claim's worst observed value (its meaning is in the claim's statement); its last digits "
        "are round-off, which other CPUs round differently, inside the bands that "
        f"[the pins]({link('tests/data/verdicts-seed0.json')}) give; no CPU changes a verdict "
        f"([why]({link('docs/decision-rule.md')}#other-cpus))."
        + (f" {dirty_note(changes)}" if changes else ""),
        "",
        "| claim | verdict | worst | reading | what is checked |",
        "|---|---|---|---|---|",
    ]
    for v in verdicts:
        c, family = claims.get([v["id"]])[0], claims.family_of(v["id"])
        name = f"[`{v['id']}`]({link(family.doc)})" if family.doc else f"`{v['id']}`"
        out.append(
            f"| {name} | {_verdict(v)} | {number(v['worst'], '.10g')} | {reading(v)} | {_cell(c.title)} |"
        )
    return "\n".join(out)


OutputError = files.OutputError


def check_writable(path) -> None:
    """Refuse, before any work, an output that cannot be written (``theory.files.check``)."""
    files.check(path)


def write_atomically(path, text: str) -> None:
    """Write the whole text or nothing to the real target of path (``theory.files``)."""
    files.write_atomically(path, text)


def begin_marker(name: str) -> str:
    return f"<!-- begin {name} -->"


def end_marker(name: str) -> str:
    return f"<!-- end {name} -->"


def _block_bounds(text: str, name: str, path) -> tuple[int, int]:
    begin, end = begin_marker(name), end_marker(name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise OutputError(
            f"{path} has no block to rewrite: it needs a line {begin} and, after it, {end}"
        )
    return start + len(begin), stop


def check_block(path, name: str, allow_dirty: bool = False) -> None:
    """Refuse, before any work, a file without the block ``write_block`` rewrites, or one that
    the repository ships while its tree differs from its commit (``require_clean``)."""
    require_clean([path], allow_dirty)
    real = files.target(path)
    if not real.exists():
        raise OutputError(
            f"{path} does not exist: the table is written into a block of an existing file"
        )
    files.check(path)
    _block_bounds(files.read_text(real), name, path)


def write_block(
    path, name: str, content: str, allow_dirty: bool = False, noted: bool = False
) -> None:
    """Replace what stands between the block's markers in a Markdown file with ``content``
    (from a clean tree, or with --allow-dirty and a note saying so, unless ``noted``: the content
    says it already; ``require_clean``)."""
    changes = require_clean([path], allow_dirty)
    if changes and not noted:
        content = content.rstrip("\n") + "\n\n" + dirty_note(changes)
    text = files.read_text(files.target(path))
    start, stop = _block_bounds(text, name, path)
    write_atomically(path, text[:start] + "\n" + content.strip("\n") + "\n" + text[stop:])


def silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that Python's exit flush does not fail
    again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
