"""The objectives in sympy, once, and the exact arithmetic the checkers share.

Claims about squared distances between vectors are statements about their Gram matrix: with
g_ab = ⟨a, b⟩, ‖a − b‖² = g_aa − 2 g_ab + g_bb. An identity proven as a polynomial identity in
the Gram entries therefore holds for vectors of every dimension D at once. ``Gram.vector``
gives symbolic vectors (linear combinations of named ones) and the functions below are
``theory.objectives`` per sample, written over them (``tests/test_symbolic.py`` checks each
against its torch twin); ``Gram.substitute`` evaluates them exactly on rational vectors, with no
round-off, to confirm counterexamples.
"""

from fractions import Fraction
from itertools import combinations_with_replacement

import sympy

ALPHA, BETA = sympy.symbols("alpha beta", positive=True)


def fraction(x) -> Fraction:
    """x as an exact fraction: ints, Fractions, sympy rationals, and floats at their exact
    binary value."""
    if isinstance(x, sympy.Basic):
        x = sympy.Rational(x)
        return Fraction(int(x.p), int(x.q))
    return Fraction(x)


def rational(x) -> sympy.Rational:
    """x as an exact sympy rational (see ``fraction``)."""
    x = fraction(x)
    return sympy.Rational(x.numerator, x.denominator)


class Gram:
    """Inner-product symbols ⟨a, b⟩ for named vectors; ``unit=True`` sets ⟨a, a⟩ = 1."""

    def __init__(self, names: list[str], unit: bool):
        self.names = list(names)
        self.unit = unit
        self.entries = {}
        for a, b in combinations_with_replacement(self.names, 2):
            if a == b and unit:
                self.entries[a, b] = sympy.Integer(1)
            else:
                self.entries[a, b] = sympy.Symbol(f"g_{a}_{b}", real=True)
        self._held = {
            g: sympy.Symbol(f"Lambda_{a}{b}", real=True, nonzero=True)
            for (a, b), g in self.entries.items()
            if isinstance(g, sympy.Symbol)
        }

    def __call__(self, a: str, b: str) -> sympy.Expr:
        i, j = sorted((self.names.index(a), self.names.index(b)))
        return self.entries[self.names[i], self.names[j]]

    def vector(self, name: str) -> "Vector":
        return Vector(self, {name: sympy.Integer(1)})

    def vectors(self) -> list["Vector"]:
        return [self.vector(n) for n in self.names]

    def squared_distance(self, a: str, b: str) -> sympy.Expr:
        """‖a − b‖² = ⟨a, a⟩ − 2⟨a, b⟩ + ⟨b, b⟩."""
        return squared_distance(self.vector(a), self.vector(b))

    def norm_squared(self, combination: dict[str, sympy.Expr]) -> sympy.Expr:
        """‖Σ c_a a‖² for a linear combination {a: c_a}."""
        v = Vector(self, combination)
        return v @ v

    def held(self, expr: sympy.Expr) -> sympy.Expr:
        """expr with every inner product ⟨a, b⟩ replaced by a symbol Λ_ab for its value held
        fixed: the stop-gradient sg(·), under which the expression carries no gradient."""
        return expr.subs({g: self._held[g] for g in expr.free_symbols if g in self._held})

    def release(self, expr: sympy.Expr) -> sympy.Expr:
        """expr with every held value Λ_ab set back to ⟨a, b⟩ (its value at the point)."""
        return expr.subs({lam: g for g, lam in self._held.items()})

    def substitute(self, expr: sympy.Expr, vectors: dict[str, list[Fraction]]) -> sympy.Expr:
        """expr with every inner product (held or not) computed exactly from rational vectors."""
        values = {}
        for (a, b), symbol in self.entries.items():
            if isinstance(symbol, sympy.Symbol):
                exact = sum(fraction(x) * fraction(y) for x, y in zip(vectors[a], vectors[b]))
                values[symbol] = values[self._held[symbol]] = rational(exact)
        return expr.subs(values)


