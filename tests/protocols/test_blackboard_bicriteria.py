"""Algorithm 10 (bicriteria), Algorithm 8 (lazy adaptive sampling) and the naive baseline on the
blackboard (Cohen-Addad, Wang, Woodruff, Zhou, Appendix D): quality, exact bits, budgets with
measured constants, growth exponents, the lazy-vs-naive crossover, errata and edge cases.

Every run has a fixed seed. Where a constant is written, it was measured on the grid of the
test and the comment says what it was and why it has that size.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from protocols.clustering import cost
from protocols.euclidean.blackboard import run
from protosim import (
    Budget,
    ConfigError,
    assert_budget,
    codec,
    fit_exponent,
    fit_exponents,
)
from protosim.datasets import make_dataset, quantise


def split(X, s: int, seed: int = 0) -> list[np.ndarray]:
    """A uniform random partition of X into s sites."""
    rng = np.random.default_rng(seed)
    return [X[i] for i in np.array_split(rng.permutation(len(X)), s)]


@functools.cache
def data(name: str) -> tuple[np.ndarray, int]:
    """(points on the grid, log2Delta). digits: integers 0..16. gauss: 8 separated clusters, d = 8."""
    if name == "digits":
        return load_digits().data, 5
    if name == "gauss":
        g = make_dataset({"name": "gaussian_mixture", "n": 4000, "d": 8, "k": 8, "std": 0.5}, seed=3).X
        return quantise(g, 12)[0].astype(np.float64), 12
    if name == "gauss2":
        g = make_dataset({"name": "gaussian_mixture", "n": 4000, "d": 2, "k": 8, "std": 0.5}, seed=3).X
        return quantise(g, 12)[0].astype(np.float64), 12
    raise KeyError(name)


@functools.cache
def kmeans_runs(name: str, k: int) -> tuple:
    """Centers of 10 scikit-learn k-means runs (n_init=1, seeds 0..9)."""
    X, _ = data(name)
    return tuple(KMeans(k, n_init=1, random_state=i).fit(X).cluster_centers_ for i in range(10))


def reference(name: str, k: int, z: float) -> float:
    """Cost of the best of the 10 scikit-learn k-means runs, measured with exponent z."""
    X, _ = data(name)
    return min(cost(X, C, z) for C in kmeans_runs(name, k))


GRID = [(name, k, z, s) for name in ("digits", "gauss") for k in (5, 10, 20) for z in (1.0, 2.0) for s in (1, 10, 50)]


@functools.cache
def grid_run(name: str, k: int, z: float, s: int):
    X, L = data(name)
    return run("bb_bicriteria", split(X, s), seed=0, k=k, log2Delta=L, z=z)


# -- quality -------------------------------------------------------------------------------


def test_bicriteria_size_and_cost():
    # Lemma D.6: |S| = O(k) and cost(X, S) = O(1)·OPT. Over the 36-run grid (digits and an
    # 8-cluster Gaussian mixture; k in {5, 10, 20}; z in {1, 2}; s in {1, 10, 50}; N = 2k):
    # measured max |S|/k = 4.0 (digits, k = 5, z = 2, s = 1) and max cost(X, S)/reference =
    # 1.61 (digits, k = 10, z = 2, s = 50). C = 4.5 and C' = 2 leave about 12 % and 24 %:
    # |S| = 1 + valid + invalid samples and the last batch may overshoot N; C' is near 1
    # because |S| >= 2k centers compete with k (digits has no clear cluster structure).
    C, C_prime = 4.5, 2.0
    for name, k, z, s in GRID:
        X, _ = data(name)
        S = grid_run(name, k, z, s).output["S"].astype(np.float64)
        assert len(S) <= C * k, (name, k, z, s, len(S))
        assert cost(X, S, z) <= C_prime * reference(name, k, z), (name, k, z, s)


def test_algorithm_10_bits_budget():
    # Lemma D.5: Õ(s log n + k d log n). The proof charges one log log n factor (POWERAPPROX
    # exponents, O(log log n) L1SAMPLING draws), so a = 1. C1 = 2: measured max 1.59 over the
    # grid (gauss, k = 10, z = 1, s = 10). The ratio is largest at small s·log n + k·d·log n,
    # where the L1SAMPLING multisets (N = 79.5 ln(1/δ) draws per check) are not yet amortised.
    budget = Budget("Algorithm 10", "bits", "2*(s*log2(n) + k*d*log2(n))*log2(log2(n))")
    for args in GRID:
        assert_budget(grid_run(*args), budget)


def test_algorithm_10_rounds_budget():
    # Lemma D.4: O(log n log k) rounds. C2 = 1.5: measured max 1.30 over the n, k sweep of
    # test_algorithm_10_rounds_growth (n = 2^10, k = 2: 13 rounds), where INITIALIZATION's 4
    # rounds weigh most; on the quality grid the max is 1.15.
    budget = Budget("Algorithm 10 rounds", "rounds", "1.5*log2(n)*log2(k)")
    for args in GRID:
        assert_budget(grid_run(*args), budget)
    for runs in rounds_sweep().values():
        for r in runs:
            assert_budget(r, budget)


@functools.cache
def rounds_sweep():
    """Algorithm 10 on 32 separated clusters, d = 4, log2Δ = 16, s = 8; n in 2^{10,12,14}, k in 2..32, 3 seeds."""
    out = {}
    for n in (2**10, 2**12, 2**14):
        g = make_dataset({"name": "gaussian_mixture", "n": n, "d": 4, "k": 32, "std": 0.3}, seed=5).X
        X = quantise(g, 16)[0]
        for k in (2, 4, 8, 16, 32):
            out[n, k] = [run("bb_bicriteria", split(X, 8, seed), seed=seed, k=k, log2Delta=16) for seed in range(3)]
    return out


def test_algorithm_10_rounds_growth():
    # Rounds grow no faster than log n · log k. Fitted exponents of the mean rounds against
    # log2 n and log2 k: measured 0.07 and 0.97 (residual 0.26 in log2 units). The bound
    # allows 1 each; 1.2 leaves room for the fit's noise at 15 points.
    rows = [{"L": math.log2(n), "K": math.log2(k), "rounds": float(np.mean([r.rounds for r in runs]))}
            for (n, k), runs in rounds_sweep().items()]
    fit = fit_exponents(rows, ["L", "K"], "rounds")
    assert fit.exponents["L"] <= 1.2 and fit.exponents["K"] <= 1.2, fit


def test_algorithm_10_bits_grow_sublinearly_in_s():
    # s in {2, 8, 32, 128}, k = 10, d = 8, n = 4000, 2 seeds each. The issue asks for an
    # exponent <= 1.15; measured 0.38: the per-site terms (size, one POWERAPPROX exponent,
    # L1 replies and update drops of 1-3 bits) are small beside the k·d·log Δ point bits.
    X, L = data("gauss")
    ss = [2, 8, 32, 128]
    bits = [np.mean([run("bb_bicriteria", split(X, s, sd), seed=sd, k=10, log2Delta=L).bits for sd in (0, 1)])
            for s in ss]
    assert fit_exponent(ss, bits).exponents["x"] <= 1.15


def test_naive_bits_grow_linearly_in_s_and_k():
    # Naive: N·(64·s + ceil(log2 s) + 64·d) bits. d = 2 so the s term dominates.
    # Measured exponents: 0.95 in s (s in 16..128, k = 10), 0.99 in k (k in 4..32, s = 64).
    X, L = data("gauss2")
    ss, ks = [16, 32, 64, 128], [4, 8, 16, 32]
    in_s = [run("bb_naive_adaptive", split(X, s), seed=0, k=10, log2Delta=L).bits for s in ss]
    in_k = [run("bb_naive_adaptive", split(X, 64), seed=0, k=k, log2Delta=L).bits for k in ks]
    assert fit_exponent(ss, in_s).exponents["x"] >= 0.9
    assert fit_exponent(ks, in_k).exponents["x"] >= 0.9


def test_lazy_overtakes_naive():
    # Digits, k = 10, mean bits over seeds 0-2. With the baseline (float64
    # coordinates) the lazy protocol is cheaper at every s, from s = 1 (measured ratio 8.4
    # at s = 1). With the baseline's points on the same grid code (clear64 = false) the
    # crossover is at s = 2 (measured naive/lazy: 0.77 at s = 1, 1.04 at s = 2, 1.18 at
    # s = 4, 2.07 at s = 8): below it the L1SAMPLING checks and the extra samples cost more
    # than s exact D_j per point.
    X, L = data("digits")

    def mean_bits(name, s, **kw):
        return np.mean([run(name, split(X, s, sd), seed=sd, k=10, log2Delta=L, **kw).bits for sd in range(3)])

    lazy = {s: mean_bits("bb_bicriteria", s) for s in (1, 4, 8)}
    for s in (1, 4, 8):
        assert mean_bits("bb_naive_adaptive", s) > lazy[s]
    assert mean_bits("bb_naive_adaptive", 1, clear64=False) < lazy[1]
    for s in (4, 8):
        assert mean_bits("bb_naive_adaptive", s, clear64=False) > lazy[s]


# -- exact bits ----------------------------------------------------------------------------


def g(x: int) -> int:
    """Elias gamma of x >= 1."""
    return 2 * int(x).bit_length() - 1


def expected_bits(type_name: str, msg, p: dict) -> int:
    """The bits of each Algorithm 10 message, by hand from the codes in the docstrings."""
    w = max(1, math.ceil(math.log2(p["s"])))
    if type_name in ("SiteCount", "CostExp"):
        return g(next(iter(vars(msg).values())) + 1)
    if type_name == "PickSite":
        return w
    if type_name == "InitPoint":
        return p["d"] * p["log2Delta"]
    if type_name == "SampleReply":
        return 1 if msg.point is None else 1 + p["d"] * p["log2Delta"]
    if type_name in ("L1Reply", "Update"):
        return g(next(iter(vars(msg).values())) + 1)
    if type_name == "Batch":
        ms = msg.l1
        entries = ms.gaps if ms.gaps is not None else ms.counts
        return g(len(msg.sites) + 1) + w * len(msg.sites) + 2 + sum(g(int(e) + 1) for e in entries)
    raise AssertionError(type_name)


@pytest.mark.parametrize("name,s", [("gauss", 7), ("digits", 3)])
def test_algorithm_10_bits_are_the_stated_codes(name, s):
    X, L = data(name)
    result = run("bb_bicriteria", split(X, s, 4), seed=4, k=8, log2Delta=L)
    types = {c.__name__: c for c in codec.message_types().values() if c.__module__.startswith("protocols.")}
    total = 0
    for e in result.events:
        if e[0] == "msg":
            msg = codec.decode(types[e[5]], e[10], result.params, e[6])
            assert e[6] == expected_bits(e[5], msg, result.params), e[5]
            total += e[6]
    assert total == result.bits
    assert result.output["updates"] >= 1 or name == "digits"  # the Gaussian run exercises updates


def test_all_points_identical_exact_bits():
    # Total cost 0: INITIALIZATION only. Sites of 13, 13, 12, 12 copies of (7, 7, 7) on [8]^3:
    # SiteCount gamma(14) + gamma(14) + gamma(13) + gamma(13) = 28, PickSite 2, InitPoint 9,
    # CostExp 4 × 1 (cost 0 is ⊥) = 43 bits, 4 rounds; S is the one point.
    X = make_dataset({"name": "identical", "n": 50, "d": 3, "value": 7.0}, seed=0).X
    parts = [X[:13], X[13:26], X[26:38], X[38:]]
    for name in ("bb_bicriteria", "bb_lazy_adaptive"):
        result = run(name, parts, seed=0, k=3, log2Delta=3)
        assert result.bits == 43 and result.rounds == 4
        np.testing.assert_array_equal(result.output["S"], [[7, 7, 7]])
        assert result.output["cost_zero_on_board"]


# -- errata as implemented -----------------------------------------------------------------


def test_m_counts_as_the_proof_and_inner_loop_stops_at_n():
    # Choice 1: M += L after a False check, M += min(L, 1) after a True one (the proof of
    # Lemma D.3; Algorithm 10 line 10 adds L always). Choice 2: no batch starts once M >= N.
    seen_true = False
    for runs in rounds_sweep().values():
        for r in runs:
            log, out = r.output["batch_log"], r.output
            M = 0
            for b, L, update, before in log:
                assert before == M < out["N"]  # every batch starts below N
                M += min(L, 1) if update else L
                seen_true |= update and L > 1
            assert M == out["valid_samples"]
            assert len(out["S"]) == 1 + sum(L for _, L, _, _ in log)
    assert seen_true  # the case where the two counts differ does occur


def test_batch_sizes_double_and_reset_after_an_update():
    for runs in rounds_sweep().values():
        for r in runs:
            expect = 2
            for b, L, update, before in r.output["batch_log"]:
                assert b == expect
                expect = 2 if update else 2 * b


# -- Algorithm 8 ---------------------------------------------------------------------------


def test_algorithm_8_lemma_d1():
    # Lemma D.1: |S| = O(k), O(1)-approximation, Õ(sk + kd log n) bits, O(k) rounds.
    # Rounds are exact: 4 (INITIALIZATION) + 3 per success (request, point, updates) + 2 per ⊥.
    # Bits: the lemma's O(s k log log n + k d log n) plus s·log2 n for the site sizes our
    # INITIALIZATION posts (choice 6). C = 2.5: measured max 2.25 (gauss, s = 1, k = 5), where
    # the N + 1 = 2k + 1 points dominate at d·log2Δ = d·log2 n bits each, hence about 2.
    budget = Budget("Algorithm 8", "bits", "2.5*(s*log2(n) + s*k*log2(log2(n)) + k*d*log2(n))")
    for name, s, k in (("digits", 10, 10), ("gauss", 30, 8), ("gauss", 1, 5), ("digits", 1, 3), ("gauss", 100, 4)):
        X, L = data(name)
        r = run("bb_lazy_adaptive", split(X, s), seed=1, k=k, log2Delta=L)
        out = r.output
        assert out["valid_samples"] == out["N"] == 2 * k and len(out["S"]) == out["N"] + 1
        bottoms = out["batches"] - out["valid_samples"]
        assert r.rounds == 4 + 3 * out["valid_samples"] + 2 * bottoms
        assert cost(X, out["S"].astype(float)) <= 2.0 * reference(name, k, 2.0)
        assert_budget(r, budget)


# -- edge cases ----------------------------------------------------------------------------


def test_empty_site_and_one_point_site():
    X, L = data("gauss")
    parts = [X[:1], np.empty((0, 8)), X[1:2000], np.empty((0, 8)), X[2000:]]
    for name in ("bb_bicriteria", "bb_lazy_adaptive", "bb_naive_adaptive"):
        r = run(name, parts, seed=2, k=5, log2Delta=L)
        assert cost(X, r.output["S"].astype(float)) <= 2.0 * reference("gauss", 5, 2.0)
        # an empty site posts its size (1 bit) and nothing else
        assert r.by_party["site1"]["messages"] == 1 and r.by_party["site1"]["bits"] == 1


def test_k_at_least_n_covers_every_point():
    # k >= n: sampling goes on until every point is a center (D̃ = 0 on the board): cost 0.
    rng = np.random.default_rng(3)
    X = rng.integers(0, 64, size=(12, 2)).astype(float)
    X = np.unique(X, axis=0)
    for k in (len(X), 3 * len(X)):
        r = run("bb_bicriteria", split(X, 3), seed=1, k=k, log2Delta=6)
        assert r.output["cost_zero_on_board"] and cost(X, r.output["S"].astype(float)) == 0


def test_duplicate_points():
    # Every point 5 times: a point already in S has weight 0 and is never drawn again, so S
    # repeats a point only when one batch draws it twice; the quality bound is unchanged.
    X, L = data("gauss")
    Xd = np.repeat(X[:800], 5, axis=0)
    r = run("bb_bicriteria", split(Xd, 6), seed=3, k=8, log2Delta=L)
    S = r.output["S"]
    assert cost(Xd, S.astype(float)) <= 2.0 * 5 * min(cost(X[:800], KMeans(8, n_init=1, random_state=i).fit(X[:800]).cluster_centers_) for i in range(10))
    added, first = set(), 1
    for b, L_, update, before in r.output["batch_log"]:
        batch = {tuple(p) for p in S[first:first + L_]}
        assert not (batch & added)  # nothing already in S is drawn again
        added |= batch | {tuple(S[0])}
        first += L_


def test_z_equals_one_and_general_z():
    # z = 1 (k-median) for both lazy protocols; z = 1.5 and 3 for Algorithm 10 (measured
    # cost/reference 1.28 and 1.62 on digits, k = 10, s = 10: within C' = 2).
    X, L = data("digits")
    for z in (1.5, 3.0):
        r = run("bb_bicriteria", split(X, 10), seed=0, k=10, log2Delta=L, z=z)
        assert cost(X, r.output["S"].astype(float), z) <= 2.0 * reference("digits", 10, z)
    r = run("bb_bicriteria", split(X, 5), seed=5, k=10, log2Delta=L, z=1.0)
    assert cost(X, r.output["S"].astype(float), 1.0) <= 2.0 * reference("digits", 10, 1.0)
    r = run("bb_lazy_adaptive", split(X, 5), seed=5, k=10, log2Delta=L, z=1.0)
    assert cost(X, r.output["S"].astype(float), 1.0) <= 2.0 * reference("digits", 10, 1.0)


def test_same_seed_same_fingerprint():
    X, L = data("gauss")
    a = run("bb_bicriteria", split(X, 5), seed=9, k=6, log2Delta=L)
    b = run("bb_bicriteria", split(X, 5), seed=9, k=6, log2Delta=L)
    c = run("bb_bicriteria", split(X, 5), seed=10, k=6, log2Delta=L)
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_bad_input_is_named():
    X, L = data("gauss")
    with pytest.raises(ConfigError, match=r"data of site0: row 0 column \d is .* outside \[0, 255\]"):
        run("bb_bicriteria", split(X, 2), k=3, log2Delta=8)
    with pytest.raises(ConfigError, match="mu: must be > 4"):
        run("bb_bicriteria", split(X, 2), k=3, log2Delta=L, mu=4.0)
    with pytest.raises(ConfigError, match="n = 0"):
        run("bb_bicriteria", [np.empty((0, 2))] * 2, k=3, log2Delta=4)
    with pytest.raises(ConfigError, match="k"):
        run("bb_bicriteria", split(X, 2), log2Delta=L)
    # the declared quantisation maps real data onto the grid
    Y = X / 100.0 - 3.0
    r = run("bb_bicriteria", split(Y, 2), seed=0, k=4, log2Delta=L, grid_lo=-3.0, grid_step=0.01)
    assert r.bits == run("bb_bicriteria", split(X, 2), seed=0, k=4, log2Delta=L).bits
