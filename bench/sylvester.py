"""Benchmark: theory.appH.solution_space by its two methods, n = 8, 16, 32, 64.

    python bench/sylvester.py [--sizes 8 16 32 64] [--repeat 3] [--kronecker-max 64]
                              [--markdown docs/claims/appH.md]

Prints, per size and kind of (W, C), the dimension k found and the median wall time of the
Schur method and of eq. 68's Kronecker form (an SVD of an n² × n² matrix: 4096 × 4096 at
n = 64), and their ratio. The two timings of a row come from the same run on the same inputs.
Kinds: a random predictor against C = BA⁻¹ from sampled views (k = 0), a predictor sharing the
eigenvalues of C's first two Schur blocks (2–4 of them), W = C (k = n), W = C = I (k = n², the
largest possible answer), and a single Jordan block J_n(0) on both sides (one cluster of n
eigenvalues: the Schur method's worst case, an SVD of the same n² × n² size).
BLAS threads: whatever numpy uses (set OPENBLAS_NUM_THREADS to pin them). ``--markdown FILE``
also writes the table into the ``sylvester-timings`` block of FILE.
"""

import argparse
import os
import platform
import statistics
import time
from datetime import date

import numpy as np

from theory import appH as sy
from theory import report


def cases(rng: np.random.Generator, n: int):
    A, B, _ = sy.moments(*sy.sample_views(rng, n, 100 * n, "noise"))
    C = sy.target_matrix(A, B)
    J = np.diag(np.ones(n - 1), 1)
    return {
        "random W vs data C": (sy.random_predictor("pytorch", n, rng), C),
        "W shares 2 Schur blocks": (sy.sharing_predictor(rng, C, blocks=2), C),
        "W = C": (C.copy(), C),
        "W = C = I": (np.eye(n), np.eye(n)),
        "J_n(0) both": (J, J),
    }


def timed(f, repeat: int) -> tuple[float, int]:
    seconds, k = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        k = len(f())
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), k


def rows(sizes, repeat: int, kronecker_max: int):
    """(n, case, k, Schur seconds, Kronecker seconds or None, whether the SVD was timed, the
    Kronecker form's k where it differs from the Schur method's)."""
    rng = np.random.default_rng(0)
    for n in sizes:
        kron_time = None
        for name, (W, C) in cases(rng, n).items():
            schur, k = timed(lambda: sy.schur_solutions(W, C), repeat)
            kron, kron_k = None, k
            if n <= kronecker_max and (kron_time is None or n < 32):
                # The SVD's cost does not depend on the case: at n ≥ 32 time it once per size.
                kron, kron_k = timed(lambda: sy.kronecker_solutions(W, C), 1 if n >= 32 else repeat)
                kron_time = kron
            yield n, name, k, schur, kron, kron_time is not None, kron_k if kron_k != k else None


def text_row(n, name, k, schur, kron, timed_svd, kron_k) -> str:
    kron_text = f"{kron:11.3f}" if kron is not None else f"{'(same SVD)' if timed_svd else '-':>11}"
    ratio = f"{kron / schur:10.1f}" if kron is not None else f"{'':>10}"
    other = f"  (the Kronecker form finds k = {kron_k})" if kron_k is not None else ""
    return f"{n:>3}  {name:<24} {k:>5}  {schur:9.3f}  {kron_text}  {ratio}{other}"


def markdown(table, environment: str) -> str:
    out = [
        f"Measured by `python bench/sylvester.py --markdown docs/claims/appH.md` ({environment}):",
        "",
        "| n | case | k | Schur s | Kronecker s | Kronecker / Schur |",
        "|---|---|---|---|---|---|",
    ]
    for n, name, k, schur, kron, timed_svd, kron_k in table:
        kron_text = f"{kron:.3f}" if kron is not None else ("(same SVD)" if timed_svd else "-")
        if kron_k is not None:
            kron_text += f" (finds k = {kron_k})"
        ratio = f"{kron / schur:.1f}" if kron is not None else ""
        out.append(f"| {n} | {name} | {k} | {schur:.3f} | {kron_text} | {ratio} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--kronecker-max",
        type=int,
        default=64,
        help="largest n for the Kronecker form (an n² × n² SVD)",
    )
    parser.add_argument(
        "--markdown", metavar="FILE.md", help="write the table into FILE's sylvester-timings block"
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write into a file the repository ships even though its working tree differs from its commit (refused otherwise); the block then says so",
    )
    args = parser.parse_args()
    if args.markdown:
        report.check_block(args.markdown, "sylvester-timings", args.allow_dirty)
    environment = (
        f"{os.cpu_count()} cpus ({platform.processor() or platform.machine()}), "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
        f"numpy {np.__version__}, {date.today().isoformat()}"
    )
    print(environment)
    print(
        f"{'n':>3}  {'case':<24} {'k':>5}  {'schur s':>9}  {'kronecker s':>11}  {'kron/schur':>10}"
    )
    table = []
    for row in rows(args.sizes, args.repeat, args.kronecker_max):
        table.append(row)
        print(text_row(*row), flush=True)
    if args.markdown:
        report.write_block(
            args.markdown, "sylvester-timings", markdown(table, environment), args.allow_dirty
        )


if __name__ == "__main__":
    main()
