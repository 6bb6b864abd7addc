"""The kernel: deadlock and time-limit reports, seeded determinism, coins, crashes, errors."""

import msgpack
import numpy as np
import pytest

from protosim import (
    COORDINATOR, CodecError, ConfigError, CoordinatorModel, Deadlock, ModelViolation, Simulation,
    TimeLimit, UInt, message, site,
)
from protosim import codec
from protosim.party import call_key
from protosim.registry import get_protocol


@message
class Token:
    value: UInt(8)


def test_deadlock_names_every_blocked_party(parts):
    def wait_for_site(p):
        yield p.recv(Token, src=site(0))

    def wait_for_coord(p):
        yield p.recv(Token, src=COORDINATOR)

    sim = Simulation(CoordinatorModel(), parts)
    out = sim.spawn(COORDINATOR, wait_for_site)
    sim.spawn(site(0), wait_for_coord)
    with pytest.raises(Deadlock) as info:
        sim.run(out)
    assert info.value.blocked == {COORDINATOR: "recv(Token from site0)", site(0): "recv(Token from coord)"}
    assert "coord waits for recv(Token from site0)" in str(info.value)
    assert info.value.reason == "deadlock"


def test_idle_servers_are_not_a_deadlock(parts):
    def serve(p):
        while True:
            req = yield p.recv(Token)
            p.send(COORDINATOR, Token(req.value + 1))

    def ask(p):
        p.send(site(1), Token(1))
        reply = yield p.recv(Token)
        return reply.value

    sim = Simulation(CoordinatorModel(), parts)
    for s in sim.sites:
        sim.spawn(s, serve)
    result = sim.run(sim.spawn(COORDINATOR, ask))
    assert result.output == 2
    assert result.idle == {site(i): "recv(Token)" for i in range(4)}


def test_simulated_time_limit(parts):
    def forever(p):
        while True:
            yield p.sleep(1.0)

    sim = Simulation(CoordinatorModel(), parts, time_limit=10)
    out = sim.spawn(COORDINATOR, forever)
    with pytest.raises(TimeLimit, match="simulated-time limit of 10 s reached") as info:
        sim.run(out)
    assert info.value.blocked == {COORDINATOR: "an event"}


def test_wall_clock_limit(parts):
    def ping_pong_forever(p):
        while True:
            p.send(site(0), Token(1))
            yield p.recv(Token)

    def echo(p):
        while True:
            msg = yield p.recv(Token)
            p.send(COORDINATOR, msg)

    sim = Simulation(CoordinatorModel(), parts, wall_limit=0.2)
    out = sim.spawn(COORDINATOR, ping_pong_forever)
    sim.spawn(site(0), echo)
    with pytest.raises(TimeLimit, match="wall-clock limit of 0.2 s reached"):
        sim.run(out)


def demo_run(parts, seed, **kw):
    sim = Simulation(CoordinatorModel(), parts, seed=seed, **kw)
    return sim.run(get_protocol("demo_sum").setup(sim))


def test_same_seed_same_fingerprint(parts):
    net = {"latency": {"dist": "exponential", "mean": 0.01}, "bandwidth": 1e4}
    a, b = demo_run(parts, 5, network=net), demo_run(parts, 5, network=net)
    c = demo_run(parts, 6, network=net)
    assert a.fingerprint == b.fingerprint
    assert a.sim_time == b.sim_time
    assert a.fingerprint != c.fingerprint  # latencies differ, so the arrival order and times differ


def test_party_rngs_are_independent_and_seeded(parts):
    def draw(p):
        yield from ()
        return p.rng.integers(1 << 30)

    def draws(seed):
        sim = Simulation(CoordinatorModel(), parts, seed=seed)
        procs = [sim.spawn(p, draw) for p in sim.parties.values()]
        sim.run(procs[0])
        return [proc.value for proc in procs]

    assert draws(1) == draws(1)
    assert len(set(draws(1))) == 5
    assert draws(1) != draws(2)


def test_public_coins_must_be_declared(parts):
    def coins(p):
        yield from ()
        return p.public_coins("jl").integers(1 << 30)

    sim = Simulation(CoordinatorModel(), parts)
    out = sim.spawn(COORDINATOR, coins)
    with pytest.raises(ModelViolation, match="declares private coins only"):
        sim.run(out)

    sim = Simulation(CoordinatorModel(public_coins=True), parts, seed=3)
    procs = [sim.spawn(p, coins) for p in sim.parties.values()]
    result = sim.run(procs[0])
    assert len({p.value for p in procs}) == 1  # every party sees the same coins
    assert result.public_coins is True


def test_codec_error_names_party_type_and_field(parts):
    def bad(p):
        p.send(COORDINATOR, Token(300))
        yield from ()

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(2), bad)
    with pytest.raises(CodecError, match=r"site2: Token.value: value 300 does not fit UInt\(8\)"):
        sim.run()


def test_role_exception_names_the_party(parts):
    def broken(p):
        yield p.sleep(2.5)
        raise RuntimeError("boom")

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(1), broken)
    with pytest.raises(RuntimeError, match="boom") as info:
        sim.run()
    assert any("in site1's role broken at t=2.5" in note for note in info.value.__notes__)


