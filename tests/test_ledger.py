"""The compact ledger: its event view behaves like the list of tuples it replaced, the
fingerprint is unchanged, and an event costs a bounded number of bytes."""

from __future__ import annotations

import copy
import pickle
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim import (
    ModelViolation,
    MPCModel,
    Simulation,
    UInt,
    Vector,
    machine,
    message,
)
from protosim.ledger import EVENT_FIELDS, Ledger, fingerprint_of
from protosim.result import FIGURES, RunResult

KINDS = ("deliver", "drop", "duplicate", "partition", "crash")


def record(calls) -> tuple[Ledger, list[tuple]]:
    """Replay ``calls`` into a Ledger and into the list of tuples the old ledger kept."""
    ledger = Ledger()
    return ledger, [apply(ledger, call) for call in calls]


def apply(ledger: Ledger, call: tuple) -> tuple:
    """Make one ``message`` or ``event`` call; returns the event as the old ledger kept it."""
    if call[0] == "msg":
        _, time, src, dst, type_name, bits, wire_bytes, depth, phase, payload = call
        seq = ledger.message(time, src, dst, type_name, bits, wire_bytes, depth, phase, payload)
        return ("msg", seq, float(time), src, dst, type_name, bits, wire_bytes, depth, phase, payload)
    kind, time, src, dst, type_name, seq = call
    ledger.event(kind, time, src, dst, type_name, seq)
    return (kind, seq, float(time), src, dst, type_name, 0, 0, 0, "", b"")


