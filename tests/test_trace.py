"""Traces: round trip, replay, fingerprints, and reading hostile files safely."""

from __future__ import annotations

import copy
import time

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protosim import TraceError
from protosim.ledger import EVENT_FIELDS, fingerprint_of
from protosim.scenario import Scenario
from protosim import trace as trace_mod
from protosim.trace import TRACE_VERSION, Difference, Trace, compare, read_trace, replay, write_trace

DEMO = {
    "name": "demo",
    "seed": 3,
    "dataset": {"name": "gaussian_mixture", "n": 200, "d": 3, "k": 2},
    "partition": {"kind": "uniform", "s": 4},
    "model": {"kind": "coordinator"},
    "protocol": {"name": "demo_sum"},
}
FAULTY = {**DEMO, "faults": [{"kind": "duplicate", "p": 0.5}, {"kind": "reorder", "window": 0.01}]}
SMALL = {**DEMO, "dataset": {"name": "gaussian_mixture", "n": 10, "d": 1, "k": 1}, "partition": {"kind": "uniform", "s": 2}}


def run(scenario: dict, **overrides):
    result, _checks = Scenario.from_dict(scenario, "<test>", overrides).run()
    return result


@pytest.fixture(scope="module")
def demo_result():
    return run(DEMO)


@pytest.fixture(scope="module")
def demo_trace(demo_result, tmp_path_factory):
    return write_trace(tmp_path_factory.mktemp("traces") / "sub" / "demo.trace", demo_result)


@pytest.fixture(scope="module")
def small_bytes(tmp_path_factory):
    path = write_trace(tmp_path_factory.mktemp("small") / "small.trace", run(SMALL))
    return path.read_bytes()


# -- round trip -----------------------------------------------------------------------------
def test_round_trip_keeps_events_fingerprint_and_totals(demo_result, demo_trace):
    t = read_trace(demo_trace)
    assert t.events == [tuple(e) for e in demo_result.events]
    assert t.fingerprint == demo_result.fingerprint == fingerprint_of(t.events)
    assert t.header["format"] == "protosim-trace" and t.header["version"] == TRACE_VERSION
    assert t.header["seed"] == 3 and t.header["protocol"] == "demo_sum" and t.header["model"] == "coordinator"
    assert t.header["scenario"] == DEMO
    assert t.footer["events"] == len(demo_result.events)
    assert t.footer["totals"] == demo_result.totals()
    rebuilt = t.result()
    assert rebuilt.output is None
    assert rebuilt.totals() == demo_result.totals()
    assert rebuilt.by_party == demo_result.by_party
    assert rebuilt.by_phase == demo_result.by_phase
    assert rebuilt.by_round == demo_result.by_round
    assert rebuilt.by_type == demo_result.by_type
    assert rebuilt.params == demo_result.params


def test_trace_is_plain_msgpack(demo_result, demo_trace):
    with open(demo_trace, "rb") as f:
        frames = list(msgpack.Unpacker(f, raw=False))
    header, *events, footer = frames
    assert header["format"] == "protosim-trace"
    assert len(events) == len(demo_result.events)
    assert all(len(e) == len(EVENT_FIELDS) for e in events)
    assert footer["footer"] is True and footer["fingerprint"] == demo_result.fingerprint


def test_numpy_params_are_written_as_plain_values(demo_result, tmp_path):
    import numpy as np

    result = copy.copy(demo_result)
    result.params = {**demo_result.params, "eps": np.float64(0.5), "k": np.int64(2), "w": np.arange(3)}
    t = read_trace(write_trace(tmp_path / "np.trace", result))
    assert t.header["params"]["eps"] == 0.5 and type(t.header["params"]["k"]) is int
    assert t.header["params"]["w"] == [0, 1, 2]


def test_unwritable_values_are_trace_errors(demo_result, tmp_path):
    result = copy.copy(demo_result)
    result.seed = 2**70
    with pytest.raises(TraceError, match="cannot write"):
        write_trace(tmp_path / "seed.trace", result)
    result = copy.copy(demo_result)
    result.params = {**demo_result.params, "when": object()}
    with pytest.raises(TraceError, match="params.when"):
        write_trace(tmp_path / "obj.trace", result)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(TraceError, match="nothing.trace"):
        read_trace(tmp_path / "nothing.trace")


