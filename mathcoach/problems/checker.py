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
_ENUM = re.compile(r"\s*(?:step\s*\d+\s*[:.)-]?|\d+\s*[.)]\s|[-*•]\s)", re.I)
_WORD_EQ = re.compile(r"\s+(?:equals|is|gives|makes)\s+|→|->|⇒", re.I)
_GROUPED = re.compile(r"(?<=\d)(?:,|\\,|[\u00a0\u202f\u2009])(?=\d{3}(?!\d))")
_DIGITS = re.compile(r"\d{1,1000}")  # a longer run splits (and mismatches) instead of overflowing int()
_EQ_MARKS = ("=", "equals", " is ", " gives ", " makes ", "→", "->", "⇒")
_ANSWER_CUES = ("nswer", "NSWER", "boxed", "####")
_GROUP_MARKS = (",", "\\,", "\u00a0", "\u202f", "\u2009")
_ENUM_START = frozenset(" \tSs-*•")
_ODD_MARKS = (".", ")", "\n ", "\n\t", "\n-", "\n*", "•", "tep")  # what numbering or bullets need; else fast path


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


def _has_cue(ln: str) -> bool:
    return "nswer" in ln or "NSWER" in ln or "boxed" in ln or "####" in ln


def _step_lines(text: str) -> list[str]:
    """Lines that state a step: they hold "=" (or a word for it) and are not the answer statement."""
    # Which rare cases can occur is decided once per text (C-speed substring tests), not once per line.
    words = any(m in text for m in _EQ_MARKS[1:])
    cues = any(c in text for c in _ANSWER_CUES)
    grouped = any(c in text for c in _GROUP_MARKS)
    if not (words or grouped or any(c in text for c in _ODD_MARKS)):  # plain text: no bullets, numbering, commas
        out = [ln for ln in text.splitlines() if "=" in ln]
        if cues and _has_cue("\n".join(out)):
            out = [ln for ln in out if not (_has_cue(ln) and _ANSWER_LINE.search(ln.replace("*", "")))]
        return out
    out = []
    for ln in text.splitlines():
        if "=" not in ln and not (words and any(m in ln for m in _EQ_MARKS)):
            continue
        if cues and _has_cue(ln) and _ANSWER_LINE.search(ln.replace("*", "")):
            continue
        head = ln[:1]
        if head.isdigit() and ("." in ln or ")" in ln):  # "3. 30 * 80 = 2400": an enumeration adds a number
            rest = ln.lstrip("0123456789 ")
            if rest[:1] in (".", ")") and rest[1:2].isspace():
                ln = rest[2:]
        elif head in _ENUM_START and (m := _ENUM.match(ln)) is not None:  # "Step 3:", "- " bullets
            ln = ln[m.end() :]
        if grouped:
            ln = _GROUPED.sub("", ln)  # 2,400 is one number; "write 5, carry 1" is two
        out.append(ln)
    return out


def written_steps(text: str, unit: str) -> list[str]:
    """Cut ``text`` into the texts of its steps: lines holding "=", or "="-separated segments of a chain."""
    lines = _step_lines(text)
    if unit == "chain":
        segments = _WORD_EQ.sub(" = ", " ".join(lines)).split("=")
        return [s.strip() for s in segments if _DIGITS.search(s)]
    return lines


def numbers(step_text: str) -> tuple[int, ...]:
    """The numbers a step writes, in order. Only these are compared, so operators and wording ("x", "times",
    "equals", markdown) never matter."""
    return tuple(map(int, _DIGITS.findall(step_text)))


def classify(role: str, written: int, expected: int) -> str:
    """The error type for one wrong number, from the role the reference gives it."""
    if role in (PRODUCT, SPLIT):
        if written and expected and str(written).rstrip("0") == str(expected).rstrip("0"):
            return "shift"
        return "digit_product" if role == PRODUCT else "copy"
    return {ADDITION: "addition", QUOTIENT: "quotient_digit", COPY: "copy"}.get(role, "format")


def _aligned(written: list[str], steps: list[Step], k: int = 2) -> bool:
    n = min(k, len(steps))
    return n > 0 and len(written) >= n and all(numbers(written[m]) == steps[m].nums for m in range(n))


def compare(steps: list[Step], written: list[str], ref_texts: list[str] | None = None) -> tuple | None:
    """(index, error type, written text) of the first wrong step, or None when all reference steps match."""
    if ref_texts is not None and written[: len(steps)] == ref_texts:  # one C-level comparison for a clean trace
        return None
    for i, ref in enumerate(steps):
        if i >= len(written):
            return i, "format", None
        text = written[i]
        if text == (ref_texts[i] if ref_texts else ref.text()):  # same text, same numbers: no parsing needed
            continue
        nums = numbers(text)
        if nums == ref.nums:
            continue
        text = text.strip()
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


def check(
    problem: Problem, fmt: str, text: str | None, steps: list[Step] | None = None, step_texts: list[str] | None = None
) -> CheckResult:
    """Diagnose ``text`` against the reference trace. A caller that already built the trace passes its
    ``steps`` (only those with numbers) and their ``step_texts`` to save rebuilding them."""
    text = text if isinstance(text, str) else ""
    pred = ans.extract(text, pair=ans.is_pair(problem.answer)).strict
    correct = ans.matches(pred, problem.answer)
    steps = [s for s in (steps_for(problem, fmt) if steps is None else steps) if s.nums]
    written = written_steps(text, unit_of(problem.op, fmt))
    first = compare(steps, written, step_texts or [s.text() for s in steps])
    if first is not None:
        i, err, wtext = first
        return CheckResult(correct, pred, i, err, wtext, steps[i].text(), len(steps), i)
    n = len(steps)
    if pred is None:
        return CheckResult(False, None, n, "format", None, f"Answer: {problem.answer}", n, n)
    if not correct:
        return CheckResult(False, pred, n, "final_answer", f"Answer: {pred}", f"Answer: {problem.answer}", n, n)
    return CheckResult(True, pred, None, None, None, None, n, n)
