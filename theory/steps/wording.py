"""The steps families' facts in words: one sentence per equation (its status, what was
checked, what sympy proved, the numbers, the counterexample and the correction), and the
family-wide facts."""

GRAM = "sympy over the Gram matrix (every D)"
COMPONENTS = "sympy, component by component (D = 2, 3)"
LINES = "sympy, component by component (n = 2, 3)"
CITED = "sympy (theory.appH.linear_model.derivation_identities, n = 2)"

PROOF_WORDS = {
    "decomposition": f"{GRAM}: w_∥ + w_⊥ = w, for any z",
    "orthogonal": f"{GRAM}: ⟨v_∥, z⟩ = 0 for unit z",
    "eq35": f"{GRAM}: both sides agree for unit z'2",
    "mirror": f"{GRAM}: (−v)_∥ at −z = −(v_∥ at z), for any z",
    "eq41": f"{GRAM}: both sides agree for unit z2",
    "own-point": f"{GRAM}: against tangent vectors at z, w_∥ (at z) acts as w, for unit z",
    "wrong-point": f"{GRAM}: ‖P_z1[(z1 − z2)_∥(at z2) − (z1 − z2)]‖²/‖z1 − z2‖²",
    "jacobian-even": f"{COMPONENTS}: the Jacobian of u ↦ u/‖u‖ is (I − ẑẑᵀ)/‖u‖ and even in u",
    "unit-jacobian": f"{COMPONENTS}: the Jacobian of u ↦ u/‖u‖ is (I − ẑẑᵀ)/‖u‖ and even in u",
    "chain-rule": f"{COMPONENTS}: d‖z1 − z2‖²/dp = 2[w_∥ + w_⊥]·(dz1/dp − dz2/dp) for any z1(p), z2(p)",
    "odd-derivative": f"{COMPONENTS}: d[(−u)/‖−u‖]/dp = −d[u/‖u‖]/dp for any u(p)",
    "raw-derivative": f"{COMPONENTS}: ∂(Wf)/∂W_ij = e_i f_j, the same at W and −W",
    "raw-jacobian-factor": f"{COMPONENTS}: ⟨P_z a, ∂u/∂p⟩ = ‖u‖·⟨a, ∂z/∂p⟩ for z = u/‖u‖, so the written form is "
    "‖W f_θ(x2)‖ times the tangential gradient",
    "sgd-odd": "sympy: given eqs. 43 and 53, one plain SGD step keeps θ = θ' and W = −W', and the EMA keeps ξ = ξ'",
    "lines:58.3": f"{LINES}: the written row is the derivative in every entry",
    "lines:58.3 entry i": f"{LINES}: the written row's i-th entry is ∂/∂θ_ij",
    "eq62": f"{CITED}: ∂/∂θ of the expectation = 2Wᵀ(WθA − ξB) = E[∂/∂θ]",
    "eq63": f"{CITED}: ∂/∂W of the expectation = 2(WθA − ξB)θᵀ = E[∂/∂W]",
    "eq65-66": f"{CITED}: eqs. 62–63 at ξ = θ are eqs. 65–66",
    "eq57-closed-form": f"{CITED}: the expectation of eq. 57 in the moments A, B (linear in them)",
    "ema-fixed-point": "sympy: ξ = τξ + (1 − τ)θ has the single solution θ = ξ for τ ≠ 1 (every θ at τ = 1)",
    "kronecker": f"{LINES}: vec(Wθ − θC) = (I ⊗ W − Cᵀ ⊗ I) vec θ",
}


def _mark(ok) -> str:
    return "✓" if ok else "✗"


def _part(p: dict) -> str:
    name = p["name"]
    if name.startswith("lines:") and name not in PROOF_WORDS:
        return f"{LINES}: the line equals the derivative in every entry {_mark(p['identity'])}"
    if name == "wrong-point":
        return (
            f"{PROOF_WORDS[name]} = {p['squared']} (not identically 0; its largest value is "
            f"{p['supremum']} ≈ {p['supremum_value']:.6f}, at ⟨z1, z2⟩ = {p['at']})"
        )
    if name == "raw-jacobian-factor":
        return f"{PROOF_WORDS[name]} {_mark(p['factor'])}"
    if name == "ema-limit":
        return (
            f"exact, in fractions: τ_k = 1 − 2^−(k+1), θ(k) = 1, ξ(0) = 0: after {p['steps']} steps ξ moves by "
            f"{p['increment']:.3g} per step (it converges) while θ − ξ = {p['gap']:.10f} → "
            f"{p['limit_gap']:.10f} ≠ 0"
        )
    if name == "kronecker":
        return (
            f"{PROOF_WORDS[name]} {_mark(p['identity'])}; for θ of 2×3, I_m ⊗ W and Cᵀ ⊗ I_n have sizes "
            f"{p['rectangular_shapes']}, while I_n ⊗ W − Cᵀ ⊗ I_m satisfies it {_mark(p['rectangular_corrected'])}"
        )
    words = PROOF_WORDS.get(name, name)
    off = (
        f" (off the unit sphere the difference is {p['off_sphere']})" if p.get("off_sphere") else ""
    )
    return f"{words} {_mark(p['identity'])}{off}"


