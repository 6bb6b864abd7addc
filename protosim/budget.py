"""Budgets: a paper's bound, written as a formula with explicit constants, over a run figure.

A :class:`Budget` names a figure of a run (``bits``, ``rounds``, ...) and a bound over the
run's parameters (``"4*(s*log2(n) + k*d*log2(n))"``). :meth:`Budget.check` evaluates the
bound at the run's parameters and compares it with the measured figure; the
:class:`BudgetCheck` prints as the paper would state it::

    Algorithm 10: allowed 123,456 bits (4·(s·log2 n + k·d·log2 n) at s=100, n=1797, k=10, d=64), measured 130,002

:func:`assert_budget` is the pytest helper. :func:`fit_exponents` fits growth exponents to a
sweep by log-log least squares, so a test can check that bits grow like ``s·k^0.5``.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from .errors import ConfigError
from .expr import Expr, ExprError
from .result import FIGURES

BREAKDOWN_FIGURES = ("bits", "wire_bytes", "messages")
"""Figures that the ledger breaks down by phase and party."""

UNITS = {
    "bits": "bits",
    "wire_bytes": "wire bytes",
    "messages": "messages",
    "rounds": "rounds",
    "sim_time": "s",
    "peak_memory": "bits",
    "max_party_bits": "bits",
    "passes": "passes",
}

_KEYS = ("name", "figure", "bound", "phase", "party", "note", "kind")
KINDS = ("upper", "lower")
"""An upper budget holds when measured <= limit; a lower bound when measured >= limit."""


class _Result(Protocol):
    params: Mapping[str, float]

    def figure(self, name: str, phase: str | None = None, party: str | None = None) -> float: ...


@dataclass(frozen=True)
class Budget:
    """A named bound ``figure <= bound(params)`` (or ``>=`` with ``kind="lower"``), optionally
    restricted to one phase or party.

    A lower bound (a paper's Ω(·) with the constant written out) checks that the protocol
    pays at least what any protocol must; a sweep plots it beside the upper bounds.
    """

    name: str
    figure: str
    bound: str
    phase: str | None = None
    party: str | None = None
    note: str = ""
    kind: str = "upper"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"budget name: must be a non-empty string, got {self.name!r}")
        where = f"budget {self.name!r}"
        if self.kind not in KINDS:
            raise ConfigError(f"{where}, field 'kind': must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.figure not in FIGURES:
            raise ConfigError(
                f"{where}, field 'figure': unknown figure {self.figure!r}; expected one of {', '.join(FIGURES)}"
            )
        bound = self.bound
        if isinstance(bound, (int, float)) and not isinstance(bound, bool):
            bound = repr(bound)
            object.__setattr__(self, "bound", bound)
        try:
            Expr(bound)
        except ExprError as exc:
            raise ConfigError(f"{where}, field 'bound': {exc}") from None
        for key in ("phase", "party"):
            value = getattr(self, key)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}, field {key!r}: must be a non-empty string, got {value!r}")
            if self.figure not in BREAKDOWN_FIGURES:
                raise ConfigError(
                    f"{where}, field {key!r}: only allowed with figure {', '.join(BREAKDOWN_FIGURES)}, "
                    f"not {self.figure!r}"
                )
        if not isinstance(self.note, str):
            raise ConfigError(f"{where}, field 'note': must be a string, got {self.note!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "budgets[0]") -> Budget:
        """Build a budget from a scenario table; errors name the key path under ``where``."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where}: must be a table with keys {', '.join(_KEYS)}, got {d!r}")
        for key in d:
            if key not in _KEYS:
                raise ConfigError(f"{where}.{key}: unknown key; expected one of {', '.join(_KEYS)}")
        for key in ("name", "figure", "bound"):
            if key not in d:
                raise ConfigError(f"{where}.{key}: missing required key")
        try:
            return cls(**d)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    @property
    def expr(self) -> Expr:
        """The parsed bound (parsing is cached, so this is cheap; a Budget stays picklable)."""
        return Expr(self.bound)

    def limit(self, params: Mapping[str, float]) -> float:
        """The bound evaluated at ``params``."""
        try:
            return float(self.expr(params))
        except ExprError as exc:
            raise ConfigError(f"budget {self.name!r}, field 'bound': {exc}") from None

    def check(self, result: _Result) -> BudgetCheck:
        """Compare the run's figure with the bound at the run's parameters."""
        limit = self.limit(result.params)
        measured = float(result.figure(self.figure, phase=self.phase, party=self.party))
        used = {name: _plain(result.params[name]) for name in _names_in_order(self.expr)}
        return BudgetCheck(
            name=self.name,
            figure=self.figure,
            bound=self.bound,
            limit=limit,
            measured=measured,
            ok=measured <= limit if self.kind == "upper" else measured >= limit,
            params=used,
            phase=self.phase,
            party=self.party,
            kind=self.kind,
        )


