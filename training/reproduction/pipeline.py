"""``python -m training.reproduce TARGET [--scale paper|cpu] [--seeds N] [--launcher local|slurm]
[--jobs K] [--dry-run] [--out DIR] [-- TRAINING.RUN OPTIONS]``: reproduce Table 1, Table 3,
Figure 1, 4 or 5 (or all) of the paper from one command.

It plans the runs (variant × β × seed) and prints the plan and its cost (``--dry-run`` stops
there); skips the runs already finished with the same configuration, resumes interrupted
ones and launches the rest as submitit jobs (``training.launch``); then writes into ``--out``
the target's table (Markdown and CSV, beside the paper's numbers), its figure (PNG) and a
verdict for every empirical claim its runs can test (``verdicts.md``, with the rule).
Options after ``--`` go to every run's ``python -m training.run``.

Exit status: 0 every run finished and the outputs are written; 1 a run failed (the outputs
are written from the others); 2 bad input (unknown target, bad option, runs of another
configuration in ``--out`` without ``--overwrite``); 130 interrupted (running jobs are
stopped at once with their last checkpoint kept: run the same command again).
"""

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from theory import report
from training import empirical, figures, launch, paper, summary, sweep, tables

FIGURES = {"figure1": figures.figure1, "figure4": figures.figure4, "figure5": figures.figure5}


