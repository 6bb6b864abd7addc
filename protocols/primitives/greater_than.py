"""GREATERTHAN (Theorem B.8, after Nisan 1993) and HIGHPROBGREATERTHAN (Algorithm 14).

Paper: Cohen-Addad, Wang, Woodruff, Zhou, "Distributed Algorithms for Euclidean Clustering",
Theorem B.8 (l.408), Algorithm 14 and Lemma E.1 (l.1059-1115). Implementer notes:
shared/notes/primitives.md §1.3-1.7.

Both are real two-party sub-protocols between any two parties that may talk (the
coordinator and a site, two nodes of a graph, ...). Messages go by ``party.route``: a
direct message where the model has a channel, every hop charged on a graph. Each side runs the same generator with
its own value and ``alice=True`` on exactly one side, composed with ``yield from``::

    coins = yield from pair_coins(coord, "site3", leader=True)          # once per pair
    c = yield from greater_than(coord, "site3", x, b, alice=True, coins=coins)
    # site3 runs: coins = yield from pair_coins(site, "coord", leader=False)
    #             c = yield from greater_than(site, "coord", y, b, alice=False, coins=coins)

The result is a :class:`Cmp` seen from the caller: ``Cmp.GT`` means "my value is greater
than the peer's". Both sides always return the same comparison (negated for Bob).

GREATERTHAN (Protocol A of the notes, §1.4): the two b-bit integers, written MSB first,
have a longest common prefix of length l* in {0..b}. A binary search keeps
l* in [lo, hi] (start [0, b]); each step tests whether the prefixes of length
mid = ceil((lo+hi)/2) agree: Alice sends t GF(2) parities <x[1..mid], r_j> (r_j fresh
public-coin masks), Bob answers one bit "equal". After at most S = ceil(log2(b+1)) steps
l = lo. If l = b the numbers are equal; otherwise the parties exchange bit l+1 (one bit
each way) and both read off the answer. Bits: (steps)·(t+1) + 2·[l < b].

Errors are one-sided: equal prefixes always agree; an unequal prefix passes a step with
probability exactly 2^-t. The error of one run is therefore <= S·2^-t (union bound over
the steps), and t = ceil(log2(S/δ)) gives error <= δ (:func:`gt_hash_bits`).

Choice where the paper is silent (documented in docs/protocols/euclidean-coordinator.md):
when a hash collision made the search overshoot (l > l*), the exchanged bits l+1 may
agree. Both parties then *know* the run failed; they restart with fresh coins (paying
again). This never increases the error (a detected failure is retried instead of
guessed) and the restart count is reported in :class:`GTStats`.

Public coins (DESIGN.md, notes §0.3): the masks come from a :class:`PairCoins` stream
shared by the pair. Under a model that declares public coins it is
``party.public_coins(key)`` and costs nothing; otherwise the leader draws a 64-bit seed
from its private RNG and sends it (``PairSeed``, 64 bits, charged once per pair), and
both sides expand it with PCG64. That is pseudorandomness from a short seed, not
information-theoretic public coins (Newman's theorem would charge O(log b + log 1/δ)
bits instead; notes §1.6).

HIGHPROBGREATERTHAN comes in two variants, both selectable and both measured:

- ``"majority"`` (Algorithm 14 as written): N = ceil(ln(2/δ) / (1/2 - p)^2) independent
  runs of GREATERTHAN with per-run error p (default 1/32, i.e. t = ceil(log2(32S)), the
  cheapest p measured, see GT_ERROR) and a
  majority vote. N is the paper's own Hoeffding constant (Lemma E.1 writes
  2·exp(-(N/2 - Np)^2 / N) = δ; the textbook constant would halve N, notes §7.5).
- ``"hash"`` (the cheap variant): one run with t = ceil(log2(S/δ)) hash bits per step;
  error <= S·2^-t <= δ by the union bound above.

Algorithm 14 returns the boolean "x > y". Here the vote is over the three outcomes and the
outcome with more than N/2 votes is returned, so ``result is Cmp.GT`` is exactly
Algorithm 14's True whenever some outcome has a majority; when none has (possible only
when runs err) the plurality is returned, ties broken toward "=", then "<".
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from protosim import Bool, ConfigError, UInt, message

__all__ = [
    "GT_ERROR",
    "MAX_HASH_BITS",
    "SEED_BITS",
    "Cmp",
    "GTBit",
    "GTEqual",
    "GTHash",
    "GTStats",
    "PairCoins",
    "PairSeed",
    "greater_than",
    "greater_than_alice",
    "greater_than_bob",
    "gt_hash_bits",
    "gt_message_bits",
    "hash_steps",
    "high_prob_greater_than",
    "high_prob_greater_than_alice",
    "high_prob_greater_than_bob",
    "majority_runs",
    "pair_coins",
]

MAX_HASH_BITS = 64
"""Largest t (hash bits per step). t = 64 already means error S·2^-64 per run."""

SEED_BITS = 64
"""Bits of the per-pair seed sent under private coins (a PCG64 seed)."""

GT_ERROR = 1 / 32
"""Default per-run error p of the runs Algorithm 14 votes over (the paper leaves p open).
Measured bits per call at δ = 0.01 (b = 64 / 1024): p = 1/64 1,426 / 2,587; 1/32 1,403 /
2,581; 1/16 1,418 / 2,604; 1/8 1,703 / 3,157; 1/4 3,357 / 6,343; 1/3 7,564 / 14,256 —
1/32 is the cheapest: N·(bits per run) with N = ln(2/δ)/(1/2-p)^2, t = ceil(log2(S/p))."""


class Cmp(IntEnum):
    """A comparison seen from the caller: sign(mine - theirs)."""

    LT = -1
    EQ = 0
    GT = 1

    def __str__(self) -> str:
        return "<=>"[self.value + 1]

    def flip(self) -> Cmp:
        return Cmp(-self.value)


# -- messages ---------------------------------------------------------------------------------


@message
class PairSeed:
    """The leader's 64-bit seed for the pair's shared coins (private-coin models only)."""

    seed: UInt(SEED_BITS)


@message
class GTEqual:
    """Bob's answer to one prefix test: do the t parities agree."""

    equal: Bool()


