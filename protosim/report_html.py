"""The HTML report: one self-contained page built from a trace alone.

The page holds the totals, the budget table, an interactive space-time diagram, the
figures and the breakdowns. Nothing comes from the network: CSS and JavaScript are
inline, the figures are PNG data URIs, and the diagram's SVG is drawn by the page's own
script from the arrows embedded as JSON. The script marks the ``<html>`` element with
``data-diagram="ok:<arrows drawn>"``, or ``"script-error:<message>"`` when it fails, so a
headless browser can tell that the diagram rendered.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

from .budget import UNITS, format_figure, pretty_bound
from .report import (
    MAX_ROWS,
    PHASE_COLORS,
    Diagram,
    budget_checks,
    check_scope,
    figures,
    phase_color,
    png,
    run_title,
    shown_figures,
    space_time,
)
from .result import RunResult
from .trace import Trace

MAX_DRAWN = 2_500
"""Arrows drawn at once; a window holding more is thinned evenly, and the page says so."""

_FIGURE_CAPTIONS = {
    "bits_by_phase": "Information bits per phase (a phase's colour is the same in the diagram).",
    "bits_by_round": "Information bits per round (causal depth), stacked by phase.",
    "bits_by_party": "Information bits sent and received per party.",
}


def write_html(trace: Trace, out: str | Path, source: str = "") -> Path:
    """Write the report of ``trace`` to ``out`` (parent folders are created); returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(trace, source), encoding="utf-8")
    return out


def render_html(trace: Trace, source: str = "") -> str:
    """The report page as one string; ``source`` names the trace file in the heading."""
    result = trace.result()
    diagram = space_time(result)
    title = run_title(result)
    sections = [
        _section("totals", "Totals", _totals(result)),
        _section("budgets", "Budgets", _budgets(result)),
        _section("diagram-section", "Space-time diagram", _diagram(diagram)),
        _section("figures", "Figures", _figures(result)),
        _section("breakdowns", "Breakdowns", _breakdowns(result)),
        _section("parameters", "Parameters", _parameters(result)),
    ]
    nav = " ".join(f'<a href="#{key}">{name}</a>' for key, name in (
        ("totals", "Totals"), ("budgets", "Budgets"), ("diagram-section", "Diagram"), ("figures", "Figures"),
        ("breakdowns", "Breakdowns"), ("parameters", "Parameters")))
    origin = f" · trace <code>{escape(source)}</code>" if source else ""
    return f"""<!DOCTYPE html>
<html lang="en" data-diagram="pending">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>protosim report: {escape(title)}</title>
<script>window.onerror = function (msg) {{ document.documentElement.setAttribute("data-diagram", "script-error:" + msg); }};</script>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>protosim report</h1>
<p class="sub">{escape(title)}{origin} · protosim {escape(str(trace.header["protosim"]))}
· fingerprint <code title="{escape(result.fingerprint)}">{escape(result.fingerprint[:16])}…</code></p>
<nav>{nav}</nav>
</header>
{"".join(sections)}
<footer>Written by <code>protosim report --html</code> from the trace alone. The page is self-contained: it loads nothing from the network.</footer>
</main>
<div id="diagram-tip" class="tip" hidden></div>
<script type="application/json" id="diagram-data">{_diagram_json(diagram)}</script>
<script>{_JS}</script>
</body>
</html>
"""


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}">\n<h2>{title}</h2>\n{body}\n</section>\n'


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), cls: str = "") -> str:
    """An HTML table; cells are HTML already (escape text before), columns in ``numeric`` align right."""
    def cell(tag, i, text):
        return f'<{tag} class="num">{text}</{tag}>' if i in numeric else f"<{tag}>{text}</{tag}>"
    th = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = "\n".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'


