"""Finished runs side by side (``python -m training.summary`` is the command): every epoch's probe
metrics and the linear evaluation, as a terminal table or a Markdown table."""

from pathlib import Path

from theory import report
from training.loop import run_files

TRAJECTORIES = ("align", "uniform")
FINALS = ("eff_rank",)


SUMMARY_KEYS = (
    "variant",
    "config",
    "steps",
    "epochs_trained",
    "train_seconds",
    "linear_seconds",
    "train_images",
    "device",
    "torch",
)


def load(folder: Path) -> dict:
    """A run folder's result.json and metrics.jsonl, or run_files.Damaged naming the file."""
    if not (folder / "result.json").is_file() and not (folder / "metrics.jsonl").is_file():
        raise run_files.Damaged(f"{folder} holds no finished run (result.json and metrics.jsonl)")
    return run_files.read_run(folder, SUMMARY_KEYS)


def _trajectory(history: list[dict], key: str) -> str:
    """Epoch 1 to the last, the untrained model (epoch 0) left out."""
    return " → ".join(report.number(m[key]) for m in history[1:]) or report.number(history[0][key])


def rows(runs: list[dict]) -> list[list[str]]:
    out = []
    for run in runs:
        result, history = run["result"], run["history"]
        first, last = history[min(1, len(history) - 1)], history[-1]
        out.append(
            [result["variant"], str(result["epochs_trained"]), str(result["steps"])]
            + [_trajectory(history, key) for key in TRAJECTORIES]
            + [f"{report.number(first[key])} → {report.number(last[key])}" for key in FINALS]
            # a dash: a run without its linear evaluation
            + [
                report.number(result.get("linear_acc"), ".3f"),
                f"{result['train_seconds'] + result['linear_seconds']:.0f}",
            ]
        )
    return out


HEADER = ["variant", "epochs", "steps", *TRAJECTORIES, *FINALS, "linear_acc", "seconds"]


def markdown(runs: list[dict], command: str) -> str:
    config = runs[0]["result"]["config"]
    setting = (
        f"{config['dataset']}, {config['image_size']} px, width {config['width']}, batch "
        f"{config['batch_size']}, {runs[0]['result']['train_images']} training images, device "
        f"{runs[0]['result']['device']}, torch {runs[0]['result']['torch']}"
    )
    caption = f"Written by `{command}` ({setting}); probe metrics per epoch, epoch 1 to the last:"
    return "\n".join([caption, "", *report.markdown_table(HEADER, rows(runs))])


def text(runs: list[dict]) -> str:
    table = [HEADER] + rows(runs)
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table)
