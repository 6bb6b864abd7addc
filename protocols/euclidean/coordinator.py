"""Algorithm 16 of Cohen-Addad, Wang, Woodruff, Zhou, "Distributed Algorithms for Euclidean
Clustering" (ICLR 2026): the (1+ε)-coreset in the coordinator model (Section 3, Appendix E.2,
Lemmas E.5-E.6, Theorem E.7), and — with the same code — on any connected graph (Appendix
E.3; see graph.py).

Registered protocol: ``coord_coreset`` (models ``coordinator`` and ``graph``): Algorithm 16,
then a weighted k-means at the coordinator on the coreset A'. ``evaluate`` (blackboard.py's
hook) reports the cost of the centers (``cost``) and of the bicriteria set (``cost_S``) on
the full data. The naive baseline is ``coord_naive_adaptive`` (naive_coordinator.py).

Algorithm 16, line by line (l.1173-1198 of the local text):

1. line 1 — every site i builds a local (1+ε/2)-coreset P_i of X_i (:func:`local_coreset`):
   adaptive sampling on X_i for a local bicriteria set (Algorithm 1, Theorem B.10), then
   sensitivity sampling (Algorithm 2, ``sensitivity_sampling``) with
   m_local = ceil(c_m·k/(ε/2)²·min((ε/2)^-2, (ε/2)^-z)) draws. No message.
2. line 2 — the coordinator sends the JL seed to every site (``jl_coordinator``/``jl_site``,
   Theorem B.9; phase ``setup/jl_seed``), then the 64-bit seed of each pair's public coins
   for GREATERTHAN (phase ``setup/pair_seed``). Every site reports |P_j| (Elias gamma) and
   POWERAPPROX(w(P_j), 2) (phase ``setup/report``).
3. lines 3-10 — adaptive sampling in the projected space (phase ``bicriteria``): the
   coordinator draws site j with probability D̃_j/ΣD̃ and sends it ``Step(SAMPLE)``; the site
   answers by LAZYSAMPLING (Algorithm 4: a point x of P_j with probability w_x·cost(π(x), S_j)/D̃_j,
   else ⊥) with the point's exact grid coordinates (d·log2Δ bits: Lemma E.6's dk log n
   term). For every new center s_i the coordinator runs EFFICIENTCOMMUNICATION(π(P_j), π(s_i),
   ε', δ) with every other site j (``Step(CENTER)`` first; phase ``bicriteria/center``),
   which adds ŝ_i^(j) to S_j; every site whose cost is not yet 0 sends POWERAPPROX(cost(π(P_j), S_j), 2)
   (phase ``bicriteria/cost``). s_0 is drawn the same way with weights w_x (uniform on X).
4. lines 11-13 — every site sends constant approximations of |C_l^(j)| and cost(π(C_l^(j)), S_j)
   for all l (phase ``coreset/cluster_stats``); the coordinator sends back approximations of
   the sums over sites (phase ``coreset/global_stats``).
5. lines 14-15 — every site sends POWERAPPROX(μ̃(P_j), 2); the coordinator draws
   m_j ~ Multinomial(m, â_j/Σâ) and sends m_j (phase ``coreset/sensitivity``).
6. lines 16-24 — site j draws m_j points ∝ w_x·μ̃(x), merges repeats, sends their weight
   factors and then each point by EFFICIENTCOMMUNICATION(S, x, ε', δ) (phase ``coreset/upload``).
   The coordinator decodes A'.

Then the coordinator solves weighted k-means on A' (scikit-learn, n_init = 5).

EFFICIENTCOMMUNICATION runs **batched** (protocols/primitives/ec_batch.py): all the
comparisons one exchange makes at the same step travel in one message, at exactly the bits of
the sequential primitives; only messages and rounds drop.

Where the paper is wrong (E) or silent (C); the same labels in
docs/protocols/euclidean-coordinator.md, each tested in tests/protocols/test_coordinator_*.py
or test_graph_coreset.py:

E1. Lines 11-13 and the μ formula of the proof of Lemma E.5 sum over l where they must sum
    over sites j: cluster l's size and cost are Σ_j |C_l^(j)| and Σ_j cost(π(C_l^(j)), S_j),
    the total is Σ_l of those (and Δ_p is Δ_x). μ̃ is Algorithm 2's, normalised, on the
    weighted P (a point of weight w_x has sampling mass w_x·μ̃(x)).
E2. Line 7 sends s_{i-1} in iteration i, so s_N would never reach the sites while line 11
    uses all of S: every center, s_0 .. s_N, is sent (|S| = N + 1, N = ceil(oversample·k)).
E3. Lemma E.6's proof takes |P_j| = O(k); line 1 makes |P_j| = Õ(k/min(ε^4, ε^(2+z))). Only
    log |P_j| enters the bits, so the bound stands.
C1. Local coreset (line 1): when X_i has at most m_local distinct points, P_i is those points
    with their multiplicities as weights (an exact coreset; sampling would only add
    variance). Otherwise adaptive sampling of N = ceil(oversample·k) local centers and
    sensitivity sampling of m_local = ceil(c_m·k/(ε/2)²·min((ε/2)^-2, (ε/2)^-z)) draws;
    repeated draws are merged.
C2. JL (line 2): d' from Theorem B.9 for n_points = min(n, s·m_local) ≥ |P| points at
    δ = ``jl_delta`` and ε = 1/2 (jl.py); when that d' >= d the map is the identity and
    nothing is sent. ``jl_kind = "gaussian"`` is the dense map of the experiments (d/4 by
    default). Projected coordinates are quantised to the integer grid with step
    q = 1/(8·sqrt(d')) (rounding moves a point by at most 1/16, a quarter of the smallest
    projected distance 1/2 between grid points) and bounded by the public
    Δ' = ceil(max_r ||A_r||_1·(Δ-1)/q); with the identity, q = 1 and Δ' = Δ - 1.
C3. Each site rounds its ŝ^(j) to the integer grid: |round(ỹ) - y| <= 2|ỹ - y| per coordinate
    for integer y, so the guarantee becomes 2ε'-relative and every nonzero cost is >= 1.
C4. Who gets a center: the site that drew s_i knows it exactly and gets no
    EFFICIENTCOMMUNICATION. A site whose cost reached 0 gets no more centers (both sides know
    it): it holds K_j < |S| of them, reports cluster statistics on those K_j (line 12), gets
    the sums for them (line 13), and uploads against the first K_j centers of S (line 21; its
    points sit on those centers, so x̃ = x). Sites with no points get nothing after their report.
C5. Control: the coordinator tells each site what comes next with ``Step``
    (Elias gamma of CENTER 0, SAMPLE 1, DONE 2: 1, 3 and 3 bits); on an asynchronous star a
    site cannot tell silence from slowness.
C6. Constant approximations are POWERAPPROX(·, 2) exponents sent as ``Opt(Signed())``
    (1 bit for 0): weights and weighted costs may be below 1.
C7. Line 3's s_0, "a point sampled by the coordinator" (which has no data): LAZYSAMPLING
    with weights w_x — the sites' reports carry POWERAPPROX(w(P_j), 2), the drawn site
    answers a point ∝ w_x or ⊥ — so s_0 is uniform on X.
C8. Weights (line 21): the site sends ω_x = c_x·μ̃(P_j)/μ̃(x) (c_x repeats of x, μ̃(P_j) the
    site's total mass Σ w·μ̃) as a stochastically rounded exponent of (1+ε/2) (unbiased,
    within a factor 1+ε/2); the coordinator multiplies by Σâ/(m·â_j), which only it knows.
    The weight is then c_x·w_x/(m·p(x)) with p(x) the probability x really had, so A is
    unbiased.
C9. ε' (line 5: "O(ε^z)"): the upload needs ||x̃ - x|| <= ε'·dist(x, S) to move every cost by at
    most ε/4 (A' against A, Lemma E.5's split): by Fact B.2 with η = ε/8,
    ε' = (ε/(8α))^{1/z}·ε/(ε + 16z) with α = 10 the assumed bicriteria factor, rounded down to
    two significant digits (0.00043 at ε = 1/4, z = 2). Line 7 uses the same ε' (the
    paper's text); ``eps_prime_bicriteria`` > 0 sets another (the proof of Lemma E.5 only
    needs a constant there).
C10. δ (line 5: "O(1/(sk+m))"): δ = 0.01/(s·(N+1) + m), the union bound over every
    EFFICIENTCOMMUNICATION call at total failure 0.01 (Lemma E.5 asks 0.99). Comparisons
    use the cheap HIGHPROBGREATERTHAN (``gt_variant = "hash"``, same δ, 24x fewer bits than
    Algorithm 14's majority vote, which ``gt_variant = "majority"`` selects).
C11. m (line 5): the blackboard's m = ceil(c_m·k/ε²·min(ε^-2, ε^-z)), c_m = 1.
C12. Output: weighted k-means on A'; if every site's cost reached 0 and S has at most k
    distinct points, the distinct points of S (cost 0).
C13. Topologies (Appendix E.3): messages follow the graph model's BFS tree from the
    coordinator, every hop charged (graph.py).
C14. Side by side: the coordinator runs line 7 with every other site at once, and lines
    16-24 with every uploading site at once (``Party.concurrently``). Each pair's exchange is
    the one it has alone (its own coins, its own messages), so bits, messages and the output
    are those of one site after another; rounds become the longest exchange instead of the
    sum over sites. The paper states no round bound for Algorithm 16 (Section 3: adaptive
    sampling "over O(k) rounds"); one site after another would make it Θ(s·k) rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from protosim import (
    COORDINATOR,
    ConfigError,
    CoordinatorModel,
    Gamma,
    Opt,
    Param,
    Signed,
    Simulation,
    Vector,
    message,
    protocol,
)
from protosim.registry import get_protocol

from ..clustering import weighted_kmeans
from ..primitives.compact_encoding import weight_exponents, weight_values
from ..primitives.ec_batch import (
    MAX_BATCH_B,
    ec_batch_params,
    ec_batch_receiver,
    ec_batch_sender,
)
from ..primitives.efficient_communication import (
    SEARCHES,
)
from ..primitives.greater_than import (
    GT_ERROR,
    VARIANTS,
    GTStats,
    PairCoins,
    pair_coins,
)
from ..primitives.jl import KINDS, IdentityJL, _plan, jl_coordinator, jl_site
from ..primitives.lazy_sampling import SampleReply, site_answers
from ..primitives.power_approx import power_approx
from ..primitives.sensitivity import coreset_size, sensitivities, sensitivity_sampling
from .blackboard import GridConfig, SensTotal, evaluate, grid_config, to_grid

__all__ = [
    "CENTER",
    "COORD_PARAMS",
    "DONE",
    "LEMMA_E6_TERMS",
    "SAMPLE",
    "CoordConfig",
    "Projection",
    "Step",
    "adaptive_sampling",
    "coord_coreset",
    "eps_prime_upload",
    "local_coreset",
    "make_config",
    "polylogs",
    "run",
]

# =============================================================================================
# Algorithm 16
# =============================================================================================

SAMPLE, CENTER, DONE = 1, 0, 2


@message
class Step:
    """What the coordinator does next with this site (choice C5): CENTER 0 (an
    EFFICIENTCOMMUNICATION of a new center follows), SAMPLE 1 (answer LAZYSAMPLING), DONE 2."""

    kind: Gamma(base=0)


@message
class SiteReport:
    """A site's |P_j| and POWERAPPROX(w(P_j), 2) (⊥ when P_j is empty)."""

    l: Gamma(base=0)
    W: Opt(Signed())


