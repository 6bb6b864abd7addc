"""The ``protosim`` command: run | sweep | replay | report | list.

Exit codes: 0 success; 1 a budget failed (run), a grid point failed or went over budget
(sweep), or a replay differs; 2 bad input (the message names the key and the value); 3 the
run could not finish (deadlock, time limit, model violation), with the report of who waits
for what.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from .errors import CodecError, ConfigError, Deadlock, ModelViolation, TraceError

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_STUCK = 0, 1, 2, 3


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    console = Console(stderr=False)
    errors = Console(stderr=True)
    try:
        return args.func(args, console)
    except (ConfigError, TraceError) as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        return EXIT_INPUT
    except (Deadlock, ModelViolation, CodecError) as exc:
        errors.print(f"[red]{type(exc).__name__}:[/red] {exc}", highlight=False)
        return EXIT_STUCK


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="protosim", description="Communication-protocol simulator with exact bit accounting.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario; print figures beside budgets; write its trace")
    run.add_argument("scenario", type=Path)
    run.add_argument("--trace", type=Path, help="trace file (default traces/<scenario>.trace)")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a scenario key")
    run.add_argument("--breakdowns", action="store_true", help="also print per-phase/party/round/type tables")
    run.set_defaults(func=cmd_run)

    sweep = sub.add_parser("sweep", help="run a grid of parameter values; fit growth exponents")
    sweep.add_argument("scenario", type=Path)
    sweep.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...", required=True)
    sweep.add_argument("--repeat", type=int, default=1)
    sweep.add_argument("--out", type=Path, required=True)
    sweep.add_argument("--workers", type=int, help="local pool size (default: one per core, at most one per point)")
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask cluster, e.g. tcp://host:8786")
    sweep.add_argument("--resume", action="store_true", help="skip the points already finished in --out")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sweep.set_defaults(func=cmd_sweep)

    replay = sub.add_parser("replay", help="re-run a trace's scenario; exit 1 at the first difference")
    replay.add_argument("trace", type=Path)
    replay.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    replay.set_defaults(func=cmd_replay)

    report = sub.add_parser("report", help="figures, budgets and breakdowns from a trace alone; HTML or PNG")
    report.add_argument("trace", type=Path)
    report.add_argument("--json", action="store_true")
    report.add_argument("--html", type=Path, metavar="OUT.html", help="write a self-contained HTML report")
    report.add_argument("--png", type=Path, metavar="DIR", help="write the figures as PNG files into DIR")
    report.set_defaults(func=cmd_report)

    ls = sub.add_parser("list", help="models, protocols and datasets")
    ls.set_defaults(func=cmd_list)
    return p


def cmd_run(args, console: Console) -> int:
    from .report import print_run
    from .scenario import Scenario, parse_assignments
    from .trace import write_trace

    scenario = Scenario.load(args.scenario, parse_assignments(args.set))
    result, checks = scenario.run()
    trace = args.trace or Path("traces") / f"{args.scenario.stem}.trace"
    write_trace(trace, result)
    if args.json:
        out = result.to_dict()
        out["budgets"] = [{k: c.to_dict()[k] for k in ("name", "figure", "limit", "measured", "ok")} for c in checks]
        out["trace"] = str(trace)
        print(json.dumps(out, default=str))
    else:
        print_run(result, checks, console, breakdowns=args.breakdowns)
        console.print(f"trace written to {trace}")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAIL


def cmd_sweep(args, console: Console) -> int:
    from .scenario import Scenario, parse_assignments, parse_value
    from .sweep import POINTS_FILE, run_sweep

    scenario = Scenario.load(args.scenario, parse_assignments(args.set))
    vary = {}
    for item in args.vary:
        key, sep, values = item.partition("=")
        if not sep or not values:
            raise ConfigError(f"--vary {item!r}: expected key=v1,v2,...")
        vary[key.strip()] = [parse_value(v.strip()) for v in values.split(",")]
    result = run_sweep(scenario, vary, args.out, repeat=args.repeat, workers=args.workers,
                       scheduler=args.scheduler, resume=args.resume)
    if result.resumed:
        console.print(f"resumed {result.resumed} of {len(result.rows)} points from {result.out / POINTS_FILE}")
    for figure, fit in result.fits.items():
        if "error" in fit:
            console.print(f"{figure}: no fit ({fit['error']})")
        else:
            shown = ", ".join(f"{k}^{v:.3f}" for k, v in fit["exponents"].items())
            console.print(f"{figure} ~ {shown}  (rms log2 residual {fit['residual']:.3f}, {fit['points']} points)")
    for row in result.failed:
        reason = row.get("error") or "over budget: " + "; ".join(
            f"{b['name']} ({b['figure']} {b['measured']:g} > {b['limit']:g})" for b in row["budgets"] if not b["ok"])
        console.print(f"[red]failed[/red] {row['overrides']}: {reason}", highlight=False, soft_wrap=True)
    console.print(f"results in {result.out}")
    return EXIT_OK if not result.failed else EXIT_FAIL


def cmd_replay(args, console: Console) -> int:
    from .scenario import parse_assignments
    from .trace import replay

    report = replay(args.trace, parse_assignments(args.set))
    if report.identical:
        console.print(f"identical: {args.trace} replays bit for bit")
        return EXIT_OK
    console.print(f"[red]differs:[/red] {report.describe()}", highlight=False)
    return EXIT_FAIL


def cmd_report(args, console: Console) -> int:
    from .report import budget_checks, print_breakdowns, print_run, write_pngs
    from .report_html import write_html
    from .trace import read_trace

    trace = read_trace(args.trace)
    result = trace.result()
    written = []
    if args.html:
        written.append(write_html(trace, args.html, source=args.trace.name))
    if args.png:
        written += write_pngs(result, args.png)
    if args.json:
        print(json.dumps({**result.to_dict(), "by_phase": result.by_phase, "by_party": result.by_party,
                          "by_round": {str(k): v for k, v in result.by_round.items()}, "by_type": result.by_type}, default=str))
        return EXIT_OK
    if written:
        console.print("\n".join(f"wrote {path}" for path in written), highlight=False)
        return EXIT_OK
    print_run(result, [c for _, c in budget_checks(result) or ()], console)
    print_breakdowns(result, console)
    return EXIT_OK


def cmd_list(args, console: Console) -> int:
    from rich.table import Table

    from .datasets import DATASETS
    from .models import MODELS, TOPOLOGIES
    from .partitions import PARTITIONS
    from .registry import protocols

    sections = [
        ("models", {k: m.description for k, m in MODELS.items()}),
        ("protocols", {k: f"{p.description} [{', '.join(p.models)}]" for k, p in protocols().items()}),
        ("datasets", {k: d.description for k, d in DATASETS.items()}),
        ("partitions", {k: p.description for k, p in PARTITIONS.items()}),
        ("graph topologies", TOPOLOGIES),
    ]
    for title, items in sections:
        table = Table(title=title, show_header=False)
        table.add_column("name", style="bold")
        table.add_column("description")
        for name, text in items.items():
            table.add_row(name, text)
        console.print(table)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
