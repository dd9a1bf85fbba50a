"""``mathcoach mistakes correct --corrector MODEL``: a stronger model corrects the mistakes with LeMa's prompt.

Example: ``mathcoach mistakes correct mistakes.jsonl --corrector openrouter:openai/gpt-4o --max-usd 2 -o c.jsonl``

The prompt is LeMa's correction prompt (microsoft/LEMA ``prompts/prompt_correction_gsm8k.txt``): its instruction,
then worked shots of ``Question`` / ``Original Solution`` (numbered steps) / ``Incorrect Step: Step j.`` /
``Explanation:`` / ``Correct Solution:``, written here from generated training problems and two GSM8K *train*
problems (never a test problem), then the mistake with ``Incorrect Step:`` to complete. A reply is parsed into
step, explanation and solution; one that does not parse is counted as malformed. LeMa's filter keeps a correction
only if its final answer equals the gold answer. For arithmetic the record also says whether the teacher's step
agrees with the step checker's -- a measure of the teacher itself. Calls go through the response cache (a re-run
resumes for free) and stop before ``--max-calls`` or ``--max-usd`` would be crossed.
"""

from __future__ import annotations

import re

from mathcoach.mistakes.build import INSTRUCTION
from mathcoach.mistakes.correct import CORRECTION_VERSION, correct_exact, numbered, problem_of
from mathcoach.models.base import Request
from mathcoach.problems import answer as ans
from mathcoach.problems.checker import check, written_steps
from mathcoach.problems.traces import format_of

# Two GSM8K train problems (rows 1 and 2 of grade_school_math/data/train.jsonl), each with a wrong solution written
# for the shot and its correction.
GSM8K_SHOTS = [
    {"question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
                 "How many clips did Natalia sell altogether in April and May?",
     "steps": ["Natalia sold 48 / 2 = 24 clips in May.", "Natalia sold 48 + 24 = 62 clips altogether."],
     "step": 2, "explanation": "48 + 24 is 72, not 62: the tens were added wrongly.",
     "solution": "Natalia sold 48 + 24 = 72 clips altogether in April and May.\nThe answer is 72"},
    {"question": "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How "
                 "much did she earn?",
     "steps": ["Weng earns 12 / 60 = $0.2 per minute.", "Working 50 minutes, she earned 0.2 x 60 = $12."],
     "step": 2, "explanation": "She worked 50 minutes, not 60: the minutes were copied wrongly.",
     "solution": "Working 50 minutes, she earned 0.2 x 50 = $10.\nThe answer is 10"},
]
_ARITH_SHOTS = ((47, 86, "long", 3), (512, 34, "scratchpad", 1))  # (a, b, format, step to corrupt): train-split pairs


def _arith_shot(a: int, b: int, fmt: str, k: int) -> dict:
    from mathcoach.problems.generate import split_of
    from mathcoach.problems.problem import Problem
    from mathcoach.problems.traces import render_steps, steps_for

    if split_of("mul", a, b) != "train":  # a shot is never a held-out problem
        raise AssertionError(f"shot {a} * {b} is not a training problem")
    p = Problem.make("mul", a, b, question=f"What is {a} * {b}?", phrasing="what_is", seed=0, split="train")
    f = format_of("mul", fmt)
    steps = [s for s in steps_for(p, fmt) if s.nums]
    bad = steps[k]._replace(nums=(*steps[k].nums[:-1], steps[k].nums[-1] + 10))  # its result off by ten
    wrong = render_steps(steps[:k] + [bad] + steps[k + 1:], f.unit, str(int(p.answer) + 10))
    c = correct_exact({"id": p.id, "question": p.question, "gold": p.answer, "solution": wrong, "format": fmt,
                       "op": "mul", "a": a, "b": b, "phrasing": "what_is", "split": "train"})
    return {"question": p.question, "steps": [s.split(". ", 1)[1] for s in c["original_steps"]],
            "step": c["incorrect_step"], "explanation": c["explanation"], "solution": c["correct_solution"]}


def shots() -> list[dict]:
    return [_arith_shot(*s) for s in _ARITH_SHOTS] + GSM8K_SHOTS


def _block(question: str, steps: list[str]) -> str:
    return f"Question: {question}\nOriginal Solution:\n" + "\n".join(numbered(steps)) + "\nIncorrect Step:"


