"""``python -m training.pair FIRST SECOND [options of training.run] [--check-every N]``: Theorem 5.1
in the real training loop. FIRST and SECOND train side by side from corresponding starts, with a
round-off control; ``pair.jsonl``, ``pair.json`` (the verdict) and ``pair.png`` go into ``--out``
(``training.pairs.experiment`` says what each holds and how the verdict is reached).

``python -m training.pair table PAIR_DIR... [--markdown FILE --block NAME]`` tabulates finished
pairs (``--table`` is its former spelling, still accepted for now).

Exit status: 0 done; 2 bad input (unknown variant, bad option, ``--out`` in use or holding a
pair); 1 the pair could not go on (dataset missing, full disk); 130 and 143 stopped by SIGINT and
SIGTERM.
"""

import argparse
import shlex
import sys
from pathlib import Path

from theory import containment, files
from training import cli
from training.loop import config, run_files, signals
from training.pairs import experiment

DEPRECATED_TABLE = "--table"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.pair",
        argument_default=argparse.SUPPRESS,
        description="Train two variants side by side from corresponding starts (Theorem 5.1) and "
        "judge whether their trajectories stay the same. 'table DIR...' tabulates finished pairs.",
    )
    p.add_argument("first", metavar="FIRST", help="a variant (see python -m training.run --list)")
    p.add_argument("second", metavar="SECOND", help="the variant started from FIRST's mapped state")
    config.add_options(p, linear=False, out="runs/pair-FIRST-SECOND-DATASET-sSEED")
    p.add_argument(
        "--check-every",
        type=int,
        default=0,
        help="also check every N steps (each check reads the device once; default 0: at "
        "epoch ends only)",
    )
    p.add_argument("--overwrite", action="store_true", help="start again in a used --out")
    cli.add_markdown_options(p, "pair", "the result's table")
    return p


def table_parser(spelled: str = "table") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m training.pair {spelled}")
    p.add_argument("folders", nargs="+", metavar="PAIR_DIR")
    cli.add_markdown_options(p, "pair")
    return p


def table_main(argv: list[str], spelled: str = "table") -> int:
    """``python -m training.pair table DIR... [--markdown FILE --block NAME]``."""
    args = table_parser(spelled).parse_args(argv)
    try:
        results = experiment.read_results(args.folders)
        cli.check_markdown(args)
    except (run_files.Damaged,) + cli.BAD_INPUT as error:
        return cli.error(error, cli.USAGE)
    for result in results:
        print(" | ".join(experiment.row(result)))
    command = shlex.join(["python", "-m", "training.pair", spelled, *argv])
    return cli.write_markdown(args, experiment.markdown(results, command))


def main(argv=None) -> int:
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["table"]:
        return table_main(argv[1:])
    if argv[:1] == [DEPRECATED_TABLE]:
        print(
            "note: 'python -m training.pair --table' is now 'python -m training.pair table'; "
            "the old spelling will be removed",
            file=sys.stderr,
        )
        return table_main(argv[1:], spelled=DEPRECATED_TABLE)
    given = vars(parser().parse_args(argv))
    first, second = given.pop("first"), given.pop("second")
    check_every, overwrite = given.pop("check_every"), given.pop("overwrite", False)
    target = argparse.Namespace(
        markdown=given.pop("markdown", None),
        block=given.pop("block"),
        allow_dirty=given.pop("allow_dirty", False),
    )
    command = shlex.join(["python", "-m", "training.pair", *argv])

    def train() -> int:
        cli.check_markdown(target)
        # the pair's own files are not a page to write into
        if target.markdown and given.get("out"):
            files.check_distinct(
                {
                    "--markdown": target.markdown,
                    **{f"--out's {name}": Path(given["out"]) / name for name in experiment.OUTPUTS},
                }
            )
        with signals.STOP.installed():
            result = experiment.run_pair(first, second, given, check_every, overwrite, command)
        return cli.write_markdown(target, experiment.markdown([result], command))

    return cli.exit_status(train, bad_input=(KeyError,))


if __name__ == "__main__":
    sys.exit(main())
