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

Storage is compact (docs/performance.md, "Ledger"): strings (kinds, parties, types,
phases) are interned as small ids, every event is one fixed-size record in a bytearray,
every message adds one record (by seq) and its payload bytes, and the fingerprint is
hashed in batches. ``seq``, ``bits``, ``wire_bytes`` and ``depth`` are stored as int64. :attr:`Ledger.events` is a read-only view that rebuilds each event as
the tuple of :data:`EVENT_FIELDS` on demand; :meth:`Ledger.columns` gives the records as
numpy arrays for vectorised figures.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from functools import cached_property

import msgpack
import numpy as np

BOARD = "board"
"""The destination recorded for a blackboard post."""

EVENT_FIELDS = ("kind", "seq", "time", "src", "dst", "type", "bits", "wire_bytes", "depth", "phase", "payload")
"""The fields of one event record, in order, as written to traces."""

MSG = 0
"""The id of the kind ``msg`` (the first name every ledger interns)."""

# One record per event: seq, time, and the ids of kind, src, dst and type (32 bytes).
_EVENT = struct.Struct("<qdIIII")
_EVENT_DTYPE = np.dtype([("seq", "<i8"), ("time", "<f8"), ("kind", "<u4"), ("src", "<u4"), ("dst", "<u4"), ("type", "<u4")])
# One record per message, by seq: bits, wire_bytes, depth, the end of its payload, the id of its phase (36 bytes).
_MESSAGE = struct.Struct("<qqqqI")
_MESSAGE_DTYPE = np.dtype([("bits", "<i8"), ("wire_bytes", "<i8"), ("depth", "<i8"), ("end", "<i8"), ("phase", "<u4")])
assert _EVENT.size == _EVENT_DTYPE.itemsize and _MESSAGE.size == _MESSAGE_DTYPE.itemsize

_HASH_BATCH = 1 << 16
"""Packed fingerprint bytes gathered before they are hashed (the digest does not depend on it)."""
_CHUNK = 2048
"""Events rebuilt at a time when iterating over a view (larger chunks are slower: the
garbage collector's passes over the fresh tuples grow with the chunk)."""


