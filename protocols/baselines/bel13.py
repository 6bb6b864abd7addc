"""BEL13: the distributed coreset of Balcan, Ehrlich, Liang, "Distributed k-Means and k-Median
Clustering on General Topologies" (NeurIPS 2013), Algorithm 1 (construction) and its use on
a graph (flooding), for k-means.

Algorithm 1, with the paper's names:

- Round 1, node v_i: compute a constant-approximation B_i of its points P_i (we use
  scikit-learn k-means, k-means++ seeding and Lloyd; the authors' code uses single-swap local
  search) and share c_i = cost(P_i, B_i) (squared distances for k-means).
- Round 2, node v_i: t_i = ceil(t · c_i / Σ_j c_j) (the ceiling is the reference code's,
  distributed_coreset.m); m_p = cost(p, B_i); S_i = t_i i.i.d. draws with probability
  m_p / Σ_{z∈P_i} m_z; w_q = Σ_j c_j / (t · m_q) for q in S_i; for b in B_i,
  w_b = |P_b| − Σ_{q ∈ P_b ∩ S_i} w_q (P_b: the points whose nearest center is b; w_b can be
  negative). The portion is D_i = S_i ∪ B_i; a node with n_i <= t_i sends its points with
  weight 1 instead (reference code). Draws of one point are kept apart (each is a coreset
  point, as in the paper), so |D_i| = t_i + |B_i|.
- The coreset D = ∪_i D_i; its weights sum to n (each portion's to n_i).
- The coordinator runs weighted k-means on D (negative weights clipped to 0 there).

Models:

- coordinator: each site sends c_i (32 bits); the coordinator sends Σ_j c_j back (32 bits per
  site); each site sends D_i (``WeightedPoints32``: 2·gamma(|D_i| + 1) + |D_i|·(d + 1)·32 bits).
- graph: each c_i, then each D_i, is flooded (common.flood) with its origin's index
  (ceil(log2 s) bits) in front; an item crosses 2|E| − (N − 1) edges, so the bits are
  (2|E| − N + 1) × Σ_i (bits of item i) — |E| per item on a tree. The coordinator node (no
  data) relays like any node and clusters D.

The paper counts communication in points ("words"); we charge a point as d·32 bits plus
32 for its weight and the list prefixes, and each c_i as 32 bits.
"""

from __future__ import annotations

import math

import numpy as np

from protosim import COORDINATOR, ConfigError, Param, UInt, Vector, message, protocol

from ..clustering import assign, weighted_kmeans
from .common import (
    F32,
    Scalar32,
    WeightedPoints32,
    check_k,
    evaluate,
    f32,
    flood,
    from_f32,
    kmeans_on,
    to_f32,
    wpoints_msg,
    wpoints_of,
)


@message
class FloodCost:
    """Graph round 1: c_i of site ``origin``."""

    origin: UInt("clog2(s)")
    c: F32


@message
class FloodPortion:
    """Graph round 2: the portion D_i of site ``origin``."""

    origin: UInt("clog2(s)")
    xs: Vector(Vector(F32, length="dim"))
    w: Vector(F32)


