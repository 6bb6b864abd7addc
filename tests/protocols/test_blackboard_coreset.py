"""Algorithm 13 and the Theorem 1.2 / D.10 pipeline on the blackboard (Cohen-Addad, Wang,
Woodruff, Zhou, Appendix D.4): the coreset's accuracy over 100 center sets, exact bits of
every message, the Algorithm 13 budget with its measured constant, edge cases, and the
two scenario files.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.datasets import load_digits

from protocols.euclidean.blackboard import coreset_errors, point_costs_exact, run
from protocols.primitives import compact_encoding as ce
from protocols.primitives import morris as mo
from protosim import Budget, assert_budget, codec
from protosim.datasets import make_dataset, quantise
from protosim.scenario import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def split(X, s: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [X[i] for i in np.array_split(rng.permutation(len(X)), s)]


@functools.cache
def data(name: str):
    """(grid points, log2Delta, k, s)."""
    if name == "digits":
        return load_digits().data, 5, 10, 10
    g = make_dataset({"name": "gaussian_mixture", "n": 20000, "d": 8, "k": 8, "std": 1.0}, seed=4).X
    return quantise(g, 16)[0].astype(np.float64), 16, 8, 20


@functools.cache
def center_sets(name: str) -> tuple:
    """100 center sets: 34 of k random data points, 33 perturbed k-means centers (noise 0.2 of
    the data's mean coordinate spread), 33 k-means++ outputs (scikit-learn, seeds 0..32)."""
    X, _, k, _ = data(name)
    rng = np.random.default_rng(0)
    sets = [X[rng.choice(len(X), k, replace=False)] for _ in range(34)]
    km = KMeans(k, n_init=1, random_state=0).fit(X).cluster_centers_
    scale = X.std(axis=0).mean()
    sets += [km + rng.normal(scale=0.2 * scale, size=km.shape) for _ in range(33)]
    sets += [kmeans_plusplus(X, k, random_state=i)[0] for i in range(33)]
    return tuple(sets)


@functools.cache
def pipeline(name: str, seed: int, z: float = 2.0):
    X, L, k, s = data(name)
    return run("bb_coreset", split(X, s), seed=seed, k=k, log2Delta=L, z=z)


# -- accuracy ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["digits", "gauss"])
def test_coreset_error_within_eps_on_100_center_sets(name):
    # Lemma D.9 at ε = 0.25 (m = ceil(k/ε^4): 2560 draws for digits, 2048 for the mixture).
    # Worst |cost(A, C)/cost(X, C) - 1| measured over the 100 sets: digits 0.043 (seed 0),
    # 0.020 (seed 1); Gaussian mixture (n = 20000, d = 8, s = 20) 0.166 (seed 0, a set of
    # random data points; the total weight there is 0.952·n), 0.048 (seed 1).
    X, _, _, _ = data(name)
    for seed in (0, 1):
        out = pipeline(name, seed).output
        errors = coreset_errors(X, out["coreset"], out["weights"], center_sets(name), 2.0)
        assert len(errors) == 100 and errors.max() <= out["eps"], (seed, errors.max())


def test_coreset_error_z1():
    # k-median (z = 1): m = ceil(k/ε^3) = 640 on digits; worst error measured 0.029 (seed 0).
    X, _, _, _ = data("digits")
    out = pipeline("digits", 0, 1.0).output
    errors = coreset_errors(X, out["coreset"], out["weights"], center_sets("digits"), 1.0)
    assert errors.max() <= out["eps"]


@pytest.mark.parametrize("z", [1.5, 3.0])
def test_general_z(z):
    # Any z >= 1: costs are dist^z, cost units 1/16 in DISTMORRIS (z not an even integer),
    # m = ceil(k/ε²·min(ε^-2, ε^-z)) = 1024 (z = 1.5) and 2048 (z = 3). Worst error measured
    # over the 100 sets: 0.071 (z = 1.5), 0.093 (z = 3).
    X, L, k, s = data("gauss")
    out = run("bb_coreset", split(X, s), seed=0, k=k, log2Delta=L, z=z).output
    assert out["m"] == math.ceil(k / 0.25**2 * min(0.25**-2, 0.25**-z))
    assert coreset_errors(X, out["coreset"], out["weights"], center_sets("gauss"), z).max() <= out["eps"]


def test_final_centers_cost():
    # Weighted k-means on a (1+ε)-coreset: cost(X, centers) <= (1+ε)/(1-ε)·cost of the best
    # of 10 scikit-learn runs, if the coordinator's k-means is as good on A as scikit-learn
    # on X. Measured ratio: digits 1.005 and 1.009, Gaussian mixture 1.005 and 1.006.
    for name in ("digits", "gauss"):
        X, _, k, _ = data(name)
        best = min(point_costs_exact(X, KMeans(k, n_init=1, random_state=i).fit(X).cluster_centers_).sum()
                   for i in range(10))
        for seed in (0, 1):
            out = pipeline(name, seed).output
            eps = out["eps"]
            assert point_costs_exact(X, out["centers"]).sum() <= (1 + eps) / (1 - eps) * best


# -- bits ----------------------------------------------------------------------------------


def g(x: int) -> int:
    return 2 * int(x).bit_length() - 1


def test_algorithm_13_bits_are_the_stated_codes():
    result = pipeline("gauss", 0)
    p = {**result.params, "S_size": result.output["bicriteria_size"]}  # |S|: a call parameter
    types = {c.__name__: c for c in codec.message_types().values() if c.__module__.startswith("protocols.")}
    seen = set()
    for e in result.events:
        if e[0] != "msg" or not e[9].startswith("coreset"):
            continue
        msg = codec.decode(types[e[5]], e[10], p, e[6])
        seen.add(e[5])
        if e[5] == "DistMorrisPost":
            assert e[6] == mo.post_bits(msg)
        elif e[5] == "SensTotal":
            assert e[6] == g(2 * msg.e + 1 if msg.e >= 0 else -2 * msg.e)  # zigzag, then gamma
        elif e[5] == "SiteSamples":
            assert e[6] == sum(g(m + 1) for m in msg.m) and len(msg.m) == p["s"]
        elif e[5] == "CompactPoints":
            assert e[6] == ce.message_bits(msg, p["ce_width"], p["S_size"])
        else:
            raise AssertionError(e[5])
    assert seen == {"DistMorrisPost", "SensTotal", "SiteSamples", "CompactPoints"}
    assert sum(result.by_phase[ph]["bits"] for ph in result.by_phase if ph.startswith("coreset")) == \
        result.figure("bits", phase="coreset")


ALG13 = Budget(
    "Algorithm 13", "bits",
    "1*(s*log2(m_coreset) + (s + k*(log2(n) + log2Delta))*morris_l_k*log2(8*k*morris_l_k)"
    " + d*k/min(eps**4, eps**(2+z))*ce_width)",
    phase="coreset",
)


def test_algorithm_13_budget():
    # Lemma D.9: Õ(s + k log n + d k/min(ε^4, ε^(2+z))). Each term gets the polylog its proof
    # charges: s·log2 m for the m_i; DISTMORRIS's l·log2(kl) (l = copies for 2k counters) on
    # s + k·log2(nΔ) (costs reach n·dΔ²); ce_width = log2(log_{1+ε'} Δ) bits per coordinate on
    # the points. (One common polylog factor, as the issue writes it, would multiply the point
    # term by l·log(kl) ~ 10^3 and could not fail.) C4 = 1: measured max 0.80 over digits and
    # the mixture x s in {10, 50} x k in {5, 10} x z in {1, 2} x ε in {0.25, 0.4} (digits,
    # s = 10, k = 5, z = 2, ε = 0.4), and 0.80 on scenarios/blackboard_gaussian.toml. It is
    # near 1 because DISTMORRIS runs over 2|S| ~ 5k counters, not 2k. Checked here on six
    # runs of that grid, the worst among them.
    for name, s, k, z, eps in (("digits", 10, 5, 2.0, 0.4), ("digits", 50, 5, 2.0, 0.4), ("digits", 50, 10, 1.0, 0.4),
                               ("gauss", 50, 10, 2.0, 0.25), ("gauss", 10, 5, 2.0, 0.25), ("gauss", 10, 5, 1.0, 0.4)):
        X, L, _, _ = data(name)
        assert_budget(run("bb_coreset", split(X, s), seed=0, k=k, log2Delta=L, z=z, eps=eps), ALG13)


# -- edge cases ----------------------------------------------------------------------------


def test_all_points_identical_cost_zero():
    X = make_dataset({"name": "identical", "n": 40, "d": 3, "value": 5.0}, seed=0).X
    out = run("bb_coreset", split(X, 4), seed=1, k=3, log2Delta=3).output
    np.testing.assert_array_equal(out["centers"], [[5, 5, 5]])
    assert point_costs_exact(X, out["centers"]).sum() == 0
    # every coreset point decodes to the point itself; the weights estimate n
    assert np.all(out["coreset"] == 5) and abs(out["weights"].sum() / 40 - 1) <= out["eps"]


def test_k_at_least_n_cost_zero():
    rng = np.random.default_rng(3)
    X = np.unique(rng.integers(0, 64, size=(12, 2)), axis=0).astype(float)
    for k in (len(X), 2 * len(X)):
        out = run("bb_coreset", split(X, 3), seed=2, k=k, log2Delta=6).output
        assert point_costs_exact(X, out["centers"]).sum() == 0


def test_empty_and_one_point_sites_and_duplicates():
    X, L, k, _ = data("gauss")
    X = np.repeat(X[:3000], 2, axis=0)  # every point twice
    parts = [X[:1], np.empty((0, 8)), X[1:3000], X[3000:]]
    result = run("bb_coreset", parts, seed=3, k=k, log2Delta=L)
    out = result.output
    assert coreset_errors(X, out["coreset"], out["weights"], center_sets("gauss")[:40], 2.0).max() <= out["eps"]
    assert result.by_party["site1"]["bits"] == 1  # the empty site: its size, 1 bit, and nothing else


def test_eps_prime_and_coreset_size_are_public_parameters():
    p = pipeline("digits", 0).params
    assert p["m_coreset"] == math.ceil(10 / 0.25**4) == 2560
    assert p["eps_prime_used"] == pytest.approx(ce.eps_prime_for(0.25, 2.0))
    assert p["ce_width"] == ce.exponent_width(p["eps_prime_used"], 5) == 11


# -- scenarios -----------------------------------------------------------------------------


def test_digits_scenario_runs_within_its_budgets():
    result, checks = Scenario.load(SCENARIOS / "blackboard_digits.toml").run()
    assert result.params["s"] == 10 and result.params["k"] == 10 and result.params["n"] == 1797
    assert checks and all(c.ok for c in checks), [c.message for c in checks if not c.ok]
    assert result.output["cost"] > 0 and result.output["cost_S"] >= result.output["cost"] * 0.5


def test_gaussian_scenario_at_reduced_n():
    # The full scenario (n = 100,000, s = 100) runs in about 6 s and is reported in
    # docs/protocols/euclidean-blackboard.md; here the same file at n = 20,000.
    scenario = Scenario.load(SCENARIOS / "blackboard_gaussian.toml", {"dataset.n": 20000})
    assert scenario.data["partition"]["s"] == 100 and scenario.data["dataset"]["d"] == 16
    _, checks = scenario.run()
    assert all(c.ok for c in checks), [c.message for c in checks if not c.ok]
