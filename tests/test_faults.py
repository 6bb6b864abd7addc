"""Time and faults: latency, bandwidth, crash, straggle, drop, duplicate, reorder, partition."""

import numpy as np
import pytest

from protosim import COORDINATOR, CoordinatorModel, Deadlock, Simulation, UInt, Vector, message, site


@message
class Num:
    value: UInt(16)


@message
class Payload:
    values: Vector(UInt(8), length=100)


def collect(p, count, timeout=None):
    got = []
    for _ in range(count):
        msg = yield p.recv(Num)
        got.append((msg.value, p.now))
    return got


def senders(sim, values_by_site, gap=0.0):
    def role(p, values):
        for v in values:
            p.send(COORDINATOR, Num(v))
            if gap:
                yield p.sleep(gap)
        yield from ()

    for i, values in values_by_site.items():
        sim.spawn(site(i), role, values)


def test_latency_and_bandwidth_set_arrival_time(parts):
    sim = Simulation(CoordinatorModel(), parts, network={"latency": 0.5, "bandwidth": 1000})

    def big(p):
        p.send(COORDINATOR, Payload(np.zeros(100, dtype=int)))
        yield from ()

    def wait(p):
        yield p.recv(Payload)
        return p.now

    sim.spawn(site(0), big)
    result = sim.run(sim.spawn(COORDINATOR, wait))
    assert result.output == pytest.approx(0.5 + 800 / 1000)


def test_straggler_delays_its_messages(parts):
    sim = Simulation(CoordinatorModel(), parts, network={"latency": 1.0},
                     faults=[{"kind": "straggle", "party": site(1), "delay": 4.0}])
    senders(sim, {0: [10], 1: [11]})
    result = sim.run(sim.spawn(COORDINATOR, collect, 2))
    assert result.output == [(10, 1.0), (11, 5.0)]


def test_drop_everything_ends_in_a_deadlock_report(parts):
    sim = Simulation(CoordinatorModel(), parts, faults=[{"kind": "drop", "p": 1.0}])
    senders(sim, {0: [1]})
    out = sim.spawn(COORDINATOR, collect, 1)
    with pytest.raises(Deadlock, match="coord waits for recv\\(Num\\)"):
        sim.run(out)
    assert [e[0] for e in sim.ledger.events] == ["msg", "drop"]  # dropped in transit: never delivered


def test_drop_rate_follows_p(parts):
    sim = Simulation(CoordinatorModel(), parts, seed=7, faults=[{"kind": "drop", "p": 0.25, "src": site(0)}])
    senders(sim, {0: list(range(2000)), 1: [5000]})
    result = sim.run(sim.spawn(COORDINATOR, lambda p: iter(())))
    drops = sum(e[0] == "drop" for e in result.events)
    # Binomial(2000, 0.25): mean 500, sd 19.4; +-6 sd
    assert 384 <= drops <= 616
    assert not any(e[0] == "drop" and e[3] == site(1) for e in result.events)


def test_duplicate_delivers_twice_and_charges_once(parts):
    sim = Simulation(CoordinatorModel(), parts, faults=[{"kind": "duplicate", "p": 1.0}])
    senders(sim, {0: [3]})
    result = sim.run(sim.spawn(COORDINATOR, collect, 2))
    assert [v for v, _ in result.output] == [3, 3]
    assert result.messages == 1 and result.bits == 16


def test_reorder_lets_messages_overtake(parts):
    def order(seed):
        sim = Simulation(CoordinatorModel(), parts, seed=seed, faults=[{"kind": "reorder", "window": 5.0}])
        senders(sim, {0: list(range(20))})
        return [v for v, _ in sim.run(sim.spawn(COORDINATOR, collect, 20)).output]

    assert sorted(order(1)) == list(range(20))
    assert order(1) != list(range(20))
    assert order(1) == order(1)


def test_crash_drops_messages_to_the_crashed_party(parts):
    def ping(p):
        yield p.sleep(2.0)
        p.send(site(0), Num(1))
        p.send(site(1), Num(2))
        msg = yield p.recv(Num)
        return msg.value

    def echo(p):
        msg = yield p.recv(Num)
        p.send(COORDINATOR, msg)

    sim = Simulation(CoordinatorModel(), parts, faults=[{"kind": "crash", "party": site(0), "at": 1.0}])
    sim.spawn(site(0), echo)
    sim.spawn(site(1), echo)
    result = sim.run(sim.spawn(COORDINATOR, ping))
    assert result.output == 2
    assert result.crashed == [site(0)]
    kinds = [(e[0], e[3], e[4]) for e in result.events if e[0] not in ("msg", "deliver")]
    assert kinds == [("crash", site(0), site(0)), ("drop", COORDINATOR, site(0))]


def test_partition_cuts_between_groups_during_the_window(parts):
    faults = [{"kind": "partition", "groups": [[COORDINATOR, site(0)]], "start": 0.0, "end": 3.0}]
    sim = Simulation(CoordinatorModel(), parts, faults=faults)
    senders(sim, {0: [1, 2, 3, 4], 1: [10, 20, 30, 40]}, gap=1.0)  # sent at t = 0, 1, 2, 3
    result = sim.run(sim.spawn(COORDINATOR, collect, 5))
    assert sorted(v for v, _ in result.output) == [1, 2, 3, 4, 40]
    assert sum(e[0] == "partition" for e in result.events) == 3


def test_random_latency_is_seeded(parts):
    net = {"latency": {"dist": "uniform", "low": 0.1, "high": 0.9}}

    def times(seed):
        sim = Simulation(CoordinatorModel(), parts, seed=seed, network=net)
        senders(sim, {0: [1], 1: [2], 2: [3]})
        return sim.run(sim.spawn(COORDINATOR, collect, 3)).output

    assert times(4) == times(4)
    assert times(4) != times(5)
    assert all(0.1 <= t <= 0.9 for _, t in times(4))
