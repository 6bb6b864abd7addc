"""The kernel: deadlock and time-limit reports, seeded determinism, coins, crashes, errors."""

import numpy as np
import pytest

from protosim import (
    COORDINATOR, CodecError, ConfigError, CoordinatorModel, Deadlock, ModelViolation, Simulation,
    TimeLimit, UInt, message, site,
)
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
