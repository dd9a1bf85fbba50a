"""The building blocks of every trace: ``Step`` (a template, its numbers and their roles) and number helpers.

Example: ``Step("{} * {} = {}", (6, 8, 48), (COPY, COPY, PRODUCT)).text()`` -> ``"6 * 8 = 48"``

A trace is a list of ``Step``s. Each number in a step has a *role*: ``copy`` (taken from the problem or an
earlier step), or the kind of computation that produced it. The step checker (checker.py) compares a model's
numbers with these, so one definition serves both the training targets and the diagnosis of a first wrong step.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from mathcoach.problems.problem import Problem

# Roles a number can have; each maps to the error type reported when the number is wrong (checker.py).
COPY, SPLIT, PRODUCT, ADDITION, QUOTIENT = "copy", "split", "product", "addition", "quotient"


class Step(NamedTuple):  # a NamedTuple, not a dataclass: building a million traces a minute needs cheap steps
    template: str
    nums: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()

    def text(self) -> str:
        return self.template.format(*self.nums)


def step(template: str, *pairs: tuple[int, str]) -> Step:
    nums, roles = zip(*pairs)
    return Step(template, nums, roles)


_PRODUCT_ROLES = (COPY, COPY, PRODUCT)
_SUM_ROLES = (COPY, COPY, ADDITION)


@functools.lru_cache(maxsize=1 << 16)  # operands and digit pairs recur constantly in a large dataset
def place_parts(n: int) -> tuple[int, ...]:
    """37 -> [30, 7]; 307 -> [300, 7]: the nonzero digits with their place values, highest first."""
    s = str(n)
    parts = tuple(int(d) * 10 ** (len(s) - i - 1) for i, d in enumerate(s) if d != "0")
    return parts or (0,)


@functools.lru_cache(maxsize=1 << 16)
def split_step(n: int) -> Step:
    parts = place_parts(n)
    return step("{} = " + " + ".join(["{}"] * len(parts)), (n, COPY), *[(p, SPLIT) for p in parts])


def sum_steps(terms: list[int], template: str = "{} + {} = {}") -> list[Step]:
    steps, total = [], terms[0]
    for t in terms[1:]:
        steps.append(Step(template, (total, t, total + t), _SUM_ROLES))
        total += t
    return steps


@functools.lru_cache(maxsize=1 << 16)
def product_step(x: int, y: int) -> Step:
    return Step("{} * {} = {}", (x, y, x * y), _PRODUCT_ROLES)


class Digits(int):
    """Digits written as they stand, leading zeros kept ("08"); the int value is what a checker reads back."""

    def __new__(cls, digits: str):
        obj = super().__new__(cls, int(digits))
        obj.digits = digits
        return obj

    def __format__(self, spec: str) -> str:
        return self.digits


def rev(n: int, width: int = 0) -> Digits:
    """A number written ones digit first, zero-padded to ``width`` first: ``rev(1408)`` renders as "8041",
    ``rev(1408, 6)`` as "804100"; the step checker reads it back as ``int("8041")``."""
    return Digits(str(n).zfill(width)[::-1])


ALIGNED_FRAME = 6  # operand digits every `aligned` (and `places`) trace is padded to: one shape for every cell to 6x6


def frame_width(p: Problem, least: int = ALIGNED_FRAME) -> int:
    return max(least, len(str(p.a)), len(str(p.b)))


# Place names without digits (a digit in a name would be read as a step's number), for every place of a product
# of two MAX_DIGITS-digit numbers (`columns` writes one line per place): ones ... hundred nonillions (10^32).
_GROUPS = ("thousands", "millions", "billions", "trillions", "quadrillions", "quintillions", "sextillions",
           "septillions", "octillions", "nonillions")
PLACES = ("ones", "tens", "hundreds", *[f"{x}{g}" for g in _GROUPS for x in ("", "ten ", "hundred ")])


def digit(n: int, k: int) -> int:
    return n // 10**k % 10
