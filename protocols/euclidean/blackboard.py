"""Blackboard protocols of Cohen-Addad, Wang, Woodruff, Zhou, "Distributed Algorithms for
Euclidean Clustering" (ICLR 2026, arXiv 2603.08615): Section 2 and Appendices B–D.

- ``initialization``: Algorithm 7 INITIALIZATION.
- ``algorithm_8``: Algorithm 8, lazy adaptive sampling (k = O(log n)), Lemma D.1.
- ``algorithm_10``: Algorithm 10, bicriteria with L1SAMPLING and batch sampling, Lemmas D.3–D.6.
- ``algorithm_13``: Algorithm 13, the (1+ε)-coreset by sensitivity sampling (Lemma D.9),
  with DISTMORRIS (Algorithm 12) and the compact encoding (Algorithm 6).
- Registered protocols: ``bb_bicriteria`` (Alg 10), ``bb_lazy_adaptive`` (Alg 8) and
  ``bb_coreset`` (Theorem 1.2 / D.10: Alg 10, then Alg 13, then weighted k-means on the
  coreset at the coordinator). The naive baseline is in naive.py.

Every party runs the same function of the board: what the coordinator decides, every site
can recompute from the posts (the blackboard is public), so no decision is ever sent
twice. ``local`` is None for the coordinator; for a site it holds its grid points and its
distances to S. The coordinator has no data and only knows what it read.

Grid inputs. Points lie in {0, ..., Δ-1}^d with Δ = 2^log2Delta (a run parameter that the
point code uses: ``UInt(log2Delta)`` per coordinate). Data not already on the grid is
mapped by a declared, public quantisation x -> rint((x - grid_lo)/grid_step); with the
defaults (0, 1) integer data is unchanged. A coordinate outside the grid is a ConfigError
before the run. Every nonzero distance between grid points is >= 1, so every nonzero cost
is >= 1 and POWERAPPROX exponents are >= 0.

Choices where the paper is wrong or silent (also in docs/protocols/euclidean-blackboard.md,
each tested in tests/protocols/test_blackboard_*.py):

1. Algorithm 10, counter M. Line 10 adds L (all successes of the batch); the proof of
   Lemma D.3 adds only 1 when L1SAMPLING returns True (the other samples may be invalid).
   We follow the proof: M += L if False, M += min(L, 1) if True.
2. Algorithm 10, inner loop. ``while bool = False`` never looks at M, so once M >= N it
   would keep doubling the batch until D drops by μ². We leave the inner loop as soon as
   M >= N.
3. Algorithm 10, L1SAMPLING: λ = μ/4 (Algorithm 9; the proof's μ/2 does not give the
   inequality) and N from a relative-entropy Chernoff bound (the proof's Hoeffding step
   uses the wrong range); see l1_sampling.py. δ = 1/log2(n)^2 by default (Algorithm 10
   line 2, constant 1). The L1 sites are drawn from D̃ when the batch is posted and named
   in the same post: D̃ does not change within a batch, so the distribution is the same
   and a round is saved.
4. Updates (Algorithm 10 line 16, Algorithm 8 line 7). A site cannot "stay silent" on an
   asynchronous board (no one could tell silence from slowness), so every site whose
   D̃_j > 0 posts the drop v_old - v_new of its POWERAPPROX field in Elias gamma: 1 bit
   when unchanged. Sites with D̃_j = 0 never change and never post.
5. Algorithm 8 runs LAZYSAMPLING until it has N successes (Lemma B.11 runs it "γN times to
   get N points") and skips the update round after a ⊥ (nothing changed).
6. INITIALIZATION: the coordinator has no data, so "the coordinator samples a point" is:
   sites post their sizes n_i (Elias gamma), the coordinator names a site with probability
   n_i/n, that site posts a uniform local point. Empty sites post nothing after that.
7. Algorithm 13: DISTMORRIS over 2|S| counters (sizes and costs) in one pass; sites with no
   points skip their turn (their counts are publicly zero). Costs enter Morris in units of
   1 when z is an even integer (grid costs are integers) and 1/16 otherwise
   (n_{i,j} = ceil(16·cost), a factor <= 1 + 1/16 per nonzero term). Site totals μ̃(X_i) go
   up as POWERAPPROX(·, 2) exponents (``Signed()``, totals can be < 1); the coordinator
   draws m_i ~ Multinomial(m, â_i/Σâ) and each site weights a point by the probability it
   really had, p(x) = (â_i/Σâ)·μ̃(x)/μ̃(X_i), so the coreset stays unbiased. A site merges
   repeated draws of one point (weight count/(m·p)). Sites with m_i = 0 post nothing.
8. Final centers: weighted k-means (scikit-learn, n_init=5) on the decoded coreset. If the
   board shows cost(X, S) = 0 (every D̃_j = 0) and S has at most k distinct points (all
   points identical, k >= number of distinct points), the coordinator outputs the distinct
   points of S: cost 0, optimal.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from protosim import (
    BlackboardModel,
    ConfigError,
    Gamma,
    Param,
    Signed,
    Simulation,
    UInt,
    Vector,
    message,
    protocol,
)
from protosim.registry import get_protocol

from ..clustering import cost as clustering_cost
from ..clustering import weighted_kmeans
from ..primitives.compact_encoding import (
    DEFAULT_ALPHA,
    CompactPoints,
    decode_points,
    encode_points,
    eps_prime_for,
    exponent_width,
)
from ..primitives.l1_sampling import (
    L1Reply,
    SiteMultiset,
    decode_multiset,
    encode_multiset,
    l1_decision,
    l1_parameters,
    reply_for,
)
from ..primitives.lazy_sampling import SampleRequest, answer, collect, draw_sites
from ..primitives.morris import dist_morris, morris_copies
from ..primitives.power_approx import exponent_to_field, field_values, power_approx
from ..primitives.sensitivity import coreset_size, sensitivities

# -- messages -----------------------------------------------------------------------------


@message
class SiteCount:
    """INITIALIZATION: a site's number of points n_i."""

    n: Gamma(base=0)


