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

from theory import report
from training.loop import outputs
from training.reproduction import empirical, figures, jobs, published, run_table, sweep, tables

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


def launches_markdown(out: Path) -> str:
    path = out / LAUNCHES
    if not path.is_file():
        return "No launch of this sweep was recorded."
    lines = ["Launches of this sweep (wall time of each command that launched runs):", ""]
    for line in map(json.loads, path.read_text().splitlines()):
        failed = f", {len(line['failed'])} failed" if line["failed"] else ""
        start = line.get("load_average_at_start")
        load = f"{start[0]} at its start, " if start else ""
        lines.append(f"- {line['date']}: `{shlex.join(line['command'])}` launched "
                     f"{len(line['launched'])} runs{failed} in {line['seconds']:.0f} s on "
                     f"{line['cores']} cores, load average {load}{line['load_average_at_end'][1]} "
                     "over the 5 minutes before its end (its own jobs included)")  # fmt: skip
    return "\n".join(lines)


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
        out / "jobs", partition=args.partition, time_min=args.time, gpus=args.gpus_per_job,
        cpus=args.cpus_per_job, parallelism=at_once, extra=extra,
    )  # fmt: skip


def launch_missing(planned, args, scale: sweep.Scale, at_once: int, out: Path, executor, train) -> list:
    """Launch every run not done (Slurm when ``executor`` is given) as a job calling ``train``
    (``training.run.main``) with the run's command line; the failures."""
    todo = [(p, args.overwrite) for p in planned if p.state != "done"]
    if not todo:
        print("nothing to launch: every run of the plan is done")
        return []
    if executor is None:
        found = jobs.local(todo, train, folder=out / "jobs", jobs=at_once, threads=scale.threads,
                           gpus=_gpus(planned))  # fmt: skip
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
            found = run_table.load(p.folder)
        except (FileNotFoundError, json.JSONDecodeError):
            continue
        runs.setdefault(p.group, {})[p.seed] = FinishedRun(p.folder, found["result"], found["history"])
    return runs


def setting(scale: sweep.Scale, planned, runs: dict) -> str:
    c = planned[0].config
    seeds = sorted({p.seed for p in planned})
    images = f"the first {c['subset']:,}" if c["subset"] else "all"
    return (f"--scale {scale.name}: {c['dataset']} at {c['image_size']} px, {images} training "
            f"images, ResNet18 of width {c['width']}, {c['epochs']} epochs of batches of "
            f"{c['batch_size']}, a probe of {c['probe_size']} test images, seeds "
            f"{', '.join(map(str, seeds))}; {sum(len(g) for g in runs.values())} of "
            f"{len(planned)} runs finished")  # fmt: skip


def write_outputs(args, scale, planned, runs: dict, out: Path, seconds: float, argv) -> None:
    """The target's tables, figures and verdicts, each written whole or not at all."""
    where = setting(scale, planned, runs)
    command = shlex.join(["python", "-m", "training.reproduce", *argv])
    sections, written = [f"Written by `{command}` ({where}).", ""], []
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
    found = empirical.assess(runs)
    verdict_text = tables.verdict_markdown(found, where)
    report.write_atomically(out / "verdicts.md", verdict_text + "\n")
    written.append(out / "verdicts.md")
    sections += [tables.runs_markdown(runs), "", verdict_text, "", launches_markdown(out)]
    if args.markdown:
        report.write_block(args.markdown, block_name(args), "\n".join(sections))
        written.append(Path(args.markdown))
    for c in found:
        if c.verdict:
            print(f"{c.verdict:>22}  {c.claim.title}")
    print(f"wrote {', '.join(map(str, written))} ({seconds:.0f} s)")
