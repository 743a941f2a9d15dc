"""The theory measured on a model as it trains: Theorem 4.1 on its real outputs and, for a linear
predictor q(z) = Wz, W's spectrum, Appendix H's Sylvester equation on the learned representations
and DirectPred's eigenspace alignment. ``training.run`` records them every epoch in
``metrics.jsonl`` (on the probe set, as every metric); ``python -m training.probe`` computes them
from a checkpoint.

Every quantity is the theory's own function: Theorem 4.1's sides are ``theory.thm41.BOUNDS``
(per sample, over ``theory.objectives``); the moments, C = BA⁻¹, the solution space and the
distance to a shared eigenvalue are ``theory.appH``'s. The outputs and the theorem's ratios are
computed on the device without reading it (``on_device``); one read (``read``) brings them, W and
the projections to the host, where the linear algebra runs in float64 (``linear_probes``).

The keys (None where they do not apply: no linear predictor, C undefined, a non-finite value):

- ``thm41_max``, ``thm41_mean``, ``thm41_violations``: the largest and the mean per-sample ratio
  L_BYOL / ((1/α + 1/β)·L_BYOL') of Theorem 4.1 as eq. 8 states it (one-sided: the cross-model
  term on the second view), and how many samples exceed 1 + ``thm41.TOLERANCE`` (none can: it is
  proved); ``thm41_sym_*``: L_BYOL(p1, t2) against the symmetrised L_BYOL' that training
  minimises, the form that can exceed 1 (up to (2α + β)/(α + β)); ``thm41_symsym_*``: both sides
  symmetrised (proved). α, β are the run's (``thm41_alpha``, ``thm41_beta``; 1 for BYOL). The
  sides are evaluated in float64 at the outputs.
- ``thm41_expected``, ``thm41_sym_expected``, ``thm41_symsym_expected``: the ratio of
  expectations over the probe batch, mean LHS / mean RHS, for each form: what Theorem 4.1 bounds
  (its L's are expectations). With the two views drawn alike the symmetrised one is bounded by 1
  in expectation (``thm4.1-sym-exchangeable``) even where per-sample ratios exceed 1.
- ``w_identity_distance``: ‖W − I‖_F/√D, how far W is from the apparent collapse W = I
  (Section 3: "it never converges to this apparent collapse").
- ``w_eigenvalues`` ([re, im] pairs, by decreasing modulus), ``w_singular_values`` (decreasing).
- ``c_eigenvalues``: of C = BA⁻¹ (eq. 67) with A = E[z1z1ᵀ], B = E[z2z1ᵀ] over the probe set,
  z1, z2 the online projections f_θ(t1(x)), f_θ(t2(x)): the representations W acts on.
- ``appH_distance``: ``appH.distance_to_sharing(W, C)``, the relative size of the smallest change
  of W after which W and C share an eigenvalue; ``appH_dimension``: dim {Θ : WΘ = ΘC} at
  ``appH.RTOL`` (``appH.solution_space``); ``appH_spectral_distance``: the mean |λ_i(W) − μ_π(i)(C)|
  over the matching π of the two spectra that minimises it, relative to ‖W‖₂ + ‖C‖₂ (0 when the
  spectra coincide: how far W's spectrum is from C's as a whole); ``appH_note``: why a value is
  missing: C undefined (A singular: fewer probe images than dimensions, or collapsed
  projections), or the dimension not computed because the Schur method would have to solve a
  cluster of more than DIMENSION_UNKNOWNS unknowns (``appH.cluster_unknowns``: learned spectra
  often chain into clusters of tens of eigenvalues, and one such cluster costs minutes).
- ``directpred_cosines``: for each eigenvector u_j of F = E[zzᵀ] (the correlation of the
  predictor's inputs, both views), by decreasing eigenvalue, cos(Wu_j, u_j) = u_jᵀWu_j/‖Wu_j‖;
  ``directpred_alignment``: the mean |cos| over the eigenvalues above ``appH.RTOL``·λ_max(F), 1
  when every eigenvector of F is one of W. This is the eigenspace alignment of Tian, Chen and
  Ganguli (2021), "Understanding self-supervised learning dynamics without contrastive pairs"
  (ICML; DirectPred, github.com/facebookresearch/luckmatters, ssl/): their analysis predicts that
  W_p's eigenspaces align with F's during training, and DirectPred sets W_p from F's
  eigenvectors. The sign of a cosine is the sign of W's eigenvalue there (RAFT's W ≈ −BYOL''s).
"""

import numpy as np
import scipy.optimize
import torch
from torch import nn

from theory import appH, thm41
from training.loop import evaluate
from training.loop.outputs import finite

