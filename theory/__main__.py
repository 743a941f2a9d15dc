"""``python -m theory list | verify [ID ...]``: every claim of the RAFT paper, with its verdict."""

import argparse
import json
import sys
from datetime import datetime, timezone

from theory import claims, report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m theory",
        description="Check the claims of 'Run Away From your Teacher' (Shi et al.).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the claims: ids, sources, statements")
    listing.add_argument("--json", action="store_true", help="one JSON document")
    verify = commands.add_parser(
        "verify",
        help="check claims and print their verdicts",
        description="Check claims (all when no id is given). Exit 0 when the run completes, "
        "whatever the verdicts; --strict exits 1 unless every verdict is 'holds'.",
    )
    verify.add_argument("ids", nargs="*", metavar="ID", help="claim ids (see 'list')")
    verify.add_argument("--json", action="store_true", help='one JSON document {"claims": [...]}')
    verify.add_argument(
        "--thorough", action="store_true", help=f"search {claims.THOROUGH_FACTOR}x harder"
    )
    verify.add_argument("--seed", type=int, default=0, help="seed of every search (default 0)")
    verify.add_argument(
        "--strict", action="store_true", help="exit 1 when any verdict is not 'holds'"
    )
    verify.add_argument("--report", metavar="FILE.md", help="write a citable Markdown report")
    return parser


def _list(as_json: bool) -> None:
    everything = claims.all_claims()
    if as_json:
        print(json.dumps({"claims": [report.describe(c) for c in everything]}, indent=2))
        return
    for c in everything:
        print(f"{c.id}  [{c.source}]\n    {c.statement}\n    checks: {c.form}\n")


def _verify(args) -> int:
    try:
        selected = claims.get(args.ids)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    effort = claims.Effort(seed=args.seed, thorough=args.thorough)
    started = datetime.now(timezone.utc)
    verdicts = []
    for c in selected:
        print(f"checking {c.id} ...", file=sys.stderr, flush=True)
        verdicts.append(claims.verify(c, effort))
    if args.json:
        print(json.dumps({"claims": [report.document(v) for v in verdicts]}, indent=2))
    else:
        print(report.table(verdicts))
    if args.report:
        with open(args.report, "w", encoding="utf-8") as out:
            out.write(report.markdown(verdicts, effort, started))
        print(f"report written to {args.report}", file=sys.stderr)
    if args.strict and any(v["verdict"] != "holds" for v in verdicts):
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        _list(args.json)
        return 0
    return _verify(args)


if __name__ == "__main__":
    sys.exit(main())
