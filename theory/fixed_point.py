"""Section 2.2's expectation for BYOL at the EMA fixed point: "when the final convergence of the
online and target is reached, L_BYOL degenerates to L_align". At ξ = θ without a predictor the
teacher's outputs are the online encoder's own, so the symmetrised BYOL loss equals L_align in
value; with the teacher held (no gradient) its gradient is that of ½·L_align. The claims below
ask whether the gradients agree, without a predictor and with one.
They are decided by the Theorem 5.1 engine and rule (``theory.thm51``): the gradient identity at
points with ξ = θ (eq. 28's machinery, the second side being ½·L_align with the same predictor),
and trajectories with τ = 0, which keep ξ = θ after every step."""

from theory.claims import Claim, Family, Quote
from theory.thm51.check import check
from theory.thm51.claims import FORM, WORST
from theory.thm51.search import Conditions
from theory.thm51.wording import WORDING

CONDITIONS = {
    "byol-np-fixed-point": Conditions(
        pairs=("byol-sym/half-align",),
        predictors=("none",),
        tangential=(False, True),
        taus=(0.0,),
        at_fixed_point=True,
    ),
    "byol-fixed-point": Conditions(
        pairs=("byol-sym/half-align",),
        predictors=("linear", "mlp"),
        tangential=(False, True),
        taus=(0.0,),
        at_fixed_point=True,
    ),
}

STATEMENT = (
    " at the EMA fixed point ξ = θ (the teacher equal to the online encoder; BatchNorm on batch "
    "statistics, the teacher's too), the gradient of BYOL's loss (eq. 4, l2-normalised, "
    "symmetrised as trained: ½[‖p̂1 − t̂2‖² + ‖p̂2 − t̂1‖²], plain or tangential) in the online "
    "parameters equals the gradient of ½·L_align of the online outputs (eq. 2), for every encoder "
    "and pair of views; so with τ = 0 (ξ = θ after every step) BYOL is gradient descent on "
    "½·L_align, step for step (plain SGD)." + WORST
)

FAMILY = Family(
    name="Section 2.2: BYOL at the EMA fixed point",
    order=22,
    doc="docs/claims/fixed-point.md",
    wording=WORDING,
    claims=(
        Claim(
            "byol-np-fixed-point",
            title="at ξ = θ, BYOL without a predictor descends ½·L_align",
            source="Section 2.2 ('L_BYOL degenerates to L_align'); Section 3 (BYOL-NP)",
            statement="Without a predictor (q = I, BYOL-NP):" + STATEMENT,
            form=f"{FORM}; byol_symmetric / ½·alignment at ξ = θ, τ = 0, no predictor, SGD",
            check=check,
            arguments={"conditions": CONDITIONS["byol-np-fixed-point"]},
            reading="alternative",
            paper_text=Quote(
                "Section 2.2",
                r"Theoretically, we would expect that when the final convergence of the online and target is reached,  $\mathcal{L}_{\text{BYOL}}$  degenerates to  $\mathcal{L}_{\text{align}}$  and therefore causes representation collapse, while this speculation never happens in reality.",
            ),
        ),
        Claim(
            "byol-fixed-point",
            title="at ξ = θ, BYOL with a predictor descends ½·L_align of its predictions",
            source="Section 2.2 ('L_BYOL degenerates to L_align'); Appendix B (linear and MLP predictors)",
            statement="With a predictor q_w (the paper's linear predictor W, and its MLP), the online "
            "outputs being the predictions q_w(f_θ(x)) and the gradient taken in (θ, w):"
            + STATEMENT,
            form=f"{FORM}; byol_symmetric / ½·alignment at ξ = θ, τ = 0, linear and MLP predictors, SGD",
            check=check,
            arguments={"conditions": CONDITIONS["byol-fixed-point"]},
            reading="as written",
            paper_text=Quote(
                "Section 2.2",
                r"Theoretically, we would expect that when the final convergence of the online and target is reached,  $\mathcal{L}_{\text{BYOL}}$  degenerates to  $\mathcal{L}_{\text{align}}$  and therefore causes representation collapse, while this speculation never happens in reality.",
            ),
        ),
    ),
)
