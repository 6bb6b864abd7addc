"""protosim: a discrete-event simulator for communication protocols with exact bit accounting.

The public API: build a :class:`Simulation` on a model, spawn role functions on its
parties, :meth:`~Simulation.run` it, and read the :class:`RunResult`. Messages are
dataclasses declared with :func:`message` whose fields carry bit codes.
"""

from .budget import Budget, BudgetCheck, Fit, assert_budget, fit_exponent, fit_exponents
from .codec import Bits, Bool, Delta, Float32, Float64, Gamma, Opt, Signed, UInt, Vector, message
from .errors import CodecError, ConfigError, Deadlock, ModelViolation, ProtosimError, TimeLimit, TraceError
from .kernel import Simulation
from .models import (
    COORDINATOR, BlackboardModel, CoordinatorModel, GraphModel, MPCModel, StreamingModel, machine, site,
)
from .network import Network
from .party import Party
from .registry import Param, protocol
from .result import RunResult
from .trace import read_trace, replay, write_trace

__version__ = "0.1.0"

__all__ = [
    "COORDINATOR", "Bits", "BlackboardModel", "Bool", "Budget", "BudgetCheck", "CodecError", "ConfigError",
    "CoordinatorModel", "Deadlock", "Delta", "Fit", "Float32", "Float64", "Gamma", "GraphModel", "MPCModel",
    "ModelViolation", "Network", "Opt", "Param", "Party", "ProtosimError", "RunResult", "Signed",
    "Simulation", "StreamingModel", "TimeLimit", "TraceError", "UInt", "Vector", "assert_budget",
    "fit_exponent", "fit_exponents", "machine", "message", "protocol", "read_trace", "replay", "site",
    "write_trace",
]