@message
class CostReport:
    """Line 8: D̃_j = 2^e >= cost(π(P_j), S_j) (POWERAPPROX; ⊥ when the cost is 0)."""

    e: Opt(Signed())


@message
class ClusterStats:
    """Line 12: POWERAPPROX exponents of |C_l^(j)| and cost(π(C_l^(j)), S_j) for l < |S|."""

    sizes: Vector(Opt(Signed()), length="S_size")
    costs: Vector(Opt(Signed()), length="S_size")


@message
class GlobalStats:
    """Line 13: POWERAPPROX exponents of Σ_j |C_l^(j)| and Σ_j cost(π(C_l^(j)), S_j) (erratum E1)."""

    sizes: Vector(Opt(Signed()), length="S_size")
    costs: Vector(Opt(Signed()), length="S_size")


@message
class SampleCount:
    """Line 15: m_j, the number of sensitivity samples site j draws."""

    m: Gamma(base=0)


@message
class Upload:
    """Line 21: the weight factors ω_x of the site's distinct samples (exponents of 1+ε/2);
    the vector's Elias-gamma length prefix is their number, which the coordinator needs for
    the EFFICIENTCOMMUNICATION that follows."""

    wexp: Vector(Signed())


def _pa(x: float) -> int | None:
    return power_approx(float(x), 2.0) if x > 0 else None


