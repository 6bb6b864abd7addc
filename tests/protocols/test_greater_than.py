"""GREATERTHAN (Theorem B.8) and HIGHPROBGREATERTHAN (Algorithm 14): answers, error rates, bits.

Statistical tests use fixed seeds. Each bounds a failure count by ``max_failures(n, p, α)``:
the count that a protocol whose true failure rate is exactly the claimed p exceeds with
probability < α (binomial upper tail). A test with k such assertions uses α = 1e-4/k, so a
correct protocol fails a test in < 1 of 10^4 seeds, and one clearly worse than its claim
fails it. Where the error is known exactly (the worst pairs), a two-sided binomial test
checks the measured count against it.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from scipy.stats import binom

from protocols.primitives.greater_than import (
    GT_ERROR,
    SEED_BITS,
    Cmp,
    GTStats,
    greater_than,
    gt_hash_bits,
    hash_steps,
    high_prob_greater_than,
    majority_runs,
    pair_coins,
)
from protosim import ConfigError, CoordinatorModel, GraphModel, Simulation, fit_exponent

ALPHA = 1e-4


def max_failures(n: int, p: float, alpha: float = ALPHA) -> int:
    """The smallest k with P(Binomial(n, p) > k) <= alpha."""
    return int(binom.isf(alpha, n, p))


def binomial_range(n: int, p: float, alpha: float = ALPHA) -> tuple[int, int]:
    """Counts [lo, hi] that Binomial(n, p) leaves with probability < alpha (two-sided)."""
    return int(binom.ppf(alpha / 2, n, p)), int(binom.isf(alpha / 2, n, p))


def worst_pair_error(b: int, t: int) -> float:
    """Exact error of one GREATERTHAN run on a "worst" pair (LCP 0, then 1 0...0 against 0 1...1).

    The search tests prefixes of length ceil(b/2), ceil(b/4)-ish ... 1, all unequal; any false
    "equal" makes the final bits differ with the wrong sign (never detected), so the error is
    1 - (1 - 2^-t)^k with k the number of those tests.
    """
    k, hi = 0, b
    while hi > 0:
        hi = (hi + 1) // 2 - 1
        k += 1
    return 1 - (1 - 2.0**-t) ** k


def rand_bits(rng, b: int) -> int:
    nbytes = (b + 7) // 8
    return int.from_bytes(rng.bytes(nbytes), "big") >> (8 * nbytes - b)


def make_pairs(family: str, b: int, n: int, seed: int):
    """Input pairs: independent, equal, differing only in the last bit, or with a uniform LCP."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n):
        x = rand_bits(rng, b)
        if family == "random":
            y = rand_bits(rng, b)
        elif family == "equal":
            y = x
        elif family == "last_bit":
            y = x ^ 1
        elif family in ("adversarial", "worst"):
            # After the common prefix, x continues 1 0...0 and y 0 1...1 (or the reverse): every
            # overshoot of the LCP search lands on differing bits of the wrong sign, so a hash
            # collision is never detected. "worst" has LCP 0 (the most unequal tests).
            lcp = 0 if family == "worst" else int(rng.integers(0, b))
            low = b - lcp - 1
            prefix = (x >> (b - lcp)) if lcp else 0
            hi_, lo_ = ((prefix << 1 | 1) << low), ((prefix << 1) << low) | ((1 << low) - 1)
            x, y = (hi_, lo_) if rng.integers(2) else (lo_, hi_)
        elif family == "random_lcp":  # LCP length uniform in {0..b}
            lcp = int(rng.integers(0, b + 1))
            if lcp == b:
                y = x
            else:
                low = b - lcp - 1  # bits below the first differing one
                y = (((x >> low) ^ 1) << low) | (rand_bits(rng, low) if low else 0)
        else:
            raise ValueError(family)
        xs.append(x)
        ys.append(y)
    return xs, ys


def truth(x: int, y: int) -> int:
    return (x > y) - (x < y)


