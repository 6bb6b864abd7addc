"""What the baselines share: 32-bit coordinates, the EAS power-of-q code, graph flooding,
weighted reduction, k-means on a weighted set, and the evaluation outside the run.

**32 bits per coordinate.** The paper's experiments charge "32 bits per coordinate for MP and
AS" (Cohen-Addad, Wang, Woodruff, Zhou, Section 4.2). The codec has no binary32 code, so a
coordinate (and any real scalar: a cost D_j, a weight) travels as the 32-bit pattern of its
IEEE-754 binary32 value in ``UInt(32)``: exactly 32 information bits, and the receiver gets
``float32(x)`` back. Every party, the sender included, uses the decoded value, so all agree.

**EAS code** (Section 4: "rounding each selected center's coordinates to the nearest power of
q = 2^0.25", "5 bits per coordinate for EAS due to quantization"). The paper says nothing
about signs or zeros, and a power of q is neither. Our code, fixed-width ``eas_bits`` per
coordinate (default 5):

- ``eas_signed = true``: one sign bit, then eas_bits - 1 bits for the magnitude; without a
  sign (``false``) all eas_bits are magnitude and a negative coordinate clamps to 0.
- magnitude code 0 is the value 0; code j >= 1 is q^(e_min + j - 1), with the window
  [e_min, eas_emax] of 2^(bits) - 1 exponents ending at the declared ``eas_emax``.
- rounding: e = round(log_q |x|) (nearest in log scale), clipped to the window; |x| below
  q^e_min / 2 rounds to 0.

So digits (values 0..16, unsigned, eas_emax = 16 = log_q 16) get 31 exponents, q^-14 ... q^16,
and a signed 2-D Gaussian gets 15, q^2 = 1.41 ... q^16 = 16.
"""

from __future__ import annotations

import math

import numpy as np

from protosim import ConfigError, Param, UInt, Vector, message

from ..clustering import assign, weighted_kmeans
from ..clustering import cost as clustering_cost
from ..primitives.sensitivity import sensitivities

__all__ = [
    "EAS_PARAMS",
    "F32",
    "EASCode",
    "Points32",
    "Scalar32",
    "WeightedPoints32",
    "evaluate",
    "f32",
    "flood",
    "from_f32",
    "kmeans_on",
    "reduce_coreset",
    "to_f32",
]

F32 = UInt(32)
"""A real number as its IEEE-754 binary32 bit pattern (32 bits)."""


def to_f32(x) -> np.ndarray:
    """The binary32 bit patterns of ``x`` (int64 array, each in [0, 2^32))."""
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"a value to send is not finite: {a[~np.isfinite(a)].ravel()[:3]}")
    with np.errstate(over="raise"):
        try:
            b = a.astype(np.float32)
        except FloatingPointError:
            raise ConfigError("a value to send overflows binary32 (|x| > 3.4e38)") from None
    return b.view(np.uint32).astype(np.int64)


def from_f32(bits) -> np.ndarray:
    """The float64 values of binary32 bit patterns."""
    return np.asarray(bits, dtype=np.int64).astype(np.uint32).view(np.float32).astype(np.float64)


def f32(x) -> np.ndarray:
    """``x`` as the receiver decodes it: float64(float32(x))."""
    return from_f32(to_f32(x))


@message
class Scalar32:
    """One real number (a cost D_j, φ_i, c_i, a total) in 32 bits."""

    v: F32


@message
class Point32:
    """One point of ``dim`` coordinates (d, or d' after a JL map), 32 bits each."""

    x: Vector(F32, length="dim")


@message
class Points32:
    """A list of points: gamma(m + 1) for the count m, then m·dim·32 bits."""

    xs: Vector(Vector(F32, length="dim"))


@message
class WeightedPoints32:
    """A weighted point set (a coreset portion): points, then weights; each list has its gamma
    length prefix, so m points cost 2·gamma(m + 1) + m·(dim + 1)·32 bits."""

    xs: Vector(Vector(F32, length="dim"))
    w: Vector(F32)


def _rows(P) -> np.ndarray:
    P = np.asarray(P, dtype=np.float64)
    return P if P.ndim == 2 else P.reshape(len(P), -1) if len(P) else P.reshape(0, 0)


def points_msg(P) -> Points32:
    return Points32(xs=to_f32(_rows(P)))


def points_of(msg, dim: int) -> np.ndarray:
    xs = np.asarray(msg.xs)
    return from_f32(xs).reshape(-1, dim)


