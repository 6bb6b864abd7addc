"""Points: the blackboard pipeline on n = 10^7 points, d = 8, s = 100; wall time and peak memory.

Issue 6, figure 4: ``bb_coreset`` (Algorithm 10, then 13) must complete on this 2-core,
24 GiB machine with peak memory at most 3x the dataset's bytes (n·d·8 for float64).

The Gaussian mixture (10 components) is generated first; its rows are in random order, so
s equal contiguous slices are a uniform partition and each site's part is a view (no
copy). Memory is measured for the run alone: tracemalloc (numpy reports its buffers to
it) is started before the data is made and its peak reset once the data exists, so the
peak printed is the most memory held at once during the run, the dataset included. On
Linux the peak resident size of the run (VmHWM, reset before the run) is printed too; it
includes the interpreter and libraries. Usage:

    python benchmarks/points.py [--n 10000000] [--d 8] [--s 100] [--k 10]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from protocols.euclidean.blackboard import run
from protosim.datasets import make_dataset

GRID = {"log2Delta": 16, "grid_lo": -20.0, "grid_step": 40 / 2**16}


def _status(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--s", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tracemalloc.start()
    X = make_dataset({"name": "gaussian_mixture", "n": args.n, "d": args.d, "k": 10}, seed=1).X
    parts = np.array_split(X, args.s)  # views
    data_bytes = X.nbytes
    tracemalloc.reset_peak()
    held_before = tracemalloc.get_traced_memory()[0]
    rss_before = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    with threadpool_limits(1):
        w, c = time.perf_counter(), time.process_time()
        result = run("bb_coreset", parts, seed=args.seed, k=args.k, **GRID)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    hwm = _status("VmHWM")
    row = {"n": args.n, "d": args.d, "s": args.s, "k": args.k, "wall_s": wall, "cpu_s": cpu, "bits": result.bits,
           "rounds": result.rounds, "|S|": result.output["bicriteria_size"], "data_bytes": data_bytes,
           "peak_bytes": peak, "held_before": held_before, "ratio": peak / data_bytes,
           "peak_rss": hwm, "rss_before": rss_before, "cores": os.cpu_count()}
    print(f"bb_coreset n={args.n:,} d={args.d} s={args.s} k={args.k} seed={args.seed}: |S| = {row['|S|']}, "
          f"{result.bits:,} bits, {result.rounds} rounds; one BLAS thread, {os.cpu_count()} cores")
    print(f"wall {wall:.2f} s, cpu {cpu:.2f} s")
    print(f"dataset {data_bytes / 2**20:,.0f} MiB; traced before the run {held_before / 2**20:,.0f} MiB; "
          f"traced peak during the run {peak / 2**20:,.0f} MiB")
    if hwm and rss_before:
        print(f"resident: {rss_before / 2**20:,.0f} MiB before the run, peak {hwm / 2**20:,.0f} MiB during it "
              f"({hwm / data_bytes:.2f}x the dataset)")
    print(f"ratio of peak memory to the dataset's bytes: {row['ratio']:.2f} (target <= 3)")
    return row


if __name__ == "__main__":
    main()
