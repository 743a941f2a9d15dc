"""The Theorem 5.1 family's facts in words."""


def describe(s: dict) -> str:
    """A setup (as a dict) in one line."""
    optimiser = (
        s["optimizer"]
        + (f"(momentum {s['momentum']:g})" if s["momentum"] else "")
        + (f"(weight decay {s['weight_decay']:g})" if s["weight_decay"] else "")
    )
    return (
        f"{s['pair']}, {s['encoder']} encoder, predictor {s['predictor']}, D = {s['dim']}, batch "
        f"{s['batch']}, α = {s['alpha']:.3g}, β = {s['beta']:.3g}, τ = {s['tau']:g}, {optimiser} "
        f"lr = {s['lr']:.3g}, sphere = {s['sphere']}, tangential = {s['tangential']}, {s['steps']} "
        f"steps, seed {s['seed']}"
    )


def loss_relation(f: dict) -> str:
    where = "on the unit sphere" if f["sphere"] else "on raw vectors"
    held = ""
    if f["tangential"]:
        held = ", λ frozen" + (" (λ' = −λ at the mirrored point)" if f["mirrored"] else "")
    sign = "−" if f["mirrored"] else "+"
    line = (
        f"sympy, per sample {where}{held}: L_{f['second']}({sign}p) − L_{f['first']}(p) = "
        f"{f['relation']}"
    )
    if not f["online"]:
        return line + (
            "; free of the online outputs, so at every point ∇θ L_first(θ, W) = "
            "∇θ L_second(θ, M(W)) and ∇W L_first = M(∇W L_second) (eqs. 43, 53)"
        )
    if f["at_the_point"] is not None:
        line += f" (at the point itself, Λ_pt = g_p_t: {f['at_the_point']})"
    return line + (
        f"; it depends on the online outputs through {', '.join(f['online'])}, so the two "
        "gradients differ wherever its gradient is non-zero"
    )


def fixed_point_gradient(f: dict) -> str:
    where = "on the unit sphere" if f["sphere"] else "on raw vectors"
    line = (
        f"sympy, per sample {where}: ∇_p1(L_second − L_first) = {f['gradients']['p1']}, "
        f"∇_p2(L_second − L_first) = {f['gradients']['p2']}"
    )
    if f["predictor"] == "none":
        return line + (
            "; at ξ = θ without a predictor each teacher output is its online output "
            "(t_i = p_i), where "
            + (
                "both vanish: the two gradients are equal there"
                if f["vanishes"]
                else "they do NOT vanish"
            )
        )
    return line + (
        "; at ξ = θ the teacher outputs are the projections ẑ_i and the online outputs "
        "the predictions q̂(z_i): both vanish only where every view's prediction equals "
        "its own projection"
    )


def tangent_noop_gradient(f: dict) -> str:
    return (
        "sympy, D = 3 in components: ∇_p[‖t̂ − Λû‖²/Λ] − ∇_p[‖t̂ − û‖²] with û = p/‖p‖ in the "
        f"graph, for every frozen Λ ≠ 0 and every teacher vector, = [{', '.join(f['difference'])}]"
        + (
            "; the ∇_û difference 2(Λ − 1)û is radial and the Jacobian of p/‖p‖ kills it"
            if f["zero"]
            else "; NOT zero"
        )
    )


GRADIENT_PLACES = {
    "random": "eq. 28 at random points",
    "edge": "eq. 28 at edge points (ξ = θ, far teacher, W tiny/huge, W = ±I, λ ≈ 0)",
    "trajectory": "eq. 28 along a trajectory (the first side's exact state, every step)",
}
FIXED_POINT_PLACES = {
    "random": "the gradient identity at random points with ξ = θ",
    "edge": "the gradient identity at edge points with ξ = θ (W tiny/huge, W = ±I, λ ≈ 0)",
    "trajectory": "the gradient identity along a trajectory with τ = 0 (the first side's exact state, every step)",
}


def gradient_identities(f: dict) -> str:
    place = (FIXED_POINT_PLACES if f["at_fixed_point"] else GRADIENT_PLACES)[f["where"]]
    line = (
        f"{place}: {f['points']} points, largest gap in θ {f['theta']:.3g}, in the predictor "
        f"{f['predictor']:.3g}, largest gap/control {f['ratio']:.3g}"
        if f["at_fixed_point"]
        else f"{place}: {f['points']} points, largest gap eq. 43 (θ) {f['theta']:.3g}, eq. 53 (predictor) "
        f"{f['predictor']:.3g}, largest gap/control {f['ratio']:.3g}"
    )
    extra = [f"{n} {k}" for k, n in f["judgements"].items() if n and k != "agrees"]
    return line + (f" ({', '.join(extra)})" if extra else "")


