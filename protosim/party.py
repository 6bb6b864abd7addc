"""Party: one participant of a protocol, and the verbs its role function uses.

A role is a generator function ``role(party, ...)``; the kernel runs it as one SimPy
process. Sending is immediate (``party.send``, ``party.post``); waiting is a yield of an
event (``msg = yield party.recv(Reply, src="coord")``). Sub-protocols compose with
``yield from``. A protocol never touches SimPy directly.
"""

from __future__ import annotations

from contextlib import contextmanager
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import numpy as np

from .errors import CodecError, ConfigError, ModelViolation

if TYPE_CHECKING:
    from .kernel import Simulation


_CALL, _DEPTH, _MSG = attrgetter("call"), attrgetter("depth"), attrgetter("msg")


def call_key(params: dict | None) -> tuple:
    """Call parameters as a hashable, order-free key (``()`` for none)."""
    if not params:
        return ()
    items = tuple(params.items())
    return items if len(items) == 1 else tuple(sorted(items))


class Envelope:
    """A delivered message with its sender, causal depth, ledger sequence number and call parameters."""

    __slots__ = ("msg", "src", "depth", "seq", "call")

    def __init__(self, msg, src: str, depth: int, seq: int, call: tuple = ()):
        self.msg, self.src, self.depth, self.seq, self.call = msg, src, depth, seq, call


class Waiter:
    """A pending recv or read: filter, expected call parameters, how many, what it has, its event.

    A blackboard read that waits joins a *group* of waiters with the same filter
    (:class:`~protosim.models.blackboard.BlackboardModel`): the posts it still needs are
    counted there, not appended one by one, and handed over when it is complete.
    """

    __slots__ = ("types", "src", "call", "count", "got", "event", "group", "start", "order")

    def __init__(self, types, src, call: tuple, count: int | None):
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise ConfigError(f"count: must be an integer >= 1 (or None for one message), got {count!r}")
        self.types, self.src, self.call, self.count = types, src, call, count
        self.got: list[Envelope] = []
        self.event = None
        self.group = None  # a blackboard filter group, while the read waits in one
        self.start = 0  # how many posts that group had matched when this read joined it
        self.order = 0  # when a recv started waiting: the earliest matching recv gets a message

    def matches(self, env: Envelope) -> bool:
        return (self.types is None or isinstance(env.msg, self.types)) and (self.src is None or env.src == self.src)

    @property
    def missing(self) -> int:
        pending = 0 if self.group is None else len(self.group.hits) - self.start
        return (self.count or 1) - len(self.got) - pending

    def describe(self, verb: str) -> str:
        if self.types is None:
            what = "any message"
        elif isinstance(self.types, tuple):
            what = " or ".join(t.__name__ for t in self.types)
        else:
            what = self.types.__name__
        many = "" if self.count is None else f"{self.missing} more of {self.count} "
        return f"{verb}({many}{what}{'' if self.src is None else ' from ' + self.src})"


