"""The checkers of Appendix H's claims on stationarity: Sylvester solutions are stationary points
of eq. 57 (appH-stationary); eqs. 65–66 imply eq. 67 (appH-derivation); with W trained, the
stationary points with θ ≠ 0 form an infinite family (appH-joint). Each returns evidence as
facts (``wording`` writes them)."""

from itertools import product

import numpy as np
import scipy.linalg
import sympy
import torch

from theory.appH.exact import complexity, exact_solution_space, similar_rows
from theory.appH.linear_model import (
    AUGMENTATIONS,
    COND_LIMIT,
    STATIONARY_TOL,
    derivation_identities,
    family_identity,
    moments,
    random_invertible,
    random_predictor,
    relative_gradients,
    residual_matrix,
    sample_views,
    stationarity_gradients,
    target_gradient,
    target_matrix,
    train_jointly,
)
from theory.appH.solutions import schur_blocks, solution_space
from theory.claims import Effort, Finding, fact

# ---- appH-stationary


def worst_in_span(basis: np.ndarray, W, A, B) -> np.ndarray:
    """The unit θ in span(basis) maximising ‖WθA − θB‖_F: the top right singular vector of
    the linear map c ↦ R(Σ c_i θ_i), exact over the whole (orthonormal) span."""
    M = np.stack([residual_matrix(t, W, A, B).ravel() for t in basis], axis=1)
    _, _, vh = np.linalg.svd(M, full_matrices=False)
    return np.tensordot(vh[0], basis, axes=1)


def sharing_predictor(rng, C: np.ndarray, blocks: int = 1, jordan: bool = False) -> np.ndarray:
    """A random W whose spectrum contains the eigenvalues of C's leading Schur block(s):
    W = U [[R11, X], [0, Y]] Uᵀ (U orthogonal, X, Y Gaussian). ``jordan``: R11 is instead a
    2×2 Jordan block at C's first real eigenvalue (W defective there)."""
    n = len(C)
    R, _ = scipy.linalg.schur(C, output="real")
    if jordan:
        real = [R[s, s] for s, size in schur_blocks(R) if size == 1]
        if not real:
            raise ValueError("C has no real eigenvalue to build a real Jordan block at")
        R11 = np.array([[real[0], 1.0], [0.0, real[0]]])
    else:
        size = sum(b[1] for b in schur_blocks(R)[:blocks])
        R11 = R[:size, :size]
    k = len(R11)
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    core = np.block(
        [
            [R11, rng.standard_normal((k, n - k)) / np.sqrt(n)],
            [np.zeros((n - k, k)), rng.standard_normal((n - k, n - k)) / np.sqrt(n)],
        ]
    )
    return U @ core @ U.T


def stationary_instances(rng, scale: int):
    """(kind, name, W, A, B, A2): W sharing eigenvalues with C = BA⁻¹ from sampled views
    (random), and edge cases (W = C, W = I with B = A, singular B with singular W, W
    defective at a shared eigenvalue, θ's whole solution space when W = C = I)."""
    for k in range(scale):
        for augmentation in ("noise", "mask", "asymmetric"):
            for n in (2, 3, 4, 6, 8):
                A, B, A2 = moments(*sample_views(rng, n, 100 * n, augmentation))
                C = target_matrix(A, B)
                yield (
                    "random",
                    f"{augmentation}, n = {n}",
                    sharing_predictor(rng, C, 1 + k % 2),
                    A,
                    B,
                    A2,
                )
    for n in (2, 4, 6):
        A, B, A2 = moments(*sample_views(rng, n, 100 * n, "asymmetric"))
        C = target_matrix(A, B)
        yield "edge", f"W = C, n = {n}", C.copy(), A, B, A2
        # Noise views: C = BA⁻¹ is near Σ(Σ + σ²I)⁻¹, whose eigenvalues are real (resampled in
        # the rare case where sampling turned them all into complex pairs).
        while True:
            A, B, A2 = moments(*sample_views(rng, n, 100 * n, "noise"))
            if np.any(np.linalg.eigvals(target_matrix(A, B)).imag == 0):
                break
        yield (
            "edge",
            f"W defective at a shared eigenvalue, n = {n}",
            sharing_predictor(rng, target_matrix(A, B), jordan=True),
            A,
            B,
            A2,
        )
        A, B, A2 = moments(*sample_views(rng, n, 100 * n, "none"))
        yield "edge", f"W = I, no augmentation (B = A, C = I), n = {n}", np.eye(n), A, B, A2
        x1, x2 = sample_views(rng, n, 100 * n, "noise")
        x2[:, 0] = 0  # the second view loses a coordinate: B singular, C has eigenvalue 0
        A, B, A2 = moments(x1, x2)
        yield (
            "edge",
            f"B singular, W singular sharing 0, n = {n}",
            sharing_predictor(rng, target_matrix(A, B)),
            A,
            B,
            A2,
        )


