"""Exact arithmetic for Appendix H (sympy, rationals): the null space of eq. 68's operator over
Q, characteristic polynomials and their gcd, Jordan structures, the determinant identity, and
rational matrices with a chosen Jordan structure (``similar_rows``) for the checks."""

from fractions import Fraction
from itertools import product

import numpy as np
import sympy
from sympy.polys.matrices import DomainMatrix

from theory.appH.solutions import real_square
from theory.symbolic import fraction

T_SYMBOL = sympy.Symbol("t")


def rational_matrix(name: str, M) -> list[list[Fraction]]:
    if isinstance(M, sympy.MatrixBase):
        rows = M.tolist()
    elif isinstance(M, np.ndarray) and M.dtype != object:
        rows = real_square(name, M).tolist()
    else:
        rows = [list(r) for r in M]
    if not rows or any(len(r) != len(rows) for r in rows):
        raise ValueError(f"{name} must be a non-empty square matrix")
    return [[fraction(x) for x in r] for r in rows]


def _dm(rows: list[list[Fraction]]) -> DomainMatrix:
    """sympy's DomainMatrix, over ZZ when every entry is an integer (products are much faster
    there), else over QQ."""
    shape = (len(rows), len(rows[0]))
    if all(x.denominator == 1 for r in rows for x in r):
        return DomainMatrix([[sympy.ZZ(int(x)) for x in r] for r in rows], shape, sympy.ZZ)
    return DomainMatrix(
        [[sympy.QQ(x.numerator, x.denominator) for x in r] for r in rows], shape, sympy.QQ
    )


def _rank(dm: DomainMatrix) -> int:
    return dm.convert_to(sympy.QQ).rank()  # elimination over QQ beats fraction-free ZZ here


def _kron_rows(W: list[list[Fraction]], C: list[list[Fraction]]) -> list[list[Fraction]]:
    """Eq. 68's K = I_n ⊗ W − Cᵀ ⊗ I_m, exactly (row (j, i) ↔ entry θ_ij of vec θ)."""
    m, n = len(W), len(C)
    rows = []
    for j, i in product(range(n), range(m)):
        row = [Fraction(0)] * (m * n)
        for k in range(m):
            row[j * m + k] += W[i][k]
        for l in range(n):
            row[l * m + i] -= C[l][j]
        rows.append(row)
    return rows


def exact_rank(rows: list[list[Fraction]]) -> int:
    """Rank over Q: Gaussian elimination on fractions for the tiny matrices of the exhaustive
    searches (faster there), sympy's DomainMatrix over QQ beyond."""
    if len(rows) > 9:
        return _rank(_dm(rows))
    rows = [list(r) for r in rows if any(r)]
    rank, col, width = 0, 0, len(rows[0]) if rows else 0
    while rank < len(rows) and col < width:
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            col += 1
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        p = rows[rank]
        for r in range(rank + 1, len(rows)):
            if rows[r][col] != 0:
                f = rows[r][col] / p[col]
                rows[r] = [a - f * b for a, b in zip(rows[r], p)]
        rank, col = rank + 1, col + 1
    return rank


def exact_nullity(W, C) -> int:
    """dim{θ : Wθ = θC} over Q (= over R = over C: K is rational), exactly."""
    W, C = rational_matrix("W", W), rational_matrix("C", C)
    return len(W) * len(C) - exact_rank(_kron_rows(W, C))


def exact_solution_space(W, C) -> list[sympy.Matrix]:
    """A basis over Q of {θ : Wθ = θC} for rational W, C: the exact null space of eq. 68."""
    W, C = rational_matrix("W", W), rational_matrix("C", C)
    m, n = len(W), len(C)
    null = _dm(_kron_rows(W, C)).convert_to(sympy.QQ).nullspace().to_Matrix()
    return [sympy.Matrix(n, m, list(null.row(i))).T for i in range(null.rows)]


def charpoly(M) -> list[Fraction]:
    """Coefficients of det(tI − M), leading first, exactly."""
    return [
        Fraction(int(c.numerator), int(c.denominator))
        for c in _dm(rational_matrix("M", M)).charpoly()
    ]


def gcd_degree(p: list[Fraction], q: list[Fraction]) -> int:
    """Degree of gcd(p, q) over Q (coefficients leading first), by Euclid's algorithm."""

    def trim(a):
        while a and a[0] == 0:
            a = a[1:]
        return a

    p, q = trim(list(p)), trim(list(q))
    while q:
        r = list(p)
        while len(r) >= len(q) and r:
            f = r[0] / q[0]
            r = trim([a - f * b for a, b in zip(r, q + [Fraction(0)] * (len(r) - len(q)))])
        p, q = q, r
    return len(p) - 1


def share_eigenvalue(W, C) -> bool:
    """Whether W and C have a common (complex) eigenvalue, exactly: gcd of their
    characteristic polynomials non-constant."""
    return gcd_degree(charpoly(W), charpoly(C)) > 0


