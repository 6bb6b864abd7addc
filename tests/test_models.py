"""Each model's rules: what it allows, what it refuses (ModelViolation), and how it charges."""

import networkx as nx
import numpy as np
import pytest

from protosim import (
    COORDINATOR, BlackboardModel, ConfigError, CoordinatorModel, GraphModel, ModelViolation,
    MPCModel, Simulation, StreamingModel, UInt, Vector, machine, message, site,
)
from protosim.models import make_graph, make_model


@message
class Ping:
    value: UInt(8)


@message
class Blob:
    values: Vector(UInt(32))


def run(model, parts, roles, seed=0, **kw):
    """Spawn roles {party name: role}; the coordinator's (or first) role is the output."""
    sim = Simulation(model, parts, seed=seed, **kw)
    procs = {name: sim.spawn(name, role) for name, role in roles.items()}
    out = procs.get(sim.coordinator.name) or next(iter(procs.values()))
    return sim.run(out)


def idle(party):
    yield from ()


# -- coordinator ------------------------------------------------------------------------------
def test_coordinator_refuses_site_to_site(parts):
    def bad(p):
        p.send(site(2), Ping(1))
        yield from ()

    with pytest.raises(ModelViolation, match=r"coordinator model: site0 sent 8 bits to site2.*\(round 1\)"):
        run(CoordinatorModel(), parts, {site(0): bad})


def test_coordinator_refuses_unknown_party_and_self(parts):
    def to_nobody(p):
        p.send("site99", Ping(1))
        yield from ()

    def to_self(p):
        p.send(COORDINATOR, Ping(1))
        yield from ()

    with pytest.raises(ModelViolation, match="unknown party 'site99'"):
        run(CoordinatorModel(), parts, {COORDINATOR: to_nobody})
    with pytest.raises(ModelViolation, match="to itself"):
        run(CoordinatorModel(), parts, {COORDINATOR: to_self})


def test_request_reply_is_depth_two(parts):
    def coord(p):
        p.broadcast([s.name for s in p.sim.sites], Ping(7))
        total = 0
        for _ in p.sim.sites:
            msg = yield p.recv(Ping)
            total += msg.value
        return total

    def serve(p):
        req = yield p.recv(Ping, src=COORDINATOR)
        p.send(COORDINATOR, Ping(req.value + len(p.data)))

    roles = {COORDINATOR: coord, **{site(i): serve for i in range(4)}}
    result = run(CoordinatorModel(), parts, roles)
    assert result.output == 4 * 7 + 10
    assert result.rounds == 2
    # four 8-bit requests at depth 1, four 8-bit replies at depth 2
    assert {r: (v["bits"], v["messages"]) for r, v in result.by_round.items()} == {1: (32, 4), 2: (32, 4)}
    assert result.by_party[COORDINATOR]["bits"] == 32


def test_recv_filters_by_type_and_source(parts):
    def coord(p):
        blob = yield p.recv(Blob)  # the Ping sent first waits in the inbox
        ping = yield p.recv(Ping, src=site(0))
        return len(blob.values), ping.value, blob.sender

    def s0(p):
        p.send(COORDINATOR, Ping(5))
        yield p.sleep(1.0)
        p.send(COORDINATOR, Blob(np.arange(3)))

    result = run(CoordinatorModel(), parts, {COORDINATOR: coord, site(0): s0})
    assert result.output == (3, 5, site(0))


# -- blackboard -------------------------------------------------------------------------------
def test_blackboard_refuses_private_send(parts):
    def bad(p):
        p.send(COORDINATOR, Ping(1))
        yield from ()

    with pytest.raises(ModelViolation, match="blackboard model: site1 .* no private channels; post instead"):
        run(BlackboardModel(), parts, {site(1): bad})


def test_blackboard_post_charged_once_and_cursor_per_party(parts):
    def coord(p):
        p.post(Ping(3))
        first = yield p.read(Blob)          # skips its own Ping
        second = yield p.read(Blob)
        return sorted([int(first.values[0]), int(second.values[0])])

    def reader(p):
        ping = yield p.read(Ping)
        p.post(Blob(np.array([ping.value * 10 + int(p.name[-1])])))

    result = run(BlackboardModel(), parts, {COORDINATOR: coord, site(0): reader, site(1): reader})
    assert result.output == [30, 31]
    assert result.messages == 3  # one Ping post, read by two sites, charged once
    assert result.rounds == 2


def test_cursor_skips_and_board_is_free(parts):
    def coord(p):
        p.post(Ping(1))
        p.post(Ping(2))
        yield p.sleep(1)
        return [m.value for m in p.board]

    result = run(BlackboardModel(), parts, {COORDINATOR: coord})
    assert result.output == [1, 2]
    assert result.bits == 16