class Vector:
    """A linear combination Σ c_a a of a Gram's named vectors; ``u @ v`` is ⟨u, v⟩."""

    def __init__(self, gram: Gram, coefficients: dict):
        self.gram, self.coefficients = gram, dict(coefficients)

    def _combine(self, other: "Vector", sign: int) -> "Vector":
        out = dict(self.coefficients)
        for name, c in other.coefficients.items():
            out[name] = out.get(name, 0) + sign * c
        return Vector(self.gram, out)

    def __add__(self, other):
        return self._combine(other, 1)

    def __sub__(self, other):
        return self._combine(other, -1)

    def __rmul__(self, scalar):
        return Vector(self.gram, {n: scalar * c for n, c in self.coefficients.items()})

    def __neg__(self):
        return -1 * self

    def __matmul__(self, other: "Vector") -> sympy.Expr:
        return sum(
            ca * cb * self.gram(a, b)
            for a, ca in self.coefficients.items()
            for b, cb in other.coefficients.items()
        )


def squared_distance(a: Vector, b: Vector) -> sympy.Expr:
    return (a - b) @ (a - b)


def alignment(z1: Vector, z2: Vector) -> sympy.Expr:
    """‖z1 − z2‖², the integrand of L_align (eq. 2)."""
    return squared_distance(z1, z2)


def cross_model(p: Vector, t: Vector, *, tangential: bool = False) -> sympy.Expr:
    """‖p − t‖², the integrand of L_cross-model (eq. 6); ``tangential``: the Remark's
    ‖t − λp‖²/λ with λ = sg⟨p, t⟩ (``Gram.held``)."""
    if not tangential:
        return squared_distance(p, t)
    lam = p.gram.held(p @ t)
    return squared_distance(t, lam * p) / lam


def symmetric_cross_model(p1, p2, t1, t2, **options) -> sympy.Expr:
    """½[cross-model on view 1 + on view 2] (Definition 4.2, Algorithm 1)."""
    return (cross_model(p1, t1, **options) + cross_model(p2, t2, **options)) / 2


def byol(p1: Vector, t2: Vector, **options) -> sympy.Expr:
    """‖p1 − t2‖² (eq. 4)."""
    return cross_model(p1, t2, **options)


def byol_symmetric(p1, p2, t1, t2, **options) -> sympy.Expr:
    """½[byol(p1, t2) + byol(p2, t1)]."""
    return (byol(p1, t2, **options) + byol(p2, t1, **options)) / 2


def byol_prime_one_view(p1, p2, t2, alpha=ALPHA, beta=BETA) -> sympy.Expr:
    """α‖p1 − p2‖² + β‖p2 − t2‖² (eq. 7 as written, cross-model term on the second view)."""
    return alpha * alignment(p1, p2) + beta * cross_model(p2, t2)


def byol_prime(p1, p2, t1, t2, alpha=ALPHA, beta=BETA, **options) -> sympy.Expr:
    """α‖p1 − p2‖² + β·½(cross-model on both views) (Definition 4.2, eq. 10)."""
    return alpha * alignment(p1, p2) + beta * symmetric_cross_model(p1, p2, t1, t2, **options)


def raft(p1, p2, t1, t2, alpha=ALPHA, beta=BETA, **options) -> sympy.Expr:
    """α‖p1 − p2‖² − β·½(cross-model on both views) (Definition 4.3, eq. 11)."""
    return alpha * alignment(p1, p2) - beta * symmetric_cross_model(p1, p2, t1, t2, **options)


def is_identity(lhs: sympy.Expr, rhs: sympy.Expr) -> bool:
    """Whether lhs − rhs cancels to the zero rational function (a proof, not a numerical
    test)."""
    return sympy.cancel(lhs - rhs) == 0


def rational_unit_vector(x: list[float], max_denominator: int) -> list[Fraction]:
    """A rational point exactly on the unit sphere near the unit vector x: x's stereographic
    coordinates (from the pole farther from x) rounded to fractions, mapped back."""
    sign = 1 if x[0] >= 0 else -1
    y = [Fraction(v / (1 + sign * x[0])).limit_denominator(max_denominator) for v in x[1:]]
    n = sum(v * v for v in y)
    return [sign * (1 - n) / (1 + n)] + [2 * v / (1 + n) for v in y]
