"""The solution space {θ : Wθ = θC} (W m×m, C n×n, θ m×n) of Appendix H's Sylvester equation
(eq. 67, C = BA⁻¹), computed two independent ways:

* ``kronecker_solutions``: the null space, by SVD, of the paper's operator
  K = I_n ⊗ W − Cᵀ ⊗ I_m acting on vec θ (eq. 68; the paper writes I_m ⊗ W − Cᵀ ⊗ I_n, which
  has consistent shapes only for m = n). mn × mn: O((mn)³) = O(n⁶).
* ``schur_solutions``: the real Schur forms W = QTQᵀ, C = ZRZᵀ, never forming eq. 68's
  operator. Eigenvalues of W and C are grouped into clusters of (nearly) equal values; every
  solution is a sum of one solution per cluster shared by both, θ = Q1 Y Z2ᵀ with
  T11 Y = Y R22 where the reordered Schur forms put the cluster first in T and last in R.
  O(n³) plus the clusters' own (tiny, unless an eigenvalue repeats many times) problems.

Both decide numerical rank with the same relative tolerance (``RTOL``); ``solution_space``
runs both and cross-checks them where the Kronecker form is affordable.
"""

import math

import numpy as np
import scipy.linalg
import torch

RTOL = 1e-10

# Sine of the largest principal angle allowed between the two methods' subspaces. Each basis
# is accurate to ≈ eps·‖K‖/gap, gap = the smallest singular value above the threshold; a gap of
# 1e-8·‖K‖ (already near the tolerance) gives 2e-8, so 1e-6 flags only genuine disagreement.
SUBSPACE_TOL = 1e-6

# Above this many unknowns (mn) ``solution_space`` skips the Kronecker SVD, whose cost grows as
# (mn)³ (docs/claims/appH.md gives the timings), and trusts the Schur method alone.
KRONECKER_LIMIT = 256


class AmbiguousRank(ValueError):
    """The two methods disagree: W and C are within the tolerance of sharing an eigenvalue
    (or not), so the numerical dimension of the solution space is ill-defined at this ``tol``."""


# -- input checks --------------------------------------------------------------------------


