"""The steps of Appendix G (eqs. 28–56) as data: each equation's precise statement, the
correction it needs where it is wrong as written, and which checks decide it.

Reading (the hypotheses every statement below shares, from Appendix G's setting and the
paper's Section 2.1): BYOL' at (θ', W') and RAFT at (θ, W) with θ' = θ, W' = −W (the
initialisation, or the induction hypothesis at step k); one teacher output z̄2 for both (eq. 17
writes one); the same views x1, x2; batch size 1, α = β = 1; representations l2-normalised,
z_i = W f_θ(x_i)/‖W f_θ(x_i)‖ (condition (i), "automatically l2-normalised"), z̄2 =
f_ξ(x2)/‖f_ξ(x2)‖; v_∥ and v_⊥ as eq. 34 defines them; and the tangential gradient
[∂L/∂p]_∥ = Σ_i ⟨(∂L/∂z_i)_∥ at z_i, ∂z_i/∂p⟩ (each z-gradient projected at its own point),
which equals autograd's ∂L/∂p through the l2-normalisation.
"""

from dataclasses import dataclass

from theory.steps.status import Step

# Every compared quantity is a sum of at most a few hundred products of float64 numbers, each
# bounded by the scale the gap is divided by (the magnitudes of the terms, before any
# cancellation): round-off stays below 500·2⁻⁵³ ≈ 6e-14 of it. 1e-12 leaves a margin of 15;
# the wrong steps are off by 1e-4 to 0.77 at random and adversarial points.
TOLERANCE = 1e-12


@dataclass(frozen=True)
class Plan:
    """A step and its checks: ``network`` the residuals of ``theory.steps.network`` (and
    ``updates``) for the written form, ``lemmas`` the vector statements of
    ``theory.steps.sphere`` searched adversarially, ``proofs`` the sympy results; ``fix_*``
    the same for the corrected form; ``whole`` the gradient gaps of
    ``theory.thm51.judged_point`` (whole networks) it also uses; ``exact`` whether
    ``theory.steps.exact`` builds its counterexample."""

    step: Step
    network: tuple[str, ...] = ()
    lemmas: tuple[str, ...] = ()
    proofs: tuple[str, ...] = ()
    fix_network: tuple[str, ...] = ()
    fix_lemmas: tuple[str, ...] = ()
    fix_proofs: tuple[str, ...] = ()
    whole: tuple[str, ...] = ()
    exact: bool = False
    trajectories: bool = False


WRONG_POINT = (
    "the tangential part of (z'1 − z'2) is taken at z'2 and contracted with ∂z'1/∂p too, whose "
    "tangent space is at z'1"
)
OWN_POINT = (
    "[∂L_align/∂p]_∥ = 2(z'1 − z'2)_∥(at z'1)·∂z'1/∂p − 2(z'1 − z'2)_∥(at z'2)·∂z'2/∂p: each "
    "term projected at its own point (for l2-normalised z this is eq. 29 itself: the tangential "
    "component changes nothing)"
)
RAW_FACTOR = (
    "W'·∂f_θ'(x2)/∂θ' is ∂(W'f_θ'(x2))/∂θ', the derivative of the raw vector; the point on the "
    "sphere is z'2 = W'f_θ'(x2)/‖W'f_θ'(x2)‖, whose derivative is (I − z'2z'2ᵀ)W'∂f/∂θ'/‖W'f_θ'(x2)‖"
)
RAW_NOTE = (
    "exact where ‖W'f_θ'(x2)‖ = 1, i.e. when z'2 = W'f_θ'(x2) is read literally (eq. 19) and lies "
    "on the sphere at that point; one SGD step moves it off"
)


def _align(eq: str, side: str, p: str, network: str) -> Plan:
    primed = "'" if side == "BYOL'" else ""
    return Plan(
        Step(
            eq,
            f"{side}: [∂L_align/∂{p}{primed}_ij]_∥ = 2(z{primed}1 − z{primed}2)_∥·(∂z{primed}1/∂{p}{primed}_ij − "
            f"∂z{primed}2/∂{p}{primed}_ij), (z{primed}1 − z{primed}2)_∥ taken at z{primed}2 as the text says",
            correction=OWN_POINT.replace("'", primed).replace("∂p", f"∂{p}{primed}_ij"),
            note=WRONG_POINT.replace("'", primed),
        ),
        network=(network,),
        lemmas=("wrong-point",),
        proofs=("wrong-point",),
        fix_network=(network + "*",),
        fix_lemmas=("own-point",),
        fix_proofs=("own-point", "chain-rule"),
        exact=True,
    )


