"""Compact encoding for coreset points (Algorithm 6, Lemmas B.13–B.14) of Cohen-Addad, Wang,
Woodruff, Zhou, "Distributed Algorithms for Euclidean Clustering", Appendix B; used by
Algorithm 13 line 14.

A point x of the grid [Δ]^d is sent as x' = (c'(x), y): the index of its nearest center in
a constant-factor solution C' that everyone knows (on the blackboard: the bicriteria set
S), and, per coordinate of the offset x - c'(x), whether it is zero, its sign, and the
exponent e of |offset| rounded to the nearest power of (1+ε') in log space, so that
(1+ε')^e is within a factor (1+ε')^{1/2} <= 1 + ε'/2 of |offset|. Grid offsets are
integers, so a nonzero |offset| is in [1, Δ-1] and e is in [0, E] with
E = round(log_{1+ε'}(Δ-1)); the exponent has the fixed width ceil(log2(E+1)) (run
parameter ``ce_width``, both sides know it).

Bits per point (exact): ceil(log2 |S|) for the center index (``S_size`` is a call parameter:
|S| is on the board, so both sides know it) + d nonzero flags + (#nonzero coordinates)·(1 +
ce_width) + the weight exponent (``Signed()``). Per site message, five Elias-gamma length
prefixes: the number of distinct points is the site's own (repeated draws are merged), and
the codec has no vector whose length is another field's value or a count of its ones.

**Choice of ε' (the paper is loose: Algorithm 6 line 1 says poly(ε²)/poly(k, log(ndΔ)),
Algorithm 13 "poly(ε)").** We take the dimension-free value of the implementer notes,
re-derived here: rounding gives ‖x' - x‖ <= (ε'/2)‖x - c'(x)‖. By Fact B.2 with η = ε/4,
for every center set C,
|cost(X', C) - cost(X, C)| <= (ε/4)·cost(X, C) + (1 + 8z/ε)^z (ε'/2)^z cost(X, C'),
and cost(X, C') <= α·cost(X, C) for any k-set C when C' is an α-approximation. Asking the
second term to be <= (ε/4)·cost(X, C) gives
ε'/2 = (ε/(4α))^{1/z} · ε/(ε + 8z),
so the encoding spends at most ε/2 of the error budget and sensitivity sampling the other
ε/2 (Lemma D.9's split). α = 10 by default: an assumed bound on the bicriteria factor;
the measured factor C' is written in tests/protocols/test_blackboard_bicriteria.py and
docs/protocols/euclidean-blackboard.md and is below it.

**Weights** travel as an exponent of (1 + ε/2) (Algorithm 13 line 15: μ̂ is a
(1+ε/2)-approximation). We round the exponent stochastically (up with the probability that
makes E[(1+ε/2)^e] = w): every posted weight is within a factor (1+ε/2) of the exact one,
as the paper requires, and the rounding adds no bias.
"""

from __future__ import annotations

import math

import numpy as np

from protosim import Bool, Signed, UInt, Vector, message

from ..clustering import assign

DEFAULT_ALPHA = 10.0
"""Assumed approximation factor of the bicriteria set C' in the ε' formula."""


def eps_prime_for(eps: float, z: float, alpha: float = DEFAULT_ALPHA) -> float:
    """ε' = 2·(ε/(4α))^{1/z}·ε/(ε + 8z): the encoding's share of the error is <= ε/2."""
    if not 0 < eps < 1 or z < 1 or alpha < 1:
        raise ValueError(f"need 0 < eps < 1, z >= 1, alpha >= 1; got eps={eps!r}, z={z!r}, alpha={alpha!r}")
    return 2 * (eps / (4 * alpha)) ** (1 / z) * eps / (eps + 8 * z)


def max_exponent(eps_prime: float, log2_delta: int) -> int:
    """E = round(log_{1+ε'}(Δ - 1)): the largest exponent of a grid offset (0 when Δ = 2)."""
    top = 2 ** int(log2_delta) - 1
    return round(math.log(top) / math.log1p(eps_prime)) if top > 1 else 0


def exponent_width(eps_prime: float, log2_delta: int) -> int:
    """ce_width = ceil(log2(E + 1)), at least 1."""
    return max(1, math.ceil(math.log2(max_exponent(eps_prime, log2_delta) + 1)))


