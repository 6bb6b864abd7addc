"""Kernel throughput: messages per second through codec, ledger and trace, over raw SimPy.

Both sides run the same ping-pong between two processes in the same Python process:

- raw: two ``simpy.Store`` objects; each message is one ``put`` and one ``get``;
- protosim: the coordinator and one site exchange a 2-field message (UInt(16), Gamma)
  through ``send``/``recv``: encode, msgpack frame, ledger row and fingerprint, decode,
  delivery event; then the trace is written to a file.

Prints both rates and their ratio (target >= 0.7), and what one message's parts cost on
their own (best of ``--repeat`` timeit runs). Usage:

    python benchmarks/kernel_throughput.py [--messages 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np
import simpy

from protosim import COORDINATOR, CoordinatorModel, Gamma, Simulation, UInt, message, site, write_trace


@message
class Hit:
    seq: UInt(16)
    hops: Gamma()


def raw_simpy(messages: int) -> float:
    env = simpy.Environment()
    a_to_b, b_to_a = simpy.Store(env), simpy.Store(env)

    def a():
        for i in range(messages // 2):
            a_to_b.put(i)
            yield b_to_a.get()

    def b():
        for _ in range(messages // 2):
            i = yield a_to_b.get()
            b_to_a.put(i + 1)

    start = time.perf_counter()
    env.process(a())
    env.process(b())
    env.run()
    return messages / (time.perf_counter() - start)


def protosim_path(messages: int, trace_dir: str) -> float:
    def coord(p):
        for i in range(messages // 2):
            p.send(site(0), Hit(i & 0xFFFF, 1))
            yield p.recv(Hit)

    def echo(p):
        for _ in range(messages // 2):
            msg = yield p.recv(Hit)
            p.send(COORDINATOR, Hit(msg.seq, msg.hops + 1))

    start = time.perf_counter()
    sim = Simulation(CoordinatorModel(), [np.zeros((1, 1))])
    sim.spawn(site(0), echo)
    result = sim.run(sim.spawn(COORDINATOR, coord))
    write_trace(Path(trace_dir) / "bench.trace", result)
    elapsed = time.perf_counter() - start
    assert result.messages == messages
    return messages / elapsed


def parts(repeat: int, number: int = 20_000) -> dict[str, float]:
    """Microseconds per call of each part of one message's path, measured alone."""
    sim = Simulation(CoordinatorModel(), [np.zeros((1, 1))])
    coord = sim.party(COORDINATOR)
    msg = Hit(1234, 1)
    bound = sim.bound(Hit)
    packed = bound.encode(msg)
    env = simpy.Environment()
    calls = {
        "encode (bits)": lambda: bound.encode(msg),
        "decode": lambda: bound.decode(packed.data, packed.nbits),
        "msgpack frame": lambda: bound.frame(packed),
        "encode + decode + frame + Sent (Simulation.encode)": lambda: sim.encode(coord, msg),
        "ledger row (message)": lambda: sim.ledger.message(0.0, COORDINATOR, "site0", "Hit", 17, 10, 1, "", packed.data),
        "ledger event (deliver)": lambda: sim.ledger.event("deliver", 0.0, COORDINATOR, "site0", "Hit", 0),
        "SimPy event + succeed": lambda: env.event().succeed(msg),
    }
    return {name: min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6 for name, call in calls.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        raw = max(raw_simpy(args.messages) for _ in range(args.repeat))
        ours = max(protosim_path(args.messages, tmp) for _ in range(args.repeat))
    figures = {"cores": os.cpu_count(), "messages": args.messages, "raw_simpy_per_s": raw,
               "protosim_per_s": ours, "ratio": ours / raw, "parts_us": parts(args.repeat, min(20_000, args.messages))}
    print(f"cores {figures['cores']}, {args.messages:,} messages, best of {args.repeat}")
    print(f"raw SimPy Store ping-pong : {raw:12,.0f} messages/s ({1e6 / raw:.2f} µs each)")
    print(f"protosim full path       : {ours:12,.0f} messages/s ({1e6 / ours:.2f} µs each: codec, ledger, fingerprint, trace)")
    print(f"ratio                    : {figures['ratio']:.3f} (target >= 0.7)")
    for name, us in figures["parts_us"].items():
        print(f"  {name:52s} {us:5.2f} µs")
    return figures


if __name__ == "__main__":
    main()
