"""Bit codes, exact packing, messages and wire frames (protosim.codec).

Measured on the development machine (2 shared cores, Python 3.11, numpy 2.4; best of 7 runs):
  Triple (Gamma, UInt(clog2(k)), Gamma) through a Bound: encode 0.8 us + decode 1.2 us = 2.0 us.
  SampleReply (UInt, Opt(Vector(UInt(8), length=3))): encode + decode 7 us.
  10^4 x 16 points after a Gamma tag, encode / decode (test_ten_thousand_points_round_trip):
    UInt(32) 1.0 / 1.0 ms, Float64 2.1 / 1.6 ms, Signed (|v| < 1000) 4.3 / 38 ms,
    Gamma (v < 2**20) 5.5 / 67 ms, Delta (v < 2**20) 8.3 / 99 ms.
"""

import struct
import zlib

import msgpack
import numpy as np
import pytest
from bitarray import bitarray
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protosim import codec
from protosim.codec import (
    Bits, Bool, Delta, Float32, Float64, Gamma, Opt, Signed, UInt, Vector, bind, decode, encode, frame,
    message, message_tag, message_type, message_types, unframe,
)
from protosim.errors import CodecError

quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@message
class SampleReply:
    site: UInt("clog2(s)")
    point: Opt(Vector(UInt("log2Delta"), length="d"))


@message
class Triple:
    inc: Gamma()
    j: UInt("clog2(k)")
    t: Gamma()


@message
class Report:
    triples: Vector(Triple)


@message
class Points:
    tag: Gamma()
    points: Vector(Vector(Float64(), length="d"))


PARAMS = {"s": 10, "log2Delta": 8, "d": 3, "k": 4}


def one_field(code, name="Probe"):
    """A message class with the single field ``v: code`` (re-registered under one name)."""
    return message(type(name, (), {"__annotations__": {"v": code}, "__module__": __name__, "__qualname__": name}))


def bits(packed) -> str:
    """The information bits of a Packed as a '0'/'1' string (checks the zero padding too)."""
    assert len(packed.data) == (packed.nbits + 7) // 8
    text = "".join(f"{b:08b}" for b in packed.data)
    assert set(text[packed.nbits:]) <= {"0"}, "padding must be zero"
    return text[: packed.nbits]


def code_bits(code, value, params=PARAMS) -> str:
    return bits(encode(one_field(code)(value), params))


def round_trip(msg, params=PARAMS):
    b = bind(type(msg), params)
    packed = b.encode(msg)
    out = b.decode(packed.data, packed.nbits)
    assert type(out) is type(msg) and out is not msg
    assert bits(b.encode(out)) == bits(packed)  # re-encoding the decoded message gives the same bits
    return out, packed


def float_bits(x) -> int:
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def assert_same(decoded, original):
    """Decoded value equals the original: arrays via tolist, floats bit for bit."""
    if isinstance(decoded, np.ndarray):
        decoded = decoded.tolist()
    if isinstance(original, np.ndarray):
        original = original.tolist()
    if isinstance(original, bitarray):
        original = original.tolist()
    if original is None:
        assert decoded is None
    elif isinstance(original, float) or isinstance(decoded, float):
        assert isinstance(decoded, float) and float_bits(decoded) == float_bits(original)
    elif isinstance(original, (list, tuple)):
        assert isinstance(decoded, list) and len(decoded) == len(original)
        for d, o in zip(decoded, original):
            assert_same(d, o)
    elif hasattr(original, "_protosim_message"):
        assert type(decoded) is type(original)
        for name in original.__dataclass_fields__:
            assert_same(getattr(decoded, name), getattr(original, name))
    else:
        assert decoded == original and type(decoded) in (int, bool), (decoded, original)


# -- exact bits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, value, expected",
    [
        (UInt(8), 5, "00000101"),
        (UInt("clog2(s)"), 9, "1001"),  # s = 10: four bits
        (UInt(0), 0, ""),
        (UInt(70), 2**69 + 1, "1" + "0" * 68 + "1"),
        (Gamma(), 1, "1"),
        (Gamma(), 2, "010"),
        (Gamma(), 5, "00101"),
        (Gamma(base=0), 0, "1"),
        (Gamma(base=0), 4, "00101"),
        (Gamma(base=-2), -2, "1"),
        (Delta(), 1, "1"),
        (Delta(), 2, "0100"),
        (Delta(), 17, "001010001"),
        (Delta(base=0), 16, "001010001"),
        (Signed(), 0, "1"),
        (Signed(), -1, "010"),
        (Signed(), 1, "011"),
        (Signed(), -2, "00100"),
        (Signed(), 2, "00101"),
        (Bits(5), [1, 0, 1, 1, 0], "10110"),
        (Bits(5), bitarray("10110"), "10110"),
        (Bits(0), [], ""),
        (Float64(), 1.0, "0011111111110000" + "0" * 48),
        (Float64(), -0.0, "1" + "0" * 63),
        (Bool(), True, "1"),
        (Bool(), False, "0"),
        (Opt(UInt(3)), None, "0"),
        (Opt(UInt(3)), 5, "1101"),
        (Vector(UInt(2)), [1, 2, 3], "00100" + "011011"),  # gamma(3 + 1), then the items
        (Vector(UInt(2), length=3), [1, 2, 3], "011011"),  # a fixed length is free
        (Vector(UInt(2), length="d"), [1, 2, 3], "011011"),
        (Vector(Gamma()), [], "1"),
        (Vector(Vector(UInt(1), length=2)), [[1, 0], [0, 1]], "011" + "1001"),
        (Vector(Signed(), length=2), [-1, 2], "010" + "00101"),
        (Opt(Vector(UInt(2), length=2)), [3, 0], "1" + "1100"),
    ],
)
def test_exact_bits(code, value, expected):
    assert code_bits(code, value) == expected


