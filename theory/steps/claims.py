"""The claims of the steps family, as data: Appendix G's proof and Appendix H's derivation,
equation by equation."""

from theory.claims import Claim, Family, Quote
from theory.steps import check_g, check_h
from theory.steps.wording import WORDING

WORST = (
    " worst = the largest relative violation, as written, of the first equation that does not hold "
    "(for 'holds', the largest over every step)."
)

FAMILY = Family(
    name="The steps of Appendices G and H, one equation at a time",
    order=52,
    doc="docs/claims/steps.md",
    wording=WORDING,
    claims=(
        Claim(
            "appG-steps",
            title="every step of Appendix G (eqs. 28–56) holds as the paper writes it",
            source="Appendix G, eqs. 28–56",
            statement="Each equation of Appendix G's proof of Theorem 5.1, from eq. 28 to eq. 56, holds as "
            "written, read with the paper's hypotheses: l2-normalised representations z = Wf_θ(x)/‖Wf_θ(x)‖, "
            "BYOL' at (θ, W) and RAFT at (θ, −W) sharing the teacher, the tangential component as eq. 34 "
            "defines it, plain SGD. The evidence lists every equation: holds, holds after correction (with "
            "the correction), or fails, with its exact counterexample." + WORST,
            form="per equation: sympy (Gram matrix, or component-wise for D = 2, 3); theory.search on its "
            "vector form; the paper's expression against autograd through theory.objectives at random and "
            "edge network points; thm51.judged_point; thm51.engine.lockstep trajectories",
            check=check_g.check,
            reading="as written",
            paper_text=Quote(
                "Appendix G, eq. 28",
                r"We claim that under the third condition, the following equations hold:",
            ),
        ),
        Claim(
            "appH-steps",
            title="every step of Appendix H's derivation (eqs. 58–68) holds as the paper writes it",
            source="Appendix H, eqs. 58–68",
            statement="Each line of Appendix H's derivation, from eq. 58 to eq. 68, holds as written in the "
            "linear model f_θ = θ, f_ξ = ξ, q_w = W (n×n), with the target ξ not differentiated and finite "
            "second moments. The evidence lists every equation: holds, holds after correction (with the "
            "correction), or fails, with its counterexample; eq. 67's implication is appH-derivation's "
            "finding." + WORST,
            form="per line: sympy (component-wise for n = 2, 3; derivation_identities); autograd of "
            "squared_distance and linear_byol_expected at random, edge and adversarial (theory.search) "
            "points; theory.teacher.ema_update; appH-derivation's checker",
            check=check_h.check,
            reading="as written",
            paper_text=Quote(
                "Appendix H, eqs. 58–59",
                r"Differentiate  $\|W\theta x_1 - \xi x_2\|_2^2$  with respect to  $\theta_{ij}$  and  $W_{ij}$ , we have",
            ),
        ),
    ),
)
