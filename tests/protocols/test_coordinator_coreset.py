"""Algorithm 16 in the coordinator model (Cohen-Addad, Wang, Woodruff, Zhou, Appendix E.2;
Lemmas E.5-E.6, Theorem E.7): the coreset's accuracy over 100 center sets, the Lemma E.6
budget with its measured constant, growth in s, the messages' codes, the local coresets,
the naive baseline and the crossover, edge cases, bad input and the digits scenario.

Every run has a fixed seed. Where a constant is written, the comment says what was measured
and why the constant has its size. The full measurements behind the comments are in
docs/protocols/euclidean-coordinator.md.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from protocols.euclidean.blackboard import coreset_errors, point_costs_exact
from protocols.euclidean.coordinator import (
    LEMMA_E6_TERMS,
    adaptive_sampling,
    eps_prime_upload,
    local_coreset,
    run,
)
from protocols.primitives.greater_than import SEED_BITS
from protocols.primitives.sensitivity import coreset_size
from protosim import (
    Budget,
    ConfigError,
    CoordinatorModel,
    Party,
    Simulation,
    assert_budget,
    codec,
    fit_exponent,
)
from protosim.datasets import make_dataset, quantise
from protosim.registry import get_protocol
from protosim.scenario import Scenario

from .test_blackboard_coreset import center_sets, data, split

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@functools.cache
def pipeline(name: str, seed: int = 0):
    """Algorithm 16 at ε = 0.25 on the blackboard tests' data: digits (k = 10, s = 10, grid [32]^64)
    and a Gaussian mixture (n = 20,000, d = 8, k = 8, grid [2^16]^8), here on s = 10 sites."""
    X, L, k, _ = data(name)
    return run("coord_coreset", split(X, 10), seed=seed, k=k, log2Delta=L, eps=0.25)


@functools.cache
def jl_run(public: bool = False):
    """A projection that is not the identity: d = 256 > d' (Theorem B.9 for 800 points)."""
    X = small(n=800, d=256, k=3, seed=5, L=8)
    model = CoordinatorModel(public_coins=True) if public else None
    return X, run("coord_coreset", split(X, 4), seed=0, model=model, k=3, log2Delta=8, eps=0.5)


@functools.cache
def small(n=2000, d=8, k=3, seed=2, L=10):
    """A small Gaussian mixture on the grid [2^L]^d for the sweeps."""
    g = make_dataset({"name": "gaussian_mixture", "n": n, "d": d, "k": k}, seed=seed).X
    return quantise(g, L)[0].astype(np.float64)


# -- accuracy (Lemma E.5) -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["digits", "gauss"])
def test_coreset_error_within_eps_on_100_center_sets(name):
    # Lemma E.5 at ε = 0.25: |cost(A', C)/cost(X, C) - 1| <= ε for the 100 center sets of the
    # blackboard tests (34 sets of random data points, 33 perturbed k-means centers, 33
    # k-means++ outputs). Worst measured (seed 0): digits 0.028 (m = 2560, 1,266 distinct
    # points), mixture 0.102 (m = 2048, 1,925 distinct). Over seeds 0-9 the worst error was
    # 0.022 ± 0.0045 (digits, max 0.028) and 0.071 ± 0.020 (mixture, max 0.102): ε = 0.25 is
    # 51 and 8.9 standard deviations above the mean, so a failure at another seed is far
    # below 1 in 10^4 (docs/protocols/euclidean-coordinator.md).
    X, _, _, _ = data(name)
    out = pipeline(name).output
    errors = coreset_errors(X, out["coreset"], out["weights"], center_sets(name), 2.0)
    print(f"Algorithm 16 {name}: worst coreset error {errors.max():.4f} over 100 center sets "
          f"(mean {errors.mean():.4f}); |A'| = {out['coreset_size']}, m = {out['m']}, "
          f"total weight / n = {out['weights'].sum() / len(X):.3f}")
    assert len(errors) == 100 and errors.max() <= out["eps"]


def test_final_centers_cost():
    # Weighted k-means on A' (a (1+ε)-coreset): cost(X, centers) <= (1+ε)/(1-ε)·(cost of the
    # centers the blackboard pipeline found, which the blackboard tests tie to scikit-learn).
    # Measured cost / best of 10 scikit-learn k-means runs: digits 1.005, mixture 1.005.
    from sklearn.cluster import KMeans

    for name in ("digits", "gauss"):
        X, _, k, _ = data(name)
        best = min(point_costs_exact(X, KMeans(k, n_init=1, random_state=i).fit(X).cluster_centers_).sum()
                   for i in range(10))
        out = pipeline(name).output
        ratio = point_costs_exact(X, out["centers"]).sum() / best
        print(f"Algorithm 16 {name}: final cost / best of 10 k-means = {ratio:.4f}")
        assert ratio <= (1 + out["eps"]) / (1 - out["eps"])


