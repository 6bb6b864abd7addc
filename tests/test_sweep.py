"""Sweeps: the same rows on a local pool and on a Dask cluster, lost workers retried, failures recorded, resume."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from protosim import sweep
from protosim.cli import main
from protosim.scenario import Scenario
from protosim.sweep import POINTS_FILE, load_points, run_point, run_sweep

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo_digits.toml"
GRID = ROOT / "scenarios" / "demo_graph_grid.toml"

SCENARIO = """
name = "sweep_test"
seed = 7
faults = []

[dataset]
name = "gaussian_mixture"
n = 300
d = 3
k = 3

[partition]
kind = "uniform"
s = 4

[model]
kind = "coordinator"

[protocol]
name = "demo_sum"

[[budgets]]
name = "one report per site"
figure = "bits"
bound = "s*(2*log2(n + 1) + 1 + 64*d)"
"""
VARY = {"s": [1, 2, 4, 8]}
OUTPUTS = ("results.json", "results.csv", "fits.json", "bits_vs_partition_s.png")


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "sweep_test.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def cluster():
    import dask
    from distributed import LocalCluster

    no_trim = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}  # docs/scaling.md
    with dask.config.set(no_trim), LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                dashboard_address=":0") as c:
        yield c


def rows_of(out: Path) -> list[dict]:
    return json.loads((out / "results.json").read_text())


# -- task functions the local-pool tests put in place of run_point (they run in worker processes)
def die_once(data, source, overrides):
    """run_point, except that the first run of s=4 kills its own worker process."""
    marker = Path(os.environ["SWEEP_TEST_DIR"]) / "died"
    if overrides["partition.s"] == 4 and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return run_point(data, source, overrides)


def always_die(data, source, overrides):
    """run_point, except that s=4 kills its worker process every time."""
    if overrides["partition.s"] == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_point(data, source, overrides)


def counted(data, source, overrides):
    """run_point, leaving one line per run in SWEEP_TEST_DIR/runs."""
    with open(Path(os.environ["SWEEP_TEST_DIR"]) / "runs", "a") as fh:
        fh.write(json.dumps(overrides) + "\n")
    return run_point(data, source, overrides)


# -- the same results on both backends ---------------------------------------------------------
def test_dask_cluster_matches_the_local_pool(tmp_path, cluster, capsys):
    local, dask = tmp_path / "local", tmp_path / "dask"
    common = ["sweep", str(DEMO), "--vary", "s=0,2,4,8", "--repeat", "2"]
    assert main([*common, "--out", str(local), "--workers", "2"]) == 1  # s=0 fails on both
    assert main([*common, "--out", str(dask), "--scheduler", cluster.scheduler_address]) == 1
    for name in OUTPUTS:
        assert (local / name).read_bytes() == (dask / name).read_bytes(), name
    rows = rows_of(dask)
    assert [r["overrides"]["partition.s"] for r in rows] == [0, 0, 2, 2, 4, 4, 8, 8]  # grid order
    assert "partition.s: must be >= 1" in rows[0]["error"]
    assert len({r["fingerprint"] for r in rows[2:]}) == 6  # every seed and s its own run
    assert "8/8 done · 2 failed · 0 left" in capsys.readouterr().out


def test_a_killed_dask_worker_loses_no_point(tmp_path, cluster):
    from distributed import Client

    vary = {"rows": [30, 34], "cols": [30, 34]}  # 8 points of about 0.2 s each
    grid_scenario = Scenario.load(GRID)
    reference = run_sweep(grid_scenario, vary, tmp_path / "local", repeat=2, workers=2, progress=False)
    with Client(cluster, set_as_default=False) as client:
        pids = client.run(os.getpid)
    out = tmp_path / "dask"
    out.mkdir()
    finished, killed = threading.Event(), []

    def kill_a_worker_after_the_first_point():
        log = out / POINTS_FILE
        while not finished.is_set():
            if log.exists() and log.read_text().count("\n") >= 1:
                killed.append(log.read_text().count("\n"))
                os.kill(min(pids.values()), signal.SIGKILL)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker_after_the_first_point)
    killer.start()
    try:
        result = run_sweep(grid_scenario, vary, out, repeat=2, scheduler=cluster.scheduler_address, progress=False)
    finally:
        finished.set()
        killer.join()
    assert killed and killed[0] < 8, "the worker was not killed mid-sweep"
    assert not result.failed
    assert result.rows == reference.rows
    assert len(load_points(out / POINTS_FILE)) == 8


# -- lost workers in the local pool ----------------------------------------------------------
def test_local_pool_reruns_a_point_whose_worker_died(tmp_path, scenario, monkeypatch):
    clean = run_sweep(Scenario.load(scenario), VARY, tmp_path / "clean", workers=2, progress=False)
    monkeypatch.setenv("SWEEP_TEST_DIR", str(tmp_path))
    monkeypatch.setattr(sweep, "run_point", die_once)
    result = run_sweep(Scenario.load(scenario), VARY, tmp_path / "killed", workers=2, progress=False)
    assert (tmp_path / "died").exists()
    assert result.rows == clean.rows
    for name in OUTPUTS:
        assert (tmp_path / "clean" / name).read_bytes() == (tmp_path / "killed" / name).read_bytes(), name


def test_a_point_that_always_kills_its_worker_is_recorded_as_lost(tmp_path, scenario, monkeypatch):
    monkeypatch.setattr(sweep, "run_point", always_die)
    out = tmp_path / "out"
    result = run_sweep(Scenario.load(scenario), VARY, out, workers=2, progress=False)
    lost = result.rows[2]
    assert lost["error"].startswith("lost: its worker process died 3 times")
    assert result.failed == [lost]  # its neighbours in the pool were rerun, not lost with it
    assert all(r["bits"] > 0 for r in result.rows if r is not lost)
    assert len(load_points(out / POINTS_FILE)) == 3  # a lost point is not stored: --resume reruns it


# -- failures -------------------------------------------------------------------------------
def test_failed_points_are_recorded_and_the_sweep_goes_on(tmp_path, scenario, capsys):
    tight = '[[budgets]]\nname = "one report in all"\nfigure = "bits"\nbound = "2*log2(n + 1) + 1 + 64*d"\n'
    scenario.write_text(SCENARIO + tight)
    out = tmp_path / "out"
    vary = {"s": [0, 1, 2, 4], "faults": [[], [{"kind": "drop", "p": 1.0}]]}
    result = run_sweep(Scenario.load(scenario), vary, out, workers=2)
    rows = {(r["overrides"]["partition.s"], len(r["overrides"]["faults"])): r for r in rows_of(out)}
    assert len(rows) == 8
    assert "ConfigError: partition.s: must be >= 1, got 0" in rows[0, 0]["error"]
    assert rows[1, 1]["error"].startswith("Deadlock: ") and rows[2, 1]["error"].startswith("Deadlock: ")
    assert rows[1, 0]["budgets_ok"] is True and "error" not in rows[1, 0]
    assert rows[2, 0]["budgets_ok"] is False and rows[2, 0]["bits"] > 0  # over budget, still measured
    assert len(result.failed) == 7
    assert "8/8 done · 7 failed · 0 left" in capsys.readouterr().out
    fits = json.loads((out / "fits.json").read_text())
    assert fits["bits"]["points"] == 3  # over-budget rows are measured and fitted; errors are not
    assert (out / "bits_vs_partition_s.png").exists()
    assert main(["sweep", str(scenario), "--vary", "s=1,2", "--out", str(tmp_path / "cli"), "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "failed {'partition.s': 2, 'seed': 7}: over budget: one report in all (bits 414 > 209.467)" in out


def test_bad_scheduler_and_workers_exit_2_naming_the_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", 1.0)
    common = ["sweep", str(DEMO), "--vary", "s=2,4", "--out", str(tmp_path / "out")]
    started = time.monotonic()
    assert main([*common, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert time.monotonic() - started < 10
    assert "--scheduler tcp://127.0.0.1:1: cannot connect (" in capsys.readouterr().err
    assert main([*common, "--scheduler", "nonsense"]) == 2
    assert "--scheduler nonsense: cannot connect (" in capsys.readouterr().err
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        assert main([*common, "--scheduler", empty.scheduler_address]) == 2
    assert f"--scheduler {empty.scheduler_address}: no worker joined within 1 s" in capsys.readouterr().err
    assert main([*common, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]) == 2
    assert "--workers 2: the cluster at --scheduler" in capsys.readouterr().err
    assert main([*common, "--workers", "0"]) == 2
    assert "--workers: must be >= 1, got 0" in capsys.readouterr().err


# -- resume ---------------------------------------------------------------------------------
def test_resume_skips_the_points_already_done(tmp_path, scenario, monkeypatch, capsys):
    full = tmp_path / "full"
    run_sweep(Scenario.load(scenario), VARY, full, repeat=2, workers=2, progress=False)
    lines = (full / POINTS_FILE).read_text().splitlines(keepends=True)
    out = tmp_path / "resumed"
    out.mkdir()
    (out / POINTS_FILE).write_text("".join(lines[:3]) + lines[3][:40])  # killed while writing the 4th line
    monkeypatch.setenv("SWEEP_TEST_DIR", str(tmp_path))
    monkeypatch.setattr(sweep, "run_point", counted)
    sweep_cli = ["sweep", str(scenario), "--vary", "s=1,2,4,8", "--repeat", "2", "--out", str(out)]
    assert main([*sweep_cli, "--resume"]) == 0
    assert "resumed 3 of 8 points" in capsys.readouterr().out
    assert len((tmp_path / "runs").read_text().splitlines()) == 5
    for name in OUTPUTS:
        assert (full / name).read_bytes() == (out / name).read_bytes(), name
    assert len(load_points(out / POINTS_FILE)) == 8
    # nothing left to run; without --resume the folder starts over; a changed scenario matches no stored point
    assert main([*sweep_cli, "--resume"]) == 0
    assert len((tmp_path / "runs").read_text().splitlines()) == 5
    assert main(sweep_cli) == 0
    assert len((tmp_path / "runs").read_text().splitlines()) == 13
    assert main([*sweep_cli, "--resume", "--set", "dataset.n=301"]) == 0
    assert len((tmp_path / "runs").read_text().splitlines()) == 21


@pytest.mark.timeout(90, method="thread")  # a hung fork blocks signals; the thread method still ends it
def test_local_sweep_after_openmp_in_the_caller_does_not_hang(tmp_path):
    """A fork taken after scikit-learn's OpenMP threads ran can hang; workers come from a fork server."""
    from sklearn.cluster import KMeans

    KMeans(3, n_init=2, random_state=0).fit(np.random.default_rng(0).normal(size=(4000, 8)))
    pipeline = Scenario.load(Path(__file__).resolve().parent.parent / "scenarios" / "blackboard_digits.toml")
    result = sweep.run_sweep(pipeline, {"s": [3, 5]}, tmp_path / "out", workers=2, progress=False)  # k-means in the workers too
    assert [r.get("error") for r in result.rows] == [None, None]