TRAJECTORY_SOURCES = {
    "random": "random trajectories",
    "adversarial": "adversarial search (greedy moves: batch 2, D = 2, τ = 0, β/α = 100 and 1/100; "
    "then bisection of lr to the edge of decidability)",
}


def trajectories(f: dict) -> str:
    line = (
        f"{TRAJECTORY_SOURCES[f['which']]}: {f['runs']} runs ({', '.join(f['encoders'])}; D in "
        f"{f['dims']}; τ in {f['taus']}; α = β in {f['equal_weights']}), {f['fully_decisive']} decisive "
        f"at every step, {f['decisive_steps']} decisive steps; largest relative deviation "
        f"{f['deviation']:.3g}, largest control {f['envelope']:.3g}, largest deviation/control "
        f"{f['ratio']:.3g}; {f['identical']} bitwise identical"
    )
    if f["roundoff_steps"]:
        line += (
            f"; {f['roundoff_steps']} steps above {f['factor']:g}× control grew ≥ {f['roundoff_growth']:.3g}× "
            "in float32: round-off"
        )
    if f["which"] == "adversarial":
        line += (
            f"; most amplified decisive run: {describe(f['hardest'])}, deviation "
            f"{f['hardest_deviation']:.3g} against control {f['hardest_envelope']:.3g}"
        )
    return line


def loss_measured(f: dict) -> str:
    per = "/β" if f["per_beta"] else ""
    form = "tangential" if f["tangential"] else "plain"
    return (
        f"measured {f['pair']} ({form}): (L_second − L_first){per} over {f['steps']} decisive "
        f"steps from {f['low']:.17g} to {f['high']:.17g}"
    )


def decision_rule(f: dict) -> str:
    return (
        f"rule: a step is decisive while the larger control deviation (each side rerun from its "
        f"init moved one ulp) is ≤ {f['decisive']:g} and was at every earlier step; a decisive "
        f"deviation above {f['factor']:g}·max(control, {f['floor']:g}) separates the trajectories "
        f"when the float32 replay reproduces it within {f['confirm']:.3g}× (drift), and is "
        "round-off when it grows more (round-off scales by 2^29); gradient gaps likewise"
    )


def separation(f: dict) -> str:
    e = f["example"]
    return (
        f"separation: {f['separated']} of {f['runs']} runs separate, first at step {f['step']} "
        f"({describe(f['found'])}); minimal counterexample: {describe(e['setup'])}, "
        f"{e['parameters']} parameters, separates at step {e['step']} by {e['deviation']:.3g} "
        f"(θ {e['theta_deviation']:.3g}, predictor {e['predictor_deviation']:.3g}) against control "
        f"{e['control']:.3g}; float32 replay {e['float32_deviation']:.3g} (drift, not round-off)"
    )


def precision_scaling(f: dict) -> str:
    scale = f"{f['float32'] / f['float64']:.3g}×" if f["float64"] > 0 else "(float64: bitwise 0)"
    return (
        f"precision scaling of the most amplified run ({describe(f['setup'])}): largest deviation "
        f"{f['float64']:.3g} in float64, {f['float32']:.3g} in float32 {scale}; round-off grows by "
        f"about 2^29 ≈ {f['expected']:.3g} from float64 to float32, drift would not"
    )


def inconclusive(f: dict) -> str:
    reasons = [
        f"{f['breaks']} gradient points break eq. 28 although no trajectory separates"
        if f["breaks"]
        else "",
        f"{f['unresolved']} excesses that precision scaling cannot settle"
        if f["unresolved"]
        else "",
        f"fewer than half the random runs are decisive for {f['min_steps']} steps"
        if f["undecided"]
        else "",
    ]
    return "inconclusive: " + "; ".join(r for r in reasons if r)


def trace(f: dict) -> str:
    return (
        f"per-step deviation and round-off control of the {f['which']} run ({describe(f['setup'])}): "
        f"{len(f['deviation'])} steps, {f['decisive']} decisive (the report's figure)"
    )


WORDING = {
    "trace": trace,
    "loss-relation": loss_relation,
    "tangent-noop-gradient": tangent_noop_gradient,
    "fixed-point-gradient": fixed_point_gradient,
    "predictor-map": lambda f: (
        f"predictor map: max |q_M(w)(z) + q_w(z)| / max |q_w(z)| = {f['gap']:.3g} at 64 random z "
        f"for predictors {', '.join(f['predictors'])} (q' = −q)"
    ),
    "gradient-identities": gradient_identities,
    "trajectories": trajectories,
    "loss-measured": loss_measured,
    "rule": decision_rule,
    "separation": separation,
    "precision-scaling": precision_scaling,
    "inconclusive": inconclusive,
}