def _totals(result: RunResult) -> str:
    cards = "".join(
        f'<div class="card"><div class="v">{format_figure(result.figure(name))}</div>'
        f'<div class="k">{escape(name.replace("_", " "))}{_unit(name)}</div></div>'
        for name in shown_figures(result))
    notes = []
    if result.crashed:
        notes.append(f"crashed: {escape(', '.join(result.crashed))}")
    if result.public_coins:
        notes.append("the run used public coins")
    extra = f'<p class="sub">{"; ".join(notes)}.</p>' if notes else ""
    return f'<div class="cards">{cards}</div>{extra}'


def _unit(name: str) -> str:
    """`` (unit)`` when the figure's name does not say it already."""
    unit = UNITS[name]
    return "" if unit.split()[-1] in name.split("_") else f' <span class="unit">({unit})</span>'


def _budgets(result: RunResult) -> str:
    checks = budget_checks(result)
    if checks is None:
        return '<p class="sub">This trace has no scenario (the run was built in Python), so it has no budgets to check.</p>'
    if not checks:
        return '<p class="sub">The scenario declares no budgets.</p>'
    rows = []
    for budget, c in checks:
        at = ", ".join(f"{k}={v}" for k, v in c.params.items())
        ok = '<span class="pass">pass</span>' if c.ok else '<span class="fail">FAIL</span>'
        name = escape(c.name) + (f'<div class="sub">{escape(budget.note)}</div>' if budget.note else "")
        rows.append([name, escape(c.figure + check_scope(c)), f"<code>{escape(pretty_bound(c.bound))}</code>",
                     escape(at), format_figure(c.limit), format_figure(c.measured), ok])
    failed = sum(not c.ok for _, c in checks)
    summary = f'<p class="sub">{len(checks) - failed} of {len(checks)} budgets pass, checked from the trace.</p>'
    return summary + _table(["budget", "figure", "bound", "at", "limit", "measured", "ok"], rows, {4, 5})


def _diagram(d: Diagram) -> str:
    names = d.phases[:len(PHASE_COLORS)]
    legend = [f'<span><span class="sw" style="background:{phase_color(i)}"></span>{escape(p or "(none)")}</span>'
              for i, p in enumerate(names)]
    if len(d.phases) > len(names):
        legend.append(f'<span><span class="sw" style="background:{phase_color(len(names))}"></span>'
                      f"{len(d.phases) - len(names)} more phases</span>")
    if d.lost:
        legend.append('<span><span class="sw lost"></span>lost message (dropped, cut or sent to a crashed party)</span>')
    if d.crashes:
        legend.append('<span><span class="crash">✕</span> crash</span>')
    notes = []
    if d.by_order:
        notes.append(f"Every event of this trace happens at the same simulated time (t = {format_figure(d.time)}; "
                     "zero latency), so the horizontal axis is the order in which the events were recorded.")
    if d.capped:
        last = max(a[1] for a in d.arrows)
        notes.append(f"The diagram holds the first {len(d.arrows):,} of {d.delivered:,} arrivals "
                     f"(up to {'event' if d.by_order else 't ='} {format_figure(last)}); the tables and figures count every message.")
    note = "".join(f'<p class="note">{n}</p>' for n in notes)
    return f"""<p class="sub">Parties are lanes; each arrow is one message, from (send time, sender) to (arrival time,
receiver){", and a post goes to the <b>board</b> lane" if "board" in d.lanes else ""}. Hover over an arrow for its bits.
Drag to pan, scroll or use the buttons to zoom, double-click to reset. At most {MAX_DRAWN:,} arrows are drawn at once;
a window with more is thinned evenly and says so below.</p>
{note}<div class="legend">{" ".join(legend)}</div>
<div class="controls"><button type="button" id="zoom-in">zoom in</button><button type="button" id="zoom-out">zoom out</button><button type="button" id="zoom-reset">reset</button>
<span id="diagram-window" class="sub"></span></div>
<p id="diagram-thin" class="note" hidden></p>
<div id="diagram" class="diagram"><noscript>The diagram is drawn by JavaScript; the figures below do not need it.</noscript></div>"""


