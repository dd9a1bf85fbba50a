"""mathcoach mistakes: collect wrong answers from real eval runs, correct them exactly, build LeMa rows."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mathcoach.cli import main
from mathcoach.mistakes.correct import correct_exact, problem_of
from mathcoach.problems.checker import check
from mathcoach.problems.traces import FORMATS, render_steps, steps_for, unit_of
from tests.helpers.oracle_server import Oracle
from tests.test_traces_checker import draw_corruption, problems

WRONG_ANSWER = "987654321987654321"


@st.composite
def problem_and_traced_format(draw):
    p = draw(problems(max_digits=5))
    return p, draw(st.sampled_from(sorted(f for f in FORMATS[p.op] if f != "plain")))


@given(problem_and_traced_format(), st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_the_exact_corrector_fixes_any_single_number_corruption_at_its_step(pf, data):
    p, fmt = pf
    steps = [s for s in steps_for(p, fmt) if s.nums]
    assume(steps)
    i, _, old, _, corrupted = draw_corruption(data, steps)
    unit = unit_of(p.op, fmt)
    text = render_steps(corrupted, unit, WRONG_ANSWER)
    rec = {"id": p.id, "question": p.question, "gold": p.answer, "solution": text, "format": fmt, "op": p.op,
           "a": p.a, "b": p.b, "phrasing": p.phrasing, "split": "train"}
    c = correct_exact(rec)
    assert c is not None and c["incorrect_step"] == i + 1 and c["kept"], (text, c)
    assert c["explanation"] and str(old) in c["explanation"]
    sep = " = " if unit == "chain" else "\n"
    fixed = (sep.join(s.text() for s in steps[:i]) + sep if i else "") + c["correct_solution"]
    res = check(p, fmt, fixed)  # the model's right steps, then the correction: a trace the checker passes
    assert res.correct and res.error is None, (fixed, res)


def _eval_run(tmp_path: Path, split: str, never=0, wrong=3, name="run") -> tuple[Path, Path]:
    data = tmp_path / f"{split}.jsonl"
    assert main(["data", "--digits", "2x2", "--per-cell", "12", "--split", split, "--format", "long",
                 "-o", str(data)]) == 0
    questions = [json.loads(x)["meta"]["question"] for x in data.read_text().splitlines()]
    oracle = Oracle(fail_times=0, always_fail=frozenset(questions[:never]),
                    wrong=frozenset(questions[never:never + wrong]))
    server, url = oracle.start()
    try:
        assert main(["eval", "--model", f"openai:o@{url}", "--data", str(data), "--max-retries", "0",
                     "-o", str(tmp_path / name), "--no-progress"]) == 0
    finally:
        server.shutdown()
    return tmp_path / name, data


def test_collect_takes_wrong_scored_training_answers_and_skips_unscored(tmp_path, capsys):
    run, _ = _eval_run(tmp_path, "train", never=2, wrong=3)
    out = tmp_path / "mistakes.jsonl"
    assert main(["mistakes", "collect", str(run), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "3 mistakes from 1 runs" in said and "2 unscored and skipped" in said
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 3  # the two API failures are not mistakes
    for r in recs:
        assert r["split"] == "train" and r["op"] == "mul" and r["format"] == "long"
        # the oracle writes the answer alone, so the checker finds the first step missing
        assert r["diagnosis"]["error_type"] == "format" and r["diagnosis"]["step"] == 0 and r["gold"] != r["answer"]
    corrections = tmp_path / "corrections.jsonl"
    assert main(["mistakes", "correct", str(out), "--corrector", "exact", "-o", str(corrections)]) == 0
    cs = [json.loads(x) for x in corrections.read_text().splitlines()]
    assert len(cs) == 3 and all(c["kept"] and c["answer_check"]["correct"] for c in cs)


def test_a_later_round_excludes_the_problems_of_earlier_rounds(tmp_path, capsys):
    """Round 2 learns from fresh problems: mistakes on a problem named in an --exclude file are counted, not taken."""
    run, data = _eval_run(tmp_path, "train", wrong=5)
    rows = data.read_text().splitlines()
    wrong_ids = {r["id"] for r in map(json.loads, (run / "samples.jsonl").open()) if r["correct"] is False}
    earlier = tmp_path / "round1_pool.jsonl"
    earlier.write_text("\n".join(x for x in rows if json.loads(x)["meta"]["id"] in sorted(wrong_ids)[:2]) + "\n")
    out = tmp_path / "m.jsonl"
    assert main(["mistakes", "collect", str(run), "--exclude", str(earlier), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "3 mistakes" in said and "2 on excluded problems" in said
    kept = {json.loads(x)["id"] for x in out.read_text().splitlines()}
    assert len(kept) == 3 and kept == wrong_ids - set(sorted(wrong_ids)[:2])


@pytest.mark.parametrize("split", ["val", "test"])
def test_collect_refuses_held_out_splits_naming_the_file(tmp_path, split):
    run, data = _eval_run(tmp_path, split)
    res = subprocess.run([sys.executable, "-m", "mathcoach", "mistakes", "collect", str(run), "-o",
                          str(tmp_path / "m.jsonl")], capture_output=True, text=True)
    assert res.returncode == 2 and str(data) in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.jsonl").exists()


def _corrections(tmp_path: Path) -> Path:
    run, _ = _eval_run(tmp_path, "train", wrong=6, name="pool")
    assert main(["mistakes", "collect", str(run), "-o", str(tmp_path / "m.jsonl")]) == 0
    assert main(["mistakes", "correct", str(tmp_path / "m.jsonl"), "-o", str(tmp_path / "c.jsonl")]) == 0
    return tmp_path / "c.jsonl"


def test_matched_token_arms_differ_by_under_one_percent_and_rows_train_on_the_output_only(tmp_path, tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mathcoach.mistakes.build import token_counter
    from mathcoach.train.data import encode_rows

    corrections = _corrections(tmp_path)
    cot = tmp_path / "cot.jsonl"
    assert main(["data", "--digits", "1-3", "--per-cell", "20", "--split", "train", "--format", "long",
                 "-o", str(cot)]) == 0
    out = tmp_path / "lema.jsonl"
    assert main(["mistakes", "build", str(corrections), "--cot", str(cot), "--match", "tokens", "--tokenizer",
                 str(tiny_model), "-o", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    count = token_counter(str(tiny_model))
    cot_tokens = sum(count(json.loads(x)) for x in cot.read_text().splitlines())
    arm_tokens = sum(count(r) for r in rows)
    assert abs(arm_tokens - cot_tokens) / cot_tokens < 0.01
    assert main(["overlap", str(out), str(cot)]) == 1  # the built file reads as problems (its CoT rows are cot's)
    lema = [r for r in rows if r["meta"]["lema"] == "correction"]
    assert len(lema) == 6 and all(r["messages"][0]["content"].endswith("Incorrect Step:") for r in lema)
    assert all(r["messages"][1]["content"].startswith("Step ") and "Correct Solution:" in r["messages"][1]["content"]
               for r in lema)
    # TRL's labels: -100 on the instruction, question and original solution; the output alone is learned
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    enc = encode_rows(tok, lema[:1], system=None, max_length=2048)[0]
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model),
                         args=SFTConfig(output_dir=str(tmp_path / "u"), use_cpu=True, report_to="none",
                                        completion_only_loss=True, max_length=2048),
                         train_dataset=Dataset.from_list([enc]), processing_class=tok)
    labels = [t for t in trainer.train_dataset[0]["labels"] if t != -100]
    assert tok.decode(labels[:-1]) == lema[0]["messages"][1]["content"] and labels[-1] == tok.eos_token_id


def test_fields_drop_parts_for_the_ablation(tmp_path):
    corrections = _corrections(tmp_path)
    out = tmp_path / "noexp.jsonl"
    assert main(["mistakes", "build", str(corrections), "--fields", "solution,step", "--match", "none",
                 "-o", str(out)]) == 0
    row = json.loads(out.read_text().splitlines()[0])
    reply = row["messages"][1]["content"]
    assert reply.startswith("Step ") and "Correct Solution:" in reply and "Explanation:" not in reply


@pytest.mark.parametrize("args, needle", [
    (["collect", "/no/such/run", "-o", "OUT"], "not a finished eval run directory"),
    (["correct", "M", "--corrector", "nope-model", "-o", "OUT"], "unknown model"),
    (["correct", "M", "--corrector", "exact", "--max-calls", "0", "-o", "OUT"], "--max-calls"),
    (["build", "C", "--fields", "nope", "--match", "none", "-o", "OUT"], "--fields"),
    (["build", "C", "--match", "tokens", "-o", "OUT"], "--match"),
    (["build", "C", "--match", "sometimes", "--cot", "C", "-o", "OUT"], "--match"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args, needle):
    (tmp_path / "M").write_text("")
    (tmp_path / "C").write_text("")
    args = [str(tmp_path / a) if a in ("OUT", "M", "C") else a for a in args]
    res = subprocess.run([sys.executable, "-m", "mathcoach", "mistakes", *args], capture_output=True, text=True)
    assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "OUT").exists()


class ScriptedTeacher:
    """Replays fixed replies by question: determinism is the point (which reply is kept, which is malformed)."""

    identity = {"backend": "scripted-teacher"}

    def __init__(self, replies: dict[str, str]):
        self.replies = replies

    def generate(self, requests):
        from mathcoach.models.base import Completion

        out = []
        for r in requests:
            question = r.messages[-1]["content"].rsplit("Question: ", 1)[1].split("\n", 1)[0]
            out.append(Completion(text=self.replies[question], cost_usd=0.001))
        return out


def test_a_teacher_corrector_is_parsed_filtered_and_compared_with_the_checker(tmp_path):
    from mathcoach.mistakes.run import run_correct

    run, _ = _eval_run(tmp_path, "train", wrong=3)
    assert main(["mistakes", "collect", str(run), "-o", str(tmp_path / "m.jsonl")]) == 0
    recs = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    steps = [check(problem_of(r), "long", r["solution"]).step + 1 for r in recs]  # the checker's, 1-based
    replies = {
        recs[0]["question"]: f" Step {steps[0]}. Explanation: the answer line copies the wrong total.\n"
                             f"Correct Solution: Answer: {recs[0]['gold']}",  # right step, right answer: kept
        recs[1]["question"]: " Step 1. Explanation: wrong.\nCorrect Solution: Answer: 1",  # wrong answer: filtered
        recs[2]["question"]: "I am not sure what went wrong here.",  # no LeMa shape: malformed
    }
    out = tmp_path / "c.jsonl"
    counts = run_correct(str(tmp_path / "m.jsonl"), "scripted", str(out), teacher=ScriptedTeacher(replies))
    assert counts["attempted"] == 3 and counts["parsed"] == 2 and counts["malformed"] == 1 and counts["kept"] == 1
    assert counts["step_checked"] == 2 and counts["step_agrees"] == 1 + (steps[1] == 1)
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(kept) == 1 and kept[0]["corrector"] == "scripted" and kept[0]["step_agrees"] is True
    capped = run_correct(str(tmp_path / "m.jsonl"), "scripted", str(tmp_path / "c2.jsonl"), max_calls=2,
                         teacher=ScriptedTeacher(replies))
    assert capped["attempted"] == 2 and capped["stopped"] == "--max-calls 2 reached"


def test_the_teacher_path_runs_over_real_http_and_resumes_from_the_cache(tmp_path, tiny_model):
    run, _ = _eval_run(tmp_path, "train", wrong=4)
    assert main(["mistakes", "collect", str(run), "-o", str(tmp_path / "m.jsonl")]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "mathcoach", "serve", "--model", str(tiny_model), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().split(" on ")[1].strip()
        from mathcoach.mistakes.run import run_correct

        args = (str(tmp_path / "m.jsonl"), f"openai:tiny@{url}", str(tmp_path / "c.jsonl"))
        first = run_correct(*args, max_tokens=16)
        again = run_correct(*args, max_tokens=16)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # a random tiny teacher writes nothing of LeMa's shape: every reply counted, none kept, none lost
    assert first["attempted"] == 4 and first["answered"] == 4 and first["parsed"] + first["malformed"] == 4
    assert first["kept"] == 0 and first["calls_made"] == 4
    assert again["calls_made"] == 0 and again["attempted"] == 4  # resumed from the response cache


def test_a_solution_that_runs_on_past_its_last_step_is_told_so():
    """Seen in a specialist's mistakes: every step right, then a step the trace does not have, then a wrong answer."""
    rec = {"id": "mul-2-6", "question": "2 x 6 = ?", "gold": "12", "format": "reversed", "op": "mul", "a": 2, "b": 6,
           "phrasing": "x_equals", "split": "train", "solution": "2 * 6 = 21, sum 21\n2 * 10 = 02, sum 27\nAnswer: 72"}
    c = correct_exact(rec)
    assert c["kept"] and c["incorrect_step"] == 2 and c["correct_solution"] == "Answer: 12"
    assert "Step 1 is right and completes" in c["explanation"] and "Answer: 12" in c["explanation"]
    rec["solution"] = "2 * 6 = 21, sum 21\nAnswer: 72"  # no step too many: the stated answer alone is wrong
    assert correct_exact(rec)["explanation"].startswith("Every step is right")