def exact_stationary(rng) -> tuple[int, int, dict | None]:
    """Exact rational instances: A = LLᵀ + I (integer), C = S J S⁻¹ with rational eigenvalues,
    B = CA, W sharing an eigenvalue; for every vector of the exact basis of {θ : Wθ = θC},
    WθA − θB, hence eqs. 62–63 at ξ = θ, must be exactly zero. Returns (instances, basis
    vectors, the first exact violation or None)."""
    count, vectors, violation = 0, 0, None
    for wb, cb in (
        ([(1, 1), (2, 1)], [(1, 1), (3, 1)]),
        ([(2, 2), (0, 1)], [(2, 1), (2, 1), (0, 1)]),
        ([(1 + 1j, 1), (3, 1)], [(1 - 1j, 1), (0, 1)]),
        ([(1, 1)] * 3, [(1, 1)] * 3),
    ):
        W, C = similar_rows(rng, wb), similar_rows(rng, cb)
        n = len(C)
        L = sympy.Matrix(rng.integers(-2, 3, (n, n)).tolist())
        A = L * L.T + sympy.eye(n)
        B = sympy.Matrix(C) * A
        Wm = sympy.Matrix(W)
        for theta in exact_solution_space(W, C):
            R = Wm * theta * A - theta * B
            gradients = (2 * Wm.T * R, 2 * R * theta.T)
            if violation is None and any(g != sympy.zeros(*g.shape) for g in gradients):
                violation = {
                    "W": str(Wm.tolist()),
                    "A": str(A.tolist()),
                    "B": str(B.tolist()),
                    "theta": str(theta.tolist()),
                    "gradients": [str(g.tolist()) for g in gradients],
                }
            vectors += 1
        count += 1
    return count, vectors, violation


class _Stationarity:
    """The float64 instances: the largest relative gradient and where, points per kind, and
    how often the target would have had a gradient."""

    def __init__(self):
        self.worst, self.where = 0.0, None
        self.counts = {"random": 0, "edge": 0, "worst-in-span": 0}
        self.target_nonzero = self.target_total = 0
        self.max_cond = 0.0

    def see(self, kind, name, W, A, B, A2) -> None:
        self.max_cond = max(self.max_cond, np.linalg.cond(A))
        basis = solution_space(W, target_matrix(A, B))
        if len(basis) == 0:
            raise AssertionError(f"{name}: the constructed W shares no eigenvalue with C")
        for theta in list(basis) + [worst_in_span(basis, W, A, B)]:
            score = relative_gradients(theta, W, A, B)
            if score > self.worst:
                self.worst, self.where = score, (name, W, A, B, theta)
            self.counts[kind] += 1
            g_xi = target_gradient(theta, theta, W, B, A2)
            self.target_total += 1
            self.target_nonzero += np.linalg.norm(g_xi) > 1e-6 * 2 * np.linalg.norm(theta) * (
                np.linalg.norm(A2, 2) + np.linalg.norm(W, 2) * np.linalg.norm(B, 2)
            )
        self.counts["worst-in-span"] += 1


