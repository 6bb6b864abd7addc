"""The errors protosim raises. Each message names the party, field or key and the value."""


class ProtosimError(Exception):
    """Base class of every error protosim raises on purpose."""


class ConfigError(ProtosimError, ValueError):
    """Bad input to a public entry point: a field, key or value that is not allowed."""


class CodecError(ProtosimError, ValueError):
    """A value that does not fit its declared code, or bytes that do not decode."""


class ModelViolation(ProtosimError):
    """The communication model forbids what a party tried (names party, round and figure)."""


class Deadlock(ProtosimError):
    """Every live party waits and no event is left; ``blocked`` maps party -> what it waits for."""

    def __init__(self, message: str, blocked: dict[str, str], reason: str = "deadlock"):
        super().__init__(message)
        self.blocked = blocked
        self.reason = reason


class TimeLimit(Deadlock):
    """A wall-clock or simulated-time limit ended the run; reported like a deadlock."""


class TraceError(ProtosimError, ValueError):
    """A trace file that is truncated, corrupt, oversized or of the wrong version."""
