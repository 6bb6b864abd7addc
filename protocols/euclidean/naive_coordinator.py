"""Naive adaptive sampling in the coordinator model: the baseline Algorithm 16 is measured against.

Section 3 / Appendix E of Cohen-Addad, Wang, Woodruff, Zhou ("a direct simulation of our
blackboard protocol would require O(dsk log n) bits, since O(k) rounds of adaptive sampling
would need to be executed across s servers"): the coordinator sends every new center in
the clear to every site, and the sites reply with their exact costs.

1. Every site sends its point count n_i (Elias gamma).
2. The coordinator names a site with probability n_i/n (``Step(SAMPLE)``); the site sends a
   uniform local point in the clear: d float64 coordinates (``clear64 = true``, the issue's
   baseline) or d·log2Delta grid bits (``clear64 = false``).
3. Then N = ceil(oversample·k) times: the coordinator sends the newest center in the clear
   to every other nonempty site (``Step(CENTER)`` first, 1 bit); every nonempty site sends its
   exact D_j = cost(X_j, S) as a float64; the coordinator names site j with probability
   D_j/D; the site sends a point drawn with probability cost(x, S)/D_j, in the clear.
   It stops early when D = 0 (every point is a center).
4. ``Step(DONE)`` to every nonempty site. Output: S (N + 1 points), scored by ``evaluate``.

No ⊥, no approximation: exact adaptive sampling (Algorithm 1). Bits: about
(N+1)·(64d·(s'-1) + 64·s' + 64d) with s' nonempty sites — linear in s, k and d. The same
code runs on a graph (every hop charged). Registered as ``coord_naive_adaptive``.
"""

from __future__ import annotations

import numpy as np

from protosim import COORDINATOR, Param, protocol

from .blackboard import (
    BICRITERIA_PARAMS,
    GridConfig,
    Local,
    SiteCount,
    evaluate,
    grid_config,
    to_grid,
)
from .coordinator import CENTER, DONE, SAMPLE, Step
from .naive import ClearPoint, ExactCost, GridPoint


def _point_msg(x, clear64: bool):
    return ClearPoint(x=np.asarray(x, dtype=np.float64)) if clear64 else GridPoint(x=x)


def naive_site(site, cfg, local: Local, clear64: bool):
    """Site: report n_i; answer SAMPLE with a point (uniform first, then ∝ cost); take CENTERs."""
    Point = ClearPoint if clear64 else GridPoint
    with site.phase("initialization"):
        site.route(COORDINATOR, SiteCount(n=len(local.X)))
    if not len(local.X):
        return None
    with site.phase("adaptive"):
        while True:
            kind = (yield site.recv(Step, src=COORDINATOR)).kind
            if kind == DONE:
                break
            if kind == SAMPLE:
                if not local.centers:  # INITIALIZATION: a uniform point
                    j = int(site.rng.integers(len(local.X)))
                else:
                    cum = np.cumsum(local.cost_x)
                    j = min(int(np.searchsorted(cum, site.rng.random() * cum[-1], side="right")), len(local.X) - 1)
                site.route(COORDINATOR, _point_msg(local.X[j], clear64))
                local.add_centers([local.X[j]])
            else:
                x = np.asarray((yield site.recv(Point, src=COORDINATOR)).x, dtype=np.float64)
                local.add_centers([x])
            site.route(COORDINATOR, ExactCost(D=local.D))
    return None


def naive_coordinator(coord, cfg, names: list[str], clear64: bool):
    """Coordinator: exact adaptive sampling with every center sent to every site in the clear."""
    Point = ClearPoint if clear64 else GridPoint
    rng = coord.rng
    with coord.phase("initialization"):
        sizes = {}
        for _ in names:
            msg = yield coord.recv(SiteCount)
            sizes[msg.sender] = int(msg.n)
    active = [j for j in names if sizes[j] > 0]
    S, D = [], {j: float(sizes[j]) for j in active}
    with coord.phase("adaptive"):
        while len(S) < cfg.N + 1:
            w = np.array([D[j] for j in active])
            if not w.sum() > 0:
                break
            j = active[int(rng.choice(len(active), p=w / w.sum()))]
            coord.route(j, Step(kind=SAMPLE))
            x = np.asarray((yield coord.recv(Point, src=j)).x, dtype=np.float64)
            S.append(x)
            for other in active:  # the new center, in the clear, to every other site
                if other != j:
                    coord.route(other, Step(kind=CENTER))
                    coord.route(other, _point_msg(x, clear64))
            for _ in active:
                msg = yield coord.recv(ExactCost)
                D[msg.sender] = float(msg.D)
        for j in active:
            coord.route(j, Step(kind=DONE))
    return {"S": np.asarray(S), "bicriteria_size": len(S), "N": cfg.N}


NAIVE_COORD_PARAMS = {
    **{key: BICRITERIA_PARAMS[key] for key in ("k", "log2Delta", "z", "grid_lo", "grid_step", "oversample")},
    "clear64": Param(True, bool, doc="points as d float64 (true, the issue's baseline) or d·log2Delta grid bits"),
}


def make_config(sim, params: dict) -> GridConfig:
    cfg = GridConfig(**grid_config(sim, params))
    sim.params["N"] = cfg.N
    return cfg


@protocol("coord_naive_adaptive", models=("coordinator", "graph"), params=NAIVE_COORD_PARAMS, evaluate=evaluate,
          description="baseline: adaptive sampling, every center to every site in the clear, exact costs back")
def coord_naive_adaptive(sim, **params):
    clear64 = params.pop("clear64")
    cfg = make_config(sim, params)
    names = [p.name for p in sim.sites]
    for i, site in enumerate(sim.sites):
        X = to_grid(site.data, cfg.log2Delta, cfg.grid_lo, cfg.grid_step, where=f"data of {site.name}")
        sim.spawn(site, naive_site, cfg, Local(i, X, cfg.z), clear64)
    return sim.spawn(sim.coordinator, naive_coordinator, cfg, names, clear64)
