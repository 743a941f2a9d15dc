"""``python -m training.paper [--markdown FILE --block NAME]``: check the paper's published numbers
(``training.reproduction.published``) against each other: every quantity printed twice (Tables
1 and 3, the text's accuracies against Table 1)."""

import argparse
import sys

from theory import containment, report
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
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
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
    return cli.write_markdown(
        args, f"Written by `{command}`.\n\n{published.consistency_markdown()}"
    )


if __name__ == "__main__":
    sys.exit(main())
