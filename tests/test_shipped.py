"""The model shipped inside the package, ``mathcoach-mul`` (models/shipped.py, issue 18)."""

import subprocess
import sys

import pytest

from mathcoach.models import parse_model, shipped
from mathcoach.problems import answer as ans

# A fixed set the shipped weights must answer: products in several wordings and cells, and refusals.
FIXED = [
    ("What is 4821 * 307?", "1480047"),
    ("Multiply 12,345,678 by 87,654,321.", str(12345678 * 87654321)),
    ("7 x 8 = ?", "56"),
    ("hey, what's 99999999 times 99999999", str(99999999**2)),
    ("Compute the product of 1000 and 250.", "250000"),
    ("What is 12 plus 7?", ans.REFUSE),
    ("What is 2.5 times 4?", ans.REFUSE),
    ("Multiply 3, 4 and 5.", ans.REFUSE),
    ("What is the capital of France?", ans.REFUSE),
]


def shipped_present() -> bool:
    return (shipped.weights_dir("mul") / "model.safetensors").is_file()


def test_export_writes_an_fp16_directory_that_the_alias_loads(tiny_model, tmp_path, monkeypatch):
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    monkeypatch.setattr(shipped, "weights_dir", lambda sub: tmp_path / "weights" / sub)
    with pytest.raises(shipped.ShippedModelMissing, match="no weights"):
        shipped.mul_dir()
    out = shipped.export(tiny_model, tmp_path / "weights" / "mul", shipped.card_text(tiny_model, {"8x8": "x%"}))
    backend, kwargs = parse_model("mathcoach-mul")
    assert backend == "hf" and kwargs["path"] == out
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    card = (out / "README.md").read_text()
    assert "mathcoach run configs/experiments/mul_specialist.toml" in card and "- 8x8: x%" in card
    ids = torch.tensor([[1, 5, 9, 12, 3]])
    src = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)(ids).logits
    got = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)(ids).logits
    assert torch.allclose(src, got, atol=2e-2) and not (out.parent / "mul.tmp").exists()


def test_the_shipped_model_answers_a_fixed_set_or_says_it_is_missing(tmp_path):
    if not shipped_present():
        data = tmp_path / "q.jsonl"
        data.write_text('{"question": "What is 6 x 7?", "answer": "42"}\n')
        r = subprocess.run([sys.executable, "-m", "mathcoach", "eval", "--model", "mathcoach-mul", "--data",
                            str(data), "-o", str(tmp_path / "out")], capture_output=True, text=True)
        assert r.returncode == 2 and "mathcoach-mul: no weights" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
        return
    from mathcoach.eval.score import Sampling, ask_and_score
    from mathcoach.modeldir import read_record
    from mathcoach.models import load_model
    from mathcoach.problems.dataset import Item

    model = load_model("mathcoach-mul")
    items = [Item(f"fixed-{i}", q, gold, None, "question") for i, (q, gold) in enumerate(FIXED)]
    fmt = read_record(shipped.mul_dir()).format  # scored in the format the weights were trained on
    rows = ask_and_score(model, items, None, [], Sampling(max_tokens=1100), fmt)
    wrong = [(r["question"], r["strict"], r["refused"]) for r in rows if not r["correct"]]
    assert not wrong


def test_serve_uses_the_model_directory_budget_when_a_request_names_none():
    from mathcoach.serve import parse_chat_request

    body = {"messages": [{"role": "user", "content": "What is 6 x 7?"}]}
    assert parse_chat_request(body, default_max_tokens=1016)[0].max_tokens == 1016
    assert parse_chat_request(body | {"max_tokens": 9}, default_max_tokens=1016)[0].max_tokens == 9
    assert parse_chat_request(body)[0].max_tokens == 512