@message
class PickSite:
    """The coordinator names one site (ceil(log2 s) bits)."""

    site: UInt("clog2(s)")


@message
class InitPoint:
    """INITIALIZATION line 1: the first point of S, in grid coordinates."""

    x: Vector(UInt("log2Delta"), length="d")


@message
class CostExp:
    """INITIALIZATION line 3: POWERAPPROX(cost(X_i, S), 2) as Gamma(base=0) of v = i+1 (0: cost 0)."""

    v: Gamma(base=0)


@message
class Batch:
    """Algorithm 10 lines 6-7 and 12: 2^i LAZYSAMPLING requests and the L1SAMPLING multiset."""

    sites: Vector(UInt("clog2(s)"))
    l1: SiteMultiset


@message
class Update:
    """Algorithm 10 line 16 / Algorithm 8 line 7: drop of the site's POWERAPPROX field (0: unchanged)."""

    drop: Gamma(base=0)


@message
class SensTotal:
    """Algorithm 13 line 6: POWERAPPROX(μ̃(X_i), 2), a signed exponent."""

    e: Signed()


@message
class SiteSamples:
    """Algorithm 13 line 8: m_i, the number of samples each site draws."""

    m: Vector(Gamma(base=0), length="s")


# -- configuration ------------------------------------------------------------------------

BICRITERIA_PARAMS = {
    "k": Param(kind=int, low=1, doc="number of clusters"),
    "log2Delta": Param(kind=int, low=1, high=52, doc="grid bits per coordinate: points in {0..2^log2Delta - 1}^d"),
    "z": Param(2.0, float, low=1.0, doc="cost exponent: 1 k-median, 2 k-means"),
    "grid_lo": Param(0.0, float, doc="declared quantisation: x -> rint((x - grid_lo)/grid_step)"),
    "grid_step": Param(1.0, float, low=1e-300, doc="declared quantisation step"),
    "oversample": Param(2.0, float, low=0.01, doc="N = ceil(oversample·k) valid samples (Algorithm 10 line 2)"),
    "mu": Param(8.0, float, low=4.0, doc="L1SAMPLING distortion μ > 4 (Algorithm 10 line 2: 8)"),
    "delta": Param(0.0, float, low=0.0, high=0.5, doc="L1SAMPLING failure probability; 0: 1/log2(n)^2"),
}

CORESET_PARAMS = {
    **BICRITERIA_PARAMS,
    "eps": Param(0.25, float, low=1e-3, high=0.999, doc="coreset accuracy ε"),
    "m": Param(0, int, low=0, doc="coreset samples; 0: ceil(c_m·k/ε²·min(ε^-2, ε^-z))"),
    "c_m": Param(1.0, float, low=1e-6, doc="constant of the coreset size formula"),
    "eps_prime": Param(0.0, float, low=0.0, doc="compact encoding precision; 0: 2(ε/4α)^{1/z}·ε/(ε+8z)"),
    "alpha": Param(DEFAULT_ALPHA, float, low=1.0, doc="assumed bicriteria factor in the ε' formula"),
    "morris_eps": Param(0.25, float, low=0.01, high=0.99, doc="DISTMORRIS accuracy ε (Lemma D.8: 1/4)"),
}


@dataclass
class GridConfig:
    """What every clustering run on the grid knows publicly: s, n, d, k, z, the grid
    (log2Delta, grid_lo, grid_step) and N = ceil(oversample·k) sampled centers."""

    s: int
    n: int
    d: int
    k: int
    z: float
    log2Delta: int
    grid_lo: float
    grid_step: float
    N: int


