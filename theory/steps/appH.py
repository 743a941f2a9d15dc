"""The steps of Appendix H's derivation (eqs. 58–68) as data: each line's precise statement,
the correction it needs where it is wrong as written, and which residuals and sympy results
decide it (``check_h`` runs them).

Reading: the linear model f_θ = θ, f_ξ = ξ, q_w = W, all n×n (the paper declares θ, ξ n×n and
W m×m; Wθx1 and ξ_{k,:}x2 for k ≤ m force m = n); no l2-normalisation (eq. 57); ξ the target,
not differentiated (the stop-gradient); expectations over a distribution of (x1, x2) with
finite second moments (an empirical distribution in the numbers), A = E[x1x1ᵀ], B = E[x2x1ᵀ].
"""

from functools import cache, partial

from theory.appH.linear_model import derivation_identities
from theory.steps import algebra
from theory.steps.status import Step

# As Appendix G's: each gap is relative to the magnitudes of the terms it compares, sums of a
# few products of float64 numbers, so round-off stays far below 1e-12 of it.
TOLERANCE = 1e-12

LINE_KEYS = (
    "58.1",
    "58.2",
    "58.3",
    "58.3*",
    "58.3 entry i",
    "58.4",
    "59.1",
    "59.2",
    "59.3",
    "59.4",
    "59.5",
    "60",
)


@cache
def _identities() -> dict[str, bool]:
    return derivation_identities(2)


def _identity(key: str) -> dict:
    """One of ``theory.appH.linear_model.derivation_identities`` (sympy, n = 2), cited."""
    return {"identity": _identities()[key], "method": "derivation_identities", "dims": [2]}


PROOFS = {f"lines:{k}": partial(lambda k: algebra.line_proofs()[k], k) for k in LINE_KEYS}
PROOFS |= {k: partial(_identity, k) for k in ("eq62", "eq63", "eq65-66", "eq57-closed-form")}
PROOFS |= {
    "ema-fixed-point": algebra.ema_fixed_point_proof,
    "ema-limit": algebra.ema_limit_proof,
    "kronecker": algebra.kronecker_proof,
}

LINE3 = "Σ_k 2T_k W_{k,:}(x1)_j"


def _step(eq, statement, keys=(), proofs=(), correction="", note="", fix_keys=(), fix_proofs=()):
    return dict(
        step=Step(eq, statement, correction, note),
        keys=tuple(keys),
        proofs=tuple(proofs),
        fix_keys=tuple(fix_keys),
        fix_proofs=tuple(fix_proofs),
    )


