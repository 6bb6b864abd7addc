"""k-means|| (Bahmani, Moseley, Vattani, Kumar, Vassilvitskii, "Scalable K-Means++", VLDB
2012), on the coordinator model and the blackboard, with the paper's names: oversampling
factor ℓ, R rounds, φ_X(C) = Σ_x d²(x, C).

    C <- one point drawn uniformly from X
    repeat R times:                          (the paper: O(log φ); Spark: 2 steps, ℓ = 2k)
        each x is added to C' independently with probability min(1, ℓ·d²(x, C)/φ_X(C))
        C <- C ∪ C'
    w_c <- the number of points whose nearest center is c
    recluster the weighted C into k centers  (weighted k-means: k-means++ seeding and Lloyd)

Defaults ℓ = 2k and R = 2, both parameters (the issue; Spark's defaults). Messages:

- initialization: sites report n_i (Elias gamma); the coordinator picks a site ∝ n_i; that
  site contributes a uniform point, which the other nonempty sites get (coordinator: one
  copy each; blackboard: one post).
- per round: each nonempty site reports φ_i = cost(X_i, C) (32 bits); coordinator model: the
  coordinator sends φ = Σ φ_i back to every site (32 bits each), blackboard: every party adds
  the posts up. Each site sends its sample C'_i (``Points32``: gamma(|C'_i| + 1) + 32·d per
  point). Coordinator model: the coordinator sends each site the others' samples as one list
  per other site (a gamma length each, in site order); blackboard: read for free.
- weights: each site sends, for every c in C (in the order all parties share), how many of
  its points have c as nearest (``Vector(Gamma(base=0))`` of length |C|).

All real numbers travel in binary32 and every party uses the decoded values.
"""

from __future__ import annotations

import numpy as np

from protosim import COORDINATOR, ConfigError, Gamma, Param, Vector, message, protocol

from ..euclidean.blackboard import PickSite, SiteCount, read_each
from .adaptive import Local, SampleCall
from .common import (
    F32,
    Point32,
    Points32,
    Scalar32,
    check_k,
    evaluate,
    f32,
    from_f32,
    kmeans_on,
    points_msg,
    points_of,
    to_f32,
)


@message
class OthersSamples:
    """Coordinator model: the samples of every other site, one list per site in site order."""

    lists: Vector(Vector(Vector(F32, length="dim")), length="s - 1")


@message
class CenterCounts:
    """For every center of C, how many of the site's points have it as nearest."""

    w: Vector(Gamma(base=0), length="C_size")


def _sample(local: Local, ell: float, phi: float, rng) -> np.ndarray:
    if not phi > 0 or not len(local.X):
        return np.zeros((0, local.X.shape[1]))
    p = np.minimum(1.0, ell * local.d2 / phi)
    return local.X[rng.random(len(local.X)) < p]


def _counts(local: Local, C: np.ndarray) -> np.ndarray:
    best = np.full(len(local.X), np.inf)
    arg = np.zeros(len(local.X), np.int64)
    for j, c in enumerate(C):
        diff = local.X - c
        d2 = np.einsum("ij,ij->i", diff, diff)
        closer = d2 < best
        best[closer] = d2[closer]
        arg[closer] = j
    return np.bincount(arg, minlength=len(C))


# -- blackboard ---------------------------------------------------------------------------


def kmpar_blackboard(party, cfg, local: Local | None):
    s, d = cfg["s"], cfg["d"]
    with party.phase("initialization"):
        if local is not None:
            party.post(SiteCount(n=len(local.X)))
        counts = yield from read_each(party, SiteCount, list(range(s)))
        sizes = np.array([counts[i].n for i in range(s)], dtype=np.float64)
        if local is None:
            party.post(PickSite(site=int(party.rng.choice(s, p=sizes / sizes.sum()))))
        pick = (yield party.read(PickSite)).site
        if local is not None and local.index == pick:
            party.post(Point32(x=to_f32(local.X[int(party.rng.integers(len(local.X)))])))
        C = [from_f32(np.asarray((yield party.read(Point32)).x))]
    nonempty = [int(i) for i in np.flatnonzero(sizes)]
    if local is not None:
        local.add(C[0])
    for r in range(cfg["R"]):
        with party.phase(f"round{r + 1}"):
            if local is not None and local.index in nonempty:
                party.post(Scalar32(v=int(to_f32(local.D))))
            got = yield from read_each(party, Scalar32, nonempty)
            phi = float(np.sum([from_f32(got[j].v) for j in nonempty]))
            if local is not None and local.index in nonempty:
                party.post(points_msg(_sample(local, cfg["ell"], phi, party.rng)))
            got = yield from read_each(party, Points32, nonempty)
            new = [points_of(got[j], d) for j in nonempty]
            for block in new:
                C.extend(block)
                if local is not None:
                    for c in block:
                        local.add(c)
    C = np.asarray(C)
    with party.phase("weights"):
        params = {"C_size": len(C)}
        if local is not None and local.index in nonempty:
            party.post(CenterCounts(w=_counts(local, C)), params=params)
        got = yield from read_each(party, CenterCounts, nonempty, params=params)
    if local is not None:
        return None
    return _finish(party, cfg, C, got, nonempty)


