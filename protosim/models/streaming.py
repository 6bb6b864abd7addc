"""The streaming model: one machine reads the whole input in passes.

``for batch in machine.stream(batch=1024)`` is one pass; passes are counted. The machine's
working memory is what it ``hold``s, measured with the codec; its peak is reported, and an
optional bound S (bits, or an expression in n and d) is enforced. There are no messages.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..expr import ExprError, evaluate
from .base import Model
from .memory import hold

STREAM = "stream"


class StreamingModel(Model):
    name = "streaming"
    description = "one machine reads the input in passes; passes and peak working memory are counted"

    def __init__(self, memory=None, *, public_coins: bool = False):
        super().__init__(public_coins=public_coins)
        self.memory_spec = memory
        self.S: float | None = None
        self.passes = 0

    def build(self, sim, parts) -> None:
        if self.memory_spec is not None:
            try:
                self.S = float(evaluate(self.memory_spec, sim.params))
            except ExprError as exc:
                raise ConfigError(f"model.memory: {exc}") from None
        data = np.concatenate(parts) if parts else np.empty((0, 0))
        self.coordinator = sim.new_party(STREAM, "machine", data)
        self.sites = [self.coordinator]

    def params(self) -> dict:
        return {} if self.S is None else {"S": self.S}

    def path(self, party, dst, route, bits):
        raise self.violation(party, f"sent {bits} bits to {dst}, but the streaming model has one machine and no messages")

    def hold(self, party, key, msg) -> None:
        hold(self, party, key, msg, self.S)

    def stream(self, party, batch):
        if not isinstance(batch, int) or batch < 1:
            raise ConfigError(f"stream batch: must be an integer >= 1, got {batch!r}")
        self.passes += 1
        party.passes = self.passes
        data = party.data
        for start in range(0, len(data), batch):
            yield data[start:start + batch]

    def figures(self) -> dict:
        return {"passes": self.passes}