@dataclass(frozen=True)
class BudgetCheck:
    """The outcome of one budget on one run; ``params`` holds only the parameters the bound uses."""

    name: str
    figure: str
    bound: str
    limit: float
    measured: float
    ok: bool
    params: dict
    phase: str | None = None
    party: str | None = None
    kind: str = "upper"

    @property
    def message(self) -> str:
        """One line: ``NAME: allowed LIMIT UNIT (BOUND at p=v, ...), measured VALUE``
        (``needs at least`` for a lower bound)."""
        unit = UNITS[self.figure]
        if self.phase is not None:
            unit += f" (phase {self.phase})"
        if self.party is not None:
            unit += f" (party {self.party})"
        bound = pretty_bound(self.bound)
        if self.params:
            bound += " at " + ", ".join(f"{k}={_format_param(v)}" for k, v in self.params.items())
        verb = "allowed" if self.kind == "upper" else "needs at least"
        return (
            f"{self.name}: {verb} {format_figure(self.limit)} {unit} ({bound}), "
            f"measured {format_figure(self.measured)}"
        )

    def to_dict(self) -> dict:
        """Plain JSON-able dict; ``phase`` and ``party`` appear only when set."""
        out = {
            "name": self.name,
            "figure": self.figure,
            "limit": self.limit,
            "measured": self.measured,
            "ok": bool(self.ok),
            "bound": self.bound,
            "params": dict(self.params),
            "kind": self.kind,
        }
        if self.phase is not None:
            out["phase"] = self.phase
        if self.party is not None:
            out["party"] = self.party
        return out


def assert_budget(result: _Result, budget: Budget) -> BudgetCheck:
    """Pytest helper: return the check when the run keeps the budget, else fail with its message."""
    __tracebackhide__ = True
    check = budget.check(result)
    if not check.ok:
        raise AssertionError(check.message)
    return check


# -- formatting ---------------------------------------------------------------------------


def format_figure(x: float) -> str:
    """Thousands separators; integral values as integers, others with 3 decimals
    (3 significant digits below 1, so small times do not print as 0.000)."""
    if not math.isfinite(x):
        return str(x)
    if float(x).is_integer():
        return f"{int(x):,}"
    if abs(x) < 1:
        return f"{x:.3g}"
    return f"{x:,.3f}"


def _format_param(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _plain(v: Any) -> Any:
    """numpy scalars -> Python numbers, so checks stay JSON-able."""
    return v.item() if isinstance(v, np.generic) else v


def _names_in_order(expr: Expr) -> list[str]:
    """Parameter names of ``expr`` in order of first appearance in its text."""
    nodes = [n for n in ast.walk(ast.parse(expr.text, mode="eval")) if isinstance(n, ast.Name)]
    seen: dict[str, None] = {}
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset)):
        if node.id in expr.names:
            seen.setdefault(node.id)
    return list(seen)


_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.FloorDiv: 2, ast.Mod: 2, ast.Pow: 4}
_SYMBOL = {ast.Add: " + ", ast.Sub: " - ", ast.Mult: "·", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: " mod ", ast.Pow: "^"}
_UNARY = 3


def pretty_bound(text: str) -> str:
    """Render a bound as a paper would: ``4*(s*log2(n) + k)`` -> ``4·(s·log2 n + k)``."""
    return _pretty(ast.parse(text, mode="eval").body)


