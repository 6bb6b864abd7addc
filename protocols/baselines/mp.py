"""MP: the Mettu–Plaxton blackboard protocol of Chen, Sun, Woodruff, Zhang, "Communication-
Optimal Distributed Clustering" (NeurIPS 2016), in two variants.

**bb_mp — the theoretical variant.** As Cohen-Addad, Wang, Woodruff, Zhou describe it ([P]
l.88, l.304): Chen et al. adapt the successive sampling of Mettu & Plaxton (2004) to the
blackboard, "sample O(k) points in each of O(log n) rounds" and publish a weighted set S of
O(k log n) centers, an O(1) bicriteria solution, in O((s + kd)·log² n) bits. We could read
only the abstract of Chen et al., so the protocol below is our reconstruction of successive
sampling on the board (constants α, β and the radius search are ours):

    U <- X (every site keeps its remaining points U_i)
    while |U| > m = ceil(α·k):                              (MP04's loop condition)
        sites post |U_i|                                    Elias gamma, sites with U_i ≠ ∅
        the coordinator posts m site ids drawn ∝ |U_i|      m·ceil(log2 s) bits
        each named site posts its m_i points, drawn uniformly with replacement from U_i
                                                            gamma(m_i + 1) + m_i·d·log2Δ bits
        ν <- the least radius in {0, 1, √2, 2, ..., 2^(J/2)} (2^(J/2) >= sqrt(d)·(Δ-1)) with
             |B(S_r, ν) ∩ U| >= β·|U|: a binary search, each probe one count per site with
             U_i ≠ ∅ (Elias gamma), at most ceil(log2(J + 2)) probes
        every site deletes B(S_r, ν) from U_i
    sites post their leftover U_i                           gamma + |U_i|·d·log2Δ bits
    S <- every sample and the leftovers; each site posts, for every x in S, how many of its
    points have x as nearest (Vector(Gamma(base=0)) of length |S|: s·|S| bits plus logs);
    the coordinator clusters (S, weights) with weighted k-means.

Rounds of sampling: about log_{1/(1-β)}(n/m). Points are on the grid {0..Δ-1}^d as in the
CWWZ protocols (``log2Delta``, ``grid_lo``, ``grid_step``: the same declared quantisation).
Our weight step costs s·|S| + O(|S| log n) bits, more than the O(s log² n) Chen et al. state
for the whole protocol when k > log n: their weight step is not described where we could read.

**bb_mp_paper — the experiments' variant** ([P] §4.1-4.2: "sampling k points uniformly and
pruning candidates based on a distance threshold that doubles each round, across c·log2 n
rounds", "32 bits per coordinate"):

    U <- X;  r <- r0
    for ceil(c·log2 n) rounds, while U ≠ ∅:
        sites with U_i ≠ ∅ post |U_i| (Elias gamma); the coordinator posts k site ids ∝ |U_i|;
        each named site posts min(m_i, |U_i|) distinct uniform points of U_i (32 bits per
        coordinate); every site deletes from U_i the points within distance r of S
        (every center so far); r <- 2r.
    output: S, every sampled point (the paper's "clustering cost" of MP: the cost of S).

The starting threshold r0 is not in the paper: a parameter, 1 by default (the grid unit of
digits). Once 2^t·r0 exceeds the data's diameter every candidate is pruned and the protocol
stops early, which is the paper's observation that MP's communication "did not seem to
increase with c".
"""

from __future__ import annotations

import math

import numpy as np

from protosim import ConfigError, Gamma, Param, UInt, Vector, message, protocol

from ..euclidean.blackboard import SiteCount, read_each, to_grid
from .common import (
    Points32,
    check_k,
    evaluate,
    kmeans_on,
    points_msg,
    points_of,
)


@message
class Picks:
    """The coordinator's m (or k) site draws, ceil(log2 s) bits each."""

    sites: Vector(UInt("clog2(s)"), length="mp_m")


@message
class GridPoints:
    """Points on the grid: gamma(count + 1), then d·log2Delta bits per point."""

    xs: Vector(Vector(UInt("log2Delta"), length="d"))


@message
class BallCount:
    """One probe of the radius search: how many of the site's remaining points the ball holds."""

    n: Gamma(base=0)


@message
class Weights:
    """For every point of S (in board order), how many of the site's points have it as nearest."""

    w: Vector(Gamma(base=0), length="S_size")


