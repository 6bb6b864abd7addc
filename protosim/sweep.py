"""Sweeps: run a scenario over a grid of parameter values and fit growth exponents.

    protosim sweep scenarios/demo.toml --vary s=10,100,1000 --repeat 3 --out runs/demo

Every grid point is the scenario with overrides (``partition.s = 100``, ``seed = base + r``
for repeat r); it runs in a local process pool. A failed point (an exception, a deadlock)
is recorded with its error and does not stop the sweep. The output folder gets
``results.csv``, ``results.json``, ``fits.json`` (log-log exponents of each figure in the
varied keys, with residuals) and one PNG per varied key: the measured bits against each
budget's curve.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .budget import fit_exponents
from .errors import ConfigError, ProtosimError
from .scenario import Scenario, resolve_key

FIT_FIGURES = ("bits", "wire_bytes", "messages", "rounds")


@dataclass
class SweepResult:
    rows: list[dict]
    fits: dict
    out: Path

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r.get("error")]


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


def run_point(data: dict, source: str, overrides: dict) -> dict:
    """Run one grid point; never raises for a protocol or input failure (records it)."""
    row: dict[str, Any] = {"overrides": overrides}
    try:
        result, checks = Scenario.from_dict(data, source, overrides).run()
    except (ProtosimError, ValueError, ArithmeticError) as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    row.update(result.to_dict())
    row["budgets"] = [c.to_dict() for c in checks]
    row["budgets_ok"] = all(c.ok for c in checks)
    return row


def run_sweep(scenario: Scenario, vary: dict[str, list], out: str | Path, repeat: int = 1,
              workers: int | None = None, progress: bool = True) -> SweepResult:
    points = grid(scenario, vary, repeat)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict | None] = [None] * len(points)
    workers = workers or min(len(points), os.cpu_count() or 1)
    bar = _progress(progress)
    with bar, ProcessPoolExecutor(max_workers=workers) as pool:
        task = bar.add_task("grid points", total=len(points), failed=0)
        futures = {pool.submit(run_point, scenario.data, scenario.source, p): i for i, p in enumerate(points)}
        failed = 0
        for future in as_completed(futures):
            row = future.result()
            rows[futures[future]] = row
            failed += bool(row.get("error"))
            bar.update(task, advance=1, failed=failed)
    keys = [k for k in points[0] if k != "seed"] if points else []
    fits = fit_rows(rows, keys)
    _write(out, rows, fits)
    plot_sweep(rows, keys, out)
    return SweepResult(rows, fits, out)


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
    """One log-log PNG per varied key: the measured figure and each budget's limit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    good = [r for r in rows if not r.get("error")]
    for key in keys:
        if not good or not all(isinstance(r["overrides"][key], (int, float)) for r in good):
            continue
        fig, ax = plt.subplots(figsize=(6, 4.2))
        others = [k for k in keys if k != key]
        groups: dict[tuple, list] = {}
        for r in good:
            groups.setdefault(tuple(r["overrides"][k] for k in others), []).append(r)
        for label, group in groups.items():
            group.sort(key=lambda r: r["overrides"][key])
            xs = [r["overrides"][key] for r in group]
            suffix = (" " + ", ".join(f"{k}={v}" for k, v in zip(others, label))) if others else ""
            ax.plot(xs, [r[figure] for r in group], "o-", label=f"measured {figure}{suffix}")
            for name in sorted({b["name"] for r in group for b in r["budgets"] if b["figure"] == figure}):
                limits = [next(b["limit"] for b in r["budgets"] if b["name"] == name) for r in group]
                ax.plot(xs, limits, "--", label=f"budget {name}{suffix}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(figure)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{figure}_vs_{key.replace('.', '_')}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"), TimeElapsedColumn(), disable=not enabled,
    )
