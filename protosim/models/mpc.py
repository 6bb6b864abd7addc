"""The MPC model: p machines with memory S bits each, in synchronous rounds.

A machine sends during its round and ends it with ``msgs = yield machine.sync()``; the
messages sent to it in that round are delivered together when every live machine has
ended the round, and ``sync`` yields them. Per round, each machine may send at most S
bits and receive at most S bits, and may hold at most S bits (its input shard, encoded as
float64 points, plus whatever it ``hold``s). Each is checked with the codec's bits, and a
breach raises ModelViolation naming the machine, the round and the figure.

After round r every machine's causal depth is r, so the run's rounds are the number of
rounds in which something was sent. A round lasts as long as its slowest message
(network latency plus bits / bandwidth). S may be an expression in n, d and p.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..expr import ExprError, evaluate
from .base import Model
from .memory import InputShard, hold


def machine(i: int) -> str:
    return f"m{i}"


class MPCModel(Model):
    name = "mpc"
    description = "p machines with S bits of memory each; synchronous rounds; per-round in/out <= S"
    synchronous = True

    def __init__(self, machines: int, memory, *, public_coins: bool = False):
        super().__init__(public_coins=public_coins)
        if not isinstance(machines, int) or isinstance(machines, bool) or machines < 1:
            raise ConfigError(f"model.machines: must be an integer >= 1, got {machines!r}")
        self.p = machines
        self.memory_spec = memory
        self.S: float = 0.0
        self.round = 0

    def build(self, sim, parts) -> None:
        if len(parts) != self.p:
            raise ConfigError(f"partition.s: the MPC model has {self.p} machines, but the data has {len(parts)} parts")
        try:
            self.S = float(evaluate(self.memory_spec, {**sim.params, "p": self.p}))
        except ExprError as exc:
            raise ConfigError(f"model.memory: {exc}") from None
        if not self.S > 0:
            raise ConfigError(f"model.memory: S must be > 0 bits, got {self.S:g}")
        self.sites = [sim.new_party(machine(i), "machine", part) for i, part in enumerate(parts)]
        self.coordinator = self.sites[0]
        self._sent = {m.name: 0 for m in self.sites}
        self._queue: list = []
        self._waiting: dict[str, object] = {}
        for m in self.sites:
            hold(self, m, "input", InputShard(points=m.data), self.S)

    def params(self) -> dict:
        return {"p": self.p, "S": self.S}

    def on_send(self, party, dst, bits) -> None:
        sent = self._sent[party.name] + bits
        if sent > self.S:
            raise self.violation(party, f"would send {sent:,} bits in round {self.round + 1}, over S = {self.S:,.0f}")
        self._sent[party.name] = sent

    def enqueue(self, dst: str, envelope) -> None:
        self._queue.append((dst, envelope))

    def hold(self, party, key, msg) -> None:
        hold(self, party, key, msg, self.S)

    def sync(self, party):
        event = party.sim.env.event()
        self._waiting[party.name] = event
        party.waiting_for = f"sync (end of round {self.round + 1})"
        self._maybe_close(party.sim)
        return event

    def on_exit(self, party) -> None:
        self._maybe_close(party.sim)

    def _maybe_close(self, sim) -> None:
        live = [m for m in self.sites if not m.finished and not m.crashed]
        if not self._waiting or any(m.name not in self._waiting for m in live):
            return
        queue, self._queue = self._queue, []
        inbox: dict[str, list] = {m.name: [] for m in self.sites}
        received = dict.fromkeys(inbox, 0)
        duration = 0.0
        now = sim.env.now
        for dst, env in queue:
            bits = sim.ledger.message_bits(env.seq)
            delay, copies = sim.transit(env.src, dst, bits, type(env.msg).__name__, env.seq)
            if sim.parties[dst].crashed:
                sim.ledger.event("drop", now, env.src, dst, type(env.msg).__name__, env.seq)
                continue
            duration = max(duration, delay)
            inbox[dst].extend([env] * copies)
            received[dst] += bits * copies
        self.round += 1
        for m in self.sites:
            if received[m.name] > self.S:
                raise self.violation(m, f"received {received[m.name]:,} bits in round {self.round}, over S = {self.S:,.0f}")
            if m.memory_bits > self.S:
                raise self.violation(m, f"holds {m.memory_bits:,} bits at the end of round {self.round}, over S = {self.S:,.0f}")
        waiting, self._waiting = self._waiting, {}
        self._sent = dict.fromkeys(self._sent, 0)

        def release(_event):
            for name, event in waiting.items():
                m = sim.parties[name]
                m.depth = max(m.depth, self.round)
                m.waiting_for = None
                for env in inbox[name]:
                    sim.ledger.event("deliver", sim.env.now, env.src, name, type(env.msg).__name__, env.seq)
                    env.msg.sender = env.src
                event.succeed([env.msg for env in inbox[name]])

        sim.env.timeout(duration).callbacks.append(release)