def _pa_value(e) -> float:
    return 0.0 if e is None else 2.0 ** int(e)


def _pa_values(es) -> np.ndarray:
    return np.array([_pa_value(e) for e in es], dtype=np.float64)


def _round_sig(x: float, digits: int = 2) -> float:
    """x rounded *down* to ``digits`` significant decimal digits (a smaller ε' only tightens)."""
    e = math.floor(math.log10(x)) - (digits - 1)
    return math.floor(x / 10.0 ** e) * 10.0 ** e


def eps_prime_upload(eps: float, z: float, alpha: float) -> float:
    """Choice C9: ε' = (ε/(8α))^{1/z}·ε/(ε+16z), rounded down to two significant digits."""
    return _round_sig((eps / (8 * alpha)) ** (1 / z) * eps / (eps + 16 * z))


# -- configuration ----------------------------------------------------------------------------

COORD_PARAMS = {
    "k": Param(kind=int, low=1, doc="number of clusters"),
    "log2Delta": Param(kind=int, low=1, high=52, doc="grid bits per coordinate: points in {0..2^log2Delta - 1}^d"),
    "z": Param(2.0, float, low=1.0, doc="cost exponent: 1 k-median, 2 k-means"),
    "grid_lo": Param(0.0, float, doc="declared quantisation: x -> rint((x - grid_lo)/grid_step)"),
    "grid_step": Param(1.0, float, low=1e-300, doc="declared quantisation step"),
    "oversample": Param(2.0, float, low=0.01, doc="N = ceil(oversample·k) adaptive samples after s_0 (line 5)"),
    "eps": Param(0.25, float, low=1e-3, high=0.999, doc="coreset accuracy ε"),
    "m": Param(0, int, low=0, doc="coreset samples; 0: ceil(c_m·k/ε²·min(ε^-2, ε^-z))"),
    "c_m": Param(1.0, float, low=1e-6, doc="constant of the coreset size formulas"),
    "m_local": Param(0, int, low=0, doc="local coreset samples (line 1); 0: the formula at ε/2"),
    "alpha": Param(10.0, float, low=1.0, doc="assumed bicriteria factor in the ε' formula"),
    "eps_prime": Param(0.0, float, low=0.0, high=1.0, doc="EFFICIENTCOMMUNICATION ε' of the upload; 0: choice C9"),
    "eps_prime_bicriteria": Param(0.0, float, low=0.0, high=1.0, doc="ε' of line 7; 0: the same ε' (the paper)"),
    "delta": Param(0.0, float, low=0.0, high=0.5, doc="EFFICIENTCOMMUNICATION δ per call; 0: 0.01/(s(N+1)+m)"),
    "gt_variant": Param("hash", str, doc="HIGHPROBGREATERTHAN: hash (cheap) or majority (Algorithm 14)"),
    "gt_error": Param(GT_ERROR, float, low=1e-6, high=0.49, doc="per-run error of Algorithm 14's runs"),
    "explicit": Param(True, bool, doc="send Lemma E.3's explicit (i_s, γ, m) (the paper's text)"),
    "exponent_search": Param("binary", str, doc="binary (Algorithm 15 line 10) or exponential (Section 3)"),
    "jl_kind": Param("sparse", str, doc="sparse (Theorem B.9) or gaussian (Appendix F)"),
    "jl_d_prime": Param(0, int, doc="JL target dimension, 1 <= d' <= d; 0: Theorem B.9 (sparse) or d/jl_ratio"),
    "jl_ratio": Param(4, int, doc="gaussian map: d' = d/jl_ratio (2 or 4) when jl_d_prime = 0"),
    "jl_delta": Param(0.01, float, low=1e-12, high=0.5, doc="JL failure probability over P (line 2: 0.01)"),
}


