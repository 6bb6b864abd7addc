"""Traces: write a run to a msgpack stream, read it back safely, and replay it.

A trace is a stream of msgpack frames (docs/traces.md gives the format):

1. a header map: format, version, protosim version, protocol, model, seed, params, scenario;
2. one list per event, its 11 fields in :data:`~protosim.ledger.EVENT_FIELDS` order;
3. a footer map: event count, fingerprint, totals, the run's other figures, and a checksum.

Reading never executes anything from the file: no pickle, no object hooks, no ext types,
a size limit on every frame and on every string, bin, array and map. Every problem with
the file (truncated, corrupt, oversized, altered, wrong version) is a :class:`TraceError`
that names the file and the reason.

Replay re-runs the header's scenario and names the first thing that differs: a header
field (``header.seed``, ``header.params.s``), an event field, the event count, or a figure
of the footer.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import msgpack
import numpy as np

from .errors import TraceError
from .ledger import EVENT_FIELDS, fingerprint_of
from .result import RunResult

TRACE_FORMAT = "protosim-trace"
TRACE_VERSION = 1

MAX_FRAME = 64 << 20
"""The largest frame (header, event or footer) a reader accepts, in bytes."""
MAX_ARRAY_LEN = 1 << 20
MAX_MAP_LEN = 1 << 16
_WRITE_CHUNK = 4096
"""Events packed in one call when writing."""

_HEADER_KEYS = {"protosim": str, "protocol": str, "model": str, "seed": int, "params": dict, "scenario": (dict, type(None))}
_FOOTER_KEYS = {
    "events": int, "fingerprint": str, "totals": dict, "sim_time": (int, float), "peak_memory": (int, float),
    "public_coins": bool, "crashed": list, "model_figures": dict, "idle": dict, "checksum": str,
}
_EVENT_TYPES = (str, int, (int, float), str, str, str, int, int, int, str, bytes)
_EVENT_SIGNATURES = {(str, int, t, str, str, str, int, int, int, str, bytes) for t in (int, float)}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FOOTER_FIGURES = ("sim_time", "peak_memory", "public_coins", "crashed", "model_figures")


# -- the trace ------------------------------------------------------------------------------
@dataclass
class Trace:
    """A trace as read back: the header and footer maps, and the events as tuples."""

    header: dict
    events: list[tuple]
    footer: dict

    @property
    def fingerprint(self) -> str:
        return self.footer["fingerprint"]

    def result(self) -> RunResult:
        """The run's :class:`RunResult`, rebuilt from the trace alone (its output is None)."""
        h, f = self.header, self.footer
        return RunResult(
            output=None, params=dict(h["params"]), model=h["model"], seed=h["seed"], events=list(self.events),
            fingerprint=f["fingerprint"], sim_time=f["sim_time"], peak_memory=f["peak_memory"],
            public_coins=f["public_coins"], idle=dict(f["idle"]), crashed=list(f["crashed"]),
            protocol=h["protocol"], scenario=h["scenario"], model_figures=dict(f["model_figures"]),
        )


# -- writing --------------------------------------------------------------------------------
def write_trace(path: str | Path, result: RunResult) -> Path:
    """Write ``result`` as a trace file at ``path`` (parent folders are created); returns the path.

    The file appears whole or not at all: it is written next to ``path`` and renamed.
    """
    from . import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "format": TRACE_FORMAT, "version": TRACE_VERSION, "protosim": __version__,
        "protocol": result.protocol, "model": result.model, "seed": int(result.seed),
        "params": plain(result.params, "params"), "scenario": plain(result.scenario, "scenario"),
    }
    footer = {
        "footer": True, "events": len(result.events), "fingerprint": result.fingerprint,
        "totals": plain(result.totals(), "totals"), "sim_time": plain(result.sim_time, "sim_time"),
        "peak_memory": plain(result.peak_memory, "peak_memory"), "public_coins": bool(result.public_coins),
        "crashed": list(result.crashed), "model_figures": plain(result.model_figures, "model_figures"),
        "idle": plain(result.idle, "idle"),
    }
    packer = msgpack.Packer(use_bin_type=True, default=_scalar)
    checksum = hashlib.sha256()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            for data in chain((packer.pack(header),), _event_frames(packer, result.events)):
                checksum.update(data)
                out.write(data)
            # the checksum covers the header, every event and the footer without its checksum
            checksum.update(packer.pack(footer))
            footer["checksum"] = checksum.hexdigest()
            out.write(packer.pack(footer))
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (OverflowError, TypeError, ValueError)) and not isinstance(exc, TraceError):
            raise TraceError(f"cannot write the trace {str(path)!r}: {exc}") from None
        raise
    return path


def _event_frames(packer: msgpack.Packer, events):
    """The events' frames, back to back, packed a chunk at a time: a msgpack array is its
    header followed by its items, so packing a list of events and dropping the header gives
    exactly the frames of the events one by one."""
    for start in range(0, len(events), _WRITE_CHUNK):
        frames = events[start:start + _WRITE_CHUNK]
        yield memoryview(packer.pack(frames))[len(packer.pack_array_header(len(frames))):]


