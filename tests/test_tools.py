"""GSM8K's calculator without eval, and PAL: program taken from a reply, run in the sandbox, result read."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathcoach.tools.calculator import evaluate, format_number
from mathcoach.tools.pal import extract_program, run_reply
from mathcoach.tools.sandbox import Limits


@pytest.mark.parametrize("expr,value", [
    ("48/2", "24"), ("5*12", "60"), ("1,000 + 250", "1250"), ("$5 * 3", "15"), ("(3 + 4) * 2", "14"),
    ("7/2", "3.5"), ("10/3", "3.333333"), ("2**10", "1024"), ("-4 + 1", "-3"), ("17 // 5", "3"), ("17 % 5", "2"),
    ("0.1 + 0.2", "0.3")
])
def test_annotations_compute_as_gsm8k_writes_them(expr, value):
    assert evaluate(expr) == value


@pytest.mark.parametrize("expr", [
    "__import__('os').system('id')", "open('/etc/passwd')", "x + 1", "9**9**9", "10**100", "1/0", "", "2 +",
    "[1] * 3", "'a' * 3", "(1).__class__", "50%",
])
def test_anything_but_bounded_arithmetic_is_refused(expr):
    assert evaluate(expr) is None


@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), st.sampled_from("+-*"))
def test_integer_arithmetic_matches_python(a, b, op):
    assert evaluate(f"{a} {op} {b}") == str(eval(f"{a} {op} {b}"))  # noqa: S307 -- the oracle, on our own ints


def test_numbers_are_written_as_integers_when_they_are_one():
    assert format_number(Fraction(48, 2)) == "24" and format_number(Fraction(1, 8)) == "0.125"


def test_a_program_is_taken_from_a_fence_or_from_def_solution():
    fenced = "Let me write code.\n```python\ndef solution():\n    return 1\n```\nDone."
    assert extract_program(fenced) == "def solution():\n    return 1\n"
    bare = "Sure.\ndef solution():\n    apples = 3\n    return apples * 2"
    assert extract_program(bare).startswith("def solution():") and "apples * 2" in extract_program(bare)
    assert extract_program("The answer is 6.") is None


FAST = Limits(cpu_s=2, wall_s=6)


def test_pal_runs_the_program_and_reads_its_result():
    r = run_reply("```python\ndef solution():\n    eggs = 16 - 3 - 4\n    return eggs * 2.0\n```", FAST)
    assert r.answer == "18" and r.error is None and r.isolation


def test_a_printing_program_is_read_by_its_last_line():
    r = run_reply("```python\ntotal = 5 * 12\nprint('working')\nprint(total)\n```", FAST)
    assert r.answer == "60" and r.stdout == "working\n60"


@pytest.mark.parametrize("reply,reason", [
    ("def solution():\n    return 1 / 0", "ZeroDivisionError"),
    ("def solution():\n    while True:\n        pass", "cpu time limit"),
    ("def solution():\n    x = 1", "no result"),
    ("no code at all", "no program"),
])
def test_a_failing_program_scores_nothing_and_keeps_its_reason(reply, reason):
    r = run_reply(reply, FAST)
    assert r.answer is None and reason in r.error
