"""train --method grpo / rft: the reward is the answer checker; real GRPO steps (TRL) on a tiny local model."""

import csv
import json
from pathlib import Path

import pytest
import torch

from mathcoach.cli import main
from mathcoach.eval.score import score_sample
from mathcoach.models.base import Completion
from mathcoach.problems import answer as ans
from mathcoach.problems.dataset import Item
from mathcoach.problems.problem import Problem
from mathcoach.train.config import TrainConfig
from mathcoach.train.rewards import exact_reward, parse_rewards, steps_reward
from mathcoach.train.run import run_train
from tests.helpers.interrupt import Interrupt


def _rows(tmp: Path, split: str, per_cell: int, fmt: str = "plain", digits: str = "1x1") -> Path:
    out = tmp / f"{split}-{fmt}-{digits}.jsonl"
    if not out.exists():
        assert main(["data", "--digits", digits, "--per-cell", str(per_cell), "--split", split, "--format", fmt,
                     "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def warm(tmp_path_factory, tiny_model):
    """The tiny random model after 60 SFT steps on 1x1 products: right on some questions, wrong on others, so
    a group of samples has rewards that differ (a random model's are all 0 and GRPO has nothing to follow)."""
    tmp = tmp_path_factory.mktemp("warm")
    out, _ = run_train(TrainConfig(train=str(_rows(tmp, "train", 200)), val=str(_rows(tmp, "val", 8)),
                                   model=str(tiny_model), method="full", max_steps=60, eval_steps=60, eval_problems=8,
                                   batch_size=16, learning_rate=1e-2, bf16=False, threads=2,
                                   output=str(tmp / "model")), quiet=True)
    return out, tmp


def _grpo(warm, out: Path, **kw) -> TrainConfig:
    model, tmp = warm
    base = dict(train=str(_rows(tmp, "train", 200)), val=str(_rows(tmp, "val", 8)), model=str(model), method="grpo",
                max_steps=4, eval_steps=2, eval_problems=4, batch_size=8, num_generations=4, learning_rate=1e-3,
                logging_steps=1, threads=2, train_limit=32, output=str(out), save_total_limit=4)
    return TrainConfig(**(base | kw))


def test_the_reward_is_exactly_the_answer_checker():
    p = Problem.make("mul", 37, 82, question="What is 37 * 82?", phrasing="what_is", seed=0)
    problem = json.dumps(p.to_dict())
    texts = ["Answer: 3034", "Answer: 3,034", "The answer is 3034.", "so it is 3034", "Answer: 3035", "", "no idea",
             ans.REFUSAL, "37 * 82 = 3034\nAnswer: 3034", "\\boxed{3034}"]
    item = Item(p.id, p.question, p.answer, p, "mathcoach")
    for strict, key in ((True, "correct"), (False, "correct_flexible")):
        got = exact_reward("long", strict)([None] * len(texts), texts, gold=[p.answer] * len(texts),
                                           problem=[problem] * len(texts), question=[p.question] * len(texts))
        want = [1.0 if score_sample(item, "long", Completion(text=t))[key] else 0.0 for t in texts]
        assert got == want
    assert got[:4] == [1.0, 1.0, 1.0, 1.0] and got[4:8] == [0.0] * 4  # the lenient one takes the bare last number
    strict = exact_reward("long")([None] * 3, ["so it is 3034", "", "no idea"], gold=["3034"] * 3,
                                  problem=[problem] * 3, question=[p.question] * 3)
    assert strict == [0.0, 0.0, 0.0]
    assert [ans.extract(t).strict for t in ("", "no idea")] == [None, None]  # no answer: None, rewarded 0
    # a question to refuse: the refusal is right, any number is wrong
    refuse = exact_reward("long")([None] * 2, [ans.REFUSAL, "Answer: 12"], gold=[ans.REFUSE] * 2, problem=[""] * 2,
                                  question=["What is 3 + 4?"] * 2)
    assert refuse == [1.0, 0.0]
    # chat-shaped completions read the same as text
    assert exact_reward("long")([None], [[{"role": "assistant", "content": "Answer: 3034"}]], gold=["3034"],
                                problem=[problem], question=[p.question]) == [1.0]


def test_the_steps_reward_is_the_step_checkers_share_before_the_first_error():
    from mathcoach.problems.traces import render

    p = Problem.make("mul", 37, 82, question="What is 37 * 82?", phrasing="what_is", seed=0)
    right = render(p, "long")
    slip = right.replace("7 * 2 = 14", "7 * 2 = 15")  # the 6th of 9 numbered steps wrong, the answer still right
    got = steps_reward("long")([None] * 3, [right, slip, ""], gold=["3034"] * 3,
                               problem=[json.dumps(p.to_dict())] * 3, question=[p.question] * 3)
    assert got == [1.0, 5 / 9, 0.0]


@pytest.mark.parametrize("spec,needle", [("format", "has no 'exact'"), ("exact,speed", "unknown reward 'speed'"),
                                         ("exact:x", "must be a number"), ("exact,exact", "each reward once")])
def test_reward_specs_are_checked(spec, needle):
    from mathcoach.config import ConfigError

    with pytest.raises(ConfigError, match=needle):
        parse_rewards(spec)
    assert parse_rewards("exact,steps:0.5") == [("exact", 1.0), ("steps", 0.5)]


def _weights(d: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(d / "model.safetensors"))


def test_real_grpo_steps_move_the_weights_log_every_reward_and_keep_the_contract(warm, tmp_path):
    from mathcoach import modeldir

    out, res = run_train(_grpo(warm, tmp_path / "g", rewards="exact,format:0.2"), quiet=True)
    start, last = _weights(warm[0]), _weights(out / "checkpoints" / "checkpoint-4")
    assert any(not torch.allclose(start[k], last[k]) for k in start)
    rows = [r for r in csv.DictReader((out / "metrics.csv").open()) if r["reward"]]
    assert len(rows) == 4
    for r in rows:  # each reward logged apart, the total its weighted sum
        exact, fmt = float(r["rewards/exact/mean"]), float(r["rewards/format/mean"])
        assert 0 <= exact <= 1 and 0 <= fmt <= 1 and abs(float(r["reward"]) - (exact + 0.2 * fmt)) < 1e-5
    assert any(float(r["rewards/exact/mean"]) > 0 for r in rows)  # the warm model is right some of the time
    assert res["generated_samples"] == 4 * 8 and res["method"] == "grpo"
    assert [h["step"] for h in res["val_history"]] == [2, 4]
    rec = modeldir.read_record(out)
    assert rec.method == "grpo" and rec.format == "plain" and rec.base_model == str(warm[0])
    test = _rows(tmp_path, "test", 4)
    assert main(["eval", "--model", str(out), "--data", str(test), "--no-progress",
                 "--output", str(tmp_path / "e")]) == 0


def test_grpo_resumes_after_a_kill(warm, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_train(_grpo(warm, tmp_path / "b"), callbacks=[Interrupt(3)], quiet=True)
    assert (tmp_path / "b" / "checkpoints" / "checkpoint-2").is_dir()
    assert not (tmp_path / "b" / "train_results.json").exists()
    out, res = run_train(_grpo(warm, tmp_path / "b", resume=True), quiet=True)
    assert res["steps"] == 4 and (out / "checkpoints" / "checkpoint-4").is_dir()
    steps = [int(r["step"]) for r in csv.DictReader((out / "metrics.csv").open()) if r["reward"]]
    assert steps == [1, 2, 3, 4]  # the killed run's step 3 is dropped, the checkpoint's rows are kept
    a, _ = run_train(_grpo(warm, tmp_path / "a"), quiet=True)
    wa, wb = _weights(a / "checkpoints" / "checkpoint-4"), _weights(out / "checkpoints" / "checkpoint-4")
    for k in wa:  # sampling resumes from the checkpoint's random state: the same run as an uninterrupted one
        assert torch.allclose(wa[k], wb[k], atol=1e-5), k


def _spy_on_the_loss(monkeypatch) -> list:
    """Every (advantages, completion mask, completion ids) that TRL's GRPO loss is given, as it is given them."""
    from trl import GRPOTrainer

    seen, loss = [], GRPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append((inputs["advantages"].detach().clone(), inputs["completion_mask"].clone(),
                     inputs["completion_ids"].clone()))
        return loss(self, model, inputs)

    monkeypatch.setattr(GRPOTrainer, "_compute_loss", spy)
    return seen


def test_first_error_advantage_reaches_the_loss_per_token(warm, tmp_path, monkeypatch):
    """--advantage first_error: TRL's loss gets a (B, T) advantage in which a wrong sample's is on its Answer line
    only (the plain format's one step), every other sample's on all its tokens; the share placed is logged."""
    from transformers import AutoTokenizer

    seen = _spy_on_the_loss(monkeypatch)
    out, _ = run_train(_grpo(warm, tmp_path / "f", advantage="first_error", max_steps=2, eval_steps=2), quiet=True)
    assert seen and all(adv.dim() == 2 for adv, _, _ in seen)
    tok = AutoTokenizer.from_pretrained(out)
    split = 0
    for adv, mask, ids in seen:
        for a, m, t in zip(adv, mask.bool(), ids):
            kept = a[m]
            if (kept < 0).any():  # a wrong sample: its advantage on the Answer line's tokens, zero before them
                text = tok.decode(t[m][kept != 0])
                assert "Answer" in text or text.strip().lstrip("-").isdigit(), text
                split += bool((kept == 0).any())
            else:
                assert torch.all(kept == kept[0])
    assert split > 0
    placed = [float(r["first_error/placed"]) for r in csv.DictReader((out / "metrics.csv").open())
              if r.get("first_error/placed") not in (None, "", "nan")]
    assert placed and all(0 <= x <= 1 for x in placed) and max(placed) > 0


def test_first_error_token_advantage_reaches_the_loss_on_one_token(warm, tmp_path, monkeypatch):
    """--advantage first_error_token: a wrong sample's row of TRL's (B, T) advantage is zero but for one token of its
    Answer line (the plain format's trace is that line), which holds the sample's whole advantage."""
    from transformers import AutoTokenizer

    seen = _spy_on_the_loss(monkeypatch)
    out, _ = run_train(_grpo(warm, tmp_path / "t", advantage="first_error_token", max_steps=2, eval_steps=2),
                       quiet=True)
    tok = AutoTokenizer.from_pretrained(out)
    one = 0
    for adv, mask, ids in seen:
        for a, m, t in zip(adv, mask.bool(), ids):
            kept = a[m]
            if (kept < 0).any() and (kept == 0).any():  # placed: one token, the sample's sum over its tokens
                assert int((kept != 0).sum()) == 1, kept
                text = tok.decode(t[m])
                assert text.lstrip().startswith("Answer") or text.strip().lstrip("-").isdigit(), text
                one += 1
    assert one > 0


def test_rft_keeps_only_right_samples_and_fine_tunes_on_them(warm, tmp_path):
    out, res = run_train(_grpo(warm, tmp_path / "r", method="rft", max_steps=2, eval_steps=2), quiet=True)
    kept = [json.loads(line) for line in (out / "rft_samples.jsonl").read_text().splitlines()]
    assert kept and res["generated_samples"] == 32 * 4 and res["kept_samples"] == len(kept) and res["method"] == "rft"
    for row in kept:
        gold = row["meta"]["answer"]
        assert ans.matches(ans.extract(row["messages"][1]["content"]).strict, gold)
    assert len({(r["messages"][0]["content"], r["messages"][1]["content"]) for r in kept}) == len(kept)
    assert res["steps"] == 2 and (out / "model.safetensors").is_file()


@pytest.mark.parametrize("extra,needle", [
    (["--batch-size", "6"], "do not divide the 6 samples"),
    (["--rewards", "format"], "has no 'exact'"),
    (["--rewards", "exact,nope"], "unknown reward 'nope'"),
    (["--num-generations", "1"], "must be 2 or more"),
    (["--from-scratch", "tiny"], "train it first"),
    (["--temperature", "0"], "--temperature"),
    (["--answer-weight", "3"], "weighted by the reward"),
    (["--decision-weight", "3"], "weighted by the reward"),
    (["--fit-schedule", "--max-minutes", "5"], "GRPO's is TRL's own"),
    (["--advantage", "token"], "choose one of sequence, first_error"),
    (["--method", "rft", "--advantage", "first_error"], "only with --method grpo"),
])
def test_bad_grpo_settings_one_line_exit_2_and_no_output(warm, tmp_path, capsys, extra, needle):
    model, tmp = warm
    out = tmp_path / "out"
    code = main(["train", "--method", "grpo", "--model", str(model), "--train", str(_rows(tmp, "train", 200)),
                 "--val", str(_rows(tmp, "val", 8)), "--output", str(out), "--max-steps", "1", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert not out.exists()


def test_grpo_questions_need_a_gold_answer(warm, tmp_path, capsys):
    model, tmp = warm
    rows = tmp_path / "nogold.jsonl"
    rows.write_text(json.dumps({"messages": [{"role": "user", "content": "What is 2 * 3?"}]}) + "\n")
    code = main(["train", "--method", "grpo", "--model", str(model), "--train", str(rows),
                 "--val", str(_rows(tmp, "val", 8)), "--output", str(tmp_path / "out"), "--max-steps", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no gold answer" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
