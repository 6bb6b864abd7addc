"""Simulation: a SimPy environment, a seeded RNG tree, the send path and the run loop.

    sim = Simulation(CoordinatorModel(), data=parts, params={"k": 10}, seed=1)
    for site in sim.sites:
        sim.spawn(site, site_role)
    result = sim.run(output=sim.spawn(sim.coordinator, coordinator_role))

Randomness: one ``numpy.random.SeedSequence(seed)`` per run. It spawns, in this order, the
network's stream, the faults' stream, the public-coin root, and one child per party in the
order the model creates them. The same seed gives the same event stream and fingerprint.

The run ends when no event is left. If the output role has not returned by then, every
live party is waiting for something that will never come: the kernel raises
:class:`Deadlock` naming each one and what it waits for. Wall-clock and simulated-time
limits raise :class:`TimeLimit` with the same report; the wall-clock limit defaults to
one hour.
"""

from __future__ import annotations

import time as _time
import zlib
from typing import Any, Callable

import numpy as np
import simpy
from simpy.core import EmptySchedule

from . import codec
from .errors import CodecError, ConfigError, Deadlock, ModelViolation, TimeLimit
from .faults import FaultPlan, parse_faults
from .ledger import BOARD, Ledger
from .network import Network
from .party import Envelope, Party, call_key
from .result import RunResult


DEFAULT_WALL_LIMIT = 3600.0
"""Seconds of wall-clock time a run may take unless told otherwise (``wall_limit=None``
removes the limit): a protocol that loops forever ends with a TimeLimit report, not a hang."""