def sample_calls(n: int = 300) -> list[tuple]:
    """Messages, posts, deliveries and every fault; payloads of 0 to 599 bytes."""
    calls = []
    for i in range(n):
        src, dst = f"site{i % 7}", "board" if i % 11 == 0 else "coord"
        type_name, phase = ("Ask", "Answer", "Post")[i % 3], ("", "a", "a/b")[i % 3]
        payload = bytes([i % 256]) * (i * 7 % 600)
        calls.append(("msg", i * 0.25, src, dst, type_name, i * 2**30, i + 9, i // 4, phase, payload))
        kind, time = KINDS[i % 5], i * 0.25 + 1
        calls.append((kind, time, src, src, "", -1) if kind == "crash" else (kind, time, src, dst, type_name, i))
    return calls


# -- the view -------------------------------------------------------------------------------
def test_the_view_behaves_like_the_list():
    ledger, expected = record(sample_calls())
    view = ledger.events
    assert len(view) == len(expected) == 600
    assert list(view) == expected and view == expected and expected == list(view)
    assert [view[i] for i in range(len(view))] == expected
    assert [view[-i] for i in range(1, len(view) + 1)] == [expected[-i] for i in range(1, len(view) + 1)]
    for s in (slice(None), slice(5, 17), slice(-9, None), slice(None, -590), slice(3, 400, 7), slice(None, None, -1),
              slice(50, 10), slice(598, 900), slice(-1000, 3), slice(10, 10)):
        assert view[s] == expected[s], s
    with pytest.raises(IndexError):
        view[600]
    with pytest.raises(IndexError):
        view[-601]
    assert ledger.rows() == [e for e in expected if e[0] == "msg"]
    assert ledger.messages == len(ledger.rows())
    assert all(len(e) == len(EVENT_FIELDS) for e in view)
    assert view.count(expected[3]) == 1 and expected[5] in view and view.index(expected[5]) == 5


def test_the_view_is_live_and_read_only():
    ledger = Ledger()
    view = ledger.events
    assert view == [] and len(view) == 0 and list(view) == []
    seq = ledger.message(0, "a", "b", "T", 3, 9, 1, "", b"\x01")
    ledger.event("deliver", 0.5, "a", "b", "T", seq)
    assert len(view) == 2 and view[-1] == ("deliver", 0, 0.5, "a", "b", "T", 0, 0, 0, "", b"")
    with pytest.raises(TypeError):
        view[0] = ()
    assert view != [view[0]] and view != tuple(view)


def test_message_bits_are_looked_up_by_seq():
    ledger, expected = record(sample_calls(50))
    rows = [e for e in expected if e[0] == "msg"]
    assert [ledger.message_bits(seq) for seq in range(len(rows))] == [e[6] for e in rows]


def test_a_bad_argument_leaves_no_trace():
    ledger, _ = record(sample_calls(20))
    before = (list(ledger.events), ledger.fingerprint)
    with pytest.raises(TypeError):
        ledger.message(1.0, "a", "b", "T", np.int64(3), 9, 1, "", b"")  # msgpack cannot pack numpy ints
    with pytest.raises(TypeError):
        ledger.message(1.0, "a", "b", "T", 3, 9, 1, "", "not bytes")
    with pytest.raises(ValueError, match="Ledger.message"):
        ledger.event("msg", 1.0, "a", "b")
    assert (list(ledger.events), ledger.fingerprint) == before


def test_a_ledger_pickles_and_rebuilds_from_its_events():
    ledger, expected = record(sample_calls(40))
    for copied in (pickle.loads(pickle.dumps(ledger)), copy.deepcopy(ledger), Ledger.of(expected)):
        assert copied.events == expected and copied.fingerprint == ledger.fingerprint


# -- the fingerprint ------------------------------------------------------------------------
SAMPLE_FINGERPRINT = "f97772e2036144ab9045ebe0b333c42d003627cfd0003280bb81937bb78ebb61"
"""The fingerprint of sample_calls() as the list-of-tuples ledger (before the compact one) computed it."""


def test_the_fingerprint_is_unchanged():
    ledger, expected = record(sample_calls())
    assert ledger.fingerprint == fingerprint_of(expected) == fingerprint_of(list(ledger.events)) == SAMPLE_FINGERPRINT


def test_reading_the_fingerprint_midway_changes_nothing():
    calls = sample_calls(2000)  # about 0.75 MiB of packed events: a dozen hash batches
    whole, expected = record(calls)
    ledger = Ledger()
    for i, call in enumerate(calls):
        apply(ledger, call)
        if i % 333 == 0:
            _ = ledger.fingerprint
    assert ledger.fingerprint == whole.fingerprint == fingerprint_of(expected)


# -- memory ---------------------------------------------------------------------------------
MAX_BYTES_PER_EVENT = 70
"""Measured 57.5 bytes per event for 100,000 messages with 8-byte payloads and their
deliveries (a 32-byte event record each, a 36-byte message record and the payload per
message: 54 bytes per event, plus the bytearrays' growth reserve, at most 1/8). The bound
leaves 20 % over the measure; the list of tuples it replaced took 212 bytes per event."""


def test_memory_per_event_is_bounded():
    n = 100_000
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        ledger = Ledger()
        for i in range(n):
            src, payload = f"site{i % 100}", i.to_bytes(8, "little")
            seq = ledger.message(i * 0.001, src, "coord", "Compare", 61, 17, i + 1, "gt", payload)
            ledger.event("deliver", i * 0.001 + 0.0005, src, "coord", "Compare", seq)
        _ = ledger.fingerprint
        used = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert len(ledger.events) == 2 * n
    assert used / (2 * n) < MAX_BYTES_PER_EVENT


# -- any sequence of calls ------------------------------------------------------------------
names = st.text(max_size=40) | st.sampled_from(["coord", "site0", "board", "", "msg", "x" * 300])
times = st.floats(allow_nan=False) | st.integers(-(2**53), 2**53)
int64 = st.integers(-(2**63), 2**63 - 1)
messages = st.tuples(st.just("msg"), times, names, names, names, int64, int64, int64, names,
                     st.binary(max_size=70000) | st.binary(max_size=300))
events = st.tuples(st.sampled_from(KINDS) | names.filter(lambda k: k != "msg"), times, names, names, names, int64)


@settings(max_examples=150, deadline=None)
@given(st.lists(messages | events, max_size=40), st.data())
def test_any_calls_round_trip_through_the_view(calls, data):
    ledger, expected = record(calls)
    assert list(ledger.events) == expected
    assert ledger.fingerprint == fingerprint_of(expected)
    if expected:
        i = data.draw(st.integers(-len(expected), len(expected) - 1))
        assert ledger.events[i] == expected[i]
    s = slice(*data.draw(st.tuples(st.none() | st.integers(-50, 50), st.none() | st.integers(-50, 50),
                                   st.none() | st.integers(1, 5) | st.integers(-5, -1))))
    assert ledger.events[s] == expected[s]


# -- results on the columns -----------------------------------------------------------------
def test_a_result_on_the_view_equals_one_on_the_list():
    ledger, expected = record(sample_calls())
    results = [RunResult(output=None, params={}, model="m", seed=0, events=events, fingerprint="", sim_time=0.0)
               for events in (ledger.events, expected)]
    rows = [e for e in expected if e[0] == "msg"]
    for r in results:
        assert (r.messages, r.bits, r.rounds) == (len(rows), sum(e[6] for e in rows), max(e[8] for e in rows))
        assert r.figure("bits", phase="a") == sum(e[6] for e in rows if e[9] in ("a", "a/b"))
        assert r.figure("messages", party="site3") == sum(e[3] == "site3" for e in rows)
        assert r.figure("wire_bytes", phase="a/b", party="nobody") == 0
        assert list(r.by_party) == sorted({e[3] for e in rows} | {"coord"})
        first = [e for e in rows if e[8] == 1]
        assert r.by_round[1] == {"bits": sum(e[6] for e in first), "wire_bytes": sum(e[7] for e in first),
                                 "messages": len(first)}
    a, b = results
    for name in ("by_party", "by_phase", "by_round", "by_type"):
        assert list(getattr(a, name).items()) == list(getattr(b, name).items())
    assert {f: a.figure(f) for f in FIGURES} == {f: b.figure(f) for f in FIGURES}


def test_an_empty_result():
    r = RunResult(output=None, params={}, model="m", seed=0, events=Ledger().events, fingerprint="", sim_time=0.0)
    assert (r.messages, r.bits, r.wire_bytes, r.rounds) == (0, 0, 0, 0)
    assert r.by_party == r.by_phase == r.by_round == r.by_type == {}
    assert r.figure("max_party_bits") == 0 and r.figure("bits", phase="a") == 0


# -- MPC reads a message's bits by its seq --------------------------------------------------
@message
class Blob:
    values: Vector(UInt(32))


def test_mpc_checks_what_a_machine_receives_after_the_first_round():
    """Message seq s is not event s once deliveries are recorded: a round-3 overload is caught."""
    def role(m):
        yield m.sync()
        if m.name != machine(2):
            m.send(machine(1 if m.name == machine(0) else 0), Blob(np.arange(1)))
        yield m.sync()
        if m.name != machine(2):
            m.send(machine(2), Blob(np.arange(20)))  # 649 bits each: m2 receives 1,298 > S
        yield m.sync()

    sim = Simulation(MPCModel(3, memory=1000), [np.zeros((0, 1))] * 3)
    procs = [sim.spawn(machine(i), role) for i in range(3)]
    with pytest.raises(ModelViolation, match="m2 received 1,298 bits in round 3"):
        sim.run(procs[0])
