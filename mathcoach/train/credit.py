"""Which tokens of a GRPO sample its advantage lands on (``--advantage``).

Example: ``token_advantages([-0.7, 0.7], pieces, problems, "rest8")`` -> one row of per-token advantages per sample.

``sequence`` is GRPO's own: every token of a sample gets the sample's group-normalised advantage. ``first_error``
puts a wrong sample's (negative) advantage on the one step the step checker names as its first wrong one, and
nothing on the rest: the tokens before that step were right, so pushing them down teaches nothing true, and the
tokens after it follow from it. A sample with a non-negative advantage keeps it on every token, as does a wrong one
whose first error has no place in the text (no problem record, a chain format, a step the checker cannot find).
This is DeepSeekMath's process supervision (arXiv 2402.03300, section 4.1.3) with the exact step checker as the
process reward, reduced to where it matters: in mathcoach-mul's fifth RL setting a right sample differed from a
wrong one in one token of ~905, and the sequence-level advantage was spread over all of them (benchmarks/RESULTS.md,
2026-12-07). Measured there at 384 samples: no gain (greedy 7.5% -> 0.0%, p = 0.25). Within a group the advantages
sum to zero, so on a prefix the samples share they cancel in either mode; the push at the first differing token is
the same, and what this mode removes is the push on a wrong sample's tokens after its error.

``first_error_token`` puts a wrong sample's whole advantage (its sum over tokens in ``sequence`` mode, so the
advantage times its token count) on the one token where it first leaves the problem's gold trace, in a format whose
trace the problem fixes (every `line` format here): under Adam the scale of a gradient is normalised away, so what
matters is its share, and in ``first_error`` the read that was wrong was one token of ~18 on its line, the line's
right copies pushed down with it, and the KL term and the right samples' pushes on every token made the rest.
Measured at lr 5e-5 in that setting: one step with a right sample broke sampling (pass@8 60% -> 0%, greedy 7.5% ->
5.0%; benchmarks/RESULTS.md, 2026-12-07): a share that is all one read is a full-size step in the direction that
lowers it, and that direction moved the traces around it too.
"""

from __future__ import annotations

import json

from mathcoach.problems.checker import check, written_steps
from mathcoach.problems.problem import Problem
from mathcoach.problems.traces import render, unit_of

ADVANTAGES = ("sequence", "first_error", "first_error_token")


def first_error_span(text: str, problem: Problem, fmt: str) -> tuple[int, int] | None:
    """Character span of the first wrong step of ``text``: a step line, or the Answer line when every step is right
    and the answer is not; None when every step and the answer are right, or the step has no place in the text."""
    res = check(problem, fmt, text)
    if res.step is None or unit_of(problem.op, fmt) != "line":
        return None
    lines = written_steps(text, "line")
    if res.step < len(lines) and res.step < res.steps_expected:
        pos = 0
        for line in lines[: res.step + 1]:  # the step lines are the text's own lines, in order
            start = text.find(line, pos)
            if start < 0:
                return None
            pos = start + len(line)
        return start, pos
    at = text.rfind("Answer:")
    if res.step >= res.steps_expected and at >= 0:
        end = text.find("\n", at)
        return at, len(text) if end < 0 else end
    return None


def first_wrong_char(text: str, problem: Problem, fmt: str) -> int | None:
    """Offset of the first character where ``text`` leaves the problem's gold trace (its end, if it stops short or
    runs on); None when it is the gold trace, or the format's trace is not fixed by the problem (a chain format)."""
    if unit_of(problem.op, fmt) != "line":
        return None
    gold = render(problem, fmt)
    at = next((i for i, (c, g) in enumerate(zip(text, gold)) if c != g), min(len(text), len(gold)))
    return None if text == gold else at


def span_mask(pieces: list[str], span: tuple[int, int]) -> list[bool]:
    """Which tokens (their decoded texts, in order) overlap the character span."""
    out, pos = [], 0
    for piece in pieces:
        out.append(pos < span[1] and pos + len(piece) > span[0])
        pos += len(piece)
    return out


def token_advantages(advantages: list[float], pieces: list[list[str]], problems: list[str], fmt: str,
                     mode: str) -> tuple[list[list[float]], int]:
    """Per-token advantages for each sample (its decoded tokens in ``pieces``, its problem record as JSON in
    ``problems``), and how many wrong samples had their advantage placed on their first wrong step. A sample with no
    pieces gets an empty row: its caller keeps its advantage on every token."""
    rows, placed = [], 0
    for adv, toks, prob in zip(advantages, pieces, problems):
        row = [adv] * len(toks)
        if mode in ("first_error", "first_error_token") and adv < 0 and prob and toks:
            text, problem = "".join(toks), Problem.from_dict(json.loads(prob))
            if mode == "first_error":
                span, value = first_error_span(text, problem, fmt), adv
            else:  # the sample's whole advantage on one token
                at = first_wrong_char(text, problem, fmt)
                span, value = (None if at is None else (at, at + 1)), adv * len(toks)
            mask = span_mask(toks, span) if span else []
            if any(mask):
                row = [value if m else 0.0 for m in mask]
                placed += 1
        rows.append(row)
    return rows, placed