def _min_d2(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared distance of each row of X to its nearest row of C (one center at a time)."""
    d2 = np.full(len(X), np.inf)
    for c in C:
        diff = X - c
        np.minimum(d2, np.einsum("ij,ij->i", diff, diff), out=d2)
    return d2


def _draw(rng, counts: np.ndarray, m: int, s: int) -> np.ndarray:
    return rng.choice(s, size=m, p=counts / counts.sum()).astype(np.int64)


# -- the theoretical variant --------------------------------------------------------------


def successive_sampling(party, cfg: dict, X: np.ndarray | None, index: int | None):
    """bb_mp, run by every party (``X`` None for the coordinator)."""
    s, m, beta = cfg["s"], cfg["m"], cfg["beta"]
    radii = cfg["radii"]
    U = None if X is None else np.arange(len(X))
    counting = list(range(s))
    counts = np.zeros(s)
    S: list[np.ndarray] = []
    rounds, nus = 0, []
    with party.phase("sampling"):
        while True:
            if U is not None and index in counting:
                party.post(SiteCount(n=len(U)))
            got = yield from read_each(party, SiteCount, counting)
            for j, msg in got.items():
                counts[j] = msg.n
            counting = [j for j in counting if counts[j] > 0]
            total = counts.sum()
            if total <= m:
                break
            rounds += 1
            if X is None:
                party.post(Picks(sites=_draw(party.rng, counts, m, s)))
            picks = np.asarray((yield party.read(Picks)).sites)
            named = sorted({int(j) for j in picks})
            if U is not None and index in named:
                take = party.rng.integers(len(U), size=int(np.count_nonzero(picks == index)))
                party.post(GridPoints(xs=X[U[take]]))
            got = yield from read_each(party, GridPoints, named)
            Sr = np.concatenate([np.asarray(got[j].xs, dtype=np.float64).reshape(-1, cfg["d"]) for j in named])
            S.extend(Sr)
            d2 = None if U is None else _min_d2(X[U].astype(np.float64), Sr)
            lo, hi = 0, len(radii) - 1
            with party.phase("radius"):
                while lo < hi:
                    mid = (lo + hi) // 2
                    if U is not None and index in counting:
                        party.post(BallCount(n=int(np.count_nonzero(d2 <= radii[mid] ** 2))))
                    probe = yield from read_each(party, BallCount, counting)
                    if sum(p.n for p in probe.values()) >= beta * total:
                        hi = mid
                    else:
                        lo = mid + 1
            nus.append(radii[lo])
            if U is not None:
                U = U[d2 > radii[lo] ** 2]
        with party.phase("leftover"):
            if U is not None and index in counting:
                party.post(GridPoints(xs=X[U]))
            got = yield from read_each(party, GridPoints, counting)
            for j in counting:
                S.extend(np.asarray(got[j].xs, dtype=np.float64).reshape(-1, cfg["d"]))
    S = np.asarray(S)
    nonempty = cfg["nonempty"]
    with party.phase("weights"):
        params = {"S_size": len(S)}
        if X is not None and index in nonempty:
            nearest = _nearest(X.astype(np.float64), S)
            party.post(Weights(w=np.bincount(nearest, minlength=len(S))), params=params)
        got = yield from read_each(party, Weights, nonempty, params=params)
    if X is not None:
        return None
    w = np.sum([np.asarray(got[j].w, dtype=np.float64) for j in nonempty], axis=0)
    centers = kmeans_on(S, w, cfg["k"], party.rng)
    step, lo_ = cfg["grid_step"], cfg["grid_lo"]
    return {"S": S, "weights": w, "S_size": len(S), "sampling_rounds": rounds, "radii_used": nus,
            "centers": centers * step + lo_, "m": m}


def _nearest(X: np.ndarray, S: np.ndarray) -> np.ndarray:
    best = np.full(len(X), np.inf)
    arg = np.zeros(len(X), np.int64)
    for j, c in enumerate(S):
        diff = X - c
        d2 = np.einsum("ij,ij->i", diff, diff)
        closer = d2 < best
        best[closer] = d2[closer]
        arg[closer] = j
    return arg


MP_PARAMS = {
    "k": Param(kind=int, low=1, doc="number of clusters"),
    "log2Delta": Param(kind=int, low=1, high=52, doc="grid bits per coordinate: points in {0..2^log2Delta - 1}^d"),
    "grid_lo": Param(0.0, float, doc="declared quantisation: x -> rint((x - grid_lo)/grid_step)"),
    "grid_step": Param(1.0, float, low=1e-300, doc="declared quantisation step"),
    "alpha": Param(2.0, float, low=1e-3, doc="samples per round m = ceil(alpha·k)"),
    "beta": Param(0.5, float, low=1e-3, high=1.0, doc="each round removes the ball holding a beta fraction of U"),
}


@protocol("bb_mp", models=("blackboard",), params=MP_PARAMS, evaluate=evaluate,
          description="baseline MP (Chen-Sun-Woodruff-Zhang'16): Mettu-Plaxton successive sampling on the blackboard, weighted S, k-means")
def bb_mp(sim, **params):
    p = sim.params
    n, s, d = int(p["n"]), int(p["s"]), int(p["d"])
    if n < 1:
        raise ConfigError("data: the sites hold no points (n = 0)")
    check_k(params["k"], n)
    m = max(1, math.ceil(params["alpha"] * params["k"]))
    L = params["log2Delta"]
    J = max(0, math.ceil(2 * math.log2(math.sqrt(d) * (2**L - 1))))
    radii = [0.0] + [2.0 ** (j / 2) for j in range(J + 1)]
    p["mp_m"] = m
    sizes = [len(site.data) for site in sim.sites]
    cfg = {"s": s, "d": d, "k": params["k"], "m": m, "beta": params["beta"], "radii": radii,
           "nonempty": [i for i, n_i in enumerate(sizes) if n_i], "grid_lo": params["grid_lo"],
           "grid_step": params["grid_step"]}
    for i, site in enumerate(sim.sites):
        X = to_grid(site.data, L, params["grid_lo"], params["grid_step"], where=f"data of {site.name}")
        sim.spawn(site, successive_sampling, cfg, X, i)
    return sim.spawn(sim.coordinator, successive_sampling, cfg, None, None)


# -- the experiments' variant -------------------------------------------------------------


def doubling_pruning(party, cfg: dict, X: np.ndarray | None, index: int | None):
    """bb_mp_paper, run by every party (``X`` None for the coordinator)."""
    s, k, d = cfg["s"], cfg["k"], cfg["d"]
    U = None if X is None else np.arange(len(X))
    d2 = None if X is None else np.full(len(X), np.inf)
    counting = list(range(s))
    counts = np.zeros(s)
    S: list[np.ndarray] = []
    r = cfg["r0"]
    rounds = 0
    with party.phase("pruning"):
        for _ in range(cfg["R"]):
            if U is not None and index in counting:
                party.post(SiteCount(n=len(U)))
            got = yield from read_each(party, SiteCount, counting)
            for j, msg in got.items():
                counts[j] = msg.n
            counting = [j for j in counting if counts[j] > 0]
            if not counting:
                break
            rounds += 1
            if X is None:
                party.post(Picks(sites=_draw(party.rng, counts, k, s)))
            picks = np.asarray((yield party.read(Picks)).sites)
            named = sorted({int(j) for j in picks})
            if U is not None and index in named:
                want = min(int(np.count_nonzero(picks == index)), len(U))
                take = party.rng.choice(len(U), size=want, replace=False)
                party.post(points_msg(X[U[take]]))
            got = yield from read_each(party, Points32, named)
            new = np.concatenate([points_of(got[j], d) for j in named])
            S.extend(new)
            if U is not None:
                Xu = X[U]
                du = np.minimum(d2[U], _min_d2(Xu, new))
                d2[U] = du
                U = U[du > r * r]
            r *= 2
    if X is not None:
        return None
    S = np.asarray(S)
    return {"centers": S, "n_centers": len(S), "pruning_rounds": rounds, "R": cfg["R"]}


MP_PAPER_PARAMS = {
    "k": Param(kind=int, low=1, doc="points sampled per round"),
    "c": Param(kind=float, low=1e-9, doc="rounds: ceil(c·log2 n)"),
    "r0": Param(1.0, float, low=1e-300, doc="pruning threshold of the first round (doubles every round)"),
}


@protocol("bb_mp_paper", models=("blackboard",), params=MP_PAPER_PARAMS, evaluate=evaluate,
          description="baseline MP as in CWWZ'26 §4: k uniform samples per round, doubling pruning threshold, c·log2 n rounds, 32-bit coordinates")
def bb_mp_paper(sim, **params):
    p = sim.params
    n, s, d = int(p["n"]), int(p["s"]), int(p["d"])
    if n < 1:
        raise ConfigError("data: the sites hold no points (n = 0)")
    check_k(params["k"], n)
    R = max(1, math.ceil(params["c"] * math.log2(max(n, 2)) - 1e-9))
    p["mp_m"] = params["k"]
    p["dim"] = d
    cfg = {"s": s, "d": d, "k": params["k"], "R": R, "r0": params["r0"]}
    for i, site in enumerate(sim.sites):
        sim.spawn(site, doubling_pruning, cfg, np.asarray(site.data, dtype=np.float64), i)
    return sim.spawn(sim.coordinator, doubling_pruning, cfg, None, None)
