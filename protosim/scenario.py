"""Scenarios: a TOML file that names everything one run needs.

    name = "demo on digits"
    seed = 1
    [dataset]    name = "digits"
    [partition]  kind = "uniform"   s = 10
    [model]      kind = "coordinator"
    [network]    latency = 0.001    bandwidth = 1e6
    [protocol]   name = "demo_sum"  params = {}
    [limits]     wall = 60          sim_time = 1e6
    [[faults]]   kind = "crash"  party = "site3"  at = 0.5
    [[budgets]]  name = "report"  figure = "bits"  bound = "s*(2*clog2(n+1) + 1 + 64*d)"

``dataset.quantise = b`` maps the data onto the integer grid {0, ..., 2^b - 1}^d
(protosim.datasets.quantise: the bounding box, one scale for every coordinate) before it is
partitioned: the declared, public quantisation that grid-input papers assume. It happens
outside the protocol and is not charged.

Unknown keys and bad values are errors that name the key path and the value. Overrides
(``--set partition.s=20``, or a bare ``s=20`` when exactly one key is called ``s``) apply
before validation. The dataset and the partition draw from ``dataset.seed`` and
``partition.seed``, which default to the run's ``seed``.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .budget import Budget
from .datasets import make_dataset, quantise
from .errors import ConfigError
from .faults import parse_faults
from .kernel import DEFAULT_WALL_LIMIT, Simulation
from .models import make_model, parties_needed
from .network import Network
from .partitions import partition
from .registry import get_protocol
from .result import RunResult

SECTIONS = {
    "name": str, "description": str, "seed": int, "dataset": dict, "partition": dict, "model": dict,
    "network": dict, "protocol": dict, "faults": list, "limits": dict, "budgets": list,
}
_REQUIRED = ("dataset", "model", "protocol")
_PARTITION_KEYS = {"kind", "s", "seed", "zipf_a", "sizes", "assignment"}
_PROTOCOL_KEYS = {"name", "params"}
_LIMIT_KEYS = {"wall", "sim_time"}


@dataclass
class Scenario:
    """A validated scenario; ``run()`` builds the simulation and runs it."""

    data: dict
    source: str = "<scenario>"

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> "Scenario":
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"scenario file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(raw, str(path), overrides)

    @classmethod
    def from_dict(cls, raw: dict, source: str = "<scenario>", overrides: dict[str, Any] | None = None) -> "Scenario":
        data = copy.deepcopy(raw)
        for key, value in (overrides or {}).items():
            set_key(data, key, value)
        _validate(data, source)
        return cls(data, source)

    def with_overrides(self, overrides: dict[str, Any]) -> "Scenario":
        return Scenario.from_dict(self.data, self.source, overrides)

    @property
    def name(self) -> str:
        return self.data.get("name", Path(self.source).stem)

    @property
    def seed(self) -> int:
        return self.data.get("seed", 0)

    @property
    def budgets(self) -> list[Budget]:
        return [Budget.from_dict(b, f"budgets[{i}]") for i, b in enumerate(self.data.get("budgets", []))]

    # -- running --------------------------------------------------------------------------
    def build(self) -> tuple[Simulation, Any]:
        """The simulation with its roles spawned, and the output process."""
        sim, output, _dataset = self._build()
        return sim, output

    def _build(self):
        d = self.data
        seed = self.seed
        spec = get_protocol(d["protocol"]["name"])
        model_spec = d["model"]
        model = make_model(model_spec, seed)
        params = spec.bind(d["protocol"].get("params", {}), model.name)
        dataset_spec = dict(d["dataset"])
        generator = {k: v for k, v in dataset_spec.items() if k not in ("seed", "quantise")}
        dataset = make_dataset(generator, dataset_spec.get("seed", seed))
        if "quantise" in dataset_spec:
            dataset.X = quantise(dataset.X, dataset_spec["quantise"])[0].astype(np.float64)
        parts = self._partition(dataset, model_spec, seed)
        limits = d.get("limits", {})
        sim = Simulation(
            model, parts, params=params, seed=seed, network=Network.from_dict(d.get("network")),
            faults=d.get("faults"), wall_limit=limits.get("wall", DEFAULT_WALL_LIMIT), time_limit=limits.get("sim_time"),
            protocol=spec.name, scenario=copy.deepcopy(self.data),
        )
        return sim, spec.setup(sim, **params), dataset

    def run(self) -> tuple[RunResult, list]:
        """Run once, score the output on the full data if the protocol says how; returns the result and its budget checks."""
        budgets = self.budgets
        sim, output, dataset = self._build()
        result = sim.run(output)
        spec = get_protocol(result.protocol)
        if spec.evaluate is not None and isinstance(result.output, dict):
            result.output.update(spec.evaluate(dataset.X, result.output, result.params))
        return result, [b.check(result) for b in budgets]

    def _partition(self, dataset, model_spec: dict, seed: int) -> list[np.ndarray]:
        p = dict(self.data.get("partition", {}))
        need = parties_needed(model_spec, seed)
        s = p.get("s", need)
        if s is None:
            raise ConfigError("partition.s: required for the coordinator and blackboard models (the number of sites)")
        if need is not None and s != need:
            raise ConfigError(f"partition.s: the {model_spec['kind']} model needs {need} parts, got s={s!r}")
        rng = np.random.default_rng(p.get("seed", seed))
        kwargs = {k: p[k] for k in ("zipf_a", "sizes", "assignment") if k in p}
        index = partition(dataset.X, s, p.get("kind", "uniform"), rng=rng, labels=dataset.labels, **kwargs)
        return [dataset.X[i] for i in index]


# -- keys and overrides ---------------------------------------------------------------------
def leaf_paths(data: Any, prefix: str = "") -> list[str]:
    """Every dotted key path of a nested mapping (lists are leaves)."""
    if not isinstance(data, dict):
        return [prefix]
    out = []
    for key, value in data.items():
        out += leaf_paths(value, f"{prefix}.{key}" if prefix else key)
    return out


def resolve_key(data: dict, key: str) -> str:
    """A dotted path as given, or the one leaf whose last part is the bare ``key``."""
    if "." in key or key in data:
        return key
    matches = [p for p in leaf_paths(data) if p.rsplit(".", 1)[-1] == key]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"--set {key}: no key called {key!r} in the scenario; give a dotted path such as partition.{key}")
    raise ConfigError(f"--set {key}: ambiguous, it could be {' or '.join(matches)}; give the dotted path")


def set_key(data: dict, key: str, value: Any) -> str:
    """Set ``key`` (dotted or bare) in the nested mapping; returns the dotted path used."""
    path = resolve_key(data, key)
    node = data
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a table")
        node = nxt
    node[parts[-1]] = value
    return path


def parse_value(text: str) -> Any:
    """A command-line value as TOML (``10``, ``0.5``, ``true``, ``[1, 2]``), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items: list[str], flag: str = "--set") -> dict[str, Any]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r}: expected key=value")
        out[key.strip()] = parse_value(value.strip())
    return out


