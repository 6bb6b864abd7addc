"""The blackboard model: an append-only board that every party reads for free.

A post is charged once, however many parties read it. There are no private channels: a
send raises ModelViolation. Each party has a read cursor; ``read`` returns the next
visible post after it that matches the filter and moves the cursor just past it.

Waiting reads are kept in *groups*, one per filter (message types, sender). A post is
matched once per group, not once per waiting party, and a read of ``count=n`` posts is
handed its posts when the n-th arrives. So a post costs O(groups + reads it completes),
whatever the number of waiting parties. Reads that a post completes are completed in the
order they started waiting, as they always were.
"""

from __future__ import annotations

from heapq import heappop, heappush

from .base import StarModel


class _Group:
    """Waiting reads with one filter: the board indices of the posts it matched since it
    was created (and the posts themselves, ``envs``), and a heap of (target, order, party,
    waiter), complete at ``len(hits) >= target``."""

    __slots__ = ("types", "src", "hits", "envs", "heap")

    def __init__(self, types, src):
        self.types, self.src = types, src
        self.hits: list[int] = []
        self.envs: list = []
        self.heap: list[tuple] = []


class BlackboardModel(StarModel):
    name = "blackboard"
    description = "shared append-only board: a post is charged once, reads are free"

    def build(self, sim, parts) -> None:
        super().build(sim, parts)
        self.board: list = []
        self._groups: dict[tuple, _Group] = {}
        self._order = 0  # the order in which reads started waiting

    def path(self, party, dst, route, bits):
        raise self.violation(party, f"sent {bits} bits to {dst}, but the blackboard model has no private channels; post instead")

    def check_post(self, party) -> None:
        return None

    def publish(self, sim, envelope) -> None:
        sim.ledger.event("deliver", sim.env.now, envelope.src, "board", type(envelope.msg).__name__, envelope.seq)
        index = len(self.board)
        self.board.append(envelope)
        envelope.msg.sender = envelope.src  # once per post, for every reader
        if not self._groups:
            return
        msg, src = envelope.msg, envelope.src
        done = []
        for key, group in list(self._groups.items()):
            if (group.types is None or isinstance(msg, group.types)) and (group.src is None or group.src == src):
                group.hits.append(index)
                group.envs.append(envelope)
                heap, n = group.heap, len(group.hits)
                while heap and heap[0][0] <= n:
                    done.append(heappop(heap))
                if not heap:
                    del self._groups[key]
        if len(done) > 1:
            done.sort(key=lambda item: item[1])
        for target, _order, party, waiter in done:
            group, start = waiter.group, waiter.start
            waiter.group = None
            if party.crashed or waiter.event.triggered:
                continue
            waiter.got += group.envs[start:target]
            party.board_cursor = group.hits[target - 1] + 1
            party._wait = None
            party._complete(waiter, senders=False)

    def read(self, party, waiter):
        board = self.board
        index = party.board_cursor
        while waiter.missing and index < len(board):
            if waiter.matches(board[index]):
                waiter.got.append(board[index])
                party.board_cursor = index + 1
            index += 1
        if not waiter.missing:
            return party._complete(waiter, senders=False)
        party.board_cursor = len(board)
        waiter.event = party.sim.env.event()
        key = (waiter.types, waiter.src)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(waiter.types, waiter.src)
        waiter.start = len(group.hits)
        target = waiter.start + waiter.missing
        waiter.group = group
        self._order += 1
        heappush(group.heap, (target, self._order, party, waiter))
        party._wait = ("read", waiter)
        return waiter.event

    def posts(self, party) -> list:
        return list(self.board)
