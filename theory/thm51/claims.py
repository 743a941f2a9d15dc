"""The claims of the Theorem 5.1 family, as data: what each claim's runs fix and vary
(``CONDITIONS``, which the proofs draw their configurations from too) and its statement."""

from theory.claims import Claim, Family, Quote
from theory.thm51.check import check
from theory.thm51.search import ADAM, ADAM_WEIGHT_DECAY, ADAMW, MOMENTUM, WEIGHT_DECAY, Conditions
from theory.thm51.wording import WORDING

CONDITIONS = {
    "thm5.1": Conditions(),
    "thm5.1-adam": Conditions(optimizers=(ADAM, MOMENTUM, WEIGHT_DECAY, ADAMW)),
    "thm5.1-no-tangent": Conditions(tangential=(False,)),
    "thm5.1-no-sphere": Conditions(sphere=False),
    "thm5.1-linear-only": Conditions(sphere=False, tangential=(False,)),
    "thm5.1-mlp": Conditions(predictors=("mlp",), tangential=(True, False)),
    "thm5.1-adam-mlp": Conditions(
        predictors=("mlp",), tangential=(False,), optimizers=(ADAM_WEIGHT_DECAY, ADAMW, ADAM)
    ),
    "thm5.1-np": Conditions(predictors=("none",)),
    "byol-dual": Conditions(
        pairs=("byol/run-away-byol", "byol-sym/run-away-byol-sym"),
        tangential=(False,),
        predictors=("linear", "mlp"),
    ),
    "tangent-noop": Conditions(
        pairs=("byol/tanbyol", "byol'/tanbyol'", "raft/tanraft"), predictors=("linear", "mlp")
    ),
    "byol-raft": Conditions(pairs=("byol-sym/raft",)),
    "byolp-np-frozen": Conditions(
        pairs=("byol'/raft-frozen",), predictors=("none",), tangential=(True, False)
    ),
}

SOURCE = "Theorem 5.1, Appendix G (eqs. 28, 43, 53–56)"
WORST = (
    " worst = the largest ratio of a deviation (trajectories, and the gradient identities of "
    "eq. 28) to its float64 round-off control; 'holds' while ≤ 100."
)


def correspond(mapping: str, weights: bool = True) -> str:
    return (
        f" correspond: θ_k = θ'_k{mapping} at every step k, each side with its own EMA teacher "
        f"(eq. 5), for every encoder (BatchNorm included){', α, β > 0' if weights else ''} and "
        "τ ∈ [0, 1)." + WORST
    )


NEGATED = correspond(" and W_k = −W'_k")
FORM = (
    "lockstep(first, second): no decisive step (ulp controls ≤ 1e-8) whose relative deviation "
    "exceeds 100·max(control, 1e-15) and is reproduced by a float32 replay (drift, not "
    "round-off); autograd ∇θ L_first(θ, W) = ∇θ L_second(θ, M(W)) and M(∇W L_first(θ, W)) = "
    "∇W L_second(θ, M(W)) by the same rule"
)


def _claim(
    id: str, title: str, source: str, statement: str, checked: str, reading: str, paper_text: Quote
) -> Claim:
    return Claim(
        id,
        title=title,
        source=source,
        statement=statement,
        form=f"{FORM}; {checked}",
        check=check,
        arguments={"conditions": CONDITIONS[id]},
        reading=reading,
        paper_text=paper_text,
    )