def grid_config(sim, params: dict) -> dict:
    """The :class:`GridConfig` fields of a run; refuses a run without points."""
    p = sim.params
    n, s, d = int(p["n"]), int(p["s"]), int(p["d"])
    if n < 1:
        raise ConfigError("data: the sites hold no points (n = 0); clustering needs n >= 1")
    return {"s": s, "n": n, "d": d, "k": params["k"], "z": float(params["z"]), "log2Delta": params["log2Delta"],
            "grid_lo": params["grid_lo"], "grid_step": params["grid_step"],
            "N": max(1, math.ceil(params["oversample"] * params["k"]))}


@dataclass
class Config(GridConfig):
    """Every public quantity of a blackboard run (derived ones are added to sim.params for the codes)."""

    mu: float
    delta: float
    L1_N: int
    eps: float = 0.25
    m: int = 0
    eps_prime: float = 0.0
    ce_width: int = 1
    weight_base: float = 1.125
    morris_eps: float = 0.25
    cost_unit: float = 1.0

    @property
    def lam(self) -> float:
        return self.mu / 4


def make_config(sim, params: dict, coreset: bool = False) -> Config:
    """Validate and derive the public parameters; writes L1_N (and ce_width) into sim.params."""
    p = sim.params
    grid = grid_config(sim, params)
    n = grid["n"]
    if not params["mu"] > 4:
        raise ConfigError(f"protocol.params.mu: must be > 4 (L1SAMPLING uses λ = μ/4 > 1), got {params['mu']!r}")
    delta = params["delta"] or 1.0 / max(2.0, math.log2(n)) ** 2
    l1 = l1_parameters(params["mu"], delta)
    cfg = Config(**grid, mu=params["mu"], delta=delta, L1_N=l1["N"])
    z = cfg.z
    cfg.cost_unit = 1.0 if float(z).is_integer() and int(z) % 2 == 0 else 1.0 / 16
    p["L1_N"] = cfg.L1_N
    p["N"] = cfg.N
    if coreset:
        cfg.eps = params["eps"]
        cfg.m = params["m"] or coreset_size(cfg.k, cfg.eps, z, params["c_m"])
        cfg.eps_prime = params["eps_prime"] or eps_prime_for(cfg.eps, z, params["alpha"])
        cfg.ce_width = exponent_width(cfg.eps_prime, cfg.log2Delta)
        cfg.weight_base = 1 + cfg.eps / 2
        cfg.morris_eps = params["morris_eps"]
        p["ce_width"] = cfg.ce_width
        p["morris_l_k"] = morris_copies(2 * cfg.k, cfg.morris_eps)  # DISTMORRIS copies for 2k counters (|S| = k)
        p["m_coreset"] = cfg.m
        p["eps_prime_used"] = cfg.eps_prime
    return cfg


def to_grid(X: np.ndarray, log2Delta: int, grid_lo: float = 0.0, grid_step: float = 1.0, where: str = "data"):
    """The declared quantisation x -> rint((x - grid_lo)/grid_step); ConfigError off the grid."""
    return grid_values(X, log2Delta, grid_lo, grid_step, where).astype(np.int64)


def grid_values(X: np.ndarray, log2Delta: int, grid_lo: float = 0.0, grid_step: float = 1.0, where: str = "data"):
    """:func:`to_grid` as float64 (integer values, exact below 2^53): one array, no other copy."""
    X = np.asarray(X, dtype=np.float64)
    Q = X - grid_lo  # one buffer, updated in place: the same operations as rint((X - lo)/step)
    Q /= grid_step
    np.rint(Q, out=Q)
    top = 2 ** int(log2Delta) - 1
    if Q.size and (Q.min() < 0 or Q.max() > top):
        r, c = map(int, np.argwhere((Q < 0) | (Q > top))[0])
        raise ConfigError(
            f"{where}: row {r} column {c} is {X[r, c]!r}, which maps to grid value {Q[r, c]:g} outside "
            f"[0, {top}] (log2Delta={log2Delta}, grid_lo={grid_lo}, grid_step={grid_step})"
        )
    return Q


# -- local and public state ---------------------------------------------------------------


EXACT_LIMIT = 2.0**53
"""Integers below this are exact in float64."""

_CHUNK = 1 << 17
"""Elements of a block of the distance computation (rows x max(centers, d)): 1 MiB, within L2."""


def compact(X: np.ndarray, bounds: tuple | None = None) -> np.ndarray:
    """Grid points (integer values) in the narrowest of uint16, uint32 and float64 that holds
    them exactly: a site keeps its points in a quarter of the bytes when log2Delta <= 16.
    ``bounds``: (lo, hi) known to contain every value (else they are looked up)."""
    if not X.size:
        return np.asarray(X, dtype=np.float64)
    lo, hi = bounds if bounds is not None else (X.min(), X.max())
    if lo >= 0 and hi <= np.iinfo(np.uint16).max:
        return X.astype(np.uint16)
    if lo >= 0 and hi <= np.iinfo(np.uint32).max:
        return X.astype(np.uint32)
    return np.asarray(X, dtype=np.float64)


