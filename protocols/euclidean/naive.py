"""Naive adaptive sampling on the blackboard: the baseline the lazy protocols are measured against.

The strawman of Section 2.1 of Cohen-Addad, Wang, Woodruff, Zhou ("A naïve implementation
requires reporting each D_j after every iteration, leading to O(sk log n) communication"):

Points travel as d float64 coordinates (the issue's baseline); with ``clear64 = false``
they travel as d·log2Delta grid bits like the lazy protocols' points, which isolates the
cost of keeping the sampling distribution up to date.

1. INITIALIZATION as in Algorithm 7 (sizes n_i in Elias gamma; the coordinator names a
   site with probability n_i/n; the site posts a uniform point), except that the point
   travels in the clear: d float64 coordinates.
2. Then, N = ceil(oversample·k) times: every nonempty site posts its exact D_j =
   cost(X_j, S) as a float64; the coordinator names site j with probability D_j/D in
   ceil(log2 s) bits; site j posts a point drawn with probability d_x/D_j, in the clear.
   It stops early when D = 0 (every point is a center).

No ⊥, no approximation: each step is exact adaptive sampling (Algorithm 3 with γ = 1).
Bits: about N·(64·s' + ceil(log2 s) + 64·d) with s' nonempty sites, so they grow
linearly in s and in k; rounds: 3 per point.
"""

from __future__ import annotations

import numpy as np

from protosim import Float64, Param, UInt, Vector, message, protocol

from .blackboard import (
    BICRITERIA_PARAMS,
    Local,
    PickSite,
    SiteCount,
    _index,
    _spawn,
    evaluate,
    make_config,
    read_each,
)


@message
class ClearPoint:
    """A sampled point in the clear: d float64 coordinates."""

    x: Vector(Float64(), length="d")


@message
class GridPoint:
    """A sampled point with grid coordinates (``clear64 = false``): d·log2Delta bits."""

    x: Vector(UInt("log2Delta"), length="d")


@message
class ExactCost:
    """A site's exact D_j = cost(X_j, S) as a float64."""

    D: Float64()


def naive_adaptive(party, cfg, local: Local | None, clear64: bool = True):
    """Naive adaptive sampling: exact D_j from every site after every point; points in the clear."""
    s = cfg.s
    Point = ClearPoint if clear64 else GridPoint

    def point_msg(x):
        return ClearPoint(x=x.astype(np.float64)) if clear64 else GridPoint(x=x)

    with party.phase("initialization"):
        if local is not None:
            party.post(SiteCount(n=local.n))
        counts = yield from read_each(party, SiteCount, list(range(s)))
        sizes = np.array([counts[i].n for i in range(s)], dtype=np.int64)
        if local is None:
            party.post(PickSite(site=int(party.rng.choice(s, p=sizes / sizes.sum()))))
        pick = (yield party.read(PickSite)).site
        if local is not None and local.index == pick:
            party.post(point_msg(local.grid[int(party.rng.integers(local.n))]))
        x = np.asarray((yield party.read(Point)).x, dtype=np.float64)
    S = [x]
    nonempty = [int(i) for i in np.flatnonzero(sizes)]
    with party.phase("adaptive"):
        for _ in range(cfg.N):
            if local is not None:
                local.add_centers([S[-1]])
                if local.n:
                    party.post(ExactCost(D=local.D))
            got = yield from read_each(party, ExactCost, nonempty)
            D = np.zeros(s)
            for j, msg in got.items():
                D[j] = msg.D
            if not D.sum() > 0:
                break
            if local is None:
                party.post(PickSite(site=int(party.rng.choice(s, p=D / D.sum()))))
            pick = (yield party.read(PickSite)).site
            if local is not None and local.index == pick:
                cum = np.cumsum(local.cost_x)
                j = int(np.searchsorted(cum, party.rng.random() * cum[-1], side="right"))
                party.post(point_msg(local.grid[min(j, local.n - 1)]))
            msg = yield party.read(Point)
            assert _index(msg.sender) == pick
            S.append(np.asarray(msg.x, dtype=np.float64))
    return {"S": np.asarray(S), "bicriteria_size": len(S), "N": cfg.N}


NAIVE_PARAMS = {
    **BICRITERIA_PARAMS,
    "clear64": Param(True, bool, doc="points as d float64 (true, the issue's baseline) or d·log2Delta grid bits"),
}


@protocol("bb_naive_adaptive", models=("blackboard",), params=NAIVE_PARAMS, evaluate=evaluate,
          description="baseline: adaptive sampling, every site posts exact D_j after every point, 64-bit coordinates")
def bb_naive_adaptive(sim, **params):
    clear64 = params.pop("clear64")
    cfg = make_config(sim, params)
    return _spawn(sim, cfg, naive_adaptive, naive_adaptive, clear64)
