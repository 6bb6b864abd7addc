"""The blackboard model: an append-only board that every party reads for free.

A post is charged once, however many parties read it. There are no private channels: a
send raises ModelViolation. Each party has a read cursor; ``read`` returns the next
visible post after it that matches the filter and moves the cursor just past it.
"""

from __future__ import annotations

from ..party import Waiter, describe_filter
from .base import StarModel


class BlackboardModel(StarModel):
    name = "blackboard"
    description = "shared append-only board: a post is charged once, reads are free"

    def build(self, sim, parts) -> None:
        super().build(sim, parts)
        self.board: list = []
        self._readers: list[tuple] = []  # (party, Waiter), in the order they started waiting

    def path(self, party, dst, route, bits):
        raise self.violation(party, f"sent {bits} bits to {dst}, but the blackboard model has no private channels; post instead")

    def check_post(self, party) -> None:
        return None

    def publish(self, sim, envelope) -> None:
        sim.ledger.event("deliver", sim.env.now, envelope.src, "board", type(envelope.msg).__name__, envelope.seq)
        index = len(self.board)
        self.board.append(envelope)
        waiting, self._readers = self._readers, []
        for party, waiter in waiting:
            if party.crashed or waiter.event.triggered:
                continue
            if party.board_cursor <= index and waiter.matches(envelope):
                party.board_cursor = index + 1
                party.waiting_for = None
                party._consume(envelope, waiter.call)
                waiter.event.succeed(envelope.msg)
            else:
                self._readers.append((party, waiter))

    def read(self, party, types, src, call):
        sim = party.sim
        for index in range(party.board_cursor, len(self.board)):
            envelope = self.board[index]
            if (types is None or isinstance(envelope.msg, types)) and (src is None or envelope.src == src):
                party.board_cursor = index + 1
                return sim._ready(party, envelope, call)
        party.board_cursor = len(self.board)
        event = sim.env.event()
        self._readers.append((party, Waiter(types, src, call, event)))
        party.waiting_for = describe_filter("read", types, src)
        return event

    def posts(self, party) -> list:
        return list(self.board)
