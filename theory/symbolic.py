"""sympy derivations shared by the checkers.

Claims about squared distances between vectors are statements about their Gram matrix: with
g_ab = ⟨a, b⟩, ‖a − b‖² = g_aa − 2 g_ab + g_bb. An identity proven as a polynomial identity in
the Gram entries therefore holds for vectors of every dimension D at once. ``exact`` evaluates
the same expressions on rational vectors, with no round-off, to confirm counterexamples.
"""

from fractions import Fraction
from itertools import combinations_with_replacement

import sympy

ALPHA, BETA = sympy.symbols("alpha beta", positive=True)


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

    def __call__(self, a: str, b: str) -> sympy.Expr:
        i, j = sorted((self.names.index(a), self.names.index(b)))
        return self.entries[self.names[i], self.names[j]]

    def squared_distance(self, a: str, b: str) -> sympy.Expr:
        """‖a − b‖² = ⟨a, a⟩ − 2⟨a, b⟩ + ⟨b, b⟩."""
        return self(a, a) - 2 * self(a, b) + self(b, b)

    def norm_squared(self, combination: dict[str, sympy.Expr]) -> sympy.Expr:
        """‖Σ c_a a‖² = Σ c_a c_b ⟨a, b⟩ for a linear combination {a: c_a}."""
        return sum(
            ca * cb * self(a, b) for a, ca in combination.items() for b, cb in combination.items()
        )

    def substitute(self, expr: sympy.Expr, vectors: dict[str, list[Fraction]]) -> sympy.Expr:
        """expr with every inner product computed exactly from rational vectors."""
        values = {}
        for (a, b), symbol in self.entries.items():
            if isinstance(symbol, sympy.Symbol):
                exact = sum(Fraction(x) * Fraction(y) for x, y in zip(vectors[a], vectors[b]))
                values[symbol] = sympy.Rational(exact.numerator, exact.denominator)
        return expr.subs(values)


def is_identity(lhs: sympy.Expr, rhs: sympy.Expr) -> bool:
    """Whether lhs − rhs cancels to the zero rational function (a proof, not a numerical
    test)."""
    return sympy.cancel(lhs - rhs) == 0


def rational(x: Fraction | float | int) -> sympy.Rational:
    x = Fraction(x)
    return sympy.Rational(x.numerator, x.denominator)


def rational_unit_vector(x: list[float], max_denominator: int) -> list[Fraction]:
    """A rational point exactly on the unit sphere near the unit vector x: x's stereographic
    coordinates (from the pole farther from x) rounded to fractions, mapped back."""
    sign = 1 if x[0] >= 0 else -1
    y = [Fraction(v / (1 + sign * x[0])).limit_denominator(max_denominator) for v in x[1:]]
    n = sum(v * v for v in y)
    return [sign * (1 - n) / (1 + n)] + [2 * v / (1 + n) for v in y]