# -- graph ------------------------------------------------------------------------------------
def test_graph_refuses_non_neighbour_send(parts):
    def bad(p):
        p.send(site(3), Ping(1))
        yield from ()

    model = GraphModel(nx.path_graph(5), coordinator=0)
    with pytest.raises(ModelViolation, match="graph model: site0 sent 8 bits to site3, which is not a neighbour"):
        run(model, parts, {site(0): bad})


def test_graph_route_forwards_and_charges_each_hop(parts):
    def far(p):
        p.route(COORDINATOR, Ping(9))
        yield from ()

    def coord(p):
        msg = yield p.recv(Ping)
        return msg.value, msg.sender

    model = GraphModel(nx.path_graph(5), coordinator=0)
    result = run(model, parts, {COORDINATOR: coord, site(3): far})
    assert result.output == (9, site(3))
    hops = [(e[3], e[4]) for e in result.events if e[0] == "msg"]
    assert hops == [(site(3), site(2)), (site(2), site(1)), (site(1), site(0)), (site(0), COORDINATOR)]
    assert result.bits == 4 * 8 and result.rounds == 4


def test_graph_input_errors():
    disconnected = nx.Graph([(0, 1), (2, 3)])
    with pytest.raises(ConfigError, match="not connected"):
        GraphModel(disconnected)
    with pytest.raises(ConfigError, match="model.coordinator: node 17 is not in the graph"):
        GraphModel(nx.path_graph(3), coordinator=17)
    with pytest.raises(ConfigError, match="graph has 2 site nodes"):
        Simulation(GraphModel(nx.path_graph(3)), [np.zeros((1, 2))] * 3)


@pytest.mark.parametrize("spec,nodes", [
    ({"topology": "grid", "rows": 3, "cols": 4}, 12),
    ({"topology": "path", "nodes": 5}, 5),
    ({"topology": "random_geometric", "nodes": 30, "radius": 0.5}, 30),
    ({"topology": "preferential_attachment", "nodes": 20, "m": 2}, 20),
    ({"topology": "edges", "edges": [[0, 1], [1, 2]]}, 3),
])
def test_topologies(spec, nodes):
    assert make_graph(spec, seed=1).number_of_nodes() == nodes


def test_make_model_errors():
    with pytest.raises(ConfigError, match="model.kind: unknown model 'ring'"):
        make_model({"kind": "ring"})
    with pytest.raises(ConfigError, match="model.rows: unknown key for the coordinator model"):
        make_model({"kind": "coordinator", "rows": 3})
    with pytest.raises(ConfigError, match="model.topology: unknown topology"):
        make_model({"kind": "graph", "topology": "torus"})


# -- MPC --------------------------------------------------------------------------------------
def mpc_parts(p=3, n=4, d=2):
    return [np.full((n, d), float(i)) for i in range(p)]


def test_mpc_rounds_deliver_at_the_barrier():
    def role(m):
        me = int(m.name[1:])
        m.send(machine((me + 1) % 3), Ping(me))
        got = yield m.sync()
        assert [x.value for x in got] == [(me - 1) % 3]
        m.send(machine((me + 2) % 3), Ping(got[0].value))
        got = yield m.sync()
        return [x.value for x in got]

    model = MPCModel(3, memory=10_000)
    sim = Simulation(model, mpc_parts())
    procs = [sim.spawn(machine(i), role) for i in range(3)]
    result = sim.run(procs[0])
    assert result.output == [0]  # m0 receives, in round 2, from m1 the value m1 got from m0
    assert result.rounds == 2
    # each machine holds its input: gamma(4 + 1) = 5 bits of length, 4 points x 2 coords x 64 bits
    assert result.peak_memory == 5 + 512


def test_mpc_refuses_over_memory_send_and_hold():
    def sender(m):
        m.send(machine(1), Blob(np.arange(40)))  # 40*32 + gamma(41) = 1291 bits > S - nothing else
        yield m.sync()

    with pytest.raises(ModelViolation, match=r"mpc model: m0 would send 1,291 bits in round 1, over S = 1,000"):
        sim = Simulation(MPCModel(2, memory=1000), [np.zeros((0, 1))] * 2)
        sim.spawn(machine(0), sender)
        sim.run()

    def holder(m):
        m.hold("big", Blob(np.arange(40)))
        yield m.sync()

    with pytest.raises(ModelViolation, match=r"would hold 1,292 bits with 'big' \(1,291 bits\)"):
        sim = Simulation(MPCModel(2, memory=1000), [np.zeros((0, 1))] * 2)
        sim.spawn(machine(0), holder)
        sim.run()