@message
class CompactPoints:
    """A site's coreset points, compactly encoded (Algorithm 6) with their weights.

    ``center``: index in S of each point's nearest center; ``wexp``: weight exponent of
    (1+ε/2); ``nonzero``: m·d flags, row-major; ``sign`` and ``exp``: one per nonzero offset.
    """

    center: Vector(UInt("clog2(S_size)"))
    wexp: Vector(Signed())
    nonzero: Vector(Bool())
    sign: Vector(Bool())
    exp: Vector(UInt("ce_width"))


def compact_encode(X: np.ndarray, S: np.ndarray, eps_prime: float, center: np.ndarray | None = None):
    """Algorithm 6 lines 3-8 for the rows of X: (center index, nonzero mask, signs, exponents)."""
    X = np.asarray(X, dtype=np.int64)
    S = np.asarray(S, dtype=np.int64)
    if center is None:
        center = assign(X.astype(np.float64), S.astype(np.float64))[0] if len(X) else np.zeros(0, np.int64)
    center = np.asarray(center, dtype=np.int64)
    Y = X - S[center] if len(X) else np.zeros((0, S.shape[1]), np.int64)
    nonzero = Y != 0
    mags = np.abs(Y[nonzero]).astype(np.float64)
    exps = np.rint(np.log(mags) / math.log1p(eps_prime)).astype(np.int64)
    return center, nonzero, Y[nonzero] < 0, exps


def compact_decode(center, nonzero, sign, exps, S: np.ndarray, eps_prime: float) -> np.ndarray:
    """x' = c'(x) + y, with y_i = ±(1+ε')^{e_i} where nonzero and 0 elsewhere."""
    S = np.asarray(S, dtype=np.float64)
    center = np.asarray(center, dtype=np.int64)
    nonzero = np.asarray(nonzero, dtype=bool).reshape(len(center), S.shape[1])
    Y = np.zeros(nonzero.shape)
    mags = np.exp(np.asarray(exps, dtype=np.float64) * math.log1p(eps_prime))
    Y[nonzero] = np.where(np.asarray(sign, dtype=bool), -mags, mags)
    return S[center] + Y


def weight_exponents(w: np.ndarray, base: float, rng: np.random.Generator) -> np.ndarray:
    """Unbiased stochastic rounding of log_base(w): E[base**e] = w and base**e within a factor base of w."""
    w = np.asarray(w, dtype=np.float64)
    if (w <= 0).any():
        raise ValueError("weights must be positive")
    lb = math.log(base)
    lo = np.floor(np.log(w) / lb)
    blo = np.exp(lo * lb)
    q = np.clip((w - blo) / (blo * (base - 1)), 0.0, 1.0)
    return (lo + (rng.random(w.shape) < q)).astype(np.int64)


def weight_values(e: np.ndarray, base: float) -> np.ndarray:
    return np.exp(np.asarray(e, dtype=np.float64) * math.log(base))


def encode_points(X, S, weights, eps_prime: float, weight_base: float, rng, center=None) -> CompactPoints:
    """The message for a site's sampled points X (grid) with weights."""
    c, nz, sg, ex = compact_encode(X, S, eps_prime, center)
    return CompactPoints(center=c, wexp=weight_exponents(weights, weight_base, rng),
                         nonzero=nz.reshape(-1), sign=sg, exp=ex)


def decode_points(msg: CompactPoints, S: np.ndarray, eps_prime: float, weight_base: float):
    """(points, weights) from a CompactPoints message."""
    pts = compact_decode(msg.center, msg.nonzero, msg.sign, msg.exp, S, eps_prime)
    return pts, weight_values(msg.wexp, weight_base)


def message_bits(msg: CompactPoints, ce_width: int, S_size: int) -> int:
    """Information bits of a CompactPoints message, by hand (tests compare with the codec)."""
    def g(x: int) -> int:  # Elias gamma of x >= 1
        return 2 * int(x).bit_length() - 1

    def zz(v: int) -> int:  # zigzag, plus one
        return (2 * v + 1) if v >= 0 else -2 * v

    m = len(msg.center)
    nz = int(np.count_nonzero(msg.nonzero))
    bits = g(m + 1) + m * max(1, math.ceil(math.log2(S_size)))
    bits += g(len(msg.wexp) + 1) + sum(g(zz(int(e))) for e in msg.wexp)
    bits += g(len(msg.nonzero) + 1) + len(msg.nonzero)
    bits += g(nz + 1) + nz
    bits += g(nz + 1) + nz * ce_width
    return bits
