"""The seed-0 verdicts under several vector-unit paths of one machine, and how far they spread.

Each path is one ``python -m theory verify --json --jobs 1`` in a fresh process with environment
variables that choose which kernels the libraries run: PyTorch's ATen kernels
(``ATEN_CPU_CAPABILITY``), MKL's (``MKL_ENABLE_INSTRUCTIONS``: PyTorch's BLAS and LAPACK),
OpenBLAS's (``OPENBLAS_CORETYPE``: numpy's and scipy's) and the number of threads. Another CPU
rounds the last bits of a sum differently in the same ways, so the spread over these paths is a
measurement of what another machine can change.

    python bench/cpu_paths.py [--out DIR] [--paths NAME,...]   # resumable: done paths are kept
    python bench/cpu_paths.py --spread DIR [DIR ...]           # the table of every record found
    python bench/cpu_paths.py --pin FILE DIR [DIR ...]         # the pins, from every record found

Each path's verdicts are written to DIR/NAME.json (with the machine and its load); the table of
the spread (per claim: verdicts, smallest and largest ``worst``, its ratio to the tolerance) is
printed last. The records of every machine measured so far are kept in tests/data/cpu-paths/,
one folder per CPU; ``--pin`` writes tests/data/verdicts-seed0.json from them (the rule is
``pin``'s docstring, and docs/decision-rule.md says why it is safe).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# name -> environment; "native" is what the machine chooses by itself.
PATHS = {
    "native": {},
    "one-thread": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "mkl-avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "mkl-sse42": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "openblas-skylakex": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "openblas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "all-baseline": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "OPENBLAS_CORETYPE": "Prescott",
    },
}


def run_path(name: str, out: Path) -> None:
    from theory import report

    env = {**os.environ, **PATHS[name], "PYTHONPATH": str(REPO)}
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        # in one process: the thread count is the path's (worker processes would each take one)
        [sys.executable, "-m", "theory", "verify", "--json", "--jobs", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"error: path {name} exited {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    (out / "raw").mkdir(exist_ok=True)
    (out / "raw" / f"{name}.json").write_text(done.stdout)  # every fact, for a second look
    claims = json.loads(done.stdout)["claims"]
    commit = (
        subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )
    record = {
        "path": name,
        "environment": PATHS[name],
        "cpu": report.cpu_model(),
        "commit": commit,
        "load_at_start": load,
        "seconds": round(time.perf_counter() - started, 1),
        "claims": [
            {
                **{k: c[k] for k in ("id", "verdict", "worst", "tolerance", *COUNTS)},
                **roundoff(c["facts"]),
            }
            for c in claims
        ],
    }
    tmp = out / f".{name}.json"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(out / f"{name}.json")


def roundoff(facts: list[dict]) -> dict:
    """For a trajectory claim, how near round-off came to the decision rule's second threshold:
    the excesses the float32 replay settled as round-off and the smallest growth it measured
    there, and the growth of the most amplified run (round-off grows by about 2**29, a
    separation needs at most CONFIRM = 2**14.5)."""
    runs = [f for f in facts if f["kind"] == "trajectories" and "roundoff_steps" in f]
    scaling = [f for f in facts if f["kind"] == "precision-scaling"]
    if not runs:
        return {}
    growths = [f["roundoff_growth"] for f in runs if f["roundoff_growth"] is not None]
    return {
        "roundoff_steps": sum(f["roundoff_steps"] for f in runs),
        "roundoff_growth": min(growths, default=None),
        "scaling": scaling[0]["float32"] / scaling[0]["float64"]
        if scaling and scaling[0]["float64"]
        else None,
    }


def spread(records: list[dict]) -> list[dict]:
    """Per claim: the verdicts seen, the smallest and largest worst, their ratio, and the largest
    worst against the tolerance (for the trajectory claims, how close round-off came to the
    decision rule's threshold)."""
    seen: dict[str, list[dict]] = {}
    for record in records:
        for c in record["claims"]:
            seen.setdefault(c["id"], []).append(c)
    rows = []
    for claim_id, found in seen.items():
        worsts = [c["worst"] for c in found]
        low, high, tolerance = min(worsts), max(worsts), found[0]["tolerance"]
        steps = [c["roundoff_steps"] for c in found if "roundoff_steps" in c]
        growths = [
            g for c in found for g in (c.get("roundoff_growth"), c.get("scaling")) if g is not None
        ]
        rows.append(
            {
                "id": claim_id,
                "verdicts": sorted({c["verdict"] for c in found}),
                "low": low,
                "high": high,
                "spread": high / low if low > 0 else None,
                "tolerance": tolerance,
                "trajectory": bool(steps),
                "roundoff_steps": sum(steps) if steps else None,
                "roundoff_records": len(steps),
                "growth": min(growths, default=None),
            }
        )
    return rows


def _g(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def spread_markdown(records: list[dict], command: str) -> str:
    from theory.report import markdown_table

    machines = {}
    for r in records:
        load = "" if r["load_at_start"] is None else f", load {r['load_at_start']:.1f}"
        took = "" if r["seconds"] is None else f" {r['seconds']:.0f} s"
        machines.setdefault(r["cpu"], []).append(f"{r['path']}{took}{load}")
    header = (
        f"Written by `{command}`: {len(records)} records of the claims at seed 0 — "
        + "; ".join(f"{cpu}: {', '.join(paths)}" for cpu, paths in machines.items())
        + "."
    )
    rows = spread(records)
    cells = [
        [
            f"`{r['id']}`",
            "/".join(r["verdicts"]),
            _g(r["low"]),
            _g(r["high"]),
            _g(r["spread"]),
            _g(r["tolerance"]),
            f"{r['roundoff_steps']} in {r['roundoff_records']}" if r["trajectory"] else "–",
            _g(r["growth"]),
        ]
        for r in rows
    ]
    table = markdown_table(
        [
            "claim",
            "verdicts",
            "smallest worst",
            "largest worst",
            "largest/smallest",
            "tolerance",
            "excesses set aside as round-off",
            "smallest float32 growth",
        ],
        cells,
    )
    legend = (
        "For the trajectory claims, *excesses set aside as round-off* counts the decisive steps "
        "above the rule's `FACTOR` that the float32 replay showed to be round-off (in how many "
        "records this was measured), and *smallest float32 growth* is the smallest float32/float64 "
        "ratio of deviations seen, at such a step or in a holding claim's most amplified run: "
        "round-off grows by about 2^29 ≈ 5.4e8, a separation needs at most CONFIRM = 2^14.5 ≈ 2.3e4."
    )
    return "\n".join([header, "", *table, "", legend])


COUNTS = ("cases", "sampled", "searched")


def band(values: list[float]) -> list[float]:
    """The measured range, widened on each side by its own width on a log scale: a CPU not yet
    measured may land as far outside the measured range as the measurements spread. A value
    every path reproduces exactly (a bitwise-identical mirror's 0, a rank) is pinned exactly."""
    low, high = min(values), max(values)
    if low == high:
        return [low, high]
    if low <= 0:  # no log scale: widen by the width itself
        return [low - (high - low), high + (high - low)]
    spread = high / low
    return [low / spread, high * spread]


def count_band(values: list[int]) -> list[int]:
    low, high = min(values), max(values)
    return [max(0, low - (high - low)), high + (high - low)]


def pin(records: list[dict]) -> dict:
    """The pins of tests/data/verdicts-seed0.json: per claim the verdict and tolerance every
    path agrees on, and bands (``band``, ``count_band``) for ``worst`` and the case counts, from
    the records that hold the claim (a record made before a claim existed, or before its
    checker changed, does not hold it), with how many records and which CPUs. A claim whose
    verdict differs between paths cannot be pinned: that is a finding, refused."""
    per_claim: dict[str, list[dict]] = {}
    for record in records:
        for c in record["claims"]:
            per_claim.setdefault(c["id"], []).append(c)
    cpus = {}
    for record in records:
        for c in record["claims"]:
            cpus.setdefault(c["id"], set()).add(record["cpu"])
    claims = []
    for claim_id, seen in per_claim.items():
        for key in ("verdict", "tolerance"):
            if len({json.dumps(c[key]) for c in seen}) != 1:
                raise SystemExit(
                    f"error: {claim_id}'s {key} differs between paths: "
                    + ", ".join(sorted({str(c[key]) for c in seen}))
                )
        claims.append(
            {
                "id": claim_id,
                "verdict": seen[0]["verdict"],
                "tolerance": seen[0]["tolerance"],
                "worst": band([c["worst"] for c in seen]),
                **{k: count_band([c[k] for c in seen]) for k in COUNTS},
                "records": len(seen),
                "cpus": sorted(cpus[claim_id]),
            }
        )
    return {
        "rule": "verdict and tolerance exactly; worst and the case counts inside the range "
        "measured over every record, widened on each side by its own width (worst: on a "
        "log scale); written by python bench/cpu_paths.py --pin (docs/decision-rule.md)",
        "measured": [
            {"cpu": r["cpu"], "path": r["path"], "environment": r["environment"]} for r in records
        ],
        "claims": claims,
    }


def read_records(folders: list[Path]) -> list[dict]:
    records = []
    for folder in folders:
        found = sorted(folder.glob("*.json"))
        if not found:
            raise SystemExit(f"error: no records (*.json) in {folder}")
        records += [json.loads(f.read_text()) for f in found]
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "cpu-paths")
    parser.add_argument(
        "--paths", default=",".join(PATHS), help="comma-separated: " + ", ".join(PATHS)
    )
    parser.add_argument(
        "--spread", nargs="+", type=Path, metavar="DIR", help="print the spread of these records"
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="with --spread: write the table into FILE's cpu-paths block",
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write --markdown from a tree that differs from its commit (the block then says so)",
    )
    parser.add_argument(
        "--pin", nargs="+", metavar="FILE DIR", help="write the pins from these records"
    )
    args = parser.parse_args(argv)
    if args.spread:
        text = spread_markdown(
            read_records(args.spread),
            "python bench/cpu_paths.py --spread " + " ".join(str(f) for f in args.spread),
        )
        print(text)
        if args.markdown:
            from theory import files, report

            return files.written(
                "spread",
                args.markdown,
                lambda: report.write_block(args.markdown, "cpu-paths", text, args.allow_dirty),
            )
        return 0
    if args.pin:
        if len(args.pin) < 2:
            parser.error("--pin needs the pin file and at least one folder of records")
        target, folders = Path(args.pin[0]), [Path(f) for f in args.pin[1:]]
        target.write_text(
            json.dumps(pin(read_records(folders)), indent=1, ensure_ascii=False) + "\n"
        )
        return 0
    names = [n for n in args.paths.split(",") if n]
    unknown = [n for n in names if n not in PATHS]
    if unknown:
        print(
            f"error: unknown path {', '.join(unknown)}; known: {', '.join(PATHS)}", file=sys.stderr
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (args.out / f"{name}.json").exists():
            print(f"running {name} ...", file=sys.stderr, flush=True)
            run_path(name, args.out)
    print(
        spread_markdown(
            [json.loads((args.out / f"{n}.json").read_text()) for n in names],
            "python bench/cpu_paths.py",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