def _cross_theta(eq: str, side: str, network: str) -> Plan:
    primed, sign = ("'", "−2") if side == "BYOL'" else ("", "2")
    return Plan(
        Step(
            eq,
            f"{side}: [∂L_cross/∂θ{primed}_ij]_∥ = {sign}(z̄2 − z{primed}2)_∥·W{primed}·∂f_θ{primed}(x2)/∂θ{primed}_ij",
            correction=f"{sign}(z̄2 − z{primed}2)_∥·∂z{primed}2/∂θ{primed}_ij, i.e. the written form divided by "
            f"‖W{primed}f_θ{primed}(x2)‖",
            note=RAW_FACTOR.replace("'", primed) + "; " + RAW_NOTE.replace("'", primed),
        ),
        network=(network,),
        proofs=("raw-jacobian-factor",),
        fix_network=(network + "*",),
        fix_lemmas=("own-point",),
        fix_proofs=("own-point", "unit-jacobian"),
        exact=True,
    )


def _plan(eq, statement, network=(), lemmas=(), proofs=(), note="", **more) -> Plan:
    return Plan(
        Step(eq, statement, note=note), tuple(network), tuple(lemmas), tuple(proofs), **more
    )


PLANS = (
    _plan(
        "28",
        "[∂L_BYOL'/∂θ']_∥ = [∂L_RAFT/∂θ]_∥ and [∂L_BYOL'/∂W']_∥ = −[∂L_RAFT/∂W]_∥ (proven at eqs. 43 "
        "and 53)",
        ["28"],
        ["mirror", "jacobian-even", "eq41"],
        ["odd-derivative", "unit-jacobian"],
        whole=("theta", "predictor"),
    ),
    _plan(
        "29",
        "BYOL': ∂L_align/∂θ'_ij = 2[(z'1 − z'2)_∥ + (z'1 − z'2)_⊥]·(∂z'1/∂θ'_ij − ∂z'2/∂θ'_ij): the chain "
        "rule",
        ["29"],
        ["decomposition"],
        ["chain-rule"],
    ),
    _plan("30", "RAFT: the same for L_align^RAFT", ["30"], ["decomposition"], ["chain-rule"]),
    _align("31", "BYOL'", "θ", "31"),
    _align("32", "RAFT", "θ", "32"),
    _plan(
        "33",
        "(z'1 − z'2) = (z'1 − z'2)_∥ + (z'1 − z'2)_⊥, decomposed at z'2 (and at z2 for RAFT)",
        ["33"],
        ["decomposition"],
        ["decomposition"],
    ),
    _plan(
        "34",
        "for a unit z and any v: v_⊥ = ⟨v, z⟩z is normal and v_∥ = v − ⟨v, z⟩z tangent, ⟨v_∥, z⟩ = 0",
        ["34"],
        ["orthogonal"],
        ["orthogonal"],
    ),
    _plan(
        "35",
        "(z'1 − z'2) − ⟨z'1 − z'2, z'2⟩z'2 = z'1 − ⟨z'2, z'1⟩z'2 (and for RAFT), z'2 a unit vector",
        ["35"],
        ["eq35"],
        ["eq35"],
        note="needs ‖z'2‖ = 1: off the sphere the two sides differ by (‖z'2‖² − 1)z'2",
    ),
    _plan(
        "36",
        "z'1 = −z1, z'2 = −z2 (the initialisation), hence (z'1 − z'2)_∥ at z'2 = −(z1 − z2)_∥ at z2",
        ["36"],
        ["mirror"],
        ["mirror"],
    ),
    _plan(
        "37",
        "(∂z'1/∂θ'_ij − ∂z'2/∂θ'_ij)_∥ = −(∂z1/∂θ_ij − ∂z2/∂θ_ij)_∥ (projected at z'2 and z2)",
        ["37"],
        ["jacobian-even"],
        ["odd-derivative"],
    ),
    _plan(
        "38",
        "[∂L_align^BYOL'/∂θ'_ij]_∥ = [∂L_align^RAFT/∂θ_ij]_∥ (the true tangential gradients)",
        ["38"],
        ["mirror", "jacobian-even"],
        ["chain-rule", "odd-derivative"],
        note="the paper derives it from eqs. 31–32, which are wrong in the same way on both sides",
    ),
    _cross_theta("39", "BYOL'", "39"),
    _cross_theta("40", "RAFT", "40"),
    _plan(
        "41",
        "(z̄2 − z'2)_∥ at z'2 = (z̄2 − z2)_∥ at z2, for z'2 = −z2 unit (\"similar to eq. 35\")",
        ["41"],
        ["eq41"],
        ["eq41"],
        note="needs ‖z2‖ = 1: off the sphere the two sides differ by 2(1 − ‖z2‖²)z2",
    ),
    _plan(
        "42",
        "[∂L_cross^BYOL'/∂θ'_ij]_∥ = [∂L_cross^RAFT/∂θ_ij]_∥",
        ["42"],
        ["eq41", "jacobian-even"],
        ["eq41", "odd-derivative"],
        note="the paper derives it from eqs. 39–41; the factor eqs. 39–40 miss "
        "is the same on both sides and cancels",
    ),
    _plan(
        "43",
        "[∂L_BYOL'/∂θ']_∥ = [∂L_RAFT/∂θ]_∥ (eq. 28, first half)",
        ["43"],
        ["mirror", "eq41"],
        ["chain-rule", "odd-derivative"],
        whole=("theta",),
    ),
    _align("44", "BYOL'", "W", "44"),
    _align("45", "RAFT", "W", "45"),
    _plan("46", "(z'1 − z'2)_∥ = −(z1 − z2)_∥ (as eq. 36)", ["46"], ["mirror"], ["mirror"]),
    _plan(
        "47",
        "∂z'1/∂W'_ij = ∂z1/∂W_ij at W' = −W: with the normalisation (z = Wf/‖Wf‖) and without it "
        "(z = Wf)",
        ["47", "47 raw"],
        ["jacobian-even"],
        ["unit-jacobian", "raw-derivative"],
    ),
    _plan(
        "48",
        "∂z'2/∂W'_ij = ∂z2/∂W_ij, with and without the normalisation",
        ["48", "48 raw"],
        ["jacobian-even"],
        ["unit-jacobian", "raw-derivative"],
    ),
    _plan(
        "49",
        "[∂L_align^BYOL'/∂W'_ij]_∥ = −[∂L_align^RAFT/∂W_ij]_∥",
        ["49"],
        ["mirror", "jacobian-even"],
        ["chain-rule", "unit-jacobian"],
    ),
    _plan(
        "50",
        "BYOL': [∂L_cross/∂W'_ij]_∥ = −2(z̄2 − z'2)_∥·∂z'2/∂W'_ij",
        ["50"],
        ["own-point"],
        ["own-point", "chain-rule"],
    ),
    _plan(
        "51",
        "RAFT: [∂L_cross/∂W_ij]_∥ = 2(z̄2 − z2)_∥·∂z2/∂W_ij",
        ["51"],
        ["own-point"],
        ["own-point", "chain-rule"],
    ),
    _plan(
        "52",
        "[∂L_cross^BYOL'/∂W'_ij]_∥ = −[∂L_cross^RAFT/∂W_ij]_∥",
        ["52"],
        ["eq41", "jacobian-even"],
        ["eq41", "unit-jacobian"],
    ),
    _plan(
        "53",
        "[∂L_BYOL'/∂W']_∥ = −[∂L_RAFT/∂W]_∥ (eq. 28, second half)",
        ["53"],
        ["mirror", "eq41"],
        ["chain-rule", "unit-jacobian"],
        whole=("predictor",),
    ),
    _plan(
        "54",
        "BYOL': θ'(1) = θ'(0) − η[∂L_BYOL'/∂θ']_∥, W'(1) = W'(0) − η[∂L_BYOL'/∂W']_∥ (one plain SGD "
        "step, as torch.optim.SGD takes it)",
        ["54"],
    ),
    _plan("55", "RAFT: the same step from (θ(0), W(0)) = (θ'(0), −W'(0))", ["55"]),
    _plan(
        "56",
        "θ(1) = θ'(1), W(1) = −W'(1), and furthermore θ(k) = θ'(k), W(k) = −W'(k) at every k, each "
        "side with its own EMA teacher (eq. 5), so that H: RAFT(θ, W) ↦ BYOL'(θ, −W) is one-to-one",
        ["56"],
        proofs=["sgd-odd"],
        trajectories=True,
        note="the proof never mentions the teacher: the step from k to k + 1 needs ξ(k) = ξ'(k) too (eqs. "
        "41–42 use one z̄2), which the EMA keeps once ξ(0) = ξ'(0), since it averages equal θs; it "
        "needs the same batches and an update odd in (W, ∂L/∂W), as plain SGD (eqs. 54–55) is",
    ),
)
