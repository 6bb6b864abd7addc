"""Algorithm 16 on general topologies (Appendix E.3 of Cohen-Addad, Wang, Woodruff, Zhou,
"Distributed Algorithms for Euclidean Clustering").

The paper: "each message to the coordinator traverses at most m edges, multiplying total
communication by m" (m = |E|), for Õ(m(sk + dk/min(ε^4, ε^(2+z)) + dk log n)) bits.

Here the *same* protocol code (``coord_coreset``, ``coord_naive_adaptive``) runs on
protosim's graph model: the coordinator is a chosen node of a connected networkx graph,
the other nodes are the sites (in node order), and every message between the coordinator
and a site is routed along the BFS tree rooted at the coordinator (``party.route``), each
hop a charged message whose sender is the relaying node. No protocol message travels
between two sites, so a run on a graph sends exactly the messages of the run on the star
with the same seed — the same parties, the same coins, the same transcript — and
charges each one hops(site) times:

    bits(graph) = Σ over messages of bits(message) × hops(its site)  <=  H × bits(star),

with H the greatest hop count from the coordinator (its BFS depth, ``hops`` in the run's
parameters). H <= |E|, so this is the paper's bound with m = |E| replaced by the depth.
:func:`graph_bits_from_star` computes the left-hand side from a star run's ledger; the
tests check it equals the graph run's bits exactly.

Topologies come from the model's generators (``[model] kind = "graph"``, ``topology`` =
``grid``, ``random_geometric``, ``preferential_attachment``, ``path``, ...). Bad input is
refused before any message by the model: a graph that is not connected, a coordinator node
that does not exist (``ConfigError`` naming ``model.graph`` / ``model.coordinator``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from protosim import COORDINATOR, GraphModel, RunResult
from protosim.models import make_graph

from .coordinator import run

__all__ = ["graph_bits_from_star", "graph_model", "hop_counts", "run_on_graph", "star_hop_bound"]


def graph_model(graph: nx.Graph | dict, coordinator=None, *, seed: int = 0, public_coins: bool = False) -> GraphModel:
    """A graph model from a networkx graph or a scenario-style spec
    (``{"topology": "grid", "rows": 10, "cols": 10}``); errors name the field and value."""
    if isinstance(graph, dict):
        graph = make_graph(graph, seed)
    return GraphModel(graph, coordinator, public_coins=public_coins)


def hop_counts(model: GraphModel) -> dict[str, int]:
    """Hops from the coordinator to each site along the BFS tree (the route every message takes)."""
    return {p.name: len(model.route(COORDINATOR, p.name)) - 1 for p in model.sites}


def _site_of(src: str, dst: str) -> str:
    return dst if src == COORDINATOR else src


def graph_bits_from_star(star: RunResult, hops: dict[str, int]) -> int:
    """Σ over the star run's messages of bits × hops(site): what the same transcript costs on the graph."""
    total = 0
    for e in star.events:
        if e[0] == "msg":
            total += e[6] * hops[_site_of(e[3], e[4])]
    return total


def star_hop_bound(star: RunResult, hops: dict[str, int]) -> int:
    """H × bits(star), H = the greatest hop count (the E.3 bound with m = |E| replaced by H)."""
    return max(hops.values()) * star.bits


def run_on_graph(name: str, graph: nx.Graph | dict, parts, coordinator=None, seed: int = 0, **params) -> RunResult:
    """Run a registered coordinator protocol on a graph; ``parts`` has one array per site node."""
    return run(name, parts, seed=seed, model=graph_model(graph, coordinator, seed=seed), **params)


def split_for(graph: nx.Graph, X: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """X split uniformly at random over the graph's site nodes (all nodes but the coordinator)."""
    rng = np.random.default_rng(seed)
    return [X[i] for i in np.array_split(rng.permutation(len(X)), graph.number_of_nodes() - 1)]
