"""The exact step checker: where a model's worked solution first goes wrong, and how.

Example: ``check(problem, "long", model_text)`` ->
    CheckResult(correct=False, answer="3134", step=5, error="digit_product",
                written="30 * 80 = 2500", expected="30 * 80 = 2400", ...)

The model's text is cut into steps the way the format writes them (a line holding "=", or an "="-separated
segment of a chain), words are ignored and only the numbers of each step are compared with the reference
trace from traces.py. The first number that differs decides the error type from its role:

    copy       a number taken from the problem or an earlier step was copied wrongly
    shift      right digits, wrong place value (2400 written as 240 or 24000)
    digit_product  a product (single-digit pair, or n-digit by one digit) is wrong
    addition   an addition/subtraction slip, or a dropped or wrong carry/borrow
    quotient_digit a wrong quotient digit in long division
    final_answer   every step is right but the stated answer is wrong
    format     the steps cannot be read: a step is missing, or has the wrong shape, or no answer is stated

Extra steps after a complete, correct trace (a model double-checking itself) are ignored. The checker never
raises on any string: text it cannot read is a ``format`` error.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from mathcoach.problems import answer as ans
from mathcoach.problems.problem import Problem
from mathcoach.problems.traces import ADDITION, COPY, PRODUCT, QUOTIENT, SPLIT, Step, steps_for, unit_of

CHECKER_VERSION = "1"
ERROR_TYPES = ("copy", "shift", "digit_product", "addition", "quotient_digit", "final_answer", "format")

_ANSWER_LINE = re.compile(r"^\W*(?:final\s+)?answer\b|the\s+(?:final\s+)?answer\s+is|\\boxed|####", re.I)
_ENUM = re.compile(r"^\s*(?:step\s*\d+\s*[:.)-]?|\d+\s*[.)]\s|[-*•]\s)", re.I)
_TIMES = re.compile(r"(?<=\d)\s*(?:\\times|×|·|⋅|∗|[xX])\s*(?=[\d(])|\s+times\s+", re.I)
_WORD_EQ = re.compile(r"\s+(?:equals|is|gives|makes)\s+|→|->|⇒", re.I)
_GROUPED = re.compile(r"(?<=\d)[,\u00a0\u202f\u2009](?=\d{3}(?!\d))")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class CheckResult:
    correct: bool  # the strictly extracted final answer equals the gold answer
    answer: str | None  # that strictly extracted answer (None: no answer statement found)
    step: int | None  # index of the first incorrect step in the reference trace (None: no error)
    error: str | None  # one of ERROR_TYPES, or None
    written: str | None  # the model's text of that step (None when the step is missing)
    expected: str | None  # the reference text of that step
    steps_expected: int
    steps_matched: int  # reference steps matched in order before the first error

    def to_dict(self) -> dict:
        return asdict(self)


def _normalize(text: str) -> str:
    text = text.replace("**", "").replace("$", "").replace("\\(", "").replace("\\)", "").replace("\\,", "")
    text = _GROUPED.sub("", text)
    text = _TIMES.sub(" * ", text)
    return _WORD_EQ.sub(" = ", text)


def written_steps(text: str, unit: str) -> list[tuple[str, tuple[int, ...]]]:
    """Cut ``text`` into (step text, its numbers); answer statements and lines without "=" are skipped."""
    lines = [_ENUM.sub("", ln) for ln in _normalize(text).splitlines()]
    lines = [ln for ln in lines if "=" in ln and not _ANSWER_LINE.search(ln)]
    if unit == "chain":
        segments = " ".join(lines).split("=")
        return [(s.strip(), tuple(map(int, _DIGITS.findall(s)))) for s in segments if _DIGITS.search(s)]
    return [(ln.strip(), tuple(map(int, _DIGITS.findall(ln)))) for ln in lines]


def classify(role: str, written: int, expected: int) -> str:
    """The error type for one wrong number, from the role the reference gives it."""
    if role in (PRODUCT, SPLIT):
        if written and expected and str(written).rstrip("0") == str(expected).rstrip("0"):
            return "shift"
        return "digit_product" if role == PRODUCT else "copy"
    return {ADDITION: "addition", QUOTIENT: "quotient_digit", COPY: "copy"}.get(role, "format")


def _aligned(written: list[tuple[str, tuple[int, ...]]], steps: list[Step], k: int = 2) -> bool:
    n = min(k, len(steps))
    return n > 0 and len(written) >= n and all(written[m][1] == steps[m].nums for m in range(n))


def compare(steps: list[Step], written: list[tuple[str, tuple[int, ...]]]) -> tuple[int, str, str | None] | None:
    """(index, error type, written text) of the first wrong step, or None when all reference steps match."""
    for i, ref in enumerate(steps):
        if i >= len(written):
            return i, "format", None
        text, nums = written[i]
        if nums == ref.nums:
            continue
        # A skipped or an inserted step shifts everything after it; say so instead of blaming a number.
        # Both need the step counts to disagree, so a one-number slip in a full trace is never taken for one.
        if len(written) < len(steps) and _aligned(written[i:], steps[i + 1 :]):
            return i, "format", None
        if len(written) > len(steps) and _aligned(written[i + 1 :], steps[i:]):
            return i, "format", text
        if len(nums) != len(ref.nums):
            return i, "format", text
        j = next(k for k, (w, e) in enumerate(zip(nums, ref.nums)) if w != e)
        return i, classify(ref.roles[j], nums[j], ref.nums[j]), text
    return None


def check(problem: Problem, fmt: str, text: str | None, unit: str | None = None) -> CheckResult:
    text = text if isinstance(text, str) else ""
    pred = ans.extract(text, pair=ans.is_pair(problem.answer)).strict
    correct = ans.matches(pred, problem.answer)
    steps = [s for s in steps_for(problem, fmt) if s.nums]
    try:
        written = written_steps(text, unit or unit_of(problem.op, fmt))
    except (ValueError, RecursionError):  # int() of an absurdly long digit run; treat as unreadable
        written = []
    first = compare(steps, written)
    if first is not None:
        i, err, wtext = first
        return CheckResult(correct, pred, i, err, wtext, steps[i].text(), len(steps), i)
    n = len(steps)
    if pred is None:
        return CheckResult(False, None, n, "format", None, f"Answer: {problem.answer}", n, n)
    if not correct:
        return CheckResult(False, pred, n, "final_answer", f"Answer: {pred}", f"Answer: {problem.answer}", n, n)
    return CheckResult(True, pred, None, None, None, None, n, n)