def run_pair(alice_role, bob_role, *, seed: int = 0, model=None, parts=None):
    """Run two roles on the coordinator ("coord", Alice) and site0 (Bob); returns (result, bob's value)."""
    model = model or CoordinatorModel()
    sim = Simulation(model, parts or [np.zeros((1, 1))], seed=seed)
    bob = sim.spawn(sim.sites[0], bob_role)
    res = sim.run(sim.spawn(sim.coordinator, alice_role))
    return res, bob.value


def run_gt(xs, ys, b, *, seed=0, model=None, high_prob=None, **kw):
    """Compare xs[i] (coord) with ys[i] (site0) in one run; returns (result, alice out, bob out, stats, per-call bits)."""
    stats = GTStats()
    per_call = []

    def call(p, peer, v, alice, coins, st):
        if high_prob is None:
            return (yield from greater_than(p, peer, v, b, alice=alice, coins=coins, stats=st, **kw))
        return (yield from high_prob_greater_than(p, peer, v, b, high_prob, alice=alice, coins=coins, stats=st, **kw))

    def alice(p):
        coins = yield from pair_coins(p, "site0", leader=True)
        out = []
        for x in xs:
            before = stats.bits
            out.append((yield from call(p, "site0", x, True, coins, stats)))
            per_call.append(stats.bits - before)
        return out

    def bob(p):
        coins = yield from pair_coins(p, "coord", leader=False)
        out = []
        for y in ys:
            out.append((yield from call(p, "coord", y, False, coins, None)))
        return out

    res, bob_out = run_pair(alice, bob, seed=seed, model=model)
    return res, res.output, bob_out, stats, per_call


# -- GREATERTHAN: answers and exact bits ------------------------------------------------------


def test_gt_answers_and_exact_bits():
    b = 8
    xs = [0, 255, 7, 200, 128, 5]
    ys = [0, 0, 7, 201, 127, 250]
    res, a, bo, stats, per_call = run_gt(xs, ys, b, seed=3, t=gt_hash_bits(b, 1e-6))
    assert [int(c) for c in a] == [truth(x, y) for x, y in zip(xs, ys)]
    assert [int(c) for c in bo] == [-truth(x, y) for x, y in zip(xs, ys)]  # Bob sees sign(y - x)
    assert [str(c) for c in a] == ["=", ">", "=", "<", ">", "<"]
    t = gt_hash_bits(b, 1e-6)
    # Every message is charged: the seed once, then t bits per hash, 1 per answer, 1+1 at the end.
    assert res.bits == SEED_BITS + stats.bits
    assert stats.bits == stats.steps * (t + 1) + 2 * (stats.attempts - sum(c == Cmp.EQ for c in a))
    by_type = res.by_type
    assert by_type["PairSeed"]["bits"] == SEED_BITS and by_type["PairSeed"]["messages"] == 1
    assert by_type["GTHash"]["bits"] == t * stats.steps and by_type["GTHash"]["messages"] == stats.steps
    assert by_type["GTEqual"]["bits"] == stats.steps
    assert res.messages == 1 + stats.messages
    # at most S = ceil(log2(b+1)) steps per attempt
    assert stats.steps <= hash_steps(b) * stats.attempts
    assert hash_steps(8) == 4 and hash_steps(16) == 5 and hash_steps(4096) == 13


def test_gt_hash_width_is_a_call_parameter_checked_at_the_receiver():
    """GTHash is one message class; its width t travels as the call parameter ``gt_t``. A pair
    that disagrees on t (a bug: both must derive it from the same public arguments) is a
    CodecError at the receiver, never a silent misreading of the bits."""
    from protosim import CodecError

    def alice(p):
        coins = yield from pair_coins(p, "site0", leader=True)
        return (yield from greater_than(p, "site0", 5, 8, alice=True, coins=coins, t=5))

    def bob(p):
        coins = yield from pair_coins(p, "coord", leader=False)
        return (yield from greater_than(p, "coord", 9, 8, alice=False, coins=coins, t=6))

    sim = Simulation(CoordinatorModel(), [np.zeros((1, 1))], seed=0)
    sim.spawn(sim.sites[0], bob)
    with pytest.raises(CodecError, match="gt_t"):
        sim.run(sim.spawn(sim.coordinator, alice))


