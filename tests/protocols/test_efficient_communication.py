"""EFFICIENTCOMMUNICATION (Algorithm 15, Lemmas E.2-E.4): accuracy, bits, bad input.

Statistical tests use fixed seeds and bound failure counts by ``max_failures(n, δ, α)``: the
count that a protocol failing with probability exactly δ exceeds with probability < α; a test
with k such assertions uses α = 1e-4/k (fewer than 1 false failure in 10^4 seeds).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binom

from protocols.primitives.efficient_communication import (
    ec_params,
    efficient_communication_receiver,
    efficient_communication_sender,
)
from protocols.primitives.greater_than import (
    GT_ERROR,
    SEED_BITS,
    gt_hash_bits,
    majority_runs,
    pair_coins,
)
from protosim import ConfigError, CoordinatorModel, Simulation, fit_exponent

ALPHA = 1e-4


def max_failures(n: int, p: float, alpha: float = ALPHA) -> int:
    """The smallest k with P(Binomial(n, p) > k) <= alpha."""
    return int(binom.isf(alpha, n, p))


def rand_coord(rng, Delta: int) -> int:
    """Uniform integer in [-Delta, Delta] (Python ints, any size)."""
    span = 2 * Delta + 1
    nbytes = (span.bit_length() + 7) // 8 + 8
    return int.from_bytes(rng.bytes(nbytes), "big") % span - Delta


def rand_points(rng, n: int, d: int, Delta: int) -> list[list[int]]:
    return [[rand_coord(rng, Delta) for _ in range(d)] for _ in range(n)]


def run_ec(X, ys, *, Delta, eps, delta, seed=0, model=None, d=None, **kw):
    """site0 (sender) sends each y of ``ys`` to the coordinator (receiver, holds X)."""
    l = len(X)

    def sender(p):
        coins = yield from pair_coins(p, "coord", leader=True)
        out = []
        for y in ys:
            out.append((yield from efficient_communication_sender(
                p, "coord", y, l=l, Delta=Delta, eps=eps, delta=delta, coins=coins, **kw)))
        return out

    def receiver(p):
        coins = yield from pair_coins(p, "site0", leader=False)
        out = []
        for _ in ys:
            out.append((yield from efficient_communication_receiver(
                p, "site0", X, Delta=Delta, eps=eps, delta=delta, coins=coins, d=d, **kw)))
        return out

    sim = Simulation(model or CoordinatorModel(), [np.zeros((1, 1))], seed=seed)
    snd = sim.spawn(sim.sites[0], sender)
    res = sim.run(sim.spawn(sim.coordinator, receiver))
    return res, res.output, snd.value


def violates(y, approx, X, eps) -> bool:
    """Lemma E.2's event fails: ||y - ỹ||^2 > ε^2·min_x ||x - y||^2, in exact rationals."""
    yt = approx.y_tilde()
    err2 = sum((Fraction(a) - b) ** 2 for a, b in zip(y, yt))
    if not X:
        return False
    best = min(sum((a - b) ** 2 for a, b in zip(y, x)) for x in X)
    return err2 > Fraction(eps) ** 2 * best


def families(rng, X, n, Delta):
    """y drawn four ways: uniform; a point of X; a point of X moved by ±1..3; the grid's corners."""
    out = {"uniform": rand_points(rng, n, len(X[0]), Delta)}
    out["in_X"] = [list(X[int(rng.integers(len(X)))]) for _ in range(n)]
    near = []
    for _ in range(n):
        x = X[int(rng.integers(len(X)))]
        near.append([max(-Delta, min(Delta, v + int(rng.integers(-3, 4)))) for v in x])
    out["near_X"] = near
    out["corners"] = [[int(rng.choice([-Delta, Delta])) for _ in X[0]] for _ in range(n)]
    return out


# -- accuracy ---------------------------------------------------------------------------------


def test_ec_accuracy_hash_variant():
    """Lemma E.2 with the cheap HIGHPROBGREATERTHAN: failure frequency within δ."""
    Delta, eps, delta, d, l, n = 2**16, Fraction(1, 10), 0.05, 2, 16, 100
    rng = np.random.default_rng(11)
    X = rand_points(rng, l, d, Delta)
    total = 0
    for k, (name, ys) in enumerate(families(rng, X, n, Delta).items()):
        res, recv, send = run_ec(X, ys, Delta=Delta, eps=eps, delta=delta, seed=20 + k, variant="hash")
        bad = sum(violates(y, a, X, eps) for y, a in zip(ys, recv))
        assert bad <= max_failures(n, delta, ALPHA / 5), f"{name}: {bad}/{n}"
        total += bad
        # both sides agree on ranks, γ and m
        assert all((a.rank, a.gamma, a.m) == (b.rank, b.gamma, b.m) for a, b in zip(recv, send))
        if name == "in_X":  # an exact match is sent exactly
            assert sum(any(a.gamma) for a in recv) <= max_failures(n, delta, ALPHA / 5)
        print(f"EC hash {name}: {bad}/{n} violate Lemma E.2; mean bits {(res.bits - SEED_BITS) / n:.0f}")
    print(f"EC hash: {total}/{4 * n} in all")


