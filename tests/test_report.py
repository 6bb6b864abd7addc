"""Reports from a trace: the self-contained HTML page, the PNG figures and the space-time diagram."""

import json
import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from protosim import COORDINATOR, CoordinatorModel, Simulation, UInt, message
from protosim.cli import main
from protosim.report import PNG_NAMES, space_time
from protosim.scenario import Scenario
from protosim.trace import read_trace, write_trace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo_digits.toml"
GRID = ROOT / "scenarios" / "demo_graph_grid.toml"


@message
class Ask:
    value: UInt(8)


@message
class Answer:
    value: UInt(16)


def ask_twice(p, s, phase="ask"):
    """Coordinator: one Ask to every site, a pause, then a second round in a sub-phase."""
    for sub in (phase, phase + "/again"):
        with p.phase(sub):
            for i in range(s):
                p.send(f"site{i}", Ask(i))
        yield p.sleep(1.0)


def answer(p):
    while True:
        ask = yield p.recv(Ask)
        with p.phase("answer"):
            p.send(COORDINATOR, Answer(3 * ask.value))


def python_run(phase="ask"):
    """A run built in Python (no scenario): three phases, dropped messages and a crash."""
    rng = np.random.default_rng(0)
    sim = Simulation(CoordinatorModel(), [rng.normal(size=(3, 2)) for _ in range(6)], seed=3,
                     network={"latency": {"dist": "exponential", "mean": 0.05}},
                     faults=[{"kind": "drop", "p": 0.2}, {"kind": "crash", "party": "site2", "at": 0.5}])
    for s in sim.sites:
        sim.spawn(s, answer)
    return sim.run(sim.spawn(COORDINATOR, ask_twice, 6, phase))


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """Trace files: the digits demo, the same on a blackboard, the graph grid, and a Python-built run."""
    out = tmp_path_factory.mktemp("traces")
    runs = {
        "digits": Scenario.load(DEMO).run()[0],
        "board": Scenario.load(DEMO, {"model.kind": "blackboard"}).run()[0],
        "grid": Scenario.load(GRID).run()[0],
        "python": python_run(),
    }
    return {name: write_trace(out / f"{name}.trace", result) for name, result in runs.items()}


def html_report(trace: Path, tmp_path: Path) -> str:
    out = tmp_path / f"{trace.stem}.html"
    assert main(["report", str(trace), "--html", str(out)]) == 0
    return out.read_text()


def diagram_data(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="diagram-data">(.*?)</script>', html, re.DOTALL).group(1))


def arrivals(trace: Path) -> list[tuple]:
    return [e for e in read_trace(trace).events if e[0] == "deliver"]


def test_html_is_self_contained(traces, tmp_path):
    html = html_report(traces["digits"], tmp_path)
    assert "http://" not in html and "https://" not in html
    for attr in re.findall(r'\b(?:src|href)\s*=\s*"([^"]*)"', html):
        assert attr.startswith(("#", "data:image/png;base64,")), attr
    assert not re.search(r"url\((?!#)", html), "CSS or SVG url() to anything but a fragment"
    assert not re.search(r"<(?:link|iframe|object|embed)\b", html)
    assert html.count('src="data:image/png;base64,') == 3


def test_html_has_totals_budgets_breakdowns_and_one_arrow_per_arrival(traces, tmp_path, capsys):
    html = html_report(traces["digits"], tmp_path)
    assert "wrote" in capsys.readouterr().out
    assert "41,110" in html and "5,230" in html  # total bits and wire bytes (10 frames of 9 header bytes each)
    assert "one report per site" in html and "one round" in html and "3 of 3 budgets pass" in html
    for heading in ("by phase", "by party", "by round (causal depth)", "by message type"):
        assert f"<h3>{heading}</h3>" in html
    data = diagram_data(html)
    delivered = arrivals(traces["digits"])
    assert len(data["arrows"]) == data["delivered"] == len(delivered) == 10
    assert sum(a[5] for a in data["arrows"]) == 41110
    assert data["lanes"][0] == "coord" and data["lanes"][1:] == [f"site{i}" for i in range(10)]
    assert not data["byOrder"] and not data["lost"]


def test_png_figures(traces, tmp_path, capsys):
    out = tmp_path / "png"
    assert main(["report", str(traces["digits"]), "--png", str(out)]) == 0
    assert capsys.readouterr().out.count("wrote") == len(PNG_NAMES)
    for name in PNG_NAMES:
        data = (out / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, name


def test_blackboard_posts_go_to_the_board_lane(traces, tmp_path):
    html = html_report(traces["board"], tmp_path)
    data = diagram_data(html)
    assert data["lanes"][0] == "board"
    assert len(data["arrows"]) == len(arrivals(traces["board"])) == 10
    assert {a[3] for a in data["arrows"]} == {0}


def test_zero_latency_places_events_in_trace_order(traces, tmp_path):
    html = html_report(traces["grid"], tmp_path)
    data = diagram_data(html)
    assert data["byOrder"] and "the horizontal axis is the order in which the events were recorded" in html
    assert len(data["arrows"]) == len(arrivals(traces["grid"])) == 100
    assert all(a[0] < a[1] for a in data["arrows"])  # each hop arrives after it is sent
    assert "reports times hops" in html


def test_run_without_scenario_losses_and_crash(traces, tmp_path):
    html = html_report(traces["python"], tmp_path)
    assert "no budgets to check" in html and "crashed: site2" in html
    data = diagram_data(html)
    events = read_trace(traces["python"]).events
    assert data["phases"] == ["ask", "answer", "ask/again"]
    assert len(data["arrows"]) == sum(e[0] == "deliver" for e in events)
    assert len(data["lost"]) == sum(e[0] == "drop" for e in events) > 0
    assert data["crashes"] and data["lanes"][data["crashes"][0][1]] == "site2"


def test_names_cannot_break_out_of_the_page(tmp_path):
    trace = write_trace(tmp_path / "odd.trace", python_run(phase="</script><b>x&y"))
    html = html_report(trace, tmp_path)
    assert "</script><b>" not in html and "&lt;/script&gt;&lt;b&gt;x&amp;y" in html
    assert diagram_data(html)["phases"][0] == "</script><b>x&y"


def test_a_capped_diagram_says_so(traces, tmp_path, monkeypatch):
    result = read_trace(traces["digits"]).result()
    capped = space_time(result, cap=3)
    assert len(capped.arrows) == 3 and capped.delivered == 10 and capped.capped
    monkeypatch.setattr("protosim.report_html.space_time", partial(space_time, cap=3))
    html = html_report(traces["digits"], tmp_path)
    assert "The diagram holds the first 3 of 10 arrivals" in html


def test_tables_show_the_trace_budgets(traces, capsys):
    assert main(["report", str(traces["digits"])]) == 0
    out = capsys.readouterr().out
    assert "one report per site" in out and "pass" in out and "by phase" in out