def wpoints_msg(P, w) -> WeightedPoints32:
    return WeightedPoints32(xs=to_f32(_rows(P)), w=to_f32(w))


def wpoints_of(msg, dim: int) -> tuple[np.ndarray, np.ndarray]:
    return from_f32(np.asarray(msg.xs)).reshape(-1, dim), from_f32(np.asarray(msg.w))


# -- the EAS code -----------------------------------------------------------------------------

EAS_PARAMS = {
    "q": Param(2.0 ** 0.25, float, low=1.0 + 1e-9, doc="EAS base: coordinates round to ±q^e (paper: 2^0.25)"),
    "eas_bits": Param(5, int, low=2, high=16, doc="bits per EAS coordinate (paper: 5)"),
    "eas_signed": Param(True, bool, doc="spend one of the bits on the sign (false: negative coordinates clamp to 0)"),
    "eas_emax": Param(16, int, low=-1000, high=1000, doc="largest exponent of the window: q^eas_emax is the largest magnitude"),
}


@message
class EASCode:
    """A center rounded by EAS: ``eas_bits`` per coordinate (sign and exponent code)."""

    c: Vector(UInt("eas_bits"), length="dim")


class EAS:
    """The EAS rounding and its fixed-width code (module docstring)."""

    def __init__(self, q: float, bits: int, signed: bool, emax: int):
        self.q, self.bits, self.signed, self.emax = float(q), int(bits), bool(signed), int(emax)
        self.mag_bits = self.bits - 1 if self.signed else self.bits
        self.nexp = 2 ** self.mag_bits - 1
        if self.nexp < 1:
            raise ConfigError(f"protocol.params.eas_bits: {bits} bits leave no exponent after the sign bit")
        self.emin = self.emax - self.nexp + 1

    @classmethod
    def from_params(cls, params: dict) -> EAS:
        return cls(params["q"], params["eas_bits"], params["eas_signed"], params["eas_emax"])

    def encode(self, x) -> np.ndarray:
        """Codes (int64) of the coordinates ``x``."""
        x = np.asarray(x, dtype=np.float64)
        mag = np.abs(x)
        with np.errstate(divide="ignore"):
            e = np.rint(np.log(np.where(mag > 0, mag, 1.0)) / math.log(self.q))
        e = np.clip(e, self.emin, self.emax).astype(np.int64)
        j = e - self.emin + 1
        zero = mag < self.q ** self.emin / 2
        if not self.signed:
            zero |= x < 0
        j[zero] = 0
        if self.signed:
            return np.where(x < 0, (1 << self.mag_bits) | j, j)
        return j

    def decode(self, codes) -> np.ndarray:
        c = np.asarray(codes, dtype=np.int64)
        j = c & self.nexp
        val = np.where(j > 0, np.exp2((self.emin + j - 1) * round(math.log2(self.q), 12)), 0.0)  # q = 2^0.25: exact
        if self.signed:
            val = np.where(c >> self.mag_bits, -val, val)
        return val

    def round(self, x) -> np.ndarray:
        return self.decode(self.encode(x))


# -- flooding on a graph ----------------------------------------------------------------------


def flood(party, own, cls, s: int):
    """Flood one item per site over a graph (Balcan, Ehrlich, Liang 2013, "flooding").

    ``own`` is this party's item (a message with an ``origin`` field) or None (the
    coordinator node has no data). A party sends its own item to every neighbour and
    forwards each item it sees for the first time to every neighbour except the one it
    came from; later copies are dropped. Every party sends each item exactly once to each
    neighbour but one (all of them for the origin), so one item crosses
    2|E| - (N - 1) edges in all (N nodes): |E| on a tree. Returns {origin: message}
    once all s items are in.
    """
    nbrs = party.model.neighbours(party.name)
    got = {}
    if own is not None:
        got[int(own.origin)] = own
        for v in nbrs:
            party.send(v, own)
    while len(got) < s:
        msg = yield party.recv(cls)
        o = int(msg.origin)
        if o in got:
            continue
        got[o] = msg
        for v in nbrs:
            if v != msg.sender:
                party.send(v, msg)
    return got


def flood_crossings(graph) -> int:
    """Edges one flooded item crosses: 2|E| - (N - 1)."""
    return 2 * graph.number_of_edges() - (graph.number_of_nodes() - 1)


# -- clustering helpers -----------------------------------------------------------------------


