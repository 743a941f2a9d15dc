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
are written from the others, unless a run they were made from is gone: then they are kept), an
output could not be written, or a launch record is cut; 2 bad input (unknown target, bad
option, runs of another configuration or broken runs in ``--out`` without ``--overwrite``);
130 or 143 interrupted by SIGINT or SIGTERM (running jobs are stopped at once with their last
checkpoint kept: run the same command again)."""

import argparse
import json
import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from theory import containment, files, report
from training import empirical, figures, launch, paper, run_files, signals, sweep, tables
from training.config import RunFailed

FIGURES = {"figure1": figures.figure1, "figure4": figures.figure4, "figure5": figures.figure5}


@dataclass
class Record:
    """A finished run: its folder, result.json and metrics.jsonl."""

    folder: Path
    result: dict
    history: list[dict]


MAX_SEEDS = 100  # seeds per run; the paper's tables use 3
MAX_JOBS = 1024  # runs at once


def _count(option: str, most: int):
    """An argparse type: an integer in [1, most]."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{option} must be between 1 and {most}, got {value}")
        return value

    return count


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
    p.add_argument("--seeds", type=_count("--seeds", MAX_SEEDS), help="seeds 0 … N−1 per run (default: the scale's, "
                   "paper 3, cpu 1)")  # fmt: skip
    p.add_argument("--launcher", choices=("local", "slurm"), default="local")
    p.add_argument("--jobs", type=_count("--jobs", MAX_JOBS), help="runs at once (local: default one per GPU, or the "
                   "cpu scale's 2; several per GPU when larger); Slurm: the array's parallelism")
    p.add_argument("--dry-run", action="store_true", help="print the plan and its cost, and stop")
    p.add_argument("--out", help="the sweep's folder (default runs/reproduce-SCALE)")
    p.add_argument("--overwrite", action="store_true",
                   help="run again the runs whose folders hold another configuration; move the "
                   "damaged files of broken runs aside (NAME.damaged) and resume or restart them")
    p.add_argument("--units", choices=list(paper.ALIGNMENT_UNITS), default=paper.DEFAULT_UNITS,
                   help="the authors' logged units of L_align in which our values are shown "
                   f"beside the paper's (default {paper.DEFAULT_UNITS}; docs/reproduce.md)")
    p.add_argument("--markdown", metavar="FILE.md",
                   help="also write the results into the block reproduce-TARGET-SCALE of FILE")
    p.add_argument("--allow-dirty", action="store_true", help="write into a file the repository ships even though its working tree differs from its commit (refused otherwise); the block then says so")
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
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
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
            report.check_block(args.markdown, block_name(args), args.allow_dirty)
            files.check_distinct({"--markdown": args.markdown,
                                  **{f"--out's {name}": out / name for name in output_names(args.target)}})
        if out.exists() and not out.is_dir():
            raise report.OutputError(f"--out {out} exists and is not a folder")
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
    broken = [p for p in planned if p.state == "broken"]
    if broken and not args.overwrite:
        for p in broken:
            print(f"error: {sweep.way_out(p)}", file=sys.stderr)
        return 2
    if args.dry_run:
        return 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        files.check(out / LAUNCHES)
    except (OSError, report.OutputError) as error:
        print(f"error: --out {out} cannot be written ({getattr(error, 'strerror', None) or error})", file=sys.stderr)
        return 2
    for p in broken:  # --overwrite: nothing damaged is deleted, and a good checkpoint resumes
        kept = () if p.resumable else ("checkpoint.pt",)
        moved = run_files.move_aside(p.folder, ("result.json", "metrics.jsonl", "curves.png") + kept)
        print(f"{p.name}: moved {', '.join(m.name for m in moved)} aside", file=sys.stderr)
        p.state = "resume" if p.resumable else "new"
    try:
        executor = slurm_executor(args, out, jobs) if args.launcher == "slurm" else None
    except RuntimeError as error:  # submitit's: no srun on this machine
        print(f"error: --launcher slurm: {error}", file=sys.stderr)
        return 2
    try:
        with signals.STOP.installed():
            failures = launch_missing(planned, args, scale, jobs, out, executor)
    except (KeyboardInterrupt, signals.Interrupted) as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        print(f"error: interrupted by {signal.Signals(signum).name}; the running jobs were stopped "
              "and keep their last checkpoint: run the same command again to resume them",
              file=sys.stderr)  # fmt: skip
        return 128 + signum
    record_launch(out, argv, planned, failures, began, load_at_start)
    after = sweep.plan(args.target, scale, args.seeds or scale.seeds, out, sweep.extra_options(tail))
    runs = load(after)
    if write_outputs(args, scale, after, runs, out, seconds=time.perf_counter() - began, argv=argv):
        return 1
    missing = [p for p in after if p.group not in runs or p.seed not in runs[p.group]]
    for p in missing:
        if p.state == "broken":
            print(f"error: {sweep.way_out(p)}", file=sys.stderr)
    unfinished = [p.name for p in missing if p.state != "broken"]
    if unfinished:
        print(f"error: {len(unfinished)} run(s) did not finish: {', '.join(unfinished)}; the "
              "outputs use the others; run the same command again to finish them", file=sys.stderr)  # fmt: skip
    return 1 if failures or missing else 0


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
    path = out / LAUNCHES
    cut = path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n")
    with open(path, "a") as f:  # after a cut last line, on a line of its own
        f.write(("\n" if cut else "") + json.dumps(line) + "\n")


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
            print(f"error: {path} line {number} is cut or not a launch record ({type(error).__name__}: "
                  f"{error}); it is left out of the list of launches", file=sys.stderr)
            bad += 1
    return "\n".join(lines), bad


