"""The blackboard model: an append-only board that every party reads for free.

A post is charged once, however many parties read it. There are no private channels: a
send raises ModelViolation. Each party has a read cursor; ``read`` returns the next
visible post after it that matches the filter and moves the cursor just past it.
"""

from __future__ import annotations

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
                waiter.got.append(envelope)
            if waiter.missing:
                party.waiting_for = waiter.describe("read")
                self._readers.append((party, waiter))
            else:
                party.waiting_for = None
                party._complete(waiter)

    def read(self, party, waiter):
        index = party.board_cursor
        while waiter.missing and index < len(self.board):
            if waiter.matches(self.board[index]):
                waiter.got.append(self.board[index])
                party.board_cursor = index + 1
            index += 1
        if not waiter.missing:
            return party._complete(waiter)
        party.board_cursor = len(self.board)
        waiter.event = party.sim.env.event()
        self._readers.append((party, waiter))
        party.waiting_for = waiter.describe("read")
        return waiter.event

    def posts(self, party) -> list:
        return list(self.board)