def _diagram_json(d: Diagram) -> str:
    data = {
        "lanes": d.lanes, "phases": [p or "(none)" for p in d.phases], "types": d.types,
        "colors": [phase_color(i) for i in range(len(d.phases))],
        "arrows": d.arrows, "lost": d.lost, "crashes": d.crashes,
        "byOrder": d.by_order, "delivered": d.delivered, "maxDrawn": MAX_DRAWN,
    }
    # "<" is escaped so no party or phase name can close the script element
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


def _figures(result: RunResult) -> str:
    out = []
    for name, fig in figures(result).items():
        data = base64.b64encode(png(fig)).decode("ascii")
        caption = _FIGURE_CAPTIONS[name]
        out.append(f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
                   f"<figcaption>{caption}</figcaption></figure>")
    return f'<div class="figs">{"".join(out)}</div>'


def _breakdowns(result: RunResult) -> str:
    parts = []
    for title, rows, key in (("by phase", result.by_phase, "phase"), ("by party", result.by_party, "party"),
                             ("by round (causal depth)", result.by_round, "round"), ("by message type", result.by_type, "type")):
        columns = list(next(iter(rows.values())).keys()) if rows else ["bits"]
        body = [[escape(str(k)) if k != "" else "(none)", *(format_figure(v[c]) for c in columns)] for k, v in rows.items()]
        table = _table([key, *(c.replace("_", " ") for c in columns)], body, set(range(1, len(columns) + 1)))
        scroll = ' class="scroll"' if len(rows) > MAX_ROWS else ""
        parts.append(f"<div><h3>{title}</h3><div{scroll}>{table}</div></div>")
    return f'<div class="tables">{"".join(parts)}</div>'


def _parameters(result: RunResult) -> str:
    rows = [[escape(str(k)), escape(str(v))] for k, v in sorted(result.params.items())]
    table = _table(["parameter", "value"], rows)
    if result.scenario is None:
        return table
    scenario = escape(json.dumps(result.scenario, indent=2, default=str))
    return f"{table}\n<details><summary>The scenario the run came from</summary><pre>{scenario}</pre></details>"


_CSS = """
:root { --fg: #1d232a; --muted: #5b6673; --line: #d9dee4; --panel: #f6f8fa; --ok: #1a7f37; --fail: #cf222e; }
body { margin: 0; color: var(--fg); background: #fff; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 1.6em; margin: 0 0 2px; }
h2 { font-size: 1.2em; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1em; margin: 8px 0 4px; }
code { font: 0.9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.sub { color: var(--muted); margin: 4px 0; }
nav { margin-top: 8px; } nav a { margin-right: 14px; color: #0b5cad; text-decoration: none; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.card .v { font-size: 1.35em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .k { color: var(--muted); font-size: 0.85em; } .unit { opacity: 0.8; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; position: sticky; top: 0; }
.num { text-align: right; }
.pass { color: var(--ok); font-weight: 600; } .fail { color: var(--fail); font-weight: 600; }
.note { color: #6b4700; background: #fff8e5; border: 1px solid #f0dca8; padding: 6px 10px; border-radius: 6px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0; font-size: 0.9em; }
.sw { display: inline-block; width: 16px; height: 4px; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
.sw.lost { background: repeating-linear-gradient(90deg, #d62728 0 4px, transparent 4px 7px); }
.crash { color: #000; font-weight: 700; }
.controls { display: flex; align-items: center; gap: 6px; margin: 6px 0; }
.controls button { font: inherit; font-size: 0.85em; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); cursor: pointer; }
.diagram { border: 1px solid var(--line); border-radius: 8px; overflow: hidden; cursor: grab; user-select: none; min-height: 60px; }
.diagram svg { display: block; }
.diagram .lane { stroke: #e3e7eb; } .diagram .grid { stroke: #f1f3f5; }
.diagram text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.diagram .m { stroke-width: 1.4; opacity: 0.85; } .diagram .lost { stroke: #d62728; stroke-dasharray: 4 3; stroke-width: 1.2; }
.diagram .hl { stroke: #000; stroke-width: 4; opacity: 0.35; }
.tip { position: fixed; z-index: 10; pointer-events: none; max-width: 380px; padding: 6px 9px; border-radius: 6px;
       background: #1d232a; color: #fff; font-size: 12.5px; line-height: 1.4; box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25); }
.figs { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 16px; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 0.9em; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px 28px; }
.scroll { max-height: 26em; overflow: auto; border-bottom: 1px solid var(--line); }
pre { background: var(--panel); padding: 10px; border-radius: 6px; overflow: auto; font-size: 0.85em; }
footer { margin-top: 36px; color: var(--muted); font-size: 0.85em; }
"""