# -- bits (Lemma E.6) -----------------------------------------------------------------------

C_E6 = 3.0
LEMMA_E6 = Budget("Lemma E.6", "bits", f"{C_E6}*({LEMMA_E6_TERMS})")


def test_lemma_e6_budget():
    # Lemma E.6: Õ(sk + dk/min(ε^4, ε^(2+z)) + dk log n). The polylog of each term is what the
    # proof charges (ec_polylog_b, ec_polylog_u in the run's parameters):
    #  - sk: one EFFICIENTCOMMUNICATION(π(P_j), π(s), ε', δ) per site and center: d' coordinates,
    #    each (log2(ℓ+1) + log2(Q+1) + 3) comparisons (Lemma E.3; Q = log_{1+ε'} Δ') of
    #    log2(log2(2Δ'+2) + 1)·log2(1/δ') bits (Lemma E.1's O(log log n · log 1/δ));
    #  - dk/min(ε^4, ε^(2+z)): one EFFICIENTCOMMUNICATION(S, x, ε', δ) coordinate per sample, the
    #    same per-coordinate count with ℓ = |S|;
    #  - dk log n: the exact centers, log2(nΔ) bits per coordinate.
    # C = 3: measured max 2.24 over digits and the mixture x s in {5, 20} x k in {3, 10} x
    # ε in {1/4, 1/2} x z in {1, 2}, 32 runs (mixture, s = 20, k = 3, ε = 1/2, z = 2). It is above 1
    # because line 7 runs s·(2k+1) times where the bound says sk (7/3 at k = 3), and each
    # comparison pays ceil(log2(b+1))·(ceil(log2(S/δ')) + 1) + 2 bits where the polylog has
    # log2(log2(2Δ+2)+1)·log2(1/δ'). Checked here on the two accuracy runs and the worst of the grid.
    for name in ("digits", "gauss"):
        assert_budget(pipeline(name), LEMMA_E6)
    X, L, _, _ = data("gauss")
    assert_budget(run("coord_coreset", split(X, 20), seed=0, k=3, log2Delta=L, eps=0.5, z=2.0), LEMMA_E6)


def test_bits_grow_at_most_linearly_in_s():
    # Fitted exponent of the bits in s at fixed k (k = 3, d = 8, grid [2^10]^8, ε = 1/2), each
    # site holding 60 points, s in {4, 8, 16, 32}: measured 0.75 for the whole run (the upload
    # of A' does not depend on s); asserted <= 1.15. The adaptive-sampling phase alone grows
    # with exponent 1.16: per site it runs (N+1)(1 - 1/s) EFFICIENTCOMMUNICATIONs (the owner
    # of a center needs none) and δ = 0.01/(s(N+1)+m) adds log2 s hash bits per step; per
    # EFFICIENTCOMMUNICATION the bits grow with exponent 0.04 (measured; asserted <= 0.15,
    # i.e. polylogarithmically, as Lemma E.6's sk·polylog(s, ...) says). With n fixed instead
    # (2000 points), the whole run's exponent is 0.73 and the phase's 1.25: smaller sites
    # match fewer coordinates of a new center exactly, so more comparisons search the offset.
    X = small(n=4000)
    ss = [4, 8, 16, 32]
    runs = [run("coord_coreset", [X[60 * i: 60 * (i + 1)] for i in range(s)], seed=1, k=3, log2Delta=10, eps=0.5)
            for s in ss]
    total = fit_exponent(ss, [r.bits for r in runs])
    bic = fit_exponent(ss, [r.figure("bits", phase="bicriteria") for r in runs])
    calls = [r.by_phase["bicriteria/center"]["messages"] for r in runs]  # one Step(CENTER) per call
    per_call = fit_exponent(ss, [r.figure("bits", phase="bicriteria/center") / c for r, c in zip(runs, calls)])
    print("Algorithm 16 bits by s (60 points per site): " + ", ".join(f"s={s}: {r.bits:,}" for s, r in zip(ss, runs))
          + f"; exponent {total.exponents['x']:.3f}; adaptive-sampling phase {bic.exponents['x']:.3f}; "
          f"per line-7 EFFICIENTCOMMUNICATION {per_call.exponents['x']:.3f}")
    assert total.exponents["x"] <= 1.15
    assert per_call.exponents["x"] <= 0.15


