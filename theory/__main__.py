"""``python -m theory list | verify [ID ...] | certify [ID ...]``: every claim of the RAFT
paper, with its verdict and, where there is one, its Coq proof (``certify``: exit 0 when every
certificate is proved, 1 otherwise). ``verify`` checks claims side by side in worker processes
(``--jobs``, ``theory.parallel``), with the same output as one after another.

Exit status: 0 when the run completes (whatever the verdicts; ``--strict``: 1 unless all hold),
2 for bad input (an unknown id, a seed out of range, an output that cannot be written), 1 when
a plugin or a checker could not be used (the other claims still run; one line each), the
output is cut short (a closed pipe) or a file could not be written after the verdicts were
printed, 130 when interrupted. Outputs are written whole or not at all, after the verdicts are
printed, and never replace a link, a folder, a device or a pipe (``theory.files``)."""

import argparse
import json
import sys
from contextlib import closing
from datetime import datetime, timezone

from theory import certificates, claims, containment, files, html_report, parallel, report


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if seed not in claims.SEEDS:
        raise argparse.ArgumentTypeError(
            f"{seed} is out of range; seeds are integers in [0, 2**32)"
        )
    return seed


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < seconds < 1e9:  # NaN too
        raise argparse.ArgumentTypeError(
            f"{text} is not a time limit: give a positive number of seconds"
        )
    return seconds


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{jobs} is not a number of processes: give 1 or more")
    return jobs


