"""``python -m training.reproduce TARGET [--scale paper|cpu] [--seeds N] [--launcher local|slurm]
[--jobs K] [--pack K] [--dry-run] [--out DIR] [-- TRAINING.RUN OPTIONS]``: reproduce Table 1, Table 3,
Figure 1, 4 or 5 (or all) of the paper from one command.

It plans the runs (variant × β × seed) and prints the plan and its cost (``--dry-run`` stops
there); skips the runs already finished with the same configuration, resumes interrupted
ones and launches the rest as submitit jobs (``training.reproduction.jobs``), each
configuration's seeds packed into one batch (``training.run --seeds``; ``--pack K``: at most K
runs a job); then writes into ``--out``
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
import os
import signal
import sys
import time
from pathlib import Path

from theory import containment, files, report
from training import cli, run
from training.loop import run_files, signals
from training.reproduction import pipeline, published, sweep

MAX_SEEDS = 100  # seeds per run; the paper's tables use 3
MAX_JOBS = 1024  # runs at once


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
    p.add_argument(
        "--scale",
        choices=list(sweep.SCALES),
        default="paper",
        help="paper: Appendix B (CIFAR10, 96 px, 300 epochs, GPU); cpu: Fashion-"
        "MNIST, 32 px, ResNet18 of width 8, 1,920 steps, 3 seeds (default paper)",
    )
    p.add_argument(
        "--seeds",
        type=cli.count("--seeds", MAX_SEEDS),
        help="seeds 0 … N−1 per run (default: the scale's, 3)",
    )
    p.add_argument("--launcher", choices=("local", "slurm"), default="local")
    p.add_argument(
        "--jobs",
        type=cli.count("--jobs", MAX_JOBS),
        help="runs at once (local: default one per GPU, or the "
        "cpu scale's 2; several per GPU when larger); Slurm: the array's parallelism",
    )
    p.add_argument(
        "--pack",
        type=cli.count("--pack", MAX_SEEDS),
        help="the most runs of one configuration (its seeds) trained as one batch in one job "
        "(training.run --seeds; default: all its seeds; 1: one run per job)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and its cost, and stop")
    p.add_argument("--out", help="the sweep's folder (default runs/reproduce-SCALE)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="run again the runs whose folders hold another configuration; move the "
        "damaged files of broken runs aside (NAME.damaged) and resume or restart them",
    )
    p.add_argument(
        "--units",
        choices=list(published.ALIGNMENT_UNITS),
        default=published.DEFAULT_UNITS,
        help="the authors' logged units of L_align in which our values are shown "
        f"beside the paper's (default {published.DEFAULT_UNITS}; docs/reproduce.md)",
    )
    p.add_argument(
        "--markdown",
        metavar="FILE.md",
        help="also write the results into the block reproduce-TARGET-SCALE of FILE",
    )
    cli.add_allow_dirty(p)
    slurm = p.add_argument_group("Slurm (--launcher slurm)")
    slurm.add_argument("--partition", help="Slurm partition")
    slurm.add_argument(
        "--time",
        type=int,
        default=24 * 60,
        help="minutes per job (default 1440); a job that times out is requeued and resumes",
    )
    slurm.add_argument("--gpus-per-job", type=int, default=1)
    slurm.add_argument("--cpus-per-job", type=int, default=8)
    slurm.add_argument(
        "--slurm-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other sbatch option, e.g. account=ABC or qos=high (repeatable)",
    )
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
        planned = sweep.plan(
            args.target, scale, args.seeds or scale.seeds, out, sweep.extra_options(tail)
        )
        if args.markdown:
            report.check_block(args.markdown, pipeline.block_name(args), args.allow_dirty)
            files.check_distinct(
                {
                    "--markdown": args.markdown,
                    **{
                        f"--out's {name}": out / name for name in pipeline.output_names(args.target)
                    },
                }
            )
        if out.exists() and not out.is_dir():
            raise report.OutputError(f"--out {out} exists and is not a folder")
    except (sweep.PlanError, report.OutputError) as error:
        return cli.error(error, cli.USAGE)
    args.pack = args.pack or args.seeds or scale.seeds
    jobs = args.jobs or pipeline.default_jobs(scale, args.launcher, planned)
    print(sweep.describe(planned, scale, jobs, sweep.pack(planned, args.overwrite, args.pack)))
    conflicts = [p.name for p in planned if p.state == "conflict"]
    if conflicts and not args.overwrite:
        return cli.error(
            f"{out / 'runs'} holds runs of another configuration ({', '.join(conflicts)}): "
            "pass --overwrite to run them again, or choose another --out",
            cli.USAGE,
        )
    broken = [p for p in planned if p.state == "broken"]
    if broken and not args.overwrite:
        for p in broken:
            cli.error(sweep.way_out(p), cli.USAGE)
        return cli.USAGE
    if args.dry_run:
        return 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        files.check(out / pipeline.LAUNCHES)
    except (OSError, report.OutputError) as error:
        return cli.error(
            f"--out {out} cannot be written ({getattr(error, 'strerror', None) or error})",
            cli.USAGE,
        )
    for p in broken:  # --overwrite: nothing damaged is deleted, and a good checkpoint resumes
        kept = () if p.resumable else ("checkpoint.pt",)
        moved = run_files.move_aside(
            p.folder, ("result.json", "metrics.jsonl", "curves.png") + kept
        )
        print(f"{p.name}: moved {', '.join(m.name for m in moved)} aside", file=sys.stderr)
        p.state = "resume" if p.resumable else "new"
    try:
        executor = pipeline.slurm_executor(args, out, jobs) if args.launcher == "slurm" else None
    except RuntimeError as error:  # submitit's: no srun on this machine
        return cli.error(f"--launcher slurm: {error}", cli.USAGE)
    try:
        with signals.STOP.installed():
            failures = pipeline.launch_missing(planned, args, scale, jobs, out, executor, run.main)
    except (KeyboardInterrupt, signals.Interrupted) as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        return cli.error(
            f"interrupted by {signal.Signals(signum).name}; the running jobs were stopped "
            "and keep their last checkpoint: run the same command again to resume them",
            128 + signum,
        )
    try:
        pipeline.record_launch(out, argv, planned, failures, began, load_at_start)
    except cli.FAILED as error:
        return cli.error(error, cli.FAILURE)
    after = sweep.plan(
        args.target, scale, args.seeds or scale.seeds, out, sweep.extra_options(tail)
    )
    runs = pipeline.load(after)
    if pipeline.write_outputs(
        args, scale, after, runs, out, seconds=time.perf_counter() - began, argv=argv
    ):
        return cli.FAILURE
    missing = [p for p in after if p.group not in runs or p.seed not in runs[p.group]]
    for p in missing:
        if p.state == "broken":
            cli.error(sweep.way_out(p), cli.FAILURE)
    unfinished = [p.name for p in missing if p.state != "broken"]
    if unfinished:
        cli.error(
            f"{len(unfinished)} run(s) did not finish: {', '.join(unfinished)}; the outputs use "
            "the others; run the same command again to finish them",
            cli.FAILURE,
        )
    return cli.FAILURE if failures or missing else 0


if __name__ == "__main__":
    sys.exit(main())
