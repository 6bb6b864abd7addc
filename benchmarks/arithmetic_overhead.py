"""Arithmetic overhead: the blackboard pipeline (Algorithm 10, then 13) over k-means++.

Issue 6, figure 2. Both sides run in this process on the same grid data (a Gaussian
mixture, n = 10^6, d = 16, 10 components, s = 100 sites, k = 10 by default):

- pipeline: ``bb_coreset`` (Algorithm 10, Algorithm 13, weighted k-means at the
  coordinator) on the blackboard model, every message encoded, decoded and charged; the
  declared quantisation of each site's points is part of it;
- reference: ``sklearn.cluster.kmeans_plusplus(Xq, c, n_local_trials=1)`` on the
  quantised points, once with c = |S| (the number of centers Algorithm 10 sampled: the
  same number of centers, adaptive sampling being k-means++ seeding) and once with c = k
  (the number the pipeline outputs).

Each side is timed ``--repeat`` times with the same seed (the same work every time) and
the best wall and CPU times are kept; BLAS and OpenMP are limited to one thread on both
sides (threadpoolctl). Usage:

    python benchmarks/arithmetic_overhead.py [--n 1000000] [--d 16] [--s 100] [--k 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.cluster import kmeans_plusplus
from threadpoolctl import threadpool_limits

from protocols.euclidean.blackboard import run, to_grid
from protosim.datasets import make_dataset

GRID = {"log2Delta": 16, "grid_lo": -20.0, "grid_step": 40 / 2**16}


def best_of(repeat: int, fn) -> tuple[float, float, object]:
    """(best wall seconds, best CPU seconds, last result) of ``repeat`` calls."""
    wall = cpu = float("inf")
    out = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu, out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--s", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="the pipeline's and k-means++'s seed")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    args = parser.parse_args(argv)
    X = make_dataset({"name": "gaussian_mixture", "n": args.n, "d": args.d, "k": 10}, seed=1).X
    parts = np.array_split(X, args.s)  # rows are in random order: a uniform partition, as views
    Xq = to_grid(X, **GRID).astype(np.float64)
    with threadpool_limits(1):
        run("bb_coreset", [p[:50] for p in parts[:4]], seed=0, k=args.k, **GRID)  # warm the codec caches
        t_pipe, c_pipe, result = best_of(args.repeat, lambda: run("bb_coreset", parts, seed=args.seed, k=args.k, **GRID))
        size = result.output["bicriteria_size"]
        t_S, c_S, _ = best_of(args.repeat, lambda: kmeans_plusplus(Xq, size, n_local_trials=1, random_state=args.seed))
        t_k, c_k, _ = best_of(args.repeat, lambda: kmeans_plusplus(Xq, args.k, n_local_trials=1, random_state=args.seed))
    row = {"n": args.n, "d": args.d, "s": args.s, "k": args.k, "|S|": size, "bits": result.bits,
           "pipeline_s": t_pipe, "pipeline_cpu_s": c_pipe, "kpp_S_s": t_S, "kpp_S_cpu_s": c_S,
           "kpp_k_s": t_k, "kpp_k_cpu_s": c_k, "ratio": t_pipe / t_S, "ratio_cpu": c_pipe / c_S,
           "ratio_k": t_pipe / t_k, "ratio_k_cpu": c_pipe / c_k, "cores": os.cpu_count()}
    print(f"bb_coreset n={args.n} d={args.d} s={args.s} k={args.k} seed={args.seed}: |S| = {size}, "
          f"{result.bits:,} bits; best of {args.repeat}, one BLAS thread, {os.cpu_count()} cores")
    print(f"{'':24} {'wall s':>8} {'cpu s':>8}")
    print(f"{'pipeline':24} {t_pipe:8.3f} {c_pipe:8.3f}")
    print(f"{'k-means++, |S| centers':24} {t_S:8.3f} {c_S:8.3f}")
    print(f"{'k-means++, k centers':24} {t_k:8.3f} {c_k:8.3f}")
    print(f"ratio over k-means++ with |S| centers: {row['ratio']:.2f} wall, {row['ratio_cpu']:.2f} cpu (target <= 1.5)")
    print(f"ratio over k-means++ with k centers:   {row['ratio_k']:.2f} wall, {row['ratio_k_cpu']:.2f} cpu")
    return row


if __name__ == "__main__":
    main()