@dataclass
class CoordConfig(GridConfig):
    """Every public quantity of a coordinator run (derived ones are added to the run's parameters)."""

    eps: float
    m: int
    m_local: int
    eps_prime: float
    eps_prime_b: float
    delta: float
    variant: str
    gt_error: float
    explicit: bool
    search: str
    jl_kind: str
    jl_d_prime: int | None
    jl_ratio: int
    jl_delta: float
    n_points: int
    weight_base: float

    @property
    def Delta_grid(self) -> int:
        """EFFICIENTCOMMUNICATION's Δ for grid points {0..2^log2Delta - 1}: 2^log2Delta - 1."""
        return 2 ** self.log2Delta - 1

    def ec_kw(self) -> dict:
        return {"variant": self.variant, "explicit": self.explicit, "gt_error": self.gt_error,
                "exponent_search": self.search}


def _choice(params: dict, key: str, allowed) -> str:
    v = params[key]
    if v not in allowed:
        raise ConfigError(f"protocol.params.{key}: expected one of {', '.join(allowed)}, got {v!r}")
    return v


def make_config(sim, params: dict) -> CoordConfig:
    """Validate and derive the public parameters (before any message); writes the derived
    ones into ``sim.params`` for codes and budgets."""
    p = sim.params
    grid = grid_config(sim, params)
    n, s, d, k, z, N = (grid[key] for key in ("n", "s", "d", "k", "z", "N"))
    eps = params["eps"]
    variant = _choice(params, "gt_variant", VARIANTS)
    search = _choice(params, "exponent_search", SEARCHES)
    jl_kind = _choice(params, "jl_kind", KINDS)
    m = params["m"] or coreset_size(k, eps, z, params["c_m"])
    m_local = params["m_local"] or coreset_size(k, eps / 2, z, params["c_m"])
    eps_prime = params["eps_prime"] or eps_prime_upload(eps, z, params["alpha"])
    eps_prime_b = params["eps_prime_bicriteria"] or eps_prime
    delta = params["delta"] or 0.01 / (s * (N + 1) + m)
    d_prime = params["jl_d_prime"]
    if d_prime != 0 and not 1 <= d_prime <= d:
        raise ConfigError(f"protocol.params.jl_d_prime: the JL target dimension must be in [1, d = {d}] "
                          f"(0 picks it from Theorem B.9 or d/jl_ratio), got {d_prime}")
    if jl_kind == "gaussian" and d_prime == 0 and params["jl_ratio"] not in (2, 4):
        raise ConfigError(f"protocol.params.jl_ratio: the paper's experiments use d' = d/2 or d/4; expected 2 or 4, "
                          f"got {params['jl_ratio']!r}")
    n_points = max(2, min(n, s * m_local))
    try:
        _plan(d, jl_kind, n_points, params["jl_delta"], 0.5, d_prime or None, params["jl_ratio"])
    except ConfigError as exc:
        raise ConfigError(f"protocol.params.jl_d_prime: {exc}") from None
    cfg = CoordConfig(
        **grid, eps=eps, m=m, m_local=m_local, eps_prime=eps_prime,
        eps_prime_b=eps_prime_b, delta=delta, variant=variant, gt_error=params["gt_error"],
        explicit=params["explicit"], search=search, jl_kind=jl_kind, jl_d_prime=d_prime or None,
        jl_ratio=params["jl_ratio"], jl_delta=params["jl_delta"], n_points=n_points,
        weight_base=1 + eps / 2,
    )
    ec_batch_params(d, N + 1, cfg.Delta_grid, eps_prime, delta, search)  # checks Δ for the upload
    d_prime_used, identity = _target_dimension(cfg)
    if not identity and (2 * _delta_bound(d, d_prime_used, jl_kind, cfg.Delta_grid) + 2).bit_length() > MAX_BATCH_B:
        raise ConfigError(f"protocol.params.log2Delta: {cfg.log2Delta} with d = {d} makes the projected grid "
                          f"too wide for the batched EFFICIENTCOMMUNICATION (2Δ'+2 < 2^{MAX_BATCH_B}); lower log2Delta")
    p.update({"N": N, "m_coreset": m, "m_local": m_local, "eps_prime_used": eps_prime,
              "eps_prime_b_used": eps_prime_b, "delta_ec": delta, "jl_points": n_points})
    p.update(polylogs(cfg))
    return cfg