def test_exact_bits_of_records_and_messages():
    # Report: gamma(2 + 1) = 011, then Triple(1, 2, 3) = 1|10|011, Triple(5, 3, 1) = 00101|11|1
    packed = encode(Report([Triple(1, 2, 3), Triple(5, 3, 1)]), PARAMS)
    assert bits(packed) == "011" + "1" + "10" + "011" + "00101" + "11" + "1"
    assert packed.nbits == 17 and packed.data == bytes([0b01111001, 0b10010111, 0b10000000])
    # SampleReply at s = 10, log2Delta = 8, d = 3: 4 + 1 + 24 bits; with ⊥: 4 + 1 bits
    packed = encode(SampleReply(3, [1, 2, 255]), PARAMS)
    assert bits(packed) == "0011" + "1" + "00000001" "00000010" "11111111"
    assert packed.nbits == 29
    assert bits(encode(SampleReply(9, None), PARAMS)) == "1001" + "0"
    assert encode(SampleReply(9, None), {**PARAMS, "s": 1000}).nbits == 10 + 1  # clog2(1000) = 10


def test_float64_is_bit_exact():
    payload_nan = struct.unpack(">d", bytes.fromhex("7ff4000000000123"))[0]  # signalling NaN, payload
    values = [payload_nan, -0.0, 0.0, float("inf"), -float("inf"), 5e-324, float("nan")]
    for v in values:
        assert code_bits(Float64(), v) == f"{float_bits(v):064b}"
    short, long = np.array(values), np.array(values * 10)  # scalar path and numpy path
    for arr in (short, long):
        out, packed = round_trip(one_field(Vector(Float64()))(arr))
        assert out.v.dtype == np.float64
        assert (out.v.view(np.uint64) == arr.view(np.uint64)).all()


def test_float32_rounds_to_nearest_and_refuses_overflow():
    # 1.1 is not a float32: it is sent as the nearest one (0x3F8CCCCD), on both paths.
    assert code_bits(Float32(), 1.1) == f"{0x3F8CCCCD:032b}"
    values = np.array([1.1, -0.0, 3.4028235e38, np.inf, -np.inf, 1e-46, 2.5] * 20)
    out, packed = round_trip(one_field(Vector(Float32()))(values))
    assert packed.nbits == 15 + 32 * len(values) and out.v.dtype == np.float32  # the length: gamma(141), 15 bits
    assert (out.v.view(np.uint32) == values.astype(np.float32).view(np.uint32)).all()
    for bad in (3.5e38, -1e39, 10**400, True, "1.0"):
        with pytest.raises(CodecError, match=r"Probe.v: value .* does not fit Float32\(\)"):
            encode(one_field(Float32())(bad), PARAMS)
    with pytest.raises(CodecError, match=r"Probe.v\[21\]: value 4e\+38 does not fit Float32"):
        encode(one_field(Vector(Float32()))([1.0] * 21 + [4e38] + [1.0] * 40), PARAMS)


def test_decoded_types_and_shapes():
    def dec(code, value):
        return round_trip(one_field(code)(value))[0].v

    assert type(dec(UInt(8), 7)) is int and type(dec(Gamma(), 7)) is int
    assert type(dec(Float64(), 1.5)) is float and dec(Bool(), True) is True
    assert dec(Bits(3), [1, 0, 1]).dtype == np.uint8
    for n in (3, 40):  # short arrays take the scalar codes, long ones numpy: same types
        assert dec(Vector(UInt(8)), [1] * n).dtype == np.int64
        assert dec(Vector(UInt(64)), [2**64 - 1] * n).dtype == np.uint64
        assert dec(Vector(UInt(65)), [2**64] * n).dtype == object
        assert dec(Vector(Gamma()), [2**62] * n).dtype == np.int64
        assert dec(Vector(Gamma()), [2**63] * n).dtype == np.uint64
        assert dec(Vector(Gamma()), [2**64] * n).dtype == object
        assert dec(Vector(Signed()), [-(2**63)] * n).dtype == np.int64
        assert dec(Vector(Delta()), [2**70, 1] * n).dtype == object
        assert dec(Vector(Bool()), [True, False] * n).dtype == bool
        assert dec(Vector(Float64()), [1.0] * n).dtype == np.float64
        assert dec(Vector(Vector(UInt(3), length=2), length=n), [[1, 2]] * n).shape == (n, 2)
        assert dec(Vector(Bits(4)), [[1, 0, 1, 0]] * n).shape == (n, 4)
    assert dec(Vector(Vector(Float64(), length=3)), []).shape == (0, 3)
    assert dec(Vector(Vector(Gamma())), [[1, 2], [3]])[1].tolist() == [3]
    assert dec(Vector(Opt(UInt(4))), [1, None, 3]) == [1, None, 3]


def test_code_reprs():
    assert repr(UInt("clog2(s)")) == "UInt(clog2(s))"
    assert repr(Opt(Vector(UInt("log2Delta"), length="d"))) == "Opt(Vector(UInt(log2Delta), length=d))"
    assert repr(Vector(Triple)) == "Vector(Triple)"
    assert repr(Gamma(base=0)) == "Gamma(base=0)" and repr(Delta()) == "Delta()"
    assert repr(bind(SampleReply, PARAMS)) == "Bound(SampleReply: site=UInt(4), point=Opt(Vector(UInt(8), length=3)))"


# -- round trips (hypothesis) -----------------------------------------------------------------

HUGE = 2**4096


