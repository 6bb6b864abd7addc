"""AS, EAS, AS-JL and EAS-JL: the adaptive-sampling protocols of the experiments of
Cohen-Addad, Wang, Woodruff, Zhou, "Distributed Algorithms for Euclidean Clustering"
(ICLR 2026): Section 4 (blackboard: AS and EAS) and Appendix F (coordinator: AS, AS-JL,
EAS-JL). The authors' code was not available to us; these follow the text.

- **AS** (Section 4.1): "iteratively samples a single center in each of ck rounds, with
  probability proportional to its distance from the previously sampled centers" — k-means
  adaptive sampling (probability ∝ squared distance, D² sampling), N = ceil(c·k) centers in
  all, the first one uniform. Coordinates travel in 32 bits (Section 4.2).
- **EAS**: AS with every chosen center's coordinates rounded to the nearest power of
  q = 2^0.25 before it is sent: the exponent code of common.EAS (5 bits per coordinate).
  Every party, the sampling site included, continues with the rounded center.
- **AS-JL / EAS-JL** (Appendix F): the coordinator draws a dense Gaussian map to d' = d/4 (or
  d/2, or an explicit d'), entries N(0, 1)/sqrt(d'), and sends its 64-bit seed to every site
  (primitives.jl, 64 bits per site); the sites project their points and run AS (EAS) in d'.

One round (the paper does not give the message flow; ours, charged by the codec):

- blackboard: every active site posts D_j = cost(X_j, S) (32 bits); the coordinator posts
  the site it picks with probability D_j/D (``PickSite``, ceil(log2 s) bits); that site
  posts a point drawn with probability d²(x, S)/D_j (d·32 bits, or d·eas_bits). Reads are free.
- coordinator: every active site sends D_j (32 bits); the coordinator sends a 1-bit
  ``SampleCall`` to the site it picks; the site sends its point; the coordinator forwards
  the point to every other active site (s' - 1 copies).
- initialization (both): sites report n_i (Elias gamma of n_i + 1); the coordinator picks a
  site with probability n_i/n and that site contributes a uniform point.
- a site whose D_j is 0 drops out after reporting it (D_j can only stay 0): it is never
  picked and needs no more centers. The run ends after N centers or when every D_j is 0.

Bits, blackboard, s' nonempty sites: Σ_i gamma(n_i + 1) + ceil(log2 s) + P for the first
center, then per center 32·(active sites) + ceil(log2 s) + P, with P = 32·d (AS) or
eas_bits·d (EAS). Coordinator: the same with 1 + P + (active - 1)·P per center instead of
ceil(log2 s) + P, plus 64·s for the JL seed.

Output ``centers``: the sampled set S (N points) — the paper's "clustering cost" of AS is
our reading: the cost of S itself (docs/results.md).
"""

from __future__ import annotations

import math

import numpy as np

from protosim import COORDINATOR, Bool, ConfigError, Param, message, protocol, site

from ..euclidean.blackboard import PickSite, SiteCount, read_each
from ..primitives.jl import jl_coordinator, jl_site
from .common import (
    EAS,
    EAS_PARAMS,
    EASCode,
    Point32,
    Scalar32,
    check_k,
    evaluate,
    f32,
    from_f32,
    to_f32,
)


@message
class SampleCall:
    """Coordinator model: 'send me a point' to the picked site (1 bit)."""

    go: Bool()


class Coords32:
    """Centers in 32 bits per coordinate."""

    cls = Point32

    def msg(self, x):
        return Point32(x=to_f32(x))

    def value(self, msg) -> np.ndarray:
        return from_f32(np.asarray(msg.x))


class CoordsEAS:
    """Centers rounded to ±q^e, ``eas_bits`` per coordinate."""

    cls = EASCode

    def __init__(self, eas: EAS):
        self.eas = eas

    def msg(self, x):
        return EASCode(c=self.eas.encode(x))

    def value(self, msg) -> np.ndarray:
        return self.eas.decode(np.asarray(msg.c))


class Local:
    """A site's points and each point's squared distance to S."""

    def __init__(self, index: int, X: np.ndarray):
        self.index = index
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.d2 = np.full(len(self.X), np.inf)

    def add(self, c) -> None:
        diff = self.X - np.asarray(c, dtype=np.float64)
        np.minimum(self.d2, np.einsum("ij,ij->i", diff, diff), out=self.d2)

    @property
    def D(self) -> float:
        return float(self.d2.sum()) if len(self.X) else 0.0

    def adaptive_index(self, rng) -> int:
        """A local point drawn with probability d²(x, S)/D_j."""
        cum = np.cumsum(self.d2)
        j = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
        return min(j, len(self.X) - 1)


