"""Link timing: how long a message takes, from latency and bandwidth.

Transmission time is ``bits / bandwidth`` (information bits; ``bandwidth=None`` means
instantaneous). Latency is a constant or a seeded distribution, declared as a mapping:

    latency = 0.01                                   # constant seconds
    latency = {dist = "exponential", mean = 0.01}
    latency = {dist = "uniform", low = 0.005, high = 0.02}
    latency = {dist = "lognormal", mean = -4.0, sigma = 0.5}   # of the underlying normal

Draws come from the network's own generator, spawned from the run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

_DISTS = {
    "constant": ("value",),
    "exponential": ("mean",),
    "uniform": ("low", "high"),
    "lognormal": ("mean", "sigma"),
}


@dataclass(frozen=True)
class Latency:
    """A latency law; ``draw(rng)`` gives one delay in simulated seconds."""

    dist: str = "constant"
    args: tuple[float, ...] = (0.0,)

    @classmethod
    def parse(cls, spec: Any, where: str = "network.latency") -> "Latency":
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            if spec < 0 or not np.isfinite(spec):
                raise ConfigError(f"{where}: must be a finite number >= 0, got {spec!r}")
            return cls("constant", (float(spec),))
        if not isinstance(spec, dict) or "dist" not in spec:
            raise ConfigError(f"{where}: expected a number or a table with 'dist', got {spec!r}")
        dist = spec["dist"]
        if dist not in _DISTS:
            raise ConfigError(f"{where}.dist: unknown distribution {dist!r}; expected one of {', '.join(_DISTS)}")
        names = _DISTS[dist]
        extra = sorted(set(spec) - {"dist", *names})
        if extra:
            raise ConfigError(f"{where}.{extra[0]}: unknown key for {dist}; expected {', '.join(names)}")
        args = []
        for name in names:
            if name not in spec:
                raise ConfigError(f"{where}.{name}: required for dist {dist!r}")
            v = spec[name]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
                raise ConfigError(f"{where}.{name}: must be a finite number, got {v!r}")
            if name != "mean" or dist != "lognormal":
                if v < 0:
                    raise ConfigError(f"{where}.{name}: must be >= 0, got {v!r}")
            args.append(float(v))
        if dist == "uniform" and args[0] > args[1]:
            raise ConfigError(f"{where}: low {args[0]} > high {args[1]}")
        return cls(dist, tuple(args))

    @property
    def is_zero(self) -> bool:
        return self.dist == "constant" and self.args[0] == 0.0

    def draw(self, rng: np.random.Generator) -> float:
        if self.dist == "constant":
            return self.args[0]
        if self.dist == "exponential":
            return float(rng.exponential(self.args[0]))
        if self.dist == "uniform":
            return float(rng.uniform(*self.args))
        return float(rng.lognormal(*self.args))


@dataclass(frozen=True)
class Network:
    """Latency and bandwidth of every link (bits per simulated second; None = unlimited)."""

    latency: Latency = Latency()
    bandwidth: float | None = None

    @classmethod
    def from_dict(cls, spec: dict | None, where: str = "network") -> "Network":
        spec = dict(spec or {})
        extra = sorted(set(spec) - {"latency", "bandwidth"})
        if extra:
            raise ConfigError(f"{where}.{extra[0]}: unknown key; expected latency, bandwidth")
        bw = spec.get("bandwidth")
        if bw is not None and (not isinstance(bw, (int, float)) or isinstance(bw, bool) or not bw > 0 or not np.isfinite(bw)):
            raise ConfigError(f"{where}.bandwidth: must be a positive number of bits per second, got {bw!r}")
        return cls(Latency.parse(spec.get("latency", 0.0), f"{where}.latency"), None if bw is None else float(bw))

    def delay(self, bits: int, rng: np.random.Generator) -> float:
        """Latency draw plus transmission time of ``bits``."""
        t = 0.0 if self.latency.is_zero else self.latency.draw(rng)
        if self.bandwidth is not None:
            t += bits / self.bandwidth
        return t
