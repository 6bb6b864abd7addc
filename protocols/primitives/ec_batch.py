"""EFFICIENTCOMMUNICATION batched: GREATERTHAN (Theorem B.8), HIGHPROBGREATERTHAN (Algorithm 14,
Lemma E.1) and EFFICIENTCOMMUNICATION (Algorithm 15, Lemma E.3) of Cohen-Addad, Wang,
Woodruff, Zhou (ICLR 2026) on many comparisons at once.

All the comparisons that one exchange between a pair makes at the same step (all coordinates
of a point, all points a party uploads) travel in one message per GREATERTHAN step. Every
comparison pays exactly what it pays alone in greater_than.py and efficient_communication.py
— t hash bits and one answer bit per step, two bits at the end, the explicit (i_s, γ, m)
fields — so the information bits are those of the sequential primitives (tested against them);
only messages and rounds drop. Operands are packed in uint64: 2Δ+2 < 2^63.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from protosim import Bool, ConfigError, UInt, Vector, message

from .efficient_communication import ECParams, _Powers, ec_params
from .greater_than import (
    GT_ERROR,
    VARIANTS,
    GTStats,
    PairCoins,
    gt_hash_bits,
    majority_runs,
)

__all__ = [
    "MAX_BATCH_B",
    "ECBatch",
    "ec_batch_params",
    "ec_batch_receiver",
    "ec_batch_sender",
    "gt_batch",
    "hpgt_batch",
]


@message
class GTHashes:
    """One GREATERTHAN step of ``gt_n`` comparisons side by side: t parity bits each (Alice)."""

    h: Vector(UInt("gt_t"), length="gt_n")


@message
class GTEquals:
    """Bob's answers to one step: do the t parities agree, per comparison."""

    eq: Vector(Bool(), length="gt_n")


@message
class GTBits:
    """Bit l+1 of each comparison that ended with l < b (one message each way)."""

    bit: Vector(Bool(), length="gt_n")


@message
class ECWhichBatch:
    """Lemma E.3's explicit i_s and γ for every (point, coordinate) of one exchange."""

    rank: Vector(UInt("ec_rank_bits"), length="ec_n")
    gamma: Vector(UInt(2), length="ec_n")


@message
class ECExpBatch:
    """Lemma E.3's explicit m for every (point, coordinate) with γ != 0."""

    m: Vector(UInt("ec_exp_bits"), length="ec_nz")


MAX_BATCH_B = 63
"""Batched GREATERTHAN packs operands in uint64: b = bitlen(2Δ+2) <= 63 (Δ < 2^61)."""


@functools.lru_cache(maxsize=64)
def _bit_weights(t: int) -> np.ndarray:
    """2^(t-1), ..., 2, 1: t parity bits read as one t-bit integer, first bit highest."""
    return np.left_shift(np.uint64(1), np.arange(t - 1, -1, -1, dtype=np.uint64))