@quick
@given(st.data())
def test_uint_round_trip_any_width(data):
    w = data.draw(st.integers(1, 4096))
    v = data.draw(st.integers(0, 2**w - 1))
    out, packed = round_trip(one_field(UInt(w))(v))
    assert out.v == v and packed.nbits == w


@quick
@given(st.integers(-5, 5), st.data())
def test_gamma_and_delta_round_trip_huge(base, data):
    v = data.draw(st.integers(base, base + HUGE))
    x = v - base + 1
    L = x.bit_length()
    for code, nbits in ((Gamma(base), 2 * L - 1), (Delta(base), 2 * L.bit_length() - 1 + L - 1)):
        out, packed = round_trip(one_field(code)(v))
        assert out.v == v and packed.nbits == nbits


@quick
@given(st.integers(-HUGE, HUGE))
def test_signed_round_trip_huge(v):
    z = 2 * v if v >= 0 else -2 * v - 1
    out, packed = round_trip(one_field(Signed())(v))
    assert out.v == v and packed.nbits == 2 * (z + 1).bit_length() - 1


@quick
@given(st.integers(0, 300).flatmap(lambda n: st.lists(st.integers(0, 1), min_size=n, max_size=n)))
def test_bits_round_trip(values):
    out, packed = round_trip(one_field(Bits(len(values)))(values))
    assert out.v.tolist() == values and packed.nbits == len(values)
    out, _ = round_trip(one_field(Bits(len(values)))(bitarray(values)))
    assert out.v.tolist() == values


@quick
@given(st.integers(0, 2**64 - 1))
def test_float64_round_trip_any_pattern(pattern):
    v = struct.unpack(">d", pattern.to_bytes(8, "big"))[0]
    out, packed = round_trip(one_field(Float64())(v))
    assert float_bits(out.v) == float_bits(v) and packed.nbits == 64


def _atoms():
    return st.one_of(
        st.integers(0, 80).map(lambda w: (UInt(w), st.integers(0, 2**w - 1))),
        st.integers(-3, 3).map(lambda b: (Gamma(b), st.integers(b, b + 2**80))),
        st.integers(-3, 3).map(lambda b: (Delta(b), st.integers(b, b + 2**80))),
        st.just((Signed(), st.integers(-(2**80), 2**80))),
        st.just((Float64(), st.floats())),
        st.just((Float32(), st.floats(width=32))),
        st.just((Bool(), st.booleans())),
        st.integers(0, 12).map(lambda n: (Bits(n), st.lists(st.integers(0, 1), min_size=n, max_size=n))),
    )


