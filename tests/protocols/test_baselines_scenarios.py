"""The paper's experiments as scenarios (scenarios/paper/): every file loads and names a
registered baseline; each runs one point; a small grid of Fig. 7 goes through the sweep's
``run_point`` and make_figures.py draws its figure and tables from the rows.
The full sweeps are measurements (docs/results.md), not tests.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from protosim.scenario import Scenario

PAPER = Path(__file__).resolve().parents[2] / "scenarios" / "paper"
FILES = sorted(PAPER.glob("fig*.toml"))


def test_one_file_per_protocol_and_figure():
    stems = {f.stem for f in FILES}
    for fig, protos in [("fig5_digits_blackboard", ("mp", "as", "eas")),
                        ("fig6_gaussian2d_blackboard", ("mp", "as", "eas")),
                        ("fig7_digits_coordinator", ("as", "as_jl", "eas_jl")),
                        ("figF2_gaussian8d_coordinator", ("as", "as_jl", "eas_jl"))]:
        for p in protos:
            assert f"{fig}_{p}" in stems


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_scenario_runs_one_point(path):
    overrides = {"dataset.n": 5120} if path.stem.startswith("fig6") else {}  # a 1 % slice of Fig. 6
    result, checks = Scenario.load(path, overrides).run()
    assert result.bits > 0 and result.output["cost"] > 0 and not checks
    c = Scenario.load(path).data["protocol"]["params"]["c"]
    k = Scenario.load(path).data["protocol"]["params"]["k"]
    if "mp" not in path.stem:
        assert result.output["n_centers"] == round(c * k)


def test_small_sweep_and_figures(tmp_path):
    # The sweep's own grid and per-point function, run in this process: protosim's process
    # pool forks, and a fork after scikit-learn's OpenMP code ran in the parent (earlier
    # tests) can hang the workers (reported to the lead). results.json is written as
    # run_sweep writes it: the list of rows.
    from protosim.sweep import grid, run_point

    for proto in ("as", "as_jl", "eas_jl"):
        sc = Scenario.load(PAPER / f"fig7_digits_coordinator_{proto}.toml")
        rows = [run_point(sc.data, sc.source, point) for point in grid(sc, {"c": [1, 2]}, repeat=2)]
        assert not any(r.get("error") for r in rows)
        out = tmp_path / f"fig7_digits_coordinator_{proto}"
        out.mkdir()
        (out / "results.json").write_text(json.dumps(rows, default=str))
    spec = importlib.util.spec_from_file_location("make_figures", PAPER / "make_figures.py")
    mf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mf)
    assert mf.main(["--runs", str(tmp_path), "--out", str(tmp_path / "img"), "--only", "fig7", "--no-scatter"]) == 0
    assert (tmp_path / "img" / "fig7_digits_coordinator.png").stat().st_size > 10_000
