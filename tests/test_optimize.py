"""The prompt optimizer: budgets, resume, held-out discipline, screening, malformed replies, the HTTP teacher."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mathcoach.cli import main
from mathcoach.optimize.config import OptimizeConfig
from mathcoach.optimize.search import run_optimize
from tests.helpers.scripted import ScriptedStudent, ScriptedTeacher, prompts


@pytest.fixture
def splits(tmp_path) -> dict[str, str]:
    out = {}
    for split, n in (("train", 40), ("val", 30), ("test", 40)):
        path = tmp_path / f"{split}.jsonl"
        assert main(["data", "--digits", "2x2,3x3", "--per-cell", str(n // 2), "--split", split, "-o", str(path)]) == 0
        out[split] = str(path)
    return out


def cfg(splits, tmp_path, **kw) -> OptimizeConfig:
    base = dict(student="scripted", teacher="scripted", train=splits["train"], val=splits["val"], test=splits["test"],
                rounds=3, candidates=3, minibatch=10, output=str(tmp_path / "run"))
    return OptimizeConfig(**(base | kw))


REPLIES = {1: prompts(5, 60, 45), 2: prompts(70, 2, 90), 3: prompts(95, 96, 97)}


def read(run: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (run / name).read_text().splitlines()]


def test_finds_the_better_message_and_reports_on_test_once(splits, tmp_path):
    run, out = run_optimize(cfg(splits, tmp_path), ScriptedStudent(), ScriptedTeacher(REPLIES), quiet=True)
    rep = out["results"]["report"]
    assert rep["strongest_baseline"] == "baseline:algorithm"  # skill 30 beats 20 and 10 on validation
    assert "SKILL=9" in (run / "best_system_prompt.txt").read_text()
    assert rep["lift_over_best_baseline"] > 0.3 and rep["mcnemar"]["p"] < 0.01
    assert set(rep["test"]) == {"baseline:none", "baseline:step_by_step", "baseline:algorithm", rep["chosen"]}
    assert {p.name for p in run.iterdir()} >= {"config.json", "candidates.jsonl", "teacher_calls.jsonl", "results.json",
                                               "best_system_prompt.txt", "trajectory.png", "summary.md", "samples.jsonl"}
    for c in read(run, "candidates.jsonl"):
        if c["origin"] == "teacher":
            assert c["parent"] and "minibatch" in c  # every candidate records its parent and screening score


def test_a_worse_candidate_is_never_scored_on_validation(splits, tmp_path):
    run, _ = run_optimize(cfg(splits, tmp_path), ScriptedStudent(), ScriptedTeacher(REPLIES), quiet=True)
    cands = [c for c in read(run, "candidates.jsonl") if c["origin"] == "teacher"]
    assert any(c["val"] is None for c in cands) and any(c["val"] is not None for c in cands)
    for c in cands:
        assert (c["val"] is not None) == (c["minibatch"] > c["parent_minibatch"]), c


def test_no_validation_or_test_problem_ever_reaches_the_teacher(splits, tmp_path):
    teacher = ScriptedTeacher(REPLIES)
    run_optimize(cfg(splits, tmp_path), ScriptedStudent(), teacher, quiet=True)
    assert teacher.prompts
    held_out = [json.loads(line)["meta"] for s in ("val", "test") for line in Path(splits[s]).read_text().splitlines()]
    for prompt in teacher.prompts:
        for m in held_out:
            assert m["question"] not in prompt and f"{m['a']} * {m['b']}" not in prompt


@pytest.mark.parametrize("limits", [{"max_student_calls": 400}, {"max_teacher_calls": 1}, {"max_usd": 0.4},
                                    {"max_total_tokens": 60000, "student_max_tokens": 10}])
def test_budgets_are_never_exceeded(splits, tmp_path, limits):
    run, out = run_optimize(cfg(splits, tmp_path, rounds=10, patience=10, **limits), ScriptedStudent(),
                            ScriptedTeacher({r: prompts(10 + r, 20 + r) for r in range(1, 11)}), quiet=True)
    spent = out["results"]["spent"]
    assert spent["student_calls"] <= limits.get("max_student_calls", 10**9)
    assert spent["teacher_calls"] <= limits.get("max_teacher_calls", 10**9)
    assert spent["usd"] <= limits.get("max_usd", 10**9) + 1e-9
    assert spent["tokens"] <= limits.get("max_total_tokens", 10**9)
    assert out["results"]["stopped"].startswith("budget"), out["results"]["stopped"]
    assert out["results"]["stopped"].startswith("budget")
    assert len(out["results"]["report"]["test"]) >= 3  # the final test always fits: it is reserved up front


def test_too_small_a_budget_warns_or_refuses(splits, tmp_path):
    from mathcoach.config import ConfigError

    with pytest.raises(ConfigError, match="cannot even score the baselines"):
        run_optimize(cfg(splits, tmp_path, max_student_calls=100), ScriptedStudent(), ScriptedTeacher(REPLIES),
                     quiet=True)
    _, out = run_optimize(cfg(splits, tmp_path, max_student_calls=300, output=str(tmp_path / "r2")), ScriptedStudent(),
                          ScriptedTeacher(REPLIES), quiet=True)
    assert any("fewer than 3 proposals" in w for w in out["results"]["warnings"])


def test_a_killed_run_resumes_to_the_same_result_without_repeating_calls(splits, tmp_path, monkeypatch):
    whole_student = ScriptedStudent()
    whole, out_whole = run_optimize(cfg(splits, tmp_path, output=str(tmp_path / "whole")), whole_student,
                                    ScriptedTeacher(REPLIES), quiet=True)
    monkeypatch.setenv("MATHCOACH_HOME", str(tmp_path / "home2"))  # a fresh cache: nothing from the first run
    with pytest.raises(KeyboardInterrupt):
        run_optimize(cfg(splits, tmp_path), ScriptedStudent(fail_after=150), ScriptedTeacher(REPLIES), quiet=True)
    import json
    import sqlite3

    # the killed search left its record so far, streamed line by line: the baselines and the first teacher call
    run = tmp_path / "run"
    streamed = [json.loads(x) for x in (run / "candidates.jsonl").read_text().splitlines()]
    assert [c["id"] for c in streamed[:3]] == [c["id"] for c in
                                               [json.loads(x) for x in (whole / "candidates.jsonl").read_text().splitlines()][:3]]
    assert (run / "teacher_calls.jsonl").read_text().count("\n") >= 1 and not (run / "results.json").exists()

    from mathcoach.home import home

    with sqlite3.connect(home() / "cache.sqlite") as db:  # what the killed run had finished (whole batches)
        cached = db.execute("SELECT COUNT(*) FROM responses WHERE model LIKE '%scripted-student%'").fetchone()[0]
    assert 100 <= cached <= 150
    student = ScriptedStudent()
    _, out = run_optimize(cfg(splits, tmp_path), student, ScriptedTeacher(REPLIES), quiet=True)
    assert out["results"]["report"] == out_whole["results"]["report"]
    assert out["results"]["spent"]["student_calls"] == out_whole["results"]["spent"]["student_calls"]
    # every call the killed run finished is replayed from the cache, none is paid for twice
    assert student.calls + cached == whole_student.calls


def test_malformed_teacher_replies_are_counted_not_fatal(splits, tmp_path):
    replies = {1: "I think the student should be careful.",  # no message
               2: "<prompt>   </prompt><prompt>" + "x" * 3000 + "</prompt><prompt>Let's think step by step.</prompt>",
               3: prompts(80) + prompts(80)}  # a duplicate within the reply
    _, out = run_optimize(cfg(splits, tmp_path, max_prompt_chars=2000), ScriptedStudent(), ScriptedTeacher(replies),
                          quiet=True)
    rej = out["results"]["rejected_proposals"]
    assert rej["no_message"] == 1 and rej["empty"] == 1 and rej["too_long"] == 1 and rej["duplicate"] == 2


def test_the_teacher_can_be_reached_over_real_http(splits, tmp_path, tiny_model):
    proc = subprocess.Popen([sys.executable, "-m", "mathcoach", "serve", "--model", str(tiny_model), "--port", "0",
                             "--served-name", "tiny-teacher"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        url = proc.stdout.readline().split(" on ")[1].strip()
        from mathcoach.models import load_model

        teacher = load_model(f"openai:tiny-teacher@{url}")
        run, out = run_optimize(cfg(splits, tmp_path, rounds=1, teacher_max_tokens=16), ScriptedStudent(), teacher,
                                quiet=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    calls = read(run, "teacher_calls.jsonl")
    assert len(calls) == 1 and calls[0]["error"] is None and calls[0]["completion_tokens"] > 0
    assert out["results"]["teacher"]["base_url"] == url


def test_cli_rejects_shared_files_and_missing_ones(splits, tmp_path):
    args = ["optimize", "--student", "x", "--teacher", "y", "--train", splits["train"], "--val", splits["val"]]
    res = subprocess.run([sys.executable, "-m", "mathcoach", *args, "--test", splits["val"]], capture_output=True,
                         text=True)
    assert res.returncode == 2 and "--test" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = subprocess.run([sys.executable, "-m", "mathcoach", *args, "--test", "/nope.jsonl"], capture_output=True,
                         text=True)
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_the_plan_is_printed_before_any_call(splits, tmp_path, capsys):
    student = ScriptedStudent()
    run_optimize(cfg(splits, tmp_path, rounds=1), student, ScriptedTeacher(REPLIES), quiet=False)
    err = capsys.readouterr().err
    plan = err.splitlines()[0]
    assert plan.startswith("plan: at most") and "student calls" in plan and "teacher calls" in plan
    n_val, n_test = 30, 40
    bound = 3 * n_val + 1 * (10 * (1 + 3) + 3 * n_val) + 4 * n_test
    assert f"at most {bound} student calls" in plan and student.calls <= bound