@pytest.mark.parametrize("b", [1, 3, 8192, 10_000])
def test_gt_any_bit_length(b):
    xs, ys = make_pairs("random_lcp", b, 12, seed=b)
    xs += [0, (1 << b) - 1]
    ys += [(1 << b) - 1, (1 << b) - 1]
    res, a, _, stats, _ = run_gt(xs, ys, b, seed=b, t=gt_hash_bits(b, 1e-9))
    assert [int(c) for c in a] == [truth(x, y) for x, y in zip(xs, ys)]
    assert res.bits == SEED_BITS + stats.bits


def test_gt_public_coins_send_no_seed():
    xs, ys = make_pairs("random", 64, 20, seed=1)
    res, a, _, stats, _ = run_gt(xs, ys, 64, seed=1, model=CoordinatorModel(public_coins=True), t=20)
    assert res.public_coins
    assert "PairSeed" not in res.by_type
    assert res.bits == stats.bits
    assert [int(c) for c in a] == [truth(x, y) for x, y in zip(xs, ys)]


def test_gt_private_coins_refuse_public_stream_and_pay_seed():
    xs, ys = make_pairs("random", 32, 5, seed=2)
    res, _, _, stats, _ = run_gt(xs, ys, 32, seed=2)
    assert not res.public_coins
    assert res.by_phase["pair_seed"]["bits"] == SEED_BITS  # charged once for the whole pair


def test_gt_between_any_two_parties_on_a_graph_charges_every_hop():
    # path coord - site0 - site1: GREATERTHAN between coord and site1 (two hops apart)
    b = 64
    xs, ys = make_pairs("random_lcp", b, 10, seed=5)
    stats = GTStats()

    def alice(p):
        coins = yield from pair_coins(p, "site1", leader=True)
        out = []
        for x in xs:
            out.append((yield from greater_than(p, "site1", x, b, alice=True, coins=coins, stats=stats)))
        return out

    def bob(p):
        coins = yield from pair_coins(p, "coord", leader=False)
        out = []
        for y in ys:
            out.append((yield from greater_than(p, "coord", y, b, alice=False, coins=coins)))
        return out

    sim = Simulation(GraphModel(nx.path_graph(3), coordinator=0), [np.zeros((1, 1))] * 2, seed=5)
    sim.spawn(sim.sites[1], bob)
    res = sim.run(sim.spawn(sim.coordinator, alice))
    assert res.bits == 2 * (SEED_BITS + stats.bits)  # both hops of every message
    assert len(res.output) == len(xs)


@pytest.mark.parametrize("bad", [
    dict(value=256, b=8), dict(value=-1, b=8), dict(value=1.5, b=8), dict(value=3, b=0), dict(value=3, b=8, t=0),
    dict(value=3, b=8, t=65),
])
def test_gt_bad_input_fails_before_any_message(bad):
    sim = Simulation(CoordinatorModel(), [np.zeros((1, 1))], seed=0)

    def alice(p):
        coins = yield from pair_coins(p, "site0", leader=True)
        kw = {k: v for k, v in bad.items() if k not in ("value", "b")}
        return (yield from greater_than(p, "site0", bad["value"], bad["b"], alice=True, coins=coins, **kw))

    sim.spawn(sim.sites[0], lambda p: (yield from pair_coins(p, "coord", leader=False)))
    with pytest.raises(ConfigError):
        sim.run(sim.spawn(sim.coordinator, alice))
    assert [e for e in sim.ledger.events if e[0] == "msg" and e[5] != "PairSeed"] == []


# -- GREATERTHAN: error rate at constant t ----------------------------------------------------

