"""``python -m training.summary RUN_DIR [RUN_DIR ...] [--markdown FILE --block NAME]``: what
finished runs measured, side by side — every epoch's probe metrics and the linear evaluation —
as a terminal table or as a Markdown table written into a block of a page (the docs' recipe
figures come from here)."""

import argparse
import json
import sys
from pathlib import Path

from theory import report

TRAJECTORIES = ("align", "uniform")
FINALS = ("eff_rank",)


def load(folder: Path) -> dict:
    """A run folder's result.json and metrics.jsonl, or a clear error for an unfinished run."""
    result, metrics = folder / "result.json", folder / "metrics.jsonl"
    if not result.is_file() or not metrics.is_file():
        raise FileNotFoundError(f"{folder} holds no finished run (result.json and metrics.jsonl)")
    history = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    return {"result": json.loads(result.read_text()), "history": history}


def _number(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def _trajectory(history: list[dict], key: str) -> str:
    """Epoch 1 to the last, the untrained model (epoch 0) left out."""
    return " → ".join(_number(m[key]) for m in history[1:]) or _number(history[0][key])


def rows(runs: list[dict]) -> list[list[str]]:
    out = []
    for run in runs:
        result, history = run["result"], run["history"]
        first, last = history[min(1, len(history) - 1)], history[-1]
        out.append(
            [result["variant"], str(result["epochs_trained"]), str(result["steps"])]
            + [_trajectory(history, key) for key in TRAJECTORIES]
            + [f"{_number(first[key])} → {_number(last[key])}" for key in FINALS]
            + [f"{result['linear_acc']:.3f}", f"{result['train_seconds'] + result['linear_seconds']:.0f}"]
        )
    return out


HEADER = ["variant", "epochs", "steps", *TRAJECTORIES, *FINALS, "linear_acc", "seconds"]


def markdown(runs: list[dict], command: str) -> str:
    config = runs[0]["result"]["config"]
    setting = (f"{config['dataset']}, {config['image_size']} px, width {config['width']}, batch "
               f"{config['batch_size']}, {runs[0]['result']['train_images']} training images, device "
               f"{runs[0]['result']['device']}, torch {runs[0]['result']['torch']}")
    caption = f"Written by `{command}` ({setting}); probe metrics per epoch, epoch 1 to the last:"
    return "\n".join([caption, "", *report.markdown_table(HEADER, rows(runs))])


def text(runs: list[dict]) -> str:
    table = [HEADER] + rows(runs)
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="folders of finished runs")
    parser.add_argument("--markdown", metavar="FILE.md", help="write the table into a block of FILE")
    parser.add_argument("--block", default="runs", help="the block's name in FILE (default runs)")
    args = parser.parse_args(argv)
    try:
        runs = [load(Path(folder)) for folder in args.runs]
        if args.markdown:
            report.check_block(args.markdown, args.block)
    except (FileNotFoundError, json.JSONDecodeError, report.OutputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(text(runs))
    if args.markdown:
        command = "python -m training.summary " + " ".join(args.runs) + f" --markdown {args.markdown} --block {args.block}"
        report.write_block(args.markdown, args.block, markdown(runs, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
