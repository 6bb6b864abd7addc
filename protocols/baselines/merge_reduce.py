"""Merge-and-reduce of local coresets with fan-in f, and send-everything.

Merge-and-reduce (the composable-coreset tree; Munteanu & Schwiegelshohn's survey "Coresets —
Methods and History", 2018; the row "Merge-and-reduce" of Fig. 1 of Cohen-Addad, Wang,
Woodruff, Zhou). The tree is public: the sites 0..s-1 are the leaves; at each level the
current holders are cut into consecutive blocks of f, and the first holder of a block
receives the coresets of the others in its block. When at most f holders are left they all
send to the coordinator, the root. Every site sends exactly once, so there are s transfers;
the depth is L = ceil(log_f s) (L = 1 when f >= s: every site sends its local coreset to
the coordinator).

- REDUCE (common.reduce_coreset): a weighted sensitivity-sampling coreset of at most m points
  (k-means bicriteria, μ of Algorithm 2, m draws, weight w·count/(m·p)); a set of at most m
  points is kept whole. A site reduces its own points (weights 1), then the union after each
  level it merges; the coordinator reduces the final union.
- Errors compound over the levels: (1 + ε_level)^(L+1). Choosing m for a target ε is left to
  the caller; the parameter is m itself.
- coordinator model: site-to-site transfers are relayed by the coordinator (the model forbids
  site-to-site), so a transfer to a site is charged twice; graph: ``route`` along the BFS
  tree, every hop charged.
- message: ``WeightedPoints32`` (2·gamma(m' + 1) + m'·(d + 1)·32 bits for m' points); an empty
  site sends the empty coreset (2 bits) so that its parent does not wait.

The final centers: weighted k-means on the root's coreset.

Send-everything (``send_all``): every site sends all its points (``Points32``: gamma(n_i + 1)
+ n_i·d·32 bits) to the coordinator — posted once on a blackboard, every hop charged on a
graph — and the coordinator runs k-means (n_init = 5) on all of X.
"""

from __future__ import annotations

import numpy as np

from protosim import COORDINATOR, ConfigError, Param, protocol

from .common import (
    Points32,
    WeightedPoints32,
    check_k,
    evaluate,
    kmeans_on,
    points_msg,
    points_of,
    reduce_coreset,
    wpoints_msg,
    wpoints_of,
)


def merge_tree(s: int, f: int) -> tuple[dict[int, tuple[object, int]], int]:
    """parent[i] = (parent site index or COORDINATOR, level) for every site; and the depth L."""
    holders = list(range(s))
    parent: dict[int, tuple[object, int]] = {}
    level = 0
    while len(holders) > f:
        nxt = []
        for g in range(0, len(holders), f):
            block = holders[g:g + f]
            for c in block[1:]:
                parent[c] = (block[0], level)
            nxt.append(block[0])
        holders = nxt
        level += 1
    for h in holders:
        parent[h] = (COORDINATOR, level)
    return parent, level + 1


def mr_site(party, cfg, index: int):
    parent, _ = merge_tree(cfg["s"], cfg["f"])
    X = np.asarray(party.data, dtype=np.float64)
    P, w = reduce_coreset(X, np.ones(len(X)), cfg["k"], cfg["m"], party.rng)
    dst, my_level = parent[index]
    relay = party.model.name == "coordinator"
    with party.phase("merge"):
        for level in range(my_level):
            children = [c for c, (p, lv) in parent.items() if p == index and lv == level]
            if not children:
                continue
            parts = [(P, w)]
            for _ in children:
                msg = yield party.recv(WeightedPoints32)
                parts.append(wpoints_of(msg, cfg["d"]))
            P, w = reduce_coreset(np.concatenate([p for p, _ in parts]), np.concatenate([x for _, x in parts]),
                                  cfg["k"], cfg["m"], party.rng)
        msg = wpoints_msg(P, w)
        if relay:
            party.send(COORDINATOR, msg)
        else:
            party.route(COORDINATOR if dst == COORDINATOR else f"site{dst}", msg)