def correction_prompt(rec: dict, examples: list[dict]) -> tuple[dict, ...]:
    parts = [INSTRUCTION, ""]
    for s in examples:
        parts += [_block(s["question"], s["steps"]) + f" Step {s['step']}.",
                  f"Explanation: {s['explanation']}", f"Correct Solution: {s['solution']}", ""]
    parts.append(_block(rec["question"], original_steps(rec)))
    return ({"role": "user", "content": "\n".join(parts)},)


def original_steps(rec: dict) -> list[str]:
    fmt = rec.get("format")
    unit = "line"
    if rec.get("op") and fmt:
        try:
            unit = format_of(rec["op"], fmt).unit
        except ValueError:
            pass
    steps = written_steps(rec["solution"], unit) if rec.get("op") else []
    return steps or [ln for ln in rec["solution"].splitlines() if ln.strip()] or [rec["solution"]]


_REPLY = re.compile(r"^\s*(?:Incorrect Step:\s*)?Step\s*(\d+)\s*[.:]?\s*Explanation:\s*(.+?)\s*Correct Solution:\s*(.+)$",
                    re.S | re.I)


def parse_reply(text: str | None) -> tuple[int, str, str] | None:
    """(step, explanation, correct solution) from a reply, or None when it does not have LeMa's shape."""
    m = _REPLY.match(text or "")
    if not m:
        return None
    solution = re.split(r"\n\s*Question:", m.group(3))[0].strip()  # a reply that goes on to invent the next shot
    return int(m.group(1)), m.group(2).strip(), solution


def correct_with_teacher(records: list[dict], teacher, name: str, max_tokens: int = 512, max_calls: int | None = None,
                         max_usd: float | None = None, batch: int = 8) -> tuple[list[dict], dict]:
    """(kept corrections, counts). ``teacher`` is a CachedBackend; the budget is checked before every batch."""
    examples = shots()
    counts = {"attempted": 0, "answered": 0, "api_errors": 0, "parsed": 0, "malformed": 0, "kept": 0,
              "step_agrees": 0, "step_checked": 0, "calls_made": 0, "cost_usd": 0.0, "stopped": None}
    kept = []
    s = 0
    while s < len(records):
        room = batch if max_calls is None else min(batch, max_calls - counts["attempted"])
        if room <= 0:
            counts["stopped"] = f"--max-calls {max_calls} reached"
            break
        if max_usd is not None and counts["cost_usd"] >= max_usd:
            counts["stopped"] = f"--max-usd {max_usd} reached"
            break
        chunk = records[s: s + room]
        s += len(chunk)
        reqs = [Request(messages=correction_prompt(r, examples), max_tokens=max_tokens) for r in chunk]
        before = teacher.calls
        replies = teacher.generate(reqs)
        counts["calls_made"] += teacher.calls - before
        for rec, c in zip(chunk, replies):
            counts["attempted"] += 1
            counts["cost_usd"] += c.cost_usd
            if c.text is None:
                counts["api_errors"] += 1  # not the teacher's fault, not a malformed reply: counted apart
                continue
            counts["answered"] += 1
            parsed = parse_reply(c.text)
            if parsed is None:
                counts["malformed"] += 1
                continue
            counts["parsed"] += 1
            step, explanation, solution = parsed
            gold = rec["gold"]
            stated = ans.extract(solution, pair=ans.is_pair(gold)).strict
            ok = ans.matches(stated, gold)
            checker_step = None
            p = problem_of(rec)
            if p is not None and rec.get("format"):
                diag = check(p, rec["format"], rec["solution"])
                checker_step = None if diag.step is None else diag.step + 1
                counts["step_checked"] += 1
                counts["step_agrees"] += checker_step == step
            counts["kept"] += ok
            out = {"id": rec["id"], "question": rec["question"], "gold": gold, "solution": rec["solution"],
                   **{k: rec.get(k) for k in ("format", "op", "a", "b", "digits_a", "digits_b", "split", "phrasing")},
                   "original_steps": numbered(original_steps(rec)), "incorrect_step": step, "explanation": explanation,
                   "correct_solution": solution, "corrector": name, "checker_step": checker_step,
                   "step_agrees": None if checker_step is None else checker_step == step,
                   "answer_check": {"answer": stated, "correct": ok}, "kept": ok, "reply": c.text,
                   "correction_version": CORRECTION_VERSION}
            if ok:
                kept.append(out)
    counts["cost_usd"] = round(counts["cost_usd"], 6)
    return kept, counts