def _pretty(node: ast.AST, parent: int = 0, right: bool = False) -> str:
    if isinstance(node, ast.Constant):
        return repr(node.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.UnaryOp):
        out = ("-" if isinstance(node.op, ast.USub) else "+") + _pretty(node.operand, _UNARY)
        return f"({out})" if parent > _UNARY else out
    if isinstance(node, ast.Call):  # the expression whitelist allows only named calls
        if _is_bare_call(node):
            return f"{node.func.id} {_pretty(node.args[0])}"
        return f"{node.func.id}({', '.join(_pretty(a) for a in node.args)})"
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        prec = _PRECEDENCE[op]
        left = _operand(node.left, op, prec + 1 if op is ast.Pow else prec, False)
        right_s = _operand(node.right, op, prec, True)
        out = f"{left}{_SYMBOL[op]}{right_s}"
        needs = prec < parent or (prec == parent and right and op is not ast.Pow)
        return f"({out})" if needs else out
    raise ValueError(f"cannot render {ast.dump(node)}")  # unreachable for a parsed Expr


def _is_bare_call(node: ast.AST) -> bool:
    """``log2(n)`` prints as ``log2 n`` when its argument is a single name or number."""
    return isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.args[0], (ast.Name, ast.Constant))


def _operand(node: ast.AST, op: type, prec: int, right: bool) -> str:
    out = _pretty(node, prec, right)
    # "log2 n" reads as one factor in a sum or product and as a denominator ("n/log2 n");
    # anywhere else ("(log2 n)/s", "(log2 n)^2") it keeps parentheses.
    if _is_bare_call(node) and not (op in (ast.Add, ast.Sub, ast.Mult) or (op is ast.Div and right)):
        return f"({out})"
    return out


# -- growth exponents ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """``log2(figure) = intercept + sum_k exponents[k]·log2(key_k)``; ``residual`` is the RMS
    of the log2 residuals over ``n_points`` points."""

    exponents: dict[str, float]
    intercept: float
    residual: float
    n_points: int


def fit_exponents(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], figure: str) -> Fit:
    """Multivariate log-log least squares of ``figure`` on ``keys`` over sweep ``rows``.

    Repeated rows (same keys, several seeds) are simply more points. Every value must be
    positive and finite; each key must vary, independently of the others in log space; and
    there must be at least ``len(keys) + 2`` points (one more than the unknowns).
    """
    keys = list(keys)
    if not keys:
        raise ConfigError("fit keys: need at least one key")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"fit keys: repeated key in {keys}")
    if figure in keys:
        raise ConfigError(f"fit keys: figure {figure!r} cannot also be a key")
    unknowns = len(keys) + 1
    if len(rows) < unknowns + 1:
        raise ConfigError(
            f"fit of {figure!r} on {', '.join(keys)}: need at least {unknowns + 1} points "
            f"for {unknowns} unknowns, got {len(rows)}"
        )
    logs = np.empty((len(rows), unknowns))
    for i, row in enumerate(rows):
        for j, key in enumerate([*keys, figure]):
            if key not in row:
                raise ConfigError(f"rows[{i}].{key}: missing")
            logs[i, j] = _log2_positive(row[key], f"rows[{i}].{key}")
    X, y = np.column_stack([np.ones(len(rows)), logs[:, :-1]]), logs[:, -1]
    for j, key in enumerate(keys):
        if np.ptp(X[:, j + 1]) == 0:
            raise ConfigError(
                f"fit of {figure!r}: key {key!r} does not vary (always {rows[0][key]}); "
                "its exponent cannot be fitted"
            )
    coef, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    if rank < unknowns:
        raise ConfigError(
            f"fit of {figure!r}: keys {', '.join(keys)} are collinear in log space "
            "(one is a power-law function of the others); vary them independently"
        )
    residuals = y - X @ coef
    return Fit(
        exponents={key: float(c) for key, c in zip(keys, coef[1:])},
        intercept=float(coef[0]),
        residual=float(np.sqrt(np.mean(residuals**2))),
        n_points=len(rows),
    )


def fit_exponent(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    """One-key fit ``log2 y = c + a·log2 x``; the exponent is ``fit.exponents["x"]``."""
    if len(xs) != len(ys):
        raise ConfigError(f"fit: xs has {len(xs)} values but ys has {len(ys)}")
    return fit_exponents([{"x": x, "y": y} for x, y in zip(xs, ys)], ["x"], "y")


def _log2_positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{where}: must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{where}: must be positive and finite for a log-log fit, got {value!r}")
    return math.log2(value)