def test_output_party_crash_is_reported(parts):
    def wait(p):
        yield p.recv(Token)

    sim = Simulation(CoordinatorModel(), parts, faults=[{"kind": "crash", "party": COORDINATOR, "at": 1.0}])
    out = sim.spawn(COORDINATOR, wait)
    with pytest.raises(Deadlock, match="the output party coord crashed") as info:
        sim.run(out)
    assert info.value.reason == "crashed"


@pytest.mark.parametrize("kwargs,match", [
    ({"seed": -1}, r"seed: must be an integer in \[0, 2\*\*63\)"),
    ({"seed": 2**64}, r"seed: must be an integer in \[0, 2\*\*63\)"),
    ({"wall_limit": 0}, "wall_limit: must be a positive number"),
    ({"params": {"s": 3}}, r"params.s: 3 disagrees with the data \(4\)"),
    ({"faults": [{"kind": "crash", "party": "site9", "at": 1}]}, r"faults\[0\]: no party named 'site9'"),
    ({"faults": [{"kind": "drop", "p": 1.5}]}, r"faults\[0\].p: must be a probability"),
    ({"network": {"latency": {"dist": "pareto"}}}, "network.latency.dist: unknown distribution 'pareto'"),
])
def test_bad_input_is_refused_before_running(parts, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Simulation(CoordinatorModel(), parts, **kwargs)


@pytest.mark.parametrize("data,match", [
    ([np.array([[0.0, np.nan]])], r"data\[0\]: row 0 column 1 is nan"),
    ([np.zeros((2, 2)), np.zeros((2, 3))], r"data\[1\]: has 3 coordinates"),
    ([np.zeros(3) + 1], r"data\[0\]: expected a 2-D array"),
    (np.zeros((3, 2)), "expected a list of per-party arrays"),
])
def test_bad_data(data, match):
    with pytest.raises(ConfigError, match=match):
        Simulation(CoordinatorModel(), data)


def test_one_role_per_party(parts):
    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(COORDINATOR, lambda p: iter(()))
    with pytest.raises(ConfigError, match="already runs a role"):
        sim.spawn(COORDINATOR, lambda p: iter(()))


@message
class Hash:
    bits: UInt("t")


def test_call_parameters_set_widths_both_sides_know(parts):
    def ask(p):
        p.send(site(0), Hash(5), params={"t": 3})
        reply = yield p.recv(Hash, params={"t": 12})
        return reply.bits

    def answer(p):
        msg = yield p.recv(Hash, params={"t": 3})
        p.send(COORDINATOR, Hash(msg.bits * 100), params={"t": 12})

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(0), answer)
    result = sim.run(sim.spawn(COORDINATOR, ask))
    assert result.output == 500
    assert [e[6] for e in result.events if e[0] == "msg"] == [3, 12]


def test_call_parameters_must_match_on_both_sides(parts):
    def ask(p):
        p.send(site(0), Hash(5), params={"t": 3})
        yield from ()

    def answer(p):
        yield p.recv(Hash, params={"t": 4})

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(0), answer)
    sim.spawn(COORDINATOR, ask)
    with pytest.raises(CodecError, match=r"site0 received Hash from coord encoded with call parameters \{'t': 3\}, but expected \{'t': 4\}"):
        sim.run()


def test_call_parameters_missing_or_contradicting(parts):
    def no_width(p):
        p.send(site(0), Hash(1))
        yield from ()

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(COORDINATOR, no_width)
    with pytest.raises(CodecError, match="coord: .*t"):
        sim.run()

    def contradict(p):
        p.send(site(0), Hash(1), params={"s": 9})
        yield from ()

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(COORDINATOR, contradict)
    with pytest.raises(ConfigError, match="call parameter s=9 contradicts the run's s=4"):
        sim.run()


@message
class Pair:
    bits: UInt("a + b")


def test_call_keys_are_order_free():
    assert call_key(None) == call_key({}) == ()
    assert call_key({"t": 3}) == (("t", 3),)
    assert call_key({"b": 2, "a": 1}) == call_key({"a": 1, "b": 2}) == (("a", 1), ("b", 2))


def test_call_parameters_in_any_order_share_a_bound_and_match(parts):
    def ask(p):
        for i in range(3):
            p.send(site(0), Pair(i), params={"a": 2, "b": 3})
        replies = yield p.recv(Pair, params={"b": 1, "a": 1}, count=3)
        return [r.bits for r in replies]

    def answer(p):
        for _ in range(3):
            msg = yield p.recv(Pair, src=COORDINATOR, params={"b": 3, "a": 2})
            p.send(COORDINATOR, Pair(msg.bits % 4), params={"a": 1, "b": 1})

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(0), answer)
    result = sim.run(sim.spawn(COORDINATOR, ask))
    assert result.output == [0, 1, 2]
    assert [e[6] for e in result.events if e[0] == "msg"] == [5, 5, 5, 2, 2, 2]
    assert set(sim._bound) == {(Pair, (("a", 2), ("b", 3))), (Pair, (("a", 1), ("b", 1)))}


