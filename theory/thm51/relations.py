"""The exact relation between the two losses of a lockstep comparison, per sample, in sympy:
the objectives of ``theory.symbolic`` at the online outputs (p1, p2) and at the mapped point
(s·p1, s·p2), s = −1 when the predictor is mirrored (q' = −q), over the Gram entries of p1, p2,
t1, t2 (of the l2-normalised vectors when the setup is on the sphere). In the tangential form λ
is held (the stop-gradient): on the second side λ' = ⟨s·p, t⟩ = s·Λ_pt."""

import sympy

from theory import symbolic as sym
from theory.thm51.setups import Setup

NAMES = ["p1", "p2", "t1", "t2"]


def _objective(name: str, p1, p2, t1, t2, tangential: bool) -> sympy.Expr:
    o = dict(tangential=tangential)
    forms = {
        "byol'": lambda: sym.byol_prime(p1, p2, t1, t2, **o),
        "raft": lambda: sym.raft(p1, p2, t1, t2, **o),
        "byol": lambda: sym.byol(p1, t2, **o),
        "run-away-byol": lambda: -sym.byol(p1, t2, **o),
        "byol-sym": lambda: sym.byol_symmetric(p1, p2, t1, t2, **o),
        "run-away-byol-sym": lambda: -sym.byol_symmetric(p1, p2, t1, t2, **o),
        "raft-frozen": lambda: sym.raft(-p1, -p2, t1, t2, **o),
        "half-align": lambda: sym.alignment(p1, p2) / 2,
    }
    return forms[name]()


def gram(setup: Setup) -> sym.Gram:
    return sym.Gram(NAMES, unit=setup.sphere)


def symbolic_losses(setup: Setup) -> tuple[sympy.Expr, sympy.Expr]:
    """Per sample, the first objective at (p1, p2) and the second at the mapped point."""
    name_first, name_second = setup.pair.split("/")
    if name_second.startswith("tan"):
        raise ValueError(
            "a plain objective and its Tan* form differ in value: see symbolic_tangent_noop"
        )
    p1, p2, t1, t2 = gram(setup).vectors()
    s = -1 if setup.mirrored else 1
    return (
        _objective(name_first, p1, p2, t1, t2, setup.tangential),
        _objective(name_second, s * p1, s * p2, t1, t2, setup.tangential),
    )


def symbolic_relation(setup: Setup) -> tuple[sympy.Expr, list[sympy.Symbol]]:
    """L_second(mapped point) − L_first(point), simplified, and the Gram entries of the online
    outputs it still depends on (none: its gradient in the online outputs vanishes, so the
    two objectives' gradients correspond at every point)."""
    first, second = symbolic_losses(setup)
    relation = sympy.simplify(sympy.expand(second - first))
    online = [s for s in relation.free_symbols if s.name.startswith("g_p")]
    return relation, sorted(online, key=lambda s: s.name)


def at_the_point(setup: Setup, relation: sympy.Expr) -> sympy.Expr:
    """The relation where each held λ takes its value at the point itself (Λ_pt = ⟨p, t⟩)."""
    return sympy.simplify(gram(setup).release(relation))


def online_gradients(setup: Setup) -> dict[str, dict[str, sympy.Expr]]:
    """∇ of L_second − L_first with respect to each online output p_i, as a combination
    {vector name: coefficient} of p1, p2, t1, t2 (held λ carry no gradient; on the sphere the
    radial part, which the normalisation removes, is left out)."""
    relation, _ = symbolic_relation(setup)
    g = gram(setup)
    gradients = {}
    for p in ("p1", "p2"):
        combination = {}
        for b in NAMES:
            entry = g(p, b)
            if isinstance(entry, sympy.Symbol):
                combination[b] = sympy.diff(relation, entry) * (2 if b == p else 1)
        gradients[p] = combination
    return gradients


def at_teacher_equals_online(
    setup: Setup, combination: dict[str, sympy.Expr]
) -> dict[str, sympy.Expr]:
    """A combination evaluated where each teacher output equals its online output (t_i = p_i:
    the EMA fixed point ξ = θ of a run without a predictor)."""
    g, rename = gram(setup), {"t1": "p1", "t2": "p2"}
    values = {}
    for (a, b), entry in g.entries.items():
        if isinstance(entry, sympy.Symbol):
            value = g(rename.get(a, a), rename.get(b, b))
            values[entry] = values[g.held(entry)] = value
    merged = {}
    for name, coefficient in combination.items():
        target = rename.get(name, name)
        merged[target] = merged.get(target, 0) + coefficient.subs(values)
    return {name: sympy.simplify(c) for name, c in merged.items()}


def symbolic_tangent_noop(dim: int = 3) -> sympy.Matrix:
    """∇_p[tangential cross-model] − ∇_p[plain cross-model], both composed with the
    l2-normalisation u = p/‖p‖ inside the graph, λ frozen at an arbitrary Λ ≠ 0, for an
    arbitrary teacher vector s, in components for dimension ``dim``: zero when the Tan* form
    leaves every gradient unchanged (the ∇_u difference, 2(Λ − 1)u, is radial, and the
    Jacobian of u annihilates radial vectors)."""
    p = sympy.Matrix(sympy.symbols(f"p1:{dim + 1}", real=True))
    s = sympy.Matrix(sympy.symbols(f"s1:{dim + 1}", real=True))
    lam = sympy.Symbol("Lambda", real=True, nonzero=True)
    u = p / sympy.sqrt(p.dot(p))
    tangential = (s - lam * u).dot(s - lam * u) / lam
    plain = (s - u).dot(s - u)
    return sympy.Matrix([sympy.simplify(sympy.diff(tangential - plain, c)) for c in p])