@message
class GTBit:
    """Bit l+1 of the sender's number, exchanged once after the search (one each way)."""

    bit: Bool()


@message
class GTHash:
    """Alice's t parity bits for one prefix test. t is a call parameter (``gt_t``): both
    sides know it from the call's public arguments, so the field costs exactly t bits."""

    h: UInt("gt_t")


def _t_params(t: int) -> dict:
    """The call parameters of a GTHash exchange (``gt_t``; prefixed so it never meets a run parameter)."""
    return {"gt_t": t}


# -- parameters -------------------------------------------------------------------------------


def hash_steps(b: int) -> int:
    """S = ceil(log2(b+1)): the most binary-search steps on b-bit numbers (= b.bit_length())."""
    _check_b(b)
    return int(b).bit_length()


def gt_hash_bits(b: int, delta: float) -> int:
    """t = ceil(log2(S/δ)): hash bits per step for error <= S·2^-t <= δ (at least 1)."""
    _check_prob(delta, "delta")
    t = max(1, math.ceil(math.log2(hash_steps(b) / delta) - 1e-12))
    if t > MAX_HASH_BITS:
        raise ConfigError(f"delta: {delta!r} needs t = {t} hash bits per step, above the maximum {MAX_HASH_BITS}")
    return t


def majority_runs(delta: float, p: float) -> int:
    """N for Algorithm 14: the paper's Hoeffding form 2·exp(-N(1/2-p)^2) <= δ (Lemma E.1)."""
    _check_prob(delta, "delta")
    if not (isinstance(p, (int, float)) and 0 < p < 0.5):
        raise ConfigError(f"gt_error: the per-run error p must be in (0, 1/2), got {p!r}")
    return max(1, math.ceil(math.log(2 / delta) / (0.5 - p) ** 2))


def gt_message_bits(b: int, t: int, steps: int, final: bool) -> int:
    """Information bits of one GREATERTHAN attempt with ``steps`` steps (both directions)."""
    return steps * (t + 1) + (2 if final else 0)


def _check_b(b) -> None:
    if not isinstance(b, (int, np.integer)) or isinstance(b, bool) or b < 1:
        raise ConfigError(f"b: the bit length must be an integer >= 1, got {b!r}")


def _check_prob(x, name: str) -> None:
    if not (isinstance(x, (int, float, np.floating)) and not isinstance(x, bool) and 0 < x < 1):
        raise ConfigError(f"{name}: must be a probability in (0, 1), got {x!r}")


def _check_value(value, b: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"value: GREATERTHAN compares integers, got {value!r}")
    v = int(value)
    if v < 0 or v.bit_length() > b:
        raise ConfigError(f"value: {v if v.bit_length() <= 128 else f'<{v.bit_length()}-bit integer>'} "
                          f"is not a {b}-bit unsigned integer")
    return v


# -- per-pair shared coins --------------------------------------------------------------------


