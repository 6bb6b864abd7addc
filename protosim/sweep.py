"""Sweeps: run a scenario over a grid of parameter values and fit growth exponents.

    protosim sweep scenarios/demo.toml --vary s=10,100,1000 --repeat 3 --out runs/demo
    protosim sweep ... --scheduler tcp://host:8786      # the same grid on a Dask cluster
    protosim sweep ... --resume                         # skip the points runs/demo already has

Every grid point is the scenario with overrides (``partition.s = 100``, ``seed = base + r``
for repeat r) and one task, :func:`run_point`: its payload is the scenario dict, its source
name and the overrides, never the dataset, and it returns one result row. A local process
pool runs the tasks, or a Dask cluster when a scheduler address is given; rows land in
grid order, so the output is the same either way (docs/scaling.md).

A failed point (an exception, a deadlock, a budget that fails) is recorded and the sweep
goes on; a point whose worker dies is rerun, a bounded number of times. Each finished point
is appended to ``points.jsonl`` as it completes, so an interrupted sweep resumes where it
stopped. At the end the output folder gets ``results.csv``, ``results.json``, ``fits.json``
(log-log exponents of each figure in the varied keys, with residuals) and one PNG per varied
key: the measured bits against each budget's curve.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .budget import fit_exponents
from .errors import ConfigError
from .registry import protocol_modules
from .scenario import Scenario, resolve_key

FIT_FIGURES = ("bits", "wire_bytes", "messages", "rounds")
POINTS_FILE = "points.jsonl"
RETRIES = 2
"""Reruns of a point before it is recorded as lost: after its worker died (local pool), or
after its task raised (Dask, whose scheduler reruns a task whose worker died by itself)."""
CONNECT_TIMEOUT = 10.0
"""Seconds to reach a Dask scheduler, and then for a worker to be there."""

Outcome = Iterator[tuple[int, dict, bool]]
"""What a backend yields as points end: (payload index, row, finished); not finished = lost."""


@dataclass
class SweepResult:
    rows: list[dict]
    fits: dict
    out: Path
    resumed: int = 0

    @property
    def failed(self) -> list[dict]:
        """Rows with an error (exception, deadlock, lost worker) or a budget that fails."""
        return [r for r in self.rows if is_failed(r)]


def is_failed(row: dict) -> bool:
    """A row with an error or a budget that fails: counted as failed in the bar and the exit code."""
    return bool(row.get("error")) or row.get("budgets_ok") is False


def grid(scenario: Scenario, vary: dict[str, list], repeat: int = 1) -> list[dict[str, Any]]:
    """The overrides of every grid point, in a fixed order (keys resolved to dotted paths)."""
    if repeat < 1:
        raise ConfigError(f"--repeat: must be >= 1, got {repeat}")
    keys = {resolve_key(scenario.data, k): v for k, v in vary.items()}
    for key, values in keys.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"--vary {key}: expected a non-empty list of values, got {values!r}")
    points = []
    for combo in itertools.product(*keys.values()):
        for r in range(repeat):
            point = dict(zip(keys, combo))
            point["seed"] = scenario.seed + r
            points.append(point)
    return points


def point_key(data: dict, overrides: dict) -> str:
    """A stable hash of the scenario and one point's overrides: the point's name in points.jsonl."""
    text = json.dumps([data, overrides], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_point(data: dict, source: str, overrides: dict) -> dict:
    """Run one grid point; never raises for a failure of the run (records it as ``error``)."""
    row: dict[str, Any] = {"overrides": overrides}
    try:
        result, checks = Scenario.from_dict(data, source, overrides).run()
    except Exception as exc:  # noqa: BLE001 (a protocol bug at one point must not end the sweep)
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    row.update(result.to_dict())
    row["budgets"] = [c.to_dict() for c in checks]
    row["budgets_ok"] = all(c.ok for c in checks)
    return row


def run_sweep(scenario: Scenario, vary: dict[str, list], out: str | Path, repeat: int = 1,
              workers: int | None = None, progress: bool = True, scheduler: str | None = None,
              resume: bool = False, retries: int = RETRIES) -> SweepResult:
    """Run the grid in a local pool (``workers`` processes) or on the Dask ``scheduler``; write the outputs.

    With ``resume``, points already in ``out/points.jsonl`` (same scenario, same overrides)
    are taken from there instead of being run again. Local workers start from a fork
    server, so a script that calls this must guard its entry point with
    ``if __name__ == "__main__":``, as any non-fork multiprocessing start requires.
    """
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers: must be >= 1, got {workers}")
    if scheduler and workers:
        raise ConfigError(f"--workers {workers}: the cluster at --scheduler {scheduler} has its own workers; "
                          "give one or the other")
    points = grid(scenario, vary, repeat)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / POINTS_FILE
    keys = [point_key(scenario.data, p) for p in points]
    stored = load_points(log_path) if resume else {}
    rows: list[dict | None] = [stored.get(k) for k in keys]
    todo = [i for i, row in enumerate(rows) if row is None]
    payloads = [(scenario.data, scenario.source, points[i]) for i in todo]
    with ExitStack() as stack:
        if scheduler:
            outcomes = _on_cluster(stack.enter_context(_connect(scheduler)), payloads, retries)
        else:
            outcomes = _in_pool(payloads, workers or min(len(todo), os.cpu_count() or 1), retries)
        stack.enter_context(closing(outcomes))
        log = stack.enter_context(_open_log(log_path, resume))
        bar = stack.enter_context(_progress(progress))
        failed = sum(is_failed(r) for r in rows if r is not None)
        task = bar.add_task("grid points", total=len(points), completed=len(points) - len(todo), failed=failed)
        for j, row, finished in outcomes:
            i = todo[j]
            rows[i] = row = json.loads(json.dumps(row, default=str))  # exactly what a resume reads back
            if finished:
                log.write(json.dumps({"key": keys[i], "row": row}) + "\n")
                log.flush()
            failed += is_failed(row)
            bar.update(task, advance=1, failed=failed)
    varied = [k for k in points[0] if k != "seed"] if points else []
    fits = fit_rows(rows, varied)
    _write(out, rows, fits)
    plot_sweep(rows, varied, out)
    return SweepResult(rows, fits, out, resumed=len(points) - len(todo))


# -- the two backends -----------------------------------------------------------------------
def _in_pool(payloads: list[tuple], workers: int, retries: int) -> Outcome:
    """Run the points in local worker processes, at most ``workers`` in flight.

    A worker that dies breaks the pool: each point in flight is charged a loss and queued
    again for a fresh pool. A point lost before (a suspect) never runs beside another
    suspect, so the point that kills its worker ends up alone and its neighbours are not
    charged twice. A point lost more than ``retries`` times is yielded as not finished.
    """
    # Workers come from a fork server, not a fork of this process: a fork taken after
    # scikit-learn's OpenMP threads have run here can hang the child. The server preloads
    # protosim and the registered protocols once; each worker is a fork of that clean process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["protosim.scenario", *protocol_modules()])
    todo = list(range(len(payloads)))
    losses = [0] * len(payloads)
    while todo:
        todo.sort()
        broken = False
        running: dict = {}
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context,
                                 initializer=_adopt_environment, initargs=(dict(os.environ),)) as pool:
            while running or (todo and not broken):
                while not broken and len(running) < workers:
                    i = _next_point(todo, running.values(), losses)
                    if i is None:
                        break
                    try:
                        running[pool.submit(run_point, *payloads[i])] = i
                    except BrokenProcessPool:  # a worker died while idle
                        broken = True
                        break
                    todo.remove(i)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    i = running.pop(future)
                    try:
                        row = future.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        losses[i] += 1
                        if losses[i] <= retries:
                            todo.append(i)
                        else:
                            reason = f"lost: its worker process died {losses[i]} times ({exc})"
                            yield i, {"overrides": payloads[i][2], "error": reason}, False
                        continue
                    yield i, row, True


def _next_point(todo: list[int], running, losses: list[int]) -> int | None:
    """The first queued point that may start: a suspect only while no other suspect runs."""
    suspect_running = any(losses[j] for j in running)
    return next((i for i in todo if not (losses[i] and suspect_running)), None)


def _connect(address: str):
    """A Dask client of the scheduler at ``address`` with at least one worker, or a ConfigError."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        client.close()
        raise ConfigError(f"--scheduler {address}: no worker joined within {CONNECT_TIMEOUT:g} s") from None
    return client