def _containers(inner):
    return st.one_of(
        inner.map(lambda cv: (Opt(cv[0]), st.none() | cv[1])),
        st.tuples(inner, st.integers(0, 4)).map(
            lambda t: (Vector(t[0][0], length=t[1]), st.lists(t[0][1], min_size=t[1], max_size=t[1]))
        ),
        inner.map(lambda cv: (Vector(cv[0]), st.lists(cv[1], max_size=5))),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_code_tree_round_trips(data):
    """Opt and Vector (fixed and prefixed) over every code, nested, from Python values."""
    code, values = data.draw(st.recursive(_atoms(), _containers, max_leaves=3))
    value = data.draw(values)
    out, _ = round_trip(one_field(code)(value))
    assert_same(out.v, value)


_NUMERIC = [  # (code, numpy dtype of the values, element strategy within 64 bits)
    (UInt(1), np.int64, st.integers(0, 1)),
    (UInt(13), np.int64, st.integers(0, 2**13 - 1)),
    (UInt(32), np.uint32, st.integers(0, 2**32 - 1)),
    (UInt(63), np.int64, st.integers(0, 2**63 - 1)),
    (UInt(64), np.uint64, st.integers(0, 2**64 - 1)),
    (Gamma(), np.int64, st.integers(1, 2**40) | st.integers(1, 40)),
    (Gamma(base=0), np.uint64, st.integers(0, 2**64 - 2)),
    (Delta(), np.int64, st.integers(1, 2**63 - 1) | st.integers(1, 300)),
    (Delta(base=-7), np.int64, st.integers(-7, 2**20)),
    (Signed(), np.int64, st.integers(-(2**63) + 1, 2**63 - 1) | st.integers(-50, 50)),
    (Float64(), np.float64, st.floats()),
    (Float32(), np.float32, st.floats(width=32)),
    (Bool(), bool, st.booleans()),
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_vectorised_packing_equals_scalar_packing(data):
    code, dtype, elements = data.draw(st.sampled_from(_NUMERIC))
    n = data.draw(st.integers(33, 300))
    values = data.draw(st.lists(elements, min_size=n, max_size=n))
    arr = np.array(values, dtype)
    scalar = "".join(code_bits(code, v) for v in values)
    fixed, prefixed = one_field(Vector(code, length=n), "Fixed"), one_field(Vector(code), "Prefixed")
    assert code_bits(Vector(code, length=n), arr) == scalar
    assert code_bits(Vector(code), arr) == code_bits(Gamma(), n + 1) + scalar
    for cls in (fixed, prefixed):
        out, _ = round_trip(cls(arr))
        assert_same(out.v, arr)


@pytest.mark.parametrize("n", [33, 64, 128, 192])
def test_one_bit_codewords_ending_on_a_word_boundary(n):
    for code, value in ((Gamma(), 1), (Delta(), 1), (Signed(), 0), (UInt(1), 1), (Bool(), True)):
        arr = np.full(n, value)
        out, packed = round_trip(one_field(Vector(code, length=n))(arr))
        assert bits(packed) == "1" * n
        assert_same(out.v, arr)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_flipped_bits_decode_to_what_they_encode_or_raise(data):
    """Any bit string the decoders accept (vectorised or not) re-encodes to itself."""
    code, dtype, elements = data.draw(st.sampled_from(_NUMERIC))
    arr = np.array(data.draw(st.lists(elements, min_size=0, max_size=120)), dtype)
    b = bind(one_field(Vector(code), "Flipped"), {})
    packed = b.encode(b.cls(arr))
    flips = data.draw(st.lists(st.integers(0, packed.nbits - 1), min_size=1, max_size=3))
    value = int.from_bytes(packed.data, "big")
    for i in flips:
        value ^= 1 << (8 * len(packed.data) - 1 - i)
    garbled = value.to_bytes(len(packed.data), "big")
    try:
        out = b.decode(garbled, packed.nbits)
    except CodecError:
        return
    assert b.encode(out) == (packed.nbits, garbled)


@quick
@given(st.data())
def test_nested_fixed_vectors_round_trip_as_2d_arrays(data):
    code, dtype, elements = data.draw(st.sampled_from(_NUMERIC))
    rows, d = data.draw(st.integers(0, 60)), data.draw(st.integers(1, 5))
    arr = np.array(data.draw(st.lists(elements, min_size=rows * d, max_size=rows * d)), dtype).reshape(rows, d)
    out, _ = round_trip(one_field(Vector(Vector(code, length="d")))(arr), {"d": d})
    assert out.v.shape == (rows, d)
    assert_same(out.v, arr)
    flat = "".join(code_bits(code, v) for v in arr.ravel().tolist())
    assert code_bits(Vector(Vector(code, length=d), length=rows), arr) == flat


@quick
@given(st.lists(st.integers(-(2**200), 2**200), min_size=33, max_size=80))
def test_vectors_of_big_integers_round_trip(values):
    for code in (Signed(), Gamma(base=-(2**61)), Delta(base=-(2**61))):
        if isinstance(code, Signed) or min(values) >= -(2**61):
            out, _ = round_trip(one_field(Vector(code))(values))
            assert_same(out.v, values)
    out, _ = round_trip(one_field(Vector(UInt(201)))([abs(v) for v in values]))
    assert_same(out.v, [abs(v) for v in values])


@quick
@given(st.lists(st.tuples(st.integers(1, 2**70), st.integers(0, 3), st.integers(1, 9)), max_size=50))
def test_records_round_trip(triples):
    msg = Report([Triple(*t) for t in triples])
    out, packed = round_trip(msg)
    assert_same(out.triples, msg.triples)
    prefix = code_bits(Gamma(), len(triples) + 1)
    assert packed.nbits == len(prefix) + sum(len(code_bits(Triple, Triple(*t))) for t in triples)


def test_long_gamma_family_vectors_cross_windows_and_fall_back():
    """Thousands of codewords of mixed lengths (several pointer-jumping windows), some beyond 64 bits."""
    rng = np.random.default_rng(7)
    lengths = rng.integers(1, 63, 20_000)
    small = (rng.integers(0, 2**62, 20_000) >> (62 - lengths)) + 1
    for code, arr in ((Gamma(), small), (Delta(), small), (Signed(), small * rng.choice([-1, 1], 20_000))):
        out, _ = round_trip(one_field(Vector(code))(arr))
        assert out.v.dtype == np.int64 and (out.v == arr).all()
    mixed = small.tolist()
    mixed[12_345] = 2**300 + 5
    for code in (Gamma(), Delta(), Signed()):
        out, _ = round_trip(one_field(Vector(code))(mixed))
        assert out.v.dtype == object and out.v.tolist() == mixed


def test_numpy_paths_use_no_per_element_loop(monkeypatch):
    def loop(*args):
        raise AssertionError("per-element loop on a vectorisable array")

    values = {
        UInt(13): np.arange(100), UInt(64): np.arange(100, dtype=np.uint64), Float64(): np.linspace(0, 1, 100),
        Bool(): np.arange(100) % 2 == 0, Gamma(): np.arange(1, 101), Delta(): np.arange(1, 101),
        Signed(): np.arange(-50, 50), Bits(7): np.ones((100, 7), np.uint8),
    }
    packed = {code: encode(one_field(Vector(code))(arr), {}) for code, arr in values.items()}
    monkeypatch.setattr(codec, "_pack_each", loop)
    monkeypatch.setattr(codec, "_unpack_each", loop)
    for code, arr in values.items():
        cls = one_field(Vector(code))
        assert encode(cls(arr), {}) == packed[code]
        assert (decode(cls, packed[code].data, {}).v == arr).all()
        cls = one_field(Vector(Vector(code, length=2)))
        assert_same(decode(cls, encode(cls(np.stack([arr, arr], axis=1)), {}).data, {}).v, np.stack([arr, arr], axis=1))


def test_ten_thousand_points_round_trip():
    """10^4 points of 16 coordinates (timings in the module docstring; here only correctness)."""
    rng = np.random.default_rng(3)
    for code, arr in (
        (UInt(32), rng.integers(0, 2**32, (10_000, 16))),
        (Float64(), rng.normal(size=(10_000, 16))),
        (Signed(), rng.integers(-1000, 1000, (10_000, 16))),
    ):
        fields = {"tag": Gamma(), "points": Vector(Vector(code, length="d"))}
        cls = message(type("Cloud", (), {"__annotations__": fields, "__module__": __name__, "__qualname__": "Cloud"}))
        out, packed = round_trip(cls(5, arr), {"d": 16})
        assert out.points.shape == (10_000, 16) and (out.points == arr).all()
    zigzag_plus_one = np.where(arr >= 0, 2 * arr + 1, -2 * arr)
    codeword_bits = 2 * np.floor(np.log2(zigzag_plus_one)).astype(int) + 1
    assert packed.nbits == len("00101") + len(code_bits(Gamma(), 10_001)) + int(codeword_bits.sum())


# -- messages and binding ---------------------------------------------------------------------


def test_message_class_gets_tag_sender_and_registration():
    name = f"{__name__}.SampleReply"
    assert message_tag(SampleReply) == zlib.crc32(name.encode())
    assert message_type(message_tag(SampleReply)) is SampleReply
    assert message_types()[name] is SampleReply
    assert SampleReply.sender is None and SampleReply(1, None).sender is None
    assert "sender" not in SampleReply.__dataclass_fields__
    out, _ = round_trip(SampleReply(1, None))
    assert out.sender is None


def test_reregistering_the_same_name_replaces_silently():
    first, second = one_field(UInt(3), "Again"), one_field(UInt(4), "Again")
    assert first is not second and message_type(message_tag(first)) is second


def test_tag_collision_names_both_classes(monkeypatch):
    import protosim.codec as codec_module

    # 32-bit crc32 collisions are too rare to find by search: force one.
    monkeypatch.setattr(codec_module, "type_tag", lambda name: 0xC0FFEE)
    one_field(UInt(1), "Collide0")
    with pytest.raises(CodecError, match=f"tag 0x00c0ffee of {__name__}.Collide1 collides with {__name__}.Collide0"):
        one_field(UInt(1), "Collide1")


def test_string_annotations_resolve_in_the_defining_module():
    @message
    class Quoted:
        a: "UInt('clog2(s)')"
        b: "Vector(Triple)"

    out, packed = round_trip(Quoted(3, [Triple(1, 0, 1)]))
    assert out.a == 3 and packed.nbits == 4 + 3 + 4


def test_bad_declarations_raise_codec_error():
    with pytest.raises(CodecError, match=r"Gamma\(\.\.\.\), an instance"):
        one_field(Gamma)
    with pytest.raises(CodecError, match=r"Probe\.v: <class 'int'> is not a bit code"):
        one_field(int)
    with pytest.raises(CodecError, match="sender"):
        message(type("Bad", (), {"__annotations__": {"sender": UInt(3)}, "__module__": __name__}))
    with pytest.raises(CodecError, match="cannot resolve"):
        message(type("Bad", (), {"__annotations__": {"v": "Nope(3)"}, "__module__": __name__}))
    with pytest.raises(CodecError, match="UInt width"):
        UInt(-1)
    with pytest.raises(CodecError, match="UInt width"):
        UInt("s +")
    with pytest.raises(CodecError, match="not a message class"):
        bind(int, {})


def test_width_that_is_not_a_whole_number_is_refused():
    cls = one_field(UInt("log2(s)"))
    with pytest.raises(CodecError, match=r"Probe\.v: width of UInt\(log2\(s\)\) is 3\.32.*ceil"):
        bind(cls, {"s": 10})
    assert bind(cls, {"s": 16}).encode(cls(15)).nbits == 4  # log2(16) = 4.0 is whole
    with pytest.raises(CodecError, match=r"Probe\.v: width of UInt\(s - 20\) is -10, below 0"):
        bind(one_field(UInt("s - 20")), {"s": 10})
    with pytest.raises(CodecError, match=r"Probe\.v: length of Vector\(UInt\(2\), length=d/2\) is 1\.5"):
        bind(one_field(Vector(UInt(2), length="d/2")), {"d": 3})


def test_missing_parameter_names_field_and_parameter():
    with pytest.raises(CodecError, match=r"SampleReply\.point: width of UInt\(log2Delta\).*log2Delta"):
        bind(SampleReply, {"s": 10, "d": 3})
    with pytest.raises(CodecError, match=r"SampleReply\.site: .*needs parameter\(s\) s"):
        bind(SampleReply, {"log2Delta": 8, "d": 3})


# -- values that do not fit -------------------------------------------------------------------


FLOAT_NEED = "(a float, or an integer with |v| <= 2**53)"


@pytest.mark.parametrize(
    "code, value, message",
    [
        (UInt(8), 300, "Probe.v: value 300 does not fit UInt(8) (0 <= v < 256)"),
        (UInt(8), -1, "Probe.v: value -1 does not fit UInt(8) (0 <= v < 256)"),
        (UInt(8), 2.5, "Probe.v: value 2.5 does not fit UInt(8) (an integer, 0 <= v < 256)"),
        (UInt(8), True, "Probe.v: value True does not fit UInt(8) (an integer, 0 <= v < 256)"),
        (UInt(8), "7", "Probe.v: value '7' does not fit UInt(8) (an integer, 0 <= v < 256)"),
        (UInt(8), None, "Probe.v: value None does not fit UInt(8) (None is allowed only inside Opt(...))"),
        (UInt(0), 1, "Probe.v: value 1 does not fit UInt(0) (0 <= v < 1)"),
        (Gamma(), 0, "Probe.v: value 0 does not fit Gamma() (v >= 1)"),
        (Gamma(base=0), -1, "Probe.v: value -1 does not fit Gamma(base=0) (v >= 0)"),
        (Delta(), 0, "Probe.v: value 0 does not fit Delta() (v >= 1)"),
        (Signed(), 1.5, "Probe.v: value 1.5 does not fit Signed() (an integer)"),
        (Float64(), "x", f"Probe.v: value 'x' does not fit Float64() {FLOAT_NEED}"),
        (Float64(), 2**60 + 1, f"Probe.v: value 1152921504606846977 does not fit Float64() {FLOAT_NEED}"),
        (Bool(), 2, "Probe.v: value 2 does not fit Bool() (True or False)"),
        (Bits(3), [1, 0], "Probe.v: value [1, 0] does not fit Bits(3) (length 3, not 2)"),
        (Bits(3), [1, 2, 0], "Probe.v[1]: value 2 does not fit Bits(3) (0 or 1)"),
        (Opt(Bits(2)), [1, 1, 1], "Probe.v: value [1, 1, 1] does not fit Bits(2) (length 2, not 3)"),
        (Vector(UInt(2), length=2), [1, 2, 3],
         "Probe.v: value [1, 2, 3] does not fit Vector(UInt(2), length=2) (length 2, not 3)"),
        (Vector(UInt(2)), 5, "Probe.v: value 5 does not fit Vector(UInt(2)) (a sequence)"),
        (Vector(Opt(UInt(2))), np.array(5), "Probe.v: value array(5) does not fit Vector(Opt(UInt(2))) (a sequence)"),
        (Vector(Opt(UInt(2)), length=1), "a",
         "Probe.v: value 'a' does not fit Vector(Opt(UInt(2)), length=1) (a sequence)"),
        (Vector(UInt(2)), [1, None], "Probe.v[1]: value None does not fit UInt(2) (None is allowed only inside Opt(...))"),
        (Vector(UInt(2)), list(range(40)), "Probe.v[4]: value 4 does not fit UInt(2) (0 <= v < 4)"),
        (Vector(UInt(2)), np.arange(40), "Probe.v[4]: value 4 does not fit UInt(2) (0 <= v < 4)"),
        (Vector(Gamma()), np.arange(40), "Probe.v[0]: value 0 does not fit Gamma() (v >= 1)"),
        (Vector(Float64()), np.array([1] * 40 + [2**60 + 1]),
         f"Probe.v[40]: value 1152921504606846977 does not fit Float64() {FLOAT_NEED}"),
        (Vector(Vector(UInt(3), length=2)), [[1, 2], [3, 9]], "Probe.v[1][1]: value 9 does not fit UInt(3) (0 <= v < 8)"),
        (Vector(Vector(UInt(3), length=2)), np.full((50, 2), 8), "Probe.v[0][0]: value 8 does not fit UInt(3) (0 <= v < 8)"),
        (Vector(Vector(UInt(3), length=2)), [[1, 2], [3]],
         "Probe.v[1]: value [3] does not fit Vector(UInt(3), length=2) (length 2, not 1)"),
        (Vector(Vector(UInt(3), length=2)), [[1, [2]]], "Probe.v[0][1]: value [2] does not fit UInt(3) (0 <= v < 8)"),
        (Vector(Opt(UInt(3))), [None, 8], "Probe.v[1]: value 8 does not fit UInt(3) (0 <= v < 8)"),
        (Vector(Triple), [Triple(1, 9, 1)], "Probe.v[0].j: value 9 does not fit UInt(2) (0 <= v < 4)"),
        (Vector(Triple), [SampleReply(1, None)],
         "Probe.v[0]: value SampleReply(site=1, point=None) does not fit Triple (a Triple instance)"),
    ],
)
def test_misfits_name_type_path_and_value(code, value, message):
    cls = one_field(code)
    with pytest.raises(CodecError) as info:
        bind(cls, PARAMS).encode(cls(value))
    assert str(info.value) == message


def test_misfit_in_a_module_level_message():
    with pytest.raises(CodecError, match=r"^SampleReply\.point\[2\]: value 300 does not fit UInt\(8\) \(0 <= v < 256\)$"):
        encode(SampleReply(3, [1, 2, 300]), PARAMS)
    with pytest.raises(CodecError, match=r"^Report\.triples\[1\]\.j: value 4 does not fit UInt\(2\)"):
        encode(Report([Triple(1, 1, 1), Triple(1, 4, 1)]), PARAMS)
    with pytest.raises(CodecError, match=r"^Triple: value .* does not fit Triple \(a Triple instance\)"):
        bind(Triple, PARAMS).encode(Report([]))
    huge = 2**100000  # beyond Python's int-to-text limit: the message still renders
    with pytest.raises(CodecError, match=r"Probe\.v: value <100001-bit integer> does not fit UInt\(8\)"):
        encode(one_field(UInt(8))(huge), {})


# -- decoding bad bytes -----------------------------------------------------------------------


def test_truncated_and_padded_bytes_raise_codec_error():
    b = bind(Report, PARAMS)
    packed = b.encode(Report([Triple(2**40, 1, 3)] * 5))
    for cut in range(len(packed.data)):
        with pytest.raises(CodecError, match="cannot decode Report"):
            b.decode(packed.data[:cut])
    with pytest.raises(CodecError, match="nbits"):
        b.decode(packed.data, packed.nbits + 8)
    with pytest.raises(CodecError, match="ends at bit"):
        b.decode(packed.data + b"\0")
    with pytest.raises(CodecError, match="padding"):
        b.decode(packed.data[:-1] + bytes([packed.data[-1] | 1]))
    with pytest.raises(CodecError, match="must be bytes"):
        b.decode("abc")
    assert b.decode(bytearray(packed.data)).triples[4].inc == 2**40


_VICTIMS = [Report, SampleReply, Points, one_field(Vector(Vector(Signed(), length=2)), "Victim1"),
            one_field(Vector(Delta()), "Victim2"), one_field(Opt(Vector(Bits(3))), "Victim3")]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_VICTIMS), st.binary(max_size=300), st.none() | st.integers(-3, 2500))
