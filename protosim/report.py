"""A run's report: tables for the terminal, budget checks, figures, and the space-time diagram.

Everything here works from a :class:`RunResult`, so a report needs nothing but a trace
(:meth:`protosim.trace.Trace.result`). Tables print with rich; figures are matplotlib
figures written as PNG; :func:`space_time` turns the event stream into the arrows of the
space-time diagram. :mod:`protosim.report_html` lays all of it out as one HTML page.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from .budget import Budget, BudgetCheck, format_figure
from .ledger import BOARD, Columns
from .result import FIGURES, RunResult

MAX_ROWS = 20
"""Longest breakdown table printed; the rest is summed in one row."""

MAX_ARROWS = 20_000
"""Arrivals a space-time diagram holds at most: the first ones, in trace order."""

PHASE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")
"""Colours of the first ten phases (matplotlib's tab10), in order of appearance."""
OTHER_COLOR = "#c7c7c7"
"""Colour shared by the phases after the tenth."""

PNG_NAMES = ("bits_by_phase", "bits_by_round", "bits_by_party", "space_time")
"""The figures, by file stem, that ``--png DIR`` writes."""


# -- terminal tables ------------------------------------------------------------------------
def figures_table(result: RunResult, checks=(), title: str | None = None) -> Table:
    """Measured figures, each beside the budgets on it, with pass or fail."""
    table = Table(title=title or run_title(result))
    for col in ("figure", "measured", "budget", "limit", "ok"):
        table.add_column(col, justify="right" if col in ("measured", "limit") else "left")
    by_figure: dict[str, list] = {}
    for check in checks:
        by_figure.setdefault(check.figure, []).append(check)
    for name in shown_figures(result, by_figure):
        checks_here = by_figure.get(name, [])
        whole = [c for c in checks_here if not check_scope(c)]
        if not whole:  # the run's figure itself, even when only a phase or party is budgeted
            table.add_row(name, format_figure(result.figure(name)), "", "", "")
        for check in whole + [c for c in checks_here if check_scope(c)]:
            ok = "[green]pass[/green]" if check.ok else "[red]FAIL[/red]"
            table.add_row(name + check_scope(check), format_figure(check.measured), check.name,
                          format_figure(check.limit), ok)
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


def run_title(result: RunResult) -> str:
    return f"{result.protocol or 'run'} on the {result.model} model (seed {result.seed})"


def shown_figures(result: RunResult, budgeted=()) -> list[str]:
    """The figures worth showing: all but passes and peak memory when they are 0 and unbudgeted."""
    return [name for name in FIGURES
            if name not in ("passes", "peak_memory") or result.figure(name) or name in budgeted]


def check_scope(check: BudgetCheck) -> str:
    """`` (phase)`` or `` (party)`` when a budget is restricted to one, else ``""``."""
    return f" ({check.phase or check.party})" if (check.phase or check.party) else ""


# -- budgets --------------------------------------------------------------------------------
def budget_checks(result: RunResult) -> list[tuple[Budget, BudgetCheck]] | None:
    """The scenario's budgets, rebuilt from the trace and checked; None when it has no scenario."""
    if result.scenario is None:
        return None
    budgets = [Budget.from_dict(b, f"scenario.budgets[{i}]") for i, b in enumerate(result.scenario.get("budgets", []))]
    return [(b, b.check(result)) for b in budgets]


# -- the space-time diagram -----------------------------------------------------------------
@dataclass
class Diagram:
    """The space-time diagram: parties as lanes (top to bottom), one arrow per arrival.

    ``x`` is simulated time, or the event's position in the trace when every event happens
    at the same time (``by_order``; zero latency). An arrow is ``(x_sent, x_arrived, src
    lane, dst lane, phase index, bits, seq, type index)``; a lost message (dropped, cut by a
    partition, or sent to a crashed party) is the same plus the reason; a crash is ``(x,
    lane)``. ``delivered`` counts every arrival; ``arrows`` holds the first ones only when
    there are more than the cap (:data:`MAX_ARROWS` by default).
    """

    lanes: list[str]
    phases: list[str]
    types: list[str]
    arrows: list[tuple]
    lost: list[tuple]
    crashes: list[tuple]
    by_order: bool
    time: float
    delivered: int

    @property
    def capped(self) -> bool:
        return self.delivered > len(self.arrows)


def space_time(result: RunResult, cap: int = MAX_ARROWS) -> Diagram:
    """The diagram of ``result``'s events: a ``deliver`` event and its ``msg`` row make an arrow."""
    c = result.columns()
    names, at = c.names, c.at
    by_order = len(c.time) > 0 and c.time.min() == c.time.max()
    lanes = party_order({names[i] for i in np.union1d(c.src, c.dst).tolist()})
    lane = {name: i for i, name in enumerate(lanes)}
    phases = phase_order(c)
    types = [names[i] for i in _first_seen(c.type[at]).tolist()]
    phase = {name: i for i, name in enumerate(phases)}
    kind = {name: i for i, name in enumerate(types)}

    def x(i):
        return i if by_order else float(c.time[i])

    def arrow(i):  # event i delivers, drops or cuts message s, which event j sent
        s = int(c.seq[i])
        j = int(at[s])
        return (x(j), x(i), lane[names[c.src[j]]], lane[names[c.dst[j]]], phase[names[c.phase[s]]], int(c.bits[s]),
                s, kind[names[c.type[j]]])

    arrival = c.of_kind("deliver", "drop", "partition") & (c.seq >= 0) & (c.seq < len(c.bits))
    delivers = arrival & c.of_kind("deliver")
    arrows = [arrow(i) for i in np.flatnonzero(delivers)[:cap].tolist()]
    lost = [arrow(i) + (names[c.kind[i]],) for i in np.flatnonzero(arrival & ~delivers)[:cap].tolist()]
    crashes = [(x(i), lane[names[c.src[i]]]) for i in np.flatnonzero(c.of_kind("crash")).tolist()]
    start = float(c.time.min()) if len(c.time) else 0.0
    return Diagram(lanes, phases, types, arrows, lost, crashes, bool(by_order), start, int(delivers.sum()))


def party_order(names) -> list[str]:
    """Lanes top to bottom: the board, the coordinator, then the rest in natural order (site2 < site10)."""
    first = {BOARD: 0, "coord": 1}
    return sorted(names, key=lambda n: (first.get(n, 2), [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", n)]))


def phase_order(columns: Columns) -> list[str]:
    """Phases in order of their first message; a phase's colour is its index here."""
    return [columns.names[i] for i in _first_seen(columns.phase).tolist()]


def _first_seen(codes: np.ndarray) -> np.ndarray:
    """The distinct values of ``codes`` in order of their first occurrence."""
    values, first = np.unique(codes, return_index=True)
    return values[np.argsort(first)]


def phase_color(index: int) -> str:
    return PHASE_COLORS[index] if index < len(PHASE_COLORS) else OTHER_COLOR


# -- figures --------------------------------------------------------------------------------
def figures(result: RunResult, diagram: Diagram | None = None) -> dict:
    """The report's matplotlib figures by name: bits by phase, round and party, and the
    static space-time diagram when ``diagram`` is given."""
    out = {"bits_by_phase": _bits_by_phase(result), "bits_by_round": _bits_by_round(result),
           "bits_by_party": _bits_by_party(result)}
    if diagram is not None:
        out["space_time"] = _space_time(diagram)
    return out


def png(fig) -> bytes:
    """A figure as PNG bytes (no metadata, so the same run gives the same file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def write_pngs(result: RunResult, out: str | Path) -> list[Path]:
    """Write every figure, the space-time diagram included, as ``OUT/<name>.png``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures(result, space_time(result)).items():
        path = out / f"{name}.png"
        path.write_bytes(png(fig))
        paths.append(path)
    return paths


def _figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def _bits_by_phase(result: RunResult):
    rows = result.by_phase
    fig, ax = _figure(height=max(2.4, 1.2 + 0.32 * min(len(rows), MAX_ROWS)))
    order = phase_order(result.columns())
    items = sorted(rows.items(), key=lambda kv: -kv[1]["bits"])[:MAX_ROWS]
    bars = ax.barh([k or "(none)" for k, _ in items], [v["bits"] for _, v in items],
                   color=[phase_color(order.index(k)) for k, _ in items])
    ax.bar_label(bars, [format_figure(v["bits"]) for _, v in items], padding=3, fontsize="small")
    ax.margins(x=0.18)
    ax.invert_yaxis()
    ax.set_xlabel("bits")
    shown = f" (largest {MAX_ROWS} of {len(rows)})" if len(rows) > MAX_ROWS else ""
    ax.set_title("bits by phase" + shown)
    return fig


def _bits_by_round(result: RunResult):
    """Bits per round (causal depth), stacked by phase."""
    fig, ax = _figure()
    c = result.columns()
    rounds, round_of = np.unique(c.depth, return_inverse=True)
    phase_ids = _first_seen(c.phase)
    row_of = np.zeros(len(c.names), dtype=np.intp)
    row_of[phase_ids] = np.arange(len(phase_ids))
    stacks = np.zeros((len(phase_ids), len(rounds)), dtype=np.int64)
    np.add.at(stacks, (row_of[c.phase], round_of), np.ascontiguousarray(c.bits))
    order = [c.names[i] for i in phase_ids.tolist()]
    rounds = rounds.tolist()
    bottom = [0] * len(rounds)
    for i, p in enumerate(order):
        heights = stacks[i].tolist()
        label = (p or "(none)") if i < len(PHASE_COLORS) else ("other phases" if i == len(PHASE_COLORS) else None)
        ax.bar(rounds, heights, bottom=bottom, color=phase_color(i), label=label, width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_xlabel("round (causal depth)")
    ax.set_ylabel("bits")
    ax.set_title("bits by round")
    if len(rounds) <= 20:
        ax.set_xticks(rounds)
    if len(order) > 1:
        ax.legend(fontsize="small", title="phase", title_fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    return fig


def _bits_by_party(result: RunResult):
    """Bits sent and received per party, in lane order (as steps when there are too many for bars)."""
    rows = result.by_party
    names = party_order(rows)
    sent, received = [rows[n]["bits"] for n in names], [rows[n]["received_bits"] for n in names]
    fig, ax = _figure(width=max(6.4, min(12.0, 2 + 0.35 * len(names))))
    xs = range(len(names))
    if len(names) <= 40:
        ax.bar([x - 0.2 for x in xs], sent, width=0.4, label="sent", color="#1f77b4")
        ax.bar([x + 0.2 for x in xs], received, width=0.4, label="received", color="#aec7e8")
        tilt = len(names) > 8
        ax.set_xticks(list(xs), names, rotation=60 if tilt else 0, ha="right" if tilt else "center", fontsize="small")
    else:
        edges = [x - 0.5 for x in range(len(names) + 1)]
        ax.stairs(sent, edges, fill=True, label="sent", color="#1f77b4")
        ax.stairs(received, edges, label="received", color="#ff7f0e")
        ax.set_xticks([])
        ax.set_xlabel(f"{len(names)} parties, in natural order ({names[0]} … {names[-1]})")
    ax.set_ylabel("bits")
    ax.set_title("bits by party" + (" (posts count as sent only)" if result.model == "blackboard" else ""))
    ax.legend(fontsize="small")
    return fig


def _space_time(d: Diagram):
    """A static space-time diagram: arrows from (sent, src lane) to (arrived, dst lane)."""
    n = len(d.lanes)
    fig, ax = _figure(width=10, height=max(3.0, min(14.0, 1.2 + 0.3 * n)))
    if d.arrows:
        a = np.array([r[:5] for r in d.arrows], dtype=float)
        ax.quiver(a[:, 0], a[:, 2], a[:, 1] - a[:, 0], a[:, 3] - a[:, 2], angles="xy", scale_units="xy", scale=1,
                  color=[phase_color(int(p)) for p in a[:, 4]], width=0.0018, headwidth=5, headlength=6,
                  headaxislength=5, alpha=0.8)
    for x0, x1, src, dst, *_ in d.lost:
        ax.plot([x0, x1], [src, dst], color="#d62728", linestyle="--", linewidth=0.8)
        ax.plot([x1], [dst], marker="x", color="#d62728")
    for x, lane in d.crashes:
        ax.plot([x], [lane], marker="X", markersize=10, color="black")
    step = max(1, n // 40)
    ax.set_yticks(range(0, n, step), d.lanes[::step], fontsize="small")
    ax.set_ylim(n - 0.5, -0.5)
    ax.grid(axis="y", color="#eeeeee")
    ax.set_axisbelow(True)
    xs = [v for r in d.arrows + d.lost for v in r[:2]] + [c[0] for c in d.crashes]
    if xs and min(xs) == max(xs):
        ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_xlabel(f"event order (every event happens at t = {format_figure(d.time)})" if d.by_order else "simulated time (s)")
    capped = f"; the first {len(d.arrows):,} of {d.delivered:,} arrivals" if d.capped else ""
    ax.set_title(f"space-time diagram: {d.delivered:,} arrivals{capped}")
    handles = [ax.plot([], [], color=phase_color(i), label=p or "(none)")[0] for i, p in enumerate(d.phases[:len(PHASE_COLORS)])]
    if len(handles) > 1:
        ax.legend(handles=handles, fontsize="small", title="phase", loc="upper left", bbox_to_anchor=(1, 1))
    return fig

