"""Typed messages, bit codes and exact bit packing.

A message is a dataclass whose fields declare bit codes::

    @message
    class SampleReply:
        site: UInt("clog2(s)")
        point: Opt(Vector(UInt("log2Delta"), length="d"))

:func:`bind` resolves every width and length for one run's parameters; the :class:`Bound`
it returns packs a message into a bit string and unpacks it again, exactly.

*Information bits* are the length of that bit string: what the codes produce, nothing
estimated. Budgets from theorems are checked against them. *Wire bytes* are what a
deployment would send: :func:`frame` puts the bits (zero-padded to whole bytes) and the
class's 32-bit type tag in a msgpack frame, whose length is counted separately.

Arrays of numeric codes are packed and unpacked with numpy, with no Python loop per
element (Elias gamma and delta included: their codeword starts are found by pointer
jumping); short arrays, below a crossover measured per code, go through Python ints.
Records, options and values beyond 64 bits go element by element. A Bound packs its own
record with source generated for it (see "compiled records"); the general path checks and
names every misfit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
import struct
import sys
import zlib
from typing import Mapping, NamedTuple

import msgpack
import numpy as np
from bitarray import bitarray

from .errors import CodecError
from .expr import Expr, ExprError

__all__ = [
    "Bits", "Bool", "Bound", "Code", "Delta", "Float32", "Float64", "Gamma", "Opt", "Packed", "Signed",
    "UInt", "Vector", "bind", "decode", "encode", "frame", "message", "message_tag",
    "message_type", "message_types", "unframe",
]

_MAX_FREE_ITEMS = 1 << 24
"""Largest decoded length of a vector whose items take no bits; beyond it the bits are garbage."""

_WINDOW = 1 << 16
"""Bits searched at once for variable-length codewords (pointer-jumping tables stay in cache)."""

_DOUBLE = struct.Struct(">d")
_SINGLE = struct.Struct(">f")
_DWORD = struct.Struct(">I")
_QWORD = struct.Struct(">Q")
_U64 = (1 << 64) - 1


class Packed(NamedTuple):
    """A message's bits: ``nbits`` information bits; ``data`` holds them zero-padded to bytes."""

    nbits: int
    data: bytes


# -- errors -----------------------------------------------------------------------------------


class _Misfit(Exception):
    """A value or bit string that does not fit its code; containers add their path segments."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text
        self.path: list[str] = []  # innermost segment first

    def render(self, type_name: str) -> str:
        return f"{type_name}{''.join(reversed(self.path))}: {self.text}"


def _show(v) -> str:
    """A short repr of ``v`` for error messages."""
    if isinstance(v, int) and v.bit_length() > 128:
        return f"{'-' if v < 0 else ''}<{v.bit_length()}-bit integer>"
    try:
        text = repr(v)
    except ValueError:  # an int beyond Python's digit limit inside a container
        return f"<{type(v).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _misfit(v, label: str, need: str) -> _Misfit:
    return _Misfit(f"value {_show(v)} does not fit {label} ({need})")


def _at(i: int, shape: tuple) -> str:
    """The path segment of flat index ``i`` in an array of ``shape``, such as ``[3][0]``."""
    return "".join(f"[{int(k)}]" for k in np.unravel_index(i, shape))


def _truncated(end: int, limit: int) -> _Misfit:
    return _Misfit(f"truncated or corrupt bits: the code needs bit {end} but there are {limit}")


# -- helpers on Python ints -------------------------------------------------------------------


def _to_int(v, code) -> int:
    """``v`` as a Python int for an integer code, or the misfit that says why it is not one."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        return int(v)
    if v is None:
        raise _misfit(v, code.label, "None is allowed only inside Opt(...)")
    raise _misfit(v, code.label, f"an integer, {code.need}" if code.need else "an integer")


def _gamma(x: int) -> tuple[int, int]:
    """Elias gamma of ``x >= 1``: x itself written in 2*floor(log2 x)+1 bits."""
    return x, 2 * x.bit_length() - 1


def _join(pieces: list[tuple[int, int]]) -> tuple[int, int]:
    """Concatenate (bits, nbits) pieces in order, pairwise so that long lists stay fast."""
    while len(pieces) > 1:
        merged = [((a << nb) | b, na + nb) for (a, na), (b, nb) in zip(pieces[::2], pieces[1::2])]
        if len(pieces) % 2:
            merged.append(pieces[-1])
        pieces = merged
    return pieces[0] if pieces else (0, 0)


def _split(x: int, m: int, w: int) -> list[int]:
    """The ``m`` fields of ``w`` bits that make up ``x``, most significant first."""
    mask = (1 << w) - 1
    return [(x >> s) & mask for s in range((m - 1) * w, -1, -w)] if w else [0] * m


def _from_bytes(data: bytes, nbits: int) -> tuple[int, int]:
    """(bits, nbits) from the first ``nbits`` bits of ``data``."""
    return int.from_bytes(data, "big") >> (8 * len(data) - nbits), nbits


# -- helpers on numpy arrays ------------------------------------------------------------------


def _from_bit_array(bits: np.ndarray) -> tuple[int, int]:
    """(bits, nbits) from an array of 0/1 values."""
    return _from_bytes(np.packbits(bits).tobytes(), len(bits))


def _bit_length(x: np.ndarray) -> np.ndarray:
    """Bit length of each uint64 ``x >= 1`` (float exponent, corrected where it rounded up)."""
    e = np.minimum(np.frexp(x.astype(np.float64))[1].astype(np.int64), 64)
    return e - ((x >> (e - 1).astype(np.uint64)) == 0)


def _place(values: np.ndarray, widths: np.ndarray, ends: np.ndarray, total: int) -> tuple[int, int]:
    """A ``total``-bit string with each uint64 value in the ``widths`` (0..64) bits before ``ends``.

    Fields come in order and never share a bit; each touches at most two 64-bit words, so
    the words are the OR of runs of the fields' high and low parts. (numpy shifts a uint64
    by 64 or more to 0, which puts a field that fits its first word nowhere in the second.)
    """
    if not total:
        return 0, 0
    starts = ends - widths
    word = starts >> 6
    t = 128 - (starts & 63) - widths  # left shift of the value inside its two words, 0..128
    high = (values << np.maximum(t - 64, 0).astype(np.uint64)) >> np.maximum(64 - t, 0).astype(np.uint64)
    low = values << t.astype(np.uint64)
    out = np.zeros(((total + 63) >> 6) + 2, np.uint64)  # a zero-width field may start at the end
    for target, part in ((word, high), (word + 1, low)):
        runs = np.flatnonzero(np.concatenate(([True], target[1:] != target[:-1])))
        out[target[runs]] |= np.bitwise_or.reduceat(part, runs)
    return _from_bytes(out.astype(">u8").tobytes()[:(total + 7) >> 3], total)


def _pack_uints(u: np.ndarray, w: int) -> tuple[int, int]:
    """Integers 0 <= v < 2**w (w <= 64), each in w bits: whole bytes, or each value's 64
    bits unpacked, its top 64 - w dropped and the rest packed again."""
    if w in (8, 16, 32, 64):
        return _from_bytes(u.astype(f">u{w // 8}").tobytes(), w * len(u))
    return _from_bit_array(np.unpackbits(u.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1)[:, 64 - w:].reshape(-1))