@dataclass
class Record:
    """A finished run: its folder, result.json and metrics.jsonl."""

    folder: Path
    result: dict
    history: list[dict]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.reproduce",
        description="Reproduce Tables 1 and 3 and Figures 1, 4 and 5 of 'Run Away From your "
        "Teacher': plan the runs, launch what is missing on submitit, and write the tables "
        "beside the paper's numbers, the figures and a verdict for each empirical claim.",
        epilog="Options after -- are passed to every run's python -m training.run (for "
        "example: -- --precision bf16).",
    )
    p.add_argument("target", choices=list(sweep.TARGETS))
    p.add_argument("--scale", choices=list(sweep.SCALES), default="paper",
                   help="paper: Appendix B (CIFAR10, 96 px, 300 epochs, GPU); cpu: Fashion-"
                   "MNIST, 32 px, ResNet18 of width 8, 5,120 steps (default paper)")  # fmt: skip
    p.add_argument("--seeds", type=int, help="seeds 0 … N−1 per run (default: the scale's, "
                   "paper 3, cpu 1)")  # fmt: skip
    p.add_argument("--launcher", choices=("local", "slurm"), default="local")
    p.add_argument("--jobs", type=int, help="runs at once (local: default one per GPU, or the "
                   "cpu scale's 2; several per GPU when larger); Slurm: the array's parallelism")
    p.add_argument("--dry-run", action="store_true", help="print the plan and its cost, and stop")
    p.add_argument("--out", help="the sweep's folder (default runs/reproduce-SCALE)")
    p.add_argument("--overwrite", action="store_true",
                   help="run again the runs whose folders hold another configuration")
    p.add_argument("--units", choices=list(paper.ALIGNMENT_UNITS), default=paper.DEFAULT_UNITS,
                   help="the authors' logged units of L_align in which our values are shown "
                   f"beside the paper's (default {paper.DEFAULT_UNITS}; docs/reproduce.md)")
    p.add_argument("--markdown", metavar="FILE.md",
                   help="also write the results into the block reproduce-TARGET-SCALE of FILE")
    slurm = p.add_argument_group("Slurm (--launcher slurm)")
    slurm.add_argument("--partition", help="Slurm partition")
    slurm.add_argument("--time", type=int, default=24 * 60,
                       help="minutes per job (default 1440); a job that times out is requeued "
                       "and resumes")  # fmt: skip
    slurm.add_argument("--gpus-per-job", type=int, default=1)
    slurm.add_argument("--cpus-per-job", type=int, default=8)
    slurm.add_argument("--slurm-option", action="append", default=[], metavar="KEY=VALUE",
                       help="any other sbatch option, e.g. account=ABC or qos=high (repeatable)")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    head, tail = argv[:cut], argv[cut + 1 :]
    args = parser().parse_args(head)
    began, load_at_start = time.perf_counter(), os.getloadavg()
    scale = sweep.SCALES[args.scale]
    out = Path(args.out or f"runs/reproduce-{args.scale}")
    try:
        planned = sweep.plan(args.target, scale, args.seeds or scale.seeds, out,
                             sweep.extra_options(tail))  # fmt: skip
        if args.markdown:
            report.check_block(args.markdown, block_name(args))
    except (sweep.PlanError, report.OutputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    jobs = args.jobs or default_jobs(scale, args.launcher, planned)
    print(sweep.describe(planned, scale, jobs))
    conflicts = [p.name for p in planned if p.state == "conflict"]
    if conflicts and not args.overwrite:
        print(f"error: {out / 'runs'} holds runs of another configuration "
              f"({', '.join(conflicts)}): pass --overwrite to run them again, or choose another "
              "--out", file=sys.stderr)  # fmt: skip
        return 2
    if args.dry_run:
        return 0
    try:
        executor = slurm_executor(args, out, jobs) if args.launcher == "slurm" else None
    except RuntimeError as error:  # submitit's: no srun on this machine
        print(f"error: --launcher slurm: {error}", file=sys.stderr)
        return 2
    try:
        failures = launch_missing(planned, args, scale, jobs, out, executor)
    except KeyboardInterrupt:
        print("error: interrupted; the running jobs were stopped and keep their last checkpoint: "
              "run the same command again to resume them", file=sys.stderr)  # fmt: skip
        return 130
    record_launch(out, argv, planned, failures, began, load_at_start)
    after = sweep.plan(args.target, scale, args.seeds or scale.seeds, out, sweep.extra_options(tail))
    runs = load(after)
    write_outputs(args, scale, after, runs, out, seconds=time.perf_counter() - began, argv=argv)
    missing = [p.name for p in planned if p.group not in runs or p.seed not in runs[p.group]]
    if failures or missing:
        print(f"error: {len(missing)} run(s) did not finish: {', '.join(missing)}; the outputs "
              "use the others; run the same command again to finish them", file=sys.stderr)  # fmt: skip
        return 1
    return 0


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
    with open(out / LAUNCHES, "a") as f:
        f.write(json.dumps(line) + "\n")


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


def slurm_executor(args, out: Path, jobs: int):
    options = dict(option.partition("=")[::2] for option in args.slurm_option)
    extra = {"slurm_additional_parameters": options} if options else None
    return launch.slurm_executor(
        out / "jobs", partition=args.partition, time_min=args.time, gpus=args.gpus_per_job,
        cpus=args.cpus_per_job, parallelism=jobs, extra=extra,
    )  # fmt: skip


def launch_missing(planned, args, scale: sweep.Scale, jobs: int, out: Path, executor) -> list:
    """Launch every run not done (Slurm when ``executor`` is given); the failures."""
    todo = [(p, args.overwrite) for p in planned if p.state != "done"]
    if not todo:
        print("nothing to launch: every run of the plan is done")
        return []
    if executor is None:
        found = launch.local(todo, folder=out / "jobs", jobs=jobs, threads=scale.threads,
                             gpus=_gpus(planned))  # fmt: skip
    else:
        found = launch.slurm(todo, executor=executor, threads=scale.threads)
    for failure in found.failures:
        print(f"error: {failure}", file=sys.stderr)
    return found.failures


def load(planned) -> dict:
    """The plan's runs finished with its configuration, {(variant, β): {seed: Record}}."""
    runs: dict = {}
    for p in planned:
        if p.state not in ("done", "representations"):
            continue
        try:
            found = summary.load(p.folder)
        except (FileNotFoundError, json.JSONDecodeError):
            continue
        runs.setdefault(p.group, {})[p.seed] = Record(p.folder, found["result"], found["history"])
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
    for table in [t for t in paper.TABLES if args.target in (t, "all")]:
        text = tables.markdown(table, runs, args.units, where)
        consistency = paper.consistency_markdown()
        report.write_atomically(out / f"{table}.md", f"{text}\n\n{consistency}\n")
        report.write_atomically(out / f"{table}.csv", tables.csv_text(table, runs, args.units))
        sections += [text, ""]
        written += [out / f"{table}.md", out / f"{table}.csv"]
    for name, draw in FIGURES.items():
        if args.target in (name, "all") and runs:
            draw(runs, out / f"{name}.png", where)
            written.append(out / f"{name}.png")
    found = empirical.evaluate(runs)
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


if __name__ == "__main__":
    sys.exit(main())
