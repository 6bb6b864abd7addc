"""Scenario files: validation with key paths, overrides, and runs."""

import copy

import numpy as np

import pytest

from protosim import ConfigError
from protosim.scenario import Scenario, parse_assignments, parse_value

BASE = {
    "name": "t",
    "seed": 3,
    "dataset": {"name": "gaussian_mixture", "n": 300, "d": 3, "k": 2},
    "partition": {"kind": "uniform", "s": 5},
    "model": {"kind": "coordinator"},
    "protocol": {"name": "demo_sum"},
    "budgets": [{"name": "bits", "figure": "bits", "bound": "s*(2*log2(n+1) + 1 + 64*d)"}],
}


def scenario(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def test_runs_and_checks_budgets():
    result, checks = Scenario.from_dict(BASE).run()
    assert result.output["n"] == 300
    assert result.params["s"] == 5
    assert [c.ok for c in checks] == [True]
    assert result.scenario == BASE
    # the protocol's evaluate hook scores the output on the full data, outside the run
    assert result.outputs()["mean_error"] < 1e-12


@pytest.mark.parametrize("changes,match", [
    ({"colour": "red"}, "colour: unknown key"),
    ({"seed": -2}, "seed: must be an integer in"),
    ({"partition": {"kind": "uniform", "s": 5, "ss": 1}}, "partition.ss: unknown key"),
    ({"protocol": {"name": "nope"}}, "protocol.name: unknown protocol 'nope'"),
    ({"protocol": {"name": "demo_sum", "params": {"k": 3}}}, "protocol.params.k: unknown parameter of demo_sum"),
    ({"model": {"kind": "mpc", "machines": 5, "memory": 1e9}}, "does not run on the mpc model"),
    ({"dataset": {"name": "gaussian_mixture", "n": 0, "d": 3, "k": 2}}, "n"),
    ({"partition": {"kind": "uniform", "s": 0}}, "partition.s: must be >= 1, got 0"),
    ({"faults": [{"kind": "crash", "party": "site9", "at": 1}]}, r"faults\[0\]: no party named 'site9'"),
    ({"budgets": [{"name": "b", "figure": "bitz", "bound": "1"}]}, "unknown figure 'bitz'"),
    ({"limits": {"wall": -1}}, "limits.wall: must be a positive number of seconds, got -1"),
    ({"network": {"bandwidth": 0}}, "network.bandwidth: must be a positive number"),
])
def test_bad_scenarios_name_the_key(changes, match):
    with pytest.raises(ConfigError, match=match):
        Scenario.from_dict(scenario(**changes)).run()


def test_graph_scenario_takes_s_from_the_graph():
    data = scenario(model={"kind": "graph", "topology": "grid", "rows": 3, "cols": 3, "coordinator": [1, 1]},
                    partition={"kind": "uniform"}, budgets=[])
    result, _ = Scenario.from_dict(data).run()
    assert result.params["s"] == 8 and result.params["hops"] == 2
    assert result.rounds == 2
    with pytest.raises(ConfigError, match="partition.s: the graph model needs 8 parts, got s=5"):
        Scenario.from_dict(scenario(model=data["model"])).run()


def test_overrides_dotted_and_bare():
    sc = Scenario.from_dict(BASE, overrides={"s": 7, "dataset.n": 100})
    assert sc.data["partition"]["s"] == 7 and sc.data["dataset"]["n"] == 100
    with pytest.raises(ConfigError, match="ambiguous, it could be partition.kind or model.kind"):
        Scenario.from_dict(BASE, overrides={"kind": "x"})
    with pytest.raises(ConfigError, match="no key called 'zeta'"):
        Scenario.from_dict(BASE, overrides={"zeta": 1})


def test_parse_values():
    assert parse_value("10") == 10 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value("digits") == "digits"
    assert parse_assignments(["s=4", "dataset.name=iris"]) == {"s": 4, "dataset.name": "iris"}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_assignments(["s"])


def test_load_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Scenario.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Scenario.load(bad)


def test_seeds_of_data_and_partition_default_to_the_run_seed():
    a, _ = Scenario.from_dict(BASE).run()
    b, _ = Scenario.from_dict(BASE, overrides={"seed": 4}).run()
    c, _ = Scenario.from_dict(scenario(dataset={**BASE["dataset"], "seed": 3}, partition={**BASE["partition"], "seed": 3}),
                              overrides={"seed": 4}).run()
    assert a.output["sum"].tolist() != b.output["sum"].tolist()
    assert a.output["sum"].tolist() == pytest.approx(c.output["sum"].tolist())


def test_quantise_maps_the_data_onto_the_grid():
    data = scenario(dataset={**BASE["dataset"], "quantise": 8})
    result, _ = Scenario.from_dict(data).run()
    total = result.output["sum"]
    assert np.all(total == np.rint(total))               # integer coordinates
    assert result.output["mean"].max() <= 255 and result.output["mean"].min() >= 0
    with pytest.raises(ConfigError, match="dataset.quantise: bits per coordinate must be an integer in \\[1, 52\\], got 64"):
        Scenario.from_dict(scenario(dataset={**BASE["dataset"], "quantise": 64}))
