"""Which Coq theorem certifies which claim (``TABLE``), how its statement relates to the form
the checker decides (each certificate's ``gap``), and why the other claims have none
(``OUT_OF_REACH``): data, read by ``theory.certificates``."""

from dataclasses import dataclass
from pathlib import Path

ROOT = "RaftVerify"

SPACE = (
    "in every real inner-product space (every R^n, n ≥ 0, is one: Corollary thm41_in_Rn "
    "and the instance Rn), for all vectors, unit or not, and all real α, β > 0"
)
TRAJECTORY = (
    "an abstract model: parameters of any type with an involution M (M negates the "
    "predictor's output layer), any gradient operator that obeys the chain rule for M and "
    "ignores additive constants (as the derivative does; that instance is not built in Coq), "
    "a teacher update blind to M, output maps with rep2(M y) = −rep1(y) (shown for the "
    "l2-normalised linear predictor in R^n: linear_predictor_outputs_negated), the loss a "
    "mean over each step's batch, exact real arithmetic. The checker runs real networks "
    "with autograd in float64 and decides by round-off controls; the proof covers any "
    "encoder and any number of steps but not rounding"
)


@dataclass(frozen=True)
class Certificate:
    claim: str
    file: str
    theorem: str
    gap: str
    refutes: bool = False
    also: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return f"{ROOT}.{Path(self.file).stem}"

    def qualified(self, theorem: str | None = None) -> str:
        return f"{self.module}.{theorem or self.theorem}"


