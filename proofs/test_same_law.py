"""Proofs behind raft-byolp-same-law (theory.same_law): the default initialisation's symmetry,
the statistical comparison, and its power."""

import numpy as np
import pytest
from torch import nn

from theory import same_law
from theory.thm51 import engine


@pytest.mark.parametrize("fan_in", [1, 7, 128, 300])
def test_default_linear_init_draws_weight_and_bias_from_symmetric_intervals(fan_in):
    (w_low, w_high), (b_low, b_high) = same_law.init_bounds(fan_in, 5)
    assert w_low == -w_high == pytest.approx(-1 / np.sqrt(fan_in)) and b_low == -b_high


def test_the_mirror_map_negates_exactly_the_output_layer_of_the_mlp():
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))
    signs = engine.negate_output_layer(mlp)
    assert signs == {"0.weight": 1.0, "0.bias": 1.0, "2.weight": -1.0, "2.bias": -1.0}


def test_the_statistic_tells_the_identity_initialised_pair_apart():
    power = same_law.compare_laws(
        np.random.default_rng(1), "linear", runs=16, identity_predictor=True
    )
    assert power["corrected"] < same_law.ALPHA


def test_raft_and_byolp_runs_have_the_same_law(verdict):
    v = verdict("raft-byolp-same-law")
    assert v["verdict"] == "holds" and v["worst"] >= same_law.ALPHA