def _stationary_verdict(evidence, identities, violation, seen: _Stationarity, common) -> Finding:
    if violation is not None:
        return Finding("fails", evidence=evidence, counterexample={"exact": violation}, **common)
    if seen.worst <= STATIONARY_TOL and all(identities.values()):
        return Finding("holds", evidence=evidence, **common)
    if seen.worst > STATIONARY_TOL:
        name, W, A, B, theta = seen.where
        evidence.append(fact("float-only-violation"))
        return Finding(
            "inconclusive",
            evidence=evidence,
            counterexample={
                "case": name,
                "W": W.tolist(),
                "A": A.tolist(),
                "B": B.tolist(),
                "theta": theta.tolist(),
            },
            **common,
        )
    return Finding("inconclusive", evidence=evidence, **common)


def check_stationary(effort: Effort) -> Finding:
    rng = effort.rng()
    identities = derivation_identities(2)
    instances, vectors, violation = exact_stationary(rng)
    seen = _Stationarity()
    for instance in stationary_instances(rng, effort.scale):
        seen.see(*instance)
    evidence = [
        fact("derivation-identities", identities=identities),
        fact(
            "exact-stationary", instances=instances, vectors=vectors, violated=violation is not None
        ),
        fact("random-solutions", points=seen.counts["random"]),
        fact("edge-solutions", points=seen.counts["edge"]),
        fact(
            "worst-in-span",
            spaces=seen.counts["worst-in-span"],
            worst=seen.worst,
            where=seen.where[0] if seen.where else None,
            max_cond=seen.max_cond,
        ),
        fact("target-gradient", nonzero=seen.target_nonzero, points=seen.target_total),
    ]
    if seen.max_cond > COND_LIMIT:
        evidence.append(fact("condition-beyond", limit=COND_LIMIT))
    common = dict(
        worst=seen.worst,
        tolerance=STATIONARY_TOL,
        sampled=seen.counts["random"],
        searched=seen.counts["edge"] + seen.counts["worst-in-span"] + vectors,
    )
    return _stationary_verdict(evidence, identities, violation, seen, common)


# ---- appH-derivation

# A configuration satisfies eqs. 65–66 when both residuals are ≤ 1e-12 relative (they are
# constructed to vanish: least squares on a consistent system, error ≲ 1e-14 for n ≤ 4 and
# cond(A) ≤ 1e2), and violates eq. 67 when ‖WθA − θB‖_F/(s‖θ‖_F) > 1e-8, s = ‖W‖₂‖A‖₂ + ‖B‖₂:
# 1e4 times the residuals, far above round-off. Violations are then confirmed exactly.
SATISFIED_TOL = 1e-12
DERIVATION_TOL = 1e-8


def relative_residual(M, theta, W, A, B) -> float:
    """‖M‖_F/(s‖θ‖_F), s = ‖W‖₂‖A‖₂ + ‖B‖₂: M measured against the terms of WθA − θB."""
    s = np.linalg.norm(W, 2) * np.linalg.norm(A, 2) + np.linalg.norm(B, 2)
    return float(np.linalg.norm(M) / max(s * np.linalg.norm(theta), np.finfo(float).tiny))


def enumerate_derivation(n: int, values, As):
    """Every (W, θ, B) with entries in ``values`` and A in ``As`` (integers, exact in int64):
    the tuples with θ ≠ 0 satisfying eqs. 65–66, and, among them, those violating eq. 67."""
    mats = np.array(list(product(values, repeat=n * n)), dtype=np.int64).reshape(-1, n, n)
    W = mats[:, None, None]
    theta = mats[None, :, None]
    B = mats[None, None, :]
    rows = []
    for a_index, A in enumerate(As):
        R = W @ theta @ A - theta @ B
        eq65 = np.swapaxes(W, -1, -2) @ R
        eq66 = R @ np.swapaxes(theta, -1, -2)
        stationary = ~eq65.any(axis=(-1, -2)) & ~eq66.any(axis=(-1, -2)) & theta.any(axis=(-1, -2))
        violating = stationary & R.any(axis=(-1, -2))
        for i, j, k in zip(*np.nonzero(stationary)):
            rows.append((a_index, mats[i], mats[j], mats[k], bool(violating[i, j, k])))
    return rows


