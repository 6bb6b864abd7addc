"""The protocol registry: protocols declare themselves; protosim finds them by entry point.

Imports go one way (protocols -> protosim). A protocol package registers its protocols
with :func:`protocol` when it is imported; protosim imports the modules named in the
``protosim.protocols`` entry-point group (pyproject.toml) the first time it needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable

from .errors import ConfigError

REQUIRED = object()
"""Default of a parameter that has none: the scenario must give it."""


@dataclass(frozen=True)
class Param:
    """A declared protocol parameter: default, type and range, checked before the run."""

    default: Any = REQUIRED
    kind: type = float
    low: float | None = None
    high: float | None = None
    doc: str = ""

    def check(self, name: str, value: Any, where: str) -> Any:
        if self.kind is bool:
            ok = isinstance(value, bool)
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf")
        else:
            ok = isinstance(value, self.kind)
        if not ok:
            raise ConfigError(f"{where}.{name}: expected {self.kind.__name__}, got {value!r}")
        if self.low is not None and value < self.low:
            raise ConfigError(f"{where}.{name}: must be >= {self.low}, got {value!r}")
        if self.high is not None and value > self.high:
            raise ConfigError(f"{where}.{name}: must be <= {self.high}, got {value!r}")
        return float(value) if self.kind is float else value


@dataclass(frozen=True)
class ProtocolSpec:
    """A registered protocol: ``setup(sim, **params)`` spawns its roles and returns the output process.

    ``evaluate(X, output, params) -> dict``, when given, scores the output on the full
    dataset X after the run (e.g. the clustering cost of the returned centers). It runs
    outside the simulation, so nothing it computes is charged or known to any party.
    """

    name: str
    setup: Callable
    models: tuple[str, ...]
    description: str
    params: dict[str, Param] = field(default_factory=dict)
    evaluate: Callable | None = None

    def bind(self, given: dict, model: str, where: str = "protocol.params") -> dict:
        """Validate parameters for a run on ``model``; unknown or missing ones are errors."""
        if model not in self.models:
            raise ConfigError(f"protocol {self.name!r} does not run on the {model} model; it runs on {', '.join(self.models)}")
        for key in given:
            if key not in self.params:
                known = ", ".join(self.params) or "none"
                raise ConfigError(f"{where}.{key}: unknown parameter of {self.name}; expected {known}")
        out = {}
        for key, param in self.params.items():
            if key in given:
                out[key] = param.check(key, given[key], where)
            elif param.default is REQUIRED:
                raise ConfigError(f"{where}.{key}: required by {self.name} ({param.doc or param.kind.__name__})")
            else:
                out[key] = param.default
        return out


_REGISTRY: dict[str, ProtocolSpec] = {}
_LOADED = False


def protocol(name: str, *, models: tuple[str, ...], description: str, params: dict[str, Param] | None = None,
             evaluate: Callable | None = None):
    """Decorator: register ``setup`` under ``name`` (see :class:`ProtocolSpec`)."""

    def register(setup: Callable) -> Callable:
        _REGISTRY[name] = ProtocolSpec(name, setup, tuple(models), description, dict(params or {}), evaluate)
        return setup

    return register


def protocol_modules() -> list[str]:
    """The modules named in the ``protosim.protocols`` entry-point group."""
    return [ep.value for ep in entry_points(group="protosim.protocols")]


def protocols() -> dict[str, ProtocolSpec]:
    """Every registered protocol, after importing the entry-point modules once."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for ep in entry_points(group="protosim.protocols"):
            ep.load()
    return dict(sorted(_REGISTRY.items()))


def get_protocol(name: str) -> ProtocolSpec:
    known = protocols()
    if name not in known:
        raise ConfigError(f"protocol.name: unknown protocol {name!r}; expected one of {', '.join(known) or 'none'}")
    return known[name]
