"""The runs a reproduction needs: which runs a target needs (variant × β × seed), at which scale
(the paper's Appendix B, or a CPU preset), what each run folder already holds (done, to resume,
new, or another configuration) and what the rest will cost. ``training.reproduction.jobs``
launches them as submitit jobs. Every job is ``python -m training.run ... --resume`` in its own folder, so that a job killed
at any moment resumes from its last checkpoint when the same command runs again.
"""

import argparse
import json
import shlex
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from training.loop import config, outputs, run_files, variants
from training.reproduction import published

Group = tuple[str, float | None]
# Config fields that do not make two runs different: where the data and the outputs are, and
# how often the progress bar reads the loss.
NOT_THE_RUN = {"out", "data_dir", "log_every"}
REPRESENTATIONS = (
    "representations.npz"  # Figure 5's: written by training.reproduction.jobs after a run
)
DATASET_SIZES = {"cifar10": 50_000, "fashion-mnist": 60_000}
PLANNED_OPTIONS = ("seed", "beta", "out", "resume", "overwrite", "list")  # set by the plan


@dataclass(frozen=True)
class Scale:
    """A preset of training.run options, with its default seeds, jobs at once and torch
    threads per job, and the seconds per step that the plan's estimate uses (and where that
    figure comes from)."""

    name: str
    options: dict
    seeds: int
    jobs: int
    threads: int | None
    seconds_per_step: float | None
    estimate: str


SCALES = {
    # Appendix B exactly: CIFAR10 at 96 px, ResNet18, 300 epochs of batches of 128, 3 seeds;
    # fp32 as the authors trained (their --amp was off by default; docs/performance.md: bf16's caveat).
    "paper": Scale(
        "paper",
        {
            "dataset": "cifar10",
            "image_size": 96,
            "width": 64,
            "epochs": 300,
            "batch_size": 128,
            "precision": "fp32",
        },
        seeds=3,
        jobs=1,
        threads=None,
        seconds_per_step=None,
        estimate="no GPU figure has been measured for this repository yet",
    ),
    # Every target on a 2-core CPU: Fashion-MNIST at 32 px, ResNet18 of width 8, the first
    # 6,144 training images, 20 epochs of 96 steps (1,920 steps), a linear evaluation of 50
    # epochs; 3 seeds, each configuration's packed into one job; one thread per job, two jobs
    # at once (docs/reproduce.md has the measured figures).
    "cpu": Scale(
        "cpu",
        {
            "dataset": "fashion-mnist",
            "image_size": 32,
            "width": 8,
            "subset": 6144,
            "batch_size": 64,
            "epochs": 20,
            "probe_size": 512,
            "linear_epochs": 50,
            "device": "cpu",
        },
        seeds=3,
        jobs=2,
        threads=1,
        seconds_per_step=0.15,
        estimate="the mean of results/cpu's 66 trained runs, 2 idle cores, two jobs at once",
    ),
}

_NP, _LP, _LPI, _BYOL = ("byol-np", None), ("byol-lp", None), ("byol-lpi", None), ("byol", None)
TARGETS: dict[str, tuple[Group, ...]] = {
    "table1": tuple(row.group for row in published.TABLE1),
    "table3": tuple(row.group for row in published.TABLE3),
    "figure1": (_BYOL, _NP, _LP, _LPI),
    "figure4": tuple((v, b) for v in ("byol'-np", "raft-np") for b in (1.0, 10.0, 100.0))
    + (("raft-lp", 1.0),),
    "figure5": (("supervised", None), _BYOL, _NP, ("byol'", 1.0), ("raft", 1.0)),
}
TARGETS["all"] = tuple(dict.fromkeys(g for groups in TARGETS.values() for g in groups))


def needs_representations(group: Group) -> bool:
    """Whether Figure 5 draws the runs of ``group`` (their folders then hold REPRESENTATIONS)."""
    return group in TARGETS["figure5"]


class PlanError(ValueError):
    """Options that cannot make a plan (exit status 2)."""