class Local:
    """A site's private state: its grid points, each point's squared distance to S and the
    index in S of its nearest center (the first one on ties).

    The points are kept once, in ``grid`` (see :func:`compact`: uint16 for log2Delta <= 16),
    and converted to float64 one cache-sized block at a time; ``X`` is the int64 copy that
    code outside the arithmetic may ask for (made on first use).
    """

    def __init__(self, index: int, X: np.ndarray, z: float, _grid: np.ndarray | None = None):
        self.index = index
        if _grid is None:
            self._X = np.asarray(X, dtype=np.int64)
            self.grid = compact(self._X)
        else:  # from_grid
            self._X, self.grid = None, _grid
        self.n = len(self.grid)
        self.z = z
        self.d2 = np.full(self.n, np.inf)
        self.nearest = np.zeros(self.n, np.int64)
        self.centers = 0
        self.cost_x = np.full(self.n, np.inf)
        self.D = math.inf
        self._top = max(float(self.grid.max()), -float(self.grid.min())) if self.grid.size else 0.0
        self._sq = None  # ||x||², made on the first block-wise update
        self._exact = True  # every d2 so far is an exact integer

    @classmethod
    def from_grid(cls, index: int, Q: np.ndarray, z: float, log2Delta: int | None = None) -> "Local":
        """A site holding ``Q``, grid values from :func:`grid_values` (kept as :func:`compact`
        makes them; with ``log2Delta``, every value is known to lie in [0, 2^log2Delta - 1])."""
        bounds = None if log2Delta is None else (0, 2 ** int(log2Delta) - 1)
        return cls(index, None, z, _grid=compact(np.asarray(Q, dtype=np.float64), bounds))

    @property
    def X(self) -> np.ndarray:
        """The grid points as int64 (made on first use when the site was built from_grid)."""
        if self._X is None:
            self._X = self.grid.astype(np.int64)
        return self._X

    def _rows(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi as float64 (exact: the grid holds integers below 2^53)."""
        return self.grid[lo:hi].astype(np.float64, copy=False)

    def add_centers(self, centers) -> None:
        """cost(x, S) after S gains ``centers``, in S's order (vectorised; exact integers for z = 2).

        With integer centers, every coordinate below B in absolute value and 4·d·B² < 2^53, squared
        distances are computed as ||x||² - 2<x, c> + ||c||², one matrix product per block
        of rows for all the new centers: every term is an integer below 2^53, so the result
        is exact and equals the coordinate-wise sum of squares. Otherwise they are computed
        coordinate-wise, one center at a time. Either way the distances, the nearest center
        (the first at the minimum distance, earlier centers first) and D are those of
        adding the centers one by one.
        """
        if isinstance(centers, np.ndarray) and centers.ndim == 2:
            C = centers.astype(np.float64, copy=False)
        else:
            C = [np.asarray(c, dtype=np.float64) for c in centers]
        if len(C) and self.n:
            C = np.stack(C) if isinstance(C, list) else C
            top = max(self._top, float(np.abs(C).max()))
            if 4 * self.grid.shape[1] * top * top < EXACT_LIMIT and np.array_equal(C, np.rint(C)):
                self._add_blocked(C)
            else:
                self._add_each(C)
        self.centers += len(C)
        self.cost_x = self.d2 if self.z == 2 else self.d2 ** (self.z / 2)
        self.D = self._total() if self.n else 0.0

    def _total(self) -> float:
        """Σ cost_x as the sequential (cumulative) sum gives it."""
        if self.z == 2 and self._exact:
            total = float(self.cost_x.sum())
            if total < EXACT_LIMIT:  # integers with an exact total: any order gives it
                return total
        return float(np.cumsum(self.cost_x)[-1])

    def _add_blocked(self, C: np.ndarray) -> None:
        b, d = C.shape
        rows = max(256, _CHUNK // max(b, d))
        if self._sq is None:
            self._sq = np.empty(self.n)
            for lo in range(0, self.n, rows):
                Xb = self._rows(lo, lo + rows)
                self._sq[lo:lo + rows] = np.einsum("ij,ij->i", Xb, Xb)
        cn = np.einsum("ij,ij->i", C, C)
        C2 = -2.0 * C  # exact: a power of two
        closer = np.empty(min(rows, self.n), bool)
        for lo in range(0, self.n, rows):
            hi = min(lo + rows, self.n)
            G = C2 @ self._rows(lo, hi).T  # (b, rows): one row of distances per new center
            G += self._sq[lo:hi]
            d2, nearest, cl = self.d2[lo:hi], self.nearest[lo:hi], closer[: hi - lo]
            for j in range(b):  # in S's order; strict: an earlier center keeps a tie
                g = G[j]
                g += cn[j]
                np.less(g, d2, out=cl)
                np.copyto(d2, g, where=cl)
                np.copyto(nearest, self.centers + j, where=cl)

    def _add_each(self, C: np.ndarray) -> None:
        self._exact = False
        for i, c in enumerate(C):
            diff = self.grid - c  # float64, the same values as from float64 points
            d2 = np.einsum("ij,ij->i", diff, diff)
            closer = d2 < self.d2
            self.d2[closer] = d2[closer]
            self.nearest[closer] = self.centers + i


@dataclass
class Board:
    """What every party knows from the board."""

    sizes: np.ndarray
    v: np.ndarray  # POWERAPPROX(D_j, 2) field values: D̃_j = 2^(v_j - 1), 0 when v_j = 0
    S: list = field(default_factory=list)
    M: int = 0
    batches: int = 0
    updates: int = 0
    l1_checks: int = 0
    log: list = field(default_factory=list)  # Algorithm 10: (batch size, successes L, L1 decision, M before)

    @property
    def D_tilde(self) -> np.ndarray:
        return field_values(self.v, 2.0)

    @property
    def active(self) -> list[int]:
        return [int(j) for j in np.flatnonzero(self.v > 0)]


@functools.cache
def _index(sender: str) -> int:
    return int(sender[4:])


def read_each(party, cls, senders: list[int], params: dict | None = None):
    """Read one post of ``cls`` from each of ``senders`` (any order); returns {site index: message}.

    One read event for all of them. The dict is built once per run for all the parties
    that read the same posts (Party.shared): treat it as read-only.
    """
    if not senders:
        return {}
    msgs = yield party.read(cls, params=params, count=len(senders))  # one event for all of them
    return party.shared(("read_each", tuple(map(id, msgs)), tuple(senders)), lambda: _by_sender(party, cls, msgs, senders))


def _by_sender(party, cls, msgs, senders) -> dict:
    out = {_index(msg.sender): msg for msg in msgs}
    if sorted(out) != sorted(senders):
        raise RuntimeError(f"{party.name}: expected {cls.__name__} from sites {sorted(senders)}, got {sorted(out)}")
    return out


def _ids(msgs: dict) -> tuple:
    """The posts a public computation depends on, as a memo key (see Party.shared)."""
    return tuple(map(id, msgs.values()))


def _batch_view(batch) -> tuple:
    """A Batch post decoded: the LAZYSAMPLING requests, the L1 multiset and its distinct sites."""
    l1_sites = decode_multiset(batch.l1)
    return np.asarray(batch.sites, dtype=np.int64), l1_sites, [int(j) for j in np.unique(l1_sites)]


def _points(replies) -> np.ndarray:
    """The points of the non-⊥ LAZYSAMPLING replies, in board order, as rows of one array."""
    pts = [p for _, p in replies if p is not None]
    return np.stack(pts) if pts else np.zeros((0, 0), np.int64)


def _nonempty(party, sizes: np.ndarray) -> tuple[list[int], dict[int, int]]:
    """The sites with points, in order, and each one's place in that order (shared, read-only)."""
    def compute():
        nonempty = [int(i) for i in np.flatnonzero(sizes)]
        return nonempty, {j: t for t, j in enumerate(nonempty)}
    return party.shared(("bb_nonempty", id(sizes)), compute)


def _totals(totals: dict, s: int) -> np.ndarray:
    """Algorithm 13: â_i = 2^e_i from the SensTotal posts (0 for sites that posted none)."""
    a_hat = np.zeros(s)
    for i, msg in totals.items():
        a_hat[i] = 2.0 ** msg.e
    return a_hat


def _samples(post) -> tuple[np.ndarray, list[int]]:
    """Algorithm 13 line 8: m_i per site, and the sites that draw at least one sample."""
    m_i = np.asarray(post.m, dtype=np.int64)
    return m_i, [int(i) for i in np.flatnonzero(m_i)]


def _power_field(D: float) -> int:
    return exponent_to_field(power_approx(D, 2.0))


# -- Algorithm 7 --------------------------------------------------------------------------


def initialization(party, cfg: Config, local: Local | None):
    """Algorithm 7 INITIALIZATION: one uniform point into S; POWERAPPROX(cost(X_i, S), 2) per site."""
    s = cfg.s
    with party.phase("initialization"):
        if local is not None:
            party.post(SiteCount(n=local.n))
        counts = yield from read_each(party, SiteCount, list(range(s)))
        sizes = party.shared(("bb_sizes", _ids(counts)), lambda: np.array([counts[i].n for i in range(s)], dtype=np.int64))
        if local is None:
            party.post(PickSite(site=int(party.rng.choice(s, p=sizes / sizes.sum()))))
        pick = (yield party.read(PickSite)).site
        if local is not None and local.index == pick:
            party.post(InitPoint(x=local.grid[int(party.rng.integers(local.n))]))
        x = np.asarray((yield party.read(InitPoint)).x, dtype=np.int64)
        nonempty = _nonempty(party, sizes)[0]
        if local is not None:
            local.add_centers([x])
            if local.n:
                party.post(CostExp(v=_power_field(local.D)))
        exps = yield from read_each(party, CostExp, nonempty)

    def fields():
        v = np.zeros(s, np.int64)
        for i, msg in exps.items():
            v[i] = msg.v
        return v

    return Board(sizes=sizes, v=party.shared(("bb_v", s, _ids(exps)), fields), S=[x])


def _update_round(party, cfg: Config, board: Board, local: Local | None):
    """Every site with D̃_j > 0 posts the drop of its POWERAPPROX(D_j, 2) field; all apply them."""
    active, posting = party.shared(("bb_active", id(board.v)), lambda: (board.active, set(board.active)))
    with party.phase("update"):
        if local is not None and local.index in posting:
            new = _power_field(local.D)
            party.post(Update(drop=int(board.v[local.index] - new)))
        drops = yield from read_each(party, Update, active)

    def apply():
        v = board.v.copy()
        for j, msg in drops.items():
            v[j] -= msg.drop
        return v

    board.v = party.shared(("bb_update", id(board.v), _ids(drops)), apply)  # a new array: v is shared
    board.updates += 1


# -- Algorithm 10 -------------------------------------------------------------------------


def algorithm_10(party, cfg: Config, local: Local | None):
    """Algorithm 10: bicriteria approximation with LAZYSAMPLING batches and L1SAMPLING checks.

    Returns the Board (S is ``board.S``). Lines are cited inline.
    """
    is_coord = local is None
    with party.phase("bicriteria"):
        board = yield from initialization(party, cfg, local)  # line 1
        while board.M < cfg.N and board.v.any():  # line 3 (stop early when D̃ = 0: nothing left to sample)
            i = 1  # line 4
            while True:  # line 5: while bool = False
                b = 2 ** i
                D_tilde = party.shared(("bb_Dt", id(board.v)), lambda: board.D_tilde)
                if is_coord:
                    requests = draw_sites(party.rng, D_tilde, b)  # LAZYSAMPLING line 2, 2^i times (line 6)
                    l1_sites = draw_sites(party.rng, D_tilde, cfg.L1_N)  # L1SAMPLING line 3 (choice 3)
                    with party.phase("sample"):
                        party.post(Batch(sites=requests, l1=encode_multiset(l1_sites, cfg.s)))
                batch = yield party.read(Batch)
                requests, l1_sites, distinct = party.shared(("bb_batch", id(batch)), lambda batch=batch: _batch_view(batch))
                board.batches += 1
                with party.phase("sample"):
                    if local is not None:  # line 7, site side (LAZYSAMPLING line 4)
                        c = int(np.count_nonzero(requests == local.index))
                        if c:
                            answer(party, local.grid, local.cost_x, float(D_tilde[local.index]), c)
                    replies = yield from collect(party, b)
                new = party.shared(("bb_new", id(replies)), lambda replies=replies: _points(replies))
                L = len(new)  # line 9
                board.S.extend(new)
                if local is not None and L:
                    local.add_centers(new)  # line 11
                with party.phase("l1"):  # line 12
                    if local is not None and local.index in distinct:
                        party.post(reply_for(local.D, float(D_tilde[local.index]), cfg.lam))
                    got = yield from read_each(party, L1Reply, distinct)
                update = party.shared(
                    ("bb_l1", id(batch), id(board.v), _ids(got), cfg.mu, cfg.L1_N),
                    lambda l1_sites=l1_sites, D_tilde=D_tilde, got=got: l1_decision(
                        l1_sites, D_tilde, {j: int(m.drop) for j, m in got.items()}, cfg.mu, cfg.L1_N),
                )
                board.l1_checks += 1
                board.log.append((b, L, update, board.M))
                board.M += min(L, 1) if update else L  # line 10, as the proof of Lemma D.3 counts (choice 1)
                if update:  # lines 16-17
                    yield from _update_round(party, cfg, board, local)
                    break
                i += 1  # line 14
                if board.M >= cfg.N:  # choice 2
                    break
    return board


# -- Algorithm 8 --------------------------------------------------------------------------


def algorithm_8(party, cfg: Config, local: Local | None):
    """Algorithm 8: lazy adaptive sampling, D̃ refreshed after every new point (k = O(log n))."""
    with party.phase("lazy_adaptive"):
        board = yield from initialization(party, cfg, local)  # line 1
        while board.M < cfg.N and board.v.any():  # lines 2-3 (choice 5)
            D_tilde = board.D_tilde
            if local is None:
                party.post(SampleRequest(site=int(draw_sites(party.rng, D_tilde, 1)[0])))  # line 4
            req = yield party.read(SampleRequest)
            if local is not None and req.site == local.index:
                answer(party, local.grid, local.cost_x, float(D_tilde[local.index]), 1)
            (_, point), = yield from collect(party, 1)
            board.batches += 1
            if point is None:
                continue
            board.S.append(point)  # line 5
            board.M += 1
            if local is not None:
                local.add_centers([point])  # line 6
            yield from _update_round(party, cfg, board, local)  # lines 7-8
    return board


# -- Algorithm 13 -------------------------------------------------------------------------


def algorithm_13(party, cfg: Config, board: Board, local: Local | None, decode: bool = True):
    """Algorithm 13: (1+ε)-coreset on the blackboard from the bicriteria set S.

    Returns (points, weights) of the coreset as decoded from the board. With
    ``decode=False`` (a site of the pipeline, which outputs nothing) the party posts its
    samples and returns None without reading the other sites' samples: reading sends
    nothing, so the run's events are the same.
    """
    S = np.asarray(board.S, dtype=np.int64)
    K = len(S)
    l = morris_copies(2 * K, cfg.morris_eps)
    nonempty, position = _nonempty(party, board.sizes)
    turn = position.get(local.index) if local is not None else None
    counts = None
    if local is not None and local.n:
        if local.centers != K:
            raise RuntimeError(f"{party.name} knows {local.centers} centers, the board {K}")
        center = local.nearest
        sizes = np.bincount(center, minlength=K).astype(np.float64)
        costs = np.bincount(center, weights=local.cost_x, minlength=K)
        counts = np.concatenate([sizes, np.ceil(costs / cfg.cost_unit)])
    with party.phase("coreset"):
        est, _ = yield from dist_morris(party, counts, 2 * K, l, turn, len(nonempty))  # line 1
        size_est, cost_est = est[:K], est[K:] * cfg.cost_unit
        with party.phase("sensitivity"):
            if turn is not None:  # lines 3-7
                mu = sensitivities(local.cost_x, center, size_est, cost_est, cfg.k)
                total = float(mu.sum())
                party.post(SensTotal(e=power_approx(total, 2.0)))
            totals = yield from read_each(party, SensTotal, nonempty)
            a_hat = party.shared(("bb_ahat", cfg.s, _ids(totals)), lambda: _totals(totals, cfg.s))
            if local is None:  # line 8
                party.post(SiteSamples(m=party.rng.multinomial(cfg.m, a_hat / a_hat.sum())))
            samples = yield party.read(SiteSamples)
            m_i, senders = party.shared(("bb_samples", id(samples)), lambda: _samples(samples))
        with party.phase("samples"):
            if local is not None and m_i[local.index] > 0:  # lines 9-19
                p_local = mu / total
                draws = party.rng.choice(local.n, size=int(m_i[local.index]), p=p_local)
                u, c = np.unique(draws, return_counts=True)
                p = (a_hat[local.index] / a_hat.sum()) * p_local[u]
                party.post(encode_points(local.grid[u], S, c / (cfg.m * p), cfg.eps_prime, cfg.weight_base,
                                         party.rng, center=center[u]), params={"S_size": K})
            if not decode:
                return None
            parts = yield from read_each(party, CompactPoints, senders, params={"S_size": K})
    points, weights = [], []
    for i in senders:
        x, w = decode_points(parts[i], S, cfg.eps_prime, cfg.weight_base)
        points.append(x)
        weights.append(w)
    if not points:
        return np.zeros((0, cfg.d)), np.zeros(0)
    return np.concatenate(points), np.concatenate(weights)


# -- roles and registration ---------------------------------------------------------------


def _bicriteria_output(board: Board, cfg: Config) -> dict:
    S = np.asarray(board.S, dtype=np.int64)
    return {
        "S": S, "bicriteria_size": len(S), "valid_samples": board.M, "N": cfg.N, "batches": board.batches,
        "updates": board.updates, "l1_checks": board.l1_checks, "L1_N": cfg.L1_N,
        "cost_zero_on_board": not board.v.any(), "batch_log": list(board.log),
    }


def _spawn(sim, cfg: Config, site_role, coord_role, *args):
    for i, site in enumerate(sim.sites):
        Q = grid_values(site.data, cfg.log2Delta, cfg.grid_lo, cfg.grid_step, where=f"data of {site.name}")
        sim.spawn(site, site_role, cfg, Local.from_grid(i, Q, cfg.z, cfg.log2Delta), *args)
    return sim.spawn(sim.coordinator, coord_role, cfg, None, *args)


def bicriteria_role(party, cfg, local):
    board = yield from algorithm_10(party, cfg, local)
    return _bicriteria_output(board, cfg)


def lazy_role(party, cfg, local):
    board = yield from algorithm_8(party, cfg, local)
    return _bicriteria_output(board, cfg)


def pipeline_role(party, cfg, local):
    """Theorem 1.2 / D.10: Algorithm 10, Algorithm 13, then weighted k-means at the coordinator."""
    board = yield from algorithm_10(party, cfg, local)
    coreset = yield from algorithm_13(party, cfg, board, local, decode=local is None)
    if local is not None:
        return None
    points, weights = coreset
    out = _bicriteria_output(board, cfg)
    S = out["S"]
    distinct = np.unique(S, axis=0)
    if out["cost_zero_on_board"] and len(distinct) <= cfg.k:  # choice 8
        centers = distinct.astype(np.float64)
    else:
        centers = weighted_kmeans(points, weights, cfg.k, seed=int(party.rng.integers(2**31)))
    out.update({"coreset": points, "weights": weights, "coreset_size": len(points), "m": cfg.m,
                "morris_l": morris_copies(2 * len(S), cfg.morris_eps),
                "eps": cfg.eps, "eps_prime": cfg.eps_prime, "centers": centers,
                "centers_data": centers * cfg.grid_step + cfg.grid_lo})
    return out


def evaluate(X: np.ndarray, output: dict, params: dict) -> dict:
    """Scores on the full data (outside the run, never charged): costs of S and of the centers.

    X is quantised with the run's declared map first, so costs are on the grid the
    protocol saw.
    """
    Xq = to_grid(X, params["log2Delta"], params.get("grid_lo", 0.0), params.get("grid_step", 1.0)).astype(np.float64)
    z = params.get("z", 2.0)
    out = {"cost_S": clustering_cost(Xq, np.asarray(output["S"], dtype=np.float64), z)}
    if "centers" in output:
        out["cost"] = clustering_cost(Xq, np.asarray(output["centers"], dtype=np.float64), z)
    return out


def point_costs_exact(X: np.ndarray, C: np.ndarray, z: float = 2.0) -> np.ndarray:
    """min_c ||x - c||^z for every x, one center at a time (exact for grid points, no n x k matrix)."""
    X = np.asarray(X, dtype=np.float64)
    d2 = np.full(len(X), np.inf)
    for c in np.asarray(C, dtype=np.float64):
        diff = X - c
        np.minimum(d2, np.einsum("ij,ij->i", diff, diff), out=d2)
    return d2 if z == 2 else d2 ** (z / 2)


def coreset_errors(Xq: np.ndarray, points: np.ndarray, weights: np.ndarray, center_sets, z: float = 2.0) -> np.ndarray:
    """|cost(A, C)/cost(X, C) - 1| for each center set C (0 where both costs are 0)."""
    out = []
    for C in center_sets:
        full = float(point_costs_exact(Xq, C, z).sum())
        core = float(np.asarray(weights) @ point_costs_exact(points, C, z))
        out.append(abs(core - full) / full if full > 0 else (0.0 if core == 0 else math.inf))
    return np.array(out)


@protocol("bb_bicriteria", models=("blackboard",), params=BICRITERIA_PARAMS, evaluate=evaluate,
          description="Algorithm 10 (CWWZ'26): O(1)-bicriteria by lazy batch adaptive sampling + L1SAMPLING")
def bb_bicriteria(sim, **params):
    cfg = make_config(sim, params)
    return _spawn(sim, cfg, bicriteria_role, bicriteria_role)


@protocol("bb_lazy_adaptive", models=("blackboard",), params=BICRITERIA_PARAMS, evaluate=evaluate,
          description="Algorithm 8 (CWWZ'26): lazy adaptive sampling, D̃ refreshed after each point")
def bb_lazy_adaptive(sim, **params):
    cfg = make_config(sim, params)
    return _spawn(sim, cfg, lazy_role, lazy_role)


@protocol("bb_coreset", models=("blackboard",), params=CORESET_PARAMS, evaluate=evaluate,
          description="Theorem 1.2/D.10 (CWWZ'26): Algorithm 10 + Algorithm 13 coreset + weighted k-means")
def bb_coreset(sim, **params):
    cfg = make_config(sim, params, coreset=True)
    return _spawn(sim, cfg, pipeline_role, pipeline_role)


def run(name: str, parts, seed: int = 0, network=None, **params):
    """Run a registered blackboard protocol on per-site arrays ``parts``; returns the RunResult."""
    spec = get_protocol(name)
    bound = spec.bind(params, "blackboard")
    sim = Simulation(BlackboardModel(), parts, params=bound, seed=seed, protocol=name, network=network)
    return sim.run(spec.setup(sim, **bound))