def _ec_polylog(l: int, Delta: int, eps: float, delta: float, d: int) -> float:
    """Lemma E.3 and E.1 per coordinate: (log2(l+1) + log2(Q+1) + 3) comparisons, each
    O(log log Δ · log 1/δ') bits: log2(log2(2Δ+2) + 1)·log2(1/δ')."""
    P = ec_batch_params(d, l, Delta, eps, delta)
    return ((math.log2(l + 1) + math.log2(P.Q + 1) + 3) * math.log2(math.log2(2 * Delta + 2) + 1)
            * math.log2(1 / P.delta_prime))


def polylogs(cfg: CoordConfig) -> dict:
    """The polylog factors the proof of Lemma E.6 charges, as public run parameters for budgets.

    ``ec_polylog_b``: one EFFICIENTCOMMUNICATION(π(P_j), π(s), ε', δ) of line 7 on d' coordinates
    with l <= min(n, m_local) (the site sizes are not public), Δ' bounded by the worst-case
    map (q = 1/(8 sqrt(d')), ||A_r||_1 <= d/sqrt(s_nz) sparse, d identity).
    ``ec_polylog_u``: one coordinate of EFFICIENTCOMMUNICATION(S, x, ε', δ) of line 21.
    """
    d_prime, identity = _target_dimension(cfg)
    Dp = cfg.Delta_grid if identity else _delta_bound(cfg.d, d_prime, cfg.jl_kind, cfg.Delta_grid)
    l_bound = max(1, min(cfg.n, cfg.m_local))
    return {
        "d_prime": d_prime,
        "ec_polylog_b": d_prime * _ec_polylog(l_bound, Dp, cfg.eps_prime_b, cfg.delta, d_prime),
        "ec_polylog_u": _ec_polylog(cfg.N + 1, cfg.Delta_grid, cfg.eps_prime, cfg.delta, cfg.d),
    }


def _target_dimension(cfg: CoordConfig) -> tuple[int, bool]:
    """(d', whether π is the identity), as jl.py derives them."""
    plan = _plan(cfg.d, cfg.jl_kind, cfg.n_points, cfg.jl_delta, 0.5, cfg.jl_d_prime, cfg.jl_ratio)
    if cfg.jl_kind == "sparse":
        return (cfg.d, True) if plan.identity else (plan.m, False)
    return plan, False


