"""Tables of a run's figures, budgets and breakdowns, printed with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .budget import format_figure
from .result import FIGURES, RunResult

MAX_ROWS = 20
"""Longest breakdown table printed; the rest is summed in one row."""


def figures_table(result: RunResult, checks=(), title: str | None = None) -> Table:
    """Measured figures, each beside the budgets on it, with pass or fail."""
    table = Table(title=title or f"{result.protocol or 'run'} on the {result.model} model (seed {result.seed})")
    for col in ("figure", "measured", "budget", "limit", "ok"):
        table.add_column(col, justify="right" if col in ("measured", "limit") else "left")
    by_figure: dict[str, list] = {}
    for check in checks:
        by_figure.setdefault(check.figure, []).append(check)
    for name in FIGURES:
        if name in ("passes", "peak_memory") and not result.figure(name) and name not in by_figure:
            continue
        measured = format_figure(result.figure(name))
        rows = by_figure.get(name) or [None]
        for check in rows:
            if check is None:
                table.add_row(name, measured, "", "", "")
            else:
                scope = f" ({check.phase or check.party})" if (check.phase or check.party) else ""
                ok = "[green]pass[/green]" if check.ok else "[red]FAIL[/red]"
                table.add_row(name + scope, format_figure(check.measured), check.name, format_figure(check.limit), ok)
    return table


def breakdown_table(title: str, rows: dict, key_name: str) -> Table:
    """One breakdown (by phase, party, round or type), largest first beyond MAX_ROWS."""
    table = Table(title=title)
    columns = list(next(iter(rows.values())).keys()) if rows else ["bits"]
    table.add_column(key_name)
    for col in columns:
        table.add_column(col, justify="right")
    items = list(rows.items())
    if len(items) > MAX_ROWS:
        items.sort(key=lambda kv: -kv[1].get("bits", 0))
        rest = items[MAX_ROWS - 1:]
        items = items[:MAX_ROWS - 1] + [(f"… {len(rest)} more", {c: sum(v[c] for _, v in rest) for c in columns})]
    for key, values in items:
        table.add_row(str(key) if key != "" else "(none)", *(format_figure(values[c]) for c in columns))
    return table


def print_run(result: RunResult, checks=(), console: Console | None = None, breakdowns: bool = False) -> None:
    console = console or Console()
    console.print(figures_table(result, checks))
    outputs = result.outputs()
    if outputs:
        console.print("outputs: " + ", ".join(f"{k}={format_figure(v) if isinstance(v, (int, float)) else v}" for k, v in outputs.items()))
    if result.crashed:
        console.print(f"crashed: {', '.join(result.crashed)}")
    if breakdowns:
        print_breakdowns(result, console)
    console.print(f"fingerprint {result.fingerprint}")


def print_breakdowns(result: RunResult, console: Console) -> None:
    console.print(breakdown_table("by phase", result.by_phase, "phase"))
    console.print(breakdown_table("by party", result.by_party, "party"))
    console.print(breakdown_table("by round (causal depth)", result.by_round, "round"))
    console.print(breakdown_table("by message type", result.by_type, "type"))
