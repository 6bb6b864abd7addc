"""Communication models, one module each; ``make_model`` builds one from a scenario table."""

from __future__ import annotations

from ..errors import ConfigError
from .base import COORDINATOR, Model, site
from .blackboard import BlackboardModel
from .coordinator import CoordinatorModel
from .graph import TOPOLOGIES, GraphModel, make_graph
from .mpc import MPCModel, machine
from .streaming import StreamingModel

MODELS: dict[str, type[Model]] = {
    m.name: m for m in (CoordinatorModel, BlackboardModel, GraphModel, MPCModel, StreamingModel)
}

_KEYS = {
    "coordinator": {"public_coins"},
    "blackboard": {"public_coins"},
    "graph": {"public_coins", "coordinator", "topology", "rows", "cols", "nodes", "radius", "m", "edges"},
    "mpc": {"public_coins", "machines", "memory"},
    "streaming": {"public_coins", "memory"},
}


def make_model(spec: dict, seed: int = 0, where: str = "model") -> Model:
    """A model from a scenario table such as ``{kind = "mpc", machines = 8, memory = "n*d*64/4"}``."""
    kind = spec.get("kind")
    if kind not in MODELS:
        raise ConfigError(f"{where}.kind: unknown model {kind!r}; expected one of {', '.join(MODELS)}")
    for key in spec:
        if key != "kind" and key not in _KEYS[kind]:
            raise ConfigError(f"{where}.{key}: unknown key for the {kind} model; expected {', '.join(sorted(_KEYS[kind]))}")
    coins = spec.get("public_coins", False)
    if not isinstance(coins, bool):
        raise ConfigError(f"{where}.public_coins: must be true or false, got {coins!r}")
    if kind == "graph":
        graph = make_graph(spec, seed, where)
        coordinator = spec.get("coordinator")
        if isinstance(coordinator, list):
            coordinator = tuple(coordinator)
        return GraphModel(graph, coordinator, public_coins=coins)
    if kind == "mpc":
        if "machines" not in spec or "memory" not in spec:
            raise ConfigError(f"{where}: the mpc model needs machines and memory")
        return MPCModel(spec["machines"], spec["memory"], public_coins=coins)
    if kind == "streaming":
        return StreamingModel(spec.get("memory"), public_coins=coins)
    return MODELS[kind](public_coins=coins)


def parties_needed(spec: dict, seed: int = 0) -> int | None:
    """How many data parts a model needs (graph: nodes - 1; mpc: machines), or None if free."""
    if spec.get("kind") == "graph":
        return make_graph(spec, seed).number_of_nodes() - 1
    if spec.get("kind") == "mpc":
        return spec.get("machines")
    if spec.get("kind") == "streaming":
        return 1
    return None


__all__ = [
    "COORDINATOR", "MODELS", "TOPOLOGIES", "BlackboardModel", "CoordinatorModel", "GraphModel",
    "MPCModel", "Model", "StreamingModel", "machine", "make_graph", "make_model", "parties_needed", "site",
]