GT_N = 300
GT_FAMILIES = ("random", "equal", "last_bit", "adversarial", "worst")


def gt_error_rates(b, **kw):
    rates = {}
    for k, family in enumerate(GT_FAMILIES):
        xs, ys = make_pairs(family, b, GT_N, seed=1000 * b + k)
        _, a, bo, _, _ = run_gt(xs, ys, b, seed=b + k, **kw)
        assert all(int(ca) == -int(cb) for ca, cb in zip(a, bo))  # both sides agree
        rates[family] = sum(int(c) != truth(x, y) for c, x, y in zip(a, xs, ys))
    return rates


@pytest.mark.parametrize("b", [16, 256, 4096])
def test_gt_correct_at_least_two_thirds(b):
    """Theorem B.8: correct with probability >= 2/3 on every input, at the constant-error
    t = ceil(log2(3S)) (error <= S·2^-t <= 1/3 per input by the union bound over the steps).
    Equal pairs are never wrong (the hashing is one-sided)."""
    rates = gt_error_rates(b)
    t = gt_hash_bits(b, 1 / 3)
    print(f"GT b={b} t={t}: error " + ", ".join(f"{f} {w / GT_N:.3f}" for f, w in rates.items())
          + f"; exact worst-pair error {worst_pair_error(b, t):.3f}")
    assert rates["equal"] == 0
    alpha = ALPHA / (len(rates) + 1)
    for family, wrong in rates.items():
        assert wrong <= max_failures(GT_N, 1 / 3, alpha), f"b={b} {family}: {wrong}/{GT_N} wrong"
    lo, hi = binomial_range(GT_N, worst_pair_error(b, t), alpha)
    assert lo <= rates["worst"] <= hi


def test_gt_literal_constant_t_is_not_enough_for_large_b():
    """With t fixed at 4 the worst-case error grows with the S = ceil(log2(b+1)) steps: fine at
    b = 16 (S·2^-4 = 5/16 <= 1/3), above 1/3 on the worst pairs at b = 4096. That is why
    t = ceil(log2(3S)) = O(log log b), and bits O(log b·log log b), not O(log b)."""
    small = gt_error_rates(16, t=4)
    alpha = ALPHA / (len(small) + 2)
    assert all(w <= max_failures(GT_N, 1 / 3, alpha) for w in small.values())
    big = gt_error_rates(4096, t=4)
    print("GT t=4: b=16 " + ", ".join(f"{f} {w / GT_N:.3f}" for f, w in small.items())
          + "; b=4096 " + ", ".join(f"{f} {w / GT_N:.3f}" for f, w in big.items())
          + f"; exact worst-pair error at b=4096: {worst_pair_error(4096, 4):.3f}")
    assert worst_pair_error(4096, 4) > 1 / 3
    lo, hi = binomial_range(GT_N, worst_pair_error(4096, 4), alpha)
    assert lo <= big["worst"] <= hi and lo > GT_N / 3


# -- GREATERTHAN: bits versus b, and the crossover with sending b bits ------------------------

SWEEP_B = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
FINE_B = list(range(16, 97, 4))


def attempt_bound(b: int) -> int:
    """Most bits of one GREATERTHAN attempt at the constant-error t: S(t+1) + 2."""
    return hash_steps(b) * (gt_hash_bits(b, 1 / 3) + 1) + 2


def gt_mean_bits(b: int, n: int, seed: int):
    xs, ys = make_pairs("random_lcp", b, n, seed=seed)
    res, a, _, stats, per_call = run_gt(xs, ys, b, seed=seed)
    assert [int(c) for c in a].count(0) >= sum(x == y for x, y in zip(xs, ys))  # equal pairs never missed
    assert res.bits - SEED_BITS == sum(per_call) == stats.bits  # ledger = the protocol's own count
    assert stats.bits <= stats.attempts * attempt_bound(b)  # no attempt exceeds S(t+1) + 2
    return (res.bits - SEED_BITS) / n, max(per_call), stats.attempts / stats.runs


