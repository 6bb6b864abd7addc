"""The coreset and one-shot baselines: BEL13 (Balcan, Ehrlich, Liang 2013) on the coordinator
model and on graphs, k-means|| (Bahmani et al. 2012) on the coordinator model and the
blackboard, merge-and-reduce with fan-in f, and send-everything. Exact bits on instances
computed by hand, output validity and size, the models each claims, bad input. Fixed seeds.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from protocols.baselines.common import flood_crossings, run
from protocols.baselines.common import gamma_bits as gamma
from protocols.baselines.merge_reduce import merge_tree
from protosim import (
    COORDINATOR,
    BlackboardModel,
    ConfigError,
    CoordinatorModel,
    GraphModel,
)
from protosim.registry import get_protocol


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data
    ref = min(KMeans(10, n_init=1, random_state=i).fit(X).inertia_ for i in range(3))
    return X, ref


# -- BEL13 ---------------------------------------------------------------------------------

BEL_PARTS = [np.array([[0.0], [2.0]]), np.array([[10.0], [14.0]])]


def test_bel13_portions_by_hand():
    # k = 1, t = 2. Site 0: B_0 = {1}, costs 1, 1, c_0 = 2. Site 1: B_1 = {12}, c_1 = 8.
    # t_0 = ceil(2·2/10) = 1 < n_0: one sample q (cost 1) of weight 10/(2·1) = 5 and the
    # center of weight 2 - 5 = -3. t_1 = ceil(2·8/10) = 2 >= n_1: its points, weight 1.
    r = run("bel13", CoordinatorModel(), BEL_PARTS, seed=3, k=1, t=2)
    P, w = r.output["coreset"].ravel(), r.output["weights"]
    assert r.output["portion_sizes"] == [2, 2] and r.output["coreset_size"] == 4
    assert P[0] in (0.0, 2.0) and P[1] == 1.0 and list(P[2:]) == [10.0, 14.0]
    assert list(w) == [5.0, -3.0, 1.0, 1.0] and w.sum() == 4  # weights sum to n
    # bits: c_i up (2 x 32), the total down (2 x 32), each portion 2·gamma(3) + 2·(1 + 1)·32
    assert r.bits == 64 + 64 + 2 * (2 * gamma(3) + 2 * 2 * 32) == 396
    assert r.rounds == 3


def test_bel13_flooding_on_a_path_charges_every_edge_once():
    # Path coord - site0 - site1: |E| = 2, N = 3, so each item crosses 2|E| - (N - 1) = 2
    # edges. Items: origin (1 bit) + c_i (32); origin + portion (134).
    r = run("bel13", GraphModel(nx.path_graph(3)), BEL_PARTS, seed=3, k=1, t=2)
    assert flood_crossings(nx.path_graph(3)) == 2
    assert r.bits == 2 * (2 * (1 + 32) + 2 * (1 + 2 * gamma(3) + 2 * 2 * 32)) == 672
    assert list(r.output["weights"]) == [5.0, -3.0, 1.0, 1.0]


def test_bel13_flooding_on_a_cycle(digits):
    # A cycle of 5 nodes (4 sites): each item crosses 2·5 - 4 = 6 edges; bits are
    # 6 x Σ_i (bits of c_i's item + bits of D_i's item), with |D_i| read from the output.
    X, ref = digits
    G = nx.cycle_graph(5)
    parts = np.array_split(X, 4)
    r = run("bel13", GraphModel(G), parts, seed=1, k=10, t=200)
    sizes = r.output["portion_sizes"]
    item = [(2 + 32) + (2 + 2 * gamma(m + 1) + m * 65 * 32) for m in sizes]
    assert r.bits == flood_crossings(G) * sum(item) == 6 * sum(item)
    t_i_sum = sum(sizes) - 4 * 10  # samples: Σ t_i in [t, t + s)
    assert 200 <= t_i_sum < 204
    assert abs(r.output["weights"].sum() - len(X)) < 1e-3 * len(X)
    assert r.output["cost"] <= 1.25 * ref, r.output["cost"] / ref  # measured 1.07


# -- k-means|| -----------------------------------------------------------------------------

KM_PARTS = [np.array([[0.0]]), np.array([[10.0]])]


def test_kmeans_parallel_coordinator_bits_by_hand():
    # k = 1, ℓ = 2. First center: one of the two points. Round 1: φ = 100, so the other
    # point is taken with probability min(1, 2·100/100) = 1. Round 2: φ = 0, nothing.
    # init: 2 x gamma(2) + 1 (call) + 32 (up) + 32 (forward) = 71
    # round 1: 2 x 32 (φ_i) + 2 x 32 (φ) + samples gamma(1) + (gamma(2) + 32) + the others'
    #          lists to each site, the same 1 + 35 = 200
    # round 2: 64 + 64 + 1 + 1 + 1 + 1 = 132; weights: two counts per site, gamma(2) + gamma(1)
    r = run("kmeans_parallel", CoordinatorModel(), KM_PARTS, seed=0, k=1, ell=2.0)
    assert r.output["C_size"] == 2 and list(r.output["weights"]) == [1, 1]
    assert r.bits == 71 + 200 + 132 + 2 * (gamma(2) + gamma(1)) == 411


def test_kmeans_parallel_blackboard_bits_by_hand():
    # The same on the board: 2·3 + 1 + 32; per round the φ_i posts and the samples only.
    r = run("kmeans_parallel", BlackboardModel(), KM_PARTS, seed=0, k=1, ell=2.0)
    assert r.bits == (6 + 1 + 32) + (64 + 1 + 35) + (64 + 1 + 1) + 2 * 4 == 213


def test_kmeans_parallel_quality_and_defaults(digits):
    X, ref = digits
    parts = np.array_split(X, 5)
    for model in (CoordinatorModel(), BlackboardModel()):
        r = run("kmeans_parallel", model, parts, seed=2, k=10)
        assert r.output["ell"] == 20 and r.output["R"] == 2
        assert r.output["weights"].sum() == len(X) and len(r.output["centers"]) == 10
        # E|C| <= 1 + ℓ·R = 41; measured 37 (both models make the same draws)
        assert 10 <= r.output["C_size"] <= 60
        assert r.output["cost"] <= 1.5 * ref, r.output["cost"] / ref  # measured 1.27
    a = run("kmeans_parallel", CoordinatorModel(), parts, seed=2, k=10, R=4, ell=5.0)
    assert a.output["R"] == 4 and a.output["ell"] == 5


# -- merge-and-reduce and send-everything --------------------------------------------------


def test_merge_tree():
    parent, depth = merge_tree(3, 2)
    assert parent == {1: (0, 0), 0: (COORDINATOR, 1), 2: (COORDINATOR, 1)} and depth == 2
    parent, depth = merge_tree(8, 2)
    assert depth == 3 and sum(p == COORDINATOR for p, _ in parent.values()) == 2
    parent, depth = merge_tree(5, 8)
    assert depth == 1 and all(p == COORDINATOR for p, _ in parent.values())


MR_PARTS = [np.array([[0.0], [1.0]]), np.array([[5.0]]), np.array([[7.0], [8.0], [9.0]])]


def test_merge_reduce_bits_by_hand():
    # s = 3, f = 2, m = 10 (no REDUCE ever drops a point). site1 -> site0 (relayed by the
    # coordinator: charged twice), then site0 and site2 -> coordinator. A message of m'
    # points in d = 1: 2·gamma(m' + 1) + m'·2·32.
    def msg(m):
        return 2 * gamma(m + 1) + m * 64

    r = run("merge_reduce", CoordinatorModel(), MR_PARTS, seed=0, k=1, m=10, f=2)
    assert r.bits == 2 * msg(1) + msg(3) + msg(3) == 544
    assert r.output["coreset_size"] == 6 and list(r.output["weights"]) == [1] * 6 and r.output["depth"] == 2
    # Path coord - site0 - site1 - site2: site1 -> site0 is 1 hop, site0 -> coord 1, site2 -> coord 3.
    g = run("merge_reduce", GraphModel(nx.path_graph(4)), MR_PARTS, seed=0, k=1, m=10, f=2)
    assert g.bits == msg(1) + msg(3) + 3 * msg(3) == 878


def test_merge_reduce_coreset_size_and_weights(digits):
    X, ref = digits
    parts = np.array_split(X, 8)
    sums = []
    for seed in range(3):
        r = run("merge_reduce", CoordinatorModel(), parts, seed=seed, k=10, m=100, f=2)
        assert r.output["coreset_size"] <= 100 and (r.output["weights"] > 0).all()
        assert r.output["depth"] == 3
        sums.append(r.output["weights"].sum())
        assert r.output["cost"] <= 1.6 * ref, r.output["cost"] / ref  # measured 1.17-1.26
    # each REDUCE is unbiased: the total weight stays near n (measured mean 0.973·n)
    assert abs(np.mean(sums) / len(X) - 1) < 0.15


def test_send_all_bits_by_hand():
    # Σ_i gamma(n_i + 1) + 32·d·n_i, once per hop: 1 hop on the star and the board, the
    # node's depth on a path.
    one = [gamma(n + 1) + 32 * n for n in (2, 1, 3)]
    for model in (CoordinatorModel(), BlackboardModel()):
        r = run("send_all", model, MR_PARTS, k=2)
        assert r.bits == sum(one) == 5 + 3 + 3 + 32 * 6
        assert r.output["received"] == 6 and len(r.output["centers"]) == 2
    g = run("send_all", GraphModel(nx.path_graph(4)), MR_PARTS, k=2)
    assert g.bits == 1 * one[0] + 2 * one[1] + 3 * one[2]


# -- models and bad input ------------------------------------------------------------------


@pytest.mark.parametrize("name,params,refused", [
    ("bel13", {"k": 1, "t": 1}, "blackboard"),
    ("kmeans_parallel", {"k": 1}, "graph"),
    ("merge_reduce", {"k": 1, "m": 2}, "blackboard"),
    ("send_all", {"k": 1}, "mpc"),
])
def test_refuses_models_it_does_not_claim(name, params, refused):
    with pytest.raises(ConfigError, match="does not run on the"):
        get_protocol(name).bind(params, refused)


def test_bad_input_names_the_field():
    with pytest.raises(ConfigError, match="protocol.params.k"):
        run("bel13", CoordinatorModel(), BEL_PARTS, k=5, t=2)
    with pytest.raises(ConfigError, match="protocol.params.m"):
        run("merge_reduce", CoordinatorModel(), MR_PARTS, k=3, m=2)
    with pytest.raises(ConfigError, match="protocol.params.f"):
        get_protocol("merge_reduce").bind({"k": 1, "m": 2, "f": 1}, "coordinator")
    with pytest.raises(ConfigError, match="protocol.params.t"):
        get_protocol("bel13").bind({"k": 1}, "coordinator")


def test_empty_sites_take_part():
    parts = [np.array([[0.0], [4.0]]), np.zeros((0, 1)), np.array([[9.0]])]
    for name, model, params in [("bel13", CoordinatorModel(), {"t": 2}), ("kmeans_parallel", CoordinatorModel(), {}),
                                ("kmeans_parallel", BlackboardModel(), {}), ("merge_reduce", CoordinatorModel(), {"m": 4}),
                                ("send_all", CoordinatorModel(), {})]:
        r = run(name, model, parts, seed=0, k=1, **params)
        assert len(r.output["centers"]) == 1, name