TABLE = (
    Certificate(
        "byol-np-fixed-point",
        "FixedPoint.v",
        "byol_np_fixed_point_descends_half_alignment",
        "Proved for the plain form, for any output maps of the parameters (any encoder, "
        "BatchNorm on batch statistics included) with the teacher's outputs those maps at the "
        "current point held constant, and derivatives abstract: any operator that is additive, "
        "homogeneous, differentiates a squared distance as 2⟨u − v, Du − Dv⟩ and gives a "
        "constant map derivative 0 (as the derivative does; that instance is not built in "
        "Coq). The tangential form and the step-for-step SGD consequence are not formalised; "
        "the checker compares autograd gradients and trajectories in float64.",
    ),
    Certificate(
        "thm4.1",
        "Thm41.v",
        "thm41_byol_bounded_by_byol_prime",
        "Proved " + SPACE + "; the checker decides the l2-normalised per-sample form, which is "
        "thm41_normalised (each distance 2 − 2⟨p, t⟩/(‖p‖‖t‖), non-zero vectors). The proof "
        "is the checker's sum of squares: the slack equals ‖α(p1 − p2) − β(p2 − t2)‖²/(αβ).",
        also=("thm41_slack_is_a_square", "thm41_in_Rn", "thm41_normalised"),
    ),
    Certificate(
        "thm4.1-sym",
        "Thm41.v",
        "thm41_sym_fails",
        refutes=True,
        gap="Refutes the per-sample bound in R² with the checker's exact counterexample "
        "(α = β = 1, p1 = t1 = (0, 1), p2 = (3/5, 4/5), t2 = (1, 0): L_BYOL = 2 > 8/5). The "
        "repaired constant 1/α + 2/β is proved " + SPACE + ".",
        also=(
            "thm41_sym_counterexample_values",
            "thm41_sym_holds_with_constant_1_over_alpha_plus_2_over_beta",
            "thm41_sym_ratio_at_most_2a_plus_b_over_a_plus_b",
        ),
    ),
    Certificate(
        "thm4.1-symsym",
        "Thm41.v",
        "thm41_symsym_symmetric_byol_bounded",
        "Proved " + SPACE + ", as the sum of two instances of thm4.1 with the views exchanged.",
    ),
    Certificate(
        "thm4.1-sym-exchangeable",
        "Thm41.v",
        "thm41_sym_exchangeable_expectation_bound",
        "Proved for any expectation given as a functional on functions of the sample that is "
        "additive, homogeneous, positive, extensional and invariant under swapping the views; "
        "no measure theory is needed. The checker estimates expectations from samples.",
    ),
    Certificate(
        "raft-no-collapse",
        "Collapse.v",
        "raft_no_collapse_fails",
        refutes=True,
        gap="Refutes the claim in every real inner-product space with a unit vector e: the "
        "collapsed configuration f(x) = e, predictor −I, teacher outputs e attains −4β, and "
        "L_RAFT ≥ −4β on the unit sphere everywhere (raft_bounded_below_by_minus_4beta). The "
        "checker's counterexample is this configuration in D = 1 with α = β = 1.",
        also=(
            "raft_bounded_below_by_minus_4beta",
            "raft_collapsed_configuration_attains_minus_4beta",
            "raft_at_fixed_point_without_predictor",
        ),
    ),
    Certificate(
        "tangent-remark",
        "Tangent.v",
        "tangent_remark_gradient_is_tangential_component",
        "Each gradient is stated in closed form and certified by the exact expansion "
        "f(z + h) = f(z) + ⟨∇f, h⟩ + c‖h‖² (tangential_form_expansion, plain_form_expansion), "
        "λ held constant (the stop-gradient); vector equality is equality against every test "
        "vector. The checker compares autograd gradients in float64.",
        also=("tangential_form_expansion", "plain_form_expansion"),
    ),
    Certificate(
        "tangent-noop",
        "Tangent.v",
        "tangent_noop_same_tangent_components",
        "Proves that the two cross-model gradients agree on every tangent direction at a unit "
        "vector; that the derivative of p ↦ p/‖p‖ is (I − p̂p̂ᵀ)/‖p‖, which makes every "
        "parameter gradient (and so every trajectory) equal, is the chain rule, not "
        "formalised. The checker trains both variants in float64.",
        also=("tangential_is_idempotent",),
    ),
    Certificate(
        "thm5.1",
        "Thm51.v",
        "thm51_tangential_trajectories_correspond",
        "Proved in " + TRAJECTORY + ". The per-sample identity L_RAFT(−p, −λ) = L_BYOL'(p, λ) "
        "is raft_tan_mirrors_byol_prime_tan; the gradients' is gradients_mirror.",
        also=(
            "raft_tan_mirrors_byol_prime_tan",
            "gradients_mirror",
            "trajectories_mirror",
            "linear_predictor_outputs_negated",
        ),
    ),
    Certificate(
        "thm5.1-adam",
        "Thm51.v",
        "adam_odd",
        "thm51_tangential_trajectories_correspond holds for every optimiser whose step is odd "
        "in the gradient with a mirrored state; adam_odd (Adam with L2 weight decay and "
        "AdamW's decoupled decay, bias-corrected, state (m, v, n) ↦ (Mm, v, n)) and "
        "sgd_momentum_weight_decay_odd show that the checker's optimisers are, in coordinates "
        "I → R with M a sign flip per coordinate. Otherwise as thm5.1: " + TRAJECTORY + ".",
        also=("sgd_momentum_weight_decay_odd", "thm51_tangential_trajectories_correspond"),
    ),
    Certificate(
        "thm5.1-no-tangent",
        "Thm51.v",
        "thm51_plain_on_sphere_trajectories_correspond",
        "On the unit sphere the plain objectives differ by the constant −4β "
        "(raft_plain_mirrors_byol_prime_plain), which no gradient sees. Proved in "
        + TRAJECTORY
        + "; the outputs are assumed unit vectors (the l2-normalisation).",
        also=("raft_plain_mirrors_byol_prime_plain",),
    ),
    Certificate(
        "thm5.1-linear-only",
        "Thm51.v",
        "thm51_linear_only_fails",
        refutes=True,
        gap="Refutes the claim with a simpler exact case than the checker's (which is a "
        "float64 run found by search): a one-dimensional linear encoder and predictor, one "
        "pair of views, α = β = 1, θ0 = w0 = 1 against w0 = −1; after one SGD step of any "
        "η > 0, θ1 = 1 for BYOL' and 1 + 4η for RAFT. The gradients are closed forms "
        "certified by exact expansions with second-order remainders.",
        also=("byol_prime_raw_expansion", "raft_raw_expansion"),
    ),
    Certificate(
        "thm5.1-no-sphere",
        "Thm51.v",
        "thm51_tangential_trajectories_correspond",
        "The tangential identity needs no unit vectors, so the theorem of thm5.1 covers raw "
        "outputs. Proved in " + TRAJECTORY + ".",
    ),
    Certificate(
        "thm5.1-mlp",
        "Thm51.v",
        "thm51_plain_on_sphere_trajectories_correspond",
        "The hypothesis outputs_negated (rep2 (M y) x = −rep1 y x) is what negating the MLP's "
        "output layer (weight and bias) gives; the tangential case is "
        "thm51_tangential_trajectories_correspond. Proved in " + TRAJECTORY + ".",
        also=("thm51_tangential_trajectories_correspond",),
    ),
    Certificate(
        "byol-dual",
        "Thm51.v",
        "byol_dual_trajectories_correspond",
        "−‖−p̂ − t̂‖² = ‖p̂ − t̂‖² − 4 on the unit sphere (run_away_byol_mirrors_byol), for "
        "BYOL symmetrised as trained; the one-view form is the same identity. Proved in "
        + TRAJECTORY
        + ".",
        also=("run_away_byol_mirrors_byol",),
    ),
    Certificate(
        "byolp-np-frozen",
        "Thm51.v",
        "byolp_np_frozen_trajectories_coincide",
        "The predictor frozen at −I is the output map y ↦ −rep y; M is the identity. Shown "
        "for the tangential form; the plain form on the sphere follows from "
        "raft_plain_mirrors_byol_prime_plain the same way. Proved in " + TRAJECTORY + ".",
        also=("frozen_minus_identity_raft_is_byol_prime",),
    ),
    Certificate(
        "appH-sylvester",
        "AppHSylvester.v",
        "sylvester_criterion_over_subfield",
        "Proved with no axiom at all for square W ((m + 1)×(m + 1)) and C ((n + 1)×(n + 1)) "
        "over any field K embedded in an algebraically closed field F — the claim's case is "
        "K = R, F = ℂ, instances this file does not import (mathcomp-analysis and "
        "mathcomp-real-closed provide them): a non-zero θ over K exists iff W and C share an "
        "eigenvalue in F. Over F itself this is sylvester_criterion (Cayley–Hamilton); the "
        "step from F to K is that a rank does not change under a field embedding. The "
        "checker decides the exact nullity of I ⊗ W − Cᵀ ⊗ I over Q.",
        also=(
            "sylvester_criterion",
            "sylvester_solution_implies_shared_eigenvalue",
            "shared_eigenvalue_gives_sylvester_solution",
            "intertwine_horner",
            "solution_iff_rank_deficient",
        ),
    ),
    Certificate(
        "appH-stationary",
        "AppHSylvester.v",
        "sylvester_solutions_are_stationary",
        "Proved over any field (the reals are one) for W (m×m), θ (m×n) and invertible A: "
        "both factors of eqs. 62–63, Wᵀ(WθA − θB) and (WθA − θB)θᵀ, vanish when Wθ = θBA⁻¹. "
        "That these are the gradients of the expected loss eq. 57 at ξ = θ (the target not "
        "differentiated) is taken from the paper, not derived; the checker differentiates "
        "eq. 57 with autograd in float64.",
    ),
    Certificate(
        "appH-joint",
        "AppHSylvester.v",
        "joint_stationary_family",
        "Proved over any field: for every invertible S and scalar c ≠ 0, θ = cS ≠ 0 and "
        "W = S·BA⁻¹·S⁻¹ solve Wθ = θBA⁻¹, hence are stationary by "
        "sylvester_solutions_are_stationary (eqs. 62–63 as the gradients, as there); distinct "
        "c give distinct θ (joint_family_is_injective), so over the reals the family is "
        "infinite. The checker evaluates autograd gradients on the family in float64.",
        also=("joint_family_is_injective", "sylvester_solutions_are_stationary"),
    ),
    Certificate(
        "appH-derivation",
        "AppH.v",
        "appH_derivation_fails",
        refutes=True,
        gap="Refutes the implication with the checker's exact 2×2 counterexample (W = 0, "
        "θ = [[0, 0], [0, 1]], A = I, B = [[0, 0], [1, 0]]: eqs. 65–66 hold, Wθ − θBA⁻¹ = "
        "[[0, 0], [−1, 0]]), with A invertible stated as A·A⁻¹ = A⁻¹·A = I. The gradients "
        "eqs. 62–63 themselves are not derived here: eqs. 65–66 are taken as written.",
        also=("appH_derivation_counterexample_values",),
    ),
)


