"""Appendix H in sympy and exact arithmetic: the lines of eqs. 58–60 component by component
(n = 2, 3), the fixed point of the EMA (eq. 64) and a schedule under which the teacher
converges away from θ, the vec form of eq. 68, and the smallest counterexample to eq. 58's
third line as written, with its float64 replay."""

from fractions import Fraction
from functools import cache

import sympy
import torch

from theory.steps import linear

DIMS = (2, 3)


def _model(n: int):
    """Symbolic n×n W, θ, ξ and vectors x1, x2 as generators of a polynomial ring over Q (exact
    and fast: every line of eqs. 58–60 is a polynomial in them)."""
    names = [f"{m}{i}{j}" for m in "wtx" for i in range(n) for j in range(n)]
    names += [f"{v}{k}" for v in "uv" for k in range(n)]
    _, *gens = sympy.ring(names, sympy.QQ)
    square = lambda at: [gens[at + i * n : at + (i + 1) * n] for i in range(n)]  # noqa: E731
    W, theta, xi = square(0), square(n * n), square(2 * n * n)
    x1, x2 = gens[3 * n * n : 3 * n * n + n], gens[3 * n * n + n :]
    return W, theta, xi, x1, x2


def _matvec(M, v):
    return [sum(a * b for a, b in zip(row, v)) for row in M]


def _lines_n(n: int) -> dict[str, bool]:
    """Eqs. 58–60 for symbolic n×n matrices: which lines equal the derivative identically."""
    W, theta, xi, x1, x2 = _model(n)
    theta_x1 = _matvec(theta, x1)
    T = [a - b for a, b in zip(_matvec(W, theta_x1), _matvec(xi, x2))]
    L = sum(t * t for t in T)
    WT = [sum(W[k][i] * T[k] for k in range(n)) for i in range(n)]
    ok = dict.fromkeys(
        (
            "58.1",
            "58.2",
            "58.3*",
            "58.4",
            "58.3 entry i",
            "58.3",
            "59.1",
            "59.2",
            "59.3",
            "59.4",
            "59.5",
            "60",
        ),
        True,
    )
    for i in range(n):
        for j in range(n):
            t, w = theta[i][j], W[i][j]
            d, dW = L.diff(t), L.diff(w)
            row = [sum(2 * T[k] * W[k][c] * x1[j] for k in range(n)) for c in range(n)]
            checks = {
                "58.1": sum((T[k] ** 2).diff(t) for k in range(n)) == d,
                "58.2": sum(2 * T[k] * T[k].diff(t) for k in range(n)) == d,
                "58.3*": sum(2 * T[k] * W[k][i] * x1[j] for k in range(n)) == d,
                "58.3 entry i": row[i] == d,
                "58.3": all(entry == d for entry in row),
                "58.4": 2 * WT[i] * x1[j] == d,
                "59.1": sum((T[k] ** 2).diff(w) for k in range(n)) == dW,
                "59.2": sum(2 * T[k] * T[k].diff(w) for k in range(n)) == dW,
                "59.3": sum(2 * T[k] * theta_x1[j] * (1 if k == i else 0) for k in range(n)) == dW,
                "59.4": 2 * T[i] * sum(theta[j][c] * x1[c] for c in range(n)) == dW,
                "59.5": 2 * T[i] * theta_x1[j] == dW,
                "60": 2 * WT[i] * x1[j] == d and 2 * T[i] * theta_x1[j] == dW,
            }
            ok = {k: ok[k] and checks[k] for k in ok}
    return ok


@cache
def line_proofs() -> dict[str, dict]:
    """Per line of eqs. 58–60: whether it equals the derivative for every entry (i, j), for
    n = 2 and 3. "58.3" is the line as written (W_{k,:}: every entry of the row must match),
    "58.3*" the corrected W_{k,i}; "58.3 entry i" says that the written row's i-th entry is
    the derivative (the typo is the index)."""
    results = [_lines_n(n) for n in DIMS]
    return {
        k: {"identity": all(r[k] for r in results), "method": "componentwise", "dims": list(DIMS)}
        for k in results[0]
    }


@cache
def ema_fixed_point_proof() -> dict:
    """Eq. 64: ξ(k+1) − ξ(k) = τξ + (1 − τ)θ − ξ factors as (1 − τ)(θ − ξ): it vanishes iff θ = ξ,
    when τ ≠ 1 (at τ = 1 for every θ)."""
    theta, xi, tau = sympy.symbols("theta xi tau", real=True)
    increment = tau * xi + (1 - tau) * theta - xi
    return {
        "identity": sympy.expand(increment - (1 - tau) * (theta - xi)) == 0,
        "method": "symbols",
        "solution": "θ = ξ",
    }