def _types():
    return {c.__name__: c for c in codec.message_types().values() if c.__module__.startswith("protocols.")}


def g(x: int) -> int:
    """Elias gamma length of x >= 1."""
    return 2 * int(x).bit_length() - 1


def opt_signed(e) -> int:
    return 1 if e is None else 1 + g(2 * e + 1 if e >= 0 else -2 * e)


def test_bits_are_the_stated_codes():
    """Every control message decodes to the stated code length; the EFFICIENTCOMMUNICATION
    messages add up to the protocol's own count of its comparisons and explicit fields."""
    result = pipeline("digits")
    out, p = result.output, result.params
    types = _types()
    ec_types = {"GTHashes", "GTEquals", "GTBits", "ECWhichBatch", "ECExpBatch"}
    ec_bits, seen = 0, {}
    for e in result.events:
        if e[0] != "msg":
            continue
        name, bits = e[5], e[6]
        seen[name] = seen.get(name, 0) + 1
        if name in ec_types:
            ec_bits += bits
            continue
        if name in ("ClusterStats", "GlobalStats"):
            continue  # call parameter S_size = |S_j|; checked by count below
        msg = codec.decode(types[name], e[10], p, bits)
        if name == "Step":
            assert bits == {0: 1, 1: 3, 2: 3}[msg.kind]
        elif name == "SampleReply":
            assert bits == (1 if msg.point is None else 1 + p["d"] * p["log2Delta"])
        elif name in ("CostReport",):
            assert bits == opt_signed(msg.e)
        elif name == "SiteReport":
            assert bits == g(msg.l + 1) + opt_signed(msg.W)
        elif name == "SensTotal":
            assert bits == opt_signed(msg.e) - 1
        elif name == "SampleCount":
            assert bits == g(msg.m + 1)
        elif name == "Upload":
            assert bits == g(len(msg.wexp) + 1) + sum(opt_signed(int(v)) - 1 for v in msg.wexp)
        elif name == "PairSeed":
            assert bits == SEED_BITS
        else:
            raise AssertionError(name)
    assert ec_bits == out["ec_bits"]
    s = p["s"]
    assert seen["PairSeed"] == s and seen["SiteReport"] == s and seen["ClusterStats"] == s
    assert seen["SampleReply"] == out["requests"] and seen["Step"] == out["requests"] + (s - 1) * out["bicriteria_size"] + s
    assert "JLSeed" not in seen  # d' = 90 >= d = 64 for digits: the identity, nothing to send
    print(f"digits: {result.bits:,} bits, of which EFFICIENTCOMMUNICATION {ec_bits:,} "
          f"({ec_bits / result.bits:.1%}); the data in grid bits: {p['n'] * p['d'] * p['log2Delta']:,}")


# -- line 1: local coresets -----------------------------------------------------------------


def test_local_coreset_exact_when_small_and_sampled_otherwise():
    rng = np.random.default_rng(0)
    X = np.repeat(rng.integers(0, 50, size=(30, 3)), 3, axis=0)  # 30 distinct points, each 3 times
    P, w = local_coreset(X, 3, 2.0, m_local=100, N=6, rng=rng)
    assert len(P) == len(np.unique(X, axis=0)) and np.all(w == 3)  # exact: the distinct points
    # Sampled: sensitivity sampling on a local bicriteria set. A (1+ε/2)-coreset at ε = 1/2 with
    # m_local = 400 draws (k = 3): the worst error over 60 center sets of the local data,
    # measured 0.066, is within ε/2 = 0.25; the weights sum to n within 10 % (0.965).
    X = small(n=3000, k=3)
    P, w = local_coreset(X.astype(np.int64), 3, 2.0, m_local=400, N=6, rng=np.random.default_rng(1))
    assert len(P) <= 400 and len(np.unique(P, axis=0)) == len(P)
    sets = [X[np.random.default_rng(i).choice(len(X), 3, replace=False)] for i in range(30)]
    sets += [adaptive_sampling(X, 3, 2.0, np.random.default_rng(100 + i)) for i in range(30)]
    err = coreset_errors(X, P.astype(float), w, sets, 2.0)
    print(f"local coreset: {len(P)} points for n = {len(X)}, weight/n = {w.sum() / len(X):.3f}, worst error {err.max():.3f}")
    assert err.max() <= 0.25 and abs(w.sum() / len(X) - 1) <= 0.1