def kmeans_on(P: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, n_init: int = 5) -> np.ndarray:
    """k centers for the weighted set (P, w): scikit-learn k-means (k-means++ and Lloyd).

    Negative weights (BEL13's center weights can be negative) are clipped to 0 for this
    step only; with no positive weight the heaviest points by |w| are used.
    """
    P = np.asarray(P, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if len(P) == 0:
        raise ConfigError("the coordinator received no points to cluster (every site is empty)")
    wp = np.clip(w, 0.0, None)
    if not wp.sum() > 0:
        wp = np.ones(len(P))
    keep = wp > 0
    return weighted_kmeans(P[keep], wp[keep], k, seed=int(rng.integers(2**31)), n_init=n_init)


def reduce_coreset(P, w, k: int, m: int, rng: np.random.Generator):
    """REDUCE of merge-and-reduce: a weighted sensitivity-sampling coreset of at most m points.

    A set of at most m points is returned as it is (exact). Otherwise: k-means on the
    weighted set gives the bicriteria S; μ(x) of Algorithm 2 with weighted cluster sizes and
    costs, times w_x; m draws with p ∝ μ; a point drawn c times gets weight w_x·c/(m·p_x),
    so the coreset is unbiased. Repeated draws are merged: at most m distinct points.
    """
    P = np.asarray(P, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if len(P) <= m:
        return P, w
    S = weighted_kmeans(P, np.clip(w, 1e-12, None), k, seed=int(rng.integers(2**31)), n_init=1)
    idx, dist = assign(P, S)
    cost_x = dist**2
    sizes = np.bincount(idx, weights=w, minlength=len(S))
    costs = np.bincount(idx, weights=w * cost_x, minlength=len(S))
    mu = w * sensitivities(cost_x, idx, sizes, costs, k)
    p = mu / mu.sum()
    pick = rng.choice(len(P), size=m, p=p)
    u, c = np.unique(pick, return_counts=True)
    return P[u], w[u] * c / (m * p[u])


def check_k(k: int, n: int) -> None:
    if k > n:
        raise ConfigError(f"protocol.params.k: must be <= n = {n} (the number of points), got {k}")


def evaluate(X: np.ndarray, output: dict, params: dict) -> dict:
    """Scores on the full data, outside the run (never charged).

    ``cost``: the k-means cost of the output centers (``centers``; for AS, EAS and MP the
    whole sampled set S, which is what the paper plots). For the JL variants the centers
    live in the projected space: ``cost`` is then the cost of the partition they induce
    (each π(x) to its nearest center) measured in the original space against the original
    points that were sampled, and ``cost_projected`` the cost of π(X) against the centers.
    """
    out = {}
    C = np.asarray(output.get("centers", np.zeros((0, X.shape[1]))), dtype=np.float64)
    if "jl_seed" in output:
        from ..primitives.jl import GaussianJL

        jl = GaussianJL(X.shape[1], int(output["dim"]), int(output["jl_seed"]))
        Y = jl.apply(X)
        idx, dist = assign(Y, C)
        out["cost_projected"] = float((dist**2).sum())
        lifted = np.asarray(output["lifted"], dtype=np.float64)
        out["cost"] = float(np.einsum("ij,ij->i", X - lifted[idx], X - lifted[idx]).sum())
    elif len(C):
        out["cost"] = clustering_cost(X, C, 2.0)
    if "coreset" in output and len(output["coreset"]):
        out["coreset_weight_sum"] = float(np.sum(output["weights"]))
    return out


def run(name: str, model, parts, seed: int = 0, network=None, **params):
    """Run a registered protocol on per-site arrays ``parts`` and score it on their union;
    returns the RunResult (``output`` holds the evaluation too, as a scenario run's does)."""
    from protosim import Simulation
    from protosim.registry import get_protocol

    spec = get_protocol(name)
    bound = spec.bind(params, model.name)
    sim = Simulation(model, parts, params=bound, seed=seed, protocol=name, network=network)
    result = sim.run(spec.setup(sim, **bound))
    nonempty = [np.asarray(p, dtype=np.float64) for p in parts if len(p)]
    if spec.evaluate is not None and isinstance(result.output, dict) and nonempty:
        result.output.update(spec.evaluate(np.concatenate(nonempty), result.output, result.params))
    return result


def gamma_bits(x: int) -> int:
    """Bits of Elias gamma of x >= 1: 2·floor(log2 x) + 1."""
    return 2 * int(x).bit_length() - 1