@dataclass
class Planned:
    """One run of the plan: what it trains, where, with which options, and what its folder
    already holds: "done", "resume" (interrupted, or to extend), "new", or "conflict" (the
    folder holds a run or a checkpoint of another configuration), "broken" (a file of it
    cannot be read), or "representations" (trained; only Figure 5's representations are
    missing)."""

    variant: str
    beta: float | None
    seed: int
    folder: Path
    given: dict
    config: dict
    steps: int
    state: str = "new"
    differs: list[str] = field(default_factory=list)
    problem: str = ""  # "broken": which file cannot be read, and why
    resumable: bool = False  # "broken": whether its checkpoint can continue it

    @property
    def group(self) -> Group:
        return (self.variant, self.beta)

    @property
    def name(self) -> str:
        return self.folder.name

    def argv(self, overwrite: bool = False, seeds: list[int] | None = None) -> list[str]:
        """training.run's command line for this run, or (``seeds``) for a batch of this run's
        configuration at those seeds, each in its own folder of the plan."""
        words = [self.variant]
        for key, value in self.given.items():
            if seeds is not None and key == "seed":
                continue
            flag = "--" + key.replace("_", "-")
            words += [flag] if value is True else [flag, str(value)]
        if seeds is None:
            out = str(self.folder)
        else:
            words += ["--seeds", ",".join(map(str, seeds))]
            out = str(self.folder.parent / run_name(self.variant, self.beta, "{seed}"))
        return words + ["--out", out, "--overwrite" if overwrite else "--resume"]


@dataclass
class Job:
    """What one job trains: one run, or runs of one configuration at several seeds packed into
    one batch (``training.run --seeds``); ``overwrite``: start them again (--overwrite)."""

    runs: list[Planned]
    overwrite: bool

    @property
    def name(self) -> str:
        if len(self.runs) == 1:
            return self.runs[0].name
        first = self.runs[0]
        return run_name(first.variant, first.beta, ",".join(str(p.seed) for p in self.runs))

    @property
    def state(self) -> str:
        return "+".join(dict.fromkeys(p.state for p in self.runs))

    @property
    def folders(self) -> list[str]:
        return [str(p.folder) for p in self.runs]

    @property
    def representations(self) -> list[str]:
        """The folders whose runs Figure 5 draws, which get their representations."""
        return [str(p.folder) for p in self.runs if needs_representations(p.group)]

    def argv(self) -> list[str] | None:
        """training.run's command line; None when only Figure 5's representations are missing."""
        if self.runs[0].state == "representations":
            return None
        if len(self.runs) == 1:
            return self.runs[0].argv(overwrite=self.overwrite)
        return self.runs[0].argv(overwrite=self.overwrite, seeds=[p.seed for p in self.runs])


def pack(planned: list[Planned], overwrite: bool, most: int) -> list[Job]:
    """The jobs that train the runs not done: runs of one configuration (variant, β) and the same
    start (resumed, or again with ``overwrite``) packed ``most`` at a time in plan order; a run
    whose variant does not train or is the supervised baseline (whose step takes labels), or
    that lacks only its representations, alone."""
    jobs: list[Job] = []
    open_jobs: dict[tuple, Job] = {}
    for p in planned:
        if p.state == "done":
            continue
        again = overwrite and p.state in ("conflict", "new")
        variant = variants.resolve(p.variant)
        packable = p.state != "representations" and variant.trains and not variant.supervised
        key = (p.variant, p.beta, again)
        job = open_jobs.get(key) if packable else None
        if job is None or len(job.runs) >= most:
            job = Job([p], again)
            jobs.append(job)
            if packable:
                open_jobs[key] = job
        else:
            job.runs.append(p)
    return jobs


def run_name(variant: str, beta: float | None, seed: int | str) -> str:
    name = variants.file_name(variants.resolve(variant))
    return f"{name}-b{beta:g}-s{seed}" if beta is not None else f"{name}-s{seed}"


