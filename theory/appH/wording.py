"""Appendix H's facts in words."""


def _sizes(sizes) -> str:
    return "[" + ", ".join(f"({m}, {n})" for m, n in sizes) + "]"


def _dict(pairs) -> str:
    return str(dict((k, v) for k, v in pairs))


def joint_training(f: dict) -> str:
    line = (
        f"training (evidence beyond the claim): {f['runs']} runs, n = {f['n']}, θ Gaussian and W "
        f"PyTorch-initialised (solution spaces at init of dimensions {f['shared_at_init']}), "
        f"{f['steps']} steps of gradient descent (lr 0.05) on θ and W with ξ ← 0.99ξ + 0.01θ: "
        f"{f['converged']} reached a stationary point (relative gradient ≤ {f['tolerance']:g}), "
    )
    if f["converged"]:
        low, high = f["norms"]
        line += (
            f"{f['nonzero']} of them with θ ≠ 0 (‖θ‖_F from {low:.2f} to {high:.2f}; rank θ: "
            f"{_dict(f['ranks'])}), W sharing eigenvalues with C (dim{{θ : Wθ = θC}} at tolerance "
            f"1e-6: {_dict(f['dimensions'])}); "
        )
    line += f"{f['moving']} still moving"
    if f["moving"]:
        line += f" (relative gradient up to {f['moving_gradient']:.1e})"
    return line


def random_W_counterexample(f: dict) -> str:
    line = (
        f"counterexample: the first draw without a solution (n = {f['n']}, {f['init']} init, "
        f"{f['augmentation']} augmentation) has only θ = 0 in exact arithmetic on its float64 values"
    )
    s = f["simplest"]
    if s:
        e = s["exact"]
        line += (
            f"; rounded to {s['decimals']} decimal(s): W = {e['W']}, A = {e['A']}, B = {e['B']}, "
            f"det(I ⊗ W − Cᵀ ⊗ I) = {e['det(I ⊗ W − Cᵀ ⊗ I)']} ≠ 0"
        )
    return line


def derivation_identities(f: dict) -> str:
    marks = ", ".join(f"{k} {'✓' if v else '✗'}" for k, v in f["identities"].items())
    return (
        f"sympy, n = 2, symbolic θ, ξ, W and moments: {marks} (eq. 57's expectation = its closed "
        "form; ∂/∂θ = 2Wᵀ(WθA − ξB), ∂/∂W = 2(WθA − ξB)θᵀ, ∂/∂ξ = 2(ξA2 − WθBᵀ)); at ξ = θ, "
        "WθA = θB makes the first two vanish"
    )