@cache
def ema_limit_proof() -> dict:
    """Eq. 64 read as a limit ("when ξ converges"): (1 − τ_k)(θ(k) − ξ(k)) = ξ(k+1) − ξ(k) → 0
    forces θ(k) − ξ(k) → 0 only if 1 − τ_k stays away from 0. With τ_k = 1 − 2^−(k+1) and θ(k) = 1
    for all k (ξ(0) = 0), the teacher converges to 1 − Π(1 − 2^−j) ≈ 0.7112 while θ stays at 1:
    exactly, in fractions, for K steps."""
    K, xi, previous = 60, Fraction(0), Fraction(0)
    for k in range(K):
        tau = 1 - Fraction(1, 2 ** (k + 1))
        previous, xi = xi, tau * xi + (1 - tau) * 1
    limit_gap = 1.0
    for j in range(1, 200):
        limit_gap *= 1 - 2.0**-j
    return {
        "identity": False,
        "method": "fractions",
        "steps": K,
        "increment": float(xi - previous),
        "gap": float(1 - xi),
        "limit_gap": limit_gap,
    }


@cache
def kronecker_proof() -> dict:
    """Eq. 68: vec(Wθ − θC) = (I ⊗ W − Cᵀ ⊗ I) vec θ for symbolic n×n W, C, θ (n = 2, 3, columns
    stacked); for θ m×n the identity needs I_n ⊗ W − Cᵀ ⊗ I_m (m = 2, n = 3), while the
    paper's I_m ⊗ W and Cᵀ ⊗ I_n then have different sizes."""
    from sympy.physics.quantum import TensorProduct as kron

    def holds(m, n, paper):
        W = sympy.Matrix(m, m, sympy.symbols(f"w0:{m * m}"))
        C = sympy.Matrix(n, n, sympy.symbols(f"c0:{n * n}"))
        theta = sympy.Matrix(m, n, sympy.symbols(f"t0:{m * n}"))
        vec = lambda M: M.T.reshape(M.rows * M.cols, 1)  # noqa: E731
        left, right = (
            (kron(sympy.eye(m), W), kron(C.T, sympy.eye(n)))
            if paper
            else (kron(sympy.eye(n), W), kron(C.T, sympy.eye(m)))
        )
        if left.shape != right.shape:
            return None, [list(left.shape), list(right.shape)]
        return sympy.expand(
            (left - right) * vec(theta) - vec(W * theta - theta * C)
        ) == sympy.zeros(m * n, 1), None

    square = all(holds(n, n, paper=True)[0] for n in DIMS)
    _, shapes = holds(2, 3, paper=True)
    corrected, _ = holds(2, 3, paper=False)
    return {
        "identity": square,
        "method": "componentwise",
        "dims": list(DIMS),
        "rectangular_shapes": shapes,
        "rectangular_corrected": corrected,
    }


def simplest_line3() -> dict | None:
    """The smallest counterexample to eq. 58's third line as written: n = 1 first (where
    W_{k,:} = W_{k,1}, so the typo is harmless), then n = 2, with W = θ = I, ξ = 0, x2 = 0 and
    x1 a basis vector; the exact derivative 2[(WᵀT)x1ᵀ]_ij (eq. 58's last line, proven above)
    against the written row Σ_k 2T_k W_{k,:}(x1)_j, in fractions."""
    for n in (1, 2):
        eye = [[Fraction(int(a == b)) for b in range(n)] for a in range(n)]
        for axis in range(n):
            x1 = [Fraction(int(k == axis)) for k in range(n)]
            T = _matvec(eye, _matvec(eye, x1))  # Wθx1 − ξx2 with ξ = 0
            for i in range(n):
                for j in range(n):
                    d = 2 * sum(eye[k][i] * T[k] for k in range(n)) * x1[j]
                    row = [2 * sum(T[k] * eye[k][c] for k in range(n)) * x1[j] for c in range(n)]
                    if any(entry != d for entry in row):
                        return _line3_record(n, axis, i, j, d, row)
    return None


def _line3_record(n, axis, i, j, d, row) -> dict:
    eye = [[float(a == b) for b in range(n)] for a in range(n)]
    return {
        "equation": "58, line 3",
        "n": n,
        "W": eye,
        "theta": eye,
        "xi": [[0.0] * n for _ in range(n)],
        "x1": [float(k == axis) for k in range(n)],
        "x2": [0.0] * n,
        "i": i + 1,
        "j": j + 1,
        "exact": {
            "n": str(n),
            "W": "I",
            "theta": "I",
            "xi": "0",
            "x1": f"e{axis + 1}",
            "x2": "0",
            "i": str(i + 1),
            "j": str(j + 1),
            "as_written": "[" + ", ".join(map(str, row)) + "]",
            "derivative": str(d),
            "corrected": str(row[i]),
        },
    }


def replay_line3(example: dict) -> dict:
    """The counterexample in float64: autograd's ∂/∂θ_ij and the written row."""
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    args = [t(example[k]) for k in ("theta", "W", "xi", "x1", "x2")]
    i, j = example["i"] - 1, example["j"] - 1
    theta = args[0].clone().requires_grad_(True)
    with torch.enable_grad():
        (d,) = torch.autograd.grad(linear.per_sample_loss(theta, *args[1:]), theta)
    return {"as_written": linear.written_line3(*args)[j].tolist(), "autograd": float(d[i, j])}
