"""What the commands of training share: an error as one line on stderr with its exit status (2
bad input, 1 the work could not go on, 128 + N stopped by signal N), and the ``--markdown FILE
--block NAME [--allow-dirty]`` options with which a command writes its figures into a generated
block of a page."""

import argparse
import sys

from theory import files, report
from training.loop import config, data, signals

USAGE = 2  # bad input: the user can fix the command
FAILURE = 1  # the work could not go on: missing data, a failed run, a full disk
BAD_INPUT = (config.UsageError, report.OutputError)
FAILED = (config.RunFailed, data.DatasetMissing)


def error(message, status: int) -> int:
    """Print ``error: MESSAGE`` on stderr; the exit status to return."""
    print(f"error: {message}", file=sys.stderr)
    return status


def exit_status(work, bad_input: tuple = ()) -> int:
    """``work()``'s exit status (None: 0), or its error as one line and the status it maps to;
    ``bad_input``: more exception types that mean bad input for this command."""
    try:
        return work() or 0
    except KeyError as unknown:  # an unknown name (variant, dataset): its message is the line
        if KeyError not in bad_input:
            raise
        return error(unknown.args[0], USAGE)
    except BAD_INPUT + tuple(t for t in bad_input if t is not KeyError) as bad:
        return error(bad, USAGE)
    except FAILED as failed:
        return error(failed, FAILURE)
    except signals.Interrupted as stop:
        return error(stop, 128 + stop.signum)


def count(option: str, most: int):
    """An argparse type: an integer in [1, most], else a usage error naming ``option``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{option} must be between 1 and {most}, got {value}")
        return value

    return parse


def add_markdown_options(p: argparse.ArgumentParser, block: str, what: str = "the table") -> None:
    p.add_argument("--markdown", metavar="FILE.md", help=f"write {what} into a block of FILE")
    p.add_argument("--block", default=block, help=f"the block's name in FILE (default {block})")
    add_allow_dirty(p)


def add_allow_dirty(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write into a file the repository "
        "ships even though its working tree differs from its commit (refused "
        "otherwise); the block then says so",
    )


def check_markdown(args) -> None:
    """Refuse, before any work, a ``--markdown`` page that cannot take the block (OutputError)."""
    if args.markdown:
        report.check_block(args.markdown, args.block, args.allow_dirty)


def markdown_refused(args) -> int:
    """0 when there is no ``--markdown`` or its page can take the block; else the error line, 2."""
    try:
        check_markdown(args)
    except BAD_INPUT as problem:
        return error(problem, USAGE)
    return 0


def write_markdown(args, text: str, what: str = "table") -> int:
    """Write ``text`` into the ``--markdown`` page's block, after the results were printed: 0, or
    1 after one line saying that the ``what`` was not written (the printed results stand)."""
    if not args.markdown:
        return 0
    return files.written(
        what,
        args.markdown,
        lambda: report.write_block(args.markdown, args.block, text, args.allow_dirty),
    )
