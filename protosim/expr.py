"""Safe arithmetic expressions over run parameters.

Code widths (``UInt("ceil(log2(s))")``) and budgets (``"4*(s*log2(n) + k*d*log2(n))"``)
are written as small Python expressions. They are parsed once with :mod:`ast`, checked
against a whitelist (numbers, names, + - * / // % **, unary minus, comparisons are not
allowed, calls only to the functions below), and evaluated with the run's parameters.
Nothing else can run: no attributes, no subscripts, no lambdas.
"""

from __future__ import annotations

import ast
import math
from functools import lru_cache
from typing import Mapping

FUNCTIONS = {
    "log2": math.log2,
    "log": math.log,
    "log10": math.log10,
    "ln": math.log,
    "sqrt": math.sqrt,
    "ceil": math.ceil,
    "floor": math.floor,
    "min": min,
    "max": max,
    "abs": abs,
    "exp": math.exp,
    "clog2": lambda x: max(1, math.ceil(math.log2(x))) if x > 1 else 1,
}
"""Functions an expression may call. ``clog2(x)`` is ``max(1, ceil(log2 x))``: the width
of a field that names one of x values (at least one bit)."""

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated; the message names it."""


class Expr:
    """A parsed expression; ``Expr("k*log2(n)")(dict(k=10, n=1024)) == 100.0``."""

    __slots__ = ("text", "names", "_code")

    def __init__(self, text: str):
        if not isinstance(text, str) or not text.strip():
            raise ExprError(f"expression must be a non-empty string, got {text!r}")
        self.text = text
        tree = _parse(text)
        self.names = frozenset(
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in FUNCTIONS
        )
        self._code = compile(tree, f"<expr {text}>", "eval")

    def __call__(self, params: Mapping[str, float]) -> float:
        missing = sorted(self.names - params.keys())
        if missing:
            raise ExprError(
                f"expression {self.text!r} needs parameter(s) {', '.join(missing)}; "
                f"the run has {', '.join(sorted(params)) or 'none'}"
            )
        env = {name: params[name] for name in self.names}
        try:
            return eval(self._code, {"__builtins__": {}, **FUNCTIONS}, env)  # noqa: S307 (whitelisted AST)
        except (ArithmeticError, ValueError, TypeError) as exc:
            shown = ", ".join(f"{k}={env[k]}" for k in sorted(env))
            raise ExprError(f"expression {self.text!r} failed at {shown}: {exc}") from None

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"expression {text!r} is not valid: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Load, ast.Name, ast.operator, ast.unaryop)):
            if isinstance(node, ast.operator) and not isinstance(node, _BINOPS):
                raise ExprError(f"expression {text!r}: operator {type(node).__name__} is not allowed")
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            continue
        if isinstance(node, ast.BinOp) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords:
            continue
        raise ExprError(f"expression {text!r}: {ast.unparse(node) if hasattr(node, 'lineno') else type(node).__name__} is not allowed")
    return tree


def evaluate(text_or_expr: str | Expr | float, params: Mapping[str, float]) -> float:
    """Evaluate a number, an :class:`Expr`, or expression text with ``params``."""
    if isinstance(text_or_expr, (int, float)) and not isinstance(text_or_expr, bool):
        return text_or_expr
    expr = text_or_expr if isinstance(text_or_expr, Expr) else Expr(text_or_expr)
    return expr(params)
