"""The HTML report in headless Chromium: it renders its diagram, without script errors, and hovers.

Needs Debian's ``chromium`` package (.ci/run installs it); without it the tests skip and say why.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.test_report import python_run

from protosim.report_html import write_html
from protosim.scenario import Scenario
from protosim.trace import read_trace, write_trace

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed: install Debian's chromium package (.ci/run does) to run this test")

# Appended to a copy of the page: hover over the first arrow, then zoom, and record what the page shows.
PROBE = """<script>
(function () {
  var box = document.getElementById("diagram"), r = box.getBoundingClientRect();
  var line = box.querySelector("line.m");
  var x = (+line.getAttribute("x1") + +line.getAttribute("x2")) / 2, y = (+line.getAttribute("y1") + +line.getAttribute("y2")) / 2;
  box.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + x, clientY: r.top + y, bubbles: true}));
  var tip = document.getElementById("diagram-tip");
  document.documentElement.setAttribute("data-probe-tip", tip.hidden ? "hidden" : tip.textContent);
  // The page redraws on its next animation frame; a headless dump may come before any frame
  // (it did under load), so frames run at once here and the redraw is read right after the click.
  window.requestAnimationFrame = function (f) { f(performance.now()); return 0; };
  document.documentElement.setAttribute("data-probe-before", document.getElementById("diagram-window").textContent);
  document.getElementById("zoom-in").click();
  document.documentElement.setAttribute("data-probe-window", document.getElementById("diagram-window").textContent);
})();
</script>
</body>"""


def chromium(url: str, tmp_path: Path, *args: str) -> str:
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, url],
                          capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def report(result, tmp_path: Path, name: str) -> Path:
    trace = write_trace(tmp_path / f"{name}.trace", result)
    return write_html(read_trace(trace), tmp_path / f"{name}.html", source=trace.name)


def test_screenshot_and_diagram_without_script_errors(tmp_path):
    page = report(Scenario.load(ROOT / "scenarios" / "demo_digits.toml").run()[0], tmp_path, "digits")
    shot = tmp_path / "shot.png"
    chromium(page.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1400,1000")
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (1000, 1400)
    colours = {tuple(p) for p in (pixels[::4, ::4, :3] * 255).astype(int).reshape(-1, 3)}
    assert len(colours) > 50, "the screenshot is nearly blank"
    dom = chromium(page.as_uri(), tmp_path, "--dump-dom")
    status = re.search(r'<html[^>]*data-diagram="([^"]*)"', dom).group(1)
    assert status == "ok:10", status
    svg = re.search(r'<div id="diagram" class="diagram">(<svg.*?</svg>)</div>', dom, re.DOTALL).group(1)
    assert len(re.findall(r'<line class="m"', svg)) == 10


def test_hover_shows_the_bits_and_zoom_redraws(tmp_path):
    page = report(python_run(), tmp_path, "python")
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE))
    dom = chromium(probe.as_uri(), tmp_path, "--virtual-time-budget=2000", "--dump-dom")
    attrs = dict(re.findall(r'(data-[\w-]+)="([^"]*)"', re.search(r"<html[^>]*>", dom).group(0)))
    assert attrs["data-diagram"].startswith("ok:"), attrs["data-diagram"]
    assert re.search(r"#\d+ Ask: coord → site\d+\s*8 bits · phase ask", attrs["data-probe-tip"]), attrs["data-probe-tip"]
    assert "arrows drawn" in attrs["data-probe-window"]
    assert attrs["data-probe-window"] != attrs["data-probe-before"], "zooming in did not redraw the window"