def crossover(cost: dict) -> int | None:
    """Smallest b of the grid from which cost[c] < c for every larger c of the grid."""
    ok = [b for b in sorted(cost) if all(cost[c] < c for c in cost if c >= b)]
    return min(ok) if ok else None


def test_gt_bits_grow_slower_than_b_and_crossover():
    """Bits per comparison at the constant-error t, inputs with a uniformly random LCP.

    Theorem B.8 claims Õ(log log n) = Õ(log b); we assert the fitted exponent in b is < 0.5
    and record the smallest b from which GREATERTHAN costs fewer bits than sending the b bits.
    """
    mean_of, max_of = {}, {}
    for b in sorted(set(SWEEP_B) | set(FINE_B)):
        mean_of[b], max_of[b], attempts = gt_mean_bits(b, 150, seed=b)
        if b in SWEEP_B:
            print(f"GT b={b}: mean {mean_of[b]:.1f} bits, max {max_of[b]} (restarts included), "
                  f"S(t+1)+2 = {attempt_bound(b)}, attempts/run {attempts:.3f}")
    means = [mean_of[b] for b in SWEEP_B]
    fit = fit_exponent(SWEEP_B, means)
    print(f"GT fit: bits ~ b^{fit.exponents['x']:.3f}, residual {fit.residual:.3f} (log2 RMS), "
          f"intercept 2^{fit.intercept:.2f}")
    assert fit.exponents["x"] < 0.5
    assert fit.residual < 0.2
    assert means == sorted(means)  # grows, but slowly

    mean_x = crossover(mean_of)
    # the per-attempt worst case S(t+1) + 2, on every b from 16 to 4096
    bound_x = crossover({b: attempt_bound(b) for b in range(16, 4097)})
    print(f"GT crossover: mean bits < b from b = {mean_x} on; per-attempt worst case S(t+1)+2 < b "
          f"from b = {bound_x} on")
    assert mean_x is not None and mean_x <= bound_x
    assert mean_of[16] > 16  # at b = 16 sending the number is cheaper


# -- HIGHPROBGREATERTHAN (Algorithm 14) -------------------------------------------------------


def test_majority_runs_follows_lemma_e1():
    # 2·exp(-N(1/2 - p)^2) <= δ
    for delta in (0.1, 1e-3, 1e-9):
        for p in (1 / 8, 1 / 3):
            N = majority_runs(delta, p)
            assert 2 * math.exp(-N * (0.5 - p) ** 2) <= delta < 2 * math.exp(-(N - 1) * (0.5 - p) ** 2)
    with pytest.raises(ConfigError):
        majority_runs(0.1, 0.5)


HP_CASES = [
    # (variant, b, delta, n trials per family)
    ("hash", 16, 0.01, 400),
    ("hash", 1024, 0.01, 300),
    ("majority", 16, 0.01, 80),
]


@pytest.mark.parametrize("variant,b,delta,n", HP_CASES)
def test_high_prob_correct_with_probability_one_minus_delta(variant, b, delta, n):
    for k, family in enumerate(("random", "equal", "last_bit", "worst")):
        xs, ys = make_pairs(family, b, n, seed=31 * b + k)
        res, a, bo, stats, per_call = run_gt(xs, ys, b, seed=b + 7 * k, high_prob=delta, variant=variant)
        wrong = sum(int(c) != truth(x, y) for c, x, y in zip(a, xs, ys))
        assert all(int(ca) == -int(cb) for ca, cb in zip(a, bo))
        assert wrong <= max_failures(n, delta, ALPHA / 4), f"{variant} b={b} {family}: {wrong}/{n} wrong"
        assert res.bits == SEED_BITS + stats.bits
        if variant == "majority":
            assert stats.runs == n * majority_runs(delta, GT_ERROR)  # N runs per call, no early stop
        else:
            assert stats.runs == n
        print(f"HighProbGT {variant} b={b} δ={delta} {family}: error {wrong / n:.4f}, "
              f"mean bits {np.mean(per_call):.1f}")


