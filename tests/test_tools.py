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


def _program_server(variant):
    """An OpenAI-compatible endpoint on loopback whose replies are PAL programs, chosen by ``variant(a, b)`` (or
    ``variant(a, b, seed)``, by the request's sampling seed)."""
    import re

    from tests.helpers.reply_server import reply_server

    def reply(body):
        a, b = map(int, re.findall(r"\d+", body["messages"][-1]["content"])[:2])
        return variant(a, b, body.get("seed")) if variant.__code__.co_argcount == 3 else variant(a, b)

    return reply_server(reply)


KINDS = ("right", "wrong", "raises", "network", "no code")


def _kind(a: int, b: int) -> str:
    return KINDS[(a + b) % len(KINDS)]


def _reply(a: int, b: int) -> str:
    body = {"right": f"return {a} * {b}", "wrong": f"return {a} * {b} + 1", "raises": "return 1 / 0",
            "network": "import socket\n    return socket.create_connection(('127.0.0.1', 9), timeout=1)"}
    kind = _kind(a, b)
    if kind == "no code":
        return f"The answer is {a * b}."
    return f"Here is a program.\n```python\ndef solution():\n    {body[kind]}\n```"


def test_eval_with_python_tools_scores_each_program_result_over_real_http(tmp_path):
    import json

    from mathcoach.cli import main

    data = tmp_path / "test.jsonl"
    assert main(["data", "--digits", "2x2", "--per-cell", "15", "--split", "test", "-o", str(data)]) == 0
    server, url = _program_server(_reply)
    try:
        assert main(["eval", "--model", f"openai:pal@{url}", "--data", str(data), "--tools", "python",
                     "--no-progress", "-o", str(tmp_path / "run")]) == 0
    finally:
        server.shutdown()
    rows = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    seen = set()
    for r in rows:
        kind = _kind(r["a"], r["b"])
        seen.add(kind)
        assert r["correct"] is (kind == "right"), (kind, r)
        if kind == "right":
            assert r["strict"] == str(r["a"] * r["b"]) and r["tool"]["error"] is None
        elif kind == "raises":
            assert "ZeroDivisionError" in r["tool"]["error"]
        elif kind == "no code":
            assert r["tool"]["program"] is None and r["in_format"] is False  # no program: wrong, not unscored
    assert {"right", "wrong", "raises"} <= seen
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    right = sum(_kind(r["a"], r["b"]) == "right" for r in rows)
    assert res["tools"] == "python" and res["sandbox"] and res["metrics"]["overall"]["correct"] == right


def test_majority_vote_and_pass_at_k_count_program_results(tmp_path):
    """--samples k in python mode: each sample's program is run, and maj@k / pass@k are taken over their results."""
    import json

    from mathcoach.cli import main
    from mathcoach.problems.answer import matches

    import hashlib

    def reply(a, b, seed):  # by the problem and the sample's seed: right about two times in three, else off by one
        off = int(hashlib.sha256(f"{a}:{b}:{seed}".encode()).hexdigest(), 16) % 3 == 0
        return f"```python\ndef solution():\n    return {a} * {b} + {int(off)}\n```"

    data = tmp_path / "test.jsonl"
    assert main(["data", "--digits", "2x2", "--per-cell", "6", "--split", "test", "-o", str(data)]) == 0
    server, url = _program_server(reply)
    try:
        assert main(["eval", "--model", f"openai:pal@{url}", "--data", str(data), "--tools", "python", "--samples",
                     "4", "--temperature", "0.7", "--no-progress", "-o", str(tmp_path / "run")]) == 0
    finally:
        server.shutdown()
    rows = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and {r["tool"]["error"] for r in rows} == {None}
    by_item: dict = {}
    for r in rows:
        by_item.setdefault(r["id"], []).append(r)
    m = json.loads((tmp_path / "run" / "results.json").read_text())["metrics"]["overall"]
    from collections import Counter

    vote = [matches(Counter(r["strict"] for r in v).most_common(1)[0][0], v[0]["gold"]) for v in by_item.values()]
    assert m["majority_vote"] == sum(vote) / len(vote)
    assert m["pass_at_k"]["4"] == sum(any(r["correct"] for r in v) for v in by_item.values()) / len(by_item)
    assert 0 < sum(r["correct"] for r in rows) < len(rows)  # the samples really differ