def test_garbage_bytes_decode_or_raise_codec_error_only(cls, data, nbits):
    try:
        msg = decode(cls, data, PARAMS, nbits)
    except CodecError:
        return
    packed = encode(msg, PARAMS)  # what decodes is exactly what the message encodes to
    assert packed.data == data and (nbits is None or packed.nbits == nbits)


def test_long_garbage_vectors_raise_codec_error():
    rng = np.random.default_rng(1)
    cls = one_field(Vector(Gamma(), length=5000), "Victim4")
    good = encode(cls(rng.integers(1, 2**30, 5000)), {})
    for cut in (1, len(good.data) // 2, len(good.data) - 1):
        with pytest.raises(CodecError, match="truncated or corrupt"):
            decode(cls, good.data[:cut], {})
    with pytest.raises(CodecError):
        decode(one_field(Vector(Delta()), "Victim5"), bytes([0b00011111]) + bytes(4000), {})
    with pytest.raises(CodecError, match="cannot fit"):
        decode(one_field(Vector(Float64()), "Victim6"), bytes([0b00000001, 0xFF, 0xFF, 0xFF]), {})


# -- wire frames ------------------------------------------------------------------------------


def test_frame_round_trip():
    packed = encode(SampleReply(3, [1, 2, 3]), PARAMS)
    wire = frame(SampleReply, packed)
    assert msgpack.unpackb(wire) == [message_tag(SampleReply), packed.data]
    cls, data = unframe(wire)
    assert cls is SampleReply and data == packed.data
    assert decode(cls, data, PARAMS).point.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "wire, pattern",
    [
        (b"", "malformed frame"),
        (b"\xc1", "malformed frame"),
        (msgpack.packb([1]), "expected"),
        (msgpack.packb([1, "text"]), "expected"),
        (msgpack.packb([1, b"x", 3]), "malformed frame"),
        (msgpack.packb({"a": 1}), "malformed frame"),
        (msgpack.packb([True, b"x"]), "expected"),
        (msgpack.packb([message_tag(SampleReply), b"x"]) + b"\x00", "malformed frame"),
        (msgpack.packb([70000, b"x"]), "unknown message type tag"),
        ("text", "must be bytes"),
    ],
)
def test_unframe_refuses_bad_frames(wire, pattern):
    with pytest.raises(CodecError, match=pattern):
        unframe(wire)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64) | st.builds(lambda t, d: msgpack.packb([t, d]), st.integers(0, 2**16), st.binary()))