def _parities(prefix: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
    """t GF(2) parities <prefix, r_u> per comparison with fresh uniform 64-bit masks r_u.

    ``prefix`` has fewer than 64 bits, so only the low bits of each mask matter, and those
    are uniform. Both parties draw the masks in the same order from the pair's coins.
    """
    r = rng.bit_generator.random_raw(size=(len(prefix), t))
    r &= prefix[:, None]
    return (np.bitwise_count(r) & np.uint8(1)) @ _bit_weights(t)


def gt_batch(party, peer: str, x: np.ndarray, b: int, t: int, *, alice: bool, coins: PairCoins,
             stats: GTStats | None = None):
    """GREATERTHAN (Theorem B.8) on M independent comparisons at once; returns sign(mine - theirs).

    Each comparison is the binary search of greater_than.py (prefix tests with t parity
    bits, then bit l+1 each way, restart with fresh coins on a detected collision); they
    advance in lockstep, one message per step carrying every active comparison. ``x`` holds
    this side's b-bit operands (b <= 63). Bits per comparison: steps·(t+1) + 2·[l < b].
    """
    if not 1 <= b <= MAX_BATCH_B:
        raise ConfigError(f"b: batched GREATERTHAN needs 1 <= b <= {MAX_BATCH_B}, got {b!r}")
    x = np.asarray(x, dtype=np.uint64)
    M = len(x)
    st = stats if stats is not None else GTStats()
    st.runs += M
    out = np.zeros(M, np.int8)
    pending = np.arange(M)
    while pending.size:
        st.attempts += pending.size
        xs = x[pending]
        lo = np.zeros(len(xs), np.int64)
        hi = np.full(len(xs), b, np.int64)
        while True:
            idx = np.flatnonzero(lo < hi)
            if not idx.size:
                break
            mid = (lo[idx] + hi[idx] + 1) >> 1
            h = _parities(xs[idx] >> (b - mid).astype(np.uint64), t, coins.rng)
            call = {"gt_t": t, "gt_n": int(idx.size)}
            if alice:
                party.route(peer, GTHashes(h=h), params=call)
                eq = np.asarray((yield party.recv(GTEquals, src=peer, params=call)).eq, dtype=bool)
            else:
                theirs = np.asarray((yield party.recv(GTHashes, src=peer, params=call)).h, dtype=np.uint64)
                eq = theirs == h
                party.route(peer, GTEquals(eq=eq), params=call)
            st.steps += int(idx.size)
            st.bits += int(idx.size) * (t + 1)
            st.messages += 2
            lo[idx] = np.where(eq, mid, lo[idx])
            hi[idx] = np.where(eq, hi[idx], mid - 1)
        ne = np.flatnonzero(lo < b)  # lo == b: equal
        if not ne.size:
            break
        mine = ((xs[ne] >> (b - lo[ne] - 1).astype(np.uint64)) & np.uint64(1)).astype(bool)
        call = {"gt_n": int(ne.size)}
        if alice:
            party.route(peer, GTBits(bit=mine), params=call)
            theirs = np.asarray((yield party.recv(GTBits, src=peer, params=call)).bit, dtype=bool)
        else:
            theirs = np.asarray((yield party.recv(GTBits, src=peer, params=call)).bit, dtype=bool)
            party.route(peer, GTBits(bit=mine), params=call)
        st.bits += 2 * int(ne.size)
        st.messages += 2
        differ = mine != theirs
        out[pending[ne[differ]]] = np.where(mine[differ], 1, -1)
        pending = pending[ne[~differ]]  # bits l+1 agree: a collision; both know it; retry
    return out


def hpgt_batch(party, peer: str, values: np.ndarray, b: int, delta: float, *, alice: bool, coins: PairCoins,
               variant: str = "hash", gt_error: float = GT_ERROR, stats: GTStats | None = None):
    """HIGHPROBGREATERTHAN (Algorithm 14, Lemma E.1) on many comparisons at once.

    ``"hash"``: one GREATERTHAN per comparison with t = ceil(log2(S/δ)). ``"majority"``:
    N = majority_runs(δ, p) runs each at t = ceil(log2(S/p)) and a vote over <, =, >
    (ties toward =, then <), as high_prob_greater_than does.
    """
    values = np.asarray(values, dtype=np.uint64)
    st = stats if stats is not None else GTStats()
    st.calls += len(values)
    if variant == "hash":
        return (yield from gt_batch(party, peer, values, b, gt_hash_bits(b, delta), alice=alice, coins=coins,
                                    stats=st))
    N = majority_runs(delta, gt_error)
    c = yield from gt_batch(party, peer, np.repeat(values, N), b, gt_hash_bits(b, gt_error), alice=alice,
                            coins=coins, stats=st)
    c = c.reshape(len(values), N)
    votes = np.stack([(c == 0).sum(axis=1), (c == -1).sum(axis=1), (c == 1).sum(axis=1)])
    return np.array([0, -1, 1], np.int8)[votes.argmax(axis=0)]


def ec_batch_params(d: int, l: int, Delta: int, eps, delta: float, exponent_search: str = "binary") -> ECParams:
    """Algorithm 15's public parameters (``ec_params``), refusing operands beyond uint64."""
    P = ec_params(d, l, Delta, eps, delta, exponent_search)
    if P.b > MAX_BATCH_B:
        raise ConfigError(f"Delta: {Delta} needs b = {P.b} bits per comparison; the batched "
                          f"EFFICIENTCOMMUNICATION supports 2Δ+2 < 2^{MAX_BATCH_B}")
    return P


class _Thresholds:
    """ceil((1+ε)^q) and floor(((1+ε)^q + (1+ε)^(q+1))/2), exact, for arrays of q.

    Computed in float64 and redone in exact rationals (``_Powers``) wherever the float is
    within a relative 1e-9 of an integer (its error is below 1e-12 relative), so every
    threshold equals the exact one of the sequential protocol.
    """

    def __init__(self, eps: Fraction):
        self.exact = _Powers(eps)
        self.log1p = math.log1p(float(eps))
        self.half = (2 + float(eps)) / 2

    def _fix(self, x: np.ndarray, q: np.ndarray, exact, rounder) -> np.ndarray:
        r = rounder(x)
        frac = np.abs(x - np.rint(x))
        near = frac <= 1e-9 * np.maximum(1.0, x)
        out = r.astype(np.int64)
        for i in np.flatnonzero(near):
            out[i] = exact(int(q[i]))
        return out

    def ceil_pow(self, q: np.ndarray) -> np.ndarray:
        x = np.exp(q * self.log1p)
        return self._fix(x, q, self.exact.ceil_pow, np.ceil)

    def floor_mid(self, q: np.ndarray) -> np.ndarray:
        x = np.exp(q * self.log1p) * self.half
        return self._fix(x, q, self.exact.floor_mid, np.floor)


@dataclass
class ECBatch:
    """The outcome of one batched EFFICIENTCOMMUNICATION: per (point, coordinate) the rank s
    (0 and l+1 are the sentinels ∓Δ), γ and m (-1 where γ = 0); ``y_tilde`` (receiver only)."""

    rank: np.ndarray
    gamma: np.ndarray
    m: np.ndarray
    y_tilde: np.ndarray | None
    stats: dict = field(default_factory=dict)
    gt: GTStats = field(default_factory=GTStats)


_GAMMA_CODE = np.array([2, 0, 1], np.int64)  # γ = -1, 0, 1 -> 2, 0, 1 (as efficient_communication.py)
_GAMMA_OF = np.array([0, 1, -1], np.int64)


def _ec_batch(party, peer, sender: bool, Y, V, n: int, P: ECParams, coins, variant, gt_error, explicit):
    """Both sides of Algorithm 15 for n points at once (``Y`` on the sender, ``V`` = the
    receiver's sorted columns with the sentinels, shape (d, l+2))."""
    d, D = P.d, P.Delta
    K = n * d
    coord = np.tile(np.arange(d), n)
    gt = GTStats()
    counts = {"search": 0, "equal": 0, "exponent": 0, "explicit_bits": 0}
    own = (Y.reshape(-1) + D + 1).astype(np.uint64) if sender else None
    thresholds = None if sender else _Thresholds(P.eps)

    def compare(idx, T):
        """HIGHPROBGREATERTHAN(y^(i), T, δ') for the instances ``idx``: sign(y - T) on both sides."""
        values = own[idx] if sender else (np.clip(T, -D - 1, D + 1) + D + 1).astype(np.uint64)
        c = yield from hpgt_batch(party, peer, values, P.b, P.delta_prime, alice=sender, coins=coins,
                                  variant=variant, gt_error=gt_error, stats=gt)
        return c.astype(np.int64) if sender else -c.astype(np.int64)

    every = np.arange(K)
    with party.phase("search"):  # lines 2-4
        lo, hi = np.zeros(K, np.int64), np.full(K, P.l, np.int64)
        while True:
            idx = np.flatnonzero(lo < hi)
            if not idx.size:
                break
            mid = (lo[idx] + hi[idx] + 1) >> 1
            c = yield from compare(idx, None if sender else V[coord[idx], mid])
            counts["search"] += int(idx.size)
            lo[idx] = np.where(c >= 0, mid, lo[idx])
            hi[idx] = np.where(c >= 0, hi[idx], mid - 1)
        p = lo
        c = yield from compare(every, None if sender else (V[coord, p] + V[coord, p + 1]) // 2)
        counts["search"] += K
        s = np.where(c <= 0, p, p + 1)
    with party.phase("equal"):  # lines 5-9
        gamma = yield from compare(every, None if sender else V[coord, s])
        counts["equal"] += K
    m = np.full(K, -1, np.int64)
    nz = np.flatnonzero(gamma != 0)
    if nz.size:
        with party.phase("exponent"):  # line 10
            g = gamma[nz]
            base = None if sender else V[coord[nz], s[nz]]

            def at_least(sel, q):
                """|y - v_s| >= (1+ε)^q for the instances nz[sel]."""
                T = None if sender else base[sel] + g[sel] * thresholds.ceil_pow(q)
                c = yield from compare(nz[sel], T)
                counts["exponent"] += int(sel.size)
                return np.where(g[sel] > 0, c >= 0, c <= 0)

            lo, hi = np.zeros(nz.size, np.int64), np.full(nz.size, P.Q, np.int64)
            if P.exponent_search == "exponential":  # gallop q = 1, 3, 7, ... then bisect
                probe = np.ones(nz.size, np.int64)
                galloping = np.ones(nz.size, bool)
                while True:
                    sel = np.flatnonzero(galloping & (probe <= P.Q))
                    if not sel.size:
                        break
                    ok = yield from at_least(sel, probe[sel])
                    lo[sel[ok]] = probe[sel[ok]]
                    probe[sel[ok]] = 2 * probe[sel[ok]] + 1
                    hi[sel[~ok]] = probe[sel[~ok]] - 1
                    galloping[sel[~ok]] = False
            while True:
                sel = np.flatnonzero(lo < hi)
                if not sel.size:
                    break
                mid = (lo[sel] + hi[sel] + 1) >> 1
                ok = yield from at_least(sel, mid)
                lo[sel] = np.where(ok, mid, lo[sel])
                hi[sel] = np.where(ok, hi[sel], mid - 1)
            q = lo
            c = yield from compare(nz, None if sender else base + g * thresholds.floor_mid(q))
            counts["exponent"] += int(nz.size)
            closer_low = np.where(g > 0, c <= 0, c >= 0)
            m[nz] = np.where(closer_low, q, q + 1)
    if explicit:  # Lemma E.3: i_s, γ and m, in the paper's text
        with party.phase("explicit"):
            call = {"ec_rank_bits": P.rank_bits, "ec_n": K}
            if sender:
                party.route(peer, ECWhichBatch(rank=s, gamma=_GAMMA_CODE[gamma + 1]), params=call)
                if nz.size:
                    party.route(peer, ECExpBatch(m=m[nz]), params={"ec_exp_bits": P.exp_bits, "ec_nz": int(nz.size)})
            else:
                msg = yield party.recv(ECWhichBatch, src=peer, params=call)
                s = np.asarray(msg.rank, np.int64)
                gamma = _GAMMA_OF[np.asarray(msg.gamma, np.int64)]
                nz = np.flatnonzero(gamma != 0)
                m = np.full(K, -1, np.int64)
                if nz.size:
                    got = yield party.recv(ECExpBatch, src=peer, params={"ec_exp_bits": P.exp_bits, "ec_nz": int(nz.size)})
                    m[nz] = np.asarray(got.m, np.int64)
            counts["explicit_bits"] = K * (P.rank_bits + 2) + int(nz.size) * P.exp_bits
    y_tilde = None
    if not sender:  # line 13: ỹ = v_s + γ(1+ε)^m
        y_tilde = V[coord, s].astype(np.float64)
        y_tilde[nz] += gamma[nz] * np.exp(m[nz] * math.log1p(float(P.eps)))
        y_tilde = y_tilde.reshape(n, d)
    counts["comparisons"] = counts["search"] + counts["equal"] + counts["exponent"]
    counts["bits"] = gt.bits + counts["explicit_bits"]
    return ECBatch(s.reshape(n, d), gamma.reshape(n, d), m.reshape(n, d), y_tilde, counts, gt)


def _grid_points(Y, Delta: int, where: str) -> np.ndarray:
    A = np.asarray(Y)
    if A.ndim != 2:
        raise ConfigError(f"{where}: expected a 2-D array of points, got shape {A.shape}")
    if A.size and not np.issubdtype(A.dtype, np.integer) and not (np.all(np.isfinite(A)) and np.all(A == np.rint(A))):
        raise ConfigError(f"{where}: coordinates must be integers on the grid [-Delta, Delta]")
    A = A.astype(np.int64)
    bad = np.abs(A) > Delta
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise ConfigError(f"{where}[{r}][{c}]: |{A[r, c]}| exceeds Delta = {Delta}")
    return A


def ec_batch_sender(party, peer: str, Y, *, l: int, Delta: int, eps, delta: float, coins: PairCoins,
                    variant: str = "hash", explicit: bool = True, gt_error: float = GT_ERROR,
                    exponent_search: str = "binary"):
    """EFFICIENTCOMMUNICATION (Algorithm 15) for the n points of ``Y`` (n x d integers in
    [-Δ, Δ]) to a receiver holding l points, batched. Input is checked before any message."""
    if variant not in VARIANTS:
        raise ConfigError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    Yv = _grid_points(Y, Delta, "y")
    P = ec_batch_params(Yv.shape[1], l, Delta, eps, delta, exponent_search)
    return (yield from _ec_batch(party, peer, True, Yv, None, len(Yv), P, coins, variant, gt_error, explicit))


def ec_batch_receiver(party, peer: str, X, n: int, *, Delta: int, eps, delta: float, coins: PairCoins,
                      variant: str = "hash", explicit: bool = True, gt_error: float = GT_ERROR,
                      exponent_search: str = "binary", d: int | None = None):
    """EFFICIENTCOMMUNICATION (Algorithm 15), the side holding X (l x d), for n points of the
    sender; returns an :class:`ECBatch` whose ``y_tilde`` (n x d) is ỹ."""
    if variant not in VARIANTS:
        raise ConfigError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    Xv = np.asarray(X)
    if Xv.ndim != 2 or (Xv.shape[0] == 0 and d is None):
        if Xv.size == 0 and d is not None:
            Xv = np.zeros((0, d), np.int64)
        else:
            raise ConfigError(f"X: expected an l x d array (pass d when l = 0), got shape {Xv.shape}")
    Xv = _grid_points(Xv, Delta, "X")
    P = ec_batch_params(Xv.shape[1], len(Xv), Delta, eps, delta, exponent_search)
    V = np.empty((P.d, P.l + 2), np.int64)
    V[:, 0], V[:, -1] = -P.Delta, P.Delta
    V[:, 1:-1] = np.sort(Xv.T, axis=1)
    return (yield from _ec_batch(party, peer, False, None, V, int(n), P, coins, variant, gt_error, explicit))