def test_local_coresets_inside_the_protocol():
    # m_local below the sites' sizes, so line 1 samples: P_j has at most m_local points and the
    # end-to-end coreset still meets ε = 1/2 on 40 center sets (measured worst 0.10).
    X = small()
    result = run("coord_coreset", split(X, 4), seed=2, k=3, log2Delta=10, eps=0.5, m_local=300)
    out = result.output
    assert all(0 < v <= 300 for v in out["P_sizes"].values())
    err = coreset_errors(X, out["coreset"], out["weights"], [adaptive_sampling(X, 3, 2.0, np.random.default_rng(i))
                                                            for i in range(40)], 2.0)
    print(f"with local coresets (|P_j| = {sorted(out['P_sizes'].values())}): worst error {err.max():.3f}")
    assert err.max() <= 0.5


# -- JL (line 2) ----------------------------------------------------------------------------


def test_sparse_jl_projection_end_to_end():
    # d = 256 > d' = 82 (Theorem B.9 for n_points = 800): the sites work in the projected space,
    # the seed is charged once per site, and the coreset still meets ε = 1/2 on 40 sets
    # (measured worst 0.175).
    X, result = jl_run()
    out = result.output
    assert not out["jl_identity"] and out["d_prime"] < 256
    assert result.by_type["JLSeed"]["messages"] == 4
    sets = [adaptive_sampling(X, 3, 2.0, np.random.default_rng(i)) for i in range(40)]
    err = coreset_errors(X, out["coreset"], out["weights"], sets, 2.0)
    print(f"sparse JL d = 256 -> d' = {out['d_prime']}, q = {out['q']:.4f}, Δ' = {out['Delta_proj']}: "
          f"worst error {err.max():.3f}, {result.bits:,} bits")
    assert err.max() <= 0.5


def test_public_coins_send_no_seeds():
    (_, priv), (_, pub) = jl_run(), jl_run(public=True)
    assert pub.public_coins and "PairSeed" not in pub.by_type and "JLSeed" not in pub.by_type
    assert not priv.public_coins and priv.by_phase["setup/pair_seed"]["bits"] == 4 * SEED_BITS
    assert priv.by_phase["setup/jl_seed"]["bits"] == 4 * priv.by_type["JLSeed"]["bits"] // 4 > 0


# -- the naive baseline and the crossover ---------------------------------------------------


def test_naive_baseline_exact_bits():
    # Every center goes to every other site as d float64 (64 d bits, after a 1-bit Step), every
    # site answers with a float64 cost, requests are 3 bits, the first point is uniform.
    X = small()
    result = run("coord_naive_adaptive", split(X, 5), seed=0, k=3, log2Delta=10)
    p, out = result.params, result.output
    s, d, K = 5, p["d"], out["bicriteria_size"]
    assert K == p["N"] + 1 == 7
    sizes = sum(g(len(part) + 1) for part in split(X, 5))
    assert result.bits == sizes + K * (3 + 64 * d + (s - 1) * (1 + 64 * d) + 64 * s) + 3 * s
    assert point_costs_exact(X, out["S"]).sum() > 0


def test_naive_and_algorithm_16_per_site_slopes():
    # Both protocols cost a + b·s bits. On digits (d = 64, k = 10, ε = 1/4) the measured
    # slopes are b = 87,400 bits per site (naive: 21 centers of 64 float64 coordinates) and
    # 1.6M (Algorithm 16: 21 EFFICIENTCOMMUNICATIONs of 64 coordinates), so there is no
    # crossover: the ratio falls from 94 at s = 10 to 18.0 at s = 300 and 18.3 at s = 1000
    # (the sweep in docs/protocols/euclidean-coordinator.md). Here the slopes on s = 4 and 8
    # (k = 3, d = 8): measured 4,055 (naive) and 113,174 bits (Algorithm 16).
    X = small()
    slope = {}
    for proto, kw in (("coord_naive_adaptive", {}), ("coord_coreset", {"eps": 0.5})):
        b4, b8 = (run(proto, split(X, s), seed=0, k=3, log2Delta=10, **kw).bits for s in (4, 8))
        slope[proto] = (b8 - b4) / 4
    print(f"per-site slopes (d = 8): naive {slope['coord_naive_adaptive']:,.0f}, "
          f"Algorithm 16 {slope['coord_coreset']:,.0f} bits")
    assert slope["coord_coreset"] > slope["coord_naive_adaptive"] > 0