def jordan_structure(M) -> dict[tuple, tuple[int, ...]]:
    """The Jordan block sizes of a rational matrix, exactly, grouped by the irreducible factors
    f of its characteristic polynomial over Q (every root of f, real or complex, has the same
    blocks): {coefficients of monic f, leading first: block sizes, largest first}. Uses
    dim ker f(M)^k = deg f · Σ_i min(p_i, k)."""
    rows = rational_matrix("M", M)
    n = len(rows)
    dm = _dm(rows)
    K = dm.domain  # ZZ for an integer matrix: then f has integer coefficients too (Gauss)
    poly = sympy.Poly(
        [sympy.Rational(c.numerator, c.denominator) for c in charpoly(rows)],
        T_SYMBOL,
        domain=sympy.QQ,
    )
    structure = {}
    for factor, multiplicity in sympy.factor_list(poly)[1]:
        factor = factor.monic()
        degree = factor.degree()
        key = tuple(Fraction(int(c.p), int(c.q)) for c in factor.all_coeffs())
        if multiplicity == 1:  # a simple root: one block of size 1
            structure[key] = (1,)
            continue
        f_of_M = DomainMatrix.zeros((n, n), K)
        for c in factor.all_coeffs():  # Horner: f(M) = (...(c0 M + c1) M + ...) + c_d
            f_of_M = f_of_M * dm + DomainMatrix.eye(n, K) * K.convert(c)
        at_least, power, previous = [], DomainMatrix.eye(n, K), 0
        while previous < multiplicity:  # until every block is counted: Σ p_i = multiplicity
            power = power * f_of_M
            blocks_up_to_k = (n - _rank(power)) // degree  # Σ_i min(p_i, k)
            at_least.append(blocks_up_to_k - previous)  # the number of blocks of size ≥ k
            previous = blocks_up_to_k
        at_least.append(0)
        structure[key] = tuple(
            k for k in range(len(at_least) - 1, 0, -1) for _ in range(at_least[k - 1] - at_least[k])
        )
    return structure


def jordan_dimension(W, C) -> int:
    """Σ over shared eigenvalues λ of Σ_{i,j} min(p_i, q_j) (the dimension formula of
    appH-dimension), from the exact Jordan structures: an irreducible factor f shared by both
    characteristic polynomials contributes deg f times the sum (its roots are conjugate and
    carry the same blocks)."""
    w, c = jordan_structure(W), jordan_structure(C)
    return sum(
        (len(f) - 1) * sum(min(p, q) for p in w[f] for q in c[f]) for f in w.keys() & c.keys()
    )


def determinant_identity(m: int, n: int) -> bool:
    """sympy proof, for symbolic W (m×m) and C (n×n): det(I_n ⊗ W − Cᵀ ⊗ I_m) = ±Res(p_W, p_C)
    (the resultant of the characteristic polynomials, Π_ij (λ_i − μ_j)). Hence eq. 68's operator
    is singular iff W and C share an eigenvalue."""
    W = sympy.Matrix(m, m, sympy.symbols(f"w0:{m * m}"))
    C = sympy.Matrix(n, n, sympy.symbols(f"c0:{n * n}"))
    K = sympy.kronecker_product(sympy.eye(n), W) - sympy.kronecker_product(C.T, sympy.eye(m))
    det = sympy.expand(K.det(method="berkowitz"))
    res = sympy.expand(
        sympy.resultant(W.charpoly(T_SYMBOL).as_expr(), C.charpoly(T_SYMBOL).as_expr(), T_SYMBOL)
    )
    return sympy.expand(det - res) == 0 or sympy.expand(det + res) == 0


# Instances with a known Jordan structure.
# An eigenvalue is an int or Fraction (real), or a complex a + bi with b ≠ 0 standing for the
# conjugate pair a ± bi (a real Jordan block of twice the size).


def _eigen_key(lam):
    if isinstance(lam, complex):
        if lam.imag == 0:
            return fraction(lam.real)
        return (fraction(lam.real), abs(fraction(lam.imag)))
    return fraction(lam)


def jordan_rows(blocks) -> list[list[Fraction]]:
    """The real Jordan matrix of ``blocks`` [(eigenvalue, size), ...], exactly: J_p(λ) for real
    λ; for a ± bi the 2p×2p block with [[a, −b], [b, a]] on its diagonal and I₂ above it."""
    size = sum(p * (2 if isinstance(_eigen_key(lam), tuple) else 1) for lam, p in blocks)
    J = [[Fraction(0)] * size for _ in range(size)]
    at = 0
    for lam, p in blocks:
        key = _eigen_key(lam)
        if isinstance(key, tuple):
            a, b = key
            for k in range(p):
                i = at + 2 * k
                J[i][i], J[i][i + 1], J[i + 1][i], J[i + 1][i + 1] = a, -b, b, a
                if k + 1 < p:
                    J[i][i + 2] = J[i + 1][i + 3] = Fraction(1)
            at += 2 * p
        else:
            for k in range(p):
                J[at + k][at + k] = key
                if k + 1 < p:
                    J[at + k][at + k + 1] = Fraction(1)
            at += p
    return J