def categories(W, theta, B) -> tuple[bool, bool, bool]:
    """(W invertible, θ of full rank, B + Bᵀ positive definite)."""
    sym = B + B.T
    return (
        abs(np.linalg.det(W)) > 1e-9,
        np.linalg.matrix_rank(theta) == len(theta),
        bool(np.all(np.linalg.eigvalsh(sym) > 1e-12)),
    )


def sample_stationary(rng, n: int, rank_W: int, rank_theta: int):
    """W of rank rank_W, θ of rank rank_θ, A from sampled views, and B a random point of the
    affine set where eqs. 65–66 hold (None when that set is empty)."""

    def of_rank(r):
        return rng.standard_normal((n, r)) @ rng.standard_normal((r, n))

    W, theta = of_rank(rank_W), of_rank(rank_theta)
    A, _, _ = moments(*sample_views(rng, n, 100 * n, "noise"))
    # vec(WᵀθB) = (I ⊗ Wᵀθ) vec B, vec(θBθᵀ) = (θ ⊗ θ) vec B (columns stacked).
    L = np.vstack([np.kron(np.eye(n), W.T @ theta), np.kron(theta, theta)])
    rhs = np.concatenate(
        [(W.T @ W @ theta @ A).ravel(order="F"), (W @ theta @ A @ theta.T).ravel(order="F")]
    )
    particular, *_ = np.linalg.lstsq(L, rhs, rcond=None)
    _, s, vh = np.linalg.svd(L)
    null = vh[int(np.sum(s > 1e-10 * s[0])) :]
    b = particular + null.T @ rng.standard_normal(len(null))
    B = b.reshape(n, n, order="F")
    R = residual_matrix(theta, W, A, B)
    ok = (
        max(
            relative_residual(W.T @ R, theta, W, A, B) / max(np.linalg.norm(W, 2), 1e-300),
            relative_residual(R @ theta.T, theta, W, A, B) / np.linalg.norm(theta, 2),
        )
        <= SATISFIED_TOL
    )
    return (W, theta, A, B) if ok else None


def exact_derivation_counterexample(W, theta, A, B) -> dict | None:
    """Confirm in sympy that eqs. 65–66 hold and eq. 67 fails; the replayable record."""
    Wm, Tm, Am, Bm = (
        sympy.Matrix(np.asarray(M).tolist()).applyfunc(sympy.nsimplify) for M in (W, theta, A, B)
    )
    R = Wm * Tm * Am - Tm * Bm
    zero = sympy.zeros(*Wm.shape)
    if Wm.T * R != zero or R * Tm.T != zero or Am.det() == 0:
        return None
    eq67 = Wm * Tm - Tm * Bm * Am.inv()
    if eq67 == zero:
        return None
    g_theta, g_W = stationarity_gradients(*(np.array(M, dtype=float) for M in (theta, W, A, B)))
    as_lists = lambda M: [  # noqa: E731
        [int(x) if float(x).is_integer() else float(x) for x in r] for r in np.asarray(M).tolist()
    ]
    return {
        "n": len(W),
        "W": as_lists(W),
        "theta": as_lists(theta),
        "A": as_lists(A),
        "B": as_lists(B),
        "eq65": str(Wm.T * R),
        "eq66": str(R * Tm.T),
        "eq67_residual": str(eq67),
        "autograd_gradients_at_xi_eq_theta": [g_theta.tolist(), g_W.tolist()],
        "exact": {
            "W": str(Wm.tolist()),
            "theta": str(Tm.tolist()),
            "A": str(Am.tolist()),
            "B": str(Bm.tolist()),
            "W·theta − theta·B·A⁻¹": str(eq67.tolist()),
        },
    }


