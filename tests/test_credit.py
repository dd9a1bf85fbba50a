"""--advantage first_error: a wrong sample's advantage lands on the step the step checker names, nothing else."""

import json

from mathcoach.problems.problem import Problem
from mathcoach.problems.traces import render
from mathcoach.train.credit import first_error_span, first_wrong_char, span_mask, token_advantages


def _problem(a: int, b: int) -> Problem:
    return Problem(id=f"mul-{a}-{b}", op="mul", a=a, b=b, answer=str(a * b), digits_a=len(str(a)),
                   digits_b=len(str(b)), question=f"What is {a} * {b}?", phrasing="what_is", seed=0)


def _slip(text: str, k: int, col: int) -> str:
    """Line k with the digit at column col one higher (mod 10)."""
    lines = text.splitlines()
    ln = lines[k]
    lines[k] = ln[:col] + str((int(ln[col]) + 1) % 10) + ln[col + 1:]
    return "\n".join(lines)


def test_the_span_is_the_first_wrong_line_or_the_answer_line():
    p = _problem(16078978, 33447198)
    text = render(p, "rest8")
    assert first_error_span(text, p, "rest8") is None  # right: nothing to place
    lines = text.splitlines()
    wrong = _slip(_slip(text, 13, 2), 14, 2)  # the η gather's digit, then the next one's: the first is named
    start, end = first_error_span(wrong, p, "rest8")
    assert wrong[start:end] == wrong.splitlines()[13] and wrong[start:end].startswith("η=")
    answer = "\n".join(lines[:-1] + [lines[-1][:-1] + str((int(lines[-1][-1]) + 1) % 10)])
    start, end = first_error_span(answer, p, "rest8")
    assert answer[start:end] == answer.splitlines()[-1] and answer[start:end].startswith("Answer:")


def test_a_wrong_samples_advantage_goes_on_its_first_wrong_step_only():
    p = _problem(16078978, 33447198)
    right = render(p, "rest8")
    wrong = _slip(right, 13, 2)
    pieces = [list(right), list(wrong), list(wrong)]  # one character a token
    probs = [json.dumps(p.to_dict())] * 3
    rows, placed = token_advantages([0.9, -0.3, -0.3], pieces, probs, "rest8", "first_error")
    assert placed == 2 and rows[0] == [0.9] * len(right)
    start, end = first_error_span(wrong, p, "rest8")
    assert [i for i, v in enumerate(rows[1]) if v] == list(range(start, end))
    assert all(v == -0.3 for v in rows[1][start:end])
    same, placed = token_advantages([0.9, -0.3, -0.3], pieces, probs, "rest8", "sequence")
    assert placed == 0 and same[1] == [-0.3] * len(wrong)
    # no problem record (a word problem), or no place for the error: the whole sample keeps its advantage
    rows, placed = token_advantages([-0.3], [list(wrong)], [""], "rest8", "first_error")
    assert placed == 0 and rows[0] == [-0.3] * len(wrong)
    rows, placed = token_advantages([-0.3], [[]], probs[:1], "rest8", "first_error")  # not decoded: nothing placed
    assert placed == 0 and rows == [[]]


def test_span_mask_marks_every_token_that_overlaps():
    assert span_mask(["ab", "cd", "ef"], (3, 5)) == [False, True, True]
    assert span_mask(["ab", "cd", "ef"], (2, 4)) == [False, True, False]


def test_first_error_token_puts_the_whole_advantage_on_the_first_character_off_the_gold_trace():
    p = _problem(16078978, 33447198)
    right = render(p, "rest8")
    wrong = _slip(_slip(right, 13, 2), 14, 2)
    at = first_wrong_char(wrong, p, "rest8")
    assert wrong[:at] == right[:at] and wrong[at] != right[at] and wrong.splitlines()[13].startswith(wrong[at - 2:at])
    assert first_wrong_char(right, p, "rest8") is None
    assert first_wrong_char(right[:-3], p, "rest8") == len(right) - 3  # stopped short: the place it stopped
    pieces = [list(right), list(wrong), [wrong[:at - 1], wrong[at - 1:at + 2], wrong[at + 2:]]]
    probs = [json.dumps(p.to_dict())] * 3
    rows, placed = token_advantages([0.9, -0.3, -0.3], pieces, probs, "rest8", "first_error_token")
    assert placed == 2 and rows[0] == [0.9] * len(right)  # a right sample keeps GRPO's advantage on every token
    assert [i for i, v in enumerate(rows[1]) if v] == [at]
    assert abs(sum(rows[1]) - -0.3 * len(wrong)) < 1e-9  # the sample's whole advantage, on that one token
    assert rows[2] == [0.0, -0.3 * 3, 0.0]  # the token that holds the character, in a sample of three tokens
