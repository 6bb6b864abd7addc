"""The demonstration protocol: exact information bits and rounds, computed by hand."""

import networkx as nx
import numpy as np
import pytest

from protosim import BlackboardModel, CoordinatorModel, GraphModel, Simulation
from protosim.registry import get_protocol


def gamma_bits(v: int) -> int:
    """Elias gamma of v >= 1: 2*floor(log2 v) + 1 bits."""
    return 2 * (v.bit_length() - 1) + 1


def run_demo(model, parts, seed=0):
    sim = Simulation(model, parts, seed=seed, protocol="demo_sum")
    return sim.run(get_protocol("demo_sum").setup(sim))


def expected_report_bits(n_i: int, d: int) -> int:
    # CountSum: count in Gamma(base=0) -> gamma(n_i + 1); total: d float64 values, fixed length d.
    return gamma_bits(n_i + 1) + 64 * d


def test_coordinator_exact_bits_and_rounds(parts):
    result = run_demo(CoordinatorModel(), parts)
    # sizes 3, 0, 1, 6 -> gamma(4)=5, gamma(1)=1, gamma(2)=3, gamma(7)=5 bits, plus 128 bits each
    assert [expected_report_bits(len(p), 2) for p in parts] == [133, 129, 131, 133]
    assert result.bits == 133 + 129 + 131 + 133
    assert result.messages == 4
    assert result.rounds == 1
    assert result.output["n"] == 10
    np.testing.assert_allclose(result.output["sum"], np.concatenate(parts).sum(axis=0))
    assert result.by_phase == {"report": {"bits": 526, "wire_bytes": result.wire_bytes, "messages": 4}}


def test_blackboard_same_bits_posted_once(parts):
    result = run_demo(BlackboardModel(), parts)
    assert result.bits == 526
    assert result.rounds == 1
    assert {e[4] for e in result.events} == {"board"}
    assert result.output["n"] == 10


def test_graph_path_charges_every_hop(parts):
    # path coord - site0 - site1 - site2 - site3: site i is i + 1 hops from the coordinator
    model = GraphModel(nx.path_graph(5), coordinator=0)
    result = run_demo(model, parts)
    per_report = [expected_report_bits(len(p), 2) for p in parts]
    assert result.bits == sum((i + 1) * b for i, b in enumerate(per_report))
    assert result.messages == 1 + 2 + 3 + 4
    assert result.rounds == 4  # the farthest report needs four hops
    assert result.output["n"] == 10
    star = run_demo(CoordinatorModel(), parts)
    assert result.bits <= model.params()["hops"] * star.bits


def test_empty_data_everywhere():
    result = run_demo(CoordinatorModel(), [np.empty((0, 3)), np.empty((0, 3))])
    assert result.output["n"] == 0
    assert result.bits == 2 * (1 + 64 * 3)


@pytest.mark.parametrize("seed", [0, 1])
def test_wire_bytes_exceed_information_bits(parts, seed):
    result = run_demo(CoordinatorModel(), parts, seed)
    assert result.wire_bytes * 8 >= result.bits


def test_duplicates_are_ignored_and_drops_are_diagnosed(parts):
    from protosim import Deadlock

    sim = Simulation(CoordinatorModel(), parts, seed=1, faults=[{"kind": "duplicate", "p": 1.0}])
    result = sim.run(get_protocol("demo_sum").setup(sim))
    assert result.output["n"] == 10
    sim = Simulation(CoordinatorModel(), parts, seed=1, faults=[{"kind": "drop", "p": 1.0, "src": "site2"}])
    with pytest.raises(Deadlock, match="coord waits for recv\\(CountSum\\)"):
        sim.run(get_protocol("demo_sum").setup(sim))
