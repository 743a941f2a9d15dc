"""The checkers of Appendix H's claims on spectra: when Wθ = θC has non-zero solutions
(appH-sylvester), how many (appH-dimension), and whether a randomly initialised W gives any
(appH-random-W). Each returns evidence as facts (``wording`` writes them)."""

import math
from fractions import Fraction
from itertools import product

import numpy as np
import scipy.optimize
import sympy

from theory.appH.exact import (
    STRUCTURED,
    as_float,
    charpoly,
    complexity,
    determinant_identity,
    exact_nullity,
    exact_product,
    exact_strings,
    float_rows,
    gcd_degree,
    jordan_dimension,
    jordan_rows,
    partitions,
    predicted_dimension,
    rational_matrix,
    similar_rows,
    unimodular,
)
from theory.appH.linear_model import (
    AUGMENTATIONS,
    INITS,
    moments,
    random_predictor,
    sample_views,
    target_matrix,
)
from theory.appH.solutions import (
    RTOL,
    AmbiguousRank,
    distance_to_sharing,
    separation,
    solution_space,
    sylvester_operator,
)
from theory.claims import Effort, Finding, fact
from theory.symbolic import rational

# ---- appH-sylvester

# The search score σ_min(K)/min|λ − μ| must be ≤ 1: θ = v uᴴ (Wv = λv, uᴴC = μuᴴ, unit) gives
# ‖Kvec θ‖ = |λ − μ|. Scored only where the gap is ≥ 1e-6·(‖W‖ + ‖C‖): there the float64 errors
# of σ_min (≲ mn·eps·‖K‖) and of the eigenvalues (≲ eps·cond·‖W‖, cond ≤ 1e2 near the optimum)
# are below 1e-8 of the gap. A larger ratio is re-evaluated at 50 digits before it counts.
RATIO_TOL = 1e-8
GAP_FLOOR = 1e-6


def sylvester_ratio(W: np.ndarray, C: np.ndarray) -> float:
    """σ_min(K) / min_ij |λ_i(W) − μ_j(C)| (0 where the gap is below GAP_FLOOR, relative)."""
    scale = np.linalg.norm(W, 2) + np.linalg.norm(C, 2)
    gap = np.min(np.abs(np.linalg.eigvals(W)[:, None] - np.linalg.eigvals(C)[None, :]))
    if not scale or gap < GAP_FLOOR * scale:
        return 0.0
    return float(np.linalg.svd(sylvester_operator(W, C), compute_uv=False)[-1] / gap)


def ratio_at_50_digits(W: np.ndarray, C: np.ndarray) -> float:
    import mpmath

    with mpmath.workdps(50):
        K = mpmath.matrix(sylvester_operator(W, C).tolist())
        s = min(mpmath.svd_r(K, compute_uv=False))
        ew = mpmath.eig(mpmath.matrix(W.tolist()), left=False, right=False)
        ec = mpmath.eig(mpmath.matrix(C.tolist()), left=False, right=False)
        return float(s / min(abs(a - b) for a in ew for b in ec))


def _start(rng, m: int, n: int, kind: int):
    """A start for the ratio search: random, near-normal (symmetric plus a small skew part), or
    near-sharing (C's spectrum shifted onto one of W's eigenvalues)."""
    W, C = rng.standard_normal((m, m)), rng.standard_normal((n, n))
    if kind == 1:
        W, C = W + W.T + 0.1 * rng.standard_normal((m, m)), C + C.T
    elif kind == 2:
        lam = np.linalg.eigvals(W)
        real = lam[np.abs(lam.imag) < 1e-12]
        if len(real):
            mu = np.linalg.eigvals(C)
            C = C - float(mu[np.argmin(np.abs(mu.imag))].real - real[0].real - 1e-3) * np.eye(n)
    return W, C


def search_ratio(rng: np.random.Generator, shapes, starts: int):
    """L-BFGS-B (finite differences) maximising ``sylvester_ratio`` over (W, C) from random,
    near-normal and near-sharing starts; returns (worst ratio, W, C, evaluations)."""
    best, evaluations = (-1.0, None, None), 0
    for m, n in shapes:
        for s in range(starts):
            W, C = _start(rng, m, n, s % 3)

            def negative(p, m=m, n=n):
                return -sylvester_ratio(p[: m * m].reshape(m, m), p[m * m :].reshape(n, n))

            result = scipy.optimize.minimize(
                negative,
                np.concatenate([W.ravel(), C.ravel()]),
                method="L-BFGS-B",
                options={"maxiter": 60},
            )
            evaluations += result.nfev
            if -result.fun > best[0]:
                best = (
                    -result.fun,
                    result.x[: m * m].reshape(m, m),
                    result.x[m * m :].reshape(n, n),
                )
    return best[0], best[1], best[2], evaluations


