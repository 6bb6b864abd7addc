"""Faults, declared in the scenario and drawn from the run's seed.

Each fault is a table with a ``kind``:

- ``crash``: ``party`` stops at simulated time ``at``; messages to it are dropped.
- ``straggle``: every message ``party`` sends is delayed by ``delay`` more seconds.
- ``drop``: each message is lost with probability ``p``.
- ``duplicate``: each message is delivered twice with probability ``p`` (charged once:
  the sender sent it once; the trace records the duplicate).
- ``delay``: each message gets an extra delay drawn from ``latency`` (a latency law).
- ``reorder``: each message gets an extra delay uniform in [0, ``window``), so messages
  overtake each other.
- ``partition``: between ``start`` and ``end``, messages between different ``groups``
  (lists of party names; parties in no group form one more group) are dropped.

``drop``, ``duplicate``, ``delay`` and ``reorder`` accept ``src`` and ``dst`` to limit
them to messages from or to one party. Draws come from a generator of the run's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError
from .network import Latency

_KEYS = {
    "crash": {"party": True, "at": True},
    "straggle": {"party": True, "delay": True},
    "drop": {"p": True, "src": False, "dst": False},
    "duplicate": {"p": True, "src": False, "dst": False},
    "delay": {"latency": True, "src": False, "dst": False},
    "reorder": {"window": True, "src": False, "dst": False},
    "partition": {"groups": True, "start": False, "end": False},
}
KINDS = tuple(_KEYS)


@dataclass(frozen=True)
class Fault:
    kind: str
    params: dict = field(hash=False)


@dataclass
class Fate:
    """What the faults decided for one message: extra delay and how many copies arrive."""

    extra_delay: float = 0.0
    copies: int = 1
    reason: str = ""


def parse_faults(specs: list[dict] | None, parties: set[str] | None = None, where: str = "faults") -> list[Fault]:
    """Validate fault tables; names are checked against ``parties`` when given."""
    out = []
    for i, spec in enumerate(specs or []):
        at = f"{where}[{i}]"
        if not isinstance(spec, dict) or "kind" not in spec:
            raise ConfigError(f"{at}: expected a table with 'kind', got {spec!r}")
        kind = spec["kind"]
        if kind not in _KEYS:
            raise ConfigError(f"{at}.kind: unknown fault {kind!r}; expected one of {', '.join(KINDS)}")
        keys = _KEYS[kind]
        for key in spec:
            if key != "kind" and key not in keys:
                raise ConfigError(f"{at}.{key}: unknown key for {kind}; expected {', '.join(keys)}")
        for key, required in keys.items():
            if required and key not in spec:
                raise ConfigError(f"{at}.{key}: required for a {kind} fault")
        params = {k: v for k, v in spec.items() if k != "kind"}
        for key in ("at", "delay", "window", "start", "end"):
            if key in params and (not _number(params[key]) or params[key] < 0):
                raise ConfigError(f"{at}.{key}: must be a number >= 0, got {params[key]!r}")
        if "p" in params and (not _number(params["p"]) or not 0 <= params["p"] <= 1):
            raise ConfigError(f"{at}.p: must be a probability in [0, 1], got {params['p']!r}")
        if "latency" in params:
            params["latency"] = Latency.parse(params["latency"], f"{at}.latency")
        names = [params.get("party"), params.get("src"), params.get("dst")]
        if kind == "partition":
            groups = params["groups"]
            if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
                raise ConfigError(f"{at}.groups: expected a list of lists of party names, got {groups!r}")
            names += [p for g in groups for p in g]
        if parties is not None:
            for name in names:
                if name is not None and name not in parties:
                    raise ConfigError(f"{at}: no party named {name!r}")
        out.append(Fault(kind, params))
    return out


class FaultPlan:
    """Applies the declared faults to each message, drawing from ``rng``."""

    def __init__(self, faults: list[Fault], rng: np.random.Generator):
        self.rng = rng
        self.crashes = {f.params["party"]: float(f.params["at"]) for f in faults if f.kind == "crash"}
        self.straggle: dict[str, float] = {}
        for f in faults:
            if f.kind == "straggle":
                self.straggle[f.params["party"]] = self.straggle.get(f.params["party"], 0.0) + float(f.params["delay"])
        self.per_message = [f for f in faults if f.kind in ("drop", "duplicate", "delay", "reorder", "partition")]
        self.active = bool(self.straggle or self.per_message)

    def fate(self, src: str, dst: str, now: float) -> Fate:
        fate = Fate(extra_delay=self.straggle.get(src, 0.0))
        for f in self.per_message:
            p = f.params
            if ("src" in p and p["src"] != src) or ("dst" in p and p["dst"] != dst):
                continue
            if f.kind == "drop" and self.rng.random() < p["p"]:
                fate.copies, fate.reason = 0, "drop"
            elif f.kind == "duplicate" and self.rng.random() < p["p"] and fate.copies:
                fate.copies, fate.reason = 2, "duplicate"
            elif f.kind == "delay":
                fate.extra_delay += p["latency"].draw(self.rng)
            elif f.kind == "reorder":
                fate.extra_delay += float(self.rng.uniform(0.0, p["window"]))
            elif f.kind == "partition" and _cut(p, src, dst, now):
                fate.copies, fate.reason = 0, "partition"
        return fate


def _cut(p: dict, src: str, dst: str, now: float) -> bool:
    if not p.get("start", 0.0) <= now < p.get("end", float("inf")):
        return False
    def group(name):
        return next((i for i, g in enumerate(p["groups"]) if name in g), -1)
    return group(src) != group(dst)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
