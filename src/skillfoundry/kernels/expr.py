"""Tiny safe arithmetic over shape symbols, used for shapes, launch grids, scalars and FLOP counts.

Allowed: integer/float literals, symbol names, + - * / // % **, unary -, and the calls
``cdiv(a, b)`` (ceiling division), ``min``, ``max``, ``sqrt``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from functools import lru_cache

from skillfoundry.kernels.errors import ExpressionError

Number = int | float

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def cdiv(a: int, b: int) -> int:
    """Ceiling division of non-negative integers."""
    return -(-a // b)


_FUNCS = {"cdiv": cdiv, "min": min, "max": max, "sqrt": math.sqrt}


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.expr:
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"expression {text!r}: not valid arithmetic ({exc.msg})") from None


def _eval(node: ast.expr, env: Mapping[str, Number], text: str) -> Number:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise ExpressionError(f"expression {text!r}: unknown symbol {node.id!r} (known: {sorted(env)})")
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, env, text), _eval(node.right, env, text)
        try:
            return _BINOPS[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ExpressionError(f"expression {text!r}: division by zero") from None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand, env, text)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        args = [_eval(arg, env, text) for arg in node.args]
        try:
            return _FUNCS[node.func.id](*args)
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise ExpressionError(f"expression {text!r}: bad call {node.func.id}(): {exc}") from None
    raise ExpressionError(f"expression {text!r}: unsupported syntax {type(node).__name__}")


def evaluate(text: str | int | float, env: Mapping[str, Number]) -> Number:
    """Evaluate ``text`` with the symbols in ``env``; numbers pass through unchanged."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text
    return _eval(_parse(str(text)), env, str(text))


def evaluate_int(text: str | int, env: Mapping[str, Number]) -> int:
    """Evaluate an expression that must give a whole number (a size or a grid dimension)."""
    value = evaluate(text, env)
    if isinstance(value, float):
        if not value.is_integer():
            raise ExpressionError(f"expression {text!r}: expected a whole number, got {value}")
        value = int(value)
    return value


def symbols(text: str | int | float) -> set[str]:
    """The symbol names an expression refers to (function names excluded)."""
    if isinstance(text, (int, float)):
        return set()
    tree = _parse(str(text))
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - called
