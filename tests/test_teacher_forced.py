"""benchmarks/teacher_forced.py's --render and --answer: the rows it rewrites and the places it scores."""


from mathcoach.problems.dataset import to_row
from mathcoach.problems.problem import Problem

from .helpers.bench import load

teacher_forced = load("teacher_forced")


def _row(a: int, b: int, fmt: str) -> dict:
    return to_row(Problem.make("mul", a, b, question=f"What is {a} times {b}?", phrasing="free", seed=3, split="val"),
                  fmt)


def test_render_rewrites_the_gold_trace_and_keeps_the_question():
    row = _row(16078978, 33447198, "rest8")
    [out] = teacher_forced.rerender([row], "rest9")
    assert out["messages"][0] == row["messages"][0]
    assert out["messages"][1]["content"] == _row(16078978, 33447198, "rest9")["messages"][1]["content"]
    assert out["messages"][1]["content"] != row["messages"][1]["content"] and out["meta"]["format"] == "rest9"


def test_answer_scores_each_place_of_the_answer_line(monkeypatch, capsys):
    """Fed predictions that are the gold trace with the Answer line's 15th digit changed in every row, --answer
    counts that digit wrong in every row and every other one right: its places are indexed from the ones digit."""
    from mathcoach.train.scratch import char_tokenizer

    rows = [_row(16078978, 33447198, "rest9"), _row(88663266, 58314557, "rest9")]
    tok = char_tokenizer(rows, digits="tokens", frame=8)

    def predict(tok_, model, row, text):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        at = text.rfind("\nAnswer: ") + len("\nAnswer: ") + 1  # the 15th digit of a 16-place line
        wrong = str((int(text[at]) + 1) % 10)
        return ids, ids[:at] + tok.convert_tokens_to_ids([wrong]) + ids[at + 1:]

    monkeypatch.setattr(teacher_forced, "predict", predict)
    assert teacher_forced.answer(tok, None, rows) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 rows")
    assert "digit 15  0/2" in out and "digit 16  2/2" in out and "digit 14  2/2" in out and "digit  1  2/2" in out


def test_answer_runs_a_real_model_over_every_row(tmp_path, capsys):
    """The real forward (a random-weight scratch model with the place-token template): every row is indexed and
    scored, and no place is counted more often than there are rows."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mathcoach.train.scratch import build_scratch_model

    rows = teacher_forced.rerender([_row(16078978, 33447198, "rest8"), _row(7, 3, "rest8")], "rest9")
    out = build_scratch_model("tiny", rows, tmp_path / "m", seed=0, digits="tokens", factored_places=True, frame=8)
    tok, model = AutoTokenizer.from_pretrained(out), AutoModelForCausalLM.from_pretrained(out).eval()
    assert teacher_forced.answer(tok, model, rows) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 rows") and len(lines) == 1 + 16
    assert all(0 <= int(line.split()[2].split("/")[0]) <= 2 for line in lines[1:])