def _finish(party, cfg, C, got, nonempty):
    w = np.sum([np.asarray(got[j].w, dtype=np.float64) for j in nonempty], axis=0)
    centers = kmeans_on(C, w, cfg["k"], party.rng)
    return {"C": C, "weights": w, "C_size": len(C), "centers": centers, "ell": cfg["ell"], "R": cfg["R"]}


# -- coordinator --------------------------------------------------------------------------


def kmpar_coordinator(party, cfg):
    s, d = cfg["s"], cfg["d"]
    with party.phase("initialization"):
        sizes = np.zeros(s)
        for _ in range(s):
            msg = yield party.recv(SiteCount)
            sizes[int(msg.sender[4:])] = msg.n
        nonempty = [int(i) for i in np.flatnonzero(sizes)]
        pick = int(party.rng.choice(s, p=sizes / sizes.sum()))
        party.send(f"site{pick}", SampleCall(go=True))
        msg = yield party.recv(Point32, src=f"site{pick}")
        for j in nonempty:
            if j != pick:
                party.send(f"site{j}", msg)
        C = [from_f32(np.asarray(msg.x))]
    for r in range(cfg["R"]):
        with party.phase(f"round{r + 1}"):
            phis = {}
            for _ in nonempty:
                msg = yield party.recv(Scalar32)
                phis[int(msg.sender[4:])] = from_f32(msg.v)
            phi = to_f32(float(np.sum([phis[j] for j in nonempty])))
            for j in nonempty:
                party.send(f"site{j}", Scalar32(v=int(phi)))
            samples = {}
            for _ in nonempty:
                msg = yield party.recv(Points32)
                samples[int(msg.sender[4:])] = np.asarray(msg.xs, dtype=np.int64).reshape(-1, d)
            for j in nonempty:
                lists = [samples.get(i, np.zeros((0, d), np.int64)) for i in range(s) if i != j]
                party.send(f"site{j}", OthersSamples(lists=lists))
            for i in range(s):
                if i in samples:
                    C.extend(from_f32(samples[i]))
    C = np.asarray(C)
    with party.phase("weights"):
        params = {"C_size": len(C)}
        got = {}
        for _ in nonempty:
            msg = yield party.recv(CenterCounts, params=params)
            got[int(msg.sender[4:])] = msg
    return _finish(party, cfg, C, got, nonempty)


def kmpar_site(party, cfg, local: Local):
    d = cfg["d"]
    with party.phase("initialization"):
        party.send(COORDINATOR, SiteCount(n=len(local.X)))
        if not len(local.X):
            return None
        msg = yield party.recv((SampleCall, Point32), src=COORDINATOR)
        if isinstance(msg, SampleCall):
            msg = Point32(x=to_f32(local.X[int(party.rng.integers(len(local.X)))]))
            party.send(COORDINATOR, msg)
        C = [from_f32(np.asarray(msg.x))]
    local.add(C[0])
    for r in range(cfg["R"]):
        with party.phase(f"round{r + 1}"):
            party.send(COORDINATOR, Scalar32(v=int(to_f32(local.D))))
            phi = float(from_f32((yield party.recv(Scalar32, src=COORDINATOR)).v))
            mine = _sample(local, cfg["ell"], phi, party.rng)
            party.send(COORDINATOR, points_msg(mine))
            mine = f32(mine)
            others = (yield party.recv(OthersSamples, src=COORDINATOR)).lists
            blocks = [from_f32(np.asarray(b, dtype=np.int64)).reshape(-1, d) for b in others]
            blocks.insert(local.index, mine)
            for block in blocks:
                C.extend(block)
                for c in block:
                    local.add(c)
    C = np.asarray(C)
    with party.phase("weights"):
        party.send(COORDINATOR, CenterCounts(w=_counts(local, C)), params={"C_size": len(C)})
    return None


KMPAR_PARAMS = {
    "k": Param(kind=int, low=1, doc="number of clusters"),
    "ell": Param(0.0, float, low=0.0, doc="oversampling factor ℓ; 0: 2k"),
    "R": Param(2, int, low=0, doc="sampling rounds"),
}


@protocol("kmeans_parallel", models=("coordinator", "blackboard"), params=KMPAR_PARAMS, evaluate=evaluate,
          description="baseline k-means|| (Bahmani et al. 2012): R rounds of ℓ-oversampled D² sampling, weighted recluster")
def kmeans_parallel(sim, **params):
    p = sim.params
    n, s, d = int(p["n"]), int(p["s"]), int(p["d"])
    if n < 1:
        raise ConfigError("data: the sites hold no points (n = 0)")
    check_k(params["k"], n)
    p["dim"] = d
    cfg = {"s": s, "d": d, "k": params["k"], "ell": params["ell"] or 2.0 * params["k"], "R": params["R"]}
    if sim.model.name == "blackboard":
        for i, site in enumerate(sim.sites):
            sim.spawn(site, kmpar_blackboard, cfg, Local(i, site.data))
        return sim.spawn(sim.coordinator, kmpar_blackboard, cfg, None)
    for i, site in enumerate(sim.sites):
        sim.spawn(site, kmpar_site, cfg, Local(i, site.data))
    return sim.spawn(sim.coordinator, kmpar_coordinator, cfg)