WORDING = {
    # appH-sylvester
    "determinant-identity": lambda f: (
        f"sympy proof for symbolic W, C of sizes (m, n) in {_sizes(f['sizes'])}: det(I_n ⊗ W − "
        "Cᵀ ⊗ I_m) = ±Res(p_W, p_C) = ±Π(λ_i − μ_j), so K is singular iff an eigenvalue is shared"
    ),
    "exhaustive-iff": lambda f: (
        f"exhaustive, exact: all {f['cases']} pairs of 2×2 matrices with entries in {{−1, 0, 1}}: "
        f"{f['nontrivial']} have a non-zero solution, {f['mismatches']} disagree with 'share an "
        "eigenvalue'"
    ),
    "random-iff": lambda f: (
        f"random, exact: {f['cases']} pairs of 3×3 integer matrices (half similar up to one "
        f"changed entry): {f['nontrivial']} with a non-zero solution, {f['mismatches']} mismatches"
    ),
    "constructed-spectra": lambda f: (
        f"constructed spectra ({len(f['names'])}: {', '.join(f['names'])}), exact and float64 "
        f"(Kronecker and Schur methods cross-checked): float disagreements {f['float_disagree'] or 'none'}"
    ),
    "gaussian-pairs": lambda f: (
        f"random Gaussian pairs, n = 1…8: {f['draws']} draws, {f['nontrivial']} with a numerically "
        f"non-trivial solution; smallest σ_min(K)/(‖W‖ + ‖C‖) = {f['smallest']:.3g} (tolerance "
        f"{f['tolerance']:g})"
    ),
    "ratio-search": lambda f: (
        f"adversarial: L-BFGS-B maximising σ_min(K)/min|λ − μ| over (W, C) of sizes 1…3, "
        f"{f['evaluations']} evaluations: largest {f['worst']:.15g} (1 is attained by normal matrices)"
    ),
    "ratio-50-digits": lambda f: f"the largest ratio re-evaluated at 50 digits: {f['ratio']:.15g}",
    # appH-dimension
    "exhaustive-dimension": lambda f: (
        f"exhaustive, exact: {f['structures']} structures (every pair of Jordan partitions of "
        "sizes 1…4 at a shared real eigenvalue, of sizes 1…2 at a shared complex pair, and "
        f"{f['constructed']} constructed spectra incl. W = I, C = I, singular, nilpotent, "
        "rectangular θ), each as S J S⁻¹ with a random unimodular S: exact nullity of K vs. the "
        f"formula, largest difference {f['worst']}"
    ),
    "random-jordan": lambda f: (
        f"random, exact: {f['cases']} random Jordan data (eigenvalues in {{0, ±1, 2, 1 ± i, ±2i}}, "
        "blocks of sizes 1…3), largest difference included above"
    ),
    "jordan-agrees": lambda f: (
        "the formula's Jordan blocks, read from the construction, agreed in every case with those "
        "computed exactly from the matrices (ranks of f(M)^k over Q)"
    ),
    "float-dimension": lambda f: (
        f"float64 (both methods, cross-checked) found a different dimension in {f['disagree']} "
        f"case(s) {f['examples']}, ambiguous in {f['ambiguous']}"
    ),
    "integer-dimension": lambda f: (
        f"random, exact: {f['cases']} pairs of 3×3 matrices with entries in {{−1, 0, 1}} (half "
        "similar to each other), Jordan blocks computed exactly"
    ),
    "large-schur": lambda f: (
        f"float64 Schur method, S J S⁻¹ with cond(S) up to e³, n up to {f['largest']}: {f['cases']} "
        f"constructed pairs, dimension ≠ formula in {f['disagree']} {f['examples']}"
    ),
    "dimension-pairs": lambda f: (
        f"exact dimension against the formula, {len(f['pairs'])} cases (the report's figure): "
        f"{sum(a != b for a, b in f['pairs'])} off the diagonal, dimensions from "
        f"{min(b for _, b in f['pairs'])} to {max(b for _, b in f['pairs'])}"
    ),
    # appH-random-W
    "random-draws": lambda f: (
        f"random: {f['draws']} draws (n in {f['dims']}; inits {tuple(f['inits'])}; augmentations "
        f"{tuple(f['augmentations'])}; 100·n samples each): {f['nontrivial']} with a numerically "
        f"non-trivial solution (σ_min of the Sylvester operator ≤ {f['tolerance']:g}·(‖W‖₂ + ‖C‖₂)); "
        f"estimated probability {f['nontrivial']}/{f['draws']}"
    ),
    "distance-per-dim": lambda f: (
        "smallest relative distance from W to sharing an eigenvalue with C, per n: "
        + ", ".join(f"n = {n}: {low:.2g} ({count} draws)" for n, low, count in f["per_dim"])
    ),
    "measure-zero": lambda f: (
        "why: {W : W and C share an eigenvalue} is the zero set of Res(p_W, p_C) = det(I ⊗ W − "
        "Cᵀ ⊗ I) (appH-sylvester), a non-zero polynomial in W's entries, hence of Lebesgue "
        "measure 0: a W drawn from any density, independently of C, shares none with probability 1"
    ),
    "closest-draws": lambda f: (
        f"search: {f['draws']} further Gaussian draws against fixed data C (n = 2…8); the 3 with "
        f"the smallest eigenvalue gap per n have solution spaces of dimension {f['dimensions']}, "
        f"relative distances to sharing down to {f['distance']:.2g}"
    ),
    "edge-predictors": lambda f: (
        "edge cases (not random, n = 4): "
        + "; ".join(f"{name}: dimension {k}" for name, k in f["edges"])
    ),
    "unconfirmed-large": lambda f: (
        "draws without a solution only at n > 3, where no exact confirmation is attempted"
    ),
    "unconfirmed-smallest": lambda f: (
        "the float64 verdict of the smallest draw was not confirmed exactly"
    ),
    "random-W-counterexample": random_W_counterexample,
    # appH-stationary
    "derivation-identities": derivation_identities,
    "exact-stationary": lambda f: (
        f"exact: {f['instances']} rational instances, {f['vectors']} exact basis vectors: WθA − θB "
        f"= 0 " + ("fails for at least one" if f["violated"] else "exactly for all")
    ),
    "random-solutions": lambda f: (
        f"random: {f['points']} solutions θ (basis vectors and the worst unit θ of each space) for "
        "W sharing 1–2 of the eigenvalues of C = BA⁻¹ from sampled views (noise, mask, asymmetric "
        "augmentations; n = 2…8)"
    ),
    "edge-solutions": lambda f: (
        f"edge cases: {f['points']} solutions for W = C, W defective at a shared eigenvalue, W = I "
        "with B = A (C = I: all n² matrices θ solve), singular B with singular W"
    ),
    "worst-in-span": lambda f: (
        f"the worst unit θ of each solution space (top singular vector of θ ↦ WθA − θB on the "
        f"span): {f['spaces']} spaces; largest relative gradient {f['worst']:.3g} "
        f"({f['where'] or '-'}); cond(A) ≤ {f['max_cond']:.3g}"
    ),
    "target-gradient": lambda f: (
        f"the target gets no gradient: had ξ been differentiated too, ∂L/∂ξ = 2(ξA2 − WθBᵀ) would "
        f"be non-zero (relative > 1e-6) at {f['nonzero']} of these {f['points']} points"
    ),
    "condition-beyond": lambda f: (
        f"cond(A) exceeded {f['limit']:g}: the tolerance's justification does not cover it"
    ),
    "float-only-violation": lambda f: (
        "a float64 violation without an exact one: the exact instances are all stationary"
    ),
    # appH-derivation
    "derivation-steps": lambda f: (
        "sympy, n = 2: eqs. 62–63 are the expectations of eqs. 58–60 and give eqs. 65–66 at ξ = θ: "
        + ("✓" if f["proven"] else "✗")
        + "; the step to eq. 67 cancels Wᵀ on the left of eq. 65 and θᵀ on the right of eq. 66, "
        "which needs W invertible or θ of full row rank"
    ),
    "exhaustive-derivation": lambda f: (
        f"exhaustive, exact, n = {f['n']}: {f['configurations']} tuples (W, θ ≠ 0, B) with entries "
        f"in {f['values']} and A in {f['As']} satisfy eqs. 65–66; {f['violating']} of them violate "
        "eq. 67"
    ),
    "random-derivation": lambda f: (
        f"random, float64: {f['configurations']} configurations (n = 2…4, W of every rank 0…n, θ of "
        "every rank 1…n, A from sampled views, B random on the affine set where eqs. 65–66 hold): "
        f"{f['violating']} violate eq. 67 (relative residual > {f['tolerance']:g})"
    ),
    "derivation-category": lambda f: (
        f"of the configurations with {f['category']}: {f['configurations']}, violating eq. 67: "
        f"{f['violating']}"
    ),
    "why-derivation": lambda f: (
        "why: WᵀR = 0 puts R's columns in ker Wᵀ, so R = −PθB (P the projector onto ker Wᵀ), and "
        "Rθᵀ = 0 gives tr(PθB(Pθ)ᵀ) = 0; with W invertible P = 0, with θ of full rank θᵀ cancels, "
        "and with B + Bᵀ ≻ 0 the trace forces Pθ = 0: each of the three suffices"
    ),
    "float-violations-only": lambda f: "float64 violations only",
    "derivation-counterexample": lambda f: (
        f"minimal counterexample (n = {f['n']}, fewest non-zero entries), confirmed in sympy: W = "
        f"{f['W']}, θ = {f['theta']}, A = {f['A']}, B = {f['B']}: eqs. 65–66 are exactly 0 (and "
        "autograd gradients of eq. 57 at ξ = θ vanish: a stationary point) but Wθ − θBA⁻¹ = "
        f"{f['residual']}"
    ),
    # appH-joint
    "family-identity": lambda f: (
        "sympy proof in the algebra of n×n matrices (every n): θ = S, W = SBA⁻¹S⁻¹ give WθA − θB "
        + ("= 0 identically" if f["proven"] else "≠ 0 (proof failed)")
        + ", hence eqs. 65–66 (and 67) for every invertible S: an n²-dimensional family "
        "parametrised injectively by θ = S ∈ GL_n, so infinite, and θ ≠ 0 on it"
    ),
    "family-members": lambda f: (
        f"numerically: {f['points']} members of the family (θ = I, 10⁻³I, 10³I and random S with "
        f"cond(S) = 1, e^1.5, e^3) on {f['random']} sampled (A, B) (noise, mask, asymmetric views, "
        f"n = 1…8) and {f['edge']} edge cases (B = 0, B singular, B = A): largest relative gradient "
        f"{f['worst']:.3g} ({f['where']})"
    ),
    "tangent-nullity": lambda f: (
        "nullity of the Jacobian of eqs. 65–66 at (θ, W) = (I, C): "
        + ", ".join(f"n = {n}: {k} (≥ n² = {n * n})" for n, k in f["nullities"])
    ),
    "joint-training": joint_training,
}