def predicted_dimension(w_blocks, c_blocks) -> int:
    """Σ over shared eigenvalues λ of Σ_{i,j} min(p_i, q_j) from the blocks' construction; a
    shared pair a ± bi counts for λ and for λ̄."""

    def grouped(blocks):
        out = {}
        for lam, p in blocks:
            out.setdefault(_eigen_key(lam), []).append(p)
        return out

    w, c = grouped(w_blocks), grouped(c_blocks)
    return sum(
        (2 if isinstance(k, tuple) else 1) * sum(min(p, q) for p in w[k] for q in c[k])
        for k in w.keys() & c.keys()
    )


def unimodular(rng: np.random.Generator, n: int, steps: int | None = None):
    """A random integer matrix S with det S = ±1 and its integer inverse, exactly, as a product of
    ``steps`` elementary operations row_i += ±row_j (entries stay small)."""
    S = [[int(i == j) for j in range(n)] for i in range(n)]
    S_inv = [r[:] for r in S]
    for _ in range(n + 1 if steps is None else steps):
        if n < 2:
            break
        i, j = rng.choice(n, size=2, replace=False)
        k = int(rng.choice((-1, 1)))
        S[i] = [a + k * b for a, b in zip(S[i], S[j])]  # S <- E S, E = I + k e_i e_jᵀ
        for r in S_inv:  # S⁻¹ <- S⁻¹ E⁻¹: column j -= k·column i
            r[j] -= k * r[i]
    return S, S_inv


def exact_product(X, Y):
    """Exact product of matrices of ints/Fractions (in ints when both are integral: faster)."""
    integral = all(fraction(x).denominator == 1 for M in (X, Y) for r in M for x in r)
    if integral:
        X = [[int(x) for x in r] for r in X]
        Y = [[int(y) for y in r] for r in Y]
    product_ = [[sum(a * b for a, b in zip(row, col)) for col in zip(*Y)] for row in X]
    return [[Fraction(x) for x in r] for r in product_]


def similar_rows(rng: np.random.Generator, blocks) -> list[list[Fraction]]:
    """S J S⁻¹ for the Jordan matrix of ``blocks`` and a random unimodular S: a rational matrix
    (integer when the eigenvalues are) with that exact Jordan structure, exactly representable
    in float64."""
    J = jordan_rows(blocks)
    S, S_inv = unimodular(rng, len(J))
    return exact_product(exact_product(S, J), S_inv)


def as_float(rows) -> np.ndarray:
    return np.array([[float(x) for x in r] for r in rows])


def partitions(k: int, largest: int | None = None):
    """The partitions of k, largest part first."""
    largest = k if largest is None else largest
    if k == 0:
        yield ()
        return
    for p in range(min(k, largest), 0, -1):
        for rest in partitions(k - p, p):
            yield (p,) + rest


STRUCTURED = {
    # name: (blocks of W, blocks of C)
    "shared real eigenvalue": ([(1, 1), (-2, 1), (3, 1)], [(1, 1), (4, 1)]),
    "shared complex pair": ([(1 + 2j, 1), (0, 1)], [(1 + 2j, 1), (5, 1)]),
    "repeated, semisimple": ([(2, 1), (2, 1), (-1, 1)], [(2, 1), (2, 1), (2, 1)]),
    "defective Jordan blocks": ([(1, 3), (1, 1)], [(1, 2), (0, 1)]),
    "defective complex pair": ([(1 + 1j, 2)], [(1 - 1j, 1), (3, 1)]),
    "two shared eigenvalues and a pair": (
        [(1, 2), (-1, 1), (2 + 1j, 1)],
        [(1, 1), (1, 1), (-1, 2), (2 - 1j, 1)],
    ),
    "singular W, shared 0": ([(0, 2), (1, 1)], [(0, 1), (0, 1), (2, 1)]),
    "nilpotent both": ([(0, 3)], [(0, 3)]),
    "W = I (no predictor)": ([(1, 1)] * 3, [(1, 2), (1, 1), (2, 1)]),
    "C = I (no augmentation, B = A)": ([(1, 2), (3, 1)], [(1, 1)] * 3),
    "W = I and C = I": ([(1, 1)] * 3, [(1, 1)] * 3),
    "rectangular θ (m = 2, n = 4)": ([(1, 2)], [(1, 3), (1, 1)]),
    "nothing shared": ([(1, 1), (2, 1), (0, 1)], [(3, 1), (1 + 1j, 1)]),
    "pair vs. real parts": ([(1j, 1)], [(1, 1), (-1, 1), (0, 1)]),
}


# Counterexamples as data.


def exact_strings(rows) -> list[list[str]]:
    return [[str(fraction(x)) for x in r] for r in rows]


def float_rows(rows) -> list[list[float]]:
    return [[float(x) for x in r] for r in rows]


def complexity(*matrices) -> tuple:
    """Simplicity order of a counterexample: fewer non-zero entries, then smaller entries,
    then fewer negative ones."""
    flat = [fraction(x) for M in matrices for r in M for x in r]
    sizes = [abs(x) for x in flat]
    return (sum(x != 0 for x in flat), sum(sizes), max(sizes, default=0), sum(x < 0 for x in flat))
