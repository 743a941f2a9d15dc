"""``python -m training.paper [--markdown FILE --block NAME]``: check the paper's published numbers
(``training.reproduction.published``) against each other: every quantity printed twice (Tables
1 and 3, the text's accuracies against Table 1)."""

import argparse
import sys

from theory import report
from training import cli
from training.reproduction import published


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.paper",
        description="Check the paper's published numbers against each other: every quantity "
        "printed twice (Tables 1 and 3, the text's accuracies against Table 1).",
    )
    cli.add_markdown_options(p, "paper-consistency", "them")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if refused := cli.markdown_refused(args):
        return refused
    try:
        for finding in sorted(published.consistency(), key=lambda f: f.agree):
            print(finding)
    except BrokenPipeError:
        report.silence_stdout()
        return 1
    command = f"python -m training.paper --markdown {args.markdown} --block {args.block}"
    cli.write_markdown(args, f"Written by `{command}`.\n\n{published.consistency_markdown()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
