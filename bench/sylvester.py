"""Benchmark: theory.appH.solution_space by its two methods, n = 8, 16, 32, 64.

    python bench/sylvester.py [--sizes 8 16 32 64] [--repeat 3] [--kronecker-max 64]

Prints, per size and kind of (W, C), the dimension k found and the median wall time of the
Schur method and of eq. 68's Kronecker form (an SVD of an n² × n² matrix: 4096 × 4096 at
n = 64), and their ratio. The two timings of a row come from the same run on the same inputs.
Kinds: a random predictor against C = BA⁻¹ from sampled views (k = 0), a predictor sharing the
eigenvalues of C's first two Schur blocks (2–4 of them), W = C (k = n), W = C = I (k = n², the
largest possible answer), and a single Jordan block J_n(0) on both sides (one cluster of n
eigenvalues: the Schur method's worst case, an SVD of the same n² × n² size).
BLAS threads: whatever numpy uses (set OPENBLAS_NUM_THREADS to pin them).
"""

import argparse
import os
import statistics
import time

import numpy as np

from theory import appH as sy


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--kronecker-max", type=int, default=64,
                        help="largest n for the Kronecker form (minutes at 64 on two cores)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"cpus {os.cpu_count()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"{'n':>3}  {'case':<24} {'k':>5}  {'schur s':>9}  {'kronecker s':>11}  {'kron/schur':>10}")
    for n in args.sizes:
        kron_time = None
        for name, (W, C) in cases(rng, n).items():
            schur, k = timed(lambda: sy.schur_solutions(W, C), args.repeat)
            kron, kron_k = None, None
            if n <= args.kronecker_max and (kron_time is None or n < 32):
                # The SVD's cost does not depend on the case: at n ≥ 32 time it once per size.
                kron, kron_k = timed(lambda: sy.kronecker_solutions(W, C), 1 if n >= 32 else args.repeat)
                kron_time = kron
                if kron_k != k:
                    print(f"     (the Kronecker form finds k = {kron_k})")
            kron_text = f"{kron:11.3f}" if kron is not None else f"{'(same SVD)' if kron_time else '-':>11}"
            ratio = f"{kron / schur:10.1f}" if kron is not None else f"{'':>10}"
            print(f"{n:>3}  {name:<24} {k:>5}  {schur:9.3f}  {kron_text}  {ratio}", flush=True)


if __name__ == "__main__":
    main()