class _Parser(argparse.ArgumentParser):
    """Bad input is one line on stderr and exit status 2, as every other error of the CLI."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m theory",
        description="Check the claims of 'Run Away From your Teacher' (Shi et al.).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the claims: ids, sources, statements")
    listing.add_argument("--json", action="store_true", help="one JSON document")
    plugin_help = (
        "also load the claims of a plugin: package.module[:attribute] or a .py file "
        "(repeatable; installed plugins of the entry-point group raft_verify.claims "
        "load by themselves)"
    )
    listing.add_argument("--plugin", action="append", default=[], metavar="SPEC", help=plugin_help)
    verify = commands.add_parser(
        "verify",
        help="check claims and print their verdicts",
        description="Check claims (all when no id is given). Exit 0 when the run completes, "
        "whatever the verdicts; --strict exits 1 unless every verdict is 'holds'.",
    )
    verify.add_argument("ids", nargs="*", metavar="ID", help="claim ids (see 'list')")
    verify.add_argument("--plugin", action="append", default=[], metavar="SPEC", help=plugin_help)
    verify.add_argument("--json", action="store_true", help='one JSON document {"claims": [...]}')
    verify.add_argument(
        "--thorough", action="store_true", help=f"search {claims.THOROUGH_FACTOR}x harder"
    )
    verify.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of every search, an integer in [0, 2**32) (default 0)",
    )
    verify.add_argument(
        "--strict", action="store_true", help="exit 1 when any verdict is not 'holds'"
    )
    verify.add_argument(
        "--claim-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="end a checker that runs longer as its claim's error (no limit by default)",
    )
    verify.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="check claims in N worker processes side by side (default: one per usable core; "
        "1: one after another in this process)",
    )
    verify.add_argument(
        "--report",
        metavar="FILE",
        help="write a citable report: Markdown, or one "
        "self-contained HTML page with figures when FILE ends in .html",
    )
    verify.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write --report or --summary into the repository even though its working tree differs "
        "from its commit (refused otherwise); the document then says so and names the files",
    )
    verify.add_argument(
        "--summary",
        metavar="FILE.md",
        help=f"rewrite the verdict table between the {report.begin_marker(report.SUMMARY)} and "
        f"{report.end_marker(report.SUMMARY)} lines of FILE (the README's table)",
    )
    certify = commands.add_parser(
        "certify",
        help="compile and kernel-check the Coq proofs behind the verdicts",
        description="Compile the Coq proofs of the claims (all when no id is given) with coqc, "
        "re-check them with coqchk and print each claim's status. Exit 0 when every "
        "certificate is proved, 1 otherwise or when Coq is not installed.",
    )
    certify.add_argument("ids", nargs="*", metavar="ID", help="claim ids (see 'list')")
    certify.add_argument("--plugin", action="append", default=[], metavar="SPEC", help=plugin_help)
    certify.add_argument(
        "--record",
        action="store_true",
        help="rewrite theory/certificates.json "
        "with the statements as the installed Coq prints them",
    )
    return parser


def _certify(args) -> tuple[str, int]:
    selected = claims.get(args.ids)
    if args.record:
        certificates.check_record_outputs()
    covered = certificates.by_claim()
    results = certificates.certify([c.id for c in selected] if args.ids else [], record=args.record)
    text = certificates.render(results, [c.id for c in selected if c.id not in covered])
    return text, 0 if all(r["status"] == "proved" for r in results) else 1


def _list(as_json: bool) -> str:
    everything = claims.all_claims()
    if as_json:
        return json.dumps({"claims": [report.describe(c) for c in everything]}, indent=2)
    return "\n".join(
        f"{c.id}  [{c.source}]\n    {c.statement}\n    checks: {c.form}\n" for c in everything
    )


def _outputs(args) -> list[str]:
    """Refuse, before any work, an output that cannot be written, or one the repository ships
    while its tree differs from its commit (without --allow-dirty); the files that differ."""
    outputs = [o for o in (args.report, args.summary) if o]
    changes = report.require_clean(outputs, args.allow_dirty)
    if args.report:
        report.check_writable(args.report)
    if args.summary:
        report.check_writable(args.summary)
        report.check_block(
            args.summary, report.SUMMARY, allow_dirty=True
        )  # checked above, with both outputs
    files.check_distinct({"--report": args.report, "--summary": args.summary})
    return changes


def _verify(args) -> tuple[str, int, list]:
    selected = claims.get(args.ids)
    changes = _outputs(args)
    effort = claims.Effort(seed=args.seed, thorough=args.thorough)
    started = datetime.now(timezone.utc)
    outcomes = {}  # index in selected -> verdict document or CheckerError, as each finishes
    try:
        with closing(_checked(selected, effort, args)) as finished:
            for index, outcome in finished:
                outcomes[index] = outcome
                if isinstance(outcome, claims.CheckerError):
                    print(f"error: {outcome}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        done = sum(isinstance(o, dict) for o in outcomes.values())
        raise Interrupted(done, len(selected)) from None
    in_order = [outcomes[i] for i in sorted(outcomes)]
    verdicts = [o for o in in_order if isinstance(o, dict)]
    errors = claims.plugin_errors() + [str(o) for o in in_order if not isinstance(o, dict)]
    # (what, path, how): done after the verdicts are printed, so that no failure loses them. The
    # report first: it cites the commit, which the tree still is until the table is written (both
    # outputs were checked against the tree before any work).
    writes = []
    if args.report:
        render = html_report.page if args.report.endswith(".html") else report.markdown
        writes.append(
            (
                "report",
                args.report,
                lambda: report.write_atomically(
                    args.report, render(verdicts, effort, started, changes)
                ),
            )
        )
    if args.summary:
        writes.append(
            (
                "verdict table",
                args.summary,
                lambda: report.write_block(
                    args.summary,
                    report.SUMMARY,
                    report.summary(verdicts, effort, files.target(args.summary).parent, changes),
                    allow_dirty=True,
                    noted=True,
                ),
            )
        )
    with containment.stdout_to_stderr():  # a plugin's wording that prints
        document = {"claims": [report.document(v) for v in verdicts]} | (
            {"errors": errors} if errors else {}
        )
        text = json.dumps(document, indent=2) if args.json else report.table(verdicts)
    failed = errors or (args.strict and any(v["verdict"] != "holds" for v in verdicts))
    return text, 1 if failed else 0, writes


def _checked(selected: list[claims.Claim], effort: claims.Effort, args):
    """(index in ``selected``, verdict document or CheckerError) of each claim as it finishes,
    with "checking ID ..." on stderr as each starts: in worker processes (``theory.parallel``)
    when there are several claims and jobs, else one after another in this process."""
    jobs = min(args.jobs or parallel.usable_cores(), len(selected))

    def started(claim_id: str) -> None:
        print(f"checking {claim_id} ...", file=sys.stderr, flush=True)

    if jobs > 1:
        yield from parallel.verify(selected, effort, args.claim_timeout, args.plugin, jobs, started)
        return
    for index, c in enumerate(selected):
        started(c.id)
        try:
            yield index, claims.verify(c, effort, args.claim_timeout)
        except claims.CheckerError as error:
            yield index, error


class Interrupted(Exception):
    def __init__(self, done: int, total: int):
        super().__init__(f"interrupted after {done} of {total} claims; nothing was written")


def main(argv: list[str] | None = None) -> int:
    containment.ascii_fallbacks()
    args = _parser().parse_args(argv)
    claims.use_plugins(args.plugin)
    left_out = claims.plugin_errors()
    for line in left_out:
        print(f"error: {line}", file=sys.stderr)
    try:
        commands = {
            "list": lambda: (_list(args.json), 0, []),
            "verify": lambda: _verify(args),
            "certify": lambda: (*_certify(args), []),
        }
        text, code, writes = commands[args.command]()
        code = code or (1 if left_out else 0)
    except (KeyError, report.OutputError) as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    except certificates.CertifyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Interrupted as error:
        print(f"error: {error}", file=sys.stderr)
        return 130
    try:
        print(text, flush=True)
    except BrokenPipeError:
        report.silence_stdout()
        print("error: the output was closed before it was written whole", file=sys.stderr)
        code = 1
    return _write(writes) or code


def _write(writes) -> int:
    """Write the outputs, each whole or not at all; 1 (one line each) for those that failed."""
    code = 0
    for what, path, write in writes:
        with containment.stdout_to_stderr():  # the reports word the facts with the plugins' wording
            failed = files.written(what, path, write)
        if not failed:
            print(f"{what} written to {path}", file=sys.stderr)
        code = code or failed
    return code


if __name__ == "__main__":
    sys.exit(main())
