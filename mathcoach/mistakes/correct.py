"""``mathcoach mistakes correct --corrector exact``: name the first wrong step, say why, redo the rest.

Example: ``mathcoach mistakes correct mistakes.jsonl --corrector exact -o corrections.jsonl``

For generated arithmetic the step checker names the first wrong step (recomputed here, never trusted from the
record), the explanation is written from its error type and the two numbers involved, and the trace builder
writes the correct solution from that step on, so the correction is right by construction. LeMa's filter still
runs on every correction and is counted: a correction is kept only if its final answer equals the gold answer.

A correction record (one line per mistake):

    {"id", "question", "gold", "solution" (the model's), "original_steps" (its numbered steps),
     "incorrect_step" (1-based), "explanation", "correct_solution", "corrector", "checker_step",
     "answer_check": {"answer", "correct"}, "kept", "correction_version"}
"""

from __future__ import annotations

import re

from mathcoach.problems import answer as ans
from mathcoach.problems.checker import check, numbers, written_steps
from mathcoach.problems.problem import Problem
from mathcoach.problems.traces import format_of, render_checked

CORRECTION_VERSION = "2"  # 2: a solution that runs on past its last step is told so

_WHY = {
    "copy": "it is copied from the problem or an earlier step",
    "shift": "the digits are right but the place value is not",
    "digit_product": "the product is wrong",
    "addition": "the sum is wrong (a slip, or a dropped or wrong carry)",
    "quotient_digit": "the quotient digit is wrong",
}
_EXPR_TAIL = re.compile(r"[\d\s+*/()×x-]*\d[\d\s+*/()×x-]*$")


def problem_of(rec: dict) -> Problem | None:
    if rec.get("op") is None or rec.get("a") is None or rec.get("b") is None:
        return None
    return Problem.make(rec["op"], int(rec["a"]), int(rec["b"]), question=rec["question"],
                        phrasing=rec.get("phrasing") or "", seed=0, split=rec.get("split") or "")


def explain(error: str, written: str | None, expected: str, ran_on_after: int | None = None) -> str:
    """One sentence from the error type and the first number that differs ("6 * 8 = 48: the product is 48, not
    46"). ``ran_on_after``: for a wrong final answer, the last right step when the solution wrote more after it."""
    if error == "final_answer" and ran_on_after:
        done = "Step 1 is right and completes" if ran_on_after == 1 else \
            f"Steps 1 to {ran_on_after} are right and complete"
        return (f"{done} the solution; step {ran_on_after + 1} and after are not part of it: it should end with "
                f"{expected}.")
    if error == "final_answer":
        return f"Every step is right, but the answer stated is not the last result: it should be {expected}."
    if written is None:
        return f"This step is missing; it should read: {expected}."
    w_nums, e_nums = numbers(written), numbers(expected)
    k = next((k for k, (x, y) in enumerate(zip(w_nums, e_nums)) if x != y), None)
    if k is None:
        return f"This step stops short or runs on; it should read: {expected}."
    w, e = w_nums[k], e_nums[k]
    why = _WHY.get(error, "the step takes another shape from here")
    if error == "format" or len(w_nums) != len(e_nums):
        why = f"the step goes wrong from there; it should read: {expected}"
    found = _computed_from(expected, k)
    if found is None:
        return f"{w} should be {e}: {why}." + ("" if "should read" in why else f" The step reads: {expected}.")
    lhs, result = found
    if len(numbers(result)) == 1:
        return f"{lhs} = {e}, not {w}: {why}."
    return f"{lhs} = {result}, where {w} was written for {e}: {why}."


def _computed_from(expected: str, k: int) -> tuple[str, str] | None:
    """(the expression computed, what it equals) for number ``k`` of a step when that number opens a result:
    ("2048 + 15360", "17408") for the 17408 of "512 * 30 = 15360, sum 2048 + 15360 = 17408"; None when the number
    is an operand."""
    segments = expected.split("=")
    seen = 0
    for m, seg in enumerate(segments):
        n = len(numbers(seg))
        if k < seen + n:
            if m == 0 or k != seen:
                return None
            tail = _EXPR_TAIL.search(segments[m - 1].rsplit(",", 1)[-1])
            return (tail.group(0).strip(), seg.split(",", 1)[0].strip()) if tail else None
        seen += n
    return None


def numbered(steps: list[str]) -> list[str]:
    return [f"Step {i}. {s}" for i, s in enumerate(steps, 1)]


def correct_exact(rec: dict) -> dict | None:
    """The exact correction of one mistake record, or None when it has no step checker (a word problem, an
    unknown format)."""
    p, fmt = problem_of(rec), rec.get("format")
    if p is None or not fmt:
        return None
    try:
        f = format_of(p.op, fmt)
    except ValueError:
        return None
    diag = check(p, fmt, rec["solution"])
    if diag.correct or diag.step is None:
        return None  # not a mistake after all (a record edited by hand)
    _, steps, texts = render_checked(p, fmt)
    j = diag.step  # 0-based index of the first wrong numbered step; len(texts) for a wrong final answer
    sep = " = " if f.unit == "chain" else "\n"
    body = sep.join(texts[j:])
    solution = (body + "\n" if body else "") + f"Answer: {f.answer_text(p)}"
    stated = ans.extract(solution, pair=ans.is_pair(p.answer)).strict
    ok = ans.matches(stated, p.answer)
    written = written_steps(rec["solution"], f.unit)
    explanation = explain(diag.error, diag.written, diag.expected, ran_on_after=j if len(written) > j else None)
    return {
        "id": rec["id"], "question": rec["question"], "gold": rec["gold"], "solution": rec["solution"],
        "format": fmt, **{k: rec.get(k) for k in ("op", "a", "b", "digits_a", "digits_b", "split", "phrasing")},
        "original_steps": numbered(written) or [rec["solution"]],
        "incorrect_step": j + 1, "explanation": explanation,
        "correct_solution": solution, "corrector": "exact", "checker_step": j + 1, "error_type": diag.error,
        "answer_check": {"answer": stated, "correct": ok}, "kept": ok, "correction_version": CORRECTION_VERSION,
    }


def correct_all_exact(records: list[dict]) -> tuple[list[dict], dict]:
    """(kept corrections, counts: attempted, corrected, kept, no_checker)."""
    out, counts = [], {"attempted": 0, "corrected": 0, "kept": 0, "no_checker": 0}
    for rec in records:
        counts["attempted"] += 1
        c = correct_exact(rec)
        if c is None:
            counts["no_checker"] += 1
            continue
        counts["corrected"] += 1
        if c["kept"]:
            counts["kept"] += 1
            out.append(c)
    return out, counts
