"""Worked solutions ("traces") for every operation: one ``Format`` record per format, and rendering.

Example: ``render(Problem.make("mul", 37, 82, ...), "long")`` ->
    Break into place values:
    37 = 30 + 7
    ...
    3020 + 14 = 3034
    Answer: 3034

A format is its step builder (steps.py holds the parts, mul.py / marked.py / schoolbook.py the builders), how
the checker cuts a text into steps, its answer line, the chat template a from-scratch model needs to read it,
and a version. The version is written into every row, eval result and model directory that uses the format,
and a golden test (tests/golden/formats.json) fails the suite when a format's output changes without a bump.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mathcoach.errors import UserError
from mathcoach.problems.problem import Problem
from mathcoach.problems.traces.marked import (
    GREEK_LOWER, GREEK_UPPER, LATIN, LINE_LABELS, answer_places, answer_places8, answer_zeros8, mul_carryout,
    mul_carryout8, mul_copy8, mul_fused, mul_gathered8, mul_places, mul_rest8, mul_rest8u, mul_rest9, mul_staged,
    mul_trimmed8,
)
from mathcoach.problems.traces.mul import (
    mul_aligned, mul_columns, mul_distributive, mul_framed, mul_goat, mul_long, mul_reversed, mul_scratchpad,
)
from mathcoach.problems.traces.schoolbook import add_long, div_long, plain, sub_long
from mathcoach.problems.traces.steps import (
    ADDITION, ALIGNED_FRAME, COPY, PLACES, PRODUCT, QUOTIENT, SPLIT, Digits, Step, place_parts, rev,
)

__all__ = [
    "ADDITION", "ALIGNED_FRAME", "ALL_FORMATS", "COPY", "FORMATS", "GREEK_LOWER", "GREEK_UPPER", "LATIN",
    "LINE_LABELS", "PLACES", "PRODUCT", "QUOTIENT", "SPLIT", "Digits", "Format", "FormatError", "Step",
    "answer_text", "check_format", "format_of", "place_parts", "render", "render_checked", "render_steps", "rev",
    "steps_for", "unit_of",
]

TEMPLATES = (None, "marks", "tokens")  # how a from-scratch model's chat template writes the question's digits


class FormatError(UserError, ValueError):
    """A format that does not exist for an operation; the message lists those that do."""


@dataclass(frozen=True)
class Format:
    name: str
    op: str
    build: Callable[[Problem], list[Step]]
    # How the checker cuts a text into steps: "line" = one step per line holding an "=", "chain" = one step per
    # "="-separated segment.
    unit: str
    # Bump whenever the text this format renders changes: rows, eval results and model directories record it,
    # so scores of two different traces are never mixed up.
    version: str
    answer: Callable[[Problem], str] | None = None  # the answer line when it is not the plain number
    # The chat template a model trained from scratch needs to read this format's marks (scratch.py): the traces
    # name the question's digits by marks that only that template writes.
    template: str | None = None

    def answer_text(self, p: Problem) -> str:
        return self.answer(p) if self.answer else p.answer


def _formats(op: str, *records: tuple) -> dict[str, Format]:
    return {r[0]: Format(r[0], op, *r[1:]) for r in records}


FORMATS: dict[str, dict[str, Format]] = {
    "mul": _formats(
        "mul",
        ("long", mul_long, "line", "1"),
        ("goat", mul_goat, "chain", "1"),
        ("distributive", mul_distributive, "chain", "1"),
        ("columns", mul_columns, "line", "2"),  # 2: two-digit sums split into tens and ones
        ("scratchpad", mul_scratchpad, "line", "1"),
        ("reversed", mul_reversed, "line", "1"),
        ("aligned", mul_aligned, "line", "1"),
        ("framed", mul_framed, "line", "1"),
        ("places", mul_places, "line", "1", answer_places, "marks"),
        ("fused", mul_fused, "line", "1", answer_places, "marks"),
        ("staged", mul_staged, "line", "1", answer_places, "tokens"),
        ("carryout", mul_carryout, "line", "1", answer_places, "tokens"),
        ("carryout8", mul_carryout8, "line", "1", answer_places8, "tokens"),
        ("copy8", mul_copy8, "line", "1", answer_places8, "tokens"),
        ("trimmed8", mul_trimmed8, "line", "1", answer_places8, "tokens"),
        ("gathered8", mul_gathered8, "line", "1", answer_places8, "tokens"),
        ("rest8", mul_rest8, "line", "1", answer_places8, "tokens"),
        ("rest8u", mul_rest8u, "line", "1", answer_places8, "tokens"),
        ("rest9", mul_rest9, "line", "1", answer_places8, "tokens"),
        ("rest9z", mul_rest9, "line", "1", answer_zeros8, "tokens"),  # rest9, the Answer line keeping leading zeros
        ("plain", plain, "line", "1"),
    ),
    "add": _formats("add", ("long", add_long, "line", "1"), ("plain", plain, "line", "1")),
    "sub": _formats("sub", ("long", sub_long, "line", "1"), ("plain", plain, "line", "1")),
    "div": _formats("div", ("long", div_long, "line", "1"), ("plain", plain, "line", "1")),
}
ALL_FORMATS = sorted({f for fmts in FORMATS.values() for f in fmts})


def format_of(op: str, fmt: str) -> Format:
    if fmt not in FORMATS.get(op, {}):
        have = ", ".join(FORMATS.get(op, {})) or "none"
        raise FormatError(f"format {fmt!r} does not exist for op {op!r}; choose one of: {have}")
    return FORMATS[op][fmt]


def check_format(op: str, fmt: str) -> None:
    format_of(op, fmt)


def template_of(fmt: str) -> str | None:
    """The chat template a format needs, whatever its operation (only multiplication formats need one)."""
    return next((fmts[fmt].template for fmts in FORMATS.values() if fmt in fmts and fmts[fmt].template), None)


def version_of(fmt: str, op: str = "mul") -> str | None:
    """A format's version for ``op`` (falling back to any operation that has it), None if none has it."""
    f = FORMATS.get(op, {}).get(fmt) or next((fmts[fmt] for fmts in FORMATS.values() if fmt in fmts), None)
    return f.version if f else None


def steps_for(p: Problem, fmt: str) -> list[Step]:
    return format_of(p.op, fmt).build(p)


def unit_of(op: str, fmt: str) -> str:
    return FORMATS[op][fmt].unit


def answer_text(p: Problem, fmt: str) -> str:
    return FORMATS[p.op][fmt].answer_text(p)


def render_steps(steps: list[Step], unit: str, answer: str, texts: list[str] | None = None) -> str:
    texts = [s.text() for s in steps] if texts is None else texts
    body = (" = " if unit == "chain" else "\n").join(texts)
    return f"{body}\nAnswer: {answer}" if body else f"Answer: {answer}"


def render_checked(p: Problem, fmt: str) -> tuple[str, list[Step], list[str]]:
    """The solution text plus the numbered steps and their texts, formatted once for both uses."""
    f = format_of(p.op, fmt)
    steps = f.build(p)
    texts = [s.text() for s in steps]
    text = render_steps(steps, f.unit, f.answer_text(p), texts)
    numbered = [(s, t) for s, t in zip(steps, texts) if s.nums]
    return text, [s for s, _ in numbered], [t for _, t in numbered]


def render(p: Problem, fmt: str, steps: list[Step] | None = None) -> str:
    f = format_of(p.op, fmt)
    return render_steps(f.build(p) if steps is None else steps, f.unit, f.answer_text(p))