def integer_matrices(n: int, values=(-1, 0, 1)):
    return [[list(e[i * n : (i + 1) * n]) for i in range(n)] for e in product(values, repeat=n * n)]


def exact_iff_mismatches(pairs) -> tuple[int, int, list]:
    """For exact pairs (W, C): (cases, cases with a non-zero solution, mismatches), a mismatch
    being a pair where 'θ ≠ 0 exists' (exact nullity of K) and 'an eigenvalue is shared'
    (gcd of the characteristic polynomials) disagree."""
    polys, cases, nontrivial, mismatches = {}, 0, 0, []
    for W, C in pairs:
        keys = [str(W), str(C)]
        for k, M in zip(keys, (W, C)):
            if k not in polys:
                polys[k] = charpoly(M)
        nullity = exact_nullity(W, C)
        shared = gcd_degree(polys[keys[0]], polys[keys[1]]) > 0
        cases += 1
        nontrivial += nullity > 0
        if (nullity > 0) != shared:
            mismatches.append((W, C, nullity, shared))
    return cases, nontrivial, mismatches


def _random_integer_pairs(rng, count: int):
    """3×3 integer pairs, half of them similar up to a unimodular change of basis and one
    changed entry (so that they often still share an eigenvalue)."""
    pairs = []
    for k in range(count):
        W = rng.integers(-1, 2, (3, 3)).tolist()
        if k % 2:
            S, S_inv = unimodular(rng, 3)
            C = exact_product(exact_product(S, rational_matrix("W", W)), S_inv)
            C[rng.integers(3)][rng.integers(3)] += int(rng.integers(-1, 2))
        else:
            C = rng.integers(-1, 2, (3, 3)).tolist()
        pairs.append((W, C))
    return pairs


def _constructed_spectra(rng) -> tuple[list, list[str]]:
    """STRUCTURED's spectra, exactly and in float64 (both methods): exact mismatches, and the
    names where float64 disagrees with the construction."""
    mismatches, float_disagree = [], []
    for name, (wb, cb) in STRUCTURED.items():
        W, C = similar_rows(rng, wb), similar_rows(rng, cb)
        mismatches += exact_iff_mismatches([(W, C)])[2]
        k = len(solution_space(as_float(W), as_float(C), method="both"))
        if (k > 0) != (predicted_dimension(wb, cb) > 0):
            float_disagree.append(name)
    return mismatches, float_disagree


def _gaussian_pairs(rng, scale: int) -> dict:
    """Random Gaussian pairs share no eigenvalue (probability 1), so θ = 0 only."""
    draws, nontrivial, smallest = 0, 0, math.inf
    for n in (1, 2, 3, 4, 6, 8):
        for _ in range(20 * scale):
            W, C = rng.standard_normal((n, n)), rng.standard_normal((n, n))
            nontrivial += len(solution_space(W, C)) > 0
            smallest = min(smallest, separation(W, C))
            draws += 1
    return dict(draws=draws, nontrivial=nontrivial, smallest=smallest, tolerance=RTOL)


def _sylvester_verdict(evidence, mismatches, worst, W_worst, C_worst, common) -> Finding:
    if mismatches:
        W, C, nullity, shared = min(
            mismatches, key=lambda x: (len(x[0]) + len(x[1]), complexity(x[0], x[1]))
        )
        return Finding(
            "fails",
            evidence=evidence,
            counterexample={
                "W": float_rows(W),
                "C": float_rows(C),
                "nullity": nullity,
                "share_eigenvalue": shared,
                "exact": {"W": exact_strings(W), "C": exact_strings(C)},
            },
            **common,
        )
    if worst > 1 + RATIO_TOL:
        precise = ratio_at_50_digits(W_worst, C_worst)
        evidence.append(fact("ratio-50-digits", ratio=precise))
        if precise > 1 + RATIO_TOL:
            return Finding(
                "fails",
                evidence=evidence,
                counterexample={
                    "W": W_worst.tolist(),
                    "C": C_worst.tolist(),
                    "ratio_50_digits": precise,
                },
                **common,
            )
        return Finding("inconclusive", evidence=evidence, **common)
    return Finding("holds", evidence=evidence, **common)


