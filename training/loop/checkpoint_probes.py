"""``python -m training.probe RUN_DIR_OR_CHECKPOINT [--data-dir DIR] [--device D] [--json]``: the
theory probes of ``training.probes`` (Theorem 4.1 on the real outputs; W's spectrum, Appendix H
and DirectPred's alignment for a linear predictor) of a saved model, on its run's probe set, as
the run measured them at that epoch. ``--history`` instead lists what ``metrics.jsonl`` recorded
every epoch (``--markdown FILE --block NAME`` writes that table into a page's block).

Exit status: 0 done; 2 bad input (no checkpoint, other data than the run's); 1 the model cannot
be probed (dataset missing, unreadable checkpoint).
"""

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

from theory import report
from training import config, data, outputs, probes, run


def checkpoint_of(path: Path) -> Path:
    """A run folder's checkpoint.pt, or the checkpoint named."""
    checkpoint = path / "checkpoint.pt" if path.is_dir() else path
    if not checkpoint.is_file():
        raise config.UsageError(f"{path} is neither a checkpoint nor a run folder holding checkpoint.pt")
    return checkpoint


def probe(path: Path, data_dir: str | None = None, device: str | None = None) -> dict:
    """The probes of the model a checkpoint holds, on its run's probe set (the same images and
    views: ``run.prepare`` draws them from the run's seed), with the epoch and step."""
    checkpoint = checkpoint_of(path)
    state = outputs.read_checkpoint(checkpoint)
    cfg = config.Config(**state["config"])
    cfg = replace(cfg, out=str(checkpoint.parent), data_dir=data_dir or cfg.data_dir,
                  device=device or cfg.device)  # fmt: skip
    live = run.prepare(cfg, state)
    for part in ("online", "target", "predictor"):
        getattr(live, part).load_state_dict(state[part])
    values = probes.measure(live.online, live.predictor, live.target, live.probe,
                            alpha=cfg.alpha, beta=cfg.beta)  # fmt: skip
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
    ("epoch", "epoch"), ("thm41_max", "Thm 4.1 max"), ("thm41_sym_max", "sym. max"),
    ("thm41_sym_violations", "sym. > 1"), ("appH_distance", "dist. to sharing"),
    ("appH_spectral_distance", "spectral dist."), ("appH_dimension", "dim"),
    ("directpred_alignment", "DirectPred align."), ("w_eigenvalues", "λ₁(W)"),
    ("c_eigenvalues", "μ₁(C)"), ("theory_seconds", "probe s / epoch s"),
)  # fmt: skip


def _cell(line: dict, key: str) -> str:
    value = line.get(key)
    if key in ("w_eigenvalues", "c_eigenvalues"):
        return "–" if not value else f"{value[0][0]:.3g}{value[0][1]:+.2g}i"
    if key == "theory_seconds":
        return "–" if value is None else f"{value:.2f} / {line['seconds']:.1f}"
    return "–" if value is None else (str(value) if isinstance(value, int) else f"{value:.3g}")


def history(folder: Path) -> list[dict]:
    metrics = folder / "metrics.jsonl"
    if not metrics.is_file():
        raise config.UsageError(f"{folder} has no metrics.jsonl")
    return [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]


def history_table(lines: list[dict], markdown: bool) -> str:
    header = [label for _, label in HISTORY]
    rows = [[_cell(line, key) for key, _ in HISTORY] for line in lines]
    if markdown:
        return "\n".join(report.markdown_table(header, rows))
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in [header] + rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.probe", description=__doc__.split("\n\n")[0])
    p.add_argument("path", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--data-dir", help="where the run's dataset is (default: the run's own)")
    p.add_argument("--device", help="cpu, cuda, cuda:N or auto (default: the run's own)")
    p.add_argument("--json", action="store_true", help="print every value as JSON")
    p.add_argument("--history", action="store_true", help="the probes of every epoch (metrics.jsonl)")
    p.add_argument("--markdown", metavar="FILE.md", help="with --history: write the table into FILE")
    p.add_argument("--block", default="probes", help="the block's name in FILE (default probes)")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    try:
        if args.history:
            lines = history(Path(args.path))
            if args.markdown:
                report.check_block(args.markdown, args.block)
            print(json.dumps(lines) if args.json else history_table(lines, markdown=False))
            if args.markdown:
                command = shlex.join(["python", "-m", "training.probe", *argv])
                caption = (f"Written by `{command}` ({lines[-1].get('step')} steps; epoch 0 is the "
                           "untrained model):\n\n")
                report.write_block(args.markdown, args.block, caption + history_table(lines, markdown=True))
            return 0
        values = probe(Path(args.path), args.data_dir, args.device)
    except (config.UsageError, report.OutputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (config.RunFailed, data.DatasetMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(values) if args.json else text(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
