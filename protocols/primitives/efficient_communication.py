"""EFFICIENTCOMMUNICATION (Algorithm 15; Lemmas E.2-E.4).

Paper: Cohen-Addad, Wang, Woodruff, Zhou, "Distributed Algorithms for Euclidean Clustering",
Algorithm 15 (l.1077-1095), Lemma E.2 (correctness, l.1119-1141), Lemma E.3 (bits,
l.1145-1151). Implementer notes: shared/notes/primitives.md §1.2, §1.8.

One party, the *receiver*, holds X = {x_1..x_l} ⊂ [-Δ, Δ]^d (integers); the other, the
*sender*, holds an integer point y ∈ [-Δ, Δ]^d. Afterwards the receiver knows ỹ with
||y - ỹ||_2 <= ε·min_{x∈X} ||x - y||_2, with probability >= 1 - δ (Lemma E.2). Both
run the same generator, with ``sender=True`` on the side holding y::

    coins = yield from pair_coins(site, "coord", leader=True)
    yt = yield from efficient_communication_sender(site, "coord", y, l=l, Delta=D, eps=e, delta=dl, coins=coins)
    # coord: coins = yield from pair_coins(coord, "site0", leader=False)
    #        yt = yield from efficient_communication_receiver(coord, "site0", X, Delta=D, eps=e, delta=dl, coins=coins)

Per coordinate i (Algorithm 15, with the search spelled out as in the proof, l.1139-1141):

1. line 2-4 — the receiver sorts its values v_1 <= .. <= v_l and adds the sentinels
   v_0 = -Δ, v_{l+1} = Δ. A binary search with HIGHPROBGREATERTHAN(y^(i), v_mid, δ') finds
   the largest p in [0, l] with v_p <= y^(i) (ceil(log2(l+1)) comparisons); one more
   comparison of y^(i) with the midpoint floor((v_p + v_{p+1})/2) picks the nearest
   s ∈ {p, p+1} (``phase search``).
2. line 5-9 — one HIGHPROBGREATERTHAN(y^(i), v_s) tests y^(i) = v_s; its three-way outcome
   also gives γ = sign(y^(i) - v_s) (``phase equal``).
3. line 10-11 — if γ != 0, D = |y^(i) - v_s| is in [1, Δ] (the sentinels make the nearest
   value at most Δ away), so a search over q ∈ {0..Q}, Q = floor(log_{1+ε} Δ), finds the
   largest q with (1+ε)^q <= D by comparing y^(i) with v_s + γ·ceil((1+ε)^q); one more
   comparison with v_s + γ·floor(((1+ε)^q + (1+ε)^{q+1})/2) picks the nearer exponent
   m ∈ {q, q+1} (``phase exponent``). The search is the binary search of Algorithm 15
   line 10 and its proof (``exponent_search="binary"``, the default; ceil(log2(Q+1))
   comparisons) or, as Section 3 words it, an exponential (galloping) search
   (``"exponential"``: probes q = 1, 3, 7, ... then bisects; about 2·log2(q+1)
   comparisons, cheaper when D is far below Δ).
4. line 13 — ỹ^(i) = v_s + γ·(1+ε)^m  (or v_s when γ = 0).

Every comparison is a real HIGHPROBGREATERTHAN run between the two parties (the sender is
GREATERTHAN's Alice) on the integers u = v + Δ + 1 ∈ [0, 2Δ+2], b = bitlen(2Δ+2) bits; the
receiver owns every threshold and rounds it to an integer first (y integer, so
y >= τ ⇔ y >= ceil τ and y <= τ ⇔ y <= floor τ); thresholds are clamped to
[-Δ-1, Δ+1], which changes no outcome.

δ' (line 3): the paper writes O(δ / (d(log l + log log n + log 1/ε))). We use the exact
union bound δ' = δ / (d·C) with C = ceil(log2(l+1)) + 1 + 1 + E + 1, the most comparisons
one coordinate can make; E = ceil(log2(Q+1)) for the binary exponent search and
bitlen(Q+1) + ceil(log2(Q+1)) for the galloping one.

What is sent (Lemma E.3): the comparisons, and — in the paper's text — explicitly i_s
(ceil(log2(l+2)) bits), γ (2 bits) and m (ceil(log2(Q+2)) bits, only when γ != 0) per
coordinate. Every comparison outcome is already known to both parties, so these are
redundant (notes §1.8, erratum 6); ``explicit=True`` (the default, the paper's text)
sends them (phase ``explicit``) and the receiver builds ỹ from them; ``explicit=False``
sends only the comparisons and the receiver builds ỹ from the transcript.

Choices where the paper is silent:

- l = |X| is known to both parties (the sender must know how many comparisons the search
  makes); it is an argument of the sender. Sending it would cost a Gamma code once.
- ε is taken as the rational with the shortest decimal form of the float given
  (0.1 -> 1/10), and (1+ε)^q is computed exactly in rationals, so thresholds and ỹ are
  exact for coordinates of any size (1024-bit and beyond). ỹ is returned exactly
  (Fractions) and as float64 when it fits.
- Coordinates are integers in [-Δ, Δ] (the paper's grid); real data (after a JL map)
  must be quantised by the caller, and Δ then includes the quantisation scale.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from protosim import ConfigError, UInt, message

from .greater_than import (
    GT_ERROR,
    VARIANTS,
    GTStats,
    PairCoins,
    high_prob_greater_than,
)

__all__ = [
    "ECApprox",
    "ECExp",
    "ECParams",
    "ECStats",
    "ECWhich",
    "ec_params",
    "efficient_communication_receiver",
    "efficient_communication_sender",
]


@dataclass(frozen=True)
class ECParams:
    """Public parameters of one EFFICIENTCOMMUNICATION call, computed alike on both sides."""

    d: int
    l: int
    Delta: int
    eps: Fraction
    delta: float
    Q: int  # largest q with (1+ε)^q <= Δ
    exponent_search: str  # "binary" (Algorithm 15 line 10) or "exponential" (galloping, Section 3)
    b: int  # GREATERTHAN bit length of u = v + Δ + 1
    calls_per_coordinate: int
    delta_prime: float
    rank_bits: int  # ceil(log2(l+2)): i_s
    exp_bits: int  # ceil(log2(Q+2)): m ∈ [0, Q+1]


def _eps_fraction(eps) -> Fraction:
    if isinstance(eps, Fraction):
        f = eps
    elif isinstance(eps, (int, float, np.integer, np.floating)) and not isinstance(eps, bool) and math.isfinite(eps):
        f = Fraction(repr(float(eps)))
    else:
        raise ConfigError(f"eps: must be a positive number, got {eps!r}")
    if f <= 0:
        raise ConfigError(f"eps: must be > 0, got {eps!r}")
    return f


@functools.lru_cache(maxsize=256)
def _largest_exponent(Delta: int, eps: Fraction) -> int:
    """Q = max{q >= 0 : (1+ε)^q <= Δ}, exactly."""
    a, c = (1 + eps).numerator, (1 + eps).denominator
    q = max(0, int(math.log(Delta) / math.log(float(1 + eps))) - 2)
    while a ** (q + 1) <= Delta * c ** (q + 1):
        q += 1
    while q > 0 and a ** q > Delta * c ** q:
        q -= 1
    return q


SEARCHES = ("binary", "exponential")


def _exponent_probes(Q: int, search: str) -> int:
    """Most comparisons of the exponent search over q ∈ [0, Q], before the midpoint test."""
    binary = (Q).bit_length() if Q else 0  # ceil(log2(Q+1))
    if search == "binary":
        return binary
    # galloping: probes q = 1, 3, 7, ... (at most bitlen(Q+1) of them), then a binary search
    # inside an interval of at most 2^(j-1) values
    return (Q + 1).bit_length() + binary


def ec_params(d: int, l: int, Delta: int, eps, delta: float, exponent_search: str = "binary") -> ECParams:
    """Check the public parameters and derive Q, b, δ' and the explicit-field widths."""
    if exponent_search not in SEARCHES:
        raise ConfigError(f"exponent_search: expected one of {', '.join(SEARCHES)}, got {exponent_search!r}")
    for name, v, low in (("d", d, 1), ("l", l, 0), ("Delta", Delta, 1)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
            raise ConfigError(f"{name}: must be an integer >= {low}, got {v!r}")
    if not (isinstance(delta, (int, float)) and not isinstance(delta, bool) and 0 < delta < 1):
        raise ConfigError(f"delta: must be a probability in (0, 1), got {delta!r}")
    d, l, Delta = int(d), int(l), int(Delta)
    f = _eps_fraction(eps)
    Q = _largest_exponent(Delta, f)
    C = math.ceil(math.log2(l + 1)) + 1 + 1 + _exponent_probes(Q, exponent_search) + 1
    return ECParams(d=d, l=l, Delta=Delta, eps=f, delta=float(delta), Q=Q, exponent_search=exponent_search, b=(2 * Delta + 2).bit_length(),
                    calls_per_coordinate=C, delta_prime=float(delta) / (d * C),
                    rank_bits=max(1, (l + 1).bit_length()), exp_bits=max(1, (Q + 1).bit_length()))


@dataclass
class ECStats:
    """Comparisons per stage and the GREATERTHAN cost, as counted by the protocol."""

    search: int = 0
    equal: int = 0
    exponent: int = 0
    explicit_bits: int = 0
    gt: GTStats = field(default_factory=GTStats)

    @property
    def comparisons(self) -> int:
        return self.search + self.equal + self.exponent

    @property
    def bits(self) -> int:
        """All bits of the call (both directions) except the pair's seed."""
        return self.gt.bits + self.explicit_bits


@dataclass
class ECApprox:
    """The outcome per coordinate: rank s of x_{i_s} (0 and l+1 are the sentinels), γ, m.

    ``base`` (the values x_{i_s}^(i)) is known to the receiver only; ``m[i]`` is -1 where
    γ = 0. ``y_tilde()`` gives ỹ exactly; ``to_array()`` as float64.
    """

    rank: list[int]
    gamma: list[int]
    m: list[int]
    eps: Fraction
    base: list[int] | None = None
    stats: ECStats = field(default_factory=ECStats)

    def y_tilde(self) -> list[Fraction]:
        if self.base is None:
            raise ConfigError("y_tilde: only the receiver knows the values x_{i_s}; the sender knows ranks")
        one = 1 + self.eps
        return [Fraction(v) if g == 0 else v + g * one ** m for v, g, m in zip(self.base, self.gamma, self.m)]

    def to_array(self) -> np.ndarray:
        return np.array([float(v) for v in self.y_tilde()], dtype=np.float64)


class _Powers:
    """Exact (1+ε)^q thresholds: ceil((1+ε)^q) and floor of the midpoint with (1+ε)^(q+1)."""

    def __init__(self, eps: Fraction):
        one = 1 + eps
        self.a, self.c = one.numerator, one.denominator
        self._cache: dict[int, tuple[int, int]] = {}

    def _pow(self, q: int) -> tuple[int, int]:
        v = self._cache.get(q)
        if v is None:
            v = self._cache[q] = (self.a ** q, self.c ** q)
        return v

    def ceil_pow(self, q: int) -> int:
        num, den = self._pow(q)
        return -((-num) // den)

    def floor_mid(self, q: int) -> int:
        # ((1+ε)^q + (1+ε)^(q+1)) / 2 = a^q (a + c) / (2 c^(q+1))
        num, den = self._pow(q)
        return (num * (self.a + self.c)) // (2 * den * self.c)


def _as_int(v, where: str) -> int:
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        return int(v)
    raise ConfigError(f"{where}: coordinates must be integers on the grid [-Delta, Delta], got {v!r}")


def _check_point(y, d: int | None, Delta: int, where: str) -> list[int]:
    try:
        values = list(y)
    except TypeError:
        raise ConfigError(f"{where}: expected a sequence of d integer coordinates, got {y!r}") from None
    if d is not None and len(values) != d:
        raise ConfigError(f"{where}: has {len(values)} coordinates, expected d = {d}")
    out = [_as_int(v, f"{where}[{i}]") for i, v in enumerate(values)]
    for i, v in enumerate(out):
        if abs(v) > Delta:
            raise ConfigError(f"{where}[{i}]: |{v}| exceeds Delta = {Delta}")
    return out


@message
class ECWhich:
    """Lemma E.3's explicit i_s (ceil(log2(l+2)) bits, call parameter ``ec_rank_bits``) and γ (2 bits)."""

    rank: UInt("ec_rank_bits")
    gamma: UInt(2)


@message
class ECExp:
    """Lemma E.3's explicit m (ceil(log2(Q+2)) bits, call parameter ``ec_exp_bits``), sent when γ != 0."""

    m: UInt("ec_exp_bits")


def _explicit_params(P: ECParams) -> tuple[dict, dict]:
    """Call parameters of the explicit fields: widths both sides derive from the call's public arguments."""
    return {"ec_rank_bits": P.rank_bits}, {"ec_exp_bits": P.exp_bits}


_GAMMA_CODE = {0: 0, 1: 1, -1: 2}
_GAMMA_OF = {0: 0, 1: 1, 2: -1}


def _run(party, peer, sender: bool, y: list[int] | None, columns: list[list[int]] | None, P: ECParams,
         coins: PairCoins, variant: str, gt_error: float, explicit: bool, early_stop: bool):
    """Both sides of Algorithm 15; ``y`` on the sender, the receiver's sorted ``columns``."""
    D = P.Delta
    powers = _Powers(P.eps)
    stats = ECStats()
    which_call, exp_call = _explicit_params(P)
    out = ECApprox([], [], [], P.eps, base=None if sender else [], stats=stats)

    for i in range(P.d):
        V = None if sender else [-D, *columns[i], D]  # v_0 .. v_{l+1}
        own_y = y[i] + D + 1 if sender else None

        def compare(T):
            """HIGHPROBGREATERTHAN(y^(i), T, δ'): sign(y^(i) - T) on both sides."""
            if sender:
                value = own_y
            else:
                value = min(max(T, -D - 1), D + 1) + D + 1
            c = yield from high_prob_greater_than(
                party, peer, value, P.b, P.delta_prime, alice=sender, coins=coins, variant=variant,
                gt_error=gt_error, early_stop=early_stop, stats=stats.gt)
            return int(c) if sender else -int(c)

        with party.phase("search"):  # lines 2-4
            lo, hi = 0, P.l
            while lo < hi:
                mid = (lo + hi + 1) >> 1
                c = yield from compare(None if sender else V[mid])
                stats.search += 1
                if c >= 0:
                    lo = mid
                else:
                    hi = mid - 1
            p = lo
            c = yield from compare(None if sender else (V[p] + V[p + 1]) // 2)
            stats.search += 1
            s = p if c <= 0 else p + 1
        with party.phase("equal"):  # lines 5-9
            gamma = yield from compare(None if sender else V[s])
            stats.equal += 1
        m = -1
        if gamma != 0:
            with party.phase("exponent"):  # line 10

                def at_least(q):
                    """Is D = |y^(i) - v_s| >= (1+ε)^q?  (y >= v_s + ceil((1+ε)^q) for γ = +1.)"""
                    c = yield from compare(None if sender else V[s] + gamma * powers.ceil_pow(q))
                    stats.exponent += 1
                    return (c >= 0) if gamma > 0 else (c <= 0)

                lo, hi = 0, P.Q  # (1+ε)^0 = 1 <= D always
                if P.exponent_search == "exponential":  # gallop: q = 1, 3, 7, ... then bisect
                    probe = 1
                    while probe <= P.Q:
                        if (yield from at_least(probe)):
                            lo, probe = probe, 2 * probe + 1
                        else:
                            hi = probe - 1
                            break
                while lo < hi:
                    mid = (lo + hi + 1) >> 1
                    if (yield from at_least(mid)):
                        lo = mid
                    else:
                        hi = mid - 1
                q = lo
                c = yield from compare(None if sender else V[s] + gamma * powers.floor_mid(q))
                stats.exponent += 1
                closer_low = (c <= 0) if gamma > 0 else (c >= 0)
                m = q if closer_low else q + 1
        if explicit:  # Lemma E.3: send i_s, γ and m
            with party.phase("explicit"):
                if sender:
                    party.route(peer, ECWhich(rank=s, gamma=_GAMMA_CODE[gamma]), params=which_call)
                    stats.explicit_bits += P.rank_bits + 2
                    if gamma != 0:
                        party.route(peer, ECExp(m=m), params=exp_call)
                        stats.explicit_bits += P.exp_bits
                else:
                    msg = yield party.recv(ECWhich, src=peer, params=which_call)
                    s, gamma = int(msg.rank), _GAMMA_OF[int(msg.gamma)]
                    stats.explicit_bits += P.rank_bits + 2
                    m = -1
                    if gamma != 0:
                        m = int((yield party.recv(ECExp, src=peer, params=exp_call)).m)
                        stats.explicit_bits += P.exp_bits
        out.rank.append(s)
        out.gamma.append(gamma)
        out.m.append(m)
        if not sender:
            out.base.append(V[s])
    return out


def _check_common(coins, peer, variant):
    if not isinstance(coins, PairCoins) or coins.peer != peer:
        raise ConfigError(f"coins: expected the PairCoins of the pair with {peer!r}, got {coins!r}")
    if variant not in VARIANTS:
        raise ConfigError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")


def efficient_communication_sender(party, peer: str, y: Sequence[int], *, l: int, Delta: int, eps, delta: float,
                                   coins: PairCoins, variant: str = "majority", explicit: bool = True,
                                   gt_error: float = GT_ERROR, early_stop: bool = False, d: int | None = None,
                                   exponent_search: str = "binary"):
    """EFFICIENTCOMMUNICATION (Algorithm 15), the side holding y; ``l`` = |X| of the receiver.

    ``d``, when given, is checked against len(y) (both sides must agree on d and l; a
    mismatch the parties cannot see ends as a deadlock report).
    Returns an :class:`ECApprox` with the ranks, γ and m (not the receiver's values).
    ``variant`` selects HIGHPROBGREATERTHAN's variant ("majority" = Algorithm 14, "hash" =
    the cheap one); ``explicit`` sends (i_s, γ, m) as the paper's Lemma E.3 does;
    ``exponent_search`` is "binary" (Algorithm 15 line 10) or "exponential" (galloping).
    Input is checked before any message is sent.
    """
    if not _ok_delta(Delta):
        ec_params(1, 0, Delta, eps, delta)  # raises the Delta error
    if d is not None and (not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 1):
        raise ConfigError(f"d: must be an integer >= 1, got {d!r}")
    yv = _check_point(y, d, int(Delta), "y")
    P = ec_params(len(yv), l, Delta, eps, delta, exponent_search)
    _check_common(coins, peer, variant)
    return (yield from _run(party, peer, True, yv, None, P, coins, variant, gt_error, explicit, early_stop))


def efficient_communication_receiver(party, peer: str, X, *, Delta: int, eps, delta: float, coins: PairCoins,
                                     variant: str = "majority", explicit: bool = True, gt_error: float = GT_ERROR,
                                     early_stop: bool = False, d: int | None = None,
                                     exponent_search: str = "binary"):
    """EFFICIENTCOMMUNICATION (Algorithm 15), the side holding X (l points in [-Δ, Δ]^d).

    Returns an :class:`ECApprox` whose ``y_tilde()`` is ỹ. ``d`` is needed only when X is
    empty (l = 0). Input is checked before any message is sent.
    """
    if not _ok_delta(Delta):
        ec_params(1, 0, Delta, eps, delta)  # raises the Delta error
    rows = [list(r) for r in X]
    if d is None:
        if not rows:
            raise ConfigError("X: is empty; pass d so that the receiver knows the dimension")
        d = len(rows[0])
    pts = [_check_point(r, d, int(Delta), f"X[{j}]") for j, r in enumerate(rows)]
    P = ec_params(d, len(pts), Delta, eps, delta, exponent_search)
    _check_common(coins, peer, variant)
    columns = [sorted(col) for col in zip(*pts)] if pts else [[] for _ in range(d)]
    return (yield from _run(party, peer, False, None, columns, P, coins, variant, gt_error, explicit, early_stop))


def _ok_delta(Delta) -> bool:
    return isinstance(Delta, (int, np.integer)) and not isinstance(Delta, bool) and Delta >= 1