# -- validation -----------------------------------------------------------------------------
def _validate(d: dict, source: str) -> None:
    for key, value in d.items():
        if key not in SECTIONS:
            raise ConfigError(f"{source}: {key}: unknown key; expected one of {', '.join(SECTIONS)}")
        kind = SECTIONS[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{source}: {key}: expected {kind.__name__}, got {value!r}")
    for key in _REQUIRED:
        if key not in d:
            raise ConfigError(f"{source}: [{key}] is required")
    if not 0 <= d.get("seed", 0) < 2**63:
        raise ConfigError(f"{source}: seed: must be an integer in [0, 2**63), got {d['seed']!r}")
    _only(d.get("partition", {}), _PARTITION_KEYS, "partition", source)
    _only(d["protocol"], _PROTOCOL_KEYS, "protocol", source)
    _only(d.get("limits", {}), _LIMIT_KEYS, "limits", source)
    for key, value in d.get("limits", {}).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ConfigError(f"{source}: limits.{key}: must be a positive number of seconds, got {value!r}")
    if "name" not in d["protocol"]:
        raise ConfigError(f"{source}: protocol.name is required")
    if not isinstance(d["protocol"].get("params", {}), dict):
        raise ConfigError(f"{source}: protocol.params: expected a table, got {d['protocol']['params']!r}")
    if "name" not in d["dataset"]:
        raise ConfigError(f"{source}: dataset.name is required")
    q = d["dataset"].get("quantise")
    if q is not None and (not isinstance(q, int) or isinstance(q, bool) or not 1 <= q <= 52):
        raise ConfigError(f"{source}: dataset.quantise: bits per coordinate must be an integer in [1, 52], got {q!r}")
    if "kind" not in d["model"]:
        raise ConfigError(f"{source}: model.kind is required")
    parse_faults(d.get("faults"))
    Network.from_dict(d.get("network"))
    for i, b in enumerate(d.get("budgets", [])):
        Budget.from_dict(b, f"budgets[{i}]")


def _only(table: dict, allowed: set, where: str, source: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{source}: {where}.{key}: unknown key; expected one of {', '.join(sorted(allowed))}")
