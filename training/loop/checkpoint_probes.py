"""The theory probes of a saved model (``python -m training.probe`` is their command line): those of
``training.loop.probes`` recomputed from a checkpoint on its run's probe set, and the probes every
epoch recorded in ``metrics.jsonl``, as text or a table."""

from dataclasses import replace
from pathlib import Path

from theory import report
from training.loop import config, outputs, probes, run_files, runner


def checkpoint_of(path: Path) -> Path:
    """A run folder's checkpoint.pt, or the checkpoint named."""
    checkpoint = path / "checkpoint.pt" if path.is_dir() else path
    if not checkpoint.is_file():
        raise config.UsageError(
            f"{path} is neither a checkpoint nor a run folder holding checkpoint.pt"
        )
    return checkpoint


def measure_checkpoint(path: Path, data_dir: str | None = None, device: str | None = None) -> dict:
    """The probes of the model a checkpoint holds, on its run's probe set (the same images and
    views: ``runner.prepare`` draws them from the run's seed), with the epoch and step."""
    checkpoint = checkpoint_of(path)
    state = outputs.read_checkpoint(checkpoint)
    cfg = config.Config(**state["config"])
    cfg = replace(
        cfg,
        out=str(checkpoint.parent),
        data_dir=data_dir or cfg.data_dir,
        device=device or cfg.device,
    )
    live = runner.prepare(cfg, state)
    for part in ("online", "target", "predictor"):
        try:
            getattr(live, part).load_state_dict(state[part])
        except (
            RuntimeError,
            KeyError,
            TypeError,
            AttributeError,
        ) as error:  # size mismatch, missing keys
            reason = str(error).strip().splitlines()[0]
            raise config.RunFailed(
                f"checkpoint {checkpoint}: its {part} weights do not fit the network "
                f"its config describes ({reason}); it was left as it is"
            ) from None
    values = probes.measure(
        live.online, live.predictor, live.target, live.probe, alpha=cfg.alpha, beta=cfg.beta
    )
    return {"variant": cfg.variant, "epoch": state["epoch"], "step": state["step"], **values}


def _short(value) -> str:
    if isinstance(value, list):
        head = ", ".join(_short(v) for v in value[:4])
        return f"[{head}{', …' if len(value) > 4 else ''}] ({len(value)})"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def text(values: dict) -> str:
    return "\n".join(f"{key}: {_short(value)}" for key, value in values.items())


HISTORY = (
    ("epoch", "epoch"),
    ("thm41_max", "Thm 4.1 max"),
    ("thm41_sym_max", "sym. max"),
    ("thm41_sym_violations", "sym. > 1"),
    ("appH_distance", "dist. to sharing"),
    ("appH_spectral_distance", "spectral dist."),
    ("appH_dimension", "dim"),
    ("directpred_alignment", "DirectPred align."),
    ("w_eigenvalues", "λ₁(W)"),
    ("c_eigenvalues", "μ₁(C)"),
    ("theory_seconds", "probe s / epoch s"),
)


def _cell(line: dict, key: str) -> str:
    value = line.get(key)
    if key in ("w_eigenvalues", "c_eigenvalues"):
        return "–" if not value else f"{value[0][0]:.3g}{value[0][1]:+.2g}i"
    if key == "theory_seconds":
        return "–" if value is None else f"{value:.2f} / {line['seconds']:.1f}"
    return str(value) if isinstance(value, int) else report.number(value)


def history(folder: Path) -> list[dict]:
    """Every epoch's line of metrics.jsonl; UsageError naming the file when it is missing, cut
    or empty."""
    try:
        return run_files.read_metrics(folder)
    except run_files.Damaged as error:
        raise config.UsageError(str(error)) from None


def history_table(lines: list[dict], markdown: bool) -> str:
    header = [label for _, label in HISTORY]
    rows = [[_cell(line, key) for key, _ in HISTORY] for line in lines]
    if markdown:
        return "\n".join(report.markdown_table(header, rows))
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header] + rows)