def _delta_bound(d: int, d_prime: int, kind: str, Delta_grid: int) -> int:
    """A public bound on the quantised projected coordinates for the budget's polylog (a
    Gaussian row's l1 norm is taken as 2·d/sqrt(d'), about 2.5 times its mean)."""
    row = d / math.sqrt(max(1, d_prime // 2)) if kind == "sparse" else 2 * d / math.sqrt(d_prime)
    return math.ceil(row * Delta_grid * 8 * math.sqrt(d_prime))


LEMMA_E6_TERMS = "s*k*ec_polylog_b + d*k/min(eps**4, eps**(2+z))*ec_polylog_u + d*k*(log2(n) + log2Delta)"
"""Lemma E.6's Õ(sk + dk/min(ε^4, ε^(2+z)) + dk log n), each term with the polylog its proof
charges (run parameters written by :func:`make_config`): ``ec_polylog_b`` for one
EFFICIENTCOMMUNICATION of line 7 (d' coordinates), ``ec_polylog_u`` for one coordinate of line
21, and log2(nΔ) bits per exact center coordinate (Δ = poly(n) in the paper). A budget is
``C*(LEMMA_E6_TERMS)`` with C measured (tests/protocols/test_coordinator_coreset.py)."""


# -- the projected space ----------------------------------------------------------------------


class Projection:
    """π and the quantisation of the projected space (choice C2): u(x) = rint(A x / q) in
    [-Δ', Δ']^{d'}; every party derives the same q and Δ' from the map."""

    def __init__(self, jl, Delta_grid: int):
        self.jl = jl
        self.identity = isinstance(jl, IdentityJL)
        self.d_prime = jl.d_prime
        if self.identity:
            self.q = 1.0
            self.Delta = Delta_grid
        else:
            self.q = 1.0 / (8.0 * math.sqrt(self.d_prime))
            A = jl.matrix()
            row_l1 = np.asarray(abs(A).sum(axis=1)).ravel()
            self.Delta = max(1, math.ceil(float(row_l1.max()) * Delta_grid / self.q))
        if (2 * self.Delta + 2).bit_length() > MAX_BATCH_B:
            raise ConfigError(f"log2Delta: the projected grid needs Δ' = {self.Delta}, beyond the batched "
                              f"EFFICIENTCOMMUNICATION's 2^{MAX_BATCH_B - 2}; lower log2Delta or d")

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.int64)
        if self.identity:
            return X.copy()
        if not len(X):
            return np.zeros((0, self.d_prime), np.int64)
        return np.rint(self.jl.apply(X.astype(np.float64)) / self.q).astype(np.int64)


# -- line 1: local coresets -------------------------------------------------------------------


def adaptive_sampling(X: np.ndarray, N: int, z: float, rng: np.random.Generator) -> np.ndarray:
    """Algorithm 1 (adaptive sampling, Theorem B.10) on local data: N points, each drawn with
    probability proportional to cost(x, S)^... = dist(x, S)^z (the first uniformly)."""
    Xf = np.asarray(X, dtype=np.float64)
    S = [int(rng.integers(len(Xf)))]
    d2 = np.einsum("ij,ij->i", Xf - Xf[S[0]], Xf - Xf[S[0]])
    for _ in range(N - 1):
        c = d2 if z == 2 else d2 ** (z / 2)
        total = c.sum()
        if not total > 0:
            break
        j = int(rng.choice(len(Xf), p=c / total))
        S.append(j)
        diff = Xf - Xf[j]
        np.minimum(d2, np.einsum("ij,ij->i", diff, diff), out=d2)
    return Xf[S]


def local_coreset(X: np.ndarray, k: int, z: float, m_local: int, N: int, rng: np.random.Generator):
    """Algorithm 16 line 1: a (1+ε/2)-coreset P_i of X_i, as (points, weights) (choice C1).

    At most m_local distinct points: P_i = the distinct points, weighted by multiplicity
    (exact). Otherwise a local bicriteria set by adaptive sampling (N centers) and
    sensitivity sampling (Algorithm 2) of m_local draws; repeated draws merged.
    """
    X = np.asarray(X, dtype=np.int64)
    if not len(X):
        return X.reshape(0, X.shape[1] if X.ndim == 2 else 0), np.zeros(0)
    U, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    if len(U) <= m_local:
        return U, counts.astype(np.float64)
    S = adaptive_sampling(X, N, z, rng)
    pick, w = sensitivity_sampling(X.astype(np.float64), S, k, m_local, z, rng)
    rows = inverse.ravel()[pick]
    uniq, where = np.unique(rows, return_inverse=True)
    weights = np.bincount(where, weights=w, minlength=len(uniq))
    return U[uniq], weights


# -- site state -------------------------------------------------------------------------------


class SiteState:
    """Site j's private state: P_j (grid), weights, π(P_j) quantised, S_j and costs."""

    def __init__(self, P: np.ndarray, w: np.ndarray, U: np.ndarray, z: float):
        self.P, self.w, self.U, self.z = P, w, U, z
        self.Uf = U.astype(np.float64)
        self.d2 = np.full(len(P), np.inf)
        self.nearest = np.zeros(len(P), np.int64)
        self.S_j: list[np.ndarray] = []
        self.reported: float | None = None  # D̃_j the coordinator knows

    def add_center(self, u: np.ndarray) -> None:
        diff = self.Uf - np.asarray(u, dtype=np.float64)
        d2 = np.einsum("ij,ij->i", diff, diff)
        closer = d2 < self.d2
        self.d2[closer] = d2[closer]
        self.nearest[closer] = len(self.S_j)
        self.S_j.append(np.asarray(u, dtype=np.int64))

    @property
    def cost_x(self) -> np.ndarray:
        return self.d2 if self.z == 2 else self.d2 ** (self.z / 2)

    @property
    def sampling_weights(self) -> np.ndarray:
        """d_x of LAZYSAMPLING: w_x before any center (s_0 ∝ weight), then w_x·cost(π(x), S_j)."""
        return self.w.copy() if not self.S_j else self.w * self.cost_x

    @property
    def D(self) -> float:
        return float(self.sampling_weights.sum())


# -- roles ------------------------------------------------------------------------------------


def site_role(site, cfg: CoordConfig, X: np.ndarray):
    """Site j of Algorithm 16."""
    P, w = local_coreset(X, cfg.k, cfg.z, cfg.m_local, cfg.N, site.rng)  # line 1
    with site.phase("setup"):
        jl = yield from jl_site(site, cfg.d, kind=cfg.jl_kind, n_points=cfg.n_points, delta=cfg.jl_delta,
                                eps=0.5, d_prime=cfg.jl_d_prime, ratio=cfg.jl_ratio, coordinator=COORDINATOR)
        coins = yield from pair_coins(site, COORDINATOR, leader=False)
        proj = Projection(jl, cfg.Delta_grid)
        st = SiteState(P, w, proj(P), cfg.z)
        with site.phase("report"):
            site.route(COORDINATOR, SiteReport(l=len(P), W=_pa(w.sum())))
    if not len(P):
        return None
    st.reported = _pa_value(_pa(w.sum()))
    ec = {"Delta": proj.Delta, "eps": cfg.eps_prime_b, "delta": cfg.delta, "coins": coins, **cfg.ec_kw()}

    def report_cost():
        e = _pa(st.D)
        st.reported = _pa_value(e)
        with site.phase("cost"):
            site.route(COORDINATOR, CostReport(e=e))

    with site.phase("bicriteria"):  # lines 3-10
        while True:
            kind = (yield site.recv(Step, src=COORDINATOR)).kind
            if kind == DONE:
                break
            if kind == SAMPLE:  # LAZYSAMPLING, site side (Algorithm 4 line 4)
                (j,) = site_answers(site.rng, st.sampling_weights, st.reported, 1)
                with site.phase("sample"):
                    site.route(COORDINATOR, SampleReply(point=None if j is None else P[j]))
                if j is not None:  # this site owns the new center: it knows π(s) exactly (choice C4)
                    st.add_center(st.U[j])
                    report_cost()
                continue
            with site.phase("center"):  # line 7: ŝ^(j) by EFFICIENTCOMMUNICATION, site receives
                out = yield from ec_batch_receiver(site, COORDINATOR, st.U, 1, **ec)
            st.add_center(np.clip(np.rint(out.y_tilde[0]), -proj.Delta, proj.Delta).astype(np.int64))  # C3
            report_cost()  # line 8

    # lines 11-24: the coreset
    K = len(st.S_j)
    cluster = st.nearest
    cost_x = st.cost_x
    with site.phase("coreset"):
        with site.phase("cluster_stats"):  # lines 11-12
            sizes = np.bincount(cluster, weights=st.w, minlength=K)
            costs = np.bincount(cluster, weights=st.w * cost_x, minlength=K)
            site.route(COORDINATOR, ClusterStats(sizes=[_pa(v) for v in sizes], costs=[_pa(v) for v in costs]),
                       params={"S_size": K})
        glob = yield site.recv(GlobalStats, src=COORDINATOR, params={"S_size": K})  # line 13
        N_hat, D_hat = _pa_values(glob.sizes), _pa_values(glob.costs)
        with site.phase("sensitivity"):  # line 14
            mu = sensitivities(cost_x, cluster, N_hat, D_hat, cfg.k)
            a = st.w * mu  # sampling mass of x in the weighted P_j
            mu_P = float(a.sum())
            site.route(COORDINATOR, SensTotal(e=power_approx(mu_P, 2.0)))
        m_j = int((yield site.recv(SampleCount, src=COORDINATOR)).m)  # line 15
        if m_j:
            with site.phase("upload"):  # lines 16-24
                draws = site.rng.choice(len(P), size=m_j, p=a / mu_P)
                u, c = np.unique(draws, return_counts=True)
                omega = c * st.w[u] * mu_P / a[u]  # choice C8: the site's factor of the weight
                site.route(COORDINATOR, Upload(wexp=weight_exponents(omega, cfg.weight_base, site.rng)))
                yield from ec_batch_sender(site, COORDINATOR, P[u], l=K, Delta=cfg.Delta_grid, eps=cfg.eps_prime,
                                           delta=cfg.delta, coins=coins, **cfg.ec_kw())
    return None


@dataclass
class CoordStats:
    requests: int = 0
    bottoms: int = 0
    ec_calls: int = 0
    ec: GTStats = field(default_factory=GTStats)
    ec_bits: int = 0
    comparisons: int = 0


def send_center(coord, other: str, u: np.ndarray, l: int, Delta: int, cfg: CoordConfig, coins: PairCoins):
    """Line 7 with one site: ``Step(CENTER)``, EFFICIENTCOMMUNICATION of π(s_i), then the
    site's line-8 cost report. Returns (the exchange, the reported exponent)."""
    coord.route(other, Step(kind=CENTER))
    out = yield from ec_batch_sender(coord, other, u, l=l, Delta=Delta, eps=cfg.eps_prime_b, delta=cfg.delta,
                                     coins=coins, **cfg.ec_kw())
    return out, (yield coord.recv(CostReport, src=other)).e


def receive_upload(coord, j: str, S_j: np.ndarray, cfg: CoordConfig, coins: PairCoins):
    """Lines 16-24 with one site: its weight exponents, then its m_j points by
    EFFICIENTCOMMUNICATION against the centers it holds. Returns (ω factors, the exchange)."""
    up = yield coord.recv(Upload, src=j)
    omega = weight_values(up.wexp, cfg.weight_base)
    with coord.phase("upload"):
        out = yield from ec_batch_receiver(coord, j, S_j, len(omega), Delta=cfg.Delta_grid, eps=cfg.eps_prime,
                                           delta=cfg.delta, coins=coins, **cfg.ec_kw())
    return omega, out


def coordinator_role(coord, cfg: CoordConfig, names: list[str]):
    """The coordinator of Algorithm 16; returns the run's output."""
    st = CoordStats()
    with coord.phase("setup"):  # line 2
        jl = yield from jl_coordinator(coord, names, cfg.d, kind=cfg.jl_kind, n_points=cfg.n_points,
                                       delta=cfg.jl_delta, eps=0.5, d_prime=cfg.jl_d_prime, ratio=cfg.jl_ratio)
        coins = {}
        for name in names:
            coins[name] = yield from pair_coins(coord, name, leader=True)
        proj = Projection(jl, cfg.Delta_grid)
        l_of, D_tilde = {}, {}
        for _ in names:
            rep = yield coord.recv(SiteReport)
            l_of[rep.sender] = int(rep.l)
            D_tilde[rep.sender] = _pa_value(rep.W)
    active = [j for j in names if l_of[j] > 0]
    S, owners = [], []
    K_of = {j: 0 for j in active}  # |S_j|: centers site j holds (it stops getting them once its cost is 0)
    rng = coord.rng
    with coord.phase("bicriteria"):
        while len(S) < cfg.N + 1:  # s_0 .. s_N (erratum E2)
            weights = np.array([D_tilde[j] for j in active])
            if not weights.sum() > 0:
                break  # every point of P is a center
            j = active[int(rng.choice(len(active), p=weights / weights.sum()))]  # LAZYSAMPLING line 2
            with coord.phase("sample"):
                coord.route(j, Step(kind=SAMPLE))
            reply = yield coord.recv(SampleReply, src=j)
            st.requests += 1
            if reply.point is None:  # ⊥
                st.bottoms += 1
                continue
            s_new = np.asarray(reply.point, dtype=np.int64)
            S.append(s_new)
            owners.append(j)
            u = proj(s_new[None, :])
            K_of[j] += 1
            D_tilde[j] = _pa_value((yield coord.recv(CostReport, src=j)).e)  # the owner's line 8
            others = [o for o in active if o != j and D_tilde[o] != 0]
            with coord.phase("center"):  # line 7, with every other site side by side (choice C14)
                replies = yield coord.concurrently(
                    send_center(coord, o, u, l_of[o], proj.Delta, cfg, coins[o]) for o in others)
            for other, (out, e) in zip(others, replies):
                st.ec_calls += 1
                st.ec.add(out.gt)
                st.ec_bits += out.stats["bits"]
                st.comparisons += out.stats["comparisons"]
                K_of[other] += 1
                D_tilde[other] = _pa_value(e)  # line 8
        with coord.phase("done"):
            for j in active:
                coord.route(j, Step(kind=DONE))
    K = len(S)
    S_arr = np.asarray(S, dtype=np.int64).reshape(K, cfg.d)
    with coord.phase("coreset"):
        N_l, D_l = np.zeros(K), np.zeros(K)
        for j in active:  # line 12 (site j reports on the K_j centers it holds)
            msg = yield coord.recv(ClusterStats, src=j, params={"S_size": K_of[j]})
            N_l[:K_of[j]] += _pa_values(msg.sizes)
            D_l[:K_of[j]] += _pa_values(msg.costs)
        sizes_e, costs_e = [_pa(v) for v in N_l], [_pa(v) for v in D_l]
        with coord.phase("global_stats"):  # line 13 (erratum E1: sums over the sites j)
            for j in active:
                coord.route(j, GlobalStats(sizes=sizes_e[:K_of[j]], costs=costs_e[:K_of[j]]),
                            params={"S_size": K_of[j]})
        a_hat = {}
        for _ in active:  # line 14
            msg = yield coord.recv(SensTotal)
            a_hat[msg.sender] = 2.0 ** msg.e
        total = sum(a_hat.values())
        m_j = coord.rng.multinomial(cfg.m, [a_hat[j] / total for j in active])  # line 15
        with coord.phase("sensitivity"):
            for j, mj in zip(active, m_j):
                coord.route(j, SampleCount(m=int(mj)))
        uploading = [(j, mj) for j, mj in zip(active, m_j) if mj]
        uploads = yield coord.concurrently(  # lines 16-24, every site side by side (choice C14)
            receive_upload(coord, j, S_arr[:K_of[j]], cfg, coins[j]) for j, _ in uploading)
        points, weights = [], []
        for (j, _), (omega, out) in zip(uploading, uploads):
            st.ec_calls += len(omega)
            st.ec.add(out.gt)
            st.ec_bits += out.stats["bits"]
            st.comparisons += out.stats["comparisons"]
            points.append(out.y_tilde)
            weights.append(omega * total / (cfg.m * a_hat[j]))  # choice C8
    A_prime = np.concatenate(points) if points else np.zeros((0, cfg.d))
    w_prime = np.concatenate(weights) if weights else np.zeros(0)
    distinct = np.unique(S_arr, axis=0)
    cost_zero = not any(D_tilde[j] > 0 for j in active)
    if cost_zero and len(distinct) <= cfg.k:  # choice C12
        centers = distinct.astype(np.float64)
    else:
        centers = weighted_kmeans(A_prime, w_prime, cfg.k, seed=int(coord.rng.integers(2**31)))
    return {
        "S": S_arr, "owners": owners, "bicriteria_size": K, "N": cfg.N, "requests": st.requests,
        "bottoms": st.bottoms, "coreset": A_prime, "weights": w_prime, "coreset_size": len(A_prime),
        "m": cfg.m, "m_local": cfg.m_local, "eps": cfg.eps, "eps_prime": cfg.eps_prime,
        "eps_prime_bicriteria": cfg.eps_prime_b, "delta": cfg.delta, "d_prime": proj.d_prime,
        "Delta_proj": proj.Delta, "q": proj.q, "jl_identity": proj.identity, "P_sizes": l_of,
        "ec_calls": st.ec_calls, "ec_bits": st.ec_bits, "comparisons": st.comparisons,
        "gt_runs": st.ec.runs, "gt_attempts": st.ec.attempts, "cost_zero": cost_zero, "centers": centers,
        "centers_data": centers * cfg.grid_step + cfg.grid_lo,
    }


@protocol("coord_coreset", models=("coordinator", "graph"), params=COORD_PARAMS, evaluate=evaluate,
          description="Algorithm 16 (CWWZ'26): local coresets, JL seed, adaptive sampling with "
                      "EFFICIENTCOMMUNICATION, sensitivity-sampled coreset + weighted k-means")
def coord_coreset(sim, **params):
    cfg = make_config(sim, params)
    names = [p.name for p in sim.sites]
    for site in sim.sites:
        X = to_grid(site.data, cfg.log2Delta, cfg.grid_lo, cfg.grid_step, where=f"data of {site.name}")
        sim.spawn(site, site_role, cfg, X)
    return sim.spawn(sim.coordinator, coordinator_role, cfg, names)


def run(name: str, parts, seed: int = 0, model=None, network=None, **params):
    """Run a registered coordinator/graph protocol on per-site arrays ``parts``; returns the RunResult."""
    model = model or CoordinatorModel()
    spec = get_protocol(name)
    bound = spec.bind(params, model.name)
    sim = Simulation(model, parts, params=bound, seed=seed, protocol=name, network=network)
    return sim.run(spec.setup(sim, **bound))