def _launch_line(line: dict) -> str:
    failed = f", {len(line['failed'])} failed" if line["failed"] else ""
    start = line.get("load_average_at_start")
    load = f"{start[0]} at its start, " if start else ""
    return (f"- {line['date']}: `{shlex.join(line['command'])}` launched "
            f"{len(line['launched'])} runs{failed} in {line['seconds']:.0f} s on "
            f"{line['cores']} cores, load average {load}{line['load_average_at_end'][1]} "
            "over the 5 minutes before its end (its own jobs included)")  # fmt: skip


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
            found = run_files.read_run(p.folder)
        except run_files.Damaged as error:  # damaged since it was planned: say so, use the others
            print(f"error: {error}; the run is left out", file=sys.stderr)
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


def output_names(target: str) -> list[str]:
    """The files a reproduction of ``target`` writes into ``--out``."""
    names = [f"{t}.{kind}" for t in paper.TABLES if target in (t, "all") for kind in ("md", "csv")]
    return names + [f"{n}.png" for n in FIGURES if target in (n, "all")] + ["verdicts.md", LAUNCHES, USED]


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
    return (f"they were made from {len(previous)} runs, and {len(gone)} of them are not finished "
            f"now ({', '.join(gone)}); finish those runs and run the same command again, or "
            f"remove {path} to write the outputs from the {len(now)} runs there are")


def write_outputs(args, scale, planned, runs: dict, out: Path, seconds: float, argv) -> int:
    """Print the verdicts, then write the target's tables, figures and verdicts, each whole or
    not at all: 0, or 1 (one line) when a file could not be written."""
    gone = runs_gone(out, runs)
    if gone:
        print(f"error: the outputs in {out} were kept as they are: {gone}", file=sys.stderr)
        return 1
    where = setting(scale, planned, runs)
    found = empirical.evaluate(runs)
    for c in found:
        if c.verdict:
            print(f"{c.verdict:>22}  {c.claim.title}")
    command = shlex.join(["python", "-m", "training.reproduce", *argv])
    sections, written = [f"Written by `{command}` ({where}).", ""], []
    try:
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
        verdict_text = tables.verdict_markdown(found, where)
        report.write_atomically(out / "verdicts.md", verdict_text + "\n")
        written.append(out / "verdicts.md")
        used = sorted(r.folder.name for group in runs.values() for r in group.values())
        report.write_atomically(out / USED, json.dumps(used, indent=1) + "\n")
    except (OSError, report.OutputError, RunFailed) as error:
        print(f"error: {error}; the verdicts above stand"
              + (f", and {', '.join(map(str, written))} were written" if written else ""), file=sys.stderr)
        return 1
    launches, bad_launches = launches_markdown(out)
    sections += [tables.runs_markdown(runs), "", verdict_text, "", launches]
    if args.markdown:
        if files.written("results", args.markdown,
                         lambda: report.write_block(args.markdown, block_name(args), "\n".join(sections),
                                                    args.allow_dirty)):
            return 1
        written.append(Path(args.markdown))
    print(f"wrote {', '.join(map(str, written))} ({seconds:.0f} s)")
    return 1 if bad_launches else 0


if __name__ == "__main__":
    sys.exit(main())
