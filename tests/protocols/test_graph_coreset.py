"""Algorithm 16 and the naive baseline on general topologies (Appendix E.3 of Cohen-Addad,
Wang, Woodruff, Zhou): the same protocol code on a graph sends the star's transcript with
every message charged once per hop — exactly Σ bits × hops(site), at most (max hops) × the
star's bits — on a path, a grid, a random geometric graph and a preferential-attachment
graph; bad topologies are refused before any message; the grid scenario.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from protocols.euclidean.coordinator import run
from protocols.euclidean.graph import (
    graph_bits_from_star,
    graph_model,
    hop_counts,
    run_on_graph,
    split_for,
    star_hop_bound,
)
from protosim import ConfigError, GraphModel
from protosim.datasets import make_dataset, quantise
from protosim.models import make_graph
from protosim.scenario import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def data(n=600, d=4, k=3, seed=1):
    g = make_dataset({"name": "gaussian_mixture", "n": n, "d": d, "k": k}, seed=seed).X
    return quantise(g, 8)[0].astype(np.float64)


PROTOCOLS = [("coord_coreset", dict(k=3, log2Delta=8, eps=0.5)), ("coord_naive_adaptive", dict(k=3, log2Delta=8))]


def compare_with_star(name, kw, graph, coordinator, parts, seed=5):
    model = graph_model(graph, coordinator)
    on_graph = run(name, parts, seed=seed, model=model, **kw)
    star = run(name, parts, seed=seed, **kw)
    hops = hop_counts(model)
    return star, on_graph, hops


@pytest.mark.parametrize("name,kw", PROTOCOLS)
@pytest.mark.parametrize("coordinator", [0, 2])
def test_path_bits_are_exactly_the_sum_over_hops(name, kw, coordinator):
    """On a path the hop count of every site is known (|node - coordinator|): the graph run
    sends the star's messages, each charged hops(site) times."""
    g = nx.path_graph(6)
    X = data()
    parts = split_for(g, X)
    star, on_graph, hops = compare_with_star(name, kw, g, coordinator, parts)
    model = graph_model(g, coordinator)
    assert hops == {model.name_of[v]: abs(v - coordinator) for v in g.nodes if v != coordinator}
    assert on_graph.bits == graph_bits_from_star(star, hops)
    assert on_graph.bits <= star_hop_bound(star, hops) == max(hops.values()) * star.bits
    assert np.array_equal(on_graph.output["S"], star.output["S"])
    # every hop is a message; relays are charged to the relaying node
    assert on_graph.messages == sum(hops[e[4] if e[3] == "coord" else e[3]] for e in star.events if e[0] == "msg")
    assert on_graph.params["hops"] == max(hops.values())
    print(f"{name} on a path, coordinator {coordinator}: star {star.bits:,} bits, path {on_graph.bits:,} "
          f"(= Σ bits × hops), bound H × star = {star_hop_bound(star, hops):,}")


@pytest.mark.parametrize("spec", [
    {"topology": "grid", "rows": 3, "cols": 4},
    {"topology": "random_geometric", "nodes": 12, "radius": 0.5},
    {"topology": "preferential_attachment", "nodes": 12, "m": 2},
])
def test_topologies_charge_every_hop(spec):
    g = make_graph(spec, seed=3)
    assert nx.is_connected(g)
    coordinator = next(iter(g.nodes))
    X = data()
    parts = split_for(g, X)
    name, kw = PROTOCOLS[0]
    star, on_graph, hops = compare_with_star(name, kw, g, coordinator, parts)
    assert on_graph.bits == graph_bits_from_star(star, hops) <= star_hop_bound(star, hops)
    assert np.array_equal(on_graph.output["centers"], star.output["centers"])
    mean_hops = on_graph.bits / star.bits
    print(f"{spec['topology']}: {g.number_of_nodes()} nodes, max hops {max(hops.values())}, "
          f"bits {on_graph.bits:,} = {mean_hops:.2f} x star")


def test_bad_topologies_refused_before_any_message():
    two = nx.Graph([(0, 1), (2, 3)])
    with pytest.raises(ConfigError, match=r"model.graph: the graph is not connected \(2 components\)"):
        GraphModel(two, 0)
    with pytest.raises(ConfigError, match=r"model.coordinator: node 9 is not in the graph"):
        GraphModel(nx.path_graph(4), 9)
    with pytest.raises(ConfigError, match="not connected"):
        run_on_graph("coord_coreset", {"topology": "random_geometric", "nodes": 30, "radius": 0.01},
                     [np.zeros((1, 2))] * 29, k=1, log2Delta=2)


@pytest.mark.parametrize("model,match", [
    ({"kind": "graph", "topology": "edges", "edges": [[0, 1], [2, 3]]}, "not connected"),
    ({"kind": "graph", "topology": "grid", "rows": 3, "cols": 3, "coordinator": [7, 7]}, r"model.coordinator: node \(7, 7\)"),
])
def test_bad_topologies_in_a_scenario(model, match):
    scenario = Scenario.from_dict({
        "dataset": {"name": "gaussian_mixture", "n": 100, "d": 2, "k": 2}, "model": model,
        "protocol": {"name": "coord_coreset", "params": {"k": 2, "log2Delta": 8, "grid_lo": -20.0, "grid_step": 0.25}},
    })
    with pytest.raises(ConfigError, match=match):
        scenario.run()


def test_grid_scenario_runs_within_its_budget():
    # The full scenario (10 x 10 grid, 99 sites) takes about 15-20 s and is reported in
    # docs/protocols/euclidean-coordinator.md; here the same file on a 5 x 5 grid (24 sites).
    scenario = Scenario.load(SCENARIOS / "graph_grid.toml", {"model.rows": 5, "model.cols": 5, "model.coordinator": [2, 2]})
    result, checks = scenario.run()
    assert result.model == "graph" and result.params["s"] == 24 and result.params["hops"] == 4
    assert checks and all(c.ok for c in checks), [c.message for c in checks if not c.ok]
    print("graph_grid (5 x 5): " + "; ".join(c.message for c in checks))