def real_square(name: str, M) -> np.ndarray:
    """M as a float64 array, or a clear error unless it is a non-empty, finite, real square
    matrix."""
    if isinstance(M, torch.Tensor):
        M = M.detach().cpu().numpy()
    M = np.asarray(M)
    if M.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric matrix, got dtype {M.dtype}")
    M = M.astype(np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ValueError(f"{name} has non-finite entries")
    return M


def _tolerance(tol) -> float:
    tol = RTOL if tol is None else float(tol)
    if not (math.isfinite(tol) and 0 <= tol < 1):
        raise ValueError(f"tol is a relative tolerance in [0, 1), got {tol!r}")
    return tol


def _threshold(W: np.ndarray, C: np.ndarray, tol) -> float:
    return _tolerance(tol) * (np.linalg.norm(W, 2) + np.linalg.norm(C, 2))


# -- the solution space of Wθ = θC, two ways -------------------------------------------------


def sylvester_operator(W, C) -> np.ndarray:
    """K = I_n ⊗ W − Cᵀ ⊗ I_m, so that vec(Wθ − θC) = K vec θ with vec stacking columns
    (eq. 68)."""
    W, C = real_square("W", W), real_square("C", C)
    m, n = len(W), len(C)
    return np.kron(np.eye(n), W) - np.kron(C.T, np.eye(m))


def kronecker_solutions(W, C, tol=None) -> np.ndarray:
    """Orthonormal basis (k, m, n) of {θ : Wθ = θC}: right singular vectors of eq. 68's
    operator with σ ≤ tol·(‖W‖₂ + ‖C‖₂)."""
    W, C = real_square("W", W), real_square("C", C)
    m, n = len(W), len(C)
    _, s, vh = np.linalg.svd(sylvester_operator(W, C))
    null = vh[s <= _threshold(W, C, tol)]
    return null.reshape(-1, n, m).transpose(0, 2, 1).copy()


def schur_blocks(T: np.ndarray) -> list[tuple[int, int]]:
    """(start, size) of the diagonal blocks of a real quasi-triangular Schur form."""
    blocks, i = [], 0
    while i < len(T):
        size = 2 if i + 1 < len(T) and T[i + 1, i] != 0 else 1
        blocks.append((i, size))
        i += size
    return blocks


def _folded_eigenvalues(T: np.ndarray, blocks) -> np.ndarray:
    """One eigenvalue per diagonal block, folded onto the upper half-plane (a pair a ± bi is
    a single point a + |b|i, as a real Schur form cannot split it)."""
    out = []
    for start, size in blocks:
        lam = np.linalg.eigvals(T[start : start + size, start : start + size])[0]
        out.append(complex(lam.real, abs(lam.imag)))
    return np.array(out)


def _shared_clusters(eig_W: np.ndarray, eig_C: np.ndarray, radius: float):
    """Connected components of the graph on all (folded) eigenvalues of W and C with an edge
    between any two within ``radius``; returns, for each component holding eigenvalues of
    both, (block indices of W, block indices of C)."""
    points = np.concatenate([eig_W, eig_C])
    label = list(range(len(points)))

    def root(i):
        while label[i] != i:
            label[i] = label[label[i]]
            i = label[i]
        return i

    close = np.abs(points[:, None] - points[None, :]) <= radius
    for i, j in zip(*np.nonzero(np.triu(close, 1))):
        label[root(i)] = root(j)
    components = {}
    for i in range(len(points)):
        side = 0 if i < len(eig_W) else 1
        components.setdefault(root(i), ([], []))[side].append(i if side == 0 else i - len(eig_W))
    return [(w, c) for w, c in components.values() if w and c]


def _reordered(T: np.ndarray, Q: np.ndarray, blocks, chosen) -> tuple[np.ndarray, np.ndarray, int]:
    """The real Schur form QTQᵀ reordered (LAPACK trsen) so that the chosen blocks lead."""
    select = np.zeros(len(T), dtype=np.int32)
    for b in chosen:
        start, size = blocks[b]
        select[start : start + size] = 1
    ts, qs, _, _, leading, _, _, info = scipy.linalg.lapack.dtrsen(select, T, Q, job="N")
    if info != 0:
        raise np.linalg.LinAlgError(
            "reordering the Schur form failed: eigenvalues of different clusters too close to "
            "swap stably (use method='kronecker')"
        )
    return ts, qs, int(leading)


def _cluster_solutions(T11: np.ndarray, R22: np.ndarray, threshold: float) -> np.ndarray:
    """Orthonormal basis (k, a, b) of {Y : T11 Y = Y R22} for one cluster: every Y when both are
    within the threshold of one scalar (a repeated semisimple eigenvalue, e.g. W = C = I),
    else the null space of the cluster's own (ab × ab) operator by SVD."""
    a, b = len(T11), len(R22)
    mu = (np.trace(T11) + np.trace(R22)) / (a + b)
    spread = np.linalg.norm(T11 - mu * np.eye(a), 2) + np.linalg.norm(R22 - mu * np.eye(b), 2)
    if spread <= threshold:  # the operator's norm, hence every singular value, is ≤ threshold
        return np.eye(a * b).reshape(a * b, b, a).transpose(0, 2, 1)
    operator = np.kron(np.eye(b), T11) - np.kron(R22.T, np.eye(a))
    _, s, vh = np.linalg.svd(operator)
    return vh[s <= threshold].reshape(-1, b, a).transpose(0, 2, 1)


# Eigenvalues of W and C closer than CLUSTER_RADIUS·(‖W‖₂ + ‖C‖₂) are treated together. A float
# Jordan block of size p has its computed eigenvalues spread over a circle of radius
# ≈ (eps·cond)^(1/p)·‖W‖ (1e-3 for p = 5, cond = 1e3): 1e-2 keeps such a block in one cluster.
# A larger radius only costs time (bigger clusters); pairs farther apart than this are never
# numerically shared in the Schur method, which differs from the Kronecker rank only for
# strongly non-normal near-coincidences (σ_min(K) ≤ tol while the gap is ≥ 1e-2).
CLUSTER_RADIUS = 1e-2


def _schur_clusters(W: np.ndarray, C: np.ndarray):
    """The real Schur forms (T, Q, blocks) of W and (R, Z, blocks) of C, the clusters of their
    eigenvalues shared by both (``_shared_clusters``), and ‖W‖₂ + ‖C‖₂."""
    scale = np.linalg.norm(W, 2) + np.linalg.norm(C, 2)
    T, Q = scipy.linalg.schur(W, output="real")
    R, Z = scipy.linalg.schur(C, output="real")
    t_blocks, r_blocks = schur_blocks(T), schur_blocks(R)
    clusters = _shared_clusters(
        _folded_eigenvalues(T, t_blocks), _folded_eigenvalues(R, r_blocks), CLUSTER_RADIUS * scale
    )
    return (T, Q, t_blocks), (R, Z, r_blocks), clusters, scale


def cluster_unknowns(W, C) -> int:
    """The unknowns a·b of the largest per-cluster problem ``schur_solutions`` solves (a
    eigenvalues of W and b of C chained within CLUSTER_RADIUS·(‖W‖₂ + ‖C‖₂) of one another),
    whose SVD costs O((ab)³); 0 when no eigenvalues of W and C are that close. Spectra spread
    densely over the same region (learned representations, random predictors) chain into
    clusters of many eigenvalues each, where that cost is prohibitive."""
    W, C = real_square("W", W), real_square("C", C)
    (_, _, t_blocks), (_, _, r_blocks), clusters, _ = _schur_clusters(W, C)
    sizes = [sum(t_blocks[i][1] for i in w) * sum(r_blocks[j][1] for j in c) for w, c in clusters]
    return max(sizes, default=0)


def schur_solutions(W, C, tol=None) -> np.ndarray:
    """Orthonormal basis (k, m, n) of {θ : Wθ = θC} from the real Schur forms W = QTQᵀ,
    C = ZRZᵀ, independently of eq. 68's operator. Eigenvalues of W and C are grouped into
    clusters of (nearly) equal values; for each cluster shared by both, the Schur forms are
    reordered so that the cluster leads T (T11, Q1) and trails R (R22, Z2). Then θ = Q1 Y Z2ᵀ
    solves Wθ = θC iff T11 Y = Y R22, and every solution is a sum of such θ, one per shared
    cluster (θ maps C's generalised eigenspaces into W's of the same eigenvalue and kills the
    rest). The per-cluster problem is tiny unless many eigenvalues of W and C lie close together
    (``cluster_unknowns`` says how large it is)."""
    W, C = real_square("W", W), real_square("C", C)
    m, n = len(W), len(C)
    (T, Q, t_blocks), (R, Z, r_blocks), clusters, scale = _schur_clusters(W, C)
    threshold = _tolerance(tol) * scale
    pieces = []
    for w_chosen, c_chosen in clusters:
        T_c, Q_c, a = _reordered(T, Q, t_blocks, w_chosen)
        others = [b for b in range(len(r_blocks)) if b not in set(c_chosen)]
        R_c, Z_c, first = _reordered(R, Z, r_blocks, others)
        Y = _cluster_solutions(T_c[:a, :a], R_c[first:, first:], threshold)
        pieces.append(Q_c[:, :a] @ Y @ Z_c[:, first:].T)
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return np.zeros((0, m, n))
    basis = np.concatenate(pieces)
    if len(pieces) > 1:  # each cluster's piece is orthonormal; the clusters' spans are not
        q, _ = np.linalg.qr(basis.reshape(len(basis), m * n).T)
        basis = q.T.reshape(-1, m, n)
    return basis


def principal_sine(U: np.ndarray, V: np.ndarray) -> float:
    """Sine of the largest principal angle between the spans of two orthonormal bases
    (k, m, n) of equal k (0 when k = 0)."""
    if len(U) == 0:
        return 0.0
    u, v = U.reshape(len(U), -1), V.reshape(len(V), -1)
    return float(np.linalg.norm(v - (v @ u.T) @ u, 2))


def solution_space(W, C, tol=None, method: str = "auto") -> np.ndarray:
    """Orthonormal basis, shape (k, m, n), of {θ ∈ R^{m×n} : Wθ = θC} for square real W (m×m)
    and C (n×n); k = 0 when θ = 0 is the only solution. In Appendix H, C = BA⁻¹ (eq. 67,
    ``target_matrix``) and m = n.

    A singular value of the Sylvester operator counts as zero below tol·(‖W‖₂ + ‖C‖₂)
    (default ``RTOL``, justified there). ``method``: "kronecker" (eq. 68, SVD of an mn × mn
    matrix), "schur" (real Schur forms, scales), "both" (both, cross-checked; raises
    ``AmbiguousRank`` when they disagree), or "auto": "both" while mn ≤ KRONECKER_LIMIT,
    else "schur". Returns the Schur method's basis whenever it runs."""
    if method not in ("auto", "both", "kronecker", "schur"):
        raise ValueError(f"method must be 'auto', 'both', 'kronecker' or 'schur', not {method!r}")
    W, C = real_square("W", W), real_square("C", C)
    if method == "auto":
        method = "both" if len(W) * len(C) <= KRONECKER_LIMIT else "schur"
    if method == "kronecker":
        return kronecker_solutions(W, C, tol)
    schur = schur_solutions(W, C, tol)
    if method == "both":
        kron = kronecker_solutions(W, C, tol)
        if len(kron) != len(schur) or principal_sine(kron, schur) > SUBSPACE_TOL:
            s = np.linalg.svd(sylvester_operator(W, C), compute_uv=False)
            raise AmbiguousRank(
                f"the Kronecker form finds {len(kron)} solutions, the Schur method {len(schur)}"
                f" (largest principal sine {principal_sine(kron, schur) if len(kron) == len(schur) else 1:.2g}); "
                f"threshold {_threshold(W, C, tol):.3g}, smallest singular values of K: "
                f"{np.array2string(s[-min(len(s), len(kron) + 3) :], precision=3)}. W and C are "
                "within the tolerance of sharing an eigenvalue: pass another tol"
            )
    return schur


def residual(W, C, basis: np.ndarray) -> float:
    """max over the basis of ‖Wθ − θC‖_F / ((‖W‖₂ + ‖C‖₂)·‖θ‖_F)."""
    W, C = real_square("W", W), real_square("C", C)
    if len(basis) == 0:
        return 0.0
    scale = np.linalg.norm(W, 2) + np.linalg.norm(C, 2)
    r = np.linalg.norm(W @ basis - basis @ C, axis=(1, 2))
    return float(
        np.max(r / (np.linalg.norm(basis, axis=(1, 2)) * max(scale, np.finfo(float).tiny)))
    )


def separation(W, C) -> float:
    """σ_min(K)/(‖W‖₂ + ‖C‖₂): 0 exactly when Wθ = θC has a non-zero solution; a solution is
    numerically non-trivial when this is ≤ RTOL. Uses eq. 68's operator (mn ≤ a few hundred)."""
    W, C = real_square("W", W), real_square("C", C)
    scale = np.linalg.norm(W, 2) + np.linalg.norm(C, 2)
    s = np.linalg.svd(sylvester_operator(W, C), compute_uv=False)
    return float(s[-1] / scale) if scale > 0 else 0.0


def distance_to_sharing(W, C) -> float:
    """min over eigenvalues μ of C of σ_min(W − μI), relative to ‖W‖₂ + ‖C‖₂: the norm of the
    smallest (complex) change of W after which W and C share an eigenvalue. O(n⁴); scales to
    n in the hundreds where ``separation`` does not."""
    W, C = real_square("W", W), real_square("C", C)
    scale = np.linalg.norm(W, 2) + np.linalg.norm(C, 2)
    eye = np.eye(len(W))
    d = min(np.linalg.svd(W - mu * eye, compute_uv=False)[-1] for mu in np.linalg.eigvals(C))
    return float(d / scale) if scale > 0 else 0.0