BOUNDS = {"thm4.1": "thm41", "thm4.1-sym": "thm41_sym", "thm4.1-symsym": "thm41_symsym"}
# The largest per-cluster problem of appH.solution_space solved every epoch: its SVD of a
# (ab)×(ab) matrix takes a fraction of a second at 512 unknowns and grows as (ab)³.
DIMENSION_UNKNOWNS = 512
LINEAR_KEYS = (
    "w_identity_distance",
    "w_eigenvalues",
    "w_singular_values",
    "c_eigenvalues",
    "appH_distance",
    "appH_dimension",
    "appH_spectral_distance",
    "appH_note",
    "directpred_cosines",
    "directpred_alignment",
)


def linear_weight(predictor: nn.Module) -> torch.Tensor | None:
    """W of a linear predictor q(z) = Wz (trained or fixed), None for any other predictor,
    including the authors' q(z) = Wz + b (``--predictor-bias``): Appendix H's analysis is of
    q(z) = Wz."""
    if isinstance(predictor, nn.Linear) and predictor.bias is None:
        return predictor.weight.detach()
    return None


@torch.no_grad()
def outputs(online, predictor, target, probe: evaluate.Probe) -> dict[str, torch.Tensor]:
    """The online projections z1, z2 of the probe's two views, the predictions p1, p2 and the
    teacher outputs t1, t2, in evaluation mode as ``evaluate.probe_metrics``; modes restored."""
    modes = evaluate._eval_mode(online, predictor, target)
    try:
        z1, z2 = (evaluate._in_chunks(online, x) for x in (probe.x1, probe.x2))
        p1, p2 = (evaluate._in_chunks(predictor, z) for z in (z1, z2))
        t1, t2 = (evaluate._in_chunks(target, x) for x in (probe.x1, probe.x2))
    finally:
        for module, mode in zip((online, predictor, target), modes):
            module.train(mode)
    return {"z1": z1, "z2": z2, "p1": p1, "p2": p2, "t1": t1, "t2": t2}


def theorem41(p1, p2, t1, t2, alpha: float, beta: float) -> dict[str, torch.Tensor]:
    """Per bound of ``BOUNDS``: the largest and the mean per-sample LHS/RHS, the number of
    samples above 1 + TOLERANCE, and the ratio of the batch means (mean LHS / mean RHS), as 0-d
    device tensors (NaN for a degenerate output: nothing is
    read to check it). The sides are computed in float64, where TOLERANCE is meaningful."""
    cases = torch.stack([p1, p2, t1, t2], dim=1).double()
    values = {}
    for name, key in BOUNDS.items():
        ratio = thm41.ratio(thm41.BOUNDS[name], validate=False)(cases, alpha, beta)
        values[f"{key}_max"] = ratio.max()
        values[f"{key}_mean"] = ratio.mean()
        values[f"{key}_violations"] = (ratio > 1 + thm41.TOLERANCE).sum()
        lhs, rhs = thm41.BOUNDS[name].torch_sides(*cases.unbind(dim=1), alpha, beta, validate=False)
        values[f"{key}_expected"] = lhs.mean() / rhs.mean()
    return values


def on_device(
    online, predictor, target, probe, alpha: float, beta: float
) -> dict[str, torch.Tensor]:
    """Everything the host needs, computed and left on the device: Theorem 4.1's summaries, and
    with a linear predictor W and the projections z1, z2."""
    out = outputs(online, predictor, target, probe)
    values = theorem41(out["p1"], out["p2"], out["t1"], out["t2"], alpha, beta)
    weight = linear_weight(predictor)
    if weight is not None:
        values.update(W=weight, z1=out["z1"], z2=out["z2"])
    return values