def test_unframe_of_random_bytes_raises_codec_error_only(wire):
    try:
        cls, data = unframe(wire)
    except CodecError:
        return
    assert message_tag(cls) == msgpack.unpackb(wire)[0] and isinstance(data, bytes)


# -- fast paths against the general path --------------------------------------------------------
#
# Fixed-width vectors take Horner's rule on Python ints or numpy (pack_short / pack), the
# general path goes element by element (_pack_each); a Bound runs generated source for its
# record (_encode / _decode), the general path the record's own loop. They must agree on
# every bit, every decoded value and every error.


def _fixed_width_vectors():
    """(code, atom-bound, width, values as given, values as ints) for UInt(1..64) and Bool."""

    @st.composite
    def draw(draw):
        w = draw(st.integers(1, 64) | st.sampled_from([1, 8, 16, 20, 32, 57, 58, 63, 64]))
        n = draw(st.integers(0, 100) | st.sampled_from([0, 1, 23, 24, 25, 40, 41, 64]))
        top = (1 << w) - 1
        ints = draw(st.lists(st.sampled_from([0, 1, top, top - 1, top >> 1]) | st.integers(0, top), min_size=n, max_size=n))
        as_given = draw(st.sampled_from(["list", "int64", "uint64"] if w < 63 else ["list", "uint64"]))
        values = ints if as_given == "list" else np.array(ints, as_given)
        return UInt(w), w, values, ints

    @st.composite
    def draw_bool(draw):
        n = draw(st.integers(0, 100) | st.sampled_from([0, 1, 8, 9, 24, 25]))
        bools = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return Bool(), 1, draw(st.sampled_from([bools, np.array(bools)])), [int(b) for b in bools]

    return draw() | draw_bool()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fixed_width_vectors())
