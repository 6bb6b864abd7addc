"""The protosim command: run, replay, report, sweep, list — exit codes and outputs."""

import json
import re
import shutil
from pathlib import Path

import pytest

from protosim.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo_digits.toml"


def test_run_prints_the_table_and_writes_a_trace(tmp_path, capsys):
    trace = tmp_path / "demo.trace"
    assert main(["run", str(DEMO), "--trace", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "one report per site" in out and "pass" in out
    assert trace.exists()


def test_run_json_has_the_documented_keys(tmp_path, capsys):
    assert main(["run", str(DEMO), "--json", "--trace", str(tmp_path / "t.trace")]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("protocol", "model", "params", "bits", "wire_bytes", "messages", "rounds", "sim_time", "budgets", "fingerprint"):
        assert key in out
    assert out["protocol"] == "demo_sum" and out["params"]["s"] == 10 and out["n"] == 1797
    assert out["budgets"][0].keys() == {"name", "figure", "limit", "measured", "ok"}


def test_failing_budget_exits_1(tmp_path, capsys):
    scenario = tmp_path / "tight.toml"
    scenario.write_text(DEMO.read_text().replace('bound = "1"', 'bound = "0"'))
    assert main(["run", str(scenario), "--trace", str(tmp_path / "t.trace")]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_bad_input_exits_2_naming_the_key(tmp_path, capsys):
    assert main(["run", str(DEMO), "--set", "partition.s=0", "--trace", str(tmp_path / "t.trace")]) == 2
    assert "partition.s: must be >= 1, got 0" in capsys.readouterr().err


def test_deadlock_exits_3_with_the_report(tmp_path, capsys):
    scenario = tmp_path / "lossy.toml"
    scenario.write_text(DEMO.read_text() + '\n[[faults]]\nkind = "drop"\np = 1.0\n')
    assert main(["run", str(scenario), "--trace", str(tmp_path / "t.trace")]) == 3
    err = capsys.readouterr().err
    assert "Deadlock" in err and "coord waits for recv(CountSum)" in err


def test_replay_and_report(tmp_path, capsys):
    trace = tmp_path / "demo.trace"
    assert main(["run", str(DEMO), "--trace", str(trace)]) == 0
    assert main(["replay", str(trace)]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["replay", str(trace), "--set", "seed=2"]) == 1
    assert "seed" in capsys.readouterr().out
    assert main(["report", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "by phase" in out and "report" in out and "site9" in out
    assert main(["report", str(trace), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bits"] == 41110
    broken = tmp_path / "broken.trace"
    broken.write_bytes(trace.read_bytes()[:-20])
    assert main(["report", str(broken)]) == 2


def test_sweep_writes_results_fits_and_plots(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(["sweep", str(DEMO), "--vary", "s=2,4,8,16", "--repeat", "2", "--out", str(out), "--workers", "2"])
    assert code == 0
    rows = json.loads((out / "results.json").read_text())
    assert len(rows) == 8 and not any(r.get("error") for r in rows)
    fits = json.loads((out / "fits.json").read_text())
    # bits = sum over sites of (gamma(n_i + 1) + 64 d): linear in s up to the small gamma term
    assert fits["bits"]["exponents"]["partition.s"] == pytest.approx(1.0, abs=0.03)
    assert (out / "results.csv").read_text().count("\n") == 9
    assert (out / "bits_vs_partition_s.png").stat().st_size > 1000


def test_sweep_records_failed_points_and_goes_on(tmp_path):
    out = tmp_path / "sweep"
    assert main(["sweep", str(DEMO), "--vary", "s=0,3", "--out", str(out), "--workers", "1"]) == 1
    rows = json.loads((out / "results.json").read_text())
    assert "partition.s: must be >= 1" in rows[0]["error"]
    assert rows[1]["bits"] > 0


def test_list_names_everything(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("coordinator", "blackboard", "graph", "mpc", "streaming", "demo_sum", "digits", "skewed", "grid"):
        assert name in out


def test_console_script_is_installed():
    assert shutil.which("protosim") is not None


def test_table_keeps_the_total_when_only_a_phase_is_budgeted(tmp_path, capsys):
    scenario = tmp_path / "phase.toml"
    text = DEMO.read_text().replace('figure = "bits"\n', 'figure = "bits"\nphase = "report"\n')
    scenario.write_text(text)
    assert main(["run", str(scenario), "--trace", str(tmp_path / "t.trace")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"│ bits\s+│\s+41,110 │", out)            # the run's total
    assert re.search(r"│ bits \(report\)\s+│\s+41,110 │", out)  # the budgeted phase
