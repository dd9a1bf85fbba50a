"""mathcoach train / merge: real TRL training of tiny random-weight models for a few steps."""

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from mathcoach.cli import main
from mathcoach.train.config import TrainConfig
from mathcoach.train.run import run_train
from tests.helpers.interrupt import Interrupt

REPO = Path(__file__).resolve().parents[1]


def make_rows(tmp_path: Path, split: str, per_cell: int, fmt: str = "scratchpad", digits: str = "1-2") -> Path:
    out = tmp_path / f"{split}-{fmt}.jsonl"
    if not out.exists():
        assert main(["data", "--digits", digits, "--per-cell", str(per_cell), "--split", split, "--format", fmt,
                     "-o", str(out)]) == 0
    return out


def cfg(tmp_path, model, **kw) -> TrainConfig:
    base = dict(train=str(make_rows(tmp_path, "train", 8)), val=str(make_rows(tmp_path, "val", 2)), model=str(model),
                method="lora", max_steps=4, eval_steps=2, eval_problems=4, eval_max_tokens=8, batch_size=4,
                learning_rate=1e-2, logging_steps=1, bf16=False, threads=2, output=str(tmp_path / "out"))
    return TrainConfig(**(base | kw))


class Grab(TrainerCallback):
    """Keeps a reference to the model being trained."""

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.model = model


def test_loss_mask_is_exactly_the_assistant_tokens_plus_eos(tiny_model):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from mathcoach.models.hf import render_prompt
    from mathcoach.train.data import encode_rows

    tok = AutoTokenizer.from_pretrained(tiny_model)
    q, a = "What is 12 * 34?", "12 * 4 = 48, sum 48\nAnswer: 408"
    row = {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    enc = encode_rows(tok, [row], system=None, max_length=256)[0]
    ids, mask = enc["input_ids"], enc["completion_mask"]
    prompt_ids = tok(render_prompt(tok, row["messages"][:1]), add_special_tokens=False)["input_ids"]
    assert ids[: len(prompt_ids)] == prompt_ids and mask == [0] * len(prompt_ids) + [1] * (len(ids) - len(prompt_ids))
    completion = [t for t, m in zip(ids, mask) if m]
    assert completion[-1] == tok.eos_token_id and tok.decode(completion[:-1]) == a
    assert "default assistant" not in tok.decode(ids)  # the template's injected system turn is not trained on
    # TRL turns the mask into labels: -100 everywhere except the completion (EOS included).
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    args = SFTConfig(output_dir="unused", use_cpu=True, report_to="none", completion_only_loss=True, max_length=256)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list([enc]), processing_class=tok)
    labels = trainer.train_dataset[0]["labels"]
    assert [t for t in labels if t != -100] == completion
    assert [i for i, t in enumerate(labels) if t != -100] == [i for i, m in enumerate(mask) if m]