def read(values: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Every tensor of ``values`` on the host in float64, by one device read."""
    flat = torch.cat([v.detach().reshape(-1).double() for v in values.values()]).cpu().numpy()
    host, start = {}, 0
    for key, v in values.items():
        host[key] = flat[start : start + v.numel()].reshape(tuple(v.shape))
        start += v.numel()
    return host


def _spectrum(values: np.ndarray) -> list[list[float]]:
    """Eigenvalues as [re, im] pairs by decreasing modulus."""
    ordered = values[np.argsort(-np.abs(values), kind="stable")]
    return [[float(v.real), float(v.imag)] for v in ordered]


def spectral_distance(W: np.ndarray, C: np.ndarray) -> float:
    """The mean |λ_i(W) − μ_π(i)(C)| over the matching π that minimises it, relative to
    ‖W‖₂ + ‖C‖₂."""
    lam, mu = np.linalg.eigvals(W), np.linalg.eigvals(C)
    cost = np.abs(lam[:, None] - mu[None, :])
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    scale = np.linalg.norm(W, 2) + np.linalg.norm(C, 2)
    return float(cost[rows, cols].mean() / scale) if scale > 0 else 0.0


def directpred(W: np.ndarray, F: np.ndarray) -> dict:
    """cos(Wu_j, u_j) for the eigenvectors u_j of the symmetric F, by decreasing eigenvalue, and
    the mean |cos| over the eigenvalues above appH.RTOL·λ_max (None when there is none, or W
    maps one of them to 0)."""
    eigenvalues, vectors = np.linalg.eigh(F)
    order = np.argsort(-eigenvalues, kind="stable")
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    images = W @ vectors
    norms = np.linalg.norm(images, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosines = np.einsum("ij,ij->j", vectors, images) / norms
    kept = (
        eigenvalues > appH.RTOL * eigenvalues[0] if eigenvalues[0] > 0 else np.zeros(len(F), bool)
    )
    usable = kept.any() and np.all(np.isfinite(cosines[kept]))
    return {
        "directpred_cosines": [float(c) if np.isfinite(c) else None for c in cosines],
        "directpred_alignment": float(np.abs(cosines[kept]).mean()) if usable else None,
    }


def identity_distance(W: np.ndarray) -> float:
    """‖W − I‖_F/√D: 0 at the apparent collapse W = I (Section 3), 1 at W = 0; the root mean
    square over the basis vectors e_i of ‖(W − I)e_i‖."""
    return float(np.linalg.norm(W - np.eye(len(W))) / np.sqrt(len(W)))


def linear_probes(W: np.ndarray | None, z1: np.ndarray | None, z2: np.ndarray | None) -> dict:
    """The keys of LINEAR_KEYS for a linear predictor W on projections z1, z2 (host, float64);
    all None without one. A non-finite W or projection, or a singular A, says so in
    ``appH_note`` instead of raising: a diverged or collapsed model is a measurement too."""
    values = dict.fromkeys(LINEAR_KEYS)
    if W is None:
        return values
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(z1)) and np.all(np.isfinite(z2))):
        values["appH_note"] = "W or the projections have non-finite entries"
        return values
    values["w_identity_distance"] = identity_distance(W)
    values["w_eigenvalues"] = _spectrum(np.linalg.eigvals(W))
    values["w_singular_values"] = [float(s) for s in np.linalg.svd(W, compute_uv=False)]
    A, B, A2 = appH.moments(z1, z2)
    values.update(directpred(W, (A + A2) / 2))
    try:
        C = appH.target_matrix(A, B)
        values["c_eigenvalues"] = _spectrum(np.linalg.eigvals(C))
        values["appH_distance"] = appH.distance_to_sharing(W, C)
        values["appH_spectral_distance"] = spectral_distance(W, C)
        values.update(_dimension(W, C))
    except (ValueError, np.linalg.LinAlgError) as error:
        values["appH_note"] = str(error)
    return values


def _dimension(W: np.ndarray, C: np.ndarray) -> dict:
    """dim {Θ : WΘ = ΘC} at appH.RTOL, unless its largest cluster is too costly (then None, and
    the note says so)."""
    unknowns = appH.cluster_unknowns(W, C)
    if unknowns > DIMENSION_UNKNOWNS:
        return {
            "appH_note": f"dimension not computed: a cluster of eigenvalues of W and C within "
            f"appH's CLUSTER_RADIUS has {unknowns} unknowns (> {DIMENSION_UNKNOWNS})"
        }
    return {"appH_dimension": len(appH.solution_space(W, C))}


def measure(
    online, predictor, target, probe, alpha: float | None = None, beta: float | None = None
) -> dict:
    """The probes of the model as it is now, JSON-ready (see the module's docstring for the
    keys); α, β default to 1 (BYOL has none). Reads the device once."""
    alpha, beta = (1.0 if w is None else float(w) for w in (alpha, beta))
    host = read(on_device(online, predictor, target, probe, alpha, beta))
    metrics = {}
    for key in BOUNDS.values():
        metrics[f"{key}_max"] = finite(float(host[f"{key}_max"]))
        metrics[f"{key}_mean"] = finite(float(host[f"{key}_mean"]))
        metrics[f"{key}_violations"] = int(host[f"{key}_violations"])
        metrics[f"{key}_expected"] = finite(float(host[f"{key}_expected"]))
    metrics.update(thm41_alpha=alpha, thm41_beta=beta)
    metrics.update(linear_probes(host.get("W"), host.get("z1"), host.get("z2")))
    return metrics
