"""The graph model: parties are the nodes of a connected networkx graph.

A party sends only to its neighbours; ``route`` forwards along a shortest path and every
hop is a charged message (the relaying node is its sender). One node is the coordinator
(it holds no data); the other nodes are the sites, in the graph's node order. Messages to
and from the coordinator follow one BFS tree rooted at it (Appendix E.3 of the Euclidean
clustering paper).
"""

from __future__ import annotations

import networkx as nx

from ..errors import ConfigError
from .base import COORDINATOR, Model, site


class GraphModel(Model):
    name = "graph"
    description = "any connected networkx graph: neighbour sends only; routed messages charge every hop"

    def __init__(self, graph: nx.Graph, coordinator=None, *, public_coins: bool = False):
        super().__init__(public_coins=public_coins)
        if not isinstance(graph, nx.Graph) or graph.is_directed():
            raise ConfigError(f"model.graph: expected an undirected networkx graph, got {type(graph).__name__}")
        if graph.number_of_nodes() < 2:
            raise ConfigError(f"model.graph: needs at least 2 nodes, got {graph.number_of_nodes()}")
        if not nx.is_connected(graph):
            parts = nx.number_connected_components(graph)
            raise ConfigError(f"model.graph: the graph is not connected ({parts} components); every site must reach the coordinator")
        nodes = list(graph.nodes)
        if coordinator is None:
            coordinator = nodes[0]
        if coordinator not in graph:
            raise ConfigError(f"model.coordinator: node {coordinator!r} is not in the graph (nodes: {nodes[:5]}{' …' if len(nodes) > 5 else ''})")
        self.graph = graph
        self.coordinator_node = coordinator
        self.node_of: dict[str, object] = {COORDINATOR: coordinator}
        for i, node in enumerate(n for n in nodes if n != coordinator):
            self.node_of[site(i)] = node
        self.name_of = {node: name for name, node in self.node_of.items()}
        self._paths: dict[object, dict] = {}

    @property
    def n_sites(self) -> int:
        return self.graph.number_of_nodes() - 1

    def build(self, sim, parts) -> None:
        if len(parts) != self.n_sites:
            raise ConfigError(f"partition.s: the graph has {self.n_sites} site nodes besides the coordinator, but the data has {len(parts)} parts")
        self.coordinator = sim.new_party(COORDINATOR, "coordinator")
        self.sites = [sim.new_party(site(i), "site", part) for i, part in enumerate(parts)]

    def params(self) -> dict:
        """``hops``: the greatest hop count from the coordinator (its BFS depth)."""
        return {"hops": max(len(p) for p in self._from(self.coordinator_node).values()) - 1}

    def neighbours(self, name: str) -> list[str]:
        return [self.name_of[v] for v in self.graph.neighbors(self.node_of[name])]

    def _from(self, node) -> dict:
        paths = self._paths.get(node)
        if paths is None:
            paths = self._paths[node] = nx.single_source_shortest_path(self.graph, node)
        return paths

    def route(self, src: str, dst: str) -> list[str]:
        """The party names on the shortest path from ``src`` to ``dst`` (BFS tree at the coordinator)."""
        a, b = self.node_of[src], self.node_of[dst]
        nodes = self._from(b)[a][::-1] if b == self.coordinator_node else self._from(a)[b]
        return [self.name_of[v] for v in nodes]

    def path(self, party, dst, route, bits):
        super().path(party, dst, route, bits)
        if self.graph.has_edge(self.node_of[party.name], self.node_of[dst]):
            return [party.name, dst]
        if not route:
            raise self.violation(party, f"sent {bits} bits to {dst}, which is not a neighbour (use route for multi-hop)")
        return self.route(party.name, dst)


TOPOLOGIES = {
    "grid": "rows x cols grid graph (node (i, j)); keys rows, cols",
    "path": "path of `nodes` nodes",
    "cycle": "cycle of `nodes` nodes",
    "star": "star: node 0 joined to `nodes` - 1 leaves",
    "complete": "complete graph on `nodes` nodes",
    "random_geometric": "random geometric graph: `nodes` points in the unit square, joined within `radius` (seeded; must be connected)",
    "preferential_attachment": "Barabási–Albert graph on `nodes` nodes, `m` edges per new node (seeded)",
    "edges": "explicit `edges`: a list of [u, v] pairs",
}


def make_graph(spec: dict, seed: int = 0, where: str = "model") -> nx.Graph:
    """Build a topology from a scenario table: ``{topology = "grid", rows = 10, cols = 10}``."""
    kind = spec.get("topology")
    if kind not in TOPOLOGIES:
        raise ConfigError(f"{where}.topology: unknown topology {kind!r}; expected one of {', '.join(TOPOLOGIES)}")

    def get(key, minimum=1, cast=int):
        if key not in spec:
            raise ConfigError(f"{where}.{key}: required for topology {kind!r}")
        value = spec[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum or (cast is int and value != int(value)):
            raise ConfigError(f"{where}.{key}: must be {'an integer' if cast is int else 'a number'} >= {minimum}, got {value!r}")
        return cast(value)

    if kind == "grid":
        return nx.grid_2d_graph(get("rows"), get("cols"))
    if kind == "path":
        return nx.path_graph(get("nodes", 2))
    if kind == "cycle":
        return nx.cycle_graph(get("nodes", 3))
    if kind == "star":
        return nx.star_graph(get("nodes", 2) - 1)
    if kind == "complete":
        return nx.complete_graph(get("nodes", 2))
    if kind == "random_geometric":
        return nx.random_geometric_graph(get("nodes", 2), get("radius", 0, float), seed=seed)
    if kind == "preferential_attachment":
        nodes = get("nodes", 2)
        return nx.barabasi_albert_graph(nodes, min(get("m"), nodes - 1), seed=seed)
    edges = spec.get("edges")
    if not isinstance(edges, list) or not edges or not all(isinstance(e, list) and len(e) == 2 for e in edges):
        raise ConfigError(f"{where}.edges: expected a non-empty list of [u, v] pairs, got {edges!r}")
    return nx.Graph([tuple(e) for e in edges])