def _interleave(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a[0], b[0], a[1], b[1], ..."""
    return np.stack((a, b), axis=1).ravel()


def _place_gamma(x: np.ndarray) -> tuple[int, int]:
    """Elias gamma codewords of uint64 ``x >= 1``, concatenated."""
    L = _bit_length(x)
    ends = np.cumsum(2 * L - 1)
    return _place(x, L, ends, int(ends[-1]))


def _as_ints(x: np.ndarray, offset: int) -> np.ndarray:
    """``x + offset`` for uint64 ``x``: int64 if every value fits, else uint64, else objects."""
    lo, hi = int(x.min()) + offset, int(x.max()) + offset
    shifted = x + np.uint64(offset & _U64)  # exact modulo 2**64; the range tells how to read it
    if -(1 << 63) <= lo and hi < (1 << 63):
        return shifted.view(np.int64)
    if lo >= 0 and hi <= _U64:
        return shifted
    return _int_array([v + offset for v in x.tolist()])


def _pack_each(atom, a: np.ndarray, shape: tuple) -> tuple[int, int]:
    """Pack element by element with the scalar encoder (Python ints, objects, misfits)."""
    enc = atom.enc
    pieces = []
    try:
        for i, v in enumerate(a.tolist()):
            pieces.append(enc(v))
    except _Misfit as e:
        e.path.append(_at(i, shape))
        raise
    return _join(pieces)


def _unpack_each(atom, r: _Reader, p: int, m: int) -> tuple[np.ndarray, int]:
    """Unpack ``m`` elements one by one with the scalar decoder (short arrays, huge values)."""
    dec, values = atom.dec, []
    for _ in range(m):
        v, p = dec(r, p)
        values.append(v)
    return atom.array_of(values), p


def _int_array(values: list[int]) -> np.ndarray:
    """Python ints as int64 if every value fits, else uint64, else an object array."""
    if not values:
        return np.zeros(0, np.int64)
    lo, hi = min(values), max(values)
    if -(1 << 63) <= lo and hi < (1 << 63):
        return np.array(values, np.int64)
    if lo >= 0 and hi <= _U64:
        return np.array(values, np.uint64)
    return np.array(values, dtype=object)


def _walk(nxt: np.ndarray, n: int, levels: int = 3) -> np.ndarray:
    """Up to ``n`` positions of the chain 0, nxt[0], nxt[nxt[0]], ..., stopping at the sentinel
    ``len(nxt) - 1``.

    Tables for 2, 4, ... 2**levels steps come from pointer doubling; a short Python loop takes
    strides of 2**levels steps; the tables then fill in the positions between the strides.
    """
    tables = [nxt]
    for _ in range(levels):
        tables.append(tables[-1][tables[-1]])
    stride, sentinel = tables.pop(), len(nxt) - 1
    anchors = [0]
    for _ in range((n - 1) >> levels):
        a = int(stride[anchors[-1]])
        if a == sentinel:
            break
        anchors.append(a)
    chain = np.array(anchors, np.int64)
    for table in reversed(tables):
        chain = np.stack((chain, table[chain]), axis=1).ravel()
    return chain[:n]


def _codewords(r: _Reader, p: int, m: int, step) -> tuple[list[np.ndarray], int]:
    """The ``m >= 1`` consecutive variable-length codewords from bit ``p``.

    ``step(r, p, bits, width)`` gives, for every position of a window of ``width`` bits, where
    a codeword starting there would end (``width + 1`` when past the window), and extra
    per-position arrays. Pointer jumping finds the starts in windows sized from the lengths
    seen so far. Returns ([starts, *extras at the starts], end).
    """
    parts = []
    left, guess = m, min(64 + 4 * m, _WINDOW)
    while left:
        room = r.limit - p
        if room <= 0:
            raise _truncated(p + 1, r.limit)
        width = min(room, guess)
        ends, extras = step(r, p, r.bits(p, width), width)
        nxt = np.concatenate((ends, [width + 1, width + 1]))
        chain = _walk(nxt, min(left, width))
        k = int(np.count_nonzero(nxt[chain] <= width))
        if k == 0:
            if width == room:
                raise _truncated(r.limit + 1, r.limit)
            guess *= 2
            continue
        chain = chain[:k]
        parts.append([chain + p, *(x[chain] for x in extras)])
        used = int(nxt[chain[-1]])
        p, left = p + used, left - k
        guess = min(64 + used * left * 5 // (4 * k), _WINDOW)
    return [np.concatenate(column) for column in zip(*parts)], p


def _next_ones(bits: np.ndarray, width: int) -> np.ndarray:
    """For each window position, the first position at or after it that holds a 1 (else width)."""
    ones = np.flatnonzero(bits)
    return np.repeat(np.append(ones, width), np.diff(np.concatenate(([-1], ones, [width - 1]))))


def _gamma_step(r, p, bits, width):
    """Gamma codeword ends at every window position, and where each one's marker 1 is."""
    q = _next_ones(bits, width)
    return np.minimum(2 * q - np.arange(width) + 1, width + 1), (q + p,)


def _delta_step(r, p, bits, width):
    """Delta codeword ends at every window position, with the end and value of gamma(L)."""
    pos = np.arange(width)
    q = _next_ones(bits, width)
    zeros = q - pos
    prefix_end = 2 * q - pos + 1
    L = r.extract(np.minimum(q, width - 1) + p, np.minimum(zeros + 1, 64))  # garbage where not ok
    ok = (zeros < 64) & (prefix_end <= width) & (L <= width)
    end = np.where(ok, prefix_end + L.astype(np.int64) - 1, width + 1)
    return np.minimum(end, width + 1), (prefix_end + p, L)


# -- reading bits -----------------------------------------------------------------------------


class _Reader:
    """Random access to the first ``limit`` bits of ``data``."""

    __slots__ = ("data", "limit", "_bytes", "_words", "_bitarray")

    def __init__(self, data: bytes, limit: int):
        self.data = data
        self.limit = limit
        self._bytes = self._words = self._bitarray = None

    def need(self, end: int) -> None:
        if end > self.limit:
            raise _truncated(end, self.limit)

    def uint(self, p: int, w: int) -> int:
        e = p + w
        if e > self.limit:
            raise _truncated(e, self.limit)
        return (int.from_bytes(self.data[p >> 3:(e + 7) >> 3], "big") >> (-e & 7)) & ((1 << w) - 1)

    def gamma(self, p: int) -> tuple[int, int]:
        """The Elias gamma codeword at ``p``: (value, end)."""
        if p >= self.limit:
            raise _truncated(p + 1, self.limit)
        i = p >> 3
        chunk = self.data[i:i + 16]
        n = 8 * len(chunk) - (p & 7)  # bits from p within the chunk
        x = int.from_bytes(chunk, "big") & ((1 << n) - 1)
        zeros = n - x.bit_length()
        if 2 * zeros < n:  # the whole codeword is in the chunk
            end = p + 2 * zeros + 1
            if end > self.limit:
                raise _truncated(end, self.limit)
            return x >> (n - 2 * zeros - 1), end
        if self._bitarray is None:
            self._bitarray = bitarray(buffer=self.data, endian="big")
        q = self._bitarray.find(1, p, self.limit)
        if q < 0:
            raise _truncated(self.limit + 1, self.limit)
        return self.uint(q, q - p + 1), 2 * q - p + 1

    def bits(self, p: int, n: int) -> np.ndarray:
        """Bits ``p .. p+n`` (within the limit) as a uint8 array of 0/1."""
        off = p & 7
        raw = np.frombuffer(self.data, np.uint8, count=(off + n + 7) >> 3, offset=p >> 3)
        return np.unpackbits(raw)[off:off + n]

    def extract(self, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
        """The fields of 0..64 bits at ``starts`` as uint64 values, all at once."""
        if self._words is None:  # the big-endian 64-bit word at every byte offset
            self._bytes = np.frombuffer(self.data + bytes(16), np.uint8)
            self._words = np.ndarray((len(self.data) + 8,), ">u8", self._bytes, strides=(1,)).astype(np.uint64)
        at = starts >> 3
        s = (starts & 7).astype(np.uint64)
        word = (self._words[at] << s) | (self._bytes[at + 8].astype(np.uint64) >> (np.uint64(8) - s))
        return word >> (64 - widths).astype(np.uint64)  # a shift by 64 gives 0: width 0 reads 0

    def uints(self, p: int, m: int, w: int) -> np.ndarray:
        """``m`` consecutive fields of ``w <= 64`` bits from ``p`` (within the limit), as uint64."""
        at, s = (_cached_layout if m <= _CACHED_LAYOUT else _layout)(p, m, w)
        padded = self.data + bytes(9)
        word = np.ndarray((len(self.data) + 1,), ">u8", padded, strides=(1,))[at] << s
        if w > 57:  # a field may reach into the ninth byte
            word |= np.frombuffer(padded, np.uint8)[at + 8] >> (8 - s)
        return word >> np.uint64(64 - w)


class _SmallReader(_Reader):
    """A reader for short messages: every read is a shift of the whole message as one int."""

    __slots__ = ("x", "size")

    def __init__(self, data: bytes, limit: int):
        self.data, self.limit = data, limit
        self._bytes = self._words = self._bitarray = None
        self.x, self.size = int.from_bytes(data, "big"), 8 * len(data)

    def uint(self, p: int, w: int) -> int:
        e = p + w
        if e > self.limit:
            raise _truncated(e, self.limit)
        return (self.x >> (self.size - e)) & ((1 << w) - 1)

    def gamma(self, p: int) -> tuple[int, int]:
        if p >= self.limit:
            raise _truncated(p + 1, self.limit)
        rest = self.x & ((1 << (self.size - p)) - 1)
        end = 2 * (self.size - rest.bit_length()) - p + 1
        if end > self.limit:
            raise _truncated(end, self.limit)
        return rest >> (self.size - end), end


_SMALL = 64
"""Messages up to this many bytes are read with :class:`_SmallReader`."""

_CACHED_LAYOUT = 1024
"""Vectors up to this many fixed-width fields keep their layout in a cache."""


def _layout(p: int, m: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Byte offset and bit offset (uint64) of each of ``m`` consecutive ``w``-bit fields from ``p``."""
    starts = p + w * np.arange(m, dtype=np.int64)
    return starts >> 3, (starts & 7).astype(np.uint64)


_cached_layout = functools.lru_cache(maxsize=256)(_layout)


def _read_length(r: _Reader, p: int, item_bits: int) -> tuple[int, int]:
    """A vector's length prefix gamma(m + 1); refused when m items cannot fit the bits left."""
    x, p = r.gamma(p)
    m, room = x - 1, r.limit - p
    if m > (room // item_bits if item_bits else _MAX_FREE_ITEMS):
        raise _Misfit(f"corrupt bits: a length of {_show(m)} items cannot fit in the {room} bits left")
    return m, p


# -- bound codes: atoms, one number each, also packed as whole arrays -------------------------


class _Atom:
    """A bound scalar code that also packs and unpacks flat numpy arrays of its values."""

    __slots__ = ("label", "need", "min_bits")
    dtype: type = object  # of decoded arrays
    short_pack = short_unpack = 32
    """Arrays up to this many elements take ``pack_short`` / ``unpack_short`` (measured: below
    it a Python loop costs less than the fixed cost of numpy's calls)."""

    def __repr__(self) -> str:
        return self.label

    def pack_short(self, a: np.ndarray, shape: tuple) -> tuple[int, int]:
        return _pack_each(self, a, shape)

    def unpack_short(self, r: _Reader, p: int, m: int) -> tuple[np.ndarray, int]:
        return _unpack_each(self, r, p, m)

    def as_array(self, v) -> np.ndarray:
        return np.asarray(v)

    def array_of(self, values: list) -> np.ndarray:
        return np.array(values, self.dtype)


class _IntAtom(_Atom):
    """An integer code; lists of Python ints keep their precision (no detour through floats)."""

    __slots__ = ()

    def as_array(self, v) -> np.ndarray:
        a = np.asarray(v)
        if a.dtype.kind == "f" and not isinstance(v, np.ndarray):
            a = np.array(v, dtype=object)
        return a

    @staticmethod
    def ints(a: np.ndarray) -> np.ndarray | None:
        """``a`` as an int64/uint64 array, or None when the scalar path must take it."""
        if a.dtype.kind in "iu":
            return a
        if a.dtype.kind == "f" and np.isfinite(a).all() and (np.floor(a) == a).all() and (np.abs(a) < 2.0**63).all():
            return a.astype(np.int64)
        return None

    def fail_first(self, a: np.ndarray, bad: np.ndarray, shape: tuple):
        """Raise the scalar encoder's misfit for the first bad element."""
        i = int(np.argmax(bad))
        try:
            self.enc(a[i].item())
        except _Misfit as e:
            e.path.append(_at(i, shape))
            raise


class _UIntB(_IntAtom):
    __slots__ = ("w", "bound", "dtype")

    def __init__(self, w: int):
        self.w, self.bound, self.min_bits = w, 1 << w, w
        self.dtype = np.int64 if w < 64 else np.uint64 if w == 64 else object
        self.label = f"UInt({w})"
        self.need = f"0 <= v < {1 << w}" if w <= 64 else f"0 <= v < 2**{w}"

    def enc(self, v):
        if type(v) is not int:
            v = _to_int(v, self)
        if v < 0 or v >= self.bound:
            raise _misfit(v, self.label, self.need)
        return v, self.w

    def dec(self, r, p):
        return r.uint(p, self.w), p + self.w

    short_pack, short_unpack = 40, 24

    def pack_short(self, a, shape):
        """Horner's rule on Python ints."""
        ints = self.ints(a)
        values = None if ints is None else ints.tolist()
        if values is None or (values and (min(values) < 0 or max(values) >= self.bound)):
            return _pack_each(self, a, shape)  # converts, or raises the first value's misfit
        w, acc = self.w, 0
        for v in values:
            acc = (acc << w) | v
        return acc, w * len(values)

    def unpack_short(self, r, p, m):
        w = self.w
        return np.array(_split(r.uint(p, m * w), m, w), self.dtype), p + m * w

    def pack(self, a, shape):
        w, ints = self.w, self.ints(a)
        if ints is None or w > 64:
            return _pack_each(self, a, shape)
        bits_used = int(np.bitwise_or.reduce(ints))  # negative if a value is
        if bits_used < 0 or bits_used >> w:
            return _pack_each(self, a, shape)  # raises the first value's misfit
        return _pack_uints(ints, w)

    def unpack(self, r, p, m):
        w = self.w
        r.need(p + m * w)
        if w > 64:
            return _unpack_each(self, r, p, m)
        values = r.uints(p, m, w)
        return (values if w == 64 else values.view(np.int64)), p + m * w


class _FloatB(_Atom):
    __slots__ = ()
    dtype = np.float64

    def __init__(self):
        self.label, self.need, self.min_bits = "Float64()", "a float, or an integer with |v| <= 2**53", 64

    def enc(self, v):
        if type(v) is not float:
            if isinstance(v, (float, np.floating)) and np.finfo(type(v)).bits <= 64:
                v = float(v)
            elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and abs(int(v)) <= 1 << 53:
                v = float(v)
            else:
                raise _misfit(v, self.label, self.need)
        return _QWORD.unpack(_DOUBLE.pack(v))[0], 64

    def dec(self, r, p):
        return _DOUBLE.unpack(_QWORD.pack(r.uint(p, 64)))[0], p + 64

    def pack(self, a, shape):
        kind = a.dtype.kind
        if (kind == "f" and a.dtype.itemsize <= 8) or (
            kind in "iu" and (a <= 1 << 53).all() and (kind == "u" or (a >= -(1 << 53)).all())
        ):
            return _from_bytes(a.astype(">f8").tobytes(), 64 * len(a))
        return _pack_each(self, a, shape)

    def unpack(self, r, p, m):
        r.need(p + 64 * m)
        return r.uints(p, m, 64).view(np.float64), p + 64 * m


class _Float32B(_Atom):
    """IEEE-754 single precision: a value is rounded to the nearest float32 (as numpy's
    ``astype(np.float32)``), which is what the receiver gets; a finite value beyond
    float32's range is refused, inf and NaN pass."""

    __slots__ = ()
    dtype = np.float32

    def __init__(self):
        self.label, self.need, self.min_bits = "Float32()", f"a number with |v| <= {_F32_MAX:.8g} (or inf, nan)", 32

    def enc(self, v):
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
            try:
                return _DWORD.unpack(_SINGLE.pack(float(v)))[0], 32
            except OverflowError:  # a finite value beyond float32 (or an int beyond float64)
                pass
        raise _misfit(v, self.label, self.need)

    def dec(self, r, p):
        return _SINGLE.unpack(_DWORD.pack(r.uint(p, 32)))[0], p + 32

    def pack(self, a, shape):
        if a.dtype.kind in "fiu":
            with np.errstate(over="ignore"):
                single = a.astype(">f4")
            if not (np.isinf(single) & np.isfinite(a)).any():
                return _from_bytes(single.tobytes(), 32 * len(a))
        return _pack_each(self, a, shape)  # converts, or raises the first value's misfit

    def unpack(self, r, p, m):
        r.need(p + 32 * m)
        return r.uints(p, m, 32).astype(np.uint32).view(np.float32), p + 32 * m


_F32_MAX = float(np.finfo(np.float32).max)


class _BitAtom(_Atom):
    """One bit: the element of Bits(n) (decodes to uint8) and, as a subclass, Bool."""

    __slots__ = ()
    dtype = np.uint8

    def __init__(self, label: str, need: str = "0 or 1"):
        self.label, self.need, self.min_bits = label, need, 1

    def as_array(self, v) -> np.ndarray:
        if isinstance(v, bitarray):
            return np.frombuffer(v.unpack(), np.uint8)
        if isinstance(v, (list, tuple)) and v and isinstance(v[0], bitarray):
            return np.array([self.as_array(x) for x in v])
        return np.asarray(v)

    def enc(self, v):
        if v is True or v is False or isinstance(v, np.bool_) or (
            isinstance(v, (int, np.integer)) and (v == 0 or v == 1)
        ):
            return int(v), 1
        raise _misfit(v, self.label, self.need)

    def dec(self, r, p):
        return r.uint(p, 1), p + 1

    short_pack, short_unpack = 24, 8

    def pack_short(self, a, shape):
        """Horner's rule on the Python bools of a bool array."""
        if a.dtype.kind != "b":
            return _pack_each(self, a, shape)
        acc = 0
        for v in a.tolist():
            acc = (acc << 1) | v
        return acc, len(a)

    def unpack_short(self, r, p, m):
        return np.array(_split(r.uint(p, m), m, 1), self.dtype), p + m

    def pack(self, a, shape):
        kind = a.dtype.kind
        if kind == "b" or (kind in "iu" and ((a == 0) | (a == 1)).all()):
            return _from_bit_array(a.astype(np.uint8))
        return _pack_each(self, a, shape)

    def unpack(self, r, p, m):
        r.need(p + m)
        return r.bits(p, m), p + m


class _BoolB(_BitAtom):
    __slots__ = ()
    dtype = bool

    def __init__(self):
        super().__init__("Bool()", "True or False")

    def enc(self, v):
        if v is True:
            return 1, 1
        if v is False:
            return 0, 1
        return super().enc(v)

    def dec(self, r, p):
        return r.uint(p, 1) == 1, p + 1

    def unpack(self, r, p, m):
        bits, p = super().unpack(r, p, m)
        return bits.view(bool), p


class _UniversalAtom(_IntAtom):
    """Gamma, Delta and Signed: variable-length codewords for unbounded integers."""

    __slots__ = ("shift",)
    step = staticmethod(_gamma_step)
    array_of = staticmethod(_int_array)

    def pack(self, a, shape):
        ints = self.ints(a)
        x = None if ints is None else self.code_numbers(ints, shape)
        if x is None:
            return _pack_each(self, a, shape)
        return self.place(x)

    def unpack(self, r, p, m):
        columns, end = _codewords(r, p, m, self.step)
        values = self.values(r, *columns)
        return (values, end) if values is not None else _unpack_each(self, r, p, m)

    def code_numbers(self, ints, shape):
        """The numbers x >= 1 to code, as uint64; None if one needs more than 64 bits."""
        lo, hi = int(ints.min()), int(ints.max())
        if lo - self.shift < 1:
            self.fail_first(ints, ints < self.shift + 1, shape)
        if hi - self.shift > _U64:
            return None
        return ints.astype(np.uint64) - np.uint64(self.shift & _U64)

    place = staticmethod(_place_gamma)

    def values(self, r, starts, q):
        """The decoded values from each codeword's start and marker; None beyond 64 bits."""
        zeros = q - starts
        if zeros.max() >= 64:
            return None
        return _as_ints(r.extract(q, zeros + 1), self.shift)


def _base_label(name: str, base: int) -> str:
    return f"{name}()" if base == 1 else f"{name}(base={base})"


class _GammaB(_UniversalAtom):
    __slots__ = ()

    def __init__(self, base: int):
        self.shift, self.min_bits = base - 1, 1
        self.label, self.need = _base_label("Gamma", base), f"v >= {base}"

    def enc(self, v):
        if type(v) is not int:
            v = _to_int(v, self)
        x = v - self.shift
        if x < 1:
            raise _misfit(v, self.label, self.need)
        return x, 2 * x.bit_length() - 1

    def dec(self, r, p):
        x, p = r.gamma(p)
        return x + self.shift, p


class _DeltaB(_UniversalAtom):
    __slots__ = ()
    step = staticmethod(_delta_step)

    def __init__(self, base: int):
        self.shift, self.min_bits = base - 1, 1
        self.label, self.need = _base_label("Delta", base), f"v >= {base}"

    def enc(self, v):
        if type(v) is not int:
            v = _to_int(v, self)
        x = v - self.shift
        if x < 1:
            raise _misfit(v, self.label, self.need)
        L = x.bit_length()
        return (L << (L - 1)) | (x ^ (1 << (L - 1))), 2 * L.bit_length() + L - 2

    def dec(self, r, p):
        L, q = r.gamma(p)
        low = r.uint(q, L - 1)
        return ((1 << (L - 1)) | low) + self.shift, q + L - 1

    @staticmethod
    def place(x):
        """Each codeword as two fields: gamma(L) in 2*LL-1 bits (L itself in the last LL), then
        the L-1 low bits of x."""
        L = _bit_length(x)
        LL = _bit_length(L.astype(np.uint64))
        ends = np.cumsum(2 * LL + L - 2)
        low_widths = L - 1
        low = x ^ (np.uint64(1) << low_widths.astype(np.uint64))
        return _place(
            _interleave(L.astype(np.uint64), low), _interleave(LL, low_widths),
            _interleave(ends - low_widths, ends), int(ends[-1]),
        )

    def values(self, r, starts, prefix_ends, L):
        if L.max() > 64:
            return None
        low_widths = L.astype(np.int64) - 1
        x = r.extract(prefix_ends, low_widths) | (np.uint64(1) << low_widths.astype(np.uint64))
        return _as_ints(x, self.shift)


class _SignedB(_UniversalAtom):
    __slots__ = ()

    def __init__(self):
        self.shift, self.min_bits = 0, 1
        self.label, self.need = "Signed()", ""

    def enc(self, v):
        if type(v) is not int:
            v = _to_int(v, self)
        x = (v << 1) + 1 if v >= 0 else (-v) << 1  # zigzag, plus one for gamma
        return x, 2 * x.bit_length() - 1

    def dec(self, r, p):
        x, p = r.gamma(p)
        return (x >> 1) if x & 1 else -(x >> 1), p

    def code_numbers(self, ints, shape):
        if ints.dtype.kind == "u":
            if int(ints.max()) >= 1 << 63:
                return None
            ints = ints.astype(np.int64)
        zigzag = ((ints << 1) ^ (ints >> 63)).view(np.uint64)
        if int(zigzag.max()) == _U64:
            return None
        return zigzag + np.uint64(1)

    def values(self, r, starts, q):
        zeros = q - starts
        if zeros.max() >= 64:
            return None
        x = r.extract(q, zeros + 1)
        half = (x >> np.uint64(1)).astype(np.int64)
        return np.where(x & np.uint64(1), half, -half)


# -- bound codes: containers ------------------------------------------------------------------


def _shape_misfit(v, shape: tuple, labels: tuple, atom: _Atom) -> _Misfit:
    """The misfit that explains why ``v`` is not an array of ``shape``, with its path."""

    def find(x, depth):
        if depth == len(shape):
            if isinstance(x, (list, tuple, np.ndarray, bitarray)):
                return _misfit(x, atom.label, atom.need)
            return None
        try:
            n = len(x)
        except TypeError:
            return _misfit(x, labels[depth], f"a sequence of length {shape[depth]}")
        if n != shape[depth]:
            return _misfit(x, labels[depth], f"length {shape[depth]}, not {n}")
        for i, item in enumerate(x):
            e = find(item, depth + 1)
            if e is not None:
                e.path.append(f"[{i}]")
                return e
        return None

    return find(v, 0) or _misfit(v, labels[0], f"an array of shape {shape}")


class _BlockB:
    """Bits(n), a vector of an atom, or nested fixed-length vectors of one: a whole array.

    ``lead`` is the length of the first axis, or None when a gamma(m + 1) prefix sends it;
    ``inner`` the fixed shape of each item; ``labels`` the code at each depth.
    """

    __slots__ = ("atom", "lead", "inner", "labels", "label", "count", "min_bits")

    def __init__(self, atom: _Atom, lead: int | None, inner: tuple, labels: tuple):
        self.atom, self.lead, self.inner, self.labels = atom, lead, inner, labels
        self.label = labels[0]
        self.count = math.prod(inner)  # atoms per item
        self.min_bits = 1 if lead is None else lead * self.count * atom.min_bits

    def __repr__(self) -> str:
        return self.label

    def enc(self, v):
        m = self.lead
        if m is None:
            try:
                m = len(v)
            except TypeError:
                raise _misfit(v, self.label, "a sequence") from None
        shape = (m, *self.inner)
        try:
            a = self.atom.as_array(v)
        except (ValueError, TypeError):
            a = None
        if a is None or a.shape != shape:
            if a is None or a.size or 0 not in shape:
                raise _shape_misfit(v, shape, self.labels, self.atom)
            a = a.reshape(shape)  # an empty list for an empty 2-D array
        flat, atom = a.reshape(-1) if self.inner else a, self.atom
        bits, n = atom.pack(flat, shape) if len(flat) > atom.short_pack else atom.pack_short(flat, shape)
        if self.lead is None:
            x, g = _gamma(m + 1)
            return (x << n) | bits, g + n
        return bits, n

    def dec(self, r, p):
        m = self.lead
        if m is None:
            m, p = _read_length(r, p, self.count * self.atom.min_bits)
        count, atom = m * self.count, self.atom
        flat, p = atom.unpack(r, p, count) if count > atom.short_unpack else atom.unpack_short(r, p, count)
        return flat.reshape((m, *self.inner)) if self.inner else flat, p


class _ListB:
    """A vector of records, options or prefixed vectors: one element after another, as a list."""

    __slots__ = ("item", "lead", "label", "min_bits")

    def __init__(self, item, lead: int | None, label: str):
        self.item, self.lead, self.label = item, lead, label
        self.min_bits = 1 if lead is None else lead * item.min_bits

    def __repr__(self) -> str:
        return self.label

    def enc(self, v):
        try:
            m = -1 if isinstance(v, (str, bytes, dict)) else len(v)
        except TypeError:
            m = -1
        if m < 0:
            raise _misfit(v, self.label, "a sequence")
        if self.lead is not None and m != self.lead:
            raise _misfit(v, self.label, f"length {self.lead}, not {m}")
        pieces = [] if self.lead is not None else [_gamma(m + 1)]
        enc = self.item.enc
        try:
            for i, x in enumerate(v):
                pieces.append(enc(x))
        except _Misfit as e:
            e.path.append(f"[{i}]")
            raise
        return _join(pieces)

    def dec(self, r, p):
        m = self.lead
        if m is None:
            m, p = _read_length(r, p, self.item.min_bits)
        dec, out = self.item.dec, []
        try:
            for i in range(m):
                x, p = dec(r, p)
                out.append(x)
        except _Misfit as e:
            e.path.append(f"[{i}]")
            raise
        return out, p


class _OptB:
    __slots__ = ("inner", "label", "min_bits")

    def __init__(self, inner):
        self.inner, self.label, self.min_bits = inner, f"Opt({inner.label})", 1

    def __repr__(self) -> str:
        return self.label

    def enc(self, v):
        if v is None:
            return 0, 1
        bits, n = self.inner.enc(v)
        return (1 << n) | bits, n + 1

    def dec(self, r, p):
        if r.uint(p, 1):
            return self.inner.dec(r, p + 1)
        return None, p + 1


class _RecordB:
    """A message class's fields, one after another."""

    __slots__ = ("cls", "label", "names", "codes", "encoders", "decoders", "get", "min_bits")

    def __init__(self, cls: type, label: str, names: tuple, codes: list):
        self.cls, self.label, self.names, self.codes = cls, label, names, tuple(codes)
        self.encoders = tuple(c.enc for c in codes)
        self.decoders = tuple(zip(names, (c.dec for c in codes)))
        self.get = operator.attrgetter(*names) if len(names) > 1 else (lambda m: tuple(getattr(m, n) for n in names))
        self.min_bits = sum(c.min_bits for c in codes)

    def __repr__(self) -> str:
        return self.label

    def enc(self, v):
        if type(v) is not self.cls:
            raise _misfit(v, self.label, f"a {self.label} instance")
        acc = n = 0
        try:
            for name, enc, x in zip(self.names, self.encoders, self.get(v)):
                bits, w = enc(x)
                acc = (acc << w) | bits
                n += w
        except _Misfit as e:
            e.path.append("." + name)
            raise
        return acc, n

    def dec(self, r, p):
        values = {}
        try:
            for name, dec in self.decoders:
                values[name], p = dec(r, p)
        except _Misfit as e:
            e.path.append("." + name)
            raise
        msg = object.__new__(self.cls)
        msg.__dict__.update(values)
        return msg, p


# -- compiled records -------------------------------------------------------------------------
#
# A Bound runs its record through Python source generated for it, like a struct compiler:
# the fields unrolled, UInt, Bool and Gamma scalars inline, every other code through its
# own ``enc`` / ``dec``. The inline code is the general code's arithmetic, so the bits are
# the same. A value the inline test does not take (a numpy integer, a misfit) goes to the
# field's ``enc``. The decoder takes messages of at most _SMALL bytes and gives up (None)
# on anything but a valid one. On a misfit or None, the Bound runs the general path, which
# names the field.


def _compile(rec: _RecordB) -> tuple:
    """``encode(msg) -> (bits, nbits)`` and ``decode(data, nbits) -> msg or None`` for ``rec``."""
    env = {"cls": rec.cls, "general": rec.enc, "new": object.__new__, "Reader": _SmallReader}
    env.update((f"c{i}", code) for i, code in enumerate(rec.codes))
    exec(_compiled("\n".join((*_encoder_source(rec), *_decoder_source(rec))), rec.label), env)  # noqa: S102
    return env["encode"], env["decode"]


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, label: str):
    """Compiled once per source text: records that differ only in codes the source calls
    through (a vector's length, say) share it."""
    return compile(source, f"<protosim.codec: {label}>", "exec")


def _encoder_source(rec: _RecordB) -> list[str]:
    lines = ["def encode(msg):", "    if type(msg) is not cls:", "        return general(msg)", "    acc = 0"]
    fixed, sizes = 0, []  # the fields' constant bits, and the names of variable sizes
    for i, (name, code) in enumerate(zip(rec.names, rec.codes)):
        c, kind = f"c{i}", type(code)
        lines.append(f"    v = msg.{name}")
        if kind is _UIntB:
            lines += [f"    if type(v) is not int or v < 0 or v >= {code.bound}:", f"        v = {c}.enc(v)[0]",
                      f"    acc = (acc << {code.w}) | v"]
            fixed += code.w
        elif kind is _BoolB:
            lines.append(f"    acc = (acc << 1) | (1 if v is True else 0 if v is False else {c}.enc(v)[0])")
            fixed += 1
        elif kind is _GammaB:
            lines += [f"    if type(v) is int and v > {code.shift}:", f"        v -= {code.shift}",
                      f"        k{i} = 2 * v.bit_length() - 1", "    else:", f"        v, k{i} = {c}.enc(v)",
                      f"    acc = (acc << k{i}) | v"]
            sizes.append(f"k{i}")
        else:
            lines += [f"    v, k{i} = {c}.enc(v)", f"    acc = (acc << k{i}) | v"]
            sizes.append(f"k{i}")
    lines.append(f"    return acc, {' + '.join([str(fixed), *sizes])}")
    return lines


def _decoder_source(rec: _RecordB) -> list[str]:
    """Inline fields read from ``x``, the message as one int of ``size`` bits (as
    :class:`_SmallReader` does); the others from a reader over the same bits."""
    inline = (_UIntB, _BoolB, _GammaB)
    lines = ["def decode(data, limit):", "    size, p = len(data) << 3, 0"]
    if all(type(code) in inline for code in rec.codes):
        lines.append("    x = int.from_bytes(data, 'big')")
    else:
        lines += ["    r = Reader(data, limit)", "    x = r.x"]
    for i, code in enumerate(rec.codes):
        kind = type(code)
        if kind in (_UIntB, _BoolB):
            w = 1 if kind is _BoolB else code.w
            lines += [f"    if p + {w} > limit:", "        return None",
                      f"    v{i} = (x >> (size - p - {w})) & {(1 << w) - 1}", f"    p += {w}"]
            if kind is _BoolB:
                lines.append(f"    v{i} = v{i} == 1")
        elif kind is _GammaB:
            lines += ["    if p >= limit:", "        return None", "    rest = x & ((1 << (size - p)) - 1)",
                      "    end = 2 * (size - rest.bit_length()) - p + 1", "    if end > limit:", "        return None",
                      f"    v{i} = (rest >> (size - end)) + {code.shift}", "    p = end"]
        else:
            lines.append(f"    v{i}, p = c{i}.dec(r, p)")
    values = ", ".join(f"{name!r}: v{i}" for i, name in enumerate(rec.names))
    lines += ["    if p != limit or x & ((1 << (size - p)) - 1):  # must end at limit, zero padding after",
              "        return None", "    msg = new(cls)", f"    msg.__dict__.update({{{values}}})", "    return msg"]
    return lines


# -- codes as declared ------------------------------------------------------------------------


def _size_spec(x, what: str) -> int | Expr:
    """A width or length as declared: a non-negative int or expression text."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, str):
        try:
            return Expr(x)
        except ExprError as exc:
            raise CodecError(f"{what}: {exc}") from None
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) and x >= 0:
        return int(x)
    raise CodecError(f"{what} must be an integer >= 0 or expression text, not {x!r}")


def _spec_text(x: int | Expr) -> str:
    return x.text if isinstance(x, Expr) else str(x)


def _resolve(spec: int | Expr, params: Mapping, code: Code, where: str, what: str) -> int:
    """A declared width or length, evaluated for a run; it must come out a whole number >= 0."""
    if isinstance(spec, int):
        return spec
    try:
        value = spec(params)
    except ExprError as exc:
        raise CodecError(f"{where}: {what} of {code!r}: {exc}") from None
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise CodecError(
            f"{where}: {what} of {code!r} is {value!r}, not an integer; write ceil(...) or clog2(...)"
        )
    if value < 0:
        raise CodecError(f"{where}: {what} of {code!r} is {value}, below 0")
    return int(value)


def _check_base(base) -> int:
    if isinstance(base, (int, np.integer)) and not isinstance(base, (bool, np.bool_)) and abs(base) < 1 << 62:
        return int(base)
    raise CodecError(f"base must be an integer with |base| < 2**62, not {base!r}")


class Code:
    """A bit code for a message field. ``_bind`` resolves it for one run's parameters."""

    __slots__ = ()

    def _bind(self, params: Mapping, where: str):
        raise NotImplementedError


class UInt(Code):
    """Fixed-width unsigned big-endian integer, 0 <= v < 2**width (width: int or expression)."""

    __slots__ = ("width",)

    def __init__(self, width: int | str):
        self.width = _size_spec(width, "UInt width")

    def __repr__(self) -> str:
        return f"UInt({_spec_text(self.width)})"

    def _bind(self, params, where):
        return _UIntB(_resolve(self.width, params, self, where, "width"))


class Gamma(Code):
    """Elias gamma of v - base + 1, for integers v >= base."""

    __slots__ = ("base",)

    def __init__(self, base: int = 1):
        self.base = _check_base(base)

    def __repr__(self) -> str:
        return _base_label("Gamma", self.base)

    def _bind(self, params, where):
        return _GammaB(self.base)


class Delta(Code):
    """Elias delta of v - base + 1: gamma(bit length L), then the L-1 low bits."""

    __slots__ = ("base",)

    def __init__(self, base: int = 1):
        self.base = _check_base(base)

    def __repr__(self) -> str:
        return _base_label("Delta", self.base)

    def _bind(self, params, where):
        return _DeltaB(self.base)


class _Plain(Code):
    """A code without parameters: its atom, and its class name as its repr."""

    __slots__ = ()
    _atom: type

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _bind(self, params, where):
        return self._atom()


class Signed(_Plain):
    """Any integer: zigzag (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...), then gamma(z + 1)."""

    __slots__ = ()
    _atom = _SignedB


class Bits(Code):
    """Exactly n raw bits: a sequence of 0/1 or a bitarray; decodes to a uint8 array."""

    __slots__ = ("n",)

    def __init__(self, n: int | str):
        self.n = _size_spec(n, "Bits length")

    def __repr__(self) -> str:
        return f"Bits({_spec_text(self.n)})"

    def _bind(self, params, where):
        n = _resolve(self.n, params, self, where, "length")
        return _BlockB(_BitAtom(f"Bits({n})"), n, (), (f"Bits({n})",))


class Float64(_Plain):
    """An IEEE-754 double, 64 bits, bit-exact (outside the theory's accounting)."""

    __slots__ = ()
    _atom = _FloatB


class Float32(_Plain):
    """An IEEE-754 single, 32 bits: values are rounded to the nearest float32 when encoded."""

    __slots__ = ()
    _atom = _Float32B


class Bool(_Plain):
    """One bit."""

    __slots__ = ()
    _atom = _BoolB


class Opt(Code):
    """A value or None (⊥): a flag bit, then the value's code when the flag is 1."""

    __slots__ = ("code",)

    def __init__(self, code):
        self.code = _code_of(code, "Opt")

    def __repr__(self) -> str:
        return f"Opt({self.code!r})"

    def _bind(self, params, where):
        return _OptB(self.code._bind(params, where))


class Vector(Code):
    """A sequence of one code; a fixed length (int or expression) is free, else gamma(m+1) first."""

    __slots__ = ("code", "length")

    def __init__(self, code, length: int | str | None = None):
        self.code = _code_of(code, "Vector")
        self.length = None if length is None else _size_spec(length, "Vector length")

    def __repr__(self) -> str:
        if self.length is None:
            return f"Vector({self.code!r})"
        return f"Vector({self.code!r}, length={_spec_text(self.length)})"

    def _bind(self, params, where):
        item = self.code._bind(params, where)
        if self.length is None:
            lead, label = None, f"Vector({item.label})"
        else:
            lead = _resolve(self.length, params, self, where, "length")
            label = f"Vector({item.label}, length={lead})"
        if isinstance(item, _Atom):
            return _BlockB(item, lead, (), (label,))
        if isinstance(item, _BlockB) and item.lead is not None:
            return _BlockB(item.atom, lead, (item.lead, *item.inner), (label, *item.labels))
        return _ListB(item, lead, label)


class _Record(Code):
    """A message class used as a code: its fields, one after another."""

    __slots__ = ("cls",)

    def __init__(self, cls: type):
        self.cls = cls

    def __repr__(self) -> str:
        return _info(self.cls).short

    def _bind(self, params, where):
        info = _info(self.cls)
        names = tuple(info.codes)
        codes = [info.codes[n]._bind(params, f"{where}.{n}") for n in names]
        return _RecordB(self.cls, info.short, names, codes)


def _code_of(x, where: str) -> Code:
    """A field annotation or element as a Code (a @message class becomes a record)."""
    if isinstance(x, Code):
        return x
    if isinstance(x, type) and "_protosim_message" in x.__dict__:
        return _Record(x)
    if isinstance(x, type) and issubclass(x, Code):
        raise CodecError(f"{where}: write {x.__name__}(...), an instance, not the class {x.__name__}")
    raise CodecError(
        f"{where}: {x!r} is not a bit code "
        "(UInt, Gamma, Delta, Signed, Bits, Float32, Float64, Bool, Opt, Vector or a @message class)"
    )


# -- messages ---------------------------------------------------------------------------------


class _MessageInfo(NamedTuple):
    name: str  # module.qualname
    short: str  # the name errors use
    tag: int
    codes: dict[str, Code]


_BY_TAG: dict[int, type] = {}
_BY_NAME: dict[str, type] = {}


def _info(cls) -> _MessageInfo:
    info = cls.__dict__.get("_protosim_message") if isinstance(cls, type) else None
    if info is None:
        raise CodecError(f"{cls!r} is not a message class (declare it with @message)")
    return info


def _annotation(cls: type, field: dataclasses.Field, where: str):
    """A field's annotation; text (``from __future__ import annotations``) is evaluated in the
    namespace of the module that declared the field."""
    if not isinstance(field.type, str):
        return field.type
    owner = next((k for k in cls.__mro__ if field.name in k.__dict__.get("__annotations__", {})), cls)
    module = sys.modules.get(owner.__module__)
    try:
        # the author's own annotation text, evaluated as typing.get_type_hints would
        return eval(field.type, vars(module) if module else {}, dict(vars(owner)))  # noqa: S307
    except Exception as exc:  # noqa: BLE001 (any failure is a bad annotation)
        raise CodecError(
            f"{where}: cannot resolve the annotation {field.type!r}: {type(exc).__name__}: {exc}"
        ) from None


def message(cls: type) -> type:
    """Class decorator: a dataclass whose annotated fields are bit codes, registered by tag.

    The tag is ``crc32("module.qualname")`` (32 bits). Two classes with one tag are refused;
    the same qualified name again (a module reload) replaces the old class. ``cls.sender`` is
    None; the kernel sets it on delivered instances.
    """
    if "__dataclass_fields__" not in cls.__dict__:
        cls = dataclasses.dataclass(eq=False)(cls)
    name = f"{cls.__module__}.{cls.__qualname__}"
    short = cls.__qualname__.rpartition("<locals>.")[2]
    if "__slots__" in cls.__dict__:
        raise CodecError(f"{short}: a message class cannot use __slots__ (the kernel sets .sender on instances)")
    codes = {}
    for field in dataclasses.fields(cls):
        where = f"{short}.{field.name}"
        if field.name == "sender":
            raise CodecError(f"{where}: the field name 'sender' is reserved (the kernel sets it on delivered messages)")
        codes[field.name] = _code_of(_annotation(cls, field, where), where)
    tag = type_tag(name)
    other = _BY_TAG.get(tag)
    if other is not None and _info(other).name != name:
        raise CodecError(f"message type tag {tag:#010x} of {name} collides with {_info(other).name}; rename one of them")
    cls._protosim_message = _MessageInfo(name, short, tag, codes)
    cls.sender = None
    _BY_TAG[tag] = _BY_NAME[name] = cls
    return cls


def type_tag(name: str) -> int:
    """The 32-bit type tag of the message class named ``module.qualname``: its crc32."""
    return zlib.crc32(name.encode())


def message_tag(cls: type) -> int:
    """The 32-bit type tag of a message class."""
    return _info(cls).tag


def message_type(tag: int) -> type:
    """The message class registered under ``tag``."""
    try:
        return _BY_TAG[tag]
    except (KeyError, TypeError):
        raise CodecError(f"unknown message type tag {tag!r}") from None


def message_types() -> dict[str, type]:
    """Every registered message class by qualified name (``module.qualname``)."""
    return dict(_BY_NAME)


# -- binding, encoding, decoding --------------------------------------------------------------


class Bound:
    """A message class with every width and length resolved for one run; encodes and decodes."""

    __slots__ = ("cls", "params", "_record", "_name", "_encode", "_decode", "_head", "_pack")

    def __init__(self, cls: type, params: Mapping[str, float]):
        info = _info(cls)
        if not isinstance(params, Mapping):
            raise CodecError(f"{info.short}: params must be a mapping of names to numbers, not {type(params).__name__}")
        self.cls, self.params, self._name = cls, dict(params), info.short
        self._record = _Record(cls)._bind(self.params, info.short)
        self._encode, self._decode = _compile(self._record)
        packer = msgpack.Packer(use_bin_type=True)
        self._head, self._pack = packer.pack_array_header(2) + packer.pack(info.tag), packer.pack

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={c!r}" for n, c in zip(self._record.names, self._record.codes))
        return f"Bound({self._name}: {fields})"

    def encode(self, msg) -> Packed:
        """Pack ``msg`` into its bits."""
        try:
            bits, n = self._encode(msg)
        except _Misfit:
            try:
                bits, n = self._record.enc(msg)  # the general path names the field
            except _Misfit as e:
                raise CodecError(e.render(self._name)) from None
        return Packed(n, (bits << (-n & 7)).to_bytes((n + 7) >> 3, "big"))

    def decode(self, data: bytes, nbits: int | None = None):
        """A new message from its bits; with ``nbits`` the code must end exactly there."""
        if type(data) is bytes and type(nbits) is int and (nbits + 7) >> 3 == len(data) <= _SMALL:
            try:
                msg = self._decode(data, nbits)
            except _Misfit:
                msg = None
            if msg is not None:
                return msg
        return self._decode_general(data, nbits)

    def _decode_general(self, data, nbits):
        """Any length of data; every check, and errors that name the field."""
        if type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                raise CodecError(f"cannot decode {self._name}: data must be bytes, not {type(data).__name__}")
            data = bytes(data)
        if nbits is None:
            limit = 8 * len(data)
        elif isinstance(nbits, int) and not isinstance(nbits, bool) and (nbits + 7) >> 3 == len(data) and nbits >= 0:
            limit = nbits
        else:
            raise CodecError(f"cannot decode {self._name}: nbits {nbits!r} does not match {len(data)} bytes")
        r = _SmallReader(data, limit) if len(data) <= _SMALL else _Reader(data, limit)
        try:
            msg, end = self._record.dec(r, 0)
        except _Misfit as e:
            raise CodecError("cannot decode " + e.render(self._name)) from None
        if (end + 7) >> 3 != len(data) or (nbits is not None and end != nbits):
            raise CodecError(f"cannot decode {self._name}: the code ends at bit {end}, but there are {limit} bits")
        if end & 7 and data[-1] & (0xFF >> (end & 7)):
            raise CodecError(f"cannot decode {self._name}: the padding after bit {end} is not zero")
        return msg

    def frame(self, packed: Packed) -> bytes:
        """The wire frame of a packed message of this class, as :func:`frame` makes it (the
        array header and tag are packed once; each frame packs its data)."""
        return self._head + self._pack(packed.data)


def bind(cls: type, params: Mapping[str, float]) -> Bound:
    """Resolve message class ``cls`` for a run's parameters (bind once, encode many times)."""
    return Bound(cls, params)


def encode(msg, params: Mapping[str, float]) -> Packed:
    """Pack one message (binds its class each call; the kernel keeps a :class:`Bound`)."""
    return bind(type(msg), params).encode(msg)


def decode(cls: type, data: bytes, params: Mapping[str, float], nbits: int | None = None):
    """Unpack one message of class ``cls``."""
    return bind(cls, params).decode(data, nbits)


def frame(msg_cls: type, packed: Packed) -> bytes:
    """The wire frame of a packed message: msgpack ``[tag, data]``."""
    return msgpack.packb([_info(msg_cls).tag, packed.data], use_bin_type=True)


def unframe(wire: bytes) -> tuple[type, bytes]:
    """(message class, data) from a wire frame; anything else is a CodecError. Runs no code."""
    if not isinstance(wire, (bytes, bytearray, memoryview)):
        raise CodecError(f"a frame must be bytes, not {type(wire).__name__}")
    n = len(wire)
    try:
        obj = msgpack.unpackb(
            wire, raw=False, use_list=True, strict_map_key=True,
            max_str_len=n, max_bin_len=n, max_array_len=2, max_map_len=0, max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(f"malformed frame ({type(exc).__name__}: {exc})") from None
    if not (type(obj) is list and len(obj) == 2 and type(obj[0]) is int and type(obj[1]) is bytes):
        raise CodecError(f"malformed frame: expected [tag, bits], got {_show(obj)}")
    return message_type(obj[0]), obj[1]
