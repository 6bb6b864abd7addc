"""The ledger: one row per message, and the canonical event stream behind the fingerprint.

A *message row* (kind ``msg``) is written when a party sends, posts, or when the network
forwards a hop: ``seq, time, src, dst, type, bits, wire_bytes, depth, phase``. ``dst`` is
``"board"`` for a blackboard post. Other events go to the same stream and carry no bits:
``deliver`` (message ``seq`` reached ``dst`` at ``time``; a post became visible) and the
faults ``drop``, ``duplicate``, ``partition`` and ``crash``. All are part of the fingerprint
and of the trace, so arrival order is pinned as well as what was sent.

The fingerprint is a sha256 over the canonical event stream: for every event, the msgpack
encoding of ``(kind, time, src, dst, type, bits, payload)``. Two runs with the same seed and
parameters give the same fingerprint, bit for bit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import msgpack

BOARD = "board"
"""The destination recorded for a blackboard post."""

EVENT_FIELDS = ("kind", "seq", "time", "src", "dst", "type", "bits", "wire_bytes", "depth", "phase", "payload")
"""The fields of one event record, in order, as written to traces."""


@dataclass
class Ledger:
    """Append-only record of a run's events; message events are the ledger's rows."""

    events: list[tuple] = field(default_factory=list)
    _hash: "hashlib._Hash" = field(default_factory=hashlib.sha256, repr=False)
    _seq: int = 0

    def message(self, time, src, dst, type_name, bits, wire_bytes, depth, phase, payload: bytes) -> int:
        """Record one message (a send, a post or a forwarded hop); returns its sequence number."""
        seq = self._seq
        self._seq += 1
        time = float(time)
        self._hash.update(msgpack.packb(("msg", time, src, dst, type_name, bits, payload)))
        self.events.append(("msg", seq, time, src, dst, type_name, bits, wire_bytes, depth, phase, payload))
        return seq

    def event(self, kind: str, time: float, src: str, dst: str, type_name: str = "", seq: int = -1) -> None:
        """Record a ``deliver`` or fault event about message ``seq`` (or a party, for a crash)."""
        time = float(time)
        self._hash.update(msgpack.packb((kind, time, src, dst, type_name, 0, b"")))
        self.events.append((kind, seq, time, src, dst, type_name, 0, 0, 0, "", b""))

    @property
    def fingerprint(self) -> str:
        return self._hash.hexdigest()

    def rows(self) -> list[tuple]:
        """The message rows (events of kind ``msg``)."""
        return [e for e in self.events if e[0] == "msg"]


def fingerprint_of(events) -> str:
    """Recompute the fingerprint of an event sequence (as read back from a trace)."""
    h = hashlib.sha256()
    for e in events:
        kind, _seq, time, src, dst, type_name, bits, _wire, _depth, _phase, payload = e
        if kind == "msg":
            h.update(msgpack.packb(("msg", time, src, dst, type_name, bits, payload)))
        else:
            h.update(msgpack.packb((kind, time, src, dst, type_name, 0, b"")))
    return h.hexdigest()