def test_mpc_refuses_over_memory_receive():
    def role(m):
        if m.name != machine(2):
            m.send(machine(2), Blob(np.arange(20)))  # 20*32 + 9 = 649 bits each; m2 receives 1298
        yield m.sync()

    sim = Simulation(MPCModel(3, memory=1000), [np.zeros((0, 1))] * 3)
    procs = [sim.spawn(machine(i), role) for i in range(3)]
    with pytest.raises(ModelViolation, match="m2 received 1,298 bits in round 1, over S = 1,000"):
        sim.run(procs[0])


def test_mpc_input_must_fit():
    # gamma(8 + 1) = 7 bits of length, then 8 x 2 x 64 bits
    with pytest.raises(ModelViolation, match="m0 would hold 1,031 bits with 'input'"):
        Simulation(MPCModel(1, memory="d*64"), [np.zeros((8, 2))])


# -- streaming --------------------------------------------------------------------------------
def test_streaming_counts_passes_and_peak_memory():
    def role(m):
        total = 0
        for _ in range(2):
            for batch in m.stream(batch=3):
                total += len(batch)
                m.hold("count", Ping(total % 256))
        return total

    sim = Simulation(StreamingModel(memory="64"), [np.ones((5, 2)), np.ones((2, 2))])
    sim.spawn("stream", role)
    result = sim.run(sim.coordinator)
    assert result.output == 14
    assert result.figure("passes") == 2
    assert result.peak_memory == 8


def test_streaming_refuses_messages_and_memory():
    def send(m):
        m.send("x", Ping(1))
        yield from ()

    sim = Simulation(StreamingModel(), [np.ones((2, 2))])
    sim.spawn("stream", send)
    with pytest.raises(ModelViolation):
        sim.run()

    def hog(m):
        m.hold("all", Blob(np.arange(10)))
        yield from ()

    sim = Simulation(StreamingModel(memory=100), [np.ones((2, 2))])
    sim.spawn("stream", hog)
    with pytest.raises(ModelViolation, match="streaming model: stream would hold"):
        sim.run()


def test_other_models_refuse_board_sync_and_memory(parts):
    for verb in ("post", "read", "sync", "hold"):
        def role(p, verb=verb):
            if verb == "post":
                p.post(Ping(1))
            elif verb == "read":
                yield p.read()
            elif verb == "sync":
                yield p.sync()
            else:
                p.hold("x", Ping(1))
            yield from ()

        with pytest.raises(ModelViolation, match="coordinator model: coord"):
            run(CoordinatorModel(), parts, {COORDINATOR: role})


def test_recv_count_gathers_a_batch_in_one_event(parts):
    def coord(p):
        p.broadcast([s.name for s in p.sim.sites], Ping(1))
        replies = yield p.recv(Ping, count=4)
        return sorted(m.sender for m in replies), p.depth

    def serve(p):
        yield p.recv(Ping)
        yield p.sleep(float(p.name[-1]))          # replies arrive at t = 0, 1, 2, 3
        p.send(COORDINATOR, Ping(2))

    roles = {COORDINATOR: coord, **{site(i): serve for i in range(4)}}
    result = run(CoordinatorModel(), parts, roles)
    assert result.output == ([site(i) for i in range(4)], 2)
    assert result.sim_time == 3.0


def test_recv_count_reports_what_is_missing(parts):
    from protosim import Deadlock

    def coord(p):
        yield p.recv(Ping, count=3)

    def one(p):
        p.send(COORDINATOR, Ping(1))
        yield from ()

    sim = Simulation(CoordinatorModel(), parts)
    sim.spawn(site(0), one)
    out = sim.spawn(COORDINATOR, coord)
    with pytest.raises(Deadlock, match=r"coord waits for recv\(2 more of 3 Ping\)"):
        sim.run(out)
    with pytest.raises(ConfigError, match="count: must be an integer >= 1"):
        sim.coordinator.recv(Ping, count=0)


def test_read_count_takes_posts_in_board_order(parts):
    def coord(p):
        posts = yield p.read(Ping, count=3)
        later = yield p.read(Ping)
        return [m.value for m in posts], later.value

    def poster(p):
        yield p.sleep(1.0 + int(p.name[-1]))
        p.post(Ping(int(p.name[-1])))

    roles = {COORDINATOR: coord, **{site(i): poster for i in range(4)}}
    result = run(BlackboardModel(), parts, roles)
    assert result.output == ([0, 1, 2], 3)
    assert result.rounds == 1