def _proof(proof: dict | None) -> str:
    """The parts in words, those sharing a prefix ("sympy over the Gram matrix (every D)")
    under it once."""
    if not proof:
        return "no symbolic check"
    out, previous = [], None
    for part in (_part(p) for p in proof["parts"]):
        prefix, _, rest = part.partition(": ")
        out.append(rest if prefix == previous else part)
        previous = prefix
    return "; ".join(out)


def _numbers(t: dict | None, tolerance: float) -> str:
    if not t or not (t["sampled"] or t["searched"]):
        return "no numbers"
    return (
        f"{t['sampled']} random and {t['searched']} adversarial/edge cases, largest relative violation "
        f"{t['worst']:.3g} (tolerance {tolerance:g})"
    )


def _counterexample(c: dict) -> str:
    if "parameter" in c:
        e, f = c["exact"], c["float64"]
        return (
            f"exact counterexample: linear encoder θ = I, b = 0 (D = 2), W' = {c['W']}, x1 = {c['x1']}, "
            f"x2 = {c['x2']}, f_ξ(x2) = {c['t2']}; ∂/∂{c['parameter']}: as written {e['as_written']}, "
            f"tangential gradient {e['tangential_gradient']}, corrected {e['corrected']} (float64 autograd "
            f"{f['autograd']:g})"
        )
    if "i" in c:
        e = c["exact"]
        return (
            f"exact counterexample: n = {c['n']}, W = {c['W']}, θ = {c['theta']}, ξ = 0, x1 = {c['x1']}, "
            f"x2 = 0, (i, j) = ({c['i']}, {c['j']}): the written line is the row {e['as_written']}, "
            f"∂/∂θ_ij = {e['derivative']} (float64 autograd {c['float64']['autograd']:g})"
        )
    return "counterexample: the schedule above"


def _reference(r: dict) -> str:
    if r.get("definition"):
        return "A definition: nothing to check"
    cats = ", ".join(
        f"{c['category']}: {c['violating']} of {c['configurations']} violate"
        for c in r["categories"]
    )
    line = (
        f"By reference to the claim {r['claim']} (its checker at this seed): verdict {r['verdict']}"
    )
    if r["counterexample"]:
        c = r["counterexample"]
        line += (
            f"; its minimal counterexample W = {c['W']}, θ = {c['theta']}, A = {c['A']}, B = {c['B']} "
            f"satisfies eqs. 65–66 exactly, yet Wθ − θBA⁻¹ = {c['residual']}"
        )
    return line + f"; by category: {cats}"


def step(f: dict) -> str:
    line = f"eq. {f['eq']} — {f['status'].upper()}: {f['statement']}."
    if f["reference"]:
        line += " " + _reference(f["reference"]) + "."
    else:
        line += f" As written: {_proof(f['proof'])}; {_numbers(f['written'], f['tolerance'])}."
    if f["counterexample"] and f["status"] != "holds" and not f["reference"]:
        line += " " + _counterexample(f["counterexample"]) + "."
    if f["status"] != "holds" and f["correction"]:
        line += f" Correction: {f['correction']}"
        if f["corrected"]:
            line += f"; {_proof(f['corrected_proof'])}; {_numbers(f['corrected'], f['tolerance'])}"
        line += "."
    if f["note"]:
        line += f" Note: {f['note']}."
    return line


WORDING = {
    "step": step,
    "tally": lambda f: (
        f"{f['holds']} steps hold as written, {f['holds after correction']} hold after a "
        f"correction, {f['fails']} fail, {f['undecided']} undecided"
    ),
    "whole-network": lambda f: (
        "eqs. 28, 43, 53 on whole networks (theory.thm51.judged_point: symmetrised BYOL'/RAFT, tangential form, "
        f"linear and MLP encoders, random and edge points): judgements {f['judgements']}"
    ),
    "trajectories": lambda f: (
        f"eq. 56 at every k: {f['runs']} lockstep runs of {f['steps']} plain SGD steps, batch size 1, each side "
        f"with its own EMA teacher (τ from 0 to 0.999): {f['decisive']} decisive steps, largest deviation "
        f"{f['ratio']:.3g}× its one-ulp control (a separation needs > {f['factor']:g}×)"
    ),
    "teacher-needed": lambda f: (
        f"the unstated hypothesis ξ = ξ' matters: with RAFT's teacher output moved, eq. 43's relative gap is "
        f"{f['gap']:.3g} (≫ {f['tolerance']:g})"
    ),
    "stop-gradient": lambda f: (
        f"substituting ξ = θ before differentiating would change ∂L/∂θ by {f['change']:.3g} (relative): eqs. "
        "65–66 are right to substitute after (the stop-gradient)"
    ),
}
