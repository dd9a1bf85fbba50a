"""Word-problem data: the three styles of a GSM8K solution, the verified program builder (on the real GSM8K train
file where it is beside the checkout), the synthetic generator, the shipped shots, and bad input."""

from __future__ import annotations

import json

import pytest

from mathcoach.cli import main
from mathcoach.problems import word
from mathcoach.problems.answer import extract, matches
from mathcoach.problems.dataset import read_items
from mathcoach.problems.wordgen import TEMPLATES, generate_word_problems
from mathcoach.shots import SHOTS, shots_path
from mathcoach.tools.pal import run_reply

NATALIA = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in "
           "April and May.\n#### 72")


def test_each_style_is_derived_from_the_annotations():
    assert word.cot(NATALIA) == ("Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in "
                                 "April and May.\nThe answer is 72.")
    assert word.calculator(NATALIA).endswith(">>72 clips altogether in April and May.\nThe answer is 72.")
    program = word.program(NATALIA, "72")
    assert "    v1 = 48/2\n" in program and "    v2 = 48+v1\n" in program  # 24 is v1: the data flow is kept
    assert "# Natalia sold clips in May." in program  # comments say what, never the arithmetic
    assert run_reply(program).answer == "72"
    for style in word.STYLES:
        if style != "python":
            assert extract(word.render(NATALIA, style, "72")).strict == "72"


@pytest.mark.parametrize("solution, why", [
    ("She has 12 eggs.\n#### 12", "no calculator annotations"),
    ("She has <<3*4=12>>12 eggs.\n#### 13", "no annotated step gives the gold answer"),
    ("She has <<3*4=12>>12 eggs.", "no '#### N' final line"),
])
def test_a_solution_a_program_cannot_be_built_from_says_why(solution, why):
    with pytest.raises(word.StyleError, match=why):
        word.render(solution, "python", "13" if "13" in solution else "12")


def _rows(path):
    from mathcoach.io import read_jsonl

    return read_jsonl(path)  # not str.splitlines(): GSM8K text holds U+2028, a line break to it, not to JSONL


def test_every_kept_gsm8k_program_runs_to_its_gold_answer(shared_data, tmp_path):
    out = tmp_path / "py.jsonl"
    assert main(["data", "--source", "gsm8k", "--input", str(shared_data / "gsm8k" / "train.jsonl"),
                 "--style", "python", "-o", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) >= 0.9 * 7473  # most solutions carry annotations that reach the gold
    from mathcoach.tools.pal import extract_program, run_programs

    answers = run_programs([extract_program(r["messages"][-1]["content"]) for r in rows])
    assert all(matches(a, r["meta"]["answer"]) for a, r in zip(answers, rows))
    for r in rows[::500]:  # and through the path eval scores a model's reply by, one program per sandbox run
        assert matches(run_reply(r["messages"][-1]["content"]).answer, r["meta"]["answer"])


def test_gsm8k_rows_in_each_style_keep_the_question_and_gold(tmp_path):
    src = tmp_path / "train.jsonl"
    src.write_text(json.dumps({"question": "Natalia sold clips...", "answer": NATALIA}) + "\n"
                   + json.dumps({"question": "No steps here.", "answer": "It is 5.\n#### 5"}) + "\n")
    for style in word.STYLES:
        out = tmp_path / f"{style}.jsonl"
        assert main(["data", "--source", "gsm8k", "--input", str(src), "--style", style, "-o", str(out)]) == 0
        rows = _rows(out)
        assert len(rows) == (1 if style == "python" else 2)  # a solution without annotations has no program
        assert rows[0]["meta"].items() >= {"source": "gsm8k", "answer": "72", "style": style}.items()
        [item] = read_items(str(out))[:1]
        assert item.answer == "72" and item.question == "Natalia sold clips..."  # evaluable as it is


def test_synthetic_problems_are_reproducible_varied_and_verified(tmp_path):
    a, b = generate_word_problems(60, seed=3), generate_word_problems(60, seed=3)
    assert a == b and a != generate_word_problems(60, seed=4)
    assert {p.template for p in a} == set(TEMPLATES)
    assert len({p.question for p in a}) == 60
    out = tmp_path / "word.jsonl"
    assert main(["data", "--source", "word", "--count", "60", "--seed", "3", "--style", "python", "-o", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 60  # every generated program runs to its answer
    for r in rows[::7]:
        assert matches(run_reply(r["messages"][-1]["content"]).answer, r["meta"]["answer"])
    for p in a:
        assert all(word.annotations(p.solution)) and matches(extract(word.cot(p.solution)).strict, p.answer)


def test_the_shipped_shots_are_eight_train_problems_in_each_style():
    questions = None
    for name in SHOTS:
        rows = _rows(shots_path(name))
        assert len(rows) == 8 and all(r["meta"]["source"] == "gsm8k" for r in rows)
        qs = [r["messages"][0]["content"] for r in rows]
        assert questions in (None, qs)  # the same eight problems in every style
        questions = qs
        for r in rows:
            text = r["messages"][-1]["content"]
            got = run_reply(text).answer if name.endswith("python") else extract(text).strict
            assert matches(got, r["meta"]["answer"]), (name, text)


@pytest.mark.parametrize("args, says", [
    (["--source", "gsm8k"], "--input"),
    (["--source", "gsm8k", "--input", "missing.jsonl"], "does not exist"),
    (["--source", "word", "--count", "0"], "count"),
    (["--source", "word", "--style", "latex"], "style"),
    (["--input", "x.jsonl"], "--source gsm8k"),
])
def test_bad_word_data_settings_end_in_one_line(tmp_path, capsys, args, says):
    out = tmp_path / "out.jsonl"
    capsys.readouterr()
    assert main(["data", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and not out.exists()


def test_a_file_that_is_not_gsm8k_is_refused_and_nothing_is_written(tmp_path, capsys):
    src = tmp_path / "bad.jsonl"
    src.write_text(json.dumps({"question": "q"}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["data", "--source", "gsm8k", "--input", str(src), "-o", str(out)]) == 2
    assert "row 1" in capsys.readouterr().err and not out.exists()
