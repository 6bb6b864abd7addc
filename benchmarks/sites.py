"""Sites: one protocol run at growing numbers of sites s; wall time, peak memory, their growth.

Issue 6, figure 3: the coordinator pipeline (Algorithm 16, ``coord_coreset``) with
n = 10^6 points should complete at s = 10,000 sites, with wall time at most linear in s.
Each s runs in a child process of its own (so peak memory is that run's): the child
generates the Gaussian mixture (d = 16, 10 components; rows are in random order, so s
equal contiguous slices are a uniform partition, as views), then times the run. Printed
per s: wall and CPU seconds, messages, bits, rounds, the peak resident memory of the run
(Linux VmHWM, reset just before it; the process's ru_maxrss elsewhere) and its increase
over the resident memory before the run. Then the fitted exponents of wall time and of
that increase in s (``protosim.fit_exponent``, log-log least squares, >= 3 points).

A point that hits ``--limit`` seconds (the simulation's wall-clock limit) is reported as
not completed, and larger s are skipped. Usage:

    python benchmarks/sites.py [PROTOCOL] [--s 100,300,1000,3000,10000] [--n 1000000] [--limit 3600]

PROTOCOL defaults to ``coord_coreset``; its first model is used unless ``--model`` says
otherwise (e.g. ``bb_coreset`` runs on the blackboard).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

GRID = {"log2Delta": 16, "grid_lo": -20.0, "grid_step": 40 / 2**16}


def _status(key: str) -> int | None:
    """A Linux /proc/self/status figure in bytes (None elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def one(protocol: str, model: str | None, s: int, n: int, d: int, k: int, seed: int, limit: float) -> dict:
    """One run, in this process: the figures as a dict."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    import protocols  # noqa: F401  (registers the protocols)
    from protosim import Simulation, TimeLimit
    from protosim.datasets import make_dataset
    from protosim.models import make_model
    from protosim.registry import get_protocol

    spec = get_protocol(protocol)
    model = model or spec.models[0]
    X = make_dataset({"name": "gaussian_mixture", "n": n, "d": d, "k": 10}, seed=1).X
    parts = np.array_split(X, s)
    bound = spec.bind({"k": k, **GRID}, model)
    rss_before = _status("VmRSS")
    try:  # reset the peak resident size, so that VmHWM is this run's peak
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    out = {"protocol": protocol, "model": model, "s": s, "n": n, "d": d, "k": k, "seed": seed}
    with threadpool_limits(1):
        sim = Simulation(make_model({"kind": model}), parts, params=bound, seed=seed, protocol=protocol, wall_limit=limit)
        w, c = time.perf_counter(), time.process_time()
        try:
            result = sim.run(spec.setup(sim, **bound))
        except TimeLimit:
            out.update(completed=False, wall_s=time.perf_counter() - w, messages=sim.ledger.messages)
            return out
        out.update(completed=True, wall_s=time.perf_counter() - w, cpu_s=time.process_time() - c,
                   messages=result.messages, bits=result.bits, rounds=result.rounds)
    peak = _status("VmHWM")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.update(peak_rss=peak or maxrss, rss_before=rss_before or 0,
               run_memory=(peak - rss_before) if peak and rss_before else None, data_bytes=X.nbytes)
    return out


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("protocol", nargs="?", default="coord_coreset")
    parser.add_argument("--model", default=None, help="the model (default: the protocol's first)")
    parser.add_argument("--s", default="100,300,1000,3000,10000", help="comma-separated numbers of sites")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=3600.0, help="wall-clock seconds allowed per run")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one(args.protocol, args.model, args.one, args.n, args.d, args.k, args.seed, args.limit)))
        return []
    rows = []
    print(f"{args.protocol} (n = {args.n:,}, d = {args.d}, k = {args.k}, seed {args.seed}), one BLAS thread, "
          f"{os.cpu_count()} cores")
    print(f"{'s':>6} {'wall s':>9} {'cpu s':>9} {'messages':>11} {'bits':>13} {'rounds':>9} {'peak RSS MiB':>13} {'run MiB':>8}")
    for s in [int(v) for v in args.s.split(",")]:
        cmd = [sys.executable, os.path.abspath(__file__), args.protocol, "--one", str(s), "--n", str(args.n),
               "--d", str(args.d), "--k", str(args.k), "--seed", str(args.seed), "--limit", str(args.limit)]
        if args.model:
            cmd += ["--model", args.model]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{s:>6} failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
            break
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        if not row["completed"]:
            print(f"{s:>6} did not complete within {args.limit:g} s ({row['messages']:,} messages sent by then)")
            break
        run_mib = "" if row["run_memory"] is None else f"{row['run_memory'] / 2**20:8.0f}"
        print(f"{s:>6} {row['wall_s']:9.2f} {row['cpu_s']:9.2f} {row['messages']:11,} {row['bits']:13,} "
              f"{row['rounds']:9,} {row['peak_rss'] / 2**20:13.0f} {run_mib}", flush=True)
    done = [r for r in rows if r["completed"]]
    if len(done) >= 3:
        from protosim import fit_exponent

        xs = [r["s"] for r in done]
        def exponent(key):
            return fit_exponent(xs, [r[key] for r in done]).exponents["x"]

        line = (f"fitted exponents in s: wall time {exponent('wall_s'):.2f} (target <= 1), CPU time "
                f"{exponent('cpu_s'):.2f}, messages {exponent('messages'):.2f}, peak RSS {exponent('peak_rss'):.2f}")
        if all(r["run_memory"] and r["run_memory"] > 0 for r in done):
            line += f", run memory {exponent('run_memory'):.2f}"
        print(line)
    else:
        print("fitted exponents: need at least 3 completed sizes")
    print(f"largest s completed: {max((r['s'] for r in done), default=0)}; ratio of wall times last/first: "
          + (f"{done[-1]['wall_s'] / done[0]['wall_s']:.2f}" if done else "n/a"))
    return rows


if __name__ == "__main__":
    main()