class Ledger:
    """Append-only record of a run's events; message events are the ledger's rows."""

    def __init__(self):
        self._ids: dict[str, int] = {"msg": MSG}  # kinds, parties, message types and phases
        self._names: list[str] = ["msg"]  # the same, by id
        self._name_objects = np.empty(0, dtype=object)  # the same, for numpy (see _name_array)
        self._events = bytearray()  # one _EVENT record per event
        self._messages = bytearray()  # one _MESSAGE record per message, by seq
        self._payloads = bytearray()  # the messages' payloads, back to back
        self._seq = 0
        self._hash = hashlib.sha256()
        self._unhashed = bytearray()
        self._pack = msgpack.Packer().pack
        self.events = EventView(self)

    @classmethod
    def of(cls, events) -> Ledger:
        """A ledger holding ``events``, tuples of :data:`EVENT_FIELDS` (e.g. read back from a
        trace); message rows are numbered in order."""
        ledger = cls()
        for kind, seq, time, src, dst, type_name, bits, wire_bytes, depth, phase, payload in events:
            if kind == "msg":
                ledger.message(time, src, dst, type_name, bits, wire_bytes, depth, phase, payload)
            else:
                ledger.event(kind, time, src, dst, type_name, seq)
        return ledger

    def __reduce__(self):
        return Ledger.of, (list(self.events),)

    # -- appending ------------------------------------------------------------------------
    def message(self, time, src, dst, type_name, bits, wire_bytes, depth, phase, payload: bytes) -> int:
        """Record one message (a send, a post or a forwarded hop); returns its sequence number."""
        seq = self._seq
        time = float(time)
        ids, payloads = self._ids, self._payloads
        # everything that can fail comes before the first append, so a bad argument leaves no trace
        packed = self._pack(("msg", time, src, dst, type_name, bits, payload))
        try:
            event_record = _EVENT.pack(seq, time, MSG, ids[src], ids[dst], ids[type_name])
            message_record = _MESSAGE.pack(bits, wire_bytes, depth, len(payloads) + len(payload), ids[phase])
        except KeyError:  # a name seen for the first time
            self._intern(src, dst, type_name, phase)
            return self.message(time, src, dst, type_name, bits, wire_bytes, depth, phase, payload)
        payloads += payload
        unhashed, events, messages = self._unhashed, self._events, self._messages
        unhashed += packed
        events += event_record
        messages += message_record
        self._seq = seq + 1
        if len(unhashed) > _HASH_BATCH:
            self._flush()
        return seq

    def event(self, kind: str, time: float, src: str, dst: str, type_name: str = "", seq: int = -1) -> None:
        """Record a ``deliver`` or fault event about message ``seq`` (or a party, for a crash)."""
        if kind == "msg":
            raise ValueError("a msg event is recorded with Ledger.message")
        time = float(time)
        ids = self._ids
        packed = self._pack((kind, time, src, dst, type_name, 0, b""))
        try:
            event_record = _EVENT.pack(seq, time, ids[kind], ids[src], ids[dst], ids[type_name])
        except KeyError:  # a name seen for the first time
            self._intern(kind, src, dst, type_name)
            return self.event(kind, time, src, dst, type_name, seq)
        unhashed, events = self._unhashed, self._events
        unhashed += packed
        events += event_record
        if len(unhashed) > _HASH_BATCH:
            self._flush()

    def _intern(self, *names: str) -> None:
        """Give each name the ledger has not seen the next id."""
        for name in names:
            if name not in self._ids:
                self._ids[name] = len(self._names)
                self._names.append(name)

    def _flush(self) -> None:
        self._hash.update(self._unhashed)
        self._unhashed.clear()

    # -- reading --------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        self._flush()
        return self._hash.hexdigest()

    def rows(self) -> list[tuple]:
        """The message rows (events of kind ``msg``)."""
        return [e for e in self.events if e[0] == "msg"]

    @property
    def messages(self) -> int:
        """How many messages (rows) the ledger holds."""
        return len(self._messages) // _MESSAGE.size

    def message_bits(self, seq: int) -> int:
        """The information bits of message ``seq``."""
        return _MESSAGE.unpack_from(self._messages, seq * _MESSAGE.size)[0]

    def columns(self) -> Columns:
        """The records as numpy arrays, for figures over every event (see :class:`Columns`)."""
        return Columns(self)

    def _event(self, i: int) -> tuple:
        seq, time, kind, src, dst, type_id = _EVENT.unpack_from(self._events, i * _EVENT.size)
        names = self._names
        if kind != MSG:
            return (names[kind], seq, time, names[src], names[dst], names[type_id], 0, 0, 0, "", b"")
        bits, wire_bytes, depth, end, phase = _MESSAGE.unpack_from(self._messages, seq * _MESSAGE.size)
        payload = bytes(self._payloads[self._payload_end(seq - 1):end])
        return ("msg", seq, time, names[src], names[dst], names[type_id], bits, wire_bytes, depth, names[phase], payload)

    def _slice(self, start: int, stop: int) -> list[tuple]:
        """Events ``start`` to ``stop`` as tuples, built column by column. Message events
        come in seq order, so the messages of consecutive events are consecutive."""
        events = np.frombuffer(self._events[start * _EVENT.size:stop * _EVENT.size], _EVENT_DTYPE)
        n = len(events)
        names = self._name_array()
        is_msg = events["kind"] == MSG
        bits, wire_bytes, depth = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
        phase, payload = np.full(n, "", dtype=object), np.full(n, b"", dtype=object)
        seqs = events["seq"][is_msg]
        if len(seqs):
            first, count = int(seqs[0]), len(seqs)
            rows = np.frombuffer(self._messages[first * _MESSAGE.size:(first + count) * _MESSAGE.size], _MESSAGE_DTYPE)
            bits[is_msg], wire_bytes[is_msg], depth[is_msg] = rows["bits"], rows["wire_bytes"], rows["depth"]
            phase[is_msg] = names[rows["phase"]]
            base = self._payload_end(first - 1)
            ends = (rows["end"] - base).tolist()
            blob = bytes(self._payloads[base:base + ends[-1]])
            payload[is_msg] = np.fromiter((blob[a:b] for a, b in zip([0, *ends[:-1]], ends)), dtype=object, count=count)
        return list(zip(
            names[events["kind"]].tolist(), events["seq"].tolist(), events["time"].tolist(),
            names[events["src"]].tolist(), names[events["dst"]].tolist(), names[events["type"]].tolist(),
            bits.tolist(), wire_bytes.tolist(), depth.tolist(), phase.tolist(), payload.tolist(),
        ))

    def _name_array(self) -> np.ndarray:
        """The names by id, as a numpy object array (rebuilt when a name was added)."""
        if len(self._name_objects) != len(self._names):
            self._name_objects = np.fromiter(self._names, dtype=object, count=len(self._names))
        return self._name_objects

    def _payload_end(self, seq: int) -> int:
        return _MESSAGE.unpack_from(self._messages, seq * _MESSAGE.size)[3] if seq >= 0 else 0


