"""The theory probes (training/loop/probes.py) against the theory's own functions on hand-built
tensors, their None where they do not apply, and ``python -m training.probe`` recomputing what a
run recorded."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from theory import appH, thm41
from training import run
from training.loop import checkpoint_probes, data, probes

pytestmark = pytest.mark.usefixtures("one_thread")


def _unit_batch(seed: int, n: int = 16, d: int = 5) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(4)]


def test_theorem_41_probes_are_the_bounds_per_sample_ratios():
    p1, p2, t1, t2 = _unit_batch(0)
    values = probes.theorem41(p1, p2, t1, t2, 0.7, 1.3)
    for name, key in probes.BOUNDS.items():
        lhs, rhs = thm41.BOUNDS[name].torch_sides(p1, p2, t1, t2, 0.7, 1.3)  # checked form
        assert (
            values[f"{key}_max"] == (lhs / rhs).max()
            and values[f"{key}_mean"] == (lhs / rhs).mean()
        )


def test_the_symmetrised_probe_counts_the_samples_where_its_bound_fails():
    """p1 = p2 = t1: the symmetrised L_BYOL' keeps only β/2·‖p̂2 − t̂2‖², so at α = 4, β = 1 the
    ratio is 1/((1/4 + 1)/2) = 1.6 in every sample, while the one-sided bound holds."""
    p, _, _, t = _unit_batch(1)
    values = probes.theorem41(p, p, p, t, 4.0, 1.0)
    assert values["thm41_sym_violations"] == 16 and abs(values["thm41_sym_max"] - 1.6) < 1e-12
    assert values["thm41_violations"] == 0 and values["thm41_symsym_violations"] == 0


def test_the_expected_probe_is_the_ratio_of_the_batch_means():
    p1, p2, t1, t2 = _unit_batch(3)
    lhs, rhs = thm41.BOUNDS["thm4.1-sym"].torch_sides(p1, p2, t1, t2, 0.7, 1.3)
    assert (
        probes.theorem41(p1, p2, t1, t2, 0.7, 1.3)["thm41_sym_expected"] == lhs.mean() / rhs.mean()
    )


def test_the_symmetrised_expected_probe_stays_below_one_on_a_batch_closed_under_the_swap():
    """The samples p1 = p2 = t1 of the test above (per-sample ratio 1.6) beside their swapped
    views: an exchangeable batch, whose ratio of means the theory bounds by 1."""
    p, _, _, t = _unit_batch(1)
    values = probes.theorem41(
        torch.cat([p, p]), torch.cat([p, p]), torch.cat([p, t]), torch.cat([t, p]), 4.0, 1.0
    )
    assert values["thm41_sym_max"] > 1.5 and values["thm41_sym_expected"] <= 1 + thm41.TOLERANCE


def _views_with_target(C: np.ndarray, samples: int = 64, seed: int = 0):
    """Projections z1 and z2 = z1 Cᵀ, so that B = E[z2z1ᵀ] = C·A and BA⁻¹ = C exactly in theory."""
    z1 = np.random.default_rng(seed).standard_normal((samples, len(C)))
    return z1, z1 @ C.T


def test_appendix_h_probes_are_the_theory_functions_on_the_moments():
    C = np.diag([1.0, 5.0, 6.0, 7.0])
    W = np.array([[1.0, 0.3, 0, 0], [0, 2.0, 0, 0], [0, 0, 3.0, 0.1], [0, 0, 0, 4.0]])  # shares 1
    z1, z2 = _views_with_target(C)
    values = probes.linear_probes(W, z1, z2)
    A, B, _ = appH.moments(z1, z2)
    target = appH.target_matrix(A, B)
    assert values["appH_distance"] == appH.distance_to_sharing(W, target)
    assert values["appH_distance"] < 1e-14 and values["appH_dimension"] == 1
    assert values["appH_dimension"] == len(appH.solution_space(W, target))
    assert values["w_eigenvalues"][-1] == pytest.approx([1.0, 0.0]) and values["appH_note"] is None


def test_the_identity_distance_is_0_at_i_and_1_at_0():
    assert (
        probes.identity_distance(np.eye(5)) == 0.0
        and probes.identity_distance(np.zeros((5, 5))) == 1.0
    )


def test_the_spectral_distance_matches_eigenvalues_optimally():
    W, C = np.diag([1.0, 2.0]), np.diag([2.5, 0.5])  # matched 1 ↔ 0.5, 2 ↔ 2.5
    assert probes.spectral_distance(W, C) == pytest.approx(0.5 / (2.0 + 2.5), rel=1e-14)


def test_directpred_alignment_is_one_exactly_when_w_shares_fs_eigenvectors():
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    F = U @ np.diag([6.0, 5, 4, 3, 2, 1]) @ U.T
    shared = U @ np.diag([1.0, -2, 3, 0.5, 1, 2]) @ U.T
    assert probes.directpred(shared, F)["directpred_alignment"] == pytest.approx(1.0, abs=1e-12)
    assert probes.directpred(rng.standard_normal((6, 6)), F)["directpred_alignment"] < 0.9


def test_the_linear_probes_are_none_without_a_linear_predictor_and_noted_for_a_singular_a():
    assert probes.linear_weight(nn.Sequential(nn.Linear(4, 4), nn.ReLU())) is None
    assert set(probes.linear_probes(None, None, None).values()) == {None}
    z1, z2 = _views_with_target(np.eye(4), samples=3)  # 3 samples cannot span R^4
    values = probes.linear_probes(np.eye(4), z1, z2)
    assert values["appH_distance"] is None and "singular" in values["appH_note"]
    assert values["w_singular_values"] == [1.0] * 4


def test_python_m_training_probe_recomputes_what_the_run_recorded(tmp_path):
    g = torch.Generator().manual_seed(0)

    def split(n):
        images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
        return data.Images(images, torch.arange(n) % 10, tuple(f"class{i}" for i in range(10)))

    data.write_cifar10(tmp_path / "cifar", split(8), split(6))
    out = tmp_path / "run"
    assert (
        run.main(
            [
                "byol-lp",
                "--dataset",
                "cifar10",
                "--data-dir",
                str(tmp_path / "cifar"),
                "--batch-size",
                "4",
                "--image-size",
                "16",
                "--width",
                "4",
                "--probe-size",
                "6",
                "--epochs",
                "1",
                "--linear-epochs",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    recorded = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    recomputed = checkpoint_probes.measure_checkpoint(out)
    theory = {k for k in recorded if k.startswith(("thm41_", "w_", "c_", "appH_", "directpred_"))}
    assert theory == set(recomputed) - {"variant", "epoch", "step"}
    assert all(recomputed[k] == recorded[k] for k in theory)
    assert recorded["thm41_violations"] == 0 and recorded["w_eigenvalues"] is not None
