"""MP of Chen, Sun, Woodruff, Zhang (NeurIPS 2016) on the blackboard: the theoretical
variant (bb_mp, successive sampling on the grid) and the experiments' variant of Cohen-Addad,
Wang, Woodruff, Zhou §4 (bb_mp_paper, doubling pruning threshold). Exact bits on instances
computed by hand, output validity, the model, bad input. Fixed seeds throughout.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from protocols.baselines.common import gamma_bits as gamma
from protocols.baselines.common import run
from protosim import BlackboardModel, ConfigError

# -- bb_mp_paper ---------------------------------------------------------------------------


def test_mp_paper_bits_by_hand_one_site():
    # One site, d = 1, points 0, 10, 20, 30; k = 1, r0 = 1, c = 3 (R = ceil(3·log2 4) = 6).
    # Thresholds 1, 2, 4, 8 never reach another point, so each round removes its sample only:
    # counts 4, 3, 2, 1, then 0 (gamma(5) = 5, gamma(4) = 5, gamma(3) = 3, gamma(2) = 3,
    # gamma(1) = 1); a site id is clog2(1) = 1 bit (clog2 is at least 1); each sample is a
    # Points32 list of one point: gamma(2) + 32 = 35 bits.
    X = np.array([[0.0], [10.0], [20.0], [30.0]])
    r = run("bb_mp_paper", BlackboardModel(), [X], seed=4, k=1, c=3.0)
    assert r.bits == (5 + 5 + 3 + 3 + 1) + 4 * (1 + 35) == 161
    assert r.output["n_centers"] == 4 and r.output["pruning_rounds"] == 4 and r.output["R"] == 6
    assert sorted(r.output["centers"].ravel()) == [0, 10, 20, 30] and r.output["cost"] == 0


def test_mp_paper_prunes_within_the_threshold():
    # Points 0 and 0.5: the first sample prunes the other (0.5 <= r0 = 1): one center.
    r = run("bb_mp_paper", BlackboardModel(), [np.array([[0.0], [0.5]])], k=1, c=5.0)
    assert r.output["n_centers"] == 1 and r.bits == gamma(3) + 1 + 35 + gamma(1) == 40
    # With r0 = 0.25 it is not pruned and is sampled in round 2.
    r = run("bb_mp_paper", BlackboardModel(), [np.array([[0.0], [0.5]])], k=1, c=5.0, r0=0.25)
    assert r.output["n_centers"] == 2


def test_mp_paper_charges_k_site_ids_per_round():
    X = load_digits().data
    parts = np.array_split(X, 6)
    r = run("bb_mp_paper", BlackboardModel(), parts, seed=1, k=10, c=11.0)
    rounds = r.output["pruning_rounds"]
    assert r.by_type["Picks"]["bits"] == rounds * 10 * math.ceil(math.log2(6))
    # every sampled point is a data point, and one round samples at most k
    S = r.output["centers"]
    assert len(S) <= 10 * rounds
    assert all((X == s).all(axis=1).any() for s in S)
    # Communication stops growing with c once everything is pruned (the paper's Fig. 5b).
    r20 = run("bb_mp_paper", BlackboardModel(), parts, seed=1, k=10, c=20.0)
    assert r20.bits == r.bits and rounds < r.output["R"]


# -- bb_mp (theoretical) -------------------------------------------------------------------


def test_mp_bits_by_hand():
    # One site on the grid {0..15} (log2Delta = 4), d = 1: points 0, 0, 0, 15. k = 1,
    # alpha = 1 (m = 1), beta = 1/2. Radii 0, 1, √2, 2, ..., 16 (10 of them).
    # Round: count gamma(5) = 5; a 1-bit site id; the sample gamma(2) + 4 = 7.
    #  - sample 0: probes at radii 2^(4/2), 2^(2/2)... all hold the three zeros (3 >= 2):
    #    4 probes of gamma(4) = 5 bits; ν = 0 removes the zeros. Then the count gamma(2) = 3,
    #    1 <= m: stop; the leftover 15 (7 bits); weights of S = [0, 15]: gamma(4) + gamma(2).
    #  - sample 15: probes hold 1, 1, 1 (gamma(2) = 3 each) until ν = 16 removes all; the
    #    count gamma(1) = 1; no leftover; weights of S = [15]: gamma(5).
    X = np.array([[0.0], [0.0], [0.0], [15.0]])
    seen = set()
    for seed in range(6):
        r = run("bb_mp", BlackboardModel(), [X], seed=seed, k=1, log2Delta=4, alpha=1.0, beta=0.5)
        S = r.output["S"].ravel().tolist()
        if S == [0.0, 15.0]:
            assert r.bits == 5 + 1 + 7 + 4 * 5 + 3 + 7 + (5 + 3) == 51
            assert r.output["weights"].tolist() == [3, 1]
        else:
            assert S == [15.0]
            assert r.bits == 5 + 1 + 7 + 3 * 3 + 1 + 5 == 28
            assert r.output["weights"].tolist() == [4]
        seen.add(len(S))
    assert seen == {1, 2}  # both branches were exercised


def test_mp_weighted_summary_on_digits():
    # |S| = O(k log n) with weights summing to n, and k-means on the weighted S within 1.6x
    # of the best of 3 k-means runs (measured 1.11, 1.43, 1.14 for seeds 0, 1, 2; |S| = 135,
    # 37, 67: a round whose radius overshoots the β-quantile removes most of U at once).
    X = load_digits().data
    ref = min(KMeans(10, n_init=1, random_state=i).fit(X).inertia_ for i in range(3))
    for seed in range(3):
        r = run("bb_mp", BlackboardModel(), np.array_split(X, 8), seed=seed, k=10, log2Delta=5)
        assert r.output["weights"].sum() == len(X)
        assert len(r.output["S"]) <= 2 * 10 * math.log2(len(X))
        assert len(r.output["centers"]) == 10
        assert r.output["cost"] <= 1.6 * ref, r.output["cost"] / ref


def test_mp_models_and_bad_input():
    from protosim.registry import get_protocol

    for name, params in [("bb_mp", {"k": 1, "log2Delta": 4}), ("bb_mp_paper", {"k": 1, "c": 1.0})]:
        with pytest.raises(ConfigError, match="does not run on the coordinator"):
            get_protocol(name).bind(params, "coordinator")
    with pytest.raises(ConfigError, match="maps to grid value"):
        run("bb_mp", BlackboardModel(), [np.array([[0.0], [40.0]])], k=1, log2Delta=4)
    with pytest.raises(ConfigError, match="protocol.params.k"):
        run("bb_mp_paper", BlackboardModel(), [np.array([[0.0], [1.0]])], k=3, c=1.0)
    with pytest.raises(ConfigError, match="protocol.params.beta"):
        get_protocol("bb_mp").bind({"k": 1, "log2Delta": 4, "beta": 1.5}, "blackboard")