class Simulation:
    """One run of a protocol on a communication model."""

    def __init__(
        self,
        model,
        data: list[np.ndarray] | None = None,
        *,
        params: dict[str, Any] | None = None,
        seed: int = 0,
        network: Network | dict | None = None,
        faults: list[dict] | None = None,
        wall_limit: float | None = DEFAULT_WALL_LIMIT,
        time_limit: float | None = None,
        protocol: str = "",
        scenario: dict | None = None,
    ):
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ConfigError(f"seed: must be an integer in [0, 2**63), got {seed!r}")
        for name, limit in (("wall_limit", wall_limit), ("time_limit", time_limit)):
            if limit is not None and (not isinstance(limit, (int, float)) or not limit > 0):
                raise ConfigError(f"{name}: must be a positive number of seconds, got {limit!r}")
        self.model = model
        self.seed = int(seed)
        self.protocol = protocol
        self.scenario = scenario
        self.network = network if isinstance(network, Network) else Network.from_dict(network)
        self.wall_limit, self.time_limit = wall_limit, time_limit
        self.env = simpy.Environment()
        self.ledger = Ledger()
        root = np.random.SeedSequence(self.seed)
        net_ss, fault_ss, self._public_ss, self._party_ss = root.spawn(4)
        self._net_rng = np.random.Generator(np.random.PCG64(net_ss))
        self._fault_rng = np.random.Generator(np.random.PCG64(fault_ss))
        self._public_used = False
        self._bound: dict[type, Any] = {}
        self.memo: dict = {}  # Party.shared: values every party computes alike from public information

        parts = _check_data(data)
        d = parts[0].shape[1] if parts else 0
        self.parties: dict[str, Party] = {}
        self.params: dict[str, Any] = {"n": sum(len(p) for p in parts), "d": d}
        model.build(self, parts)  # creates the parties, sets coordinator and sites
        self.params["s"] = len(self.sites)
        self.params.update(model.params())
        for key, value in (params or {}).items():
            if key in ("n", "d", "s") and value != self.params[key]:
                raise ConfigError(f"params.{key}: {value!r} disagrees with the data ({self.params[key]})")
            self.params[key] = value
        self.faults = FaultPlan(parse_faults(faults, set(self.parties)), self._fault_rng)
        # every message arrives when it is sent, as one copy: no delay to draw, no fate
        self._instant = self.network.latency.is_zero and self.network.bandwidth is None and not self.faults.active
        for name, at in self.faults.crashes.items():
            self.env.timeout(at).callbacks.append(lambda _e, p=self.parties[name]: self._crash(p))

    # -- set-up ---------------------------------------------------------------------------
    def new_party(self, name: str, kind: str, data: np.ndarray | None = None) -> Party:
        """Create a party (models call this in :meth:`build`), with its own RNG child."""
        if name in self.parties:
            raise ConfigError(f"party name {name!r} is used twice")
        rng = np.random.Generator(np.random.PCG64(self._party_ss.spawn(1)[0]))
        party = Party(self, name, kind, data, rng)
        self.parties[name] = party
        return party

    def party(self, name: str) -> Party:
        try:
            return self.parties[name]
        except KeyError:
            raise ConfigError(f"no party named {name!r}; parties are {_names(self.parties)}") from None

    def spawn(self, party: Party | str, role: Callable, *args, **kwargs):
        """Run ``role(party, *args, **kwargs)`` as the party's process; returns the process."""
        party = party if isinstance(party, Party) else self.party(party)
        if party.process is not None:
            raise ConfigError(f"{party.name} already runs a role; a party runs one role")
        party.process = self.env.process(self._drive(party, role, args, kwargs))
        return party.process

    def _drive(self, party: Party, role, args, kwargs):
        try:
            gen = role(party, *args, **kwargs)
            result = (yield from gen) if hasattr(gen, "send") else gen
        except simpy.Interrupt:
            return None
        except Exception as exc:
            exc.add_note(f"  in {party.name}'s role {getattr(role, '__name__', role)} at t={self.env.now:g}, round {party.depth + 1}")
            raise
        finally:
            party.finished = True
            party.waiting_for = None
            self.model.on_exit(party)
        return result

    def _concurrently(self, party: Party, conversations: list):
        """Run ``conversations`` of ``party`` as processes; an event with their return values."""
        env, phase = self.env, party._phase
        procs = [env.process(self._converse(party, c, phase)) for c in conversations]
        party.conversations.extend(procs)
        done = env.event()

        def finish(all_done) -> None:
            party._phase = phase  # the caller resumes in its own phase
            party.conversations = [p for p in party.conversations if p.is_alive]
            if all_done.ok:
                done.succeed([p.value for p in procs])
            else:  # a conversation raised: so does the caller's yield
                all_done.defused = True
                done.fail(all_done.value)

        env.all_of(procs).callbacks.append(finish)
        return done

    @staticmethod
    def _converse(party: Party, conversation, phase: str):
        """Drive one conversation, putting its own phase back each time it resumes."""
        value, error = None, None
        while True:
            party._phase = phase
            try:
                event = conversation.send(value) if error is None else conversation.throw(error)
            except StopIteration as stop:
                return stop.value
            phase = party._phase
            try:
                value, error = (yield event), None
            except simpy.Interrupt:
                return None  # the party crashed
            except Exception as exc:  # a failed event: the conversation sees it at its yield
                value, error = None, exc

    # -- running --------------------------------------------------------------------------
    def run(self, output=None) -> RunResult:
        """Run to the end; ``output`` is the process (or party) whose return value is the output."""
        if isinstance(output, Party):
            output = output.process
        env, step = self.env, self.env.step
        deadline = None if self.wall_limit is None else _time.perf_counter() + self.wall_limit
        count = 0
        try:
            while True:
                if self.time_limit is not None and env.peek() > self.time_limit:
                    raise self._stuck(TimeLimit, f"simulated-time limit of {self.time_limit:g} s reached")
                step()
                count += 1
                if deadline is not None and not count & 1023 and _time.perf_counter() > deadline:
                    raise self._stuck(TimeLimit, f"wall-clock limit of {self.wall_limit:g} s reached at t={env.now:g}")
        except EmptySchedule:
            pass
        except Exception as exc:
            # SimPy re-raises a copy of a role's exception; raise the original, with the
            # role's traceback and the note naming the party.
            if type(exc.__cause__) is type(exc) and getattr(exc.__cause__, "__notes__", None):
                raise exc.__cause__ from None
            raise
        self.model.finish(self)
        owner = next((p for p in self.parties.values() if output is not None and p.process is output), None)
        if owner is not None and owner.crashed:
            raise self._stuck(Deadlock, f"the output party {owner.name} crashed; no output", reason="crashed")
        if output is not None and not output.triggered:
            raise self._stuck(Deadlock, "no event is left and the output role has not returned")
        idle = {p.name: p.waiting_for or "an event" for p in self._live()}
        return RunResult(
            output=None if output is None else output.value,
            params=dict(self.params),
            model=self.model.name,
            seed=self.seed,
            events=self.ledger.events,
            fingerprint=self.ledger.fingerprint,
            sim_time=float(env.now),
            peak_memory=self.model.peak_memory,
            model_figures=self.model.figures(),
            public_coins=self._public_used,
            idle=idle,
            crashed=sorted(p.name for p in self.parties.values() if p.crashed),
            protocol=self.protocol,
            scenario=self.scenario,
        )

    def _live(self):
        return [p for p in self.parties.values() if p.process is not None and not p.finished and not p.crashed]

    def _stuck(self, cls, why: str, reason: str | None = None):
        blocked = {p.name: p.waiting_for or "an event" for p in self._live()}
        lines = "\n".join(f"  {name} waits for {what}" for name, what in blocked.items()) or "  (no party is waiting)"
        return cls(f"{why} at t={self.env.now:g}; blocked parties:\n{lines}", blocked, reason or cls.__name__.lower())

    # -- the send path --------------------------------------------------------------------
    def bound(self, cls, call: tuple = ()):
        """The codec for ``cls`` bound to this run's parameters plus call parameters (cached)."""
        key = (cls, call)
        b = self._bound.get(key)
        if b is None:
            params = self.params
            if call:
                clash = [k for k, v in call if k in params and params[k] != v]
                if clash:
                    raise ConfigError(f"call parameter {clash[0]}={dict(call)[clash[0]]!r} contradicts the run's {clash[0]}={params[clash[0]]!r}")
                params = {**params, **dict(call)}
            b = self._bound[key] = codec.bind(cls, params)
        return b

    def encode(self, party: Party, msg, params: dict | None = None) -> "Sent":
        """Encode ``msg`` as ``party`` sends it, with optional call parameters; decode it back."""
        cls = type(msg)
        call = call_key(params)
        try:
            b = self._bound.get((cls, call)) or self.bound(cls, call)
            packed = b.encode(msg)
        except CodecError as exc:
            raise CodecError(f"{party.name}: {exc}") from None
        except AttributeError:
            raise CodecError(f"{party.name}: {msg!r} is not a message (declare its class with @message)") from None
        decoded = b.decode(packed.data, packed.nbits)
        return Sent(decoded, cls.__name__, packed, len(b.frame(packed)), party._phase, call)

    def _send(self, party: Party, dst: str, msg, route: bool, params: dict | None) -> None:
        if dst not in self.parties:
            raise ModelViolation(
                f"{self.model.name} model: {party.name} sent {type(msg).__name__} to unknown party {dst!r} "
                f"at round {party.depth + 1}"
            )
        sent = self.encode(party, msg, params)
        path = self.model.path(party, dst, route, sent.packed.nbits)
        self._hop(path, 0, sent, party.depth + 1)

    def _hop(self, path, i, sent: "Sent", depth: int) -> None:
        """Charge hop ``path[i] -> path[i+1]`` and schedule its arrival (or queue it for the round)."""
        src, dst = path[i], path[i + 1]
        nbits = sent.packed.nbits
        seq = self.ledger.message(self.env.now, src, dst, sent.type_name, nbits, sent.wire, depth, sent.phase, sent.packed.data)
        self.model.on_send(self.parties[src], dst, nbits)
        if self.model.synchronous:
            self.model.enqueue(dst, Envelope(sent.msg, src, depth, seq, sent.call))
            return
        delay, copies = (0.0, 1) if self._instant else self.transit(src, dst, nbits, sent.type_name, seq)
        if delay == 0.0 and copies == 1:  # arrives now: no timeout event needed
            self._arrive(path, i + 1, sent, depth, seq)
            return
        for _ in range(copies):
            self.env.timeout(delay).callbacks.append(lambda _e: self._arrive(path, i + 1, sent, depth, seq))

    def transit(self, src: str, dst: str, bits: int, type_name: str, seq: int) -> tuple[float, int]:
        """How long message ``seq`` takes and how many copies arrive (0 when a fault drops it).

        Draws the network delay (latency + bits / bandwidth) and the faults' fate, and
        records a fault event when one strikes.
        """
        delay = self.network.delay(bits, self._net_rng)
        if not self.faults.active:
            return delay, 1
        fate = self.faults.fate(src, dst, self.env.now)
        if fate.reason:
            self.ledger.event(fate.reason, self.env.now, src, dst, type_name, seq)
        return delay + fate.extra_delay, fate.copies

    def _arrive(self, path, i, sent: "Sent", depth: int, seq: int) -> None:
        """Hop ``i`` arrived at ``path[i]``: deliver it there, or forward it along the path."""
        party = self.parties[path[i]]
        self.ledger.event("drop" if party.crashed else "deliver", self.env.now, path[i - 1], party.name, sent.type_name, seq)
        if party.crashed:
            return
        if i + 1 == len(path):
            self.model.deliver(party, Envelope(sent.msg, path[0], depth, seq, sent.call))
        else:
            party.depth = max(party.depth, depth)
            self._hop(path, i, sent, depth + 1)

    def _post(self, party: Party, msg, params: dict | None) -> None:
        self.model.check_post(party)
        sent = self.encode(party, msg, params)
        nbits = sent.packed.nbits
        depth = party.depth + 1
        seq = self.ledger.message(self.env.now, party.name, BOARD, sent.type_name, nbits, sent.wire, depth, sent.phase, sent.packed.data)
        delay, copies = self.transit(party.name, BOARD, nbits, sent.type_name, seq)
        for _ in range(copies):
            envelope = Envelope(sent.msg, party.name, depth, seq, sent.call)
            self.env.timeout(delay).callbacks.append(lambda _e, env=envelope: self.model.publish(self, env))

    # -- faults and coins -----------------------------------------------------------------
    def _crash(self, party: Party) -> None:
        if party.crashed or party.finished:
            return
        party.crashed = True
        self.ledger.event("crash", self.env.now, party.name, party.name)
        for process in (party.process, *party.conversations):
            if process is not None and process.is_alive:
                process.interrupt("crash")

    def _public_stream(self, key) -> np.random.Generator:
        self._public_used = True
        tag = zlib.crc32(repr(key).encode())
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self._public_ss.entropy, spawn_key=(*self._public_ss.spawn_key, tag))))

    # -- views ----------------------------------------------------------------------------
    @property
    def coordinator(self) -> Party:
        return self.model.coordinator

    @property
    def sites(self) -> list[Party]:
        return self.model.sites