class Party:
    """A site, the coordinator, or a machine: its name, data, RNG, depth and verbs."""

    def __init__(self, sim: "Simulation", name: str, kind: str, data: np.ndarray | None, rng: np.random.Generator):
        self.sim = sim
        self.name = name
        self.kind = kind
        self.data = data
        self.rng = rng
        self.depth = 0
        self.crashed = False
        self.finished = False
        self._wait = None  # None, a description, or (verb, Waiter) rendered on demand
        self.process = None
        self.conversations: list = []  # processes of conversations running side by side
        self._phase = ""
        self._inbox: list[Envelope] = []
        self._waiters: dict[str | None, list[Waiter]] = {}  # waiting recvs by their src filter
        self._recvs = 0  # recvs that have waited, for their order
        self.board_cursor = 0
        self.memory: dict[str, int] = {}
        self.passes = 0

    def __repr__(self) -> str:
        return f"Party({self.name!r})"

    @property
    def waiting_for(self) -> str | None:
        """What this party's role waits for, e.g. ``"read(3 more of 5 SiteCount)"`` (None: nothing).

        Conversations run side by side (:meth:`concurrently`) each wait for their own recv;
        the first three are named, then how many more.
        """
        w = self._wait
        what = [] if w is None else [w if isinstance(w, str) else w[1].describe(w[0])]
        what += [r.describe("recv") for r in sorted((r for rs in self._waiters.values() for r in rs),
                                                    key=lambda r: r.order)]
        if len(what) > 3:
            what[3:] = [f"{len(what) - 3} more"]
        return "; ".join(what) or None

    @waiting_for.setter
    def waiting_for(self, value: str | None) -> None:
        self._wait = value

    # -- phases ---------------------------------------------------------------------------
    @property
    def current_phase(self) -> str:
        return self._phase

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Label what this party sends inside the block; phases nest as ``outer/inner``."""
        outer = self._phase
        self._phase = f"{outer}/{name}" if outer else name
        try:
            yield
        finally:
            self._phase = outer

    # -- point to point -------------------------------------------------------------------
    # ``params``: call parameters, values that both sides know for this exchange only (a
    # sub-protocol's t or b), used by width and length expressions like the run's
    # parameters. The receiver names the ones it expects; a mismatch is a CodecError.
    def send(self, dst: str, msg, params: dict | None = None) -> None:
        """Send ``msg`` to ``dst`` over a direct channel the model must allow."""
        self.sim._send(self, dst, msg, False, params)

    def route(self, dst: str, msg, params: dict | None = None) -> None:
        """Send ``msg`` to ``dst`` along the model's route; on a graph every hop is charged."""
        self.sim._send(self, dst, msg, True, params)

    def broadcast(self, dsts: Iterable[str], msg, params: dict | None = None) -> None:
        """Send the same message to each of ``dsts`` (each copy is charged)."""
        for dst in dsts:
            self.sim._send(self, dst, msg, False, params)

    def recv(self, types=None, src: str | None = None, params: dict | None = None, count: int | None = None):
        """An event that yields the next delivered message of ``types`` from ``src``.

        With ``count=n`` it yields a list of the next n such messages, in one event.
        """
        w = Waiter(types, src, call_key(params), count)
        if self._inbox:
            self._take_from_inbox(w)
            if not w.missing:
                return self._complete(w)
        w.event = self.sim.env.event()
        self._recvs += 1
        w.order = self._recvs
        self._waiters.setdefault(src, []).append(w)
        return w.event

    def _take_from_inbox(self, w: Waiter) -> None:
        """Move the delivered messages ``w`` matches, oldest first, until it has enough."""
        inbox, i = self._inbox, 0
        while w.missing and i < len(inbox):
            if w.matches(inbox[i]):
                w.got.append(inbox.pop(i))
            else:
                i += 1

    def _deliver(self, env: Envelope) -> None:
        """Hand ``env`` to the earliest waiting recv it matches, or keep it in the inbox."""
        first = None
        for src in (env.src, None):
            for i, w in enumerate(self._waiters.get(src, ())):
                if w.matches(env):
                    if first is None or w.order < first[2].order:
                        first = (src, i, w)
                    break
        if first is None:
            self._inbox.append(env)
            return
        src, i, w = first
        w.got.append(env)
        if len(w.got) == (w.count or 1):  # a waiting recv belongs to no blackboard group
            waiting = self._waiters[src]
            del waiting[i]
            if not waiting:
                del self._waiters[src]
            self._complete(w)

    def _complete(self, w: Waiter, senders: bool = True):
        """Hand a satisfied waiter its message (or list of messages); returns its event.

        ``senders=False``: the messages' ``sender`` is already set (the blackboard sets it
        once per post when it publishes).
        """
        got, call = w.got, w.call
        if len(got) == 1:
            env = got[0]
            if env.call != call:
                self._consume(env, call)  # raises the CodecError
            if env.depth > self.depth:
                self.depth = env.depth
            if senders:
                env.msg.sender = env.src
        else:  # a batch: the same checks in C-level passes
            if any(map(call.__ne__, map(_CALL, got))):
                for env in got:
                    if env.call != call:
                        self.depth = max(self.depth, max(map(_DEPTH, got[:got.index(env)]), default=0))
                        self._consume(env, call)  # raises the CodecError
            self.depth = max(self.depth, max(map(_DEPTH, got)))
            if senders:
                for env in got:
                    env.msg.sender = env.src
        if w.event is None:
            w.event = self.sim.env.event()
        w.event.succeed(got[0].msg if w.count is None else list(map(_MSG, got)))
        return w.event

    def _consume(self, env: Envelope, call: tuple) -> None:
        if env.call != call:
            raise CodecError(
                f"{self.name} received {type(env.msg).__name__} from {env.src} encoded with call parameters "
                f"{dict(env.call)}, but expected {dict(call)}: both sides must know the same widths"
            )
        if env.depth > self.depth:
            self.depth = env.depth
        env.msg.sender = env.src

    # -- conversations side by side --------------------------------------------------------
    def concurrently(self, conversations: Iterable):
        """An event that runs ``conversations`` side by side and yields their return values.

        Each conversation is a sub-protocol of this party (a generator using its verbs, as
        for ``yield from``), e.g. one exchange per site: ``replies = yield
        coord.concurrently(exchange(coord, j) for j in sites)``. Each runs as a process of
        its own with its own phase (it starts in this one's). Causal depth is the party's:
        what one conversation received precedes what any of them sends next.
        """
        return self.sim._concurrently(self, list(conversations))

    # -- blackboard -----------------------------------------------------------------------
    def post(self, msg, params: dict | None = None) -> None:
        """Write ``msg`` on the blackboard: charged once, read by everyone for free."""
        self.sim._post(self, msg, params)

    def read(self, types=None, src: str | None = None, params: dict | None = None, count: int | None = None):
        """An event that yields the next post after this party's cursor matching the filter.

        The cursor moves just past the post returned; posts skipped by the filter stay on
        the board (``party.board``) but this party's cursor has passed them. With
        ``count=n`` it yields a list of the next n matching posts, in one event.
        """
        return self.sim.model.read(self, Waiter(types, src, call_key(params), count))

    @property
    def board(self) -> list:
        """Every post visible now, as messages (reading is free)."""
        return [env.msg for env in self.sim.model.posts(self)]

    # -- synchronous rounds (MPC) ---------------------------------------------------------
    def sync(self):
        """End this machine's round; yields the messages delivered to it for the next round."""
        return self.sim.model.sync(self)

    # -- memory (MPC, streaming) ----------------------------------------------------------
    def hold(self, key: str, msg) -> None:
        """Keep ``msg`` in this machine's memory under ``key``; its encoded bits count."""
        self.sim.model.hold(self, key, msg)

    def release(self, key: str) -> None:
        """Forget what is held under ``key``."""
        self.memory.pop(key, None)

    @property
    def memory_bits(self) -> int:
        return sum(self.memory.values())

    # -- streaming ------------------------------------------------------------------------
    def stream(self, batch: int = 1024) -> Iterator[np.ndarray]:
        """One pass over the input in batches of rows; each call counts a pass."""
        return self.sim.model.stream(self, batch)

    # -- public computation ---------------------------------------------------------------
    def shared(self, key, compute):
        """``compute()``, evaluated once per run for every party that asks with the same ``key``.

        For values that every party derives alike from public information only: posts it
        has read, the run's parameters. ``key`` must name every input (message objects by
        ``id``: a post stays on the board, so its id is unique in the run). The simulator
        then does once what the parties would each do; nothing is sent or charged either
        way. Treat the value as read-only: it is the same object for everyone.
        """
        memo = self.sim.memo
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = compute()
            return value

    # -- time and coins -------------------------------------------------------------------
    def sleep(self, seconds: float):
        """Local computation or waiting for ``seconds`` of simulated time."""
        return self.sim.env.timeout(seconds)

    @property
    def model(self):
        """The communication model this party lives in."""
        return self.sim.model

    @property
    def now(self) -> float:
        return self.sim.env.now

    def public_coins(self, key: Any) -> np.random.Generator:
        """The shared random stream named ``key``: every party gets the same draws.

        Only when the model declares public coins; otherwise a protocol must send a seed.
        """
        if not self.sim.model.public_coins:
            raise ModelViolation(
                f"{self.sim.model.name} model: {self.name} asked for public coins {key!r} at round "
                f"{self.depth + 1}, but the model declares private coins only; send a seed "
                f"(and pay for it) or set public_coins = true"
            )
        return self.sim._public_stream(key)