def test_fixed_width_fast_paths_equal_the_general_path(case):
    code, w, values, ints = case
    expected = "".join(format(v, f"0{w}b") for v in ints)
    for length in (len(ints), None):
        b = bind(one_field(Vector(code, length=length), "Fast"), {})
        block = b._record.codes[0]
        atom = block.atom
        flat, shape = atom.as_array(values).reshape(-1), (len(ints),)
        general = codec._pack_each(atom, flat, shape)
        assert atom.pack_short(flat, shape) == atom.pack(flat, shape) == general
        assert general == (int(expected, 2) if expected else 0, len(expected))
        packed = b.encode(b.cls(values))
        prefix = "" if length is not None else code_bits(Gamma(), len(ints) + 1)
        assert bits(packed) == prefix + expected
        assert b._encode(b.cls(values)) == b._record.enc(b.cls(values))
        out = b.decode(packed.data, packed.nbits)
        general_out = b._decode_general(packed.data, packed.nbits)
        for decoded in (out.v, general_out.v):
            assert decoded.dtype == (bool if w == 1 and isinstance(code, Bool) else np.uint64 if w == 64 else np.int64)
            assert [int(v) for v in decoded.tolist()] == ints
        r = codec._Reader(packed.data, packed.nbits)
        start = len(prefix)
        short, end_short = atom.unpack_short(r, start, len(ints))
        full, end_full = atom.unpack(r, start, len(ints))
        assert end_short == end_full == packed.nbits
        assert short.dtype == full.dtype and short.tolist() == full.tolist()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 64), st.integers(1, 100), st.data())
