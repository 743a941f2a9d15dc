"""``python -m training.probe RUN_DIR_OR_CHECKPOINT [--data-dir DIR] [--device D] [--json]``: the
theory probes of ``training.loop.probes`` (Theorem 4.1 on the real outputs; W's spectrum, Appendix H
and DirectPred's alignment for a linear predictor) of a saved model, on its run's probe set, as
the run measured them at that epoch.

``python -m training.probe history RUN_DIR [--json] [--markdown FILE --block NAME]`` lists what
``metrics.jsonl`` recorded every epoch (``--markdown`` writes that table into a page's block);
``--history`` is its former spelling, still accepted for now.

Exit status: 0 done; 2 bad input (no checkpoint, other data than the run's); 1 the model cannot
be probed (dataset missing, unreadable checkpoint).
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

from theory import containment
from training import cli
from training.loop import checkpoint_probes

DEPRECATED_HISTORY = "--history"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.probe",
        description=__doc__.split("\n\n")[0],
        epilog="python -m training.probe history RUN_DIR: every epoch's probes",
    )
    p.add_argument("path", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--data-dir", help="where the run's dataset is (default: the run's own)")
    p.add_argument("--device", help="cpu, cuda, cuda:N or auto (default: the run's own)")
    p.add_argument("--json", action="store_true", help="print every value as JSON")
    return p


def history_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.probe history",
        description="The probes of every epoch (metrics.jsonl).",
    )
    p.add_argument("path", metavar="RUN_DIR")
    p.add_argument("--json", action="store_true", help="print every epoch's values as JSON")
    cli.add_markdown_options(p, "probes")
    return p


def history_main(argv: list[str], command: list[str]) -> int:
    args = history_parser().parse_args(argv)

    def tabulate() -> int:
        lines = checkpoint_probes.history(Path(args.path))
        cli.check_markdown(args)
        print(
            json.dumps(lines)
            if args.json
            else checkpoint_probes.history_table(lines, markdown=False)
        )
        caption = (
            f"Written by `{shlex.join(command)}` ({lines[-1].get('step')} steps; epoch 0 is "
            "the untrained model):\n\n"
        )
        return cli.write_markdown(
            args, caption + checkpoint_probes.history_table(lines, markdown=True)
        )

    return cli.exit_status(tabulate)


def main(argv=None) -> int:
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
    argv = sys.argv[1:] if argv is None else list(argv)
    command = ["python", "-m", "training.probe", *argv]
    if argv[:1] == ["history"]:
        return history_main(argv[1:], command)
    if DEPRECATED_HISTORY in argv:
        print(
            "note: 'python -m training.probe --history RUN' is now 'python -m training.probe history "
            "RUN'; the old spelling will be removed",
            file=sys.stderr,
        )
        return history_main([a for a in argv if a != DEPRECATED_HISTORY], command)
    args = parser().parse_args(argv)

    def measure() -> None:
        values = checkpoint_probes.measure_checkpoint(Path(args.path), args.data_dir, args.device)
        print(json.dumps(values) if args.json else checkpoint_probes.text(values))

    return cli.exit_status(measure)


if __name__ == "__main__":
    sys.exit(main())
