"""``python -m training.summary RUN_DIR [RUN_DIR ...] [--markdown FILE --block NAME]``: what
finished runs measured, side by side — every epoch's probe metrics and the linear evaluation —
as a terminal table or as a Markdown table written into a block of a page (the docs' recipe
figures come from here)."""

import argparse
import sys
from pathlib import Path

from theory import containment
from training import cli
from training.loop import run_files
from training.reproduction import run_table


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.summary", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="folders of finished runs")
    cli.add_markdown_options(p, "runs")
    return p


def main(argv=None) -> int:
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
    args = parser().parse_args(argv)
    try:
        runs = [run_table.load(Path(folder)) for folder in args.runs]
        cli.check_markdown(args)
    except (run_files.Damaged,) + cli.BAD_INPUT as error:
        return cli.error(error, cli.USAGE)
    print(run_table.text(runs))
    command = f"python -m training.summary {' '.join(args.runs)} --markdown {args.markdown} --block {args.block}"
    return cli.write_markdown(args, run_table.markdown(runs, command))


if __name__ == "__main__":
    sys.exit(main())
