"""A reproduction from plan to outputs (``python -m training.reproduce`` is the command): launch the
plan's missing runs, record each launch (``launches.jsonl``), load the finished runs, and write
the target's tables, figures and verdicts."""

import json
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from theory import files, report
from training.loop import outputs, run_files
from training.loop.config import RunFailed
from training.reproduction import empirical, figures, jobs, published, sweep, tables

FIGURES = {"figure1": figures.figure1, "figure4": figures.figure4, "figure5": figures.figure5}


@dataclass
class FinishedRun:
    """A finished run: its folder, result.json and metrics.jsonl."""

    folder: Path
    result: dict
    history: list[dict]


LAUNCHES = "launches.jsonl"  # one line per command that launched runs: what, how long, the load


def record_launch(out: Path, argv, planned, failures, began: float, load_at_start) -> None:
    launched = [p.name for p in planned if p.state != "done"]
    if not launched:
        return
    line = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": ["python", "-m", "training.reproduce", *argv],
        "launched": launched,
        "failed": [f.name for f in failures],
        "seconds": round(time.perf_counter() - began, 1),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    outputs.append_jsonl(out / LAUNCHES, line)


def launches_markdown(out: Path) -> tuple[str, int]:
    """The launches of the sweep in words, and how many lines of launches.jsonl were not a
    launch record (each left out, with one line on stderr naming the file and the line)."""
    path = out / LAUNCHES
    if not path.is_file():
        return "No launch of this sweep was recorded.", 0
    lines, bad = ["Launches of this sweep (wall time of each command that launched runs):", ""], 0
    for number, text in enumerate(path.read_bytes().splitlines(), 1):
        try:
            lines.append(_launch_line(json.loads(text.decode("utf-8"))))
        except (ValueError, KeyError, TypeError, IndexError) as error:
            print(
                f"error: {path} line {number} is cut or not a launch record ({type(error).__name__}: "
                f"{error}); it is left out of the list of launches",
                file=sys.stderr,
            )
            bad += 1
    return "\n".join(lines), bad


def _launch_line(line: dict) -> str:
    failed = f", {len(line['failed'])} failed" if line["failed"] else ""
    start = line.get("load_average_at_start")
    load = f"{start[0]} at its start, " if start else ""
    return (
        f"- {line['date']}: `{shlex.join(line['command'])}` launched "
        f"{len(line['launched'])} runs{failed} in {line['seconds']:.0f} s on "
        f"{line['cores']} cores, load average {load}{line['load_average_at_end'][1]} "
        "over the 5 minutes before its end (its own jobs included)"
    )


def block_name(args) -> str:
    return f"reproduce-{args.target}-{args.scale}"


def default_jobs(scale: sweep.Scale, launcher: str, planned) -> int:
    if launcher == "slurm":
        return max(1, len(planned))
    return max(scale.jobs, _gpus(planned))


def _gpus(planned) -> int:
    """The GPUs the runs may use on this machine (none for runs on the CPU)."""
    if not planned or planned[0].config["device"] == "cpu":
        return 0
    import torch

    return torch.cuda.device_count()


def slurm_executor(args, out: Path, at_once: int):
    options = dict(option.partition("=")[::2] for option in args.slurm_option)
    extra = {"slurm_additional_parameters": options} if options else None
    return jobs.slurm_executor(
        out / "jobs",
        partition=args.partition,
        time_min=args.time,
        gpus=args.gpus_per_job,
        cpus=args.cpus_per_job,
        parallelism=at_once,
        extra=extra,
    )


def launch_missing(
    planned, args, scale: sweep.Scale, at_once: int, out: Path, executor, train
) -> list:
    """Launch every run not done (Slurm when ``executor`` is given), packed ``args.pack`` runs
    to a job (``sweep.pack``), as jobs calling ``train`` (``training.run.main``) with their
    command line; the failures."""
    todo = sweep.pack(planned, args.overwrite, args.pack)
    if not todo:
        print("nothing to launch: every run of the plan is done")
        return []
    if executor is None:
        found = jobs.local(
            todo,
            train,
            folder=out / "jobs",
            jobs=at_once,
            threads=scale.threads,
            gpus=_gpus(planned),
        )
    else:
        found = jobs.slurm(todo, train, executor=executor, threads=scale.threads)
    for failure in found.failures:
        print(f"error: {failure}", file=sys.stderr)
    return found.failures


def load(planned) -> dict:
    """The plan's runs finished with its configuration, {(variant, β): {seed: FinishedRun}}."""
    runs: dict = {}
    for p in planned:
        if p.state not in ("done", "representations"):
            continue
        try:
            found = run_files.read_run(p.folder)
        except run_files.Damaged as error:  # damaged since it was planned: say so, use the others
            print(f"error: {error}; the run is left out", file=sys.stderr)
            continue
        runs.setdefault(p.group, {})[p.seed] = FinishedRun(
            p.folder, found["result"], found["history"]
        )
    return runs