PLANS = (
    _step(
        "58, line 1",
        "∂‖Wθx1 − ξx2‖²/∂θ_ij = Σ_k ∂[W_{k,:}(θx1) − ξ_{k,:}x2]²/∂θ_ij",
        ["58.1"],
        ["lines:58.1"],
    ),
    _step(
        "58, line 2",
        "= Σ_k 2[W_{k,:}(θx1) − ξ_{k,:}x2]·∂[W_{k,:}(θx1) − ξ_{k,:}x2]/∂θ_ij (chain rule)",
        ["58.2"],
        ["lines:58.2"],
    ),
    _step(
        "58, line 3",
        f"= {LINE3}, T_k = W_{{k,:}}(θx1) − ξ_{{k,:}}x2",
        ["58.3"],
        ["lines:58.3"],
        correction="Σ_k 2T_k W_{k,i}(x1)_j: W_{k,:} is a row, so the written line is a vector where the "
        "scalar ∂/∂θ_ij stands; its i-th entry is the derivative",
        fix_keys=["58.3*"],
        fix_proofs=["lines:58.3*", "lines:58.3 entry i"],
        note="harmless for n = 1, where W_{k,:} = W_{k,1}",
    ),
    _step("58, line 4", "= 2[(WᵀT)x1ᵀ]_ij", ["58.4"], ["lines:58.4"]),
    _step(
        "59, line 1",
        "∂‖Wθx1 − ξx2‖²/∂W_ij = Σ_k ∂[W_{k,:}(θx1) − ξ_{k,:}x2]²/∂W_ij",
        ["59.1"],
        ["lines:59.1"],
    ),
    _step(
        "59, line 2",
        "= Σ_k 2[W_{k,:}(θx1) − ξ_{k,:}x2]·∂[·]/∂W_ij (chain rule)",
        ["59.2"],
        ["lines:59.2"],
    ),
    _step("59, line 3", "= Σ_k 2T_k(θx1)_j 1{k = i}", ["59.3"], ["lines:59.3"]),
    _step("59, line 4", "= 2T_i θ_{j,:}x1", ["59.4"], ["lines:59.4"]),
    _step("59, line 5", "= 2[T(θx1)ᵀ]_ij", ["59.5"], ["lines:59.5"]),
    _step("60", "∂‖Wθx1 − ξx2‖²/∂θ = 2(WᵀT)x1ᵀ and ∂/∂W = 2T(θx1)ᵀ", ["60"], ["lines:60"]),
    _step(
        "61",
        "∂L_BYOL/∂θ = 0 and ∂L_BYOL/∂W = 0 define the stationary points (in θ and W; ξ is not a "
        "variable)",
    ),
    _step(
        "62",
        "∂E[‖Wθx1 − ξx2‖²]/∂θ = E[∂‖Wθx1 − ξx2‖²/∂θ] (E and ∂ exchanged)",
        ["62"],
        ["eq62"],
        note="needs E‖x1‖², E‖x2‖² < ∞ (otherwise L_BYOL is infinite); the closed form of both sides is "
        "2Wᵀ(WθA − ξB)",
    ),
    _step(
        "63",
        "∂E[‖Wθx1 − ξx2‖²]/∂W = E[∂‖Wθx1 − ξx2‖²/∂W]",
        ["63"],
        ["eq63"],
        note="as eq. 62; 2(WθA − ξB)θᵀ",
    ),
    _step(
        "64, fixed point",
        "ξ(k+1) = τ_kξ(k) + (1 − τ_k)θ(k) and ξ(k+1) = ξ(k) give θ(k) = ξ(k)",
        ["64"],
        ["ema-fixed-point"],
        note="needs τ_k ≠ 1: with τ_k = 1 the teacher never moves and every θ is a fixed point",
    ),
    _step(
        "64, as a limit",
        '"when the weight of target ξ converge": ξ(k) converging gives θ(k) − ξ(k) → 0',
        ["64 limit"],
        ["ema-limit"],
        correction="true when τ_k ≤ τ̄ < 1 for every k (a constant τ, as the paper's experiments use): "
        "|θ(k) − ξ(k)| = |ξ(k+1) − ξ(k)|/(1 − τ_k) ≤ |ξ(k+1) − ξ(k)|/(1 − τ̄) → 0",
        fix_keys=["64"],
        fix_proofs=["ema-fixed-point"],
        note="Algorithm 1 allows a schedule {τ_k}; BYOL's cosine schedule takes τ_k to 1",
    ),
    _step(
        "65",
        "with ξ = θ substituted after differentiating: E[Wᵀ(Wθx1 − θx2)x1ᵀ] = 0 (eq. 62)",
        ["65"],
        ["eq65-66"],
        note="substituting before differentiating (no stop-gradient) gives another gradient",
    ),
    _step("66", "E[(Wθx1 − θx2)x1ᵀθᵀ] = 0 (eq. 63 at ξ = θ)", ["66"], ["eq65-66"]),
    _step(
        "67, line 1",
        "eq. 65 ⇔ Wᵀ(WθA) = WᵀθB, A = E[x1x1ᵀ], B = E[x2x1ᵀ]",
        ["67.1"],
        ["eq57-closed-form"],
    ),
    _step("67, line 2", "eq. 66 ⇔ WθAθᵀ = θBθᵀ", ["67.2"], ["eq57-closed-form"]),
    _step(
        "67, implication",
        "eqs. 65–66 ⇒ Wθ − θBA⁻¹ = 0 (A invertible)",
        correction="true when W is invertible, θ has full rank, or B + Bᵀ ≻ 0 (appH-derivation's categories)",
    ),
    _step(
        "68",
        "(I_m ⊗ W − (BA⁻¹)ᵀ ⊗ I_n) vec θ = vec 0 ⇔ Wθ = θBA⁻¹ (vec stacking columns)",
        ["68"],
        ["kronecker"],
        note="for a rectangular θ (m×n) the identity factors must be swapped, I_n ⊗ W − "
        "(BA⁻¹)ᵀ ⊗ I_m (the operator appH-sylvester checks); the written one then has blocks of different "
        "sizes",
    ),
)