# Why a claim has no Coq proof yet: what the proof would need that this one does not have.
OUT_OF_REACH = {
    "byol-fixed-point": "fails by a float64 one-step counterexample found by search; an exact "
    "replay needs the step's square roots (the l2-normalisation) in a real-closed field or "
    "with interval arithmetic, not done here",
    "thm5.1-np": "fails by a two-step counterexample; exact replay not done (square roots of "
    "the l2-normalisation)",
    "byol-raft": "fails by a one-step counterexample; exact replay not done (square roots of "
    "the l2-normalisation)",
    "appG-steps": "a verdict on each printed equation of Appendix G as written (typography, "
    "indices); the mathematics it corrects to is thm5.1's proof",
    "appH-steps": "a verdict on each printed line of Appendix H as written (vectors where "
    "scalars stand, indices)",
    "raft-byolp-same-law": "a statement about probability laws of PyTorch's initialisation; "
    "it needs measure theory (push-forward of a product of uniform laws), not formalised here",
    "no-convergence": "a statement about the long-run behaviour of float64 training "
    "trajectories (an attracting fixed point of a nonlinear map); its proof needs the "
    "spectral theory of the Jacobian, not formalised here",
    "appH-dimension": "needs the Jordan normal form and the nullity of the Sylvester operator "
    "between two Jordan blocks (min(p, q)); neither is formalised here",
    "appH-random-W": "a statement about random matrices (a probability-one event), which "
    "needs measure theory",
    "thm5.1-adam-mlp": "its two halves are proved (thm5.1-adam: any update odd in the gradient "
    "with a mirrored state, Adam and AdamW among them; thm5.1-mlp: the output layer negated), "
    "but not yet as one theorem for the MLP predictor whose negated output layer carries a bias",
    "no-convergence-raft": "fails by a float64 trajectory that stops moving (gradient, teacher "
    "gap and continuation measured in float64); a proof needs an exact fixed point of the "
    "normalised, EMA-coupled map (square roots of the l2-normalisation) and the spectral "
    "theory of its Jacobian, neither done here",
}