@pytest.mark.parametrize("explicit", [True, False])
def test_ec_accuracy_paper_variant(explicit):
    """Algorithm 15 with Algorithm 14 (majority vote), with and without the explicit (i_s, γ, m)."""
    Delta, eps, delta, d, l, n = 2**12, Fraction(1, 4), 0.05, 1, 8, 12
    rng = np.random.default_rng(5)
    X = rand_points(rng, l, d, Delta)
    fam = families(rng, X, n // 4, Delta)
    ys = [y for v in fam.values() for y in v]
    res, recv, send = run_ec(X, ys, Delta=Delta, eps=eps, delta=delta, seed=6, variant="majority",
                             explicit=explicit)
    bad = sum(violates(y, a, X, eps) for y, a in zip(ys, recv))
    assert bad <= max_failures(len(ys), delta)
    P = ec_params(d, l, Delta, eps, delta)
    N = majority_runs(P.delta_prime, GT_ERROR)
    runs = sum(a.stats.gt.runs for a in recv)
    assert runs == N * sum(a.stats.comparisons for a in recv)  # every comparison is N real runs
    print(f"EC majority explicit={explicit}: {bad}/{len(ys)} violate; N = {N}; "
          f"mean bits {(res.bits - SEED_BITS) / len(ys):.0f}")


def test_ec_1024_bit_coordinates():
    Delta, eps, delta, d, l, n = 2**1024, Fraction(1, 2), 0.05, 2, 8, 12
    rng = np.random.default_rng(1024)
    X = rand_points(rng, l, d, Delta)
    fam = families(rng, X, n // 4, Delta)
    ys = [y for v in fam.values() for y in v]
    res, recv, _ = run_ec(X, ys, Delta=Delta, eps=eps, delta=delta, seed=3, variant="hash")
    assert sum(violates(y, a, X, eps) for y, a in zip(ys, recv)) <= max_failures(len(ys), delta)
    P = ec_params(d, l, Delta, eps, delta)
    assert P.b == 1026
    print(f"EC 1024-bit: mean bits {(res.bits - SEED_BITS) / len(ys):.0f} vs {d * 1025} in the clear")


def test_ec_edge_cases():
    eps, delta = Fraction(1, 10), 0.01
    # l = 0: only the sentinels ±Δ; Δ = 1
    res, recv, _ = run_ec([], [[0], [1], [-1]], Delta=1, eps=eps, delta=delta, d=1, variant="hash")
    assert [a.y_tilde() for a in recv] == [[Fraction(0)], [Fraction(1)], [Fraction(-1)]]
    # all points identical, y equal to them, and y at the far corner
    X = [[5, -5]] * 4
    res, recv, _ = run_ec(X, [[5, -5], [100, -100], [-100, 100]], Delta=100, eps=eps, delta=delta, variant="hash")
    assert recv[0].y_tilde() == [5, -5] and recv[0].gamma == [0, 0]
    assert recv[1].y_tilde() == [100, -100]  # the sentinels are exact
    assert not violates([-100, 100], recv[2], X, eps)


# -- bits -------------------------------------------------------------------------------------


def ec_bits(l, logD, *, n=8, d=1, seed=0, variant="hash", explicit=True, eps=Fraction(1, 10), delta=0.05):
    rng = np.random.default_rng(seed)
    Delta = 2**logD
    X = rand_points(rng, l, d, Delta)
    ys = rand_points(rng, n, d, Delta)
    res, recv, _ = run_ec(X, ys, Delta=Delta, eps=eps, delta=delta, seed=seed, variant=variant, explicit=explicit)
    assert res.bits == SEED_BITS + sum(a.stats.bits for a in recv)
    return (res.bits - SEED_BITS) / n


def test_ec_bits_grow_with_log_l_not_log_delta():
    """Lemma E.3: d·log ℓ·polylog(log n, log ℓ, 1/ε, 1/δ). Sweep ℓ at log2 Δ = 32 and log2 Δ at ℓ = 16
    (d = 1, ε = 1/10, δ = 0.05, the cheap HIGHPROBGREATERTHAN). Sending y in the clear costs
    log2(2Δ+1) bits per coordinate (exponent 1 in log2 Δ)."""
    Ls = [1, 4, 16, 64, 256, 1024]
    by_l = [ec_bits(l, 32, seed=l) for l in Ls]
    fit_l = fit_exponent(Ls, by_l)
    slope, icpt = np.polyfit(np.log2(Ls), by_l, 1)
    pred = slope * np.log2(Ls) + icpt
    r2 = 1 - np.sum((by_l - pred) ** 2) / np.sum((by_l - np.mean(by_l)) ** 2)
    for l, v in zip(Ls, by_l):
        print(f"EC l={l} log2Δ=32: {v:.0f} bits")
    print(f"EC fit in l: exponent {fit_l.exponents['x']:.3f} (residual {fit_l.residual:.3f}); "
          f"linear in log2 l: {icpt:.0f} + {slope:.1f}·log2 l, R^2 {r2:.3f}")
    assert fit_l.exponents["x"] < 0.2  # far from polynomial in ℓ ...
    assert slope > 0 and r2 > 0.9  # ... and linear in log ℓ

    logs = [8, 16, 32, 64, 128, 256, 512, 1024]
    by_D = [ec_bits(16, lg, seed=lg) for lg in logs]
    fit_D = fit_exponent(logs, by_D)
    fit_loglog = fit_exponent(np.log2(logs).tolist(), by_D)
    for lg, v in zip(logs, by_D):
        print(f"EC l=16 log2Δ={lg}: {v:.0f} bits (clear: {lg + 1})")
    print(f"EC fit in log2Δ: exponent {fit_D.exponents['x']:.3f} (residual {fit_D.residual:.3f}); "
          f"in log2 log2Δ: exponent {fit_loglog.exponents['x']:.3f} (residual {fit_loglog.residual:.3f})")
    assert fit_D.exponents["x"] < 0.5
    crossover = next((lg for lg, v in zip(logs, by_D) if v < lg + 1), None)
    print(f"EC cheaper than the clear coordinate from log2Δ = {crossover}")


def test_ec_paper_variant_bits():
    """The paper's Algorithm 14 inside Algorithm 15, at a few ℓ and Δ (d = 1): fewer points, same fits."""
    rows = []
    for l, lg in [(2, 16), (16, 16), (128, 16), (16, 64), (16, 256)]:
        rows.append((l, lg, ec_bits(l, lg, n=2, seed=l + lg, variant="majority")))
    for l, lg, v in rows:
        print(f"EC majority l={l} log2Δ={lg}: {v:.0f} bits")
    by_l = [v for l, lg, v in rows if lg == 16]
    assert by_l == sorted(by_l)
    fit_D = fit_exponent([16, 64, 256], [rows[1][2], rows[3][2], rows[4][2]])
    print(f"EC majority fit in log2Δ: exponent {fit_D.exponents['x']:.3f}")
    assert fit_D.exponents["x"] < 0.5


def test_ec_bits_charged_in_full_and_explicit_option():
    """Every bit comes from an encoded message: the seed, the comparisons (t per hash, 1 per
    answer, 2 per final exchange, for every GREATERTHAN run) and, in the paper's text, i_s, γ, m."""
    Delta, eps, delta, d, l = 2**20, Fraction(1, 10), 0.05, 3, 10
    rng = np.random.default_rng(2)
    X = rand_points(rng, l, d, Delta)
    ys = rand_points(rng, 6, d, Delta) + [X[0]]
    P = ec_params(d, l, Delta, eps, delta)
    out = {}
    for explicit in (True, False):
        res, recv, send = run_ec(X, ys, Delta=Delta, eps=eps, delta=delta, seed=9, variant="hash", explicit=explicit)
        gt_bits = sum(a.stats.gt.bits for a in recv)
        gt_steps = sum(a.stats.gt.steps for a in recv)
        t = gt_hash_bits(P.b, P.delta_prime)
        finals = (gt_bits - gt_steps * (t + 1)) // 2
        assert gt_bits == gt_steps * (t + 1) + 2 * finals
        expl = sum(d * (P.rank_bits + 2) + sum(g != 0 for g in a.gamma) * P.exp_bits for a in recv)
        assert res.bits == SEED_BITS + gt_bits + (expl if explicit else 0)
        phases = res.by_phase
        assert sum(v["bits"] for v in phases.values()) == res.bits
        assert phases["pair_seed"]["bits"] == SEED_BITS
        cmp_bits = sum(phases[k]["bits"] for k in ("search", "equal", "exponent") if k in phases)
        assert cmp_bits == gt_bits
        assert phases.get("explicit", {"bits": 0})["bits"] == (expl if explicit else 0)
        out[explicit] = (res.bits, [a.y_tilde() for a in recv])
        # comparisons per coordinate never exceed the count δ' was sized for
        assert all(a.stats.comparisons <= d * P.calls_per_coordinate for a in recv)
    assert out[True][1] == out[False][1]  # the explicit fields are redundant: same ỹ
    print(f"EC explicit (i_s, γ, m): {out[True][0]} bits; without: {out[False][0]} bits")


def test_ec_exponential_search_option():
    """Section 3 calls the offset search "exponential": galloping q = 1, 3, 7, ... then bisecting.
    Same ỹ as the binary search of Algorithm 15 line 10 when every comparison is right; fewer
    comparisons for small offsets, more for offsets near Δ (both measured)."""
    Delta, eps, delta, d, l = 2**32, Fraction(1, 10), 1e-6, 2, 16
    rng = np.random.default_rng(8)
    X = rand_points(rng, l, d, Delta)
    fam = families(rng, X, 10, Delta)
    for name in ("uniform", "near_X"):
        ys = fam[name]
        out = {}
        for search in ("binary", "exponential"):
            res, recv, _ = run_ec(X, ys, Delta=Delta, eps=eps, delta=delta, seed=1, variant="hash",
                                  exponent_search=search)
            P = ec_params(d, l, Delta, eps, delta, search)
            assert all(a.stats.comparisons <= d * P.calls_per_coordinate for a in recv)
            assert not any(violates(y, a, X, eps) for y, a in zip(ys, recv))
            out[search] = ([(a.rank, a.gamma, a.m) for a in recv], sum(a.stats.exponent for a in recv),
                           (res.bits - SEED_BITS) / len(ys))
        assert out["binary"][0] == out["exponential"][0]
        print(f"EC exponent search, {name} y: binary {out['binary'][1]} comparisons, {out['binary'][2]:.0f} bits; "
              f"exponential {out['exponential'][1]} comparisons, {out['exponential'][2]:.0f} bits")
        if name == "near_X":
            assert out["exponential"][1] < out["binary"][1]
    with pytest.raises(ConfigError, match="exponent_search"):
        ec_params(1, 1, 10, 0.1, 0.1, "ternary")


@pytest.mark.parametrize("bad,who", [
    (dict(y=[2**20 + 1, 0]), "sender"),
    (dict(y=[1.5, 0]), "sender"),
    (dict(X=[[0, 0], [2**20 + 1, 0]]), "receiver"),
    (dict(X=[[0, 0], [1, 2, 3]]), "receiver"),
    (dict(eps=0), "both"),
    (dict(delta=1.0), "both"),
    (dict(Delta=0), "both"),
    (dict(y=[1, 2, 3]), "sender"),
    (dict(l=-1), "sender"),
])
def test_ec_bad_input_fails_before_any_message(bad, who):
    args = dict(y=[3, -4], X=[[0, 0], [5, 5]], Delta=2**20, eps=0.1, delta=0.05, l=2)
    args.update(bad)

    def sender(p):
        coins = yield from pair_coins(p, "coord", leader=True)
        return (yield from efficient_communication_sender(
            p, "coord", args["y"], l=args["l"], Delta=args["Delta"], eps=args["eps"], delta=args["delta"],
            coins=coins, variant="hash", d=2))

    def receiver(p):
        coins = yield from pair_coins(p, "site0", leader=False)
        return (yield from efficient_communication_receiver(
            p, "site0", args["X"], Delta=args["Delta"], eps=args["eps"], delta=args["delta"], coins=coins,
            variant="hash"))

    sim = Simulation(CoordinatorModel(), [np.zeros((1, 1))], seed=0)
    sim.spawn(sim.sites[0], sender)
    with pytest.raises(ConfigError):
        sim.run(sim.spawn(sim.coordinator, receiver))
    # Each party checks its own input before it sends anything; the peer with good input may
    # already have sent its first message (a two-party protocol cannot prevent that).
    quiet = {"sender": ["site0"], "receiver": ["coord"], "both": ["site0", "coord"]}[who]
    assert [e for e in sim.ledger.events if e[0] == "msg" and e[5] != "PairSeed" and e[3] in quiet] == []