class Config:
    def __init__(self, sim, params: dict, codec, jl: bool = False):
        p = sim.params
        self.s, self.n, self.d = int(p["s"]), int(p["n"]), int(p["d"])
        if self.n < 1:
            raise ConfigError("data: the sites hold no points (n = 0)")
        self.k, self.c = params["k"], params["c"]
        check_k(self.k, self.n)
        self.N = max(1, math.ceil(self.c * self.k - 1e-9))
        self.codec = codec
        self.jl = jl
        self.d_prime = self.d
        if jl:
            dp = params["d_prime"]
            if dp:
                if dp > self.d:
                    raise ConfigError(f"protocol.params.d_prime: must be <= d = {self.d}, got {dp}")
                self.d_prime = dp
            else:
                if params["ratio"] not in (2, 4):
                    raise ConfigError(f"protocol.params.ratio: the paper uses d' = d/2 or d/4; expected 2 or 4, got {params['ratio']!r}")
                self.d_prime = self.d // params["ratio"]
                if self.d_prime < 1:
                    raise ConfigError(f"protocol.params.ratio: d/{params['ratio']} = {self.d}/{params['ratio']} rounds to 0")
        p["dim"] = self.d_prime
        p["N"] = self.N
        self.lifted: list[np.ndarray] = []  # original coordinates of the sampled points: evaluation only, never sent


def _first_and_record(cfg: Config, local: Local, j: int, X_orig):
    if cfg.jl:
        cfg.lifted.append(np.array(X_orig[j], dtype=np.float64))
    return cfg.codec.msg(local.X[j])


# -- blackboard ---------------------------------------------------------------------------


def adaptive_blackboard(party, cfg: Config, local: Local | None):
    """AS / EAS on the blackboard; every party runs this function of the board."""
    s, codec = cfg.s, cfg.codec
    with party.phase("initialization"):
        if local is not None:
            party.post(SiteCount(n=len(local.X)))
        counts = yield from read_each(party, SiteCount, list(range(s)))
        sizes = np.array([counts[i].n for i in range(s)], dtype=np.float64)
        if local is None:
            party.post(PickSite(site=int(party.rng.choice(s, p=sizes / sizes.sum()))))
        pick = (yield party.read(PickSite)).site
        if local is not None and local.index == pick:
            party.post(codec.msg(local.X[int(party.rng.integers(len(local.X)))]))
        S = [codec.value((yield party.read(codec.cls)))]
    active = [int(i) for i in np.flatnonzero(sizes)]
    with party.phase("adaptive"):
        while len(S) < cfg.N:
            if local is not None:
                if local.index not in active:
                    break
                local.add(S[-1])
                party.post(Scalar32(v=int(to_f32(local.D))))
            got = yield from read_each(party, Scalar32, active)
            D = np.zeros(s)
            for j, msg in got.items():
                D[j] = from_f32(msg.v)
            active = [j for j in active if D[j] > 0]
            if not active:
                break
            if local is None:
                party.post(PickSite(site=int(party.rng.choice(s, p=D / D.sum()))))
            pick = (yield party.read(PickSite)).site
            if local is not None and local.index == pick:
                party.post(codec.msg(local.X[local.adaptive_index(party.rng)]))
            S.append(codec.value((yield party.read(codec.cls))))
    if local is not None:
        return None
    S = np.asarray(S)
    return {"centers": S, "n_centers": len(S), "N": cfg.N, "dim": cfg.d_prime}


# -- coordinator --------------------------------------------------------------------------


def adaptive_coordinator(coord, cfg: Config):
    """AS / AS-JL / EAS-JL, coordinator side."""
    s, codec = cfg.s, cfg.codec
    names = [site(i) for i in range(s)]
    jl_seed = None
    if cfg.jl:
        jl = yield from jl_coordinator(coord, names, cfg.d, kind="gaussian", d_prime=cfg.d_prime)
        jl_seed = jl.seed
    with coord.phase("initialization"):
        sizes = np.zeros(s)
        for _ in range(s):
            msg = yield coord.recv(SiteCount)
            sizes[int(msg.sender[4:])] = msg.n
        active = [int(i) for i in np.flatnonzero(sizes)]
        pick = int(coord.rng.choice(s, p=sizes / sizes.sum()))
        center = yield from _fetch(coord, pick, active, codec)
    S = [codec.value(center)]
    with coord.phase("adaptive"):
        while len(S) < cfg.N:
            D = np.zeros(s)
            for _ in range(len(active)):
                msg = yield coord.recv(Scalar32)
                D[int(msg.sender[4:])] = from_f32(msg.v)
            active = [j for j in active if D[j] > 0]
            if not active:
                break
            pick = int(coord.rng.choice(s, p=D / D.sum()))
            center = yield from _fetch(coord, pick, active, codec)
            S.append(codec.value(center))
    out = {"centers": np.asarray(S), "n_centers": len(S), "N": cfg.N, "dim": cfg.d_prime}
    if cfg.jl:
        out["jl_seed"] = jl_seed
        out["lifted"] = np.asarray(cfg.lifted)
    return out


