"""Traces for addition, subtraction and division with remainder, and the empty ``plain`` trace.

Example: ``render(Problem.make("add", 58, 67, ...), "long")`` (traces/__init__.py renders any of them)
"""

from __future__ import annotations

from mathcoach.problems.problem import Problem
from mathcoach.problems.traces.steps import ADDITION, COPY, PLACES, PRODUCT, QUOTIENT, Step, digit, step


def add_long(p: Problem) -> list[Step]:
    """Column addition, ones first; the carry is always written (even 0) so a dropped carry is visible."""
    steps, carry = [], 0
    for k in range(max(len(str(p.a)), len(str(p.b)))):
        x, y = digit(p.a, k), digit(p.b, k)
        s = x + y + carry
        steps.append(
            step(PLACES[k] + ": {} + {} + {} = {}, write {}, carry {}",
               (x, COPY), (y, COPY), (carry, ADDITION), (s, ADDITION), (s % 10, ADDITION), (s // 10, ADDITION))
        )
        carry = s // 10
    return steps


def sub_long(p: Problem) -> list[Step]:
    """Column subtraction with borrows; a negative result is computed as -(b - a)."""
    steps, top, bottom = [], p.a, p.b
    if p.a < p.b:
        steps.append(step("{} - {} = -({} - {})", (p.a, COPY), (p.b, COPY), (p.b, COPY), (p.a, COPY)))
        top, bottom = p.b, p.a
    borrow = 0
    for k in range(len(str(top))):
        x, y = digit(top, k), digit(bottom, k)
        out = 1 if x - borrow < y else 0
        steps.append(
            step(PLACES[k] + ": {} - {} - {} = {}, borrow {}",
               (x + 10 * out, ADDITION), (y, COPY), (borrow, ADDITION), (x + 10 * out - y - borrow, ADDITION),
               (out, ADDITION))
        )
        borrow = out
    return steps


# ---------------------------------------------------------------- division with remainder


def div_long(p: Problem) -> list[Step]:
    """Long division over every digit of the dividend: bring down, quotient digit, multiply, subtract."""
    steps, rem = [], 0
    for d in str(p.a):
        chunk = rem * 10 + int(d)
        q = chunk // p.b
        steps.append(
            step("{} / {} = {}, {} * {} = {}, {} - {} = {}",
               (chunk, COPY), (p.b, COPY), (q, QUOTIENT), (q, COPY), (p.b, COPY), (q * p.b, PRODUCT),
               (chunk, COPY), (q * p.b, COPY), (chunk - q * p.b, ADDITION))
        )
        rem = chunk - q * p.b
    return steps


def plain(p: Problem) -> list[Step]:
    return []
