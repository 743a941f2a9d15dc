"""The claims of Appendix H, as data."""

from theory.appH.spectra import check_dimension, check_random_W, check_sylvester
from theory.appH.stationarity import check_derivation, check_joint, check_stationary
from theory.appH.wording import WORDING
from theory.claims import Claim, Family, Quote

FAMILY = Family(
    name="Appendix H: the linear model and its Sylvester equation",
    order=80,
    doc="docs/claims/appH.md",
    wording=WORDING,
    claims=(
        Claim(
            "appH-sylvester",
            title="Wθ = θC has a non-zero solution iff W and C share an eigenvalue",
            source="Appendix H, eqs. 67–68",
            statement="For square real W (m×m) and C (n×n), Wθ = θC has a non-zero solution θ if "
            "and only if W and C share a (complex) eigenvalue. worst = the largest σ_min(K)/min|λ_i(W) "
            "− μ_j(C)| found (the 'if' direction in numbers: it must be ≤ 1).",
            form="exact: nullity(I_n ⊗ W − Cᵀ ⊗ I_m) > 0 ⇔ deg gcd(det(tI − W), det(tI − C)) > 0; "
            "sympy: det K = ±Res(p_W, p_C); float: σ_min(K) ≤ min|λ − μ|",
            check=check_sylvester,
            reading="as written",
            paper_text=Quote(
                "Appendix H, after eq. 68",
                r"So it has a non-trivial solution  $\theta$  if and only if  $(I_m \otimes W - (B A^{-1})^\top \otimes I_n)$  has a non-trivial null space.",
            ),
        ),
        Claim(
            "appH-dimension",
            title="the solution space's dimension is Σ_λ Σ_ij min(p_i, q_j) over Jordan block sizes",
            source="Appendix H, eq. 68 (dimension of its null space); Gantmacher, Theory of "
            "Matrices, VIII §1",
            statement="For real square W and C, dim{θ : Wθ = θC} = Σ over shared eigenvalues λ "
            "(complex ones included, each of a conjugate pair counted) of Σ_{i,j} min(p_i, q_j), p and "
            "q the sizes of the Jordan blocks of W and of C for λ. worst = the largest |exact "
            "dimension − formula| found.",
            form="exact nullity(I_n ⊗ W − Cᵀ ⊗ I_m) = Σ_λ Σ_ij min(p_i, q_j), Jordan blocks from the "
            "construction and from the exact ranks of f(W)^k for the irreducible factors f",
            check=check_dimension,
            reading="extension",
            paper_text=Quote(
                "Appendix H, after eq. 68",
                r"So it has a non-trivial solution  $\theta$  if and only if  $(I_m \otimes W - (B A^{-1})^\top \otimes I_n)$  has a non-trivial null space.",
            ),
        ),
        Claim(
            "appH-stationary",
            title="Sylvester solutions are stationary points of eq. 57 (the target gets no gradient)",
            source="Appendix H, eqs. 57–67",
            statement="Every θ with Wθ = θBA⁻¹ is, with ξ = θ, a stationary point of the expected "
            "loss E‖Wθx1 − ξx2‖² (eq. 57): its gradients with respect to θ and W (eqs. 62–63; the "
            "target ξ receives none) both vanish. worst = the largest relative gradient norm found.",
            form="autograd of linear_byol_expected(θ, ξ = θ.detach(), W, A, B) in θ and W, at every "
            "basis vector of solution_space(W, BA⁻¹) and at the worst unit θ of that space",
            check=check_stationary,
            reading="as written",
            paper_text=Quote(
                "Appendix H, last paragraph",
                r"Let  $W$  has eigenvalues in common with  $B A^{-1}$ , then we have a non-trivial solution of  $\theta$ , which is exactly the prevention for collapse.",
            ),
        ),
        Claim(
            "appH-derivation",
            title="eqs. 65–66 imply eq. 67 (Wθ = θBA⁻¹)",
            source="Appendix H, eqs. 65–67",
            statement="Eqs. 65–66, Wᵀ(WθA − θB) = 0 and (WθA − θB)θᵀ = 0 (stationarity in θ and W at "
            "ξ = θ), imply eq. 67, Wθ − θBA⁻¹ = 0, with no assumption beyond A being invertible. "
            "worst = the largest ‖WθA − θB‖_F/((‖W‖₂‖A‖₂ + ‖B‖₂)‖θ‖_F) found where eqs. 65–66 hold.",
            form="exact: all (W, θ, B) with small integer entries and θ ≠ 0, A ∈ {1, 2} (n = 1) and "
            "A ∈ {I, [[1,−1],[−1,2]]} (n = 2), the simplest integer positive definite A (20 under "
            "--thorough); "
            "float: random W, θ of every rank, A from sampled views, B on the affine set where eqs. "
            "65–66 hold",
            check=check_derivation,
            reading="as written",
            paper_text=Quote(
                "Appendix H, eq. 67",
                r"W^\top (W\theta A) &= W^\top \theta B \\ W\theta A \theta^\top &= \theta B \theta^\top \\ \Rightarrow W\theta - \theta B A^{-1} &= \mathbf{0}",
            ),
        ),
        Claim(
            "appH-random-W",
            title="a fixed randomly initialised W creates non-trivial solutions θ of eq. 67",
            source="Section 3 ('a randomly initialized linear predictor ... creating infinite "
            "non-trivial solutions'); Appendix H, last paragraph",
            statement="For a fixed, randomly initialised linear predictor W (Gaussian, or PyTorch's "
            "default Linear init) and C = BA⁻¹ from sampled augmented views, Wθ = θC has non-trivial "
            "solutions θ ≠ 0. worst = the smallest σ_min(W − μI)/(‖W‖₂ + ‖C‖₂) over eigenvalues μ of "
            "C and all random draws (the relative distance from W to any matrix sharing an "
            "eigenvalue with C; a solution exists iff it is 0, numerically iff ≤ the rank tolerance).",
            form="len(solution_space(W, target_matrix(A, B))) > 0 for W = random_predictor(init, n) "
            "and A, B = moments(sample_views(n, 100n, augmentation))",
            check=check_random_W,
            reading="alternative",
            paper_text=Quote(
                "Section 3",
                r"We conduct a theoretical proof that a randomly initialized linear predictor prevents the (more strict form of) representation collapse by creating infinite non-trivial solutions when the convergence is achieved (refer to Appendix H)",
            ),
        ),
        Claim(
            "appH-joint",
            title="with W trained too, stationary points with θ ≠ 0 exist and form an infinite family",
            source="Appendix H, eqs. 61–67 (θ and W both trained); Section 3",
            statement="When W is trained together with θ (stationarity of eq. 57 in θ and in W, "
            "ξ = θ), the set of stationary points (θ, W) with θ ≠ 0 is non-empty and infinite, for "
            "every invertible A and every B. worst = the largest relative gradient norm found on the "
            "exhibited family.",
            form="(θ, W) = (S, S·BA⁻¹·S⁻¹) for every invertible S: autograd gradients of "
            "linear_byol_expected at ξ = θ vanish; sympy: WθA − θB = 0 identically",
            check=check_joint,
            reading="as written",
            paper_text=Quote(
                "Section 3",
                r"We conduct a theoretical proof that a randomly initialized linear predictor prevents the (more strict form of) representation collapse by creating infinite non-trivial solutions when the convergence is achieved (refer to Appendix H)",
            ),
        ),
    ),
)