class _Derivation:
    """Configurations satisfying eqs. 65–66: how many, the worst eq. 67 residual, the exact
    violations, and counts per category (W invertible, θ full rank, B + Bᵀ ≻ 0)."""

    def __init__(self):
        self.worst, self.violations, self.by_category = 0.0, [], {}

    def count(self, W, theta, B, violating: bool) -> None:
        key = categories(W, theta, B)
        total, bad = self.by_category.get(key, (0, 0))
        self.by_category[key] = (total + 1, bad + violating)

    def category_facts(self) -> list[dict]:
        facts = []
        for label, index in (
            ("W invertible", 0),
            ("θ of full rank", 1),
            ("B + Bᵀ positive definite", 2),
        ):
            total = sum(t for k, (t, _) in self.by_category.items() if k[index])
            bad = sum(b for k, (_, b) in self.by_category.items() if k[index])
            facts.append(
                fact("derivation-category", category=label, configurations=total, violating=bad)
            )
        return facts


def _exhaustive_derivation(seen: _Derivation, scale: int) -> tuple[list[dict], int]:
    """n = 1 (entries −2…2) and n = 2 (entries −1…1), exactly, against the simplest integer
    positive definite A (2 of them; 20 when thorough)."""
    spd = sorted(
        (
            np.array([[a, b], [b, c]])
            for a, b, c in product(range(1, 4), range(-2, 3), range(1, 4))
            if a * c > b * b
        ),
        key=lambda M: (
            M.tolist() != [[1, 0], [0, 1]],
            M[0, 1] == 0,
            int(np.abs(M).sum()),
            M.tolist(),
        ),
    )
    facts, stationary = [], 0
    for n, values, As in (
        (1, range(-2, 3), [np.array([[a]]) for a in range(1, 1 + 2 * scale)]),
        (2, (-1, 0, 1), spd[: 2 * scale]),
    ):
        rows = enumerate_derivation(n, values, As)
        stationary += len(rows)
        for a_index, W, theta, B, violating in rows:
            seen.count(W, theta, B, violating)
            if violating:
                A = As[a_index]
                seen.violations.append(
                    (
                        n,
                        complexity(W.tolist(), theta.tolist(), B.tolist(), A.tolist()),
                        W,
                        theta,
                        A,
                        B,
                    )
                )
                seen.worst = max(
                    seen.worst,
                    relative_residual(
                        residual_matrix(theta, W, A, B).astype(float), theta, W, A, B
                    ),
                )
        facts.append(
            fact(
                "exhaustive-derivation",
                n=n,
                configurations=len(rows),
                values=list(values),
                As=[a.tolist() for a in As],
                violating=sum(v for *_, v in rows),
            )
        )
    return facts, stationary


def _random_derivation(rng, seen: _Derivation, scale: int) -> dict:
    """W and θ of every rank, B on the affine set of eqs. 65–66, in float64."""
    sampled, bad = 0, 0
    for n in (2, 3, 4):
        for rank_W, rank_theta in product(range(n + 1), range(1, n + 1)):
            for _ in range(2 * scale):
                found = sample_stationary(rng, n, rank_W, rank_theta)
                if found is None:
                    continue
                W, theta, A, B = found
                sampled += 1
                r = relative_residual(residual_matrix(theta, W, A, B), theta, W, A, B)
                seen.worst = max(seen.worst, r)
                seen.count(W, theta, B, r > DERIVATION_TOL)
                bad += r > DERIVATION_TOL
    return fact(
        "random-derivation", configurations=sampled, violating=bad, tolerance=DERIVATION_TOL
    )