# -- replay ---------------------------------------------------------------------------------
def test_replay_is_identical(demo_trace):
    report = replay(demo_trace)
    assert report.identical, report.describe()
    assert report.differences == []
    assert "identical" in report.describe()


def test_replay_with_another_seed_names_the_seed_first(demo_trace):
    report = replay(demo_trace, {"seed": 4})
    assert not report.identical
    assert report.differences[0] == Difference("header.seed", 3, 4)
    assert "header.seed" in report.describe()


def test_replay_with_another_parameter_names_it_first(demo_trace):
    report = replay(demo_trace, {"partition.s": 5})
    assert not report.identical
    first = report.differences[0]
    assert (first.where, first.recorded, first.replayed) == ("header.params.s", 4, 5)
    assert any(d.where == "events" and d.field == "count" for d in report.differences)


def test_compare_names_the_first_differing_event_and_field(demo_result, demo_trace):
    t = read_trace(demo_trace)
    events = list(demo_result.events)
    i = next(j for j, e in enumerate(events) if e[0] == "msg" and j > 0)
    e = list(events[i])
    e[6] += 1
    events[i] = tuple(e)
    altered = copy.copy(demo_result)
    altered.events = events
    report = compare(t, altered)
    first = report.differences[0]
    assert first.where == f"event {i} (msg {e[3]} -> {e[4]}, {e[5]})"
    assert (first.field, first.replayed - first.recorded) == ("bits", 1)
    assert first.where in report.describe() and "bits" in report.describe()


def test_compare_reports_a_length_difference(demo_result, demo_trace):
    t = read_trace(demo_trace)
    shorter = copy.copy(demo_result)
    shorter.events = demo_result.events[:-2]
    report = compare(t, shorter)
    n = len(demo_result.events)
    assert report.differences[0] == Difference("events", n, n - 2, "count")
    assert f"recorded {n} events, replayed {n - 2}" in report.describe()


def test_replay_under_faults_is_identical(tmp_path):
    result = run(FAULTY)
    assert any(e[0] == "duplicate" for e in result.events)
    path = write_trace(tmp_path / "faulty.trace", result)
    report = replay(path)
    assert report.identical, report.describe()
    assert report.fingerprint == result.fingerprint == run(FAULTY).fingerprint


def test_replay_needs_a_scenario(demo_result, tmp_path):
    result = copy.copy(demo_result)
    result.scenario = None
    path = write_trace(tmp_path / "bare.trace", result)
    with pytest.raises(TraceError, match="not made from a scenario"):
        replay(path)


# -- fingerprints ---------------------------------------------------------------------------
def test_same_seed_same_fingerprint_other_seed_other_fingerprint(demo_result):
    assert run(DEMO).fingerprint == demo_result.fingerprint
    assert run(DEMO).fingerprint == demo_result.fingerprint
    assert run(DEMO, seed=4).fingerprint != demo_result.fingerprint
    # the partition alone draws from its own seed: a different split, a different fingerprint
    assert run(DEMO, **{"partition.seed": 4}).fingerprint != demo_result.fingerprint


# -- bad files ------------------------------------------------------------------------------
def frames_of(data: bytes) -> list:
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    return list(unpacker)


def pack_all(frames) -> bytes:
    return b"".join(msgpack.packb(f, use_bin_type=True) for f in frames)


def write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def test_wrong_version(small_bytes, tmp_path):
    header, *rest = frames_of(small_bytes)
    data = pack_all(({**header, "version": 99}, *rest))
    with pytest.raises(TraceError, match="wrong version 99"):
        read_trace(write_bytes(tmp_path / "v.trace", data))


def test_not_a_trace(tmp_path):
    with pytest.raises(TraceError, match="not a protosim trace"):
        read_trace(write_bytes(tmp_path / "x.trace", msgpack.packb({"hello": 1})))
    with pytest.raises(TraceError, match="no complete header"):
        read_trace(write_bytes(tmp_path / "empty.trace", b""))


def test_truncation_names_the_events_read(small_bytes, tmp_path):
    frames = frames_of(small_bytes)
    data = pack_all(frames[:-1])
    with pytest.raises(TraceError, match=f"truncated: no footer after {len(frames) - 2} events"):
        read_trace(write_bytes(tmp_path / "t.trace", data))


