"""Model: the base of every communication model. It decides who may talk to whom.

A model creates the parties (:meth:`build`), answers which path a message takes
(:meth:`path`, raising :class:`ModelViolation` for what it forbids), and delivers. The
defaults refuse the blackboard, synchronous rounds, memory and streaming; the models that
have them override those verbs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ModelViolation

if TYPE_CHECKING:
    from ..kernel import Simulation
    from ..party import Envelope, Party

COORDINATOR = "coord"
"""The coordinator's party name, in every model that has one."""


def site(i: int) -> str:
    """The name of site ``i`` (``site(3) == "site3"``)."""
    return f"site{i}"


class Model:
    """A communication model; subclasses set ``name`` and ``description``."""

    name = "model"
    description = ""
    synchronous = False
    """True where messages wait for the end of a round (MPC) instead of travelling at once."""

    def __init__(self, *, public_coins: bool = False):
        self.public_coins = bool(public_coins)
        self.coordinator: Party | None = None
        self.sites: list[Party] = []
        self.peak_memory = 0

    def build(self, sim: "Simulation", parts) -> None:
        raise NotImplementedError

    def params(self) -> dict:
        """Parameters the model adds to the run (e.g. MPC's p and S)."""
        return {}

    def violation(self, party: "Party", what: str) -> ModelViolation:
        return ModelViolation(f"{self.name} model: {party.name} {what} (round {party.depth + 1})")

    # -- messages -------------------------------------------------------------------------
    def path(self, party: "Party", dst: str, route: bool, bits: int) -> list[str]:
        """The parties a message goes through, ``[src, ..., dst]``; raise for what is forbidden."""
        if dst == party.name:
            raise self.violation(party, f"sent a message to itself ({bits} bits)")
        return [party.name, dst]

    def on_send(self, party: "Party", dst: str, bits: int) -> None:
        """Called for every charged hop (MPC counts bits per round here)."""

    def deliver(self, party: "Party", envelope: "Envelope") -> None:
        party._deliver(envelope)

    # -- blackboard -----------------------------------------------------------------------
    def check_post(self, party: "Party") -> None:
        raise self.violation(party, "posted, but this model has no blackboard")

    def read(self, party, waiter):
        raise self.violation(party, "read the blackboard, but this model has no blackboard")

    def posts(self, party):
        raise self.violation(party, "looked at the blackboard, but this model has no blackboard")

    def publish(self, sim, envelope) -> None:  # pragma: no cover - only boards publish
        raise NotImplementedError

    # -- rounds, memory, streams ----------------------------------------------------------
    def sync(self, party):
        raise self.violation(party, "called sync, but this model has no synchronous rounds")

    def hold(self, party, key, msg) -> None:
        raise self.violation(party, "held memory, but this model does not measure memory")

    def stream(self, party, batch):
        raise self.violation(party, "asked for a stream pass, but this model has no stream")

    def enqueue(self, dst: str, envelope) -> None:  # pragma: no cover - synchronous models only
        raise NotImplementedError

    def on_exit(self, party) -> None:
        """Called when a party's role returns or the party crashes."""

    def finish(self, sim) -> None:
        """Called once when the event queue is empty."""

    def figures(self) -> dict:
        """Model-specific figures for the result (e.g. streaming passes)."""
        return {}


class StarModel(Model):
    """Shared set-up of the coordinator and blackboard models: a coordinator and s sites."""

    def build(self, sim, parts) -> None:
        self.coordinator = sim.new_party(COORDINATOR, "coordinator")
        self.sites = [sim.new_party(site(i), "site", part) for i, part in enumerate(parts)]