def test_crossover_at_high_d():
    # Algorithm 16's per-site slope does not grow with d (line 7 works on d' = O(log(sk))
    # projected coordinates) while the naive one is (N+1)·64(d+1): at d = 8192 the slopes
    # cross. Measured on s = 4 and 8 (20 points per site, k = 2, ε = 0.9 so that the upload,
    # m = 4 points, stays small): naive 2.62M, Algorithm 16 1.26M bits per site; the lines
    # a + b·s meet at s* = 41 (asserted within 10..1000). The sweep over s = 10..1000 at
    # ε = 1/2, 4,000 points (docs/protocols/euclidean-coordinator.md) measures the crossover
    # directly: ratio 1.38 at s = 300, 0.84 at s = 1000, crossing at s ≈ 590.
    X = make_dataset({"name": "gaussian_mixture", "n": 160, "d": 8192, "k": 2}, seed=3).X
    kw = dict(k=2, log2Delta=8, grid_lo=-20.0, grid_step=40 / 256)
    line = {}
    for proto, extra in (("coord_naive_adaptive", {}), ("coord_coreset", {"eps": 0.9})):
        b4, b8 = (run(proto, [X[20 * i: 20 * (i + 1)] for i in range(s)], seed=0, **kw, **extra).bits for s in (4, 8))
        line[proto] = (b4 - (b8 - b4), (b8 - b4) / 4)  # (a, b)
    (a_n, b_n), (a_16, b_16) = line["coord_naive_adaptive"], line["coord_coreset"]
    s_star = (a_16 - a_n) / (b_n - b_16)
    print(f"d = 8192: per-site slopes naive {b_n:,.0f}, Algorithm 16 {b_16:,.0f} bits; crossover at s* = {s_star:.0f}")
    assert b_n > b_16 and 10 <= s_star <= 1000


# -- edge cases -----------------------------------------------------------------------------


def test_all_points_identical():
    X = np.full((40, 3), 5.0)
    out = run("coord_coreset", split(X, 4), seed=1, k=3, log2Delta=3).output
    np.testing.assert_array_equal(out["centers"], [[5, 5, 5]])
    assert out["bicriteria_size"] == 1 and out["cost_zero"]
    assert np.all(out["coreset"] == 5) and abs(out["weights"].sum() / 40 - 1) <= out["eps"]


def test_k_at_least_the_number_of_points():
    # Sites whose cost reaches 0 stop receiving centers; they report on the centers they hold.
    rng = np.random.default_rng(3)
    X = np.unique(rng.integers(0, 64, size=(12, 2)), axis=0).astype(float)
    for k in (len(X), 2 * len(X)):
        out = run("coord_coreset", split(X, 3), seed=2, k=k, log2Delta=6).output
        assert point_costs_exact(X, out["centers"]).sum() == 0


def test_empty_and_one_point_sites_and_duplicates():
    X = np.repeat(small()[:600], 2, axis=0)  # every point twice
    parts = [X[:1], np.empty((0, 8)), X[1:600], X[600:]]  # site3: 300 distinct points <= m_local = 768
    result = run("coord_coreset", parts, seed=3, k=3, log2Delta=10, eps=0.5)
    out = result.output
    assert out["P_sizes"]["site1"] == 0 and out["P_sizes"]["site0"] == 1
    assert result.by_party["site1"]["bits"] == 2  # |P| = 0 and W = ⊥, then nothing
    assert out["P_sizes"]["site3"] == len(np.unique(parts[3], axis=0))  # duplicates merged (exact)
    sets = [adaptive_sampling(X, 3, 2.0, np.random.default_rng(i)) for i in range(40)]
    assert coreset_errors(X, out["coreset"], out["weights"], sets, 2.0).max() <= out["eps"]