def _derivation_counterexample(violations) -> dict:
    """The simplest exact violation (smallest n, fewest non-zero entries), and the simplest one
    with W ≠ 0 beside it."""
    violations.sort(key=lambda v: (v[0], v[1]))
    for n, _, W, theta, A, B in violations:
        counterexample = exact_derivation_counterexample(W, theta, A, B)
        if counterexample is not None:
            break
    nonzero_W = next((v for v in violations if v[2].any()), None)
    if nonzero_W is not None:
        counterexample["also_with_W_nonzero"] = exact_derivation_counterexample(*nonzero_W[2:])
    return counterexample


def check_derivation(effort: Effort) -> Finding:
    rng = effort.rng()
    identities = derivation_identities(2)
    seen = _Derivation()
    evidence = [
        fact(
            "derivation-steps",
            proven=identities["eq62"] and identities["eq63"] and identities["eq65-66"],
        )
    ]
    exhaustive, stationary = _exhaustive_derivation(seen, effort.scale)
    random = _random_derivation(rng, seen, effort.scale)
    evidence += exhaustive + [random] + seen.category_facts() + [fact("why-derivation")]
    common = dict(
        worst=seen.worst,
        tolerance=DERIVATION_TOL,
        sampled=random["configurations"],
        searched=stationary,
    )
    if not seen.violations:
        if random["violating"]:
            return Finding(
                "inconclusive", evidence=evidence + [fact("float-violations-only")], **common
            )
        return Finding("holds", evidence=evidence, **common)
    counterexample = _derivation_counterexample(seen.violations)
    evidence.append(
        fact(
            "derivation-counterexample",
            n=counterexample["n"],
            W=counterexample["W"],
            theta=counterexample["theta"],
            A=counterexample["A"],
            B=counterexample["B"],
            residual=counterexample["exact"]["W·theta − theta·B·A⁻¹"],
        )
    )
    return Finding("fails", evidence=evidence, counterexample=counterexample, **common)


# ---- appH-joint


def joint_instances(rng, scale: int):
    """(kind, name, A, B): moments from sampled views, and edge cases (B = 0: views
    uncorrelated; B singular; no augmentation B = A; n = 1)."""
    for _ in range(scale):
        for augmentation in ("noise", "mask", "asymmetric"):
            for n in (1, 2, 3, 4, 8):
                A, B, _ = moments(*sample_views(rng, n, 100 * n, augmentation))
                yield "random", f"{augmentation}, n = {n}", A, B
    for n in (2, 4):
        x1, _ = sample_views(rng, n, 100 * n, "noise")
        yield "edge", f"B = 0 (C = 0), n = {n}", moments(x1, x1)[0], np.zeros((n, n))
        x1, x2 = sample_views(rng, n, 100 * n, "noise")
        x2[:, 0] = 0
        A, B, _ = moments(x1, x2)
        yield "edge", f"B singular, n = {n}", A, B
        A, B, _ = moments(*sample_views(rng, n, 100 * n, "none"))
        yield "edge", f"no augmentation (B = A, C = I), n = {n}", A, B


def _family_members(rng, scale: int) -> dict:
    """(θ, W) = (S, S·BA⁻¹·S⁻¹) for θ = I, 10⁻³I, 10³I and random S (cond 1, e^1.5, e^3) on
    every instance: the largest relative gradient and where."""
    worst, where, counts, points = 0.0, None, {"random": 0, "edge": 0}, 0
    for kind, name, A, B in joint_instances(rng, scale):
        n = len(A)
        C = target_matrix(A, B)
        members = [np.eye(n), 1e-3 * np.eye(n), 1e3 * np.eye(n)] + [
            random_invertible(rng, n, log_cond) for log_cond in (0.0, 1.5, 3.0)
        ]
        for S in members:
            score = relative_gradients(S, S @ C @ np.linalg.inv(S), A, B)
            if score > worst:
                worst, where = score, name
            points += 1
        counts[kind] += 1
    return dict(
        points=points, random=counts["random"], edge=counts["edge"], worst=worst, where=where
    )