def local_solution(X: np.ndarray, k: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """B_i, each point's nearest center in B_i, and its cost m_p (squared distance)."""
    if len(X) == 0:
        return np.zeros((0, X.shape[1])), np.zeros(0, np.int64), np.zeros(0)
    B = weighted_kmeans(X, np.ones(len(X)), min(k, len(X)), seed=int(rng.integers(2**31)), n_init=1)
    idx, dist = assign(X, B)
    return B, idx, dist**2


def portion(X: np.ndarray, B, idx, m_p, t: int, c_i: float, total: float, rng):
    """Round 2 of Algorithm 1 at one node: (points, weights) of D_i. ``c_i`` and ``total``
    are the values as every node decoded them."""
    n_i = len(X)
    t_i = math.ceil(t * c_i / total) if total > 0 else 0
    if n_i <= t_i:
        return X.copy(), np.ones(n_i), t_i
    if t_i == 0:
        return B.copy(), np.bincount(idx, minlength=len(B)).astype(np.float64), 0
    p = m_p / m_p.sum()
    q = rng.choice(n_i, size=t_i, p=p)
    w_q = total / (t * m_p[q])
    w_b = np.bincount(idx, minlength=len(B)) - np.bincount(idx[q], weights=w_q, minlength=len(B))
    return np.concatenate([X[q], B]), np.concatenate([w_q, w_b]), t_i


def _site_state(party, cfg):
    X = np.asarray(party.data, dtype=np.float64)
    B, idx, m_p = local_solution(X, cfg["k"], party.rng)
    c_i = float(f32(m_p.sum()))  # what every node will decode
    return X, B, idx, m_p, c_i


def bel13_site_star(party, cfg):
    X, B, idx, m_p, c_i = _site_state(party, cfg)
    with party.phase("costs"):
        party.send(COORDINATOR, Scalar32(v=int(to_f32(c_i))))
        total = float(from_f32((yield party.recv(Scalar32, src=COORDINATOR)).v))
    with party.phase("portions"):
        P, w, _ = portion(X, B, idx, m_p, cfg["t"], c_i, total, party.rng)
        party.send(COORDINATOR, wpoints_msg(P, w))


def bel13_coordinator_star(party, cfg):
    s = cfg["s"]
    c = np.zeros(s)
    with party.phase("costs"):
        for _ in range(s):
            msg = yield party.recv(Scalar32)
            c[int(msg.sender[4:])] = from_f32(msg.v)
        total = to_f32(c.sum())
        for i in range(s):
            party.send(f"site{i}", Scalar32(v=int(total)))
    got = {}
    for _ in range(s):
        msg = yield party.recv(WeightedPoints32)
        got[int(msg.sender[4:])] = wpoints_of(msg, cfg["d"])
    return _finish(party, cfg, [got[i] for i in range(s)])


def bel13_graph(party, cfg, index: int | None):
    """Every node of the graph: flood the costs, then the portions; the coordinator clusters D."""
    s = cfg["s"]
    state = None if index is None else _site_state(party, cfg)
    with party.phase("costs"):
        own = None if state is None else FloodCost(origin=index, c=int(to_f32(state[4])))
        costs = yield from flood(party, own, FloodCost, s)
    total = float(f32(np.sum([from_f32(costs[i].c) for i in range(s)])))
    with party.phase("portions"):
        own = None
        if state is not None:
            X, B, idx, m_p, c_i = state
            P, w, _ = portion(X, B, idx, m_p, cfg["t"], c_i, total, party.rng)
            own = FloodPortion(origin=index, xs=to_f32(P), w=to_f32(w))
        got = yield from flood(party, own, FloodPortion, s)
    if index is not None:
        return None
    return _finish(party, cfg, [wpoints_of(got[i], cfg["d"]) for i in range(s)])


def _finish(party, cfg, portions):
    P = np.concatenate([p for p, _ in portions])
    w = np.concatenate([w for _, w in portions])
    centers = kmeans_on(P, w, cfg["k"], party.rng)
    return {"coreset": P, "weights": w, "coreset_size": len(P), "portion_sizes": [len(p) for p, _ in portions],
            "centers": centers}


BEL13_PARAMS = {
    "k": Param(kind=int, low=1, doc="number of clusters (and of local centers |B_i|)"),
    "t": Param(kind=int, low=0, doc="number of sampled points t (Algorithm 1)"),
}


@protocol("bel13", models=("coordinator", "graph"), params=BEL13_PARAMS, evaluate=evaluate,
          description="baseline BEL13 (Balcan-Ehrlich-Liang'13): distributed coreset, t samples + local centers; flooding on graphs")
def bel13(sim, **params):
    p = sim.params
    n, s = int(p["n"]), int(p["s"])
    if n < 1:
        raise ConfigError("data: the sites hold no points (n = 0)")
    check_k(params["k"], n)
    p["dim"] = p["d"]
    cfg = {"s": s, "d": int(p["d"]), "k": params["k"], "t": params["t"]}
    if sim.model.name == "graph":
        for i, site in enumerate(sim.sites):
            sim.spawn(site, bel13_graph, cfg, i)
        return sim.spawn(sim.coordinator, bel13_graph, cfg, None)
    for site in sim.sites:
        sim.spawn(site, bel13_site_star, cfg)
    return sim.spawn(sim.coordinator, bel13_coordinator_star, cfg)
