"""GSM8K's calculator, without ``eval``: the value of an annotation's arithmetic, ``<<48/2=`` -> ``24``.

Example: ``evaluate("48/2")`` -> ``"24"``; ``evaluate("__import__('os')")`` -> ``None``.

openai/grade-school-math's ``calculator.py`` runs ``eval`` on the text the model wrote (with a timeout); here an
expression is parsed with ``ast`` and only numbers, + - * / // % **, unary signs and parentheses are computed,
with exponents and magnitudes bounded, so nothing the model writes can run code or exhaust the machine.
"""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UN = {ast.UAdd: operator.pos, ast.USub: operator.neg}
MAX_EXPONENT = 64
MAX_MAGNITUDE = 10 ** 30
_CLEAN = re.compile(r"[,$\s]")  # "1,000", "$5" and spaces are written in annotations


class _TooBig(ValueError):
    pass


def _value(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Expression):
        return _value(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return Fraction(str(node.value)) if isinstance(node.value, float) else Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UN:
        return _UN[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow):
            if right.denominator != 1 or abs(right) > MAX_EXPONENT:
                raise _TooBig("exponent")
            out = left ** int(right)
        else:
            out = _BIN[type(node.op)](left, right)
        if abs(out) > MAX_MAGNITUDE:
            raise _TooBig("magnitude")
        return Fraction(out)
    raise ValueError(f"not arithmetic: {type(node).__name__}")


def format_number(x: Fraction) -> str:
    """An integer as itself; otherwise a decimal rounded to 6 places, trailing zeros dropped."""
    if x.denominator == 1:
        return str(x.numerator)
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def evaluate(expr: str) -> str | None:
    """The value of ``expr`` as the calculator writes it, or None when it is not plain bounded arithmetic."""
    text = _CLEAN.sub("", expr)
    if not text or len(text) > 200:
        return None
    try:
        return format_number(_value(ast.parse(text, mode="eval")))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None
