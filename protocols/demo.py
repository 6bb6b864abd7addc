"""Demonstration protocol: every site reports its point count and local sum; the coordinator adds them.

It is the smallest complete protocol, and the walk-through of docs/writing-a-protocol.md.
Each site sends one message ``CountSum``: its count n_i in Elias gamma (of n_i + 1, so an
empty site costs 1 bit) and its coordinate sum as d float64 values. On the coordinator
model a site sends straight to the coordinator; on the blackboard it posts; on a graph it
routes along the BFS tree and every hop is charged. The coordinator returns the total
count, the sum and the mean.
"""

from __future__ import annotations

import numpy as np

from protosim import COORDINATOR, Gamma, Float64, Vector, message, protocol


@message
class CountSum:
    """A site's point count and coordinate sum."""

    count: Gamma(base=0)
    total: Vector(Float64(), length="d")


def report(site):
    """Site role: one CountSum to the coordinator (posted on a blackboard)."""
    msg = CountSum(count=len(site.data), total=site.data.sum(axis=0))
    with site.phase("report"):
        if site.model.name == "blackboard":
            site.post(msg)
        else:
            site.route(COORDINATOR, msg)
    yield from ()


def add_up(coord, s: int, d: int):
    """Coordinator role: wait for one report from each of the s sites and add them up.

    A second report from the same site (a duplicate fault) is ignored; a lost one leaves
    the coordinator waiting, which the kernel reports as a deadlock.
    """
    wait = coord.read if coord.model.name == "blackboard" else coord.recv
    n, total, heard = 0, np.zeros(d), set()
    while len(heard) < s:
        msg = yield wait(CountSum)
        if msg.sender in heard:
            continue
        heard.add(msg.sender)
        n += msg.count
        total += msg.total
    return {"n": n, "sum": total, "mean": total / n if n else np.full(d, np.nan)}


def check_mean(X, output, params):
    """Evaluation outside the run: how far the protocol's mean is from the data's."""
    return {"mean_error": float(np.abs(output["mean"] - X.mean(axis=0)).max())}


@protocol("demo_sum", models=("coordinator", "blackboard", "graph"), evaluate=check_mean,
          description="demonstration: sites report count and sum; the coordinator adds them up")
def demo_sum(sim):
    for site in sim.sites:
        sim.spawn(site, report)
    return sim.spawn(sim.coordinator, add_up, len(sim.sites), sim.params["d"])