def extra_options(words: list[str]) -> dict:
    """training.run options given after ``--``, as Config fields (the run's own, such as the
    variant, --seed or --out, are the plan's)."""
    try:
        given = vars(_run_options().parse_args(words))
    except SystemExit as stop:
        raise PlanError(f"bad training.run options after --: {shlex.join(words)}") from stop
    mine = [key for key in PLANNED_OPTIONS if key in given]
    if mine:
        raise PlanError(f"the plan sets {', '.join(mine)} itself; do not pass it after --")
    return given


def _run_options() -> argparse.ArgumentParser:
    """training.run's options (``config.add_options``) and its flags, which the plan sets."""
    p = argparse.ArgumentParser(prog="python -m training.run", argument_default=argparse.SUPPRESS)
    config.add_options(p)
    for flag in ("--resume", "--overwrite", "--list"):
        p.add_argument(flag, action="store_true")
    return p


def plan(
    target: str, scale: Scale, seeds: int, out: Path, extra: dict | None = None
) -> list[Planned]:
    """The runs of ``target`` at ``scale``, seeds 0 … seeds−1, in ``out``/runs, each with
    what its folder holds."""
    if target not in TARGETS:
        raise PlanError(f"unknown target {target!r}; valid: {', '.join(TARGETS)}")
    if seeds < 1:
        raise PlanError(f"--seeds must be ≥ 1, got {seeds}")
    planned = []
    for variant, beta in TARGETS[target]:
        for seed in range(seeds):
            given = {**scale.options, **(extra or {}), "seed": seed}
            if beta is not None:
                given["beta"] = beta
            folder = out / "runs" / run_name(variant, beta, seed)
            config = _config(variant, given, folder)
            steps = config["epochs"] * (_train_images(config) // config["batch_size"])
            planned.append(_assess(Planned(variant, beta, seed, folder, given, config, steps)))
    return planned


def _config(variant: str, given: dict, folder: Path) -> dict:
    """The configuration training.run will record for this run (checked as it checks it)."""
    v = variants.resolve(variant)
    cfg = config.settle(replace(config.Config(), variant=v.name, out=str(folder), **given), v)
    try:
        config.check(cfg, v)
    except config.UsageError as error:
        raise PlanError(str(error)) from error
    return asdict(cfg)


def _train_images(config: dict) -> int:
    size = DATASET_SIZES[config["dataset"]]
    return min(size, config["subset"]) if config["subset"] else size


def _assess(p: Planned) -> Planned:
    """What ``p``'s folder holds, compared with the configuration it would run: a finished run
    (result.json and metrics.jsonl, read whole), else its checkpoint's configuration. A file
    that cannot be read makes the run "broken", its problem named."""
    if (p.folder / "result.json").exists():
        try:
            saved = run_files.read_run(p.folder)["result"]["config"]
        except run_files.Damaged as error:
            if _another_configuration(p):  # what is wrong with it does not matter then
                return p
            return _broken(p, str(error))
    elif (p.folder / "checkpoint.pt").exists():
        try:
            saved = outputs.read_checkpoint(p.folder / "checkpoint.pt")["config"]
        except config.RunFailed as error:
            return _broken(p, str(error).split("; ")[0], resumable=False)
    else:
        return p
    p.differs = differing(p.config, saved)
    finished = (p.folder / "result.json").exists()
    if not p.differs:
        done = (p.folder / REPRESENTATIONS).is_file() or not needs_representations(p.group)
        p.state = ("done" if done else "representations") if finished else "resume"
    else:
        p.state = "resume" if set(p.differs) <= config.RESUMABLE else "conflict"
    return p


def differing(planned: dict, saved: dict) -> list[str]:
    """The options of the run's configuration ``planned`` that a saved one has otherwise; an
    option the saved one lacks (written before the option existed) is its default."""
    defaults = asdict(config.Config())
    return sorted(
        k for k in planned if k not in NOT_THE_RUN and saved.get(k, defaults.get(k)) != planned[k]
    )


def _another_configuration(p: Planned) -> bool:
    """Whether a damaged result.json still says that the run had another configuration (then
    ``p`` is a "conflict")."""
    try:
        saved = json.loads((p.folder / "result.json").read_bytes())["config"]
        p.differs = differing(p.config, saved)
    except (ValueError, TypeError, KeyError, AttributeError, OSError):
        return False
    if set(p.differs) <= config.RESUMABLE:
        p.differs = []
        return False
    p.state = "conflict"
    return True


def _broken(p: Planned, problem: str, resumable: bool | None = None) -> Planned:
    """``p`` as "broken": ``problem`` says which file and why; ``resumable`` whether its
    checkpoint can continue it (checked here when not known)."""
    if resumable is None:
        try:
            saved = outputs.read_checkpoint(p.folder / "checkpoint.pt")["config"]
            resumable = set(differing(p.config, saved)) <= config.RESUMABLE
        except (config.RunFailed, OSError):
            resumable = False
    p.state, p.problem, p.resumable = "broken", problem, resumable
    return p


def way_out(p: Planned) -> str:
    """What to do about a broken run, in words."""
    then = "resumes from its checkpoint" if p.resumable else "starts again"
    return (
        f"{p.name}: {p.problem}; pass --overwrite to move its damaged files aside "
        f"(NAME{run_files.ASIDE}) and the run {then}"
    )


def describe(planned: list[Planned], scale: Scale, jobs: int, packed: list[Job] = ()) -> str:
    """The plan as a table, its packing into jobs, and what the runs still to launch will cost."""
    lines = [f"{'run':24} {'steps':>7}  state"]
    for p in planned:
        note = (
            f" ({p.problem})"
            if p.problem
            else f" ({', '.join(p.differs)} differ)"
            if p.differs
            else ""
        )
        lines.append(f"{p.name:24} {p.steps:7d}  {p.state}{note}")
    todo = [p for p in planned if p.state in ("new", "resume", "representations")]
    per_step, source = seconds_per_step(planned, scale)
    counts = {
        s: sum(p.state == s for p in planned)
        for s in ("done", "resume", "new", "conflict", "broken")
    }
    counts["resume"] += sum(p.state == "representations" for p in planned)
    lines.append(
        f"{len(planned)} runs: {counts['done']} done, {counts['resume']} to resume, "
        f"{counts['new']} new, {counts['conflict']} of another configuration"
        + (f", {counts['broken']} broken" if counts["broken"] else "")
    )
    batches = [job for job in packed if len(job.runs) > 1]
    if batches:
        lines.append(
            f"packing: {len(packed)} jobs, {len(batches)} of them batches of one configuration's "
            f"seeds trained as one network: " + ", ".join(job.name for job in batches)
        )
    # a packed job trains its runs' steps together: its cost is one run's steps of the batch
    steps = sum(job.runs[0].steps for job in packed if job.runs[0].state != "representations")
    if not packed:
        steps = sum(p.steps for p in todo if p.state != "representations")
    if per_step is None:
        lines.append(f"cost: {steps:,} steps; no time estimate ({source})")
    else:
        total = steps * per_step
        count = len(packed) or len(todo) or 1
        lines.append(
            f"cost: {steps:,} steps ≈ {total / 60:.1f} job-minutes at {per_step:.3g} s per step "
            f"({source}); ≈ {total / max(1, min(jobs, count)) / 60:.1f} minutes with "
            f"{jobs} job(s) at once, plus each run's evaluations"
        )
    return "\n".join(lines)


def seconds_per_step(planned: list[Planned], scale: Scale) -> tuple[float | None, str]:
    """Seconds per step of a job from this sweep's finished runs (a run of a batch records the
    batch's time), else the scale's stated figure."""
    measured = []
    for p in planned:
        if p.state in ("done", "representations") and p.steps:
            result = run_files.read_result(p.folder)
            measured.append(result["train_seconds"] / max(1, result["steps"]))
    if measured:
        return sum(measured) / len(measured), f"mean of {len(measured)} finished runs of this sweep"
    return scale.seconds_per_step, scale.estimate