def test_fixed_width_misfits_name_the_first_bad_element(w, n, data):
    values = data.draw(st.lists(st.integers(0, (1 << w) - 1), min_size=n, max_size=n))
    i = data.draw(st.integers(0, n - 1))
    bad = data.draw(st.sampled_from([-1, 1 << w, (1 << w) + 5, -(2**40)]))
    values[i] = bad
    fits_int64 = all(-(2**63) <= v < 2**63 for v in values)
    given_as = data.draw(st.sampled_from(["list", "int64"] if fits_int64 else ["list"]))
    arr = values if given_as == "list" else np.array(values, np.int64)
    cls = one_field(Vector(UInt(w), length=n))
    with pytest.raises(CodecError) as info:
        bind(cls, {}).encode(cls(arr))
    need = f"0 <= v < {1 << w}"
    assert str(info.value) == f"Probe.v[{i}]: value {bad} does not fit UInt({w}) ({need})"
    with pytest.raises(CodecError) as info:
        bind(cls, {}).encode(cls(values[:-1]))
    assert str(info.value).endswith(f"does not fit Vector(UInt({w}), length={n}) (length {n}, not {n - 1})")


def _record_fields():
    """A random record's fields: inline scalars and codes that go through their own enc/dec."""
    plain = [
        (st.integers(1, 70).map(UInt), lambda c: st.integers(0, (1 << c.width) - 1) | st.sampled_from([0, (1 << c.width) - 1])),
        (st.just(UInt(0)), lambda c: st.just(0)),
        (st.just(Bool()), lambda c: st.booleans()),
        (st.integers(-5, 5).map(Gamma), lambda c: st.integers(c.base, c.base + 2**70) | st.sampled_from([c.base])),
        (st.just(Delta()), lambda c: st.integers(1, 2**40)),
        (st.just(Signed()), lambda c: st.integers(-(2**40), 2**40)),
        (st.just(Opt(UInt(4))), lambda c: st.none() | st.integers(0, 15)),
        (st.integers(0, 5).map(lambda n: Vector(UInt(3), length=n)),
         lambda c: st.lists(st.integers(0, 7), min_size=c.length, max_size=c.length)),
        (st.just(Vector(Gamma())), lambda c: st.lists(st.integers(1, 100), max_size=5)),
    ]

    @st.composite
    def draw(draw):
        count = draw(st.integers(0, 5))
        codes, values = [], []
        for _ in range(count):
            codes_st, values_of = draw(st.sampled_from(plain))
            code = draw(codes_st)
            codes.append(code)
            values.append(draw(values_of(code)))
        return codes, values

    return draw()


def _record_class(codes):
    fields = {f"f{i}": code for i, code in enumerate(codes)}
    return message(type("Rec", (), {"__annotations__": fields, "__module__": __name__, "__qualname__": "Rec"}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_record_fields(), st.data())
def test_compiled_records_equal_the_general_path(fields, data):
    codes, values = fields
    b = bind(_record_class(codes), {})
    msg = b.cls(*values)
    assert b._encode(msg) == b._record.enc(msg)
    packed = b.encode(msg)
    out, general = b.decode(packed.data, packed.nbits), b._decode_general(packed.data, packed.nbits)
    for name, value in zip(msg.__dataclass_fields__, values):
        assert_same(getattr(out, name), value)
        assert_same(getattr(general, name), value)
    # whatever bytes the compiled decoder takes, it decodes as the general path does
    garbled = data.draw(st.binary(min_size=len(packed.data), max_size=len(packed.data)) | st.just(packed.data))
    nbits = data.draw(st.sampled_from([packed.nbits, max(0, 8 * len(garbled) - 7), 8 * len(garbled)]))
    if (nbits + 7) >> 3 != len(garbled):
        return
    try:
        fast = b._decode(garbled, nbits)
    except codec._Misfit:
        fast = None
    try:
        slow = b._decode_general(garbled, nbits)
    except CodecError:
        assert fast is None
        return
    if fast is not None:
        assert bits(b.encode(fast)) == bits(b.encode(slow))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_record_fields(), st.data())
def test_compiled_record_misfits_read_as_before(fields, data):
    codes, values = fields
    if not codes:
        return
    i = data.draw(st.integers(0, len(codes) - 1))
    values[i] = data.draw(st.sampled_from([-(2**80), 2**80, None, "x", 1.5, np.int64(3), np.float64(2.0), True]))
    b = bind(_record_class(codes), {})
    msg = b.cls(*values)
    try:
        expected = b._record.enc(msg)
    except codec._Misfit as e:
        expected = e.render("Rec")
    try:
        got = b._encode(msg)
    except codec._Misfit:
        got = None
    try:
        packed = b.encode(msg)
    except CodecError as e:
        assert str(e) == expected
        return
    assert got in (None, expected) and (packed.nbits, int.from_bytes(packed.data, "big") >> (-packed.nbits & 7)) == (
        expected[1], expected[0])


@pytest.mark.parametrize("size", [0, 1, 31, 32, 255, 256, 65535, 65536])
def test_bound_frames_equal_msgpack_frames(size):
    b = bind(SampleReply, PARAMS)
    packed = codec.Packed(8 * size, bytes(range(256)) * (size // 256) + bytes(size % 256))
    assert b.frame(packed) == frame(SampleReply, packed) == msgpack.packb([message_tag(SampleReply), packed.data])


def test_generated_source_reads_like_the_record():
    b = bind(Triple, PARAMS)
    source = "\n".join(codec._encoder_source(b._record) + codec._decoder_source(b._record))
    assert "def encode(msg):" in source and "def decode(data, limit):" in source
    assert "msg.inc" in source and "'j': v1" in source
