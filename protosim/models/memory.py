"""What a machine holds, measured with the codec (shared by the MPC and streaming models)."""

from __future__ import annotations

from ..codec import Float64, Vector, message


@message
class InputShard:
    """A machine's input points as it holds them: float64 coordinates, d per point."""

    points: Vector(Vector(Float64(), length="d"))


def hold(model, party, key: str, msg, limit: float | None) -> None:
    """Charge ``msg``'s encoded bits to ``party``'s memory; refuse when over ``limit``."""
    packed = party.sim.encode(party, msg).packed
    party.memory[key] = packed.nbits
    held = party.memory_bits
    if limit is not None and held > limit:
        del party.memory[key]
        raise model.violation(party, f"would hold {held:,} bits with {key!r} ({packed.nbits:,} bits), over its memory S = {limit:,.0f}")
    model.peak_memory = max(model.peak_memory, held)