def test_sites_side_by_side_same_bits_fewer_rounds(monkeypatch):
    # Choice C14: the coordinator runs line 7 and lines 16-24 with every site side by side.
    # Each pair's exchange is the one it has alone, so replacing Party.concurrently with a
    # driver that runs the conversations one after another must give the same bits, messages,
    # coreset and centers; only the rounds change (one site after another they add up).
    X = small()
    parts = split(X, 6)
    side = run("coord_coreset", parts, seed=3, k=3, log2Delta=10, eps=0.5)

    def one_after_another(party, conversations):
        def drive():
            out = []
            for conversation in conversations:
                out.append((yield from conversation))
            return out
        return party.sim.env.process(drive())

    monkeypatch.setattr(Party, "concurrently", one_after_another)
    seq = run("coord_coreset", parts, seed=3, k=3, log2Delta=10, eps=0.5)
    assert (side.bits, side.messages) == (seq.bits, seq.messages)
    for key in ("S", "coreset", "weights", "centers"):
        np.testing.assert_array_equal(side.output[key], seq.output[key])
    # Measured (seed 3, s = 6): 1,946 rounds side by side, 9,508 one after another (4.9x: line 7
    # runs with the s - 1 = 5 sites that do not own the center). Asserted: at least 3x.
    print(f"rounds side by side {side.rounds:,}, one site after another {seq.rounds:,}")
    assert side.rounds * 3 < seq.rounds


def test_same_seed_same_fingerprint():
    X = small()
    a, b = (run("coord_coreset", split(X, 3), seed=4, k=3, log2Delta=10, eps=0.5) for _ in range(2))
    assert a.fingerprint == b.fingerprint and a.bits == b.bits


def test_derived_parameters():
    p = pipeline("digits").params
    assert p["m_coreset"] == coreset_size(10, 0.25, 2.0) == 2560
    assert p["m_local"] == coreset_size(10, 0.125, 2.0) == 40960
    assert p["eps_prime_used"] == eps_prime_upload(0.25, 2.0, 10.0) == pytest.approx(0.00043)
    assert p["delta_ec"] == pytest.approx(0.01 / (10 * 21 + 2560))
    assert p["jl_points"] == 1797 and p["d_prime"] == 64  # Theorem B.9 asks 90 >= 64: identity


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("params,match", [
    (dict(jl_d_prime=-1), r"jl_d_prime.*\[1, d = 8\].*-1"),
    (dict(jl_d_prime=9), r"jl_d_prime.*\[1, d = 8\].*9"),
    (dict(jl_kind="gaussian", jl_ratio=3), r"jl_ratio.*3"),
    (dict(jl_kind="dense"), r"jl_kind.*'dense'"),
    (dict(gt_variant="vote"), r"gt_variant.*'vote'"),
    (dict(exponent_search="ternary"), r"exponent_search.*'ternary'"),
    (dict(eps=1.5), r"eps.*<= 0.999"),
    (dict(k=0), r"k.*>= 1"),
])
def test_bad_input_is_named_before_any_message(params, match):
    X = small()
    spec = get_protocol("coord_coreset")
    with pytest.raises(ConfigError, match=match):
        bound = spec.bind({"k": 3, "log2Delta": 10, **params}, "coordinator")
        sim = Simulation(CoordinatorModel(), split(X, 3), params=bound, seed=0)
        spec.setup(sim, **bound)
        sim.run()
    assert "sim" not in locals() or sim.ledger.events == []


def test_bad_input_in_a_scenario():
    base = {"dataset": {"name": "digits"}, "partition": {"kind": "uniform", "s": 4},
            "model": {"kind": "coordinator"}, "protocol": {"name": "coord_coreset",
                                                            "params": {"k": 3, "log2Delta": 5, "jl_d_prime": 65}}}
    with pytest.raises(ConfigError, match=r"protocol.params.jl_d_prime.*\[1, d = 64\].*65"):
        Scenario.from_dict(base).run()
    base["protocol"]["params"] = {"k": 3, "log2Delta": 5, "jl_kind": "gaussian", "jl_d_prime": 0, "jl_ratio": 4}
    base["dataset"] = {"name": "gaussian_mixture", "n": 100, "d": 3, "k": 2}
    base["protocol"]["params"]["grid_lo"] = -20.0
    with pytest.raises(ConfigError, match=r"jl_d_prime.*rounds to 0, below 1"):
        Scenario.from_dict(base).run()


# -- the scenario ---------------------------------------------------------------------------


def test_digits_scenario_runs_within_its_budgets():
    result, checks = Scenario.load(SCENARIOS / "coordinator_digits.toml").run()
    assert result.params["s"] == 10 and result.params["k"] == 10 and result.params["n"] == 1797
    assert checks and all(c.ok for c in checks), [c.message for c in checks if not c.ok]
    assert result.output["cost"] > 0 and result.output["d_prime"] == 16
    print("coordinator_digits: " + "; ".join(c.message for c in checks))