def _on_cluster(client, payloads: list[tuple], retries: int) -> Outcome:
    """Run each point as one Dask task.

    The scheduler reruns a task whose worker died (its ``allowed-failures`` setting); a task
    that still fails (KilledWorker) is yielded as not finished.
    """
    from distributed import as_completed

    futures = {client.submit(run_point, *p, retries=retries, pure=False): j for j, p in enumerate(payloads)}
    for future in as_completed(futures, loop=client.loop):
        j = futures.pop(future)
        if future.status == "finished":
            yield j, future.result(), True
            continue
        exc = future.exception() if future.status == "error" else None
        reason = f"{type(exc).__name__}: {exc}" if exc else f"the task was {future.status}"
        yield j, {"overrides": payloads[j][2], "error": f"lost: {reason}"}, False


# -- the points log -------------------------------------------------------------------------
def load_points(path: Path) -> dict[str, dict]:
    """Finished rows by point key; a missing file is empty and a line cut short by a kill is skipped."""
    if not path.exists():
        return {}
    stored = {}
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            stored[entry["key"]] = entry["row"]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return stored


def _open_log(path: Path, resume: bool):
    """points.jsonl for appending (resume) or from scratch; a line cut short by a kill is ended first."""
    if not resume:
        return open(path, "w")
    if path.exists() and path.stat().st_size:
        with open(path, "rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
    return open(path, "a")


def fit_rows(rows: list[dict], keys: list[str]) -> dict:
    """Log-log exponents of each figure in the varied numeric keys, or the reason there are none."""
    numeric = [k for k in keys if all(isinstance(r["overrides"][k], (int, float)) for r in rows)]
    good = [r for r in rows if not r.get("error")]
    flat = [{**{k: r["overrides"][k] for k in numeric}, **{f: r[f] for f in FIT_FIGURES}} for r in good]
    fits = {}
    for figure in FIT_FIGURES:
        try:
            fit = fit_exponents(flat, numeric, figure)
            fits[figure] = {"exponents": fit.exponents, "intercept": fit.intercept,
                            "residual": fit.residual, "points": fit.n_points}
        except ConfigError as exc:
            fits[figure] = {"error": str(exc)}
    return fits


def _write(out: Path, rows: list[dict], fits: dict) -> None:
    (out / "results.json").write_text(json.dumps(rows, indent=1, default=str))
    (out / "fits.json").write_text(json.dumps(fits, indent=1))
    columns: list[str] = []
    flat_rows = []
    for row in rows:
        flat = {**{f"set.{k}": v for k, v in row["overrides"].items()},
                **{k: v for k, v in row.items() if k not in ("overrides", "budgets", "params")},
                **{f"param.{k}": v for k, v in row.get("params", {}).items()},
                **{f"budget.{b['name']}.ok": b["ok"] for b in row.get("budgets", [])}}
        flat_rows.append(flat)
        columns += [c for c in flat if c not in columns]
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(flat_rows)


def plot_sweep(rows: list[dict], keys: list[str], out: Path, figure: str = "bits") -> list[Path]:
    """One PNG per varied key, two panels.

    Left, log-log: the measured figure (mean over repeats, bars from min to max) and each
    budget's curve (upper bounds dashed, lower bounds dotted). Right: the measured figure
    divided by each bound. A flat line there means the bound grows as the protocol does;
    its height is the hidden constant (below 1 for an upper bound that holds, above 1 for a
    lower bound).
    """
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    good = [r for r in rows if not r.get("error")]
    for key in keys:
        if not good or not all(isinstance(r["overrides"][key], (int, float)) for r in good):
            continue
        fig, (ax, norm) = plt.subplots(1, 2, figsize=(11, 4.4))
        others = [k for k in keys if k != key]
        groups: dict[str, list] = {}
        for r in good:  # values may be lists or tables (e.g. faults), so group by their JSON
            groups.setdefault(json.dumps([r["overrides"][k] for k in others], default=str), []).append(r)
        for group in groups.values():
            suffix = (" " + ", ".join(f"{k}={group[0]['overrides'][k]}" for k in others)) if others else ""
            xs, measured = _by_x(group, key, lambda r: r[figure])
            line = ax.errorbar(xs, measured[:, 0], yerr=_spread(measured), fmt="o-", capsize=2,
                               label=f"measured {figure}{suffix}")
            for name in sorted({b["name"] for r in group for b in r["budgets"] if b["figure"] == figure}):
                budget = lambda r, name=name: next(b for b in r["budgets"] if b["name"] == name)  # noqa: E731
                lower = budget(group[0]).get("kind") == "lower"
                scope = budget(group[0]).get("phase") or budget(group[0]).get("party")
                label = f"{'lower' if lower else 'upper'} bound {name}{f' ({scope})' if scope else ''}{suffix}"
                _, limit = _by_x(group, key, lambda r: budget(r)["limit"])
                ax.plot(xs, limit[:, 0], ":" if lower else "--", color=line[0].get_color(), label=label)
                _, ratio = _by_x(group, key, lambda r: budget(r)["measured"] / budget(r)["limit"] if budget(r)["limit"] else float("nan"))
                norm.errorbar(xs, ratio[:, 0], yerr=_spread(ratio), fmt="o:" if lower else "o--", capsize=2, label=label)
        for a in (ax, norm):
            a.set_xscale("log")
            a.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            a.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            a.set_xlabel(key)
            a.grid(True, which="both", alpha=0.3)
        ax.set_yscale("log")
        ax.set_ylabel(figure)
        ax.legend(fontsize=7)
        norm.axhline(1.0, color="grey", lw=0.8)
        ratios = [y for line in norm.lines for y in line.get_ydata() if y > 0]
        if ratios and max(ratios) / min(ratios) > 4:
            norm.set_yscale("log")
        norm.set_ylabel("measured / bound")
        norm.set_title("flat = the bound's growth; height = its hidden constant", fontsize=9)
        if norm.lines:
            norm.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{figure}_vs_{key.replace('.', '_')}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _by_x(group: list[dict], key: str, value) -> tuple[list, np.ndarray]:
    """Distinct x values of ``key`` and, per x, (mean, min, max) of ``value(row)`` over repeats."""
    xs = sorted({r["overrides"][key] for r in group})
    stats = []
    for x in xs:
        v = np.array([value(r) for r in group if r["overrides"][key] == x], dtype=float)
        stats.append((v.mean(), v.min(), v.max()))
    return xs, np.array(stats)


def _spread(stats):
    """Error bars from the mean down to the min and up to the max."""
    return [stats[:, 0] - stats[:, 1], stats[:, 2] - stats[:, 0]]


def _adopt_environment(environ: dict) -> None:
    """Give a worker the caller's environment as it is now (the fork server's is older)."""
    os.environ.clear()
    os.environ.update(environ)


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("done · {task.fields[failed]} failed · {task.remaining:.0f} left"), TimeElapsedColumn(),
        disable=not enabled,
    )