def check_sylvester(effort: Effort) -> Finding:
    rng = effort.rng()
    sizes = [
        (m, n)
        for m, n in ((1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (3, 1))
        if determinant_identity(m, n)
    ]
    twos = integer_matrices(2)
    cases, nontrivial, mismatches = exact_iff_mismatches([(W, C) for W in twos for C in twos])
    pairs = _random_integer_pairs(rng, 150 * effort.scale)
    c3, n3, m3 = exact_iff_mismatches(pairs)
    constructed_mismatches, float_disagree = _constructed_spectra(rng)
    gaussian = _gaussian_pairs(rng, effort.scale)
    worst, W_worst, C_worst, evaluations = search_ratio(
        rng, [(1, 1), (2, 2), (3, 3), (2, 3)], 6 * effort.scale
    )
    evidence = [
        fact("determinant-identity", sizes=sizes),
        fact("exhaustive-iff", cases=cases, nontrivial=nontrivial, mismatches=len(mismatches)),
        fact("random-iff", cases=c3, nontrivial=n3, mismatches=len(m3)),
        fact("constructed-spectra", names=list(STRUCTURED), float_disagree=float_disagree),
        fact("gaussian-pairs", **gaussian),
        fact("ratio-search", evaluations=evaluations, worst=worst),
    ]
    common = dict(
        worst=worst,
        tolerance=RATIO_TOL,
        sampled=gaussian["draws"] + len(pairs),
        searched=cases + len(STRUCTURED) + evaluations,
    )
    return _sylvester_verdict(
        evidence, mismatches + m3 + constructed_mismatches, worst, W_worst, C_worst, common
    )


# ---- appH-dimension


def dimension_cases(rng: np.random.Generator, scale: int):
    """(name, blocks of W, blocks of C): every pair of Jordan partitions of sizes 1…4 at a
    shared eigenvalue (each side padded with an eigenvalue of its own), every pair of
    partitions of sizes 1…2 at a shared complex pair, the constructed spectra, then random
    Jordan data."""
    exhaustive = []
    for a, b in product(range(1, 5), repeat=2):
        for P, Q in product(partitions(a), partitions(b)):
            exhaustive.append(
                (
                    f"λ = 1: W blocks {P}, C blocks {Q}",
                    [(1, p) for p in P] + [(-1, 1)],
                    [(1, q) for q in Q] + [(2, 1)],
                )
            )
    for a, b in product(range(1, 3), repeat=2):
        for P, Q in product(partitions(a), partitions(b)):
            exhaustive.append(
                (
                    f"1 ± i: W blocks {P}, C blocks {Q}",
                    [(1 + 1j, p) for p in P],
                    [(1 - 1j, q) for q in Q] + [(0, 1)],
                )
            )
    exhaustive += [(name, wb, cb) for name, (wb, cb) in STRUCTURED.items()]
    sampled = []
    spectrum = [0, 1, -1, 2, 1 + 1j, 2j]
    for k in range(30 * scale):

        def blocks():
            return [
                (spectrum[int(rng.integers(len(spectrum)))], int(rng.integers(1, 4)))
                for _ in range(int(rng.integers(1, 4)))
            ]

        sampled.append((f"random Jordan data #{k}", blocks(), blocks()))
    return exhaustive, sampled


def _dimension_case(rng, wb, cb):
    """(exact nullity of K, formula from the construction, formula from the exact Jordan
    structure of the matrices, float64 dimension or 'ambiguous', W, C)."""
    W, C = similar_rows(rng, wb), similar_rows(rng, cb)
    nullity = exact_nullity(W, C)
    try:
        numeric = len(solution_space(as_float(W), as_float(C), method="both"))
    except AmbiguousRank:
        numeric = "ambiguous"
    return nullity, predicted_dimension(wb, cb), jordan_dimension(W, C), numeric, W, C


def float_jordan(rng, blocks, log_cond: float) -> np.ndarray:
    """S J S⁻¹ in float64 with S = U·diag(e^{±log_cond/2}) (U orthogonal): cond(S) = e^log_cond."""
    J = as_float(jordan_rows(blocks))
    U, _ = np.linalg.qr(rng.standard_normal((len(J), len(J))))
    S = U * np.exp(rng.uniform(-log_cond / 2, log_cond / 2, len(J)))
    return S @ J @ np.linalg.inv(S)


class _Worst:
    """The largest |exact dimension − formula| seen, the first case that shows it, and every
    (formula, dimension) pair seen."""

    def __init__(self):
        self.gap, self.counterexample, self.pairs = 0, None, []

    def see(self, case: str, W, C, dimension: int, formula: int) -> None:
        self.pairs.append([formula, dimension])
        gap = abs(dimension - formula)
        if gap > self.gap or (gap and self.counterexample is None):
            self.gap = max(self.gap, gap)
            self.counterexample = {
                "case": case,
                "W": float_rows(W),
                "C": float_rows(C),
                "dimension": dimension,
                "formula": formula,
                "exact": {"W": exact_strings(W), "C": exact_strings(C)},
            }


def _jordan_cases(rng, groups, worst: _Worst) -> tuple[list[str], int]:
    """Exact nullity against the formula on Jordan data; float64's disagreements, ambiguities."""
    float_bad, ambiguous = [], 0
    for group in groups:
        for name, wb, cb in group:
            nullity, built, oracle, numeric, W, C = _dimension_case(rng, wb, cb)
            if built != oracle:  # the construction itself is wrong: a bug, not a verdict
                raise AssertionError(f"{name}: Jordan structure {oracle} != construction {built}")
            worst.see(name, W, C, nullity, built)
            ambiguous += numeric == "ambiguous"
            if numeric not in (nullity, "ambiguous"):
                float_bad.append(name)
    return float_bad, ambiguous


def _integer_cases(rng, count: int, worst: _Worst) -> int:
    """Integer matrices not built from Jordan data (often singular, nilpotent, defective): the
    exact Jordan structure is computed, not chosen."""
    for k in range(count):
        W = rng.integers(-1, 2, (3, 3)).tolist()
        if k % 2:
            S, S_inv = unimodular(rng, 3)
            C = exact_product(exact_product(S, rational_matrix("W", W)), S_inv)
        else:
            C = rng.integers(-1, 2, (3, 3)).tolist()
        worst.see("integer 3×3", W, C, exact_nullity(W, C), jordan_dimension(W, C))
    return count


def _large_float_cases(rng, scale: int) -> tuple[int, int, list]:
    """The Schur method at larger n on S J S⁻¹ with non-integer similarities (cond(S) up to e³)."""
    large, largest, bad = 0, 0, []
    for n_blocks, log_cond in ((4, 1.0), (8, 2.0), (16, 3.0)):
        for _ in range(2 * scale):
            wb = [
                (v, int(rng.integers(1, 4))) for v in rng.choice([0, 1, -1, 2], n_blocks).tolist()
            ]
            cb = [
                (v, int(rng.integers(1, 4))) for v in rng.choice([0, 1, -1, 3], n_blocks).tolist()
            ]
            W, C = float_jordan(rng, wb, log_cond), float_jordan(rng, cb, log_cond)
            found = len(solution_space(W, C, method="schur"))
            large, largest = large + 1, max(largest, len(W), len(C))
            if found != predicted_dimension(wb, cb):
                bad.append([len(W), len(C), found, predicted_dimension(wb, cb)])
    return large, largest, bad


def check_dimension(effort: Effort) -> Finding:
    rng = effort.rng()
    exhaustive, sampled = dimension_cases(rng, effort.scale)
    worst = _Worst()
    float_bad, ambiguous = _jordan_cases(rng, (exhaustive, sampled), worst)
    evidence = [
        fact(
            "exhaustive-dimension",
            structures=len(exhaustive),
            constructed=len(STRUCTURED),
            worst=worst.gap,
        ),
        fact("random-jordan", cases=len(sampled)),
        fact("jordan-agrees"),
        fact(
            "float-dimension", disagree=len(float_bad), examples=float_bad[:3], ambiguous=ambiguous
        ),
    ]
    integer = _integer_cases(rng, 60 * effort.scale, worst)
    evidence.append(fact("integer-dimension", cases=integer))
    large, largest, large_bad = _large_float_cases(rng, effort.scale)
    evidence.append(
        fact(
            "large-schur",
            cases=large,
            largest=largest,
            disagree=len(large_bad),
            examples=large_bad[:2],
        )
    )
    evidence.append(fact("dimension-pairs", pairs=worst.pairs))
    common = dict(
        worst=float(worst.gap),
        tolerance=0.0,
        sampled=len(sampled) + integer + large,
        searched=len(exhaustive),
    )
    if worst.counterexample is not None:
        return Finding("fails", evidence=evidence, counterexample=worst.counterexample, **common)
    return Finding("holds", evidence=evidence, **common)


# ---- appH-random-W


def exact_trivial(W: np.ndarray, A: np.ndarray, B: np.ndarray) -> bool:
    """Whether Wθ = θBA⁻¹ has only θ = 0, in exact rational arithmetic on the float64 values."""
    Am = sympy.Matrix(A.tolist()).applyfunc(rational)
    Bm = sympy.Matrix(B.tolist()).applyfunc(rational)
    return exact_nullity(W.tolist(), (Bm * Am.inv()).tolist()) == 0


def simplest_trivial(init: str, W: np.ndarray, A: np.ndarray, B: np.ndarray) -> dict | None:
    """The draw's W, A, B rounded to the fewest decimals (1, 2, …) that keep W inside the
    init's support (|w| ≤ 1/√n for PyTorch's), A symmetric positive definite and Wθ = θBA⁻¹
    without a non-zero solution, confirmed exactly."""
    n = len(W)
    for digits in range(1, 8):
        Wr, Ar, Br = (np.round(M, digits) for M in (W, A, B))
        Ar = (Ar + Ar.T) / 2
        if init == "pytorch" and np.abs(Wr).max() > 1 / np.sqrt(n):
            continue
        if np.linalg.eigvalsh(Ar).min() <= 0:
            continue
        exact = [[[str(Fraction(str(x))) for x in r] for r in M.tolist()] for M in (Wr, Ar, Br)]
        Wm, Am, Bm = (sympy.Matrix(e).applyfunc(sympy.Rational) for e in exact)
        C = Bm * Am.inv()
        if exact_nullity(Wm.tolist(), C.tolist()) == 0:
            K = sympy.kronecker_product(sympy.eye(n), Wm) - sympy.kronecker_product(
                C.T, sympy.eye(n)
            )
            return {
                "decimals": digits,
                "W": Wr.tolist(),
                "A": Ar.tolist(),
                "B": Br.tolist(),
                "exact": {
                    "W": exact[0],
                    "A": exact[1],
                    "B": exact[2],
                    "C = BA⁻¹": str(C.tolist()),
                    "det(I ⊗ W − Cᵀ ⊗ I)": str(K.det()),
                },
            }
    return None


DRAWS_PER_DIM = {1: 10, 2: 10, 3: 10, 4: 10, 8: 3, 16: 2, 32: 1, 64: 1, 128: 1}


def random_draws(rng, dims, scale: int) -> dict:
    """W drawn at random against C = BA⁻¹ from sampled views, for every n, init and
    augmentation: how many have a numerically non-trivial solution, the smallest relative
    distance to sharing an eigenvalue (per n), and the draws without a solution at n ≤ 3."""
    draws, nontrivial, worst, trivial, per_dim = 0, 0, math.inf, [], {}
    for n in dims:
        for augmentation in AUGMENTATIONS:
            for init in INITS:
                for _ in range(DRAWS_PER_DIM[n] * scale):
                    A, B, _ = moments(*sample_views(rng, n, 100 * n, augmentation))
                    C = target_matrix(A, B)
                    W = random_predictor(init, n, rng)
                    # Both methods, cross-checked, while the Kronecker SVD is cheap (n ≤ 8).
                    k = len(solution_space(W, C, method="both" if n <= 8 else "schur"))
                    distance = distance_to_sharing(W, C)
                    draws, nontrivial, worst = draws + 1, nontrivial + (k > 0), min(worst, distance)
                    low, count = per_dim.get(n, (math.inf, 0))
                    per_dim[n] = (min(low, distance), count + 1)
                    if k == 0 and n <= 3:
                        trivial.append(
                            (
                                n,
                                init != "pytorch",
                                augmentation != "noise",
                                init,
                                augmentation,
                                W,
                                A,
                                B,
                            )
                        )
    return dict(
        draws=draws,
        nontrivial=nontrivial,
        worst=worst,
        trivial=trivial,
        per_dim=[[n, low, count] for n, (low, count) in per_dim.items()],
    )


def _closest_draws(rng, scale: int) -> tuple[int, list]:
    """The most favourable of many cheap Gaussian draws (smallest eigenvalue gap), checked."""
    searched, closest = 0, []
    for n in (2, 3, 4, 6, 8):
        A, B, _ = moments(*sample_views(rng, n, 100 * n, "asymmetric"))
        C = target_matrix(A, B)
        mu = np.linalg.eigvals(C)
        candidates = [random_predictor("gaussian", n, rng) for _ in range(300 * scale)]
        gaps = [np.min(np.abs(np.linalg.eigvals(W)[:, None] - mu[None, :])) for W in candidates]
        searched += len(candidates)
        for i in np.argsort(gaps)[:3]:
            closest.append(
                (len(solution_space(candidates[i], C)), distance_to_sharing(candidates[i], C))
            )
    return searched, closest


EDGE_PREDICTORS = (
    ("W = I (byol-lpi's init), noise augmentation", np.eye, "noise"),
    ("W = I, mask augmentation", np.eye, "mask"),
    ("W = I, no augmentation (C = I)", np.eye, "none"),
    ("W = C itself", None, "asymmetric"),
)


def _edge_predictors(rng) -> list[list]:
    """Non-random predictors, for contrast (n = 4): [name, dimension of the solution space]."""
    edges = []
    for name, make_W, augmentation in EDGE_PREDICTORS:
        A, B, _ = moments(*sample_views(rng, 4, 400, augmentation))
        C = target_matrix(A, B)
        W = C.copy() if make_W is None else make_W(4)
        edges.append([name, len(solution_space(W, C))])
    return edges


def _random_W_counterexample(trivial: list, seed: int) -> dict | None:
    """The smallest draw without a solution (PyTorch's init and noise augmentation preferred:
    the paper's setting), confirmed exactly, with its simplest rounding; None if the exact
    arithmetic does not confirm it."""
    n, _, _, init, augmentation, W, A, B = min(trivial, key=lambda t: t[:3])
    if not exact_trivial(W, A, B):
        return None
    simplest = simplest_trivial(init, W, A, B)
    return {
        "n": n,
        "init": init,
        "augmentation": augmentation,
        "samples": 100 * n,
        "seed": seed,
        "W": W.tolist(),
        "A": A.tolist(),
        "B": B.tolist(),
        "distance_to_sharing": distance_to_sharing(W, C=target_matrix(A, B)),
        "simplest": simplest,
        "exact": simplest["exact"] if simplest else None,
    }


def check_random_W(effort: Effort) -> Finding:
    rng = effort.rng()
    dims = [1, 2, 3, 4, 8, 16, 32, 64] + ([128] if effort.thorough else [])
    drawn = random_draws(rng, dims, effort.scale)
    searched, closest = _closest_draws(rng, effort.scale)
    edges = _edge_predictors(rng)
    evidence = [
        fact(
            "random-draws",
            dims=dims,
            inits=list(INITS),
            augmentations=list(AUGMENTATIONS),
            draws=drawn["draws"],
            nontrivial=drawn["nontrivial"],
            tolerance=RTOL,
        ),
        fact("distance-per-dim", per_dim=drawn["per_dim"]),
        fact("measure-zero"),
        fact(
            "closest-draws",
            draws=searched,
            dimensions=[k for k, _ in closest],
            distance=min(d for _, d in closest),
        ),
        fact("edge-predictors", edges=edges),
    ]
    common = dict(
        worst=drawn["worst"], tolerance=RTOL, sampled=drawn["draws"], searched=searched + len(edges)
    )
    if not drawn["trivial"]:
        if drawn["nontrivial"] == drawn["draws"]:
            return Finding("holds", evidence=evidence, **common)
        evidence.append(fact("unconfirmed-large"))
        return Finding("inconclusive", evidence=evidence, **common)
    counterexample = _random_W_counterexample(drawn["trivial"], effort.seed)
    if counterexample is None:
        evidence.append(fact("unconfirmed-smallest"))
        return Finding("inconclusive", evidence=evidence, **common)
    evidence.append(
        fact(
            "random-W-counterexample",
            n=counterexample["n"],
            init=counterexample["init"],
            augmentation=counterexample["augmentation"],
            simplest=counterexample["simplest"],
        )
    )
    return Finding("fails", evidence=evidence, counterexample=counterexample, **common)