def _fetch(coord, pick: int, active: list[int], codec):
    """Ask site ``pick`` for a point and forward it to the other active sites."""
    coord.send(site(pick), SampleCall(go=True))
    msg = yield coord.recv(codec.cls, src=site(pick))
    for j in active:
        if j != pick:
            coord.send(site(j), msg)
    return msg


def adaptive_site(party, cfg: Config, local: Local):
    """AS / AS-JL / EAS-JL, site side."""
    X_orig = local.X
    if cfg.jl:
        jl = yield from jl_site(party, cfg.d, kind="gaussian", d_prime=cfg.d_prime)
        local.X = jl.apply(local.X) if len(local.X) else np.zeros((0, cfg.d_prime))
    with party.phase("initialization"):
        party.send(COORDINATOR, SiteCount(n=len(local.X)))
        if not len(local.X):
            return None
        center = yield from _answer(party, cfg, local, X_orig, first=True)
    count = 1
    with party.phase("adaptive"):
        while count < cfg.N:
            local.add(center)
            D = f32(local.D)
            party.send(COORDINATOR, Scalar32(v=int(to_f32(D))))
            if not D > 0:
                return None
            center = yield from _answer(party, cfg, local, X_orig, first=False)
            count += 1
    return None


def _answer(party, cfg: Config, local: Local, X_orig, first: bool):
    """Wait for the next center; when called, send a point (uniform first, then ∝ d²)."""
    codec = cfg.codec
    msg = yield party.recv((SampleCall, codec.cls), src=COORDINATOR)
    if isinstance(msg, SampleCall):
        j = int(party.rng.integers(len(local.X))) if first else local.adaptive_index(party.rng)
        msg = _first_and_record(cfg, local, j, X_orig)
        party.send(COORDINATOR, msg)
    return codec.value(msg)


# -- registration -------------------------------------------------------------------------

AS_PARAMS = {
    "k": Param(kind=int, low=1, doc="number of clusters"),
    "c": Param(kind=float, low=1e-9, doc="sampling coefficient: N = ceil(c·k) centers"),
}
JL_PARAMS = {
    "d_prime": Param(0, int, low=0, doc="JL target dimension d'; 0: d/ratio"),
    "ratio": Param(4, int, low=2, high=4, doc="d' = d/ratio when d_prime = 0 (the paper: 2 or 4)"),
}


def _spawn_bb(sim, cfg):
    for i, s in enumerate(sim.sites):
        sim.spawn(s, adaptive_blackboard, cfg, Local(i, s.data))
    return sim.spawn(sim.coordinator, adaptive_blackboard, cfg, None)


def _spawn_coord(sim, cfg):
    for i, s in enumerate(sim.sites):
        sim.spawn(s, adaptive_site, cfg, Local(i, s.data))
    return sim.spawn(sim.coordinator, adaptive_coordinator, cfg)


@protocol("bb_as", models=("blackboard",), params=AS_PARAMS, evaluate=evaluate,
          description="baseline AS (CWWZ'26 §4): adaptive sampling, one center per round, c·k centers, 32-bit coordinates")
def bb_as(sim, **params):
    return _spawn_bb(sim, Config(sim, params, Coords32()))


@protocol("bb_eas", models=("blackboard",), params={**AS_PARAMS, **EAS_PARAMS}, evaluate=evaluate,
          description="baseline EAS (CWWZ'26 §4): AS with centers rounded to ±q^e, q = 2^0.25, 5 bits per coordinate")
def bb_eas(sim, **params):
    return _spawn_bb(sim, Config(sim, params, CoordsEAS(EAS.from_params(params))))


@protocol("coord_as", models=("coordinator",), params=AS_PARAMS, evaluate=evaluate,
          description="baseline AS (CWWZ'26 App. F): adaptive sampling on the coordinator model, 32-bit coordinates")
def coord_as(sim, **params):
    return _spawn_coord(sim, Config(sim, params, Coords32()))


@protocol("coord_as_jl", models=("coordinator",), params={**AS_PARAMS, **JL_PARAMS}, evaluate=evaluate,
          description="baseline AS-JL (CWWZ'26 App. F): AS after a dense Gaussian JL map to d' (64-bit seed per site)")
def coord_as_jl(sim, **params):
    return _spawn_coord(sim, Config(sim, params, Coords32(), jl=True))


@protocol("coord_eas_jl", models=("coordinator",), params={**AS_PARAMS, **JL_PARAMS, **EAS_PARAMS}, evaluate=evaluate,
          description="EAS-JL (CWWZ'26 App. F): AS-JL with centers rounded to ±q^e, eas_bits per coordinate")
def coord_eas_jl(sim, **params):
    return _spawn_coord(sim, Config(sim, params, CoordsEAS(EAS.from_params(params)), jl=True))