@dataclass
class PairCoins:
    """The shared random stream of one pair (explicit per-pair state; pass it to every call).

    ``source`` is ``"public"`` (the model's public coins, free) or ``"seed"`` (a 64-bit seed
    sent once by the leader). Both parties draw from ``rng`` in the same order because
    every draw depends only on state both know (the step's prefix length and t).
    """

    peer: str
    rng: np.random.Generator
    source: str
    seed_bits: int

    def masks(self, length: int, t: int) -> list[int]:
        """t fresh uniform masks in {0,1}^length, as ints (MSB = first prefix bit)."""
        nbytes = (length + 7) >> 3
        raw = self.rng.bytes(nbytes * t)
        shift = 8 * nbytes - length
        return [int.from_bytes(raw[j * nbytes:(j + 1) * nbytes], "big") >> shift for j in range(t)]


_SESSIONS: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()


def pair_coins(party, peer: str, *, leader: bool, label: str = "pair"):
    """Establish the shared coins of the pair (party, peer); run it on both sides.

    Under public coins both sides derive the stream from ``party.public_coins(key)`` with
    a key naming the pair, the label and a per-pair session counter (so two sessions of
    one pair never reuse masks). Otherwise the ``leader`` draws a 64-bit seed from its
    private RNG and sends it in a :class:`PairSeed` (phase ``pair_seed``); the other side
    receives it. Returns a :class:`PairCoins`.
    """
    if not isinstance(peer, str) or peer == party.name:
        raise ConfigError(f"peer: must name another party, got {peer!r}")
    if party.model.public_coins:
        sessions = _SESSIONS.setdefault(party.sim, {})
        pair = (label, *sorted((party.name, peer)))
        n = sessions.get((party.name, pair), 0)
        sessions[(party.name, pair)] = n + 1
        return PairCoins(peer, party.public_coins(("pair_coins", *pair, n)), "public", 0)
    if leader:
        seed = int(party.rng.integers(0, 2**SEED_BITS, dtype=np.uint64))
        with party.phase("pair_seed"):
            party.route(peer, PairSeed(seed=seed))
    else:
        seed = int((yield party.recv(PairSeed, src=peer)).seed)
    return PairCoins(peer, np.random.Generator(np.random.PCG64(seed)), "seed", SEED_BITS)


# -- GREATERTHAN --------------------------------------------------------------------------------


@dataclass
class GTStats:
    """What GREATERTHAN runs cost, counted by the protocol itself (the ledger must agree).

    ``bits`` counts both directions: t per hash message, 1 per answer, 2 for the final
    bit exchange. ``attempts - runs`` is the number of detected-collision restarts.
    """

    runs: int = 0
    attempts: int = 0
    steps: int = 0
    bits: int = 0
    messages: int = 0
    calls: int = 0  # HIGHPROBGREATERTHAN calls
    per_call_bits: list = field(default_factory=list)

    def add(self, other: GTStats) -> None:
        self.runs += other.runs
        self.attempts += other.attempts
        self.steps += other.steps
        self.bits += other.bits
        self.messages += other.messages
        self.calls += other.calls
        self.per_call_bits.extend(other.per_call_bits)


_MAX_ATTEMPTS = 1000


def greater_than(party, peer: str, value: int, b: int, *, alice: bool, coins: PairCoins,
                 t: int | None = None, delta: float = 1 / 3, stats: GTStats | None = None):
    """GREATERTHAN (Theorem B.8): compare my b-bit ``value`` with the peer's; returns a Cmp.

    ``t`` hash bits per step; default ``gt_hash_bits(b, delta)`` with δ = 1/3, the
    constant-error protocol of Theorem B.8 (t = O(log log b), bits O(log b · log log b)).
    Exactly one side passes ``alice=True`` (it sends the hashes). ``value`` must be an
    integer in [0, 2^b); b may be anything >= 1 (Python ints, so 4096 bits and beyond).
    """
    _check_b(b)
    b = int(b)
    x = _check_value(value, b)
    if t is None:
        t = gt_hash_bits(b, delta)
    if not isinstance(t, (int, np.integer)) or isinstance(t, bool) or not 1 <= t <= MAX_HASH_BITS:
        raise ConfigError(f"t: hash bits per step must be an integer in [1, {MAX_HASH_BITS}], got {t!r}")
    if not isinstance(coins, PairCoins) or coins.peer != peer:
        raise ConfigError(f"coins: expected the PairCoins of the pair with {peer!r}, got {coins!r}")
    t = int(t)
    call = _t_params(t)
    s = stats if stats is not None else GTStats()
    s.runs += 1
    for _ in range(_MAX_ATTEMPTS):
        s.attempts += 1
        lo, hi = 0, b
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            prefix = x >> (b - mid)
            h = 0
            for r in coins.masks(mid, t):
                h = (h << 1) | ((prefix & r).bit_count() & 1)
            if alice:
                party.route(peer, GTHash(h=h), params=call)
                equal = (yield party.recv(GTEqual, src=peer)).equal
            else:
                theirs = (yield party.recv(GTHash, src=peer, params=call)).h
                equal = int(theirs) == h
                party.route(peer, GTEqual(equal=equal))
            s.steps += 1
            s.bits += t + 1
            s.messages += 2
            if equal:
                lo = mid
            else:
                hi = mid - 1
        if lo == b:
            return Cmp.EQ
        mine = (x >> (b - lo - 1)) & 1
        if alice:
            party.route(peer, GTBit(bit=bool(mine)))
            theirs = int((yield party.recv(GTBit, src=peer)).bit)
        else:
            theirs = int((yield party.recv(GTBit, src=peer)).bit)
            party.route(peer, GTBit(bit=bool(mine)))
        s.bits += 2
        s.messages += 2
        if mine != theirs:
            return Cmp.GT if mine > theirs else Cmp.LT
        # Bits l+1 agree: a collision made the search overshoot; both know it; retry.
    raise RuntimeError(f"{party.name}: GREATERTHAN with {peer} failed {_MAX_ATTEMPTS} times in a row")