class Sent:
    """One encoded message on its way: the decoded message, its bits and its frame size."""

    __slots__ = ("msg", "type_name", "packed", "wire", "phase", "call")

    def __init__(self, msg, type_name: str, packed, wire: int, phase: str, call: tuple):
        self.msg, self.type_name, self.packed, self.wire, self.phase, self.call = msg, type_name, packed, wire, phase, call


def _names(parties) -> str:
    names = list(parties)
    return ", ".join(names[:6]) + (f", … ({len(names)} in all)" if len(names) > 6 else "")


def _check_data(data) -> list[np.ndarray]:
    if data is None:
        return []
    if isinstance(data, np.ndarray):
        raise ConfigError("data: expected a list of per-party arrays; partition the array first (protosim.partitions)")
    parts = []
    d = None
    for i, part in enumerate(data):
        arr = np.asarray(part)
        if arr.ndim == 1 and arr.size == 0:
            arr = arr.reshape(0, d or 0)
        if arr.ndim != 2:
            raise ConfigError(f"data[{i}]: expected a 2-D array (points x coordinates), got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number):
            raise ConfigError(f"data[{i}]: expected numbers, got dtype {arr.dtype}")
        if d is None or (d == 0 and arr.shape[1]):
            d = arr.shape[1]
        elif arr.shape[1] != d and len(arr):
            raise ConfigError(f"data[{i}]: has {arr.shape[1]} coordinates, data[0] has {d}")
        bad = ~np.isfinite(arr)
        if bad.any():
            r, c = map(int, np.argwhere(bad)[0])
            raise ConfigError(f"data[{i}]: row {r} column {c} is {arr[r, c]}; coordinates must be finite")
        parts.append(arr)
    return [p if p.shape[1] == d else p.reshape(0, d) for p in parts]