CLAIMS = (
    _claim(
        "thm5.1",
        "Theorem 5.1: BYOL' from (θ0, W0) and RAFT from (θ0, −W0) follow the same trajectory",
        SOURCE,
        "Under (i) l2-normalised representations, (ii) a linear predictor q(z) = Wz, (iii) the "
        "tangential form of the cross-model term (Remark: ‖t̂ − λp̂‖²/λ, λ = sg⟨p̂, t̂⟩), plain SGD: "
        "BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
        "byol_prime / raft with sphere=True, tangential=True, predictor −W0, SGD",
        "as written",
        Quote(
            "Section 5, after Theorem 5.1",
            r"In Theorem 1, we show that optimizing  $\mathcal{L}_{\text{BYOL}'}$  with initial parameters  $(\theta^{(0)}, W^{(0)})$  is equivalent to optimizing  $\mathcal{L}_{\text{RAFT}}$  with initial parameters  $(\theta^{(0)}, -W^{(0)})$  when the aforementioned three conditions are satisfied.",
        ),
    ),
    _claim(
        "thm5.1-adam",
        "Theorem 5.1 under Adam, AdamW, SGD with momentum or weight decay",
        SOURCE + "; Appendix B (Adam)",
        "As thm5.1, trained with Adam (the paper's optimiser), AdamW, SGD with momentum 0.9, "
        "and SGD with weight decay: BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
        "byol_prime / raft with sphere=True, tangential=True, predictor −W0, Adam, AdamW, "
        "SGD(momentum=0.9), SGD(weight_decay=0.01)",
        "stronger",
        Quote(
            "Appendix B (Training), with Theorem 5.1",
            r"the model is trained on the Adam optimizer with learning rate  $3 \times 10^{-4}$  (Kingma & Ba, 2014).",
        ),
    ),
    _claim(
        "thm5.1-no-tangent",
        "Theorem 5.1 without condition (iii), the tangential form",
        SOURCE + "; condition (iii) dropped",
        "(i) + (ii) only: ordinary gradients through the l2-normalisation, no tangential form, "
        "plain SGD: BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
        "byol_prime / raft with sphere=True, tangential=False, predictor −W0, SGD",
        "stronger",
        Quote(
            "Theorem 5.1, condition iii",
            r"iii. only the tangential component of the gradient on the hypersphere is preserved.",
        ),
    ),
    _claim(
        "thm5.1-no-sphere",
        "Theorem 5.1 without condition (i), the hypersphere, with the Remark's form on raw vectors",
        SOURCE + "; condition (i) dropped",
        "(ii) + (iii) without (i): no l2-normalisation; the cross-model term in the Remark's "
        "form ‖z̄ − λz‖²/λ, λ = sg⟨z, z̄⟩, on the raw vectors; plain SGD: BYOL' from (θ0, W0) and "
        "RAFT from (θ0, −W0)" + NEGATED,
        "byol_prime / raft with sphere=False, tangential=True, predictor −W0, SGD",
        "stronger",
        Quote("Theorem 5.1, condition i", r"i. the representation space is a hypersphere;"),
    ),
    _claim(
        "thm5.1-linear-only",
        "Theorem 5.1 with condition (ii) alone: plain squared distances on raw vectors",
        SOURCE + "; conditions (i) and (iii) dropped",
        "(ii) alone: no l2-normalisation, no tangential form, plain squared distances on the "
        "raw vectors; plain SGD: BYOL' from (θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
        "byol_prime / raft with sphere=False, tangential=False, predictor −W0, SGD",
        "stronger",
        Quote(
            "Theorem 5.1, conditions i and iii", r"i. the representation space is a hypersphere;"
        ),
    ),
    _claim(
        "thm5.1-mlp",
        "Theorem 5.1 with the paper's MLP predictor, its output layer negated",
        SOURCE + "; Appendix B (MLP predictor)",
        "(i) with the paper's MLP predictor Linear→ReLU→Linear instead of a linear one, with and "
        "without the tangential form, plain SGD: BYOL' from (θ0, w0) and RAFT from θ0 and w0 with "
        "the output layer's weight and bias negated"
        + correspond(", the predictor's first layer equal and its output layer negated"),
        "byol_prime / raft with sphere=True, tangential=True and False, MLP predictor with "
        "negated output layer, SGD",
        "stronger",
        Quote(
            "Theorem 5.1, condition ii",
            r"ii. the predictor is a linear transformation, i.e.  $q_w(\cdot) = W(\cdot)$ ;",
        ),
    ),
    _claim(
        "thm5.1-adam-mlp",
        "Theorem 5.1 as Table 1 trains: Adam with weight decay, plain cross-model term, MLP predictor",
        SOURCE + "; Appendix B (Adam, MLP predictor); Table 1 (BYOL', RAFT)",
        "(i) with neither (ii) nor (iii), in the setting Table 1 trains: the paper's MLP predictor "
        "Linear→ReLU→Linear with biases, the plain cross-model term "
        "(ordinary gradients through the l2-normalisation), Adam with weight decay 0.01 (L2, as "
        "torch.optim.Adam's weight_decay), AdamW (decoupled) and plain Adam: BYOL' from (θ0, w0) and "
        "RAFT from θ0 and w0 with the output layer's weight and bias negated"
        + correspond(", the predictor's first layer equal and its output layer negated"),
        "byol_prime / raft with sphere=True, tangential=False, MLP predictor with negated output "
        "layer, Adam(weight_decay=0.01), AdamW(weight_decay=0.01), Adam",
        "stronger",
        Quote(
            "Section 5, after Theorem 5.1",
            r"Therefore we conclude that, as representation learning framework, BYOL' is equivalent to our newly proposed RAFT.",
        ),
    ),
    _claim(
        "thm5.1-np",
        "Theorem 5.1 without a predictor (BYOL'-NP and RAFT-NP from the same θ0)",
        SOURCE + "; Table 2 (BYOL'-NP, RAFT-NP)",
        "No predictor (q = I, as BYOL'-NP and RAFT-NP), with (i) and (iii), plain SGD: BYOL' and "
        "RAFT started from the same θ0 (there is no W to negate)" + correspond(""),
        "byol_prime / raft with sphere=True, tangential=True, no predictor, SGD",
        "extension",
        Quote(
            "Section 5",
            r"removing the predictor means fixing  $W = I$ , which breaks the RAFT's designing principle of running away from the MT.",
        ),
    ),
    _claim(
        "byol-dual",
        "plain BYOL from (θ0, W0) and run-away BYOL from (θ0, −W0) follow the same trajectory",
        "eq. 4, Section 5 (the correspondence applied to BYOL itself)",
        "Plain BYOL (eq. 4, the l2-normalised ‖p̂1 − t̂2‖², and its symmetrised form) from "
        "(θ0, W0) and 'run-away BYOL', minimising −‖p̂1 − t̂2‖², from (θ0, −W0), linear and MLP "
        "predictors (output layer negated), plain SGD"
        + correspond(" and W_k = −W'_k (for the MLP: output layer negated)", weights=False),
        "byol / −byol and byol_symmetric / −byol_symmetric with sphere=True, tangential=False, "
        "predictor mapped, SGD",
        "extension",
        Quote(
            "Section 5",
            r"By the central symmetry of the hypersphere, clockwise and counterclockwise moving directions are equivalent to some extent, for example, pushing a point by  $\pi/2$  and pulling it by  $\pi/2$  on the 2-dimensional sphere causes the same effect.",
        ),
    ),
    _claim(
        "tangent-noop",
        "with the l2-normalisation in the graph, the Tan* variants train exactly as the plain ones",
        "Remark after Theorem 5.1; Table 2 (TanBYOL-LP, TanBYOL'-LP, TanRAFT-LP)",
        "With the l2-normalisation inside the autograd graph, replacing the cross-model term by "
        "its tangential form (λ = sg⟨p̂, t̂⟩) leaves every parameter gradient unchanged, so each "
        "Tan* variant trains exactly as its plain counterpart (BYOL, BYOL', RAFT; linear and MLP "
        "predictors) from the same (θ0, W0): the trajectories" + correspond(" and W_k = W'_k"),
        "byol, byol_prime, raft with tangential=False / True with sphere=True, the same "
        "(θ0, W0), SGD",
        "extension",
        Quote(
            "Remark after Theorem 5.1",
            r"One can preserve only the tangential gradient by slightly modifying the loss.",
        ),
    ),
    _claim(
        "byol-raft",
        "BYOL itself (not BYOL') from (θ0, W0) and RAFT from (θ0, −W0) follow the same trajectory",
        "Abstract ('BYOL is equivalent to RAFT under certain conditions'); Section 5; eq. 4",
        "Under the conditions of Theorem 5.1 — (i) l2-normalised representations, (ii) a linear "
        "predictor, (iii) the tangential form (λ = sg⟨p̂, t̂⟩) — plain SGD: BYOL itself (eq. 4, "
        "symmetrised over the views as trained, ½[‖p̂1 − t̂2‖² + ‖p̂2 − t̂1‖²]; not BYOL') from "
        "(θ0, W0) and RAFT from (θ0, −W0)" + NEGATED,
        "byol_symmetric / raft with sphere=True, tangential=True, predictor −W0, SGD",
        "as written",
        Quote(
            "Abstract",
            r"Furthermore, we prove that BYOL is equivalent to RAFT under certain conditions, providing solid reasoning for BYOL’s counter-intuitive success.",
        ),
    ),
    _claim(
        "byolp-np-frozen",
        "BYOL'-NP from θ0 and RAFT with its linear predictor frozen at W = −I follow the same trajectory",
        "Section 5 ('removing the predictor means fixing W = I'); Theorem 5.1 with W frozen",
        "With (i) l2-normalised representations, with and without (iii) the tangential form, "
        "plain SGD: BYOL' without a predictor (q = I, BYOL'-NP) from θ0 and RAFT whose linear "
        "predictor is frozen at W = −I (q(z) = −z, never trained) from θ0" + correspond(""),
        "byol_prime / raft(−p1, −p2, t1, t2) with sphere=True, tangential=True and False, no "
        "trained predictor, SGD",
        "alternative",
        Quote(
            "Section 5",
            r"removing the predictor means fixing  $W = I$ , which breaks the RAFT's designing principle of running away from the MT.",
        ),
    ),
)

FAMILY = Family(
    name="Theorem 5.1: the BYOL'↔RAFT correspondence (Appendix G)",
    order=51,
    doc="docs/claims/thm51.md",
    wording=WORDING,
    claims=CLAIMS,
)