def plain(value: Any, where: str = "value") -> Any:
    """``value`` as plain msgpack/JSON-able data: numpy scalars and arrays become Python values."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    raise TraceError(f"cannot write {where} to a trace: {type(value).__name__} value {value!r} is not plain data")


def _scalar(value):
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to a trace")


# -- reading --------------------------------------------------------------------------------
def read_trace(path: str | Path) -> Trace:
    """Read and check a trace file; any problem with it is a :class:`TraceError`."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise TraceError(f"trace file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise TraceError(f"cannot read trace file {str(path)!r}: {exc.strerror or exc}") from None
    with f:
        unpacker = msgpack.Unpacker(
            f, read_size=min(1 << 16, MAX_FRAME), max_buffer_size=MAX_FRAME, max_str_len=MAX_FRAME,
            max_bin_len=MAX_FRAME, max_array_len=MAX_ARRAY_LEN, max_map_len=MAX_MAP_LEN, max_ext_len=0,
            ext_hook=_no_ext, raw=False, strict_map_key=True, use_list=True,
        )
        try:
            return _read(unpacker, os.fstat(f.fileno()).st_size, path)
        except TraceError:
            raise
        except msgpack.BufferFull:
            raise TraceError(f"{path}: a frame near byte {unpacker.tell()} is larger than the "
                             f"{MAX_FRAME >> 20} MiB limit; the file is corrupt or not a trace") from None
        except msgpack.StackError:
            raise TraceError(f"{path}: corrupt trace: data nested too deeply near byte {unpacker.tell()}") from None
        except UnicodeDecodeError:
            raise TraceError(f"{path}: corrupt trace: a string near byte {unpacker.tell()} is not valid UTF-8") from None
        except (msgpack.UnpackException, ValueError, TypeError, OverflowError, MemoryError) as exc:
            raise TraceError(f"{path}: corrupt trace near byte {unpacker.tell()}: {exc or type(exc).__name__}") from None


def _read(unpacker: msgpack.Unpacker, size: int, path: Path) -> Trace:
    checksum = hashlib.sha256()
    try:
        header = unpacker.unpack()
    except msgpack.OutOfData:
        raise TraceError(f"{path}: empty or truncated: no complete header") from None
    _check_header(header, path)
    checksum.update(_canonical(header))
    events: list[tuple] = []
    while True:
        try:
            frame = unpacker.unpack()
        except msgpack.OutOfData:
            raise TraceError(f"{path}: truncated: no footer after {len(events)} events") from None
        if isinstance(frame, dict) and frame.get("footer") is True:
            break
        events.append(_event(frame, len(events), path))
        checksum.update(_canonical(frame))
    footer = frame
    _check_fields(footer, _FOOTER_KEYS, "footer", path)
    for key in ("fingerprint", "checksum"):
        if not _HEX64.fullmatch(footer[key]):
            raise TraceError(f"{path}: footer.{key}: expected 64 hexadecimal digits, got {_short(footer[key])}")
    if unpacker.tell() != size:
        raise TraceError(f"{path}: {size - unpacker.tell()} unexpected bytes after the footer")
    if footer["events"] != len(events):
        raise TraceError(f"{path}: the footer counts {footer['events']} events but the file holds {len(events)}")
    recomputed = fingerprint_of(events)
    if recomputed != footer["fingerprint"]:
        raise TraceError(f"{path}: fingerprint mismatch: the footer records {footer['fingerprint'][:16]}…, "
                         f"the events give {recomputed[:16]}…; the file was altered")
    recorded = footer.pop("checksum")
    checksum.update(_canonical(footer))
    footer["checksum"] = recorded
    if checksum.hexdigest() != recorded:
        raise TraceError(f"{path}: checksum mismatch: the header, an event record or the footer was altered")
    return Trace(header, events, footer)


def _check_header(header, path: Path) -> None:
    if not isinstance(header, dict) or header.get("format") != TRACE_FORMAT:
        raise TraceError(f"{path}: not a protosim trace (its first frame is not a trace header)")
    version = header.get("version")
    if not _is(version, int) or version != TRACE_VERSION:
        from . import __version__
        raise TraceError(f"{path}: wrong version {version!r}: protosim {__version__} reads trace version {TRACE_VERSION}")
    _check_fields(header, _HEADER_KEYS, "header", path)


def _check_fields(frame: dict, spec: dict, where: str, path: Path) -> None:
    for key, kind in spec.items():
        if key not in frame:
            raise TraceError(f"{path}: {where}.{key} is missing")
        if not _is(frame[key], kind):
            raise TraceError(f"{path}: {where}.{key}: expected {_kind_name(kind)}, got {_short(frame[key])}")