def test_pretraining_rows_are_plain_text_with_the_loss_on_every_token(tiny_model):
    from transformers import AutoTokenizer

    from mathcoach.train.data import encode_text_rows

    tok = AutoTokenizer.from_pretrained(tiny_model)
    chat = {"messages": [{"role": "user", "content": "What is 12 * 34?"}, {"role": "assistant", "content": "408"}]}
    text = {"text": "12 * 34 = 408 " * 30}
    c, *pieces = encode_text_rows(tok, [chat, text], max_length=64)
    assert tok.decode(c["input_ids"]) == "What is 12 * 34?\n408<|im_end|>"  # no template, no system turn
    assert all(set(e["completion_mask"]) == {1} for e in [c, *pieces])  # the loss covers every token
    whole = tok(text["text"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert len(pieces) > 1 and sum((e["input_ids"] for e in pieces), []) == whole  # split, nothing dropped
    assert all(len(e["input_ids"]) <= 64 for e in pieces)


def test_pretrain_then_sft_is_two_ordinary_runs(tiny_model, tmp_path):
    import json as _json

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(_json.dumps({"text": f"{a} * {b} = {a * b}"}) + "\n" for a in range(3, 30) for b in (7, 8)))
    out, res = run_train(cfg(tmp_path, tiny_model, train=str(corpus), objective="pretrain", method="full",
                             output=str(tmp_path / "pre")), quiet=True)
    assert res["objective"] == "pretrain" and res["steps"] == 4 and res["tokens_seen"] > 0
    before = {k: v.clone() for k, v in __import__("transformers").AutoModelForCausalLM.from_pretrained(
        tiny_model).state_dict().items()}
    after = __import__("transformers").AutoModelForCausalLM.from_pretrained(out).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the weights moved
    sft_out, sft = run_train(cfg(tmp_path, out, method="full", output=str(tmp_path / "sft")), quiet=True)
    assert sft["objective"] == "sft" and (sft_out / "mathcoach.json").exists()


@pytest.mark.parametrize("tools", ["python", "calculator"])
def test_validation_with_a_tool_scores_through_it(tiny_model, tmp_path, tools):
    """--val-tools: validation replies go through the tool (programs run in the sandbox, the calculator loop
    fills annotations), and the scored rows say so."""
    style = {"python": "python", "calculator": "calculator"}[tools]
    rows = tmp_path / f"word_{style}.jsonl"
    assert main(["data", "--source", "word", "--count", "6", "--style", style, "-o", str(rows)]) == 0
    out, res = run_train(cfg(tmp_path, tiny_model, train=str(rows), val=str(rows), val_tools=tools, max_steps=1,
                             eval_steps=1, eval_problems=2, output=str(tmp_path / f"v-{tools}")), quiet=True)
    samples = [json.loads(line) for line in (out / "val_samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 and all("tool" in s and s["correct"] is not None for s in samples)
    key = "program" if tools == "python" else "calculator"
    assert all(key in s["tool"] for s in samples)


def test_packed_rows_attend_to_each_other_with_cpu_attention(tiny_model):
    """Why --packing is refused without flash attention: the same row scores differently once packed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from mathcoach.train.data import encode_rows

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for q, a in (("What is 2 * 3?", "Answer: 6"), ("What is 12 * 34?", "Answer: 408"))]
    ex = [{"input_ids": e["input_ids"], "seq_lengths": [len(e["input_ids"])]} for e in encode_rows(tok, rows, None, 256)]
    packed = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True)(ex)
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([ex[1]["input_ids"]])).logits[0]
        both = model(input_ids=packed["input_ids"], position_ids=packed["position_ids"]).logits[0]
    n0, n1 = len(ex[0]["input_ids"]), len(ex[1]["input_ids"])
    assert not torch.allclose(alone, both[n0 : n0 + n1], atol=1e-4)


def test_pad_token_differs_from_eos_even_when_the_model_ships_them_equal(tiny_model):
    from transformers import AutoTokenizer

    from mathcoach.train.data import distinct_pad_token

    tok = AutoTokenizer.from_pretrained(tiny_model)
    tok.pad_token = tok.eos_token  # SmolLM2's shipped configuration
    pad, added = distinct_pad_token(tok)
    assert pad != tok.eos_token and pad in tok.get_vocab() and not added
    bare = type("T", (), {"eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": None,
                            "get_vocab": lambda self: {"<|im_end|>": 0, "a": 1}})()
    assert distinct_pad_token(bare) == ("<|pad|>", True)


def test_lora_moves_only_the_adapter_and_writes_the_output_contract(tiny_model, tmp_path):
    from safetensors.torch import load_file

    grab = Grab()
    out, res = run_train(cfg(tmp_path, tiny_model), callbacks=[grab], quiet=True)
    base = load_file(str(tiny_model / "model.safetensors"))
    trained = {k: v for k, v in grab.model.state_dict().items()}
    base_keys = {k.replace("base_model.model.", "").replace(".base_layer", ""): v for k, v in trained.items()
                 if "lora_" not in k}
    compared = 0
    for k, v in base.items():
        if k in base_keys:
            assert torch.equal(base_keys[k], v), f"base weight {k} changed"
            compared += 1
    assert compared >= len(base) - 1  # every base weight (a tied lm_head may be stored once)
    lora_b = [v for k, v in trained.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # lora_B starts at zero: nonzero means trained

    for name in ("adapter_model.safetensors", "adapter_config.json", "config.yaml", "metrics.csv", "README.md",
                 "train_results.json", "tokenizer_config.json", "val_samples.jsonl"):
        assert (out / name).is_file(), name
    import yaml

    conf = yaml.safe_load((out / "config.yaml").read_text())
    assert conf["method"] == "lora" and conf["lora_r"] == 64 and conf["lora_alpha"] == 16 and conf["format"] == "scratchpad"
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert any(r["loss"] for r in rows) and [r["step"] for r in rows if r["eval_exact_match"]] == ["2", "4"]
    assert res["versions"]["trl"] and res["seed"] == 0 and len(res["data_sha256"]["train"]) == 64
    assert res["best_step"] in (2, 4) and len(res["val_history"]) == 2
    assert not (out / "system_prompt.txt").exists()  # trained without one: eval must use none
    record = json.loads((out / "mathcoach.json").read_text())
    assert record["format"] == "scratchpad" and record["format_version"] == "1" and record["adapter"] is True
    assert record["base_model"] == str(tiny_model) and record["method"] == "lora" and record["system_prompt"] is None
    assert record["tokenizer"]["pad_token"] != record["tokenizer"]["eos_token"]
    assert record["data_sha256"] == res["data_sha256"] and record["versions"]["trl"]


def test_trained_adapter_and_its_merge_load_in_eval_and_serve_alike(tiny_model, tmp_path, capsys):
    system = tmp_path / "system.txt"
    system.write_text("Work digit by digit.")
    out, _ = run_train(cfg(tmp_path, tiny_model, learning_rate=5e-2, system="@" + str(system)), quiet=True)
    test = make_rows(tmp_path, "test", 2, fmt="long")  # rows of another format: the model directory decides
    args = ["--data", str(test), "--max-tokens", "12", "--no-progress"]
    assert main(["eval", "--model", str(out), "--output", str(tmp_path / "e1"), *args]) == 0
    assert main(["eval", "--model", str(tiny_model), "--output", str(tmp_path / "e0"), *args]) == 0
    assert main(["merge", str(out), "--output", str(tmp_path / "merged")]) == 0
    assert main(["eval", "--model", str(tmp_path / "merged"), "--output", str(tmp_path / "e2"), *args]) == 0

    def completions(run):
        return [json.loads(x)["completion"] for x in (tmp_path / run / "samples.jsonl").read_text().splitlines()]

    assert completions("e1") != completions("e0")  # the adapter is applied
    assert completions("e1") == completions("e2")  # merging changes nothing
    for run in ("e1", "e2"):  # no --format: the trained one, and the trained system message, from the directory
        res = json.loads((tmp_path / run / "results.json").read_text())
        assert res["format"] == {"name": "scratchpad", "version": "1", "source": "model directory"}
        assert res["system_prompt_sha256"]
    assert json.loads((tmp_path / "e0" / "results.json").read_text())["format"]["source"] == "data rows"
    assert json.loads((tmp_path / "merged" / "mathcoach.json").read_text())["adapter"] is False
    capsys.readouterr()
    assert main(["eval", "--model", str(out), "--output", str(tmp_path / "e4"), *args, "--format", "long"]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "--format long" in warning[0] and "scratchpad" in warning[0]
    proc = subprocess.Popen([sys.executable, "-m", "mathcoach", "serve", "--model", str(out), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split(" on ")[1].strip()
        # the server adds the trained system message, as eval does; the format is given (an endpoint has no record)
        assert main(["eval", "--model", f"openai:x@{url}", "--output", str(tmp_path / "e3"), *args,
                     "--format", "scratchpad"]) == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert completions("e3") == completions("e1")


def test_resume_after_a_kill_matches_an_uninterrupted_run(tiny_model, tmp_path):
    from safetensors.torch import load_file

    common = dict(method="full", max_steps=6, eval_steps=3, learning_rate=1e-3, save_total_limit=3)
    a, _ = run_train(cfg(tmp_path, tiny_model, output=str(tmp_path / "a"), **common), quiet=True)
    with pytest.raises(KeyboardInterrupt):
        run_train(cfg(tmp_path, tiny_model, output=str(tmp_path / "b"), **common), callbacks=[Interrupt(4)], quiet=True)
    assert (tmp_path / "b" / "checkpoints" / "checkpoint-3").is_dir()
    assert not (tmp_path / "b" / "train_results.json").exists()
    b, _ = run_train(cfg(tmp_path, tiny_model, output=str(tmp_path / "b"), resume=True, **common), quiet=True)
    wa = load_file(str(a / "checkpoints" / "checkpoint-6" / "model.safetensors"))
    wb = load_file(str(b / "checkpoints" / "checkpoint-6" / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-5), k
    first = load_file(str(a / "checkpoints" / "checkpoint-3" / "model.safetensors"))
    assert any(not torch.allclose(first[k], wa[k]) for k in wa)  # the comparison is not of untrained weights

    def losses(d):
        return {r["step"]: float(r["loss"]) for r in csv.DictReader((d / "metrics.csv").open()) if r["loss"]}

    la, lb = losses(a), losses(b)
    assert la.keys() == lb.keys() and all(abs(la[s] - lb[s]) < 1e-4 for s in la)


def test_from_scratch_specialist_is_an_ordinary_model_directory(tmp_path):
    from transformers import AutoTokenizer

    train = make_rows(tmp_path, "train", 8, fmt="reversed")
    val = make_rows(tmp_path, "val", 2, fmt="reversed")
    out, res = run_train(TrainConfig(train=str(train), val=str(val), from_scratch="tiny", method="full", max_steps=2,
                                     eval_steps=2, eval_problems=2, batch_size=4, bf16=False,
                                     output=str(tmp_path / "s")), quiet=True)
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert not (out / "scratch-init").exists()
    tok = AutoTokenizer.from_pretrained(out)
    text = "What is 123 * 4567?"
    assert tok.decode(tok(text)["input_ids"]) == text and len(tok(text)["input_ids"]) == len(text)
    assert tok.pad_token != tok.eos_token
    test = make_rows(tmp_path, "test", 1, fmt="reversed")
    assert main(["eval", "--model", str(out), "--data", str(test), "--max-tokens", "8", "--no-progress",
                 "--output", str(tmp_path / "e")]) == 0
    assert res["config"]["format"] == "reversed"


def _scratch_prompts(tmp_path, fmt: str, max_length: int, **template_flag):
    """Train a scratch model two steps with a digit template; return its saved tokenizer, its results, and the
    rendered question and question-plus-reply, built by the function eval and serve use."""
    from transformers import AutoTokenizer

    from mathcoach.models.hf import render_prompt

    train = make_rows(tmp_path, "train", 8, fmt=fmt)
    val = make_rows(tmp_path, "val", 2, fmt=fmt)
    out, res = run_train(TrainConfig(train=str(train), val=str(val), from_scratch="tiny", method="full", max_steps=2,
                                     eval_steps=2, eval_problems=2, batch_size=4, bf16=False, max_length=max_length,
                                     output=str(tmp_path / "s"), **template_flag), quiet=True)
    tok = AutoTokenizer.from_pretrained(out)
    prompt = render_prompt(tok, [{"role": "user", "content": "What is 16 * 780969?"}])
    reply = render_prompt(tok, [{"role": "user", "content": "7 x 8 = ?"}, {"role": "assistant", "content": "56"}],
                          add_generation_prompt=False)
    return tok, res, prompt, reply


def test_digit_marks_reach_training_eval_and_serve_through_the_saved_template(tmp_path):
    tok, res, prompt, reply = _scratch_prompts(tmp_path, "places", 640, digit_marks=True)
    assert "What is β1α6 * Ζ7Ε8Δ0Γ9Β6Α9?" in prompt
    assert tok.unk_token_id not in tok(prompt)["input_ids"]  # every mark is a token of its own
    assert "α7 x Α8 = ?" in reply and "\n56<|im_end|>" in reply  # only the question is marked
    assert res["config"]["digit_marks"] is True and res["config"]["format"] == "places"


def test_place_tokens_reach_training_eval_and_serve_through_the_saved_template(tmp_path):
    from mathcoach.train.scratch import PLACE_TOKENS

    tok, res, prompt, reply = _scratch_prompts(tmp_path, "carryout", 880, place_tokens=True)
    first = PLACE_TOKENS[0][10 * 1 + 1] + PLACE_TOKENS[0][6]  # 1 at the tens, 6 at the ones
    second = "".join(PLACE_TOKENS[1][10 * k + int(v)] for k, v in zip(range(5, -1, -1), "780969"))
    assert f"What is {first} * {second}?" in prompt
    ids = tok(prompt)["input_ids"]
    assert tok.unk_token_id not in ids and len(ids) == len(tok(prompt.replace(first, "16"))["input_ids"])
    assert f"{PLACE_TOKENS[0][7]} x {PLACE_TOKENS[1][8]} = ?" in reply and "\n56<|im_end|>" in reply
    assert res["config"]["place_tokens"] is True and res["config"]["format"] == "carryout"


def test_the_operand_frame_reaches_training_eval_and_serve_through_the_saved_template(tmp_path):
    """The template writes the count of numbers (and "-" when one has a minus sign right before it) and the first two
    after the question, padded to the frame (separators dropped, a missing number as dashes, a longer one whole); the
    question keeps its place tokens; replies are untouched."""
    from mathcoach.train.scratch import PLACE_TOKENS

    tok, res, prompt, reply = _scratch_prompts(tmp_path, "carryout8", 1250, place_tokens=True, operand_frame=8)
    assert prompt.endswith("?\nn=2 a=00000016 b=00780969<|im_end|>\n<|im_start|>assistant\n")
    assert f"What is {PLACE_TOKENS[0][11]}{PLACE_TOKENS[0][6]} * " in prompt
    assert "= ?\nn=2 a=00000007 b=00000008<|im_end|>" in reply and "\n56<|im_end|>" in reply
    assert res["config"]["operand_frame"] == 8
    render = lambda q: tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False)  # noqa: E731
    assert render("4,821 times 307").endswith("\nn=2 a=00004821 b=00000307<|im_end|>\n")
    assert render("what is 5 squared").endswith("\nn=1 a=00000005 b=--------<|im_end|>\n")
    assert render("123456789 x 2").endswith("\nn=2 a=123456789 b=00000002<|im_end|>\n")
    assert render("what is 2.5 times 4").endswith("\nn=3 a=00000002 b=00000005<|im_end|>\n")  # count: refusals
    assert render("multiply the numbers").endswith("\nn=0 a=-------- b=--------<|im_end|>\n")
    # a minus sign right before a number marks the count (a refusal the frame shows); a spaced one does not
    assert render("what is -5 times 3").endswith("\nn=2- a=00000005 b=00000003<|im_end|>\n")
    assert render("Tell me 12 \u00d7 \u221247.").endswith("\nn=2- a=00000012 b=00000047<|im_end|>\n")
    assert render("What is 7 - 3?").endswith("\nn=2 a=00000007 b=00000003<|im_end|>\n")


def test_the_frame_words_stand_at_fixed_places_before_the_count(tmp_path):
    """--frame-words 16: a line before the count holds the last 16 characters before the first number, between the
    first two and the first 16 after the second, lower-cased and padded with "~"; the count line stays as it was."""
    tok, res, prompt, _ = _scratch_prompts(tmp_path, "carryout8", 1300, place_tokens=True, operand_frame=8,
                                           frame_words=16)
    assert prompt.endswith("?\n~~~~~~~~what is |~~~~~~~~~~~~~ * |?~~~~~~~~~~~~~~~\nn=2 a=00000016 b=00780969"
                           "<|im_end|>\n<|im_start|>assistant\n")
    assert res["config"]["frame_words"] == 16
    render = lambda q: tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False)  # noqa: E731
    lines = lambda q: render(q).removesuffix("<|im_end|>\n").split("\n")[-2:]  # noqa: E731
    assert lines("ADD 4,821 AND 307.") == ["~~~~~~~~~~~~add |~~~~~~~~~~~ and |.~~~~~~~~~~~~~~~",
                                            "n=2 a=00004821 b=00000307"]
    # the word next to a number keeps its place whatever stands further out; longer text is cut at the far end
    assert lines("Hi there, please, could you add 1 plus 2 and then some more words")[0] == (
        ", could you add |~~~~~~~~~~ plus | and then some m")
    assert lines("hello")[0] == "~~~~~~~~~~~hello|~~~~~~~~~~~~~~~~|~~~~~~~~~~~~~~~~"  # no number: all is lead-in
    assert lines("5 squared?")[0] == "~~~~~~~~~~~~~~~~|~~~~~~~~~~~~~~~~| squared?~~~~~~~"  # one: the rest is its tail
    assert lines("1 x 2 x 3")[0] == "~~~~~~~~~~~~~~~~|~~~~~~~~~~~~~ x | x 3~~~~~~~~~~~~"
    # the question's own text still carries the place tokens, and nothing in the line is an unknown token
    assert tok.unk_token_id not in tok(render("Total of 4821 and 307, please."))["input_ids"]


def test_a_scratch_model_trained_further_keeps_its_template(tmp_path):
    """LeMa's arms continue a specialist: --model DIR with a marked format needs no flag, the directory's
    template (its mathcoach.json) is kept and recorded; the same rows on a model without it are refused."""
    from mathcoach.modeldir import read_record

    _scratch_prompts(tmp_path, "carryout", 880, place_tokens=True)
    train, val = make_rows(tmp_path, "train", 8, fmt="carryout"), make_rows(tmp_path, "val", 2, fmt="carryout")
    assert main(["train", "--model", str(tmp_path / "s"), "--method", "full", "--train", str(train), "--val", str(val),
                 "--max-steps", "1", "--eval-problems", "1", "--batch-size", "2", "--max-length", "880", "--no-bf16",
                 "--output", str(tmp_path / "further")]) == 0
    rec = read_record(tmp_path / "further")
    assert rec.template == "tokens" and rec.format == "carryout" and rec.base_model == str(tmp_path / "s")
    assert (tmp_path / "further" / "tokenizer.json").read_text() == (tmp_path / "s" / "tokenizer.json").read_text()
    # the longest validation reply is recorded, and eval without --max-tokens generates that far, not 512
    longest = max(len(json.loads(line)["messages"][-1]["content"]) for line in val.read_text().splitlines())
    assert longest + 16 <= rec.max_new_tokens <= longest + 40  # one token per character, plus the end of turn
    assert main(["eval", "--model", str(tmp_path / "further"), "--data", str(val), "-o", str(tmp_path / "ev"),
                 "--no-progress"]) == 0
    assert json.loads((tmp_path / "ev" / "config.json").read_text())["max_tokens"] == rec.max_new_tokens


@pytest.mark.parametrize("extra,needle", [
    (["--method", "sgd"], "invalid choice"),
    (["--digit-marks"], "--digit-marks"),
    (["--place-tokens"], "--place-tokens"),
    (["--from-scratch", "tiny", "--method", "full", "--factored-places"], "--place-tokens"),
    (["--from-scratch", "tiny", "--method", "full", "--operand-frame", "8"], "--place-tokens"),
    (["--from-scratch", "tiny", "--method", "full", "--place-tokens", "--operand-frame", "-1"], "--operand-frame"),
    (["--from-scratch", "tiny", "--method", "full", "--place-tokens", "--frame-words", "16"], "--operand-frame"),
    (["--from-scratch", "tiny", "--method", "full", "--place-tokens", "--operand-frame", "8", "--frame-words", "-1"],
     "--frame-words"),
    (["--from-scratch", "tiny", "--method", "full", "--digit-marks", "--place-tokens"], "not both"),
    (["--method", "qlora"], "qlora needs a CUDA GPU"),
    (["--from-scratch", "tiny", "--method", "lora"], "--method"),
    (["--from-scratch", "huge", "--method", "full"], "--from-scratch"),
    (["--train", "missing.jsonl"], "--train: file missing.jsonl does not exist"),
    (["--resume"], "holds no checkpoint"),
    (["--lora-targets", "nope_proj"], "no module named 'nope_proj'"),
    (["--max-length", "20"], "--max-length"),
    (["--model", "openai:gpt-4o@http://127.0.0.1:9"], "local transformers model"),
    (["--learning-rate", "3"], "--learning-rate"),
    (["--packing"], "--packing: packing needs a CUDA GPU with flash-attn"),
    (["--from-scratch", "tiny", "--method", "full", "--format", "carryout"], "--place-tokens"),
    (["--from-scratch", "tiny", "--method", "full", "--format", "fused", "--place-tokens"], "instead of --place-tokens"),
    (["--format", "staged"], "--from-scratch"),
    (["--format", "long"], "is written in 'scratchpad'"),
    (["--objective", "pretrain", "--from-scratch", "tiny", "--method", "full"], "continues a pretrained --model"),
    (["--answer-weight", "0"], "--answer-weight: must be above 0"),
    (["--decision-weight", "0"], "--decision-weight: must be above 0"),
    (["--fit-schedule"], "--fit-schedule: fits the schedule into --max-minutes"),
    (["--fit-schedule", "--max-minutes", "5", "--lr-scheduler", "reduce_lr_on_plateau"], "follows the loss"),
])
def test_bad_train_settings_one_line_exit_2_and_no_output(tiny_model, tmp_path, capsys, extra, needle):
    if extra in (["--method", "qlora"], ["--packing"]) and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    train, val = make_rows(tmp_path, "train", 4), make_rows(tmp_path, "val", 1)
    out = tmp_path / "out"
    code = main(["train", "--train", str(train), "--val", str(val), "--model", str(tiny_model), "--output", str(out),
                 "--max-steps", "1", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert not out.exists()


def test_an_existing_output_is_never_overwritten_without_resume(tiny_model, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code = main(["train", "--train", str(make_rows(tmp_path, "train", 4)), "--val", str(make_rows(tmp_path, "val", 1)),
                 "--model", str(tiny_model), "--output", str(tmp_path / "out")])
    assert code == 2 and "not empty" in capsys.readouterr().err
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_every_shipped_train_config_loads(tmp_path):
    import argparse

    from mathcoach.config import add_arguments, resolve

    configs = sorted((REPO / "configs" / "train").glob("*.toml"))
    assert configs
    train, val = make_rows(tmp_path, "train", 2), make_rows(tmp_path, "val", 1)
    for path in configs:
        parser = argparse.ArgumentParser()
        add_arguments(parser, TrainConfig)
        c = resolve(TrainConfig, parser.parse_args(["--config", str(path), "--train", str(train), "--val", str(val)]))
        import tomllib

        for key, value in tomllib.loads(path.read_text()).items():  # every setting of the file reached the config
            assert getattr(c, key.replace("-", "_")) == value, (path.name, key)
        flagged = resolve(TrainConfig, parser.parse_args(["--config", str(path), "--train", str(train), "--val",
                                                          str(val), "--seed", "123"]))
        assert flagged.seed == 123  # a flag overrides the file


def test_rows_in_a_marked_format_need_their_template(tmp_path, capsys):
    """The format can come from the rows: the contradiction is then found once they are read (preflight)."""
    train, val = make_rows(tmp_path, "train", 2, fmt="carryout"), make_rows(tmp_path, "val", 1, fmt="carryout")
    code = main(["train", "--train", str(train), "--val", str(val), "--from-scratch", "tiny", "--method", "full",
                 "--output", str(tmp_path / "out"), "--max-steps", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--place-tokens" in err and not (tmp_path / "out").exists()


def _lrs(out: Path) -> list[float]:
    return [float(r["learning_rate"]) for r in csv.DictReader((out / "metrics.csv").open()) if r["learning_rate"]]


def test_warmup_ratio_becomes_warmup_steps_on_every_transformers(tiny_model, tmp_path):
    out, _ = run_train(cfg(tmp_path, tiny_model, max_steps=10, warmup_ratio=0.3, lr_scheduler="constant_with_warmup",
                           learning_rate=1e-3, eval_steps=10), quiet=True)
    lrs = _lrs(out)
    peak = 1e-3
    # the rate of step k (logged after it) is k/3 of the peak for the 3 warmup steps, then the peak
    assert lrs[:4] == pytest.approx([0, peak / 3, 2 * peak / 3, peak]) and lrs[4:] == pytest.approx([peak] * (len(lrs) - 4))


def test_max_minutes_stops_on_time_and_validates_the_last_step(tiny_model, tmp_path):
    out, res = run_train(cfg(tmp_path, tiny_model, max_steps=200, eval_steps=100, max_minutes=0.002), quiet=True)
    assert res["stopped_by"] == "time limit" and res["steps"] < 200
    assert res["val_history"][-1]["step"] == res["steps"]  # the step it stopped at was evaluated (and could win)


class Tick(TrainerCallback):
    """A clock that moves one second per optimizer step, so a time limit falls on a known step on any machine."""

    def __init__(self):
        self.now = 0.0

    def on_step_end(self, args, state, control, **kwargs):
        self.now += 1.0


def test_fit_schedule_anneals_the_rate_by_the_time_limit(tiny_model, tmp_path, monkeypatch):
    import time
    import types

    from mathcoach.train import trainer as tr

    tick = Tick()  # runs before TimeLimit: the passed callbacks come first
    monkeypatch.setattr(tr, "time", types.SimpleNamespace(time=lambda: tick.now, perf_counter=time.perf_counter))
    # 30 s at a second a step: the limit stops step 30 of 200. Without the clock the rate step k uses is
    # 1 - (k - 1)/200 of the peak (linear), 0.855 at step 30; with it the rate follows the clock's share,
    # (k - 2)/30 once that leads, so step 30 uses 1 - 28/30 = 1/15 of the peak
    out, res = run_train(cfg(tmp_path, tiny_model, max_steps=200, eval_steps=200, max_minutes=0.5, fit_schedule=True,
                             lr_scheduler="linear", warmup_ratio=0.0, learning_rate=1e-3), callbacks=[tick], quiet=True)
    lrs = _lrs(out)  # the rate each step used
    assert res["stopped_by"] == "time limit" and res["steps"] == 30 and len(lrs) == 30
    assert lrs[-1] == pytest.approx(1e-3 / 15)
    assert all(lr <= 1e-3 * (1 - k / 200) + 1e-12 for k, lr in enumerate(lrs))  # never behind the steps' share


def test_schedule_clock_takes_the_larger_share_and_resumes_from_its_checkpoint(monkeypatch):
    from mathcoach.train import trainer as tr

    now = [0.0]
    monkeypatch.setattr(tr.time, "time", lambda: now[0])
    limit = tr.TimeLimit(10)  # 600 s
    clock = tr.ScheduleClock(limit)
    clock.total = 1000
    assert clock.virtual(0) == 0  # before training begins: the step itself
    limit.t0 = 100.0
    now[0] = 100.0 + 300  # half the time gone at step 1: the clock's share, 500 virtual steps
    assert clock.virtual(1) == pytest.approx(500)
    now[0] = 100.0 + 30  # ahead of the clock (5% of the time, 60% of the steps): the step
    assert clock.virtual(600) == 600
    resumed = tr.ScheduleClock(limit)
    resumed.total = 1000
    now[0] = 100.0
    assert resumed.virtual(801) == 801  # a checkpoint at step 800 starts there ...
    now[0] = 100.0 + 300
    assert resumed.virtual(802) == pytest.approx(900)  # ... and anneals the rest within its own limit
    now[0] = 100.0 + 900
    assert resumed.virtual(803) == pytest.approx(1000)  # past the limit: the schedule's end, no further


def test_early_stopping_stops_after_evaluations_without_improvement(tiny_model, tmp_path):
    out, res = run_train(cfg(tmp_path, tiny_model, max_steps=40, eval_steps=1, early_stopping=1,
                             learning_rate=1e-6), quiet=True)
    assert all(h["exact_match"] == 0 for h in res["val_history"])  # a random tiny model never improves ...
    assert res["stopped_by"] == "early stopping" and res["steps"] == 2  # ... so it stops after one more evaluation


def test_training_console_is_readable_and_warns_nothing_of_our_settings(tiny_model, tmp_path, capsys):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_train(cfg(tmp_path, tiny_model, method="full", max_steps=4), quiet=False)
    ours = [str(w.message) for w in caught if "gradient_checkpointing" in str(w.message)
            or "warmup" in str(w.message)]
    assert ours == []
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("step ")]
    assert lines and all(" loss " in line or " val " in line for line in lines), err
    assert "step 4/4" in err and " val 0.0%" in err and "{'loss'" not in err


def test_factored_place_tokens_start_as_number_plus_place_plus_digit(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mathcoach.train.scratch import PLACE_TOKENS, build_scratch_model

    rows = [json.loads(line) for line in make_rows(tmp_path, "train", 2, fmt="carryout8").read_text().splitlines()]
    out = build_scratch_model("tiny", rows, tmp_path / "f", seed=0, digits="tokens", factored_places=True)
    plain = build_scratch_model("tiny", rows, tmp_path / "p", seed=0, digits="tokens")
    tok = AutoTokenizer.from_pretrained(out)

    def emb(path):
        return AutoModelForCausalLM.from_pretrained(path).get_input_embeddings().weight.detach()

    e, raw = emb(out), emb(plain)
    ids = lambda t: tok.convert_tokens_to_ids(list(PLACE_TOKENS[t]))  # noqa: E731
    digit = e[tok.convert_tokens_to_ids(list("0123456789"))]
    for t in (0, 1):
        grid = e[ids(t)].view(16, 10, -1)
        assert torch.allclose(grid - grid[:, :1], (digit - digit[:1]).expand(16, 10, -1), atol=1e-6)
    assert torch.allclose(e[ids(0)] - e[ids(1)], (e[ids(0)] - e[ids(1)])[:1].expand(160, -1), atol=1e-6)
    assert not torch.allclose(raw[ids(0)] - raw[ids(1)], (raw[ids(0)] - raw[ids(1)])[:1].expand(160, -1), atol=1e-3)
    assert torch.equal(e[tok.convert_tokens_to_ids(list("0123456789"))], raw[tok.convert_tokens_to_ids(list("0123456789"))])
    # the trace's marks carry the number and place of the digits they ask for, on top of their own vectors
    from mathcoach.problems.traces.marked import GREEK_LOWER, GREEK_UPPER

    for t, marks in enumerate((GREEK_LOWER, GREEK_UPPER)):
        for k in (0, 3, 7):
            mark = tok.convert_tokens_to_ids(marks[k])
            assert torch.allclose(e[mark] - raw[mark], e[ids(t)[10 * k]] - digit[0], atol=1e-6)


def test_batching_random_mixes_short_and_long_rows_in_one_batch(tmp_path, capsys):
    """--batching random reaches the trainer's sampler; length grouping (the default) keeps rows of one length
    together. A bad value is one line and exit status 2."""
    from transformers import Trainer

    from mathcoach.train.run import sft_config

    lengths = [5] * 64 + [500] * 64  # short rows (refusals) and long ones (traces)
    data = [{"input_ids": [1] * n} for n in lengths]
    for batching, mixed in (("length", False), ("random", True)):
        args = sft_config(TrainConfig(train="t.jsonl", val="v.jsonl", batching=batching, batch_size=8), tmp_path / batching, len(data))
        assert args.train_sampling_strategy == ("random" if mixed else "group_by_length")
        sampler = Trainer._get_train_sampler.__get__(type("T", (), {"args": args, "train_dataset": data,
                                                                    "processing_class": None, "model": None})())()
        order = list(sampler)
        batches = [{lengths[i] for i in order[s:s + 8]} for s in range(0, len(order), 8)]
        share = sum(len(b) == 2 for b in batches) / len(batches)  # batches holding both kinds of row
        # grouped: at most the batch where a sorted megabatch turns from long to short; random: nearly all
        assert (share > 0.8) if mixed else (share < 0.5), (batching, share)
    code = main(["train", "--train", "x.jsonl", "--val", "y.jsonl", "--batching", "shuffled"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "batching" in err[0]


def test_split_point_cuts_at_the_gap_that_saves_the_most_padding():
    from mathcoach.train.batches import split_point

    assert split_point([950, 70, 1000, 60, 980]) == 2  # the two refusals apart from the three traces
    assert split_point([950, 1000, 980, 990]) is None  # a cut saving under half a row is not worth a forward
    assert split_point([500]) is None


def test_split_batches_without_a_padding_mask_give_the_one_padded_batch_loss(tiny_model):
    """--batching split: the short rows in a forward of their own, no attention mask on right padding; the token
    mean over both forwards is the loss of the same rows padded into one batch with its mask."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from mathcoach.train.batches import SplitCollator
    from mathcoach.train.data import encode_rows
    from mathcoach.train.trainer import ANSWER_MARKER, token_loss

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    long_reply = "\n".join(f"{i} * 7 = {7 * i}" for i in range(1, 30)) + "\nAnswer: 203"
    pairs = [("What is 29 * 7?", long_reply), ("What is 3 - 1?", "I can't"), ("Find 29 times 7", long_reply[:-3]),
             ("2 + 2?", "I can't answer that")]
    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]} for q, a in pairs]
    ex = [{"input_ids": e["input_ids"], "labels": [t if m else -100 for t, m in zip(e["input_ids"], e["completion_mask"])]}
          for e in encode_rows(tok, rows, None, 512)]
    one = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)(ex)
    split = SplitCollator(tok.pad_token_id)(ex)
    assert "attention_mask" not in split and split["short_input_ids"].shape[0] == 2 and split["input_ids"].shape[0] == 2
    assert split["input_ids"].numel() + split["short_input_ids"].numel() < one["input_ids"].numel()
    marker = tok(ANSWER_MARKER, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        for weight in (1.0, 5.0):
            want, _ = token_loss(model, dict(one), marker, weight)
            got, _ = token_loss(model, split, marker, weight)
            assert torch.allclose(want, got, atol=1e-5), (weight, want, got)
        # the mask matters once padding sits on the left: what the split collator never writes
        width = one["input_ids"].shape[1]
        left = {"input_ids": torch.tensor([[tok.pad_token_id] * (width - len(e["input_ids"])) + e["input_ids"]
                                           for e in ex]),
                "labels": torch.tensor([[-100] * (width - len(e["labels"])) + e["labels"] for e in ex])}
        assert not torch.allclose(token_loss(model, left, marker)[0], want, atol=1e-3)


def test_training_with_split_batches_mixes_refusals_and_runs(tmp_path):
    train = make_rows(tmp_path, "train", 4, fmt="reversed")
    rows = train.read_text().splitlines()
    refusal = tmp_path / "mixed.jsonl"
    assert main(["data", "--digits", "1", "--per-cell", "0", "--refusals", "8", "--split", "train", "-o",
                 str(refusal)]) == 0
    mixed = tmp_path / "train-mixed.jsonl"
    mixed.write_text("\n".join(rows + refusal.read_text().splitlines()) + "\n")
    val = make_rows(tmp_path, "val", 2, fmt="reversed")
    out, res = run_train(TrainConfig(train=str(mixed), val=str(val), from_scratch="tiny", method="full", max_steps=3,
                                     eval_steps=3, eval_problems=2, batch_size=8, bf16=False, batching="split",
                                     output=str(tmp_path / "s")), quiet=True)
    assert res["config"]["batching"] == "split" and res["steps"] == 3 and res["tokens_seen"] > 0
    losses = [float(r["loss"]) for r in csv.DictReader((out / "metrics.csv").open()) if r["loss"]]
    assert losses and all(0 < x < 100 for x in losses)
    with pytest.raises(Exception, match="batching"):
        TrainConfig(train="t", val="v", batching="split", packing=True)


def test_answer_weights_cover_the_last_answer_line_only():
    from mathcoach.train.trainer import answer_weights

    marker = [7, 8]
    ids = torch.tensor([[1, 7, 8, 2, 7, 8, 3, 4], [1, 2, 3, 4, 5, 6, 7, 9]])
    w = answer_weights(ids, marker, 5.0)
    assert w[0].tolist() == [1, 1, 1, 1, 5, 5, 5, 5]  # from the last marker to the end
    assert w[1].tolist() == [1.0] * 8  # no Answer line (a refusal): the plain loss


def test_decision_weights_cover_each_rows_first_completion_token_only():
    from mathcoach.train.trainer import decision_weights

    target = torch.tensor([[-100, -100, 5, 6, 7], [-100, 4, 5, -100, -100], [-100] * 5])
    w = decision_weights(target, 4.0)
    assert w.tolist() == [[1, 1, 4, 1, 1], [1, 4, 1, 1, 1], [1] * 5]  # a row with no completion keeps 1


def _one_answer_row(tiny_model):
    """The tiny model and one row, "What is 12 * 3?" answered with an Answer line, its prompt masked from the labels:
    (model, prompt ids, row ids, the batch, the Answer marker's ids)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mathcoach.train.trainer import ANSWER_MARKER

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    prompt, reply = tok("What is 12 * 3?\n")["input_ids"], tok("12 * 3 = 36\nAnswer: 36")["input_ids"]
    ids = torch.tensor([prompt + reply])
    labels = ids.clone()
    labels[0, : len(prompt)] = -100
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    marker = tok(ANSWER_MARKER, add_special_tokens=False)["input_ids"]
    return model, prompt, ids, inputs, marker


def test_answer_weight_is_the_weighted_mean_of_the_completion_tokens(tiny_model):
    """The weighted loss at weight 1 is the model's own mean loss over the completion; above 1 the Answer line's
    tokens count more: computed here by hand from the per-token losses."""
    from types import SimpleNamespace

    from mathcoach.train.trainer import MathSFTTrainer

    model, prompt, ids, inputs, marker = _one_answer_row(tiny_model)
    with torch.no_grad():
        plain = model(**inputs).loss
        # a weight a hair above 1 takes the weighted path (at exactly 1 TRL's own loss is used)
        same = MathSFTTrainer.compute_loss(SimpleNamespace(answer_weight=1.0 + 1e-9, decision_weight=1.0,
                                                           answer_ids=marker), model, dict(inputs))
        heavy = MathSFTTrainer.compute_loss(SimpleNamespace(answer_weight=9.0, decision_weight=1.0, answer_ids=marker),
                                            model, dict(inputs))
        decided = MathSFTTrainer.compute_loss(SimpleNamespace(answer_weight=1.0, decision_weight=5.0,
                                                              answer_ids=marker), model, dict(inputs))
        # under gradient accumulation the Trainer leaves the division by its micro-batches to the loss
        accumulated = MathSFTTrainer.compute_loss(
            SimpleNamespace(answer_weight=9.0, decision_weight=1.0, answer_ids=marker, model_accepts_loss_kwargs=True,
                            current_gradient_accumulation_steps=2), model, dict(inputs), num_items_in_batch=99)
        logits = model(input_ids=ids).logits[0, :-1]
    per_token = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")[len(prompt) - 1:]
    start = next(i for i in range(len(ids[0]) - len(marker), -1, -1) if ids[0, i:i + len(marker)].tolist() == marker)
    w = torch.ones_like(per_token)
    w[start - len(prompt):] = 9.0  # per_token[j] is the loss of token len(prompt) + j
    assert torch.allclose(same, plain, atol=1e-5)
    assert torch.allclose(heavy, (per_token * w).sum() / w.sum(), atol=1e-5) and not torch.allclose(heavy, plain)
    assert torch.allclose(accumulated, heavy / 2, atol=1e-6)
    first = torch.ones_like(per_token)
    first[0] = 5.0  # the reply's first token: the decision
    assert torch.allclose(decided, (per_token * first).sum() / first.sum(), atol=1e-5)
    assert not torch.allclose(decided, plain)


def test_focal_weights_fall_with_the_models_probability_of_the_token():
    from mathcoach.train.trainer import focal_weights

    p = torch.tensor([0.999, 0.9, 0.5, 0.01])
    loss = -p.log()
    assert torch.allclose(focal_weights(loss, 1.0), 1 - p, atol=1e-6)
    assert torch.allclose(focal_weights(loss, 2.0), (1 - p) ** 2, atol=1e-6)
    assert focal_weights(loss, 0.0).tolist() == [1.0] * 4  # gamma 0: the plain mean
    loss.requires_grad_(True)
    assert not focal_weights(loss, 1.0).requires_grad  # a weighting of the mean, not a gradient path of its own


def test_focal_loss_is_the_focal_weighted_mean_and_logs_the_plain_one(tiny_model):
    """With focal_gamma the loss is sum(l * (1 - p)^g) / sum((1 - p)^g) over the completion's tokens (the Answer
    line's weight on top), computed here by hand; the plain mean goes to the trainer's logged metrics as ce_loss."""
    from collections import defaultdict
    from types import SimpleNamespace

    from mathcoach.train.trainer import MathSFTTrainer

    model, prompt, ids, inputs, marker = _one_answer_row(tiny_model)
    metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    with torch.no_grad():
        plain = model(**inputs).loss
        focal = MathSFTTrainer.compute_loss(SimpleNamespace(answer_weight=2.0, decision_weight=1.0, answer_ids=marker,
                                                            focal_gamma=1.0, _metrics=metrics), model, dict(inputs))
        logits = model(input_ids=ids).logits[0, :-1]
    per_token = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")[len(prompt) - 1:]
    start = next(i for i in range(len(ids[0]) - len(marker), -1, -1) if ids[0, i:i + len(marker)].tolist() == marker)
    w = torch.ones_like(per_token)
    w[start - len(prompt):] = 2.0
    w = w * (1 - (-per_token).exp())
    assert torch.allclose(focal, (per_token * w).sum() / w.sum(), atol=1e-5)
    assert not torch.allclose(focal, plain, atol=1e-3)
    logged = metrics["eval"]["ce_loss"]  # the model is in eval mode here
    assert len(logged) == 1 and abs(logged[0] - float(plain)) < 1e-5


def test_training_with_focal_gamma_logs_the_plain_loss_beside_it(tmp_path):
    train = make_rows(tmp_path, "train", 8, fmt="reversed")
    val = make_rows(tmp_path, "val", 2, fmt="reversed")
    out, res = run_train(TrainConfig(train=str(train), val=str(val), from_scratch="tiny", method="full", max_steps=2,
                                     eval_steps=2, eval_problems=2, batch_size=4, bf16=False, focal_gamma=1.0,
                                     logging_steps=1, output=str(tmp_path / "s")), quiet=True)
    assert res["config"]["focal_gamma"] == 1.0
    rows = [r for r in csv.DictReader((out / "metrics.csv").open()) if r["loss"]]
    assert rows and all(0 < float(r["ce_loss"]) < 100 for r in rows)
    # the focal mean sits on the tokens still wrong, so above the plain mean
    assert all(float(r["loss"]) > float(r["ce_loss"]) for r in rows)
    with pytest.raises(Exception, match="focal-gamma"):
        TrainConfig(train="t", val="v", focal_gamma=-1)


def test_training_with_an_answer_weight_runs_and_is_recorded(tmp_path):
    train = make_rows(tmp_path, "train", 8, fmt="reversed")
    val = make_rows(tmp_path, "val", 2, fmt="reversed")
    out, res = run_train(TrainConfig(train=str(train), val=str(val), from_scratch="tiny", method="full", max_steps=2,
                                     eval_steps=2, eval_problems=2, batch_size=4, bf16=False, answer_weight=4.0,
                                     output=str(tmp_path / "s")), quiet=True)
    assert res["config"]["answer_weight"] == 4.0
    losses = [float(r["loss"]) for r in csv.DictReader((out / "metrics.csv").open()) if r["loss"]]
    assert losses and all(0 < x < 100 for x in losses)


def test_answer_focal_gamma_weights_the_answer_line_apart_from_the_trace(tiny_model):
    """With answer_focal_gamma the Answer line's tokens take (1 - p)^ga, the rest (1 - p)^g: at ga = 0 the Answer
    line keeps answer_weight on the plain loss while the trace is focal-weighted; computed by hand."""
    from types import SimpleNamespace

    from mathcoach.train.trainer import MathSFTTrainer

    model, prompt, ids, inputs, marker = _one_answer_row(tiny_model)
    losses = {}
    with torch.no_grad():
        for ga in (None, 0.0, 2.0):
            losses[ga] = MathSFTTrainer.compute_loss(
                SimpleNamespace(answer_weight=2.0, decision_weight=1.0, answer_ids=marker, focal_gamma=1.0,
                                answer_focal_gamma=ga), model, dict(inputs))
        logits = model(input_ids=ids).logits[0, :-1]
    per_token = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")[len(prompt) - 1:]
    start = next(i for i in range(len(ids[0]) - len(marker), -1, -1) if ids[0, i:i + len(marker)].tolist() == marker)
    on_answer = torch.zeros_like(per_token, dtype=torch.bool)
    on_answer[start - len(prompt):] = True
    q = 1 - (-per_token).exp()
    for ga, want_answer in ((None, q), (0.0, torch.ones_like(q)), (2.0, q ** 2)):
        w = torch.where(on_answer, 2.0 * want_answer, q)
        assert torch.allclose(losses[ga], (per_token * w).sum() / w.sum(), atol=1e-5), ga
    assert not torch.allclose(losses[0.0], losses[None], atol=1e-4)
    with pytest.raises(Exception, match="answer-focal-gamma"):
        TrainConfig(train="t", val="v", answer_focal_gamma=-1)