def mr_coordinator(party, cfg):
    parent, depth = merge_tree(cfg["s"], cfg["f"])
    relay = party.model.name == "coordinator"
    expect = sum(1 for p, _ in parent.values() if p == COORDINATOR)
    relays = sum(1 for p, _ in parent.values() if p != COORDINATOR) if relay else 0
    parts = []
    with party.phase("merge"):
        for _ in range(expect + relays):
            msg = yield party.recv(WeightedPoints32)
            i = int(msg.sender[4:])
            dst = parent[i][0]
            if dst == COORDINATOR:
                parts.append(wpoints_of(msg, cfg["d"]))
            else:
                party.send(f"site{dst}", msg)
    P, w = reduce_coreset(np.concatenate([p for p, _ in parts]), np.concatenate([x for _, x in parts]),
                          cfg["k"], cfg["m"], party.rng)
    centers = kmeans_on(P, w, cfg["k"], party.rng)
    return {"coreset": P, "weights": w, "coreset_size": len(P), "depth": depth, "centers": centers}


MR_PARAMS = {
    "k": Param(kind=int, low=1, doc="number of clusters"),
    "m": Param(kind=int, low=1, doc="coreset size: every REDUCE keeps at most m points"),
    "f": Param(2, int, low=2, doc="fan-in of the merge tree"),
}


@protocol("merge_reduce", models=("coordinator", "graph"), params=MR_PARAMS, evaluate=evaluate,
          description="baseline merge-and-reduce: local sensitivity coresets merged up a fan-in-f tree to the coordinator")
def merge_reduce(sim, **params):
    p = sim.params
    n, s = int(p["n"]), int(p["s"])
    if n < 1:
        raise ConfigError("data: the sites hold no points (n = 0)")
    check_k(params["k"], n)
    if params["m"] < params["k"]:
        raise ConfigError(f"protocol.params.m: the coreset size must be >= k = {params['k']}, got {params['m']}")
    p["dim"] = p["d"]
    cfg = {"s": s, "d": int(p["d"]), "k": params["k"], "m": params["m"], "f": params["f"]}
    for i, site in enumerate(sim.sites):
        sim.spawn(site, mr_site, cfg, i)
    return sim.spawn(sim.coordinator, mr_coordinator, cfg)


# -- send everything ----------------------------------------------------------------------


def all_site(party, cfg):
    msg = points_msg(np.asarray(party.data, dtype=np.float64))
    with party.phase("send_all"):
        if party.model.name == "blackboard":
            party.post(msg)
        else:
            party.route(COORDINATOR, msg)
    yield from ()


def all_coordinator(party, cfg):
    s = cfg["s"]
    wait = party.read if party.model.name == "blackboard" else party.recv
    got = {}
    while len(got) < s:
        msg = yield wait(Points32)
        got[int(msg.sender[4:])] = points_of(msg, cfg["d"])
    X = np.concatenate([got[i] for i in range(s)])
    centers = kmeans_on(X, np.ones(len(X)), cfg["k"], party.rng)
    return {"centers": centers, "received": len(X)}


@protocol("send_all", models=("coordinator", "blackboard", "graph"),
          params={"k": Param(kind=int, low=1, doc="number of clusters")}, evaluate=evaluate,
          description="baseline: every site sends all its points (32-bit coordinates); the coordinator runs k-means")
def send_all(sim, **params):
    p = sim.params
    n, s = int(p["n"]), int(p["s"])
    if n < 1:
        raise ConfigError("data: the sites hold no points (n = 0)")
    check_k(params["k"], n)
    p["dim"] = p["d"]
    cfg = {"s": s, "d": int(p["d"]), "k": params["k"]}
    for site in sim.sites:
        sim.spawn(site, all_site, cfg)
    return sim.spawn(sim.coordinator, all_coordinator, cfg)