def setting(scale: sweep.Scale, planned, runs: dict) -> str:
    c = next(
        (p.config for p in planned if p.config["epochs"]), planned[0].config
    )  # one that trains
    seeds = sorted({p.seed for p in planned})
    images = f"the first {c['subset']:,}" if c["subset"] else "all"
    return (
        f"--scale {scale.name}: {c['dataset']} at {c['image_size']} px, {images} training "
        f"images, ResNet18 of width {c['width']}, {c['epochs']} epochs of batches of "
        f"{c['batch_size']}, a probe of {c['probe_size']} test images, seeds "
        f"{', '.join(map(str, seeds))}; {sum(len(g) for g in runs.values())} of "
        f"{len(planned)} runs finished"
    )


def output_names(target: str) -> list[str]:
    """The files a reproduction of ``target`` writes into ``--out``."""
    names = [
        f"{t}.{kind}" for t in published.TABLES if target in (t, "all") for kind in ("md", "csv")
    ]
    return (
        names
        + [f"{n}.png" for n in FIGURES if target in (n, "all")]
        + ["verdicts.md", LAUNCHES, USED]
    )


USED = "runs-used.json"  # the runs the outputs in --out were made from


def runs_gone(out: Path, runs: dict) -> str:
    """Why the outputs in ``out`` must be kept (empty when they may be rewritten): a run they
    were made from is no longer finished (a rerun whose jobs failed, a damaged file)."""
    path = out / USED
    if not path.is_file():
        return ""
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(previous, list):
            raise ValueError("not a list of run names")
    except ValueError as error:
        return f"{path} cannot be read ({error}); remove it to write the outputs from the runs there are"
    now = {r.folder.name for group in runs.values() for r in group.values()}
    gone = sorted(set(map(str, previous)) - now)
    if not gone:
        return ""
    return (
        f"they were made from {len(previous)} runs, and {len(gone)} of them are not finished "
        f"now ({', '.join(gone)}); finish those runs and run the same command again, or "
        f"remove {path} to write the outputs from the {len(now)} runs there are"
    )


def write_outputs(args, scale, planned, runs: dict, out: Path, seconds: float, argv) -> int:
    """Print the verdicts, then write the target's tables, figures and verdicts, each whole or
    not at all: 0, or 1 (one line) when a file could not be written."""
    gone = runs_gone(out, runs)
    if gone:
        print(f"error: the outputs in {out} were kept as they are: {gone}", file=sys.stderr)
        return 1
    where = setting(scale, planned, runs)
    found = empirical.assess(runs)
    for c in found:
        if c.verdict:
            print(f"{c.verdict:>22}  {c.claim.title}")
    command = shlex.join(["python", "-m", "training.reproduce", *argv])
    sections, written = [f"Written by `{command}` ({where}).", ""], []
    try:
        for table in [t for t in published.TABLES if args.target in (t, "all")]:
            text = tables.markdown(table, runs, args.units, where)
            consistency = published.consistency_markdown()
            report.write_atomically(out / f"{table}.md", f"{text}\n\n{consistency}\n")
            report.write_atomically(out / f"{table}.csv", tables.csv_text(table, runs, args.units))
            sections += [text, ""]
            written += [out / f"{table}.md", out / f"{table}.csv"]
        for name, draw in FIGURES.items():
            if args.target in (name, "all") and runs:
                draw(runs, out / f"{name}.png", where)
                written.append(out / f"{name}.png")
        verdict_text = tables.verdict_markdown(found, where)
        report.write_atomically(out / "verdicts.md", verdict_text + "\n")
        written.append(out / "verdicts.md")
        used = sorted(r.folder.name for group in runs.values() for r in group.values())
        report.write_atomically(out / USED, json.dumps(used, indent=1) + "\n")
    except (OSError, report.OutputError, RunFailed) as error:
        print(
            f"error: {error}; the verdicts above stand"
            + (f", and {', '.join(map(str, written))} were written" if written else ""),
            file=sys.stderr,
        )
        return 1
    launches, bad_launches = launches_markdown(out)
    sections += [tables.runs_markdown(runs), "", verdict_text, ""]
    if args.markdown:  # the figures inline, by their path from the page
        page = Path(args.markdown).resolve().parent
        sections += [
            f"![{path.stem}]({Path(os.path.relpath(path.resolve(), page)).as_posix()})\n"
            for path in written
            if path.suffix == ".png"
        ]
    sections += [launches]
    if args.markdown:
        if files.written(
            "results",
            args.markdown,
            lambda: report.write_block(
                args.markdown, block_name(args), "\n".join(sections), args.allow_dirty
            ),
        ):
            return 1
        written.append(Path(args.markdown))
    print(f"wrote {', '.join(map(str, written))} ({seconds:.0f} s)")
    return 1 if bad_launches else 0
