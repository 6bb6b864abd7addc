"""Sweep scaling: one grid on a Dask LocalCluster with 1 and with 2 workers.

The grid is ``points`` repeats (seeds) of scenarios/demo_graph_grid.toml on a size x size
grid graph with n = 20,000 points: every report routes along the BFS tree and every hop is
encoded and charged, about 1.5 s a point at size 60 on an idle core. One LocalCluster, one
thread per worker process: the grid runs on 2 workers, then the cluster scales down and
it runs again on 1. Timed: ``run_sweep`` from submission to the last output written (results,
fits, plot), after both workers have imported the protocols, so the one-off imports of
start-up are not counted. Both runs must give the same rows.

Beside the ratio it prints what bounds it, from Dask's task stream: the share of the sweep's
wall time the workers spent computing (the sweep machinery's overhead is the rest), and the
mean compute time of a point with 1 and with 2 workers (when 2 workers make each point
slower, the cores are not free: other processes, or memory bandwidth), with the load
average at the start.

The workers start without Dask's default ``MALLOC_TRIM_THRESHOLD_=65536``: that setting
turns off glibc's adaptive thresholds, and this workload then spends more time in page
faults than in Python (about 3x slower a point); docs/scaling.md says how to do the same on
a real cluster.

Prints both wall times and their ratio (target >= 1.7 on 2 cores). Usage:

    python benchmarks/sweep_scaling.py [--points 16] [--size 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import dask
from distributed import Client, LocalCluster, get_task_stream

from protosim.registry import protocols
from protosim.scenario import Scenario
from protosim.sweep import run_sweep

NO_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "demo_graph_grid.toml"


def timed_sweep(cluster: LocalCluster, client: Client, scenario: Scenario, vary: dict, repeat: int, out: Path) -> dict:
    """Wall time, rows, and from the task stream: compute time per point and the workers' busy share."""
    workers = len(client.scheduler_info()["workers"])
    with get_task_stream(client) as stream:
        start = time.perf_counter()
        result = run_sweep(scenario, vary, out, repeat=repeat, scheduler=cluster.scheduler_address, progress=False)
        wall = time.perf_counter() - start
    assert not result.failed, result.failed
    compute = [s["stop"] - s["start"] for t in stream.data for s in t["startstops"] if s["action"] == "compute"]
    return {"wall": wall, "rows": result.rows, "per_point": sum(compute) / len(compute),
            "busy": sum(compute) / (workers * wall)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=16, help="grid points (seeds)")
    parser.add_argument("--size", type=int, default=60, help="the grid graph is size x size parties")
    args = parser.parse_args(argv)
    scenario = Scenario.load(SCENARIO, {"dataset.n": 20_000, "model.cols": args.size})
    vary = {"model.rows": [args.size]}
    import matplotlib.pyplot  # noqa: F401  (once here, not inside the first timed sweep)

    with tempfile.TemporaryDirectory() as tmp, dask.config.set({NO_TRIM: None}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster, set_as_default=False) as client:
        client.run(protocols)
        load = os.getloadavg()[0]
        two = timed_sweep(cluster, client, scenario, vary, args.points, Path(tmp) / "two")
        cluster.scale(1)
        while len(client.scheduler_info()["workers"]) != 1:
            time.sleep(0.05)
        one = timed_sweep(cluster, client, scenario, vary, args.points, Path(tmp) / "one")
    assert one["rows"] == two["rows"], "1 and 2 workers gave different rows"
    figures = {"cores": os.cpu_count(), "load": load, "points": args.points, "size": args.size,
               "one_worker_s": one["wall"], "two_workers_s": two["wall"], "ratio": one["wall"] / two["wall"]}
    print(f"cores {figures['cores']} (load average {load:.1f} at the start), {args.points} points of demo_sum "
          f"on a {args.size} x {args.size} grid graph (n = 20,000)")
    for name, run in (("1 worker ", one), ("2 workers", two)):
        print(f"{name}: {run['wall']:7.2f} s; a point computes in {run['per_point']:.2f} s; "
              f"workers busy {run['busy']:.0%} of the time")
    print(f"speedup ratio: {figures['ratio']:.3f} (target >= 1.7); same rows and fingerprints on both")
    return figures


if __name__ == "__main__":
    main()