def _event(frame, i: int, path: Path) -> tuple:
    if isinstance(frame, list) and tuple(map(type, frame)) in _EVENT_SIGNATURES and frame[2] >= 0 \
            and frame[2] < math.inf and frame[6] >= 0 and frame[7] >= 0 and frame[8] >= 0:
        return tuple(frame)  # the common case; the checks below say what is wrong
    if not isinstance(frame, list) or len(frame) != len(EVENT_FIELDS):
        got = f"a list of {len(frame)}" if isinstance(frame, list) else _short(frame)
        raise TraceError(f"{path}: event {i}: expected a list of {len(EVENT_FIELDS)} fields "
                         f"({', '.join(EVENT_FIELDS)}) or the footer, got {got}")
    for name, kind, value in zip(EVENT_FIELDS, _EVENT_TYPES, frame):
        if not _is(value, kind) or (name in ("time", "bits", "wire_bytes", "depth") and not (0 <= value < math.inf)):
            raise TraceError(f"{path}: event {i}: field {name}: expected {_kind_name(kind)}, got {_short(value)}")
    return tuple(frame)


def _is(value, kind) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("None" if k is type(None) else k.__name__ for k in kinds)


def _short(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _canonical(frame) -> bytes:
    return msgpack.packb(frame, use_bin_type=True)


def _no_ext(code, data):
    raise ValueError(f"msgpack ext type {code} is not allowed in a trace")


# -- replay ---------------------------------------------------------------------------------
class _Absent:
    def __repr__(self):
        return "(absent)"


ABSENT = _Absent()
"""Stands for a header key or event that one side has and the other has not."""


@dataclass
class Difference:
    """One place where a replay differs from the recording."""

    where: str
    recorded: Any
    replayed: Any
    field: str = ""

    def describe(self) -> str:
        if self.where == "events" and self.field == "count":
            return f"recorded {self.recorded} events, replayed {self.replayed}"
        at = f"{self.where}, field {self.field}" if self.field else self.where
        return f"{at}: recorded {_short(self.recorded)}, replayed {_short(self.replayed)}"


@dataclass
class ReplayReport:
    """The outcome of a replay: identical, or the differences, the first one first."""

    identical: bool
    differences: list[Difference] = field(default_factory=list)
    events: int = 0
    fingerprint: str = ""

    def describe(self) -> str:
        if self.identical:
            return f"identical: {self.events} events, fingerprint {self.fingerprint[:16]}…"
        first = self.differences[0].describe()
        more = len(self.differences) - 1
        return f"the first difference is {first}" + (f" ({more} more differences)" if more else "")


MAX_DIFFERENCES = 50
"""Event differences a report lists at most (the header, count and footer ones come in addition)."""


def compare(recorded: Trace, result: RunResult) -> ReplayReport:
    """Compare a recorded trace with a new run: header, then events field by field, then footer."""
    diffs: list[Difference] = []
    h = recorded.header
    for key, now in (("protocol", result.protocol), ("model", result.model), ("seed", result.seed)):
        if not _same(h[key], now):
            diffs.append(Difference(f"header.{key}", h[key], now))
    params = plain(result.params, "params")
    for key in [*h["params"], *(k for k in params if k not in h["params"])]:
        a, b = h["params"].get(key, ABSENT), params.get(key, ABSENT)
        if not _same(a, b):
            diffs.append(Difference(f"header.params.{key}", a, b))
    listed = 0
    for i, (a, b) in enumerate(zip(recorded.events, result.events)):
        for name, x, y in zip(EVENT_FIELDS, a, b):
            if not _same(x, y):
                if listed < MAX_DIFFERENCES:
                    diffs.append(Difference(_event_name(i, a), x, y, name))
                listed += 1
                break
    n, m = len(recorded.events), len(result.events)
    if n != m:
        diffs.append(Difference("events", n, m, "count"))
    f = recorded.footer
    for key in _FOOTER_FIGURES:
        now = plain(getattr(result, key), key)
        if not _same(f[key], now):
            diffs.append(Difference(f"footer.{key}", f[key], now))
    if not diffs and f["fingerprint"] != result.fingerprint:
        diffs.append(Difference("footer.fingerprint", f["fingerprint"], result.fingerprint))
    return ReplayReport(not diffs, diffs, m, result.fingerprint)


def replay(path: str | Path, overrides: dict[str, Any] | None = None) -> ReplayReport:
    """Re-run the scenario recorded in the trace at ``path`` (with ``overrides``) and compare."""
    from .scenario import Scenario

    recorded = read_trace(path)
    if recorded.header["scenario"] is None:
        raise TraceError(f"{path}: this trace was not made from a scenario; replay needs one")
    result, _checks = Scenario.from_dict(recorded.header["scenario"], str(path), overrides).run()
    return compare(recorded, result)


def _event_name(i: int, e: tuple) -> str:
    kind, _seq, _time, src, dst, type_name = e[:6]
    return f"event {i} ({kind} {src} -> {dst}{', ' + type_name if type_name else ''})"


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b