class EventView(Sequence):
    """The ledger's events, read-only and live: ``len``, iteration, indexing (negative too)
    and slices (a list) give each event as the tuple of :data:`EVENT_FIELDS`."""

    __slots__ = ("ledger",)

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def __len__(self) -> int:
        return len(self.ledger._events) // _EVENT.size

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, slice):
            span = range(n)[index]
            if span.step == 1:
                return self.ledger._slice(span.start, max(span.start, span.stop))
            return [self.ledger._event(i) for i in span]
        i = index.__index__()
        if not -n <= i < n:
            raise IndexError("event index out of range")
        return self.ledger._event(i % n)

    def __iter__(self):
        start = 0
        while start < len(self):
            chunk = self.ledger._slice(start, start + _CHUNK)
            yield from chunk
            start += len(chunk)

    def __eq__(self, other):
        if not isinstance(other, (EventView, list)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None

    def __repr__(self) -> str:
        return f"<{len(self)} ledger events>"


class Columns:
    """A ledger's records as read-only numpy arrays; strings are ids into ``names``.

    Per event: ``kind``, ``seq``, ``time``, ``src``, ``dst``, ``type``. Per message, by seq:
    ``bits``, ``wire_bytes``, ``depth``, ``phase``, and ``at``, the index of its event, so
    ``src[at]`` are the messages' senders. The arrays view the ledger's buffers: drop them
    before appending to the ledger again (an append raises BufferError while they live).
    """

    def __init__(self, ledger: Ledger):
        events = np.frombuffer(ledger._events, _EVENT_DTYPE)
        messages = np.frombuffer(ledger._messages, _MESSAGE_DTYPE)
        events.flags.writeable = messages.flags.writeable = False
        self.names: list[str] = ledger._names
        self._ids = ledger._ids
        self.kind, self.seq, self.time = events["kind"], events["seq"], events["time"]
        self.src, self.dst, self.type = events["src"], events["dst"], events["type"]
        self.bits, self.wire_bytes = messages["bits"], messages["wire_bytes"]
        self.depth, self.phase = messages["depth"], messages["phase"]

    @cached_property
    def at(self) -> np.ndarray:
        return np.flatnonzero(self.kind == MSG)

    def id(self, name: str) -> int:
        """The id of ``name``, or -1 when the ledger has never seen it."""
        return self._ids.get(name, -1)

    def of_kind(self, *kinds: str) -> np.ndarray:
        """Per event: whether it is of one of ``kinds``."""
        return np.isin(self.kind, [self._ids[k] for k in kinds if k in self._ids])


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