def _tangent_nullities(rng) -> list[list[int]]:
    """The nullity of the Jacobian of eqs. 65–66 at (θ, W) = (I, C), n = 2, 3, 4: the tangent
    space of the stationary set there."""
    tangent = []
    for n in (2, 3, 4):
        A, B, _ = moments(*sample_views(rng, n, 100 * n, "asymmetric"))
        C = target_matrix(A, B)

        def stationarity(params, n=n, A=torch.as_tensor(A), B=torch.as_tensor(B)):
            theta, W = params[: n * n].reshape(n, n), params[n * n :].reshape(n, n)
            R = W @ theta @ A - theta @ B  # eqs. 65–66 at ξ = θ
            return torch.cat([(W.T @ R).reshape(-1), (R @ theta.T).reshape(-1)])

        point = torch.as_tensor(np.concatenate([np.eye(n).ravel(), C.ravel()]))
        J = torch.autograd.functional.jacobian(stationarity, point).numpy()
        s = np.linalg.svd(J, compute_uv=False)
        tangent.append([n, int(np.sum(s <= 1e-10 * s[0]))])
    return tangent


def _joint_training(rng, runs: int, n: int = 4, steps: int = 20000) -> dict:
    """From a random init (θ Gaussian, W PyTorch's), gradient descent on θ and W with an EMA
    target: how many runs reach a stationary point, with which θ and which shared spectrum."""
    augmentations = [AUGMENTATIONS[1 + r % 3] for r in range(runs)]
    moments_ = [moments(*sample_views(rng, n, 400, a))[:2] for a in augmentations]
    A = np.stack([m[0] for m in moments_])
    B = np.stack([m[1] for m in moments_])
    theta0 = np.stack([random_predictor("gaussian", n, rng) for _ in range(runs)])
    W0 = np.stack([random_predictor("pytorch", n, rng) for _ in range(runs)])
    shared0 = [
        len(solution_space(W0[r], target_matrix(A[r], B[r]), method="schur")) for r in range(runs)
    ]
    theta, W, _ = train_jointly(theta0, W0, A, B, steps=steps)
    moving, ranks, dims, norms = [], {}, {}, []
    for r in range(runs):
        g = relative_gradients(theta[r], W[r], A[r], B[r])
        if g > STATIONARY_TOL:
            moving.append(g)
            continue
        rank = int(
            np.sum(np.linalg.svd(theta[r], compute_uv=False) > 1e-6 * np.linalg.norm(theta[r], 2))
        )
        k = len(solution_space(W[r], target_matrix(A[r], B[r]), tol=1e-6, method="schur"))
        ranks[rank] = ranks.get(rank, 0) + 1
        dims[k] = dims.get(k, 0) + 1
        norms.append(float(np.linalg.norm(theta[r])))
    return dict(
        runs=runs,
        n=n,
        steps=steps,
        shared_at_init=sorted(set(shared0)),
        converged=len(norms),
        nonzero=sum(x > 1e-6 for x in norms),
        norms=[min(norms), max(norms)] if norms else None,
        ranks=sorted(ranks.items()),
        dimensions=sorted(dims.items()),
        moving=len(moving),
        moving_gradient=max(moving) if moving else None,
        tolerance=STATIONARY_TOL,
    )


def check_joint(effort: Effort) -> Finding:
    rng = effort.rng()
    proven = family_identity()
    members = _family_members(rng, effort.scale)
    tangent = _tangent_nullities(rng)
    evidence = [
        fact("family-identity", proven=proven),
        fact("family-members", **members),
        fact("tangent-nullity", nullities=tangent),
        fact("joint-training", **_joint_training(rng, runs=6 * effort.scale)),
    ]
    common = dict(
        worst=members["worst"],
        tolerance=STATIONARY_TOL,
        sampled=members["random"] * 6,
        searched=members["edge"] * 6 + len(tangent),
    )
    if proven and members["worst"] <= STATIONARY_TOL and all(k >= n * n for n, k in tangent):
        return Finding("holds", evidence=evidence, **common)
    return Finding("inconclusive", evidence=evidence, **common)
