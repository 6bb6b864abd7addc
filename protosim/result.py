"""RunResult: what a run returns — the output, its figures, breakdowns and fingerprint.

Figures (the names budgets use):

- ``bits``: information bits of every message row (posts once, every forwarded hop);
- ``wire_bytes``: msgpack frame bytes of the same rows;
- ``messages``: number of message rows;
- ``rounds``: the greatest causal depth (docs/accounting.md);
- ``sim_time``: simulated time at the end of the run;
- ``peak_memory``: the greatest encoded bits a machine held (MPC, streaming), else 0;
- ``max_party_bits``: the greatest bits sent by one party;
- ``passes``: passes over the input (streaming), else 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

FIGURES = ("bits", "wire_bytes", "messages", "rounds", "sim_time", "peak_memory", "max_party_bits", "passes")


@dataclass
class RunResult:
    """The result of :meth:`protosim.Simulation.run`."""

    output: Any
    params: dict
    model: str
    seed: int
    events: list[tuple]
    fingerprint: str
    sim_time: float
    peak_memory: int = 0
    public_coins: bool = False
    idle: dict[str, str] = field(default_factory=dict)
    crashed: list[str] = field(default_factory=list)
    protocol: str = ""
    scenario: dict | None = None
    model_figures: dict = field(default_factory=dict)

    def __post_init__(self):
        rows = [e for e in self.events if e[0] == "msg"]
        self.messages = len(rows)
        self.bits = sum(e[6] for e in rows)
        self.wire_bytes = sum(e[7] for e in rows)
        self.rounds = max([e[8] for e in rows], default=0)
        self._rows = rows

    # -- figures --------------------------------------------------------------------------
    def figure(self, name: str, phase: str | None = None, party: str | None = None) -> float:
        """One figure by name, optionally restricted to a phase (path prefix) or a sender."""
        if name not in FIGURES:
            raise ConfigError(f"figure: unknown figure {name!r}; expected one of {', '.join(FIGURES)}")
        if phase is None and party is None:
            if name == "max_party_bits":
                return max((v["bits"] for v in self.by_party.values()), default=0)
            if name == "passes":
                return self.model_figures.get("passes", 0)
            return getattr(self, name)
        rows = self._rows
        if phase is not None:
            rows = [e for e in rows if _in_phase(e[9], phase)]
        if party is not None:
            rows = [e for e in rows if e[3] == party]
        column = {"bits": 6, "wire_bytes": 7}.get(name)
        if column is not None:
            return sum(e[column] for e in rows)
        if name == "messages":
            return len(rows)
        raise ConfigError(f"figure {name!r} cannot be restricted to a phase or party")

    def check(self, budget):
        """Check one :class:`protosim.budget.Budget`; returns its BudgetCheck."""
        return budget.check(self)

    # -- breakdowns -----------------------------------------------------------------------
    @property
    def by_party(self) -> dict[str, dict[str, int]]:
        """Per party: bits and messages sent, bits received (posts count as sent only)."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: {"bits": 0, "messages": 0, "received_bits": 0})
        for e in self._rows:
            out[e[3]]["bits"] += e[6]
            out[e[3]]["messages"] += 1
            out[e[4]]["received_bits"] += e[6]
        out.pop("board", None)
        return dict(sorted(out.items()))

    @property
    def by_phase(self) -> dict[str, dict[str, int]]:
        return _group(self._rows, 9)

    @property
    def by_round(self) -> dict[int, dict[str, int]]:
        return _group(self._rows, 8)

    @property
    def by_type(self) -> dict[str, dict[str, int]]:
        return _group(self._rows, 5)

    def totals(self) -> dict[str, float]:
        return {name: self.figure(name) for name in FIGURES}

    def outputs(self) -> dict[str, Any]:
        """Scalar protocol outputs (e.g. cost, coreset_size) when the output is a mapping."""
        if isinstance(self.output, dict):
            return {k: _plain(v) for k, v in self.output.items() if _is_scalar(v)}
        return {}

    def to_dict(self) -> dict[str, Any]:
        """The run's figures as plain JSON-able values (no events)."""
        return {
            "protocol": self.protocol,
            "model": self.model,
            "params": {k: _plain(v) for k, v in self.params.items()},
            "seed": self.seed,
            **self.totals(),
            "public_coins": self.public_coins,
            "fingerprint": self.fingerprint,
            **self.outputs(),
        }


def _in_phase(row_phase: str, phase: str) -> bool:
    return row_phase == phase or row_phase.startswith(phase + "/")


def _group(rows, column) -> dict:
    out: dict = defaultdict(lambda: {"bits": 0, "wire_bytes": 0, "messages": 0})
    for e in rows:
        g = out[e[column]]
        g["bits"] += e[6]
        g["wire_bytes"] += e[7]
        g["messages"] += 1
    return dict(sorted(out.items()))


def _is_scalar(v) -> bool:
    return isinstance(v, (int, float, str, bool)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0)


def _plain(v):
    return v.item() if hasattr(v, "item") and getattr(v, "ndim", 1) == 0 else v
