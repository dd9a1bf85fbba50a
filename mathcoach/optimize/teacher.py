"""What the teacher is shown and how its reply becomes candidate system messages.

Example: ``teacher_messages(history, failures, error_counts, k=4, cap=2000)`` -> chat messages for the teacher;
``parse_candidates(reply, cap, known)`` -> (messages, counts of malformed/duplicate proposals)

The teacher sees, as OPRO does, the best messages so far with their validation scores (worst first, best
last), and -- unlike OPRO -- the student's actual wrong answers on *training* problems with the step checker's
exact diagnosis (first wrong step, what was written and what was expected, error type) and the count of each
error type. It never sees a validation or test problem.
"""

from __future__ import annotations

import re

BASELINES = {
    "none": None,
    "step_by_step": "Let's think step by step.",
    "algorithm": (
        "You multiply integers exactly by long multiplication. Work in this layout and finish with one line "
        "'Answer: N'.\n"
        "1. Break each number into its digits with place values, e.g. 37 = 30 + 7 and 82 = 80 + 2.\n"
        "2. Multiply every pair of parts, one per line, e.g. 30 * 80 = 2400 (multiply the digits, 3 * 8 = 24, "
        "then append the zeros of both parts).\n"
        "3. Add the partial products one at a time, one addition per line, e.g. 2400 + 60 = 2460, carrying "
        "carefully.\n"
        "4. Write the final line exactly as 'Answer: N' with the last sum."
    ),
}

_PROMPT_TAG = re.compile(r"<prompt>(.*?)</prompt>", re.S | re.I)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def teacher_messages(history: list[dict], failures: list[dict], error_counts: dict, k: int, cap: int) -> list[dict]:
    """``history``: [{"text", "val"}] best first; ``failures``: scored sample rows from a training minibatch."""
    shown = sorted(history, key=lambda h: h["val"])  # ascending: the best is nearest the instruction
    lines = [
        "You write the system message for a small language model, the student, that must multiply integers "
        "exactly. The student reads your message before every question and answers in plain text; its answer "
        "is graded by the last line 'Answer: N'.",
        "",
        "Previous system messages and the student's accuracy on a validation set (worst first, best last):",
    ]
    for h in shown:
        body = h["text"] if h["text"] else "(no system message)"
        lines += [f"<message accuracy=\"{100 * h['val']:.1f}%\">", body, "</message>"]
    if failures:
        lines += ["", "Problems the student got wrong with the best message so far, with its answer and an exact "
                      "diagnosis of its first wrong step (checked against long multiplication):"]
        for f in failures:
            answer = (f.get("completion") or "")[-700:]
            where = (f"step {f['step']} is wrong ({f['error_type']}): wrote {f['written']!r}, expected {f['expected']!r}"
                     if f.get("error_type") and f.get("error_type") != "final_answer" else
                     f"final answer {f.get('strict')!r} is wrong" if f.get("strict") else
                     "no final line 'Answer: N' was found")
            lines += [f"- Question: {f['question']}  Correct answer: {f['gold']}",
                      f"  Student wrote: {answer!r}", f"  Diagnosis: {where}"]
    if error_counts:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(error_counts.items(), key=lambda kv: -kv[1]))
        lines += ["", f"Error counts on that minibatch: {counts}."]
    lines += ["", f"Write {k} new system messages, each different from all of the above and from each other, that "
                  f"would make the student more accurate. Each at most {cap} characters. Put each one inside "
                  "<prompt> and </prompt> tags and write nothing else inside the tags."]
    return [{"role": "user", "content": "\n".join(lines)}]


def parse_candidates(reply: str | None, cap: int, known: set[str]) -> tuple[list[str], dict]:
    """Candidate messages from a teacher reply, and counts of what was rejected and why."""
    counts = {"proposed": 0, "no_message": 0, "empty": 0, "too_long": 0, "duplicate": 0}
    blocks = _PROMPT_TAG.findall(reply or "")
    if not blocks:
        counts["no_message"] = 1
        return [], counts
    out = []
    seen = set(known)
    for b in blocks:
        text = b.strip()
        counts["proposed"] += 1
        if not text:
            counts["empty"] += 1
        elif len(text) > cap:
            counts["too_long"] += 1
        elif _norm(text) in seen:
            counts["duplicate"] += 1
        else:
            seen.add(_norm(text))
            out.append(text)
    return out, counts


def normalized(text: str | None) -> str:
    return _norm(text or "")
