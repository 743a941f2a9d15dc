"""Appendix H: the linear model of BYOL, its stationarity conditions and the Sylvester equation.

With f_θ = θ, f_ξ = ξ, q_w = W and the moments A = E[x1x1ᵀ], B = E[x2x1ᵀ] (x1 = t1(x),
x2 = t2(x)), Appendix H differentiates the expected loss E‖Wθx1 − ξx2‖² (eq. 57;
``theory.objectives.linear_byol_expected``) in θ and W (eqs. 58–63), sets ξ = θ at the EMA
fixed point (eq. 64) to get eqs. 65–66, concludes the Sylvester equation Wθ = θBA⁻¹ (eq. 67)
and reads its solutions off the Kronecker form (eq. 68). Section 3 turns this into "a randomly
initialised linear predictor prevents collapse by creating infinite non-trivial solutions".

- ``solutions``: {θ : Wθ = θC} by the Kronecker form and by Schur forms, cross-checked;
- ``exact``: exact algebra (null spaces over Q, characteristic polynomials, Jordan structure);
- ``linear_model``: views, moments, C = BA⁻¹, the gradients of eqs. 62–63 and their derivation,
  random predictors, joint training;
- ``spectra``, ``stationarity``: the checkers; ``claims``, ``wording``: the claims as data and
  their evidence in words.
"""

from theory.appH.exact import (
    STRUCTURED,
    as_float,
    determinant_identity,
    exact_nullity,
    exact_solution_space,
    jordan_dimension,
    jordan_structure,
    predicted_dimension,
    share_eigenvalue,
    similar_rows,
)
from theory.appH.linear_model import (
    AUGMENTATIONS,
    COND_LIMIT,
    INITS,
    STATIONARY_TOL,
    expected_gradients,
    family_identity,
    moments,
    random_invertible,
    random_predictor,
    relative_gradients,
    residual_matrix,
    sample_views,
    stationarity_gradients,
    target_matrix,
    train_jointly,
)
from theory.appH.solutions import (
    RTOL,
    SUBSPACE_TOL,
    AmbiguousRank,
    cluster_unknowns,
    distance_to_sharing,
    kronecker_solutions,
    principal_sine,
    residual,
    schur_solutions,
    separation,
    solution_space,
    sylvester_operator,
)
from theory.appH.spectra import RATIO_TOL
from theory.appH.stationarity import (
    DERIVATION_TOL,
    relative_residual,
    sample_stationary,
    sharing_predictor,
)

__all__ = [
    "AUGMENTATIONS",
    "AmbiguousRank",
    "COND_LIMIT",
    "DERIVATION_TOL",
    "INITS",
    "RATIO_TOL",
    "RTOL",
    "STATIONARY_TOL",
    "STRUCTURED",
    "SUBSPACE_TOL",
    "as_float",
    "cluster_unknowns",
    "determinant_identity",
    "distance_to_sharing",
    "exact_nullity",
    "exact_solution_space",
    "expected_gradients",
    "family_identity",
    "jordan_dimension",
    "jordan_structure",
    "kronecker_solutions",
    "moments",
    "predicted_dimension",
    "principal_sine",
    "random_invertible",
    "random_predictor",
    "relative_gradients",
    "relative_residual",
    "residual",
    "residual_matrix",
    "sample_stationary",
    "sample_views",
    "schur_solutions",
    "separation",
    "share_eigenvalue",
    "sharing_predictor",
    "similar_rows",
    "solution_space",
    "stationarity_gradients",
    "sylvester_operator",
    "target_matrix",
    "train_jointly",
]
