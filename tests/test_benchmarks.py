"""Every benchmark script still runs, at a tiny size (the figures themselves are in docs/performance.md)."""

import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"

TINY = {
    "kernel_throughput.py": ["--messages", "2000", "--repeat", "1"],
    "blackboard_vs_kmeanspp.py": ["--n", "2000", "--repeat", "1"],
    "sweep_scaling.py": ["--points", "2", "--size", "5"],
    "arithmetic_overhead.py": ["--n", "3000", "--s", "10", "--repeat", "1"],
    "sites.py": ["bb_coreset", "--s", "2,3,4", "--n", "600"],
    "points.py": ["--n", "5000", "--s", "5"],
}


@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_runs_tiny(script, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script, *TINY[script]])
    runpy.run_path(str(BENCH / script), run_name="__main__")
    assert "ratio" in capsys.readouterr().out


def test_every_benchmark_is_exercised():
    assert {p.name for p in BENCH.glob("*.py")} <= set(TINY)