def test_high_prob_majority_amplifies_a_weak_greater_than():
    """Algorithm 14's vote really amplifies. Base runs with t = 4 at b = 16 err with probability
    <= S·2^-4 = 5/16 on every input (union bound) and exactly 1 - (15/16)^4 = 0.2275 on the
    worst pairs (checked); N = majority_runs(δ, 5/16) votes of them must meet δ."""
    b, n, delta, p = 16, 60, 0.05, 5 / 16
    xs, ys = make_pairs("worst", b, n, seed=99)
    _, a_single, _, _, _ = run_gt(xs, ys, b, seed=99, t=4)
    single = sum(int(c) != truth(x, y) for c, x, y in zip(a_single, xs, ys))
    _, a, _, stats, _ = run_gt(xs, ys, b, seed=100, high_prob=delta, variant="majority", gt_error=p, t=4)
    voted = sum(int(c) != truth(x, y) for c, x, y in zip(a, xs, ys))
    print(f"weak GT (t=4, b=16, worst pairs) error {single / n:.3f}; voted error {voted / n:.3f} "
          f"with N = {majority_runs(delta, p)}")
    q = worst_pair_error(b, 4)
    assert abs(q - (1 - (15 / 16) ** 4)) < 1e-12 and delta < q <= p  # too weak alone, within p
    lo, hi = binomial_range(n, q, ALPHA / 2)
    assert lo <= single <= hi  # the measured base error is the exact one
    assert voted <= max_failures(n, delta, ALPHA / 2)


def test_default_per_run_error_is_the_cheapest_measured():
    """Algorithm 14 leaves the per-run error p open; GT_ERROR is the cheapest p measured here."""
    b, n, delta = 64, 20, 0.01
    xs, ys = make_pairs("random_lcp", b, n, seed=b)
    cost = {}
    for p in (1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4):
        res, _, _, _, _ = run_gt(xs, ys, b, seed=b, high_prob=delta, variant="majority", gt_error=p)
        cost[p] = (res.bits - SEED_BITS) / n
    print("Algorithm 14 bits per call by p: " + ", ".join(f"1/{round(1 / p)}: {c:.0f}" for p, c in cost.items()))
    assert cost[GT_ERROR] <= 1.05 * min(cost.values())


def test_high_prob_early_stop_same_answers_fewer_bits():
    b, n, delta = 32, 60, 0.01
    xs, ys = make_pairs("random_lcp", b, n, seed=4)
    _, a_full, _, s_full, _ = run_gt(xs, ys, b, seed=4, high_prob=delta, variant="majority")
    _, a_stop, _, s_stop, _ = run_gt(xs, ys, b, seed=4, high_prob=delta, variant="majority", early_stop=True)
    assert [int(c) for c in a_stop] == [truth(x, y) for x, y in zip(xs, ys)]
    assert s_stop.bits < s_full.bits
    print(f"majority δ={delta} b={b}: {s_full.bits / n:.0f} bits/call, early stop {s_stop.bits / n:.0f}")


def test_high_prob_variants_bits():
    """Both variants measured at the same δ: the cheap one costs far fewer bits (a finding)."""
    rows = []
    for b in (16, 64, 1024):
        for delta in (1e-2, 1e-4):
            costs = {}
            for variant in ("hash", "majority"):
                n = 20 if variant == "majority" else 100
                xs, ys = make_pairs("random_lcp", b, n, seed=b)
                res, _, _, stats, per_call = run_gt(xs, ys, b, seed=b, high_prob=delta, variant=variant)
                costs[variant] = (res.bits - SEED_BITS) / n
            rows.append((b, delta, costs["hash"], costs["majority"]))
            assert costs["hash"] < costs["majority"]
    for b, delta, h, m in rows:
        print(f"HighProbGT b={b} δ={delta:g}: hash {h:.0f} bits, majority {m:.0f} bits, ratio {m / h:.1f}")