def test_altered_event_is_a_fingerprint_mismatch(small_bytes, tmp_path):
    header, *events, footer = frames_of(small_bytes)
    events[0][6] += 1
    data = pack_all((header, *events, footer))
    with pytest.raises(TraceError, match="fingerprint mismatch.*altered"):
        read_trace(write_bytes(tmp_path / "a.trace", data))
    # fields outside the fingerprint (here the depth) are covered by the checksum
    events[0][6] -= 1
    events[0][8] += 1
    data = pack_all((header, *events, footer))
    with pytest.raises(TraceError, match="checksum mismatch"):
        read_trace(write_bytes(tmp_path / "b.trace", data))


def test_badly_typed_event_names_the_field(small_bytes, tmp_path):
    header, *events, footer = frames_of(small_bytes)
    events[0][10] = "not bytes"
    data = pack_all((header, *events, footer))
    with pytest.raises(TraceError, match="event 0: field payload"):
        read_trace(write_bytes(tmp_path / "p.trace", data))


def test_every_truncation_is_a_trace_error(small_bytes, tmp_path):
    path = tmp_path / "cut.trace"
    for n in range(len(small_bytes)):
        path.write_bytes(small_bytes[:n])
        with pytest.raises(TraceError):
            read_trace(path)
    path.write_bytes(small_bytes + b"\x00")
    with pytest.raises(TraceError, match="after the footer"):
        read_trace(path)


@pytest.mark.parametrize("data", [
    b"\xdd\xff\xff\xff\xff",                          # an array of 2**32 - 1 items
    b"\xdf\xff\xff\xff\xff",                          # a map of 2**32 - 1 pairs
    b"\xc6\xff\xff\xff\xff" + b"\x00" * 1000,         # a bin of 4 GiB, barely begun
    b"\xdb\xff\xff\xff\xff" + b"a" * 1000,            # a str of 4 GiB
    b"\xc9\xff\xff\xff\xff\x01" + b"\x00" * 1000,     # an ext of 4 GiB
    b"\x91" * 100_000,                                # arrays nested 100,000 deep
])
def test_oversized_claims_fail_fast(data, tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(TraceError):
        read_trace(write_bytes(tmp_path / "huge.trace", data))
    assert time.perf_counter() - t0 < 1.0


def test_oversized_frame_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(trace_mod, "MAX_FRAME", 1 << 20)
    data = msgpack.packb({"format": "protosim-trace", "version": 1, "blob": b"\x00" * (2 << 20)}, use_bin_type=True)
    with pytest.raises(TraceError, match="larger than the 1 MiB limit"):
        read_trace(write_bytes(tmp_path / "big.trace", data))


def test_ext_types_are_refused(tmp_path):
    header = msgpack.packb({"format": "protosim-trace", "version": 1}, use_bin_type=True)
    for ext in (msgpack.packb(msgpack.ExtType(5, b"")), msgpack.packb(msgpack.ExtType(5, b"xyz")),
                msgpack.packb(msgpack.Timestamp(1))):
        inside = msgpack.packb({"format": "protosim-trace", "version": 1, "x": 0}, use_bin_type=True)[:-1] + ext
        for data in (inside, header + ext):
            with pytest.raises(TraceError):
                read_trace(write_bytes(tmp_path / "ext.trace", data))


# -- fuzz -----------------------------------------------------------------------------------
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def must_fail_cleanly(path, data: bytes):
    path.write_bytes(data)
    try:
        t = read_trace(path)
    except TraceError:
        return
    assert isinstance(t, Trace)  # a mutation that leaves the file valid (essentially impossible)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzz_random_bytes(tmp_path, data):
    must_fail_cleanly(tmp_path / "fuzz.trace", data)


@FUZZ
@given(data=st.data())
def test_fuzz_flipped_bytes(tmp_path, small_bytes, data):
    mutated = bytearray(small_bytes)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(mutated) - 1))
        mutated[i] ^= data.draw(st.integers(1, 255))
    must_fail_cleanly(tmp_path / "flip.trace", bytes(mutated))


@FUZZ
@given(data=st.data())
def test_fuzz_inserted_bytes(tmp_path, small_bytes, data):
    i = data.draw(st.integers(0, len(small_bytes)))
    extra = data.draw(st.binary(min_size=1, max_size=16))
    must_fail_cleanly(tmp_path / "insert.trace", small_bytes[:i] + extra + small_bytes[i:])