def greater_than_alice(party, peer, x, b, t=None, *, coins, **kw):
    """GREATERTHAN, the side that sends the hashes (see :func:`greater_than`)."""
    return (yield from greater_than(party, peer, x, b, alice=True, coins=coins, t=t, **kw))


def greater_than_bob(party, peer, y, b, t=None, *, coins, **kw):
    """GREATERTHAN, the side that answers (see :func:`greater_than`)."""
    return (yield from greater_than(party, peer, y, b, alice=False, coins=coins, t=t, **kw))


# -- HIGHPROBGREATERTHAN (Algorithm 14) -------------------------------------------------------

VARIANTS = ("majority", "hash")


def high_prob_greater_than(party, peer: str, value: int, b: int, delta: float, *, alice: bool,
                           coins: PairCoins, variant: str = "majority", gt_error: float = GT_ERROR,
                           early_stop: bool = False, t: int | None = None, stats: GTStats | None = None):
    """HIGHPROBGREATERTHAN(x, y, δ) (Algorithm 14, Lemma E.1): a Cmp that errs w.p. <= δ.

    ``variant="majority"`` is Algorithm 14: N = :func:`majority_runs`(δ, gt_error) runs
    of GREATERTHAN at per-run error ``gt_error`` (t = ceil(log2(S/gt_error))) and a
    majority vote over the outcomes. ``early_stop=True`` (not in the paper) stops as soon
    as one outcome has more than N/2 votes, which the remaining runs cannot change; both
    sides see every vote, so stopping costs no message. ``t`` overrides the runs' hash bits
    (majority only; for experiments with a deliberately weak base, whose per-run error the
    caller then vouches is <= ``gt_error``). ``variant="hash"`` is one run with
    t = ceil(log2(S/δ)) hash bits. ``stats`` accumulates the cost.
    """
    _check_b(b)
    _check_prob(delta, "delta")
    if variant not in VARIANTS:
        raise ConfigError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    own = GTStats(calls=1)
    if variant == "hash":
        if t is not None:
            raise ConfigError("t: the hash variant sets t = ceil(log2(S/delta)) itself; t overrides the majority variant only")
        result = yield from greater_than(party, peer, value, b, alice=alice, coins=coins,
                                         t=gt_hash_bits(b, delta), stats=own)
    else:
        N = majority_runs(delta, gt_error)
        if t is None:
            t = gt_hash_bits(b, gt_error)
        votes = {Cmp.EQ: 0, Cmp.LT: 0, Cmp.GT: 0}
        for _ in range(N):
            c = yield from greater_than(party, peer, value, b, alice=alice, coins=coins, t=t, stats=own)
            votes[c] += 1
            if early_stop and votes[c] > N / 2:
                break
        result = max(votes, key=lambda c: votes[c])  # dict order: EQ, LT, GT break ties
    own.per_call_bits.append(own.bits)
    if stats is not None:
        stats.add(own)
    return result


def high_prob_greater_than_alice(party, peer, x, b, delta, *, coins, **kw):
    """HIGHPROBGREATERTHAN, the hashing side (see :func:`high_prob_greater_than`)."""
    return (yield from high_prob_greater_than(party, peer, x, b, delta, alice=True, coins=coins, **kw))


def high_prob_greater_than_bob(party, peer, y, b, delta, *, coins, **kw):
    """HIGHPROBGREATERTHAN, the answering side (see :func:`high_prob_greater_than`)."""
    return (yield from high_prob_greater_than(party, peer, y, b, delta, alice=False, coins=coins, **kw))