# The diagram: arrows are [x_sent, x_arrived, src lane, dst lane, phase, bits, seq, type]; lost ones add a reason.
_JS = r"""
(function () {
  "use strict";
  var root = document.documentElement;
  var D = JSON.parse(document.getElementById("diagram-data").textContent);
  var box = document.getElementById("diagram"), tip = document.getElementById("diagram-tip");
  var windowLabel = document.getElementById("diagram-window"), thinNote = document.getElementById("diagram-thin");
  var LEFT = 120, RIGHT = 24, TOP = 10, BOTTOM = 44;
  var n = D.lanes.length;
  var laneH = Math.max(3, Math.min(28, Math.floor(640 / Math.max(n, 1))));
  var labelEvery = Math.ceil(12 / laneH);
  var height = TOP + n * laneH + BOTTOM;
  var head = Math.max(4, Math.min(8, laneH * 0.45));
  var xs = [];
  D.arrows.concat(D.lost).forEach(function (a) { xs.push(a[0], a[1]); });
  D.crashes.forEach(function (c) { xs.push(c[0]); });
  var lo = Math.min.apply(null, xs.length ? xs : [0]), hi = Math.max.apply(null, xs.length ? xs : [1]);
  var pad = (hi - lo) * 0.02 || (D.byOrder ? 1 : Math.abs(hi) * 0.05 || 1);
  var full = {lo: lo >= 0 && !D.byOrder ? Math.max(0, lo - pad) : lo - pad, hi: hi + pad};
  var view = {lo: full.lo, hi: full.hi};
  var minWidth = D.byOrder ? 4 : (full.hi - full.lo) * 1e-6;
  var segs = [], plotW = 0, drag = null, pending = false;

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function num(v) { return Number(v).toLocaleString("en-US", {maximumSignificantDigits: 6}); }
  function ticks(a, b, count) {
    var step = Math.pow(10, Math.floor(Math.log10((b - a) / count))), err = count / (b - a) * step;
    if (err <= 0.15) step *= 10; else if (err <= 0.35) step *= 5; else if (err <= 0.75) step *= 2;
    if (D.byOrder) step = Math.max(1, Math.round(step));
    var out = [], digits = Math.max(0, -Math.floor(Math.log10(step)));
    for (var t = Math.ceil(a / step) * step; t <= b; t += step) out.push([t, t.toFixed(Math.min(digits, 12))]);
    return out;
  }
  function visible(a) { return Math.max(a[0], a[1]) >= view.lo && Math.min(a[0], a[1]) <= view.hi; }

  function draw() {
    pending = false;
    tip.hidden = true;
    var width = Math.max(box.clientWidth, 480);
    plotW = width - LEFT - RIGHT;
    var k = plotW / (view.hi - view.lo);
    function px(x) { return LEFT + (x - view.lo) * k; }
    function py(l) { return TOP + laneH * (l + 0.5); }
    var inView = [];
    D.arrows.forEach(function (a) { if (visible(a)) inView.push(a); });
    var step = Math.ceil(inView.length / D.maxDrawn) || 1;
    var drawn = step > 1 ? inView.filter(function (_, i) { return i % step === 0; }) : inView;
    var s = ['<svg width="' + width + '" height="' + height + '" role="img" aria-label="space-time diagram"><defs>'];
    D.colors.forEach(function (c, i) {
      s.push('<marker id="h' + i + '" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="' +
             head + '" markerHeight="' + head + '" orient="auto"><path d="M0,0L10,5L0,10z" fill="' + c + '"/></marker>');
    });
    s.push('<clipPath id="plot"><rect x="' + LEFT + '" y="0" width="' + plotW + '" height="' + height + '"/></clipPath></defs>');
    ticks(view.lo, view.hi, Math.max(2, Math.floor(plotW / 110))).forEach(function (t) {
      var x = px(t[0]).toFixed(1);
      s.push('<line class="grid" x1="' + x + '" x2="' + x + '" y1="' + TOP + '" y2="' + (height - BOTTOM) + '"/>' +
             '<text x="' + x + '" y="' + (height - BOTTOM + 16) + '" text-anchor="middle">' + t[1] + '</text>');
    });
    s.push('<text x="' + (LEFT + plotW / 2) + '" y="' + (height - 8) + '" text-anchor="middle">' +
           (D.byOrder ? "event order (all events happen at the same time)" : "simulated time (s)") + '</text>');
    D.lanes.forEach(function (name, i) {
      var y = py(i).toFixed(1);
      s.push('<line class="lane" x1="' + LEFT + '" x2="' + (width - RIGHT) + '" y1="' + y + '" y2="' + y + '"/>');
      if (i % labelEvery === 0) s.push('<text x="' + (LEFT - 8) + '" y="' + (py(i) + 4).toFixed(1) + '" text-anchor="end">' + esc(name) + '</text>');
    });
    s.push('<g clip-path="url(#plot)">');
    segs = [];
    drawn.forEach(function (a) {
      var seg = [px(a[0]), py(a[2]), px(a[1]), py(a[3]), a];
      segs.push(seg);
      s.push('<line class="m" stroke="' + D.colors[a[4]] + '" marker-end="url(#h' + a[4] + ')" x1="' + seg[0].toFixed(1) +
             '" y1="' + seg[1].toFixed(1) + '" x2="' + seg[2].toFixed(1) + '" y2="' + seg[3].toFixed(1) + '"/>');
    });
    D.lost.forEach(function (a) {
      if (!visible(a)) return;
      var seg = [px(a[0]), py(a[2]), px(a[1]), py(a[3]), a];
      segs.push(seg);
      s.push('<line class="lost" x1="' + seg[0].toFixed(1) + '" y1="' + seg[1].toFixed(1) + '" x2="' + seg[2].toFixed(1) +
             '" y2="' + seg[3].toFixed(1) + '"/><text x="' + seg[2].toFixed(1) + '" y="' + (seg[3] + 4).toFixed(1) +
             '" text-anchor="middle" style="fill:#d62728;font-weight:700">×</text>');
    });
    D.crashes.forEach(function (c) {
      if (c[0] < view.lo || c[0] > view.hi) return;
      s.push('<text x="' + px(c[0]).toFixed(1) + '" y="' + (py(c[1]) + 5).toFixed(1) +
             '" text-anchor="middle" style="fill:#000;font-size:15px;font-weight:700">✕<title>' + esc(D.lanes[c[1]]) + ' crashes</title></text>');
    });
    s.push('<line class="hl" id="diagram-hl" visibility="hidden"/></g></svg>');
    box.innerHTML = n ? s.join("") : '<p class="sub">&nbsp;This trace holds no messages.</p>';
    var shown = function (v) { return D.byOrder ? Math.round(v).toLocaleString("en-US") : Number(v.toPrecision(4)); };
    windowLabel.textContent = (D.byOrder ? "events " : "t = ") + shown(view.lo) + " … " + shown(view.hi) +
      (D.byOrder ? "" : " s") + " · " + drawn.length.toLocaleString("en-US") + " arrows drawn";
    thinNote.hidden = step === 1;
    thinNote.textContent = step === 1 ? "" : "This window holds " + inView.length.toLocaleString("en-US") +
      " arrows; every " + step + "th is drawn (" + drawn.length.toLocaleString("en-US") + "). Zoom in to see them all.";
    root.setAttribute("data-diagram", "ok:" + drawn.length);
  }
  function redraw() { if (!pending) { pending = true; requestAnimationFrame(draw); } }

  function setView(a, b) {
    var w = Math.min(Math.max(b - a, minWidth), full.hi - full.lo);
    a = Math.max(full.lo, Math.min(a, full.hi - w));
    view = {lo: a, hi: a + w};
    redraw();
  }
  function zoom(center, factor) { setView(center - (center - view.lo) * factor, center + (view.hi - center) * factor); }
  function dataX(ev) { return view.lo + (ev.clientX - box.getBoundingClientRect().left - LEFT) / plotW * (view.hi - view.lo); }

  function nearest(mx, my) {
    var best = null, bestD = 36;
    segs.forEach(function (g) {
      var dx = g[2] - g[0], dy = g[3] - g[1], L = dx * dx + dy * dy;
      var t = L ? Math.max(0, Math.min(1, ((mx - g[0]) * dx + (my - g[1]) * dy) / L)) : 0;
      var ex = g[0] + t * dx - mx, ey = g[1] + t * dy - my, d = ex * ex + ey * ey;
      if (d < bestD) { bestD = d; best = g; }
    });
    return best;
  }
  function describe(a) {
    var at = D.byOrder ? ["event #", ""] : ["t = ", " s"];
    return "<b>#" + a[6] + " " + esc(D.types[a[7]]) + "</b>: " + esc(D.lanes[a[2]]) + " → " + esc(D.lanes[a[3]]) +
      "<br><b>" + a[5].toLocaleString("en-US") + " bits</b> · phase " + esc(D.phases[a[4]]) +
      "<br>sent " + at[0] + num(a[0]) + at[1] + ", " + (a.length > 8 ? "lost (" + esc(a[8]) + ")" : "arrived") +
      " " + at[0] + num(a[1]) + at[1];
  }
  function hover(ev) {
    var r = box.getBoundingClientRect(), g = nearest(ev.clientX - r.left, ev.clientY - r.top);
    var hl = document.getElementById("diagram-hl");
    if (!g) { tip.hidden = true; if (hl) hl.setAttribute("visibility", "hidden"); return; }
    hl.setAttribute("x1", g[0]); hl.setAttribute("y1", g[1]); hl.setAttribute("x2", g[2]); hl.setAttribute("y2", g[3]);
    hl.setAttribute("visibility", "visible");
    tip.innerHTML = describe(g[4]);
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8) + "px";
  }

  box.addEventListener("mousedown", function (ev) {
    if (ev.button === 0) { drag = {x: ev.clientX, lo: view.lo, hi: view.hi}; box.style.cursor = "grabbing"; }
  });
  window.addEventListener("mouseup", function () { drag = null; box.style.cursor = ""; });
  box.addEventListener("mousemove", function (ev) {
    if (!drag) return hover(ev);
    var shift = (ev.clientX - drag.x) / plotW * (drag.hi - drag.lo);
    tip.hidden = true;
    setView(drag.lo - shift, drag.hi - shift);
  });
  box.addEventListener("mouseleave", function () { tip.hidden = true; });
  box.addEventListener("wheel", function (ev) { ev.preventDefault(); zoom(dataX(ev), ev.deltaY > 0 ? 1.25 : 0.8); }, {passive: false});
  box.addEventListener("dblclick", function () { setView(full.lo, full.hi); });
  document.getElementById("zoom-in").onclick = function () { zoom((view.lo + view.hi) / 2, 0.5); };
  document.getElementById("zoom-out").onclick = function () { zoom((view.lo + view.hi) / 2, 2); };
  document.getElementById("zoom-reset").onclick = function () { setView(full.lo, full.hi); };
  window.addEventListener("resize", redraw);
  draw();
})();
"""
