"""Batched GREATERTHAN / HIGHPROBGREATERTHAN / EFFICIENTCOMMUNICATION (Algorithms 14-15, run
side by side inside Algorithm 16): same outcomes and the same information bits as the
sequential primitives, exact per-comparison bits, accuracy within δ, bad input.

Statistical tests use fixed seeds and bound failure counts by ``max_failures(n, δ, α)`` (the
count a protocol failing with probability exactly δ exceeds with probability < α), so a
correct implementation fails in fewer than 1 of 10^4 seeds.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binom

from protocols.primitives.ec_batch import (
    _Thresholds,
    ec_batch_params,
    ec_batch_receiver,
    ec_batch_sender,
    gt_batch,
)
from protocols.primitives.efficient_communication import (
    _Powers,
    ec_params,
    efficient_communication_receiver,
    efficient_communication_sender,
)
from protocols.primitives.greater_than import (
    SEED_BITS,
    GTStats,
    gt_hash_bits,
    pair_coins,
)
from protosim import ConfigError, CoordinatorModel, Simulation

ALPHA = 1e-4


def max_failures(n: int, p: float, alpha: float = ALPHA) -> int:
    return int(binom.isf(alpha, n, p))


def run_pair(sender, receiver, seed=0):
    sim = Simulation(CoordinatorModel(), [np.zeros((1, 1))], seed=seed)
    snd = sim.spawn(sim.sites[0], sender)
    res = sim.run(sim.spawn(sim.coordinator, receiver))
    return res, res.output, snd.value


def run_ec(X, Y, *, batched: bool, seed=3, **kw):
    """site0 sends the rows of Y to the coordinator, which holds X."""

    def sender(p):
        coins = yield from pair_coins(p, "coord", leader=True)
        if batched:
            return (yield from ec_batch_sender(p, "coord", Y, l=len(X), coins=coins, **kw))
        out = []
        for y in Y:
            out.append((yield from efficient_communication_sender(p, "coord", [int(v) for v in y], l=len(X),
                                                                  coins=coins, **kw)))
        return out

    def receiver(p):
        coins = yield from pair_coins(p, "site0", leader=False)
        if batched:
            return (yield from ec_batch_receiver(p, "site0", X, len(Y), coins=coins, **kw))
        out = []
        for _ in Y:
            out.append((yield from efficient_communication_receiver(p, "site0", [[int(v) for v in x] for x in X],
                                                                    coins=coins, **kw)))
        return out

    return run_pair(sender, receiver, seed)


def points(seed, Delta=2**20, l=13, n=9, d=3):
    rng = np.random.default_rng(seed)
    X = rng.integers(-Delta, Delta + 1, size=(l, d))
    Y = rng.integers(-Delta, Delta + 1, size=(n, d))
    Y[0] = X[2]  # exactly a point of X: γ = 0 everywhere
    Y[1] = X[3] + 2  # next to one
    Y[2, 0] = Delta  # a sentinel value
    return X, Y


@pytest.mark.parametrize("kw", [
    dict(variant="hash", explicit=True),
    dict(variant="hash", explicit=False, exponent_search="exponential"),
])
def test_batched_equals_sequential_bit_for_bit(kw):
    """With the cheap HIGHPROBGREATERTHAN at δ = 10^-3 no hash collides on these inputs, so every
    comparison takes the same GREATERTHAN steps batched or alone: identical ranks, γ, m, ỹ and
    identical information bits; the batched run needs ~20x fewer messages and rounds."""
    X, Y = points(1)
    args = dict(Delta=2**20, eps=0.1, delta=1e-3, **kw)
    bat, out, snd = run_ec(X, Y, batched=True, **args)
    seq, outs, _ = run_ec(X, Y, batched=False, **args)
    for i, o in enumerate(outs):
        assert np.array_equal(out.rank[i], o.rank) and np.array_equal(out.gamma[i], o.gamma)
        assert np.array_equal(out.m[i], o.m)
        np.testing.assert_allclose(out.y_tilde[i], o.to_array(), rtol=1e-12)
    assert np.array_equal(out.rank, snd.rank) and np.array_equal(out.gamma, snd.gamma) and np.array_equal(out.m, snd.m)
    assert bat.bits == seq.bits
    assert bat.bits == SEED_BITS + out.stats["bits"]
    assert sum(o.stats.comparisons for o in outs) == out.stats["comparisons"]
    assert bat.messages * 10 < seq.messages and bat.rounds * 10 < seq.rounds
    print(f"EC batched {kw}: {bat.bits} bits both ways; messages {bat.messages} vs {seq.messages}, "
          f"rounds {bat.rounds} vs {seq.rounds}")


def test_batched_majority_variant_same_outcomes():
    """Algorithm 14's vote inside the batch: the same outcomes as the sequential protocol (the
    low-t runs collide now and then, so the step counts and bits differ slightly)."""
    X, Y = points(2, Delta=2**12, l=6, n=4, d=2)
    args = dict(Delta=2**12, eps=0.25, delta=0.05, variant="majority")
    bat, out, _ = run_ec(X, Y, batched=True, **args)
    seq, outs, _ = run_ec(X, Y, batched=False, **args)
    for i, o in enumerate(outs):
        assert np.array_equal(out.rank[i], o.rank) and np.array_equal(out.gamma[i], o.gamma)
        assert np.array_equal(out.m[i], o.m)
    assert abs(bat.bits - seq.bits) <= 0.02 * seq.bits
    print(f"EC batched majority: {bat.bits} bits, sequential {seq.bits}")


def test_gt_batch_exact_bits_per_comparison():
    """Every comparison pays steps·(t+1) + 2·[l < b], whatever else runs beside it."""
    b, t, M = 20, 12, 300
    rng = np.random.default_rng(4)
    x = rng.integers(0, 2**b, size=M, dtype=np.uint64)
    y = x.copy()
    y[: M // 2] = rng.integers(0, 2**b, size=M // 2, dtype=np.uint64)
    y[M // 2: M // 2 + 50] ^= np.uint64(1)  # differ only in the last bit
    stats = GTStats()

    def alice(p):
        coins = yield from pair_coins(p, "site0", leader=True)
        return (yield from gt_batch(p, "site0", x, b, t, alice=True, coins=coins, stats=stats))

    def bob(p):
        coins = yield from pair_coins(p, "coord", leader=False)
        return (yield from gt_batch(p, "coord", y, b, t, alice=False, coins=coins))

    res, a, bo = run_pair(bob, alice)
    truth = np.sign(x.astype(np.int64) - y.astype(np.int64))
    assert np.array_equal(a, truth) and np.array_equal(bo, -truth)
    finals = stats.attempts - int((truth == 0).sum())
    assert stats.bits == stats.steps * (t + 1) + 2 * finals
    assert res.bits == SEED_BITS + stats.bits
    by = res.by_type
    assert by["GTHashes"]["bits"] == t * stats.steps and by["GTEquals"]["bits"] == stats.steps
    assert by["GTBits"]["bits"] == 2 * finals
    assert stats.steps <= math.ceil(math.log2(b + 1)) * stats.attempts


def test_thresholds_are_exact():
    """The float thresholds with exact fallback equal ceil((1+ε)^q) and floor of the midpoint in
    exact rationals, for every q up to Q (ε = 0.00043 and 1/2)."""
    for eps, Q in ((Fraction("0.00043"), 3000), (Fraction(1, 2), 60)):
        th, ex = _Thresholds(eps), _Powers(eps)
        q = np.arange(Q + 1)
        assert th.ceil_pow(q).tolist() == [ex.ceil_pow(int(v)) for v in q]
        assert th.floor_mid(q).tolist() == [ex.floor_mid(int(v)) for v in q]


def test_batch_params_match_the_sequential_ones():
    for args in ((3, 13, 2**20, 0.1, 1e-3), (64, 200, 31, 0.00043, 1e-7), (8, 0, 5, 0.5, 0.2)):
        assert ec_batch_params(*args) == ec_params(*args)
        assert ec_batch_params(*args, "exponential") == ec_params(*args, "exponential")


def test_batched_accuracy_within_delta():
    """Lemma E.2 for the batched protocol: ||y - ỹ|| <= ε·min_x ||x - y|| fails with frequency
    <= δ (checked in exact rationals), on 400 points of four kinds at once."""
    Delta, eps, delta = 2**16, Fraction(1, 10), 0.05
    rng = np.random.default_rng(11)
    X = rng.integers(-Delta, Delta + 1, size=(16, 2))
    fam = [rng.integers(-Delta, Delta + 1, size=(100, 2)), X[rng.integers(16, size=100)],
           np.clip(X[rng.integers(16, size=100)] + rng.integers(-3, 4, size=(100, 2)), -Delta, Delta),
           rng.choice([-Delta, Delta], size=(100, 2))]
    Y = np.concatenate(fam)
    res, out, _ = run_ec(X, Y, batched=True, Delta=Delta, eps=eps, delta=delta)
    bad = 0
    for y, r, g, m in zip(Y, out.rank, out.gamma, out.m):
        V = [sorted([-Delta, *X[:, i].tolist(), Delta]) for i in range(2)]
        yt = [Fraction(V[i][r[i]]) + (g[i] * (1 + eps) ** int(m[i]) if g[i] else 0) for i in range(2)]
        err = sum((Fraction(int(a)) - b) ** 2 for a, b in zip(y, yt))
        best = min(sum((int(a) - int(b)) ** 2 for a, b in zip(y, x)) for x in X)
        bad += err > eps**2 * best
    print(f"batched EC: {bad}/{len(Y)} violate Lemma E.2 at δ = {delta}; {res.bits / len(Y):.0f} bits per point")
    assert bad <= max_failures(len(Y), delta)


@pytest.mark.parametrize("bad,match", [
    (dict(Y=np.array([[2**20 + 1, 0]])), r"y\[0\]\[0\]"),
    (dict(Y=np.array([[1.5, 0.0]])), "integers"),
    (dict(Delta=2**62), "Delta"),
    (dict(eps=0), "eps"),
])
def test_batched_bad_input_before_any_message(bad, match):
    args = dict(Y=np.array([[3, -4]]), Delta=2**20, eps=0.1)
    args.update(bad)

    def sender(p):
        coins = yield from pair_coins(p, "coord", leader=True)
        return (yield from ec_batch_sender(p, "coord", args["Y"], l=2, Delta=args["Delta"], eps=args["eps"],
                                           delta=0.05, coins=coins))

    sim = Simulation(CoordinatorModel(), [np.zeros((1, 1))], seed=0)
    sim.spawn(sim.coordinator, lambda p: (yield from pair_coins(p, "site0", leader=False)))
    with pytest.raises(ConfigError, match=match):
        sim.run(sim.spawn(sim.sites[0], sender))
    assert [e for e in sim.ledger.events if e[0] == "msg" and e[5] != "PairSeed"] == []


def test_hash_bits_grow_with_log_one_over_delta():
    # the t that Algorithm 16 uses at its δ' (for the budget's log2(1/δ') factor)
    assert gt_hash_bits(7, 1e-9) == math.ceil(math.log2(3 / 1e-9))