def test_messages_queued_before_a_recv_are_taken_oldest_first(parts):
    def burst(p):
        for i in range(5):
            p.send(site(0), Token(i))
        yield from ()

    def late(p):
        yield p.sleep(1.0)
        first = yield p.recv(Token)
        rest = yield p.recv(Token, src=COORDINATOR, count=4)
        return [first.value] + [m.value for m in rest]

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(COORDINATOR, burst)
    assert sim.run(sim.spawn(site(0), late)).output == [0, 1, 2, 3, 4]


def test_wire_bytes_are_the_msgpack_frames(parts):
    def send(p):
        p.send(site(0), Token(7))
        yield from ()

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(COORDINATOR, send)
    result = sim.run()
    row = next(e for e in result.events if e[0] == "msg")
    packed = codec.bind(Token, sim.params).encode(Token(7))
    assert row[7] == len(codec.frame(Token, packed)) == len(msgpack.packb([codec.message_tag(Token), packed.data]))


# -- conversations side by side (Party.concurrently) ----------------------------------------


def _echo(p):
    """A site that answers each Token with value + 1, in phase "echo"."""
    with p.phase("echo"):
        while True:
            got = yield p.recv(Token, src=COORDINATOR)
            p.send(COORDINATOR, Token(got.value + 1))


def _ask(p, dst, value, rounds):
    """One conversation: ``rounds`` exchanges with ``dst`` in phase "ask/<dst>"."""
    with p.phase(f"ask/{dst}"):
        for _ in range(rounds):
            p.send(dst, Token(value))
            value = (yield p.recv(Token, src=dst)).value
    return value


def test_conversations_run_side_by_side_with_their_own_phases(parts):
    def coord(p):
        with p.phase("main"):
            out = yield p.concurrently(_ask(p, site(i), 10 * i, rounds=i + 1) for i in range(4))
            p.send(site(0), Token(0))  # the caller's phase is back
        return out

    sim = Simulation(CoordinatorModel(), parts)
    for s in sim.sites:
        sim.spawn(s, _echo)
    result = sim.run(sim.spawn(COORDINATOR, coord))
    assert result.output == [1, 12, 23, 34]
    phases = {e[3]: set() for e in result.events if e[0] == "msg"}
    for e in result.events:
        if e[0] == "msg":
            phases[e[3]].add(e[9])
    assert phases[COORDINATOR] == {f"main/ask/{site(i)}" for i in range(4)} | {"main"}
    # side by side, the rounds are the longest conversation's (4 exchanges: 8), then the last
    # send and its echo; one after another they would add up to 2 * (1 + 2 + 3 + 4) + 2 = 22
    assert result.rounds == 10
    assert result.messages == 22


def test_a_conversation_that_raises_raises_in_the_caller(parts):
    def broken(p):
        yield p.sleep(1.0)
        raise RuntimeError("boom in a conversation")

    def coord(p):
        yield p.concurrently([_ask(p, site(0), 1, rounds=1), broken(p)])

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(0), _echo)
    with pytest.raises(RuntimeError, match="boom in a conversation") as info:
        sim.run(sim.spawn(COORDINATOR, coord))
    assert any("in coord's role coord" in note for note in info.value.__notes__)


def test_deadlock_names_every_waiting_conversation(parts):
    def silent(p):
        yield p.recv(Token, src=COORDINATOR)

    def coord(p):
        yield p.concurrently(_ask(p, site(i), 1, rounds=1) for i in range(4))

    sim = Simulation(CoordinatorModel(), parts)
    for s in sim.sites:
        sim.spawn(s, silent)
    with pytest.raises(Deadlock) as info:
        sim.run(sim.spawn(COORDINATOR, coord))
    assert info.value.blocked[COORDINATOR] == (
        "recv(Token from site0); recv(Token from site1); recv(Token from site2); 1 more")


def test_a_crash_stops_every_conversation(parts):
    def tick(p, dst):
        for i in range(50):
            yield p.sleep(1.0)
            p.send(dst, Token(i))

    def coord(p):
        yield p.concurrently(tick(p, site(i)) for i in range(4))

    sim = Simulation(CoordinatorModel(), parts, faults=[{"kind": "crash", "party": COORDINATOR, "at": 10.5}])
    out = sim.spawn(COORDINATOR, coord)
    with pytest.raises(Deadlock, match="the output party coord crashed"):
        sim.run(out)
    sent = [e for e in sim.ledger.events if e[0] == "msg"]
    assert len(sent) == 4 * 10 and max(e[2] for e in sent) == 10.0


def test_the_earliest_waiting_recv_gets_a_message(parts):
    def coord(p):
        specific = p.recv(Token, src=site(0))  # waits first
        anyone = p.recv(Token)
        got = yield p.concurrently([_wait(specific), _wait(anyone)])
        return got

    def _wait(event):
        return (yield event).value

    def talk(p, value):
        yield p.sleep(value)
        p.send(COORDINATOR, Token(value))

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(0), talk, 1)
    sim.spawn(site(1), talk, 2)
    assert sim.run(sim.spawn(COORDINATOR, coord)).output == [1, 2]
