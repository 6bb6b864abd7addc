"""Blackboard coreset pipeline (bb_coreset) wall time over scikit-learn's kmeans_plusplus.

Both sides run in the same Python process on the same grid data:

- pipeline: ``bb_coreset`` (Algorithm 10, then Algorithm 13, then weighted k-means at the
  coordinator) on the blackboard model, every message encoded, decoded and charged;
- reference: ``sklearn.cluster.kmeans_plusplus(X, n_clusters, n_local_trials=1)`` choosing
  the same number of centers: k (what the pipeline outputs) and |S| (what Algorithm 10
  samples, adaptive sampling being k-means++ seeding with exact distances).

Wall times are the best of ``--repeat`` runs, with BLAS and OpenMP limited to one thread on
both sides (threadpoolctl), so the ratio does not depend on the core count or on other
load. Prints both and their ratios. Usage:

    python benchmarks/blackboard_vs_kmeanspp.py [--n 100000] [--repeat 3]

``--n`` is the Gaussian mixture's size (d = 16, s = 100, k = 10); digits (n = 1797,
d = 64, s = 10, k = 10) always runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from protocols.euclidean.blackboard import run, to_grid
from protosim.datasets import make_dataset


def split(X: np.ndarray, s: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [X[i] for i in np.array_split(rng.permutation(len(X)), s)]


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for r in range(repeat):
        start = time.perf_counter()
        out = fn(r)
        best = min(best, time.perf_counter() - start)
    return best, out


def case(name: str, X: np.ndarray, s: int, k: int, repeat: int, **params) -> dict:
    Xq = to_grid(X, params["log2Delta"], params.get("grid_lo", 0.0), params.get("grid_step", 1.0)).astype(np.float64)
    parts = split(X, s, 0)
    t_pipe, result = best_of(repeat, lambda r: run("bb_coreset", parts, seed=r, k=k, **params))
    size = result.output["bicriteria_size"]
    t_k, _ = best_of(repeat, lambda r: kmeans_plusplus(Xq, k, n_local_trials=1, random_state=r))
    t_s, _ = best_of(repeat, lambda r: kmeans_plusplus(Xq, size, n_local_trials=1, random_state=r))
    return {"name": name, "n": len(X), "d": X.shape[1], "s": s, "k": k, "|S|": size, "pipeline_s": t_pipe,
            "kpp_k_s": t_k, "kpp_S_s": t_s, "ratio_k": t_pipe / t_k, "ratio_S": t_pipe / t_s, "bits": result.bits}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="points of the Gaussian mixture (d = 16, s = 100)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    with threadpool_limits(1):
        return _report(args)


def _report(args) -> list[dict]:
    rows = [case("digits", load_digits().data, 10, 10, args.repeat, log2Delta=5)]
    g = make_dataset({"name": "gaussian_mixture", "n": args.n, "d": 16, "k": 10}, seed=1).X
    rows.append(case("gaussian", g, 100, 10, args.repeat, log2Delta=16, grid_lo=-20.0, grid_step=40 / 2**16))
    print(f"{'data':10} {'n':>7} {'d':>3} {'s':>4} {'k':>3} {'|S|':>4} {'pipeline s':>11} "
          f"{'k++ (k) s':>10} {'k++ (|S|) s':>12} {'ratio (k)':>10} {'ratio (|S|)':>12}")
    for r in rows:
        print(f"{r['name']:10} {r['n']:>7} {r['d']:>3} {r['s']:>4} {r['k']:>3} {r['|S|']:>4} {r['pipeline_s']:>11.3f} "
              f"{r['kpp_k_s']:>10.4f} {r['kpp_S_s']:>12.4f} {r['ratio_k']:>10.1f} {r['ratio_S']:>12.1f}")
    return rows


if __name__ == "__main__":
    main()
