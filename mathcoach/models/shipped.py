"""Models shipped inside the package: ``mathcoach-mul``, the from-scratch multiplication specialist.

Example: ``mul_dir()`` -> .../mathcoach/weights/mul (an ordinary model directory: config, fp16 safetensors, the
character tokenizer with its place-token chat template, ``mathcoach.json`` and the card ``README.md``);
``python -m mathcoach.models.shipped runs/mul/model`` writes a trained directory there, with its card.

Why in the package: a user who installs mathcoach offline can ``mathcoach eval --model mathcoach-mul`` and
``mathcoach serve --model mathcoach-mul`` at once, with no hub and no training. The weights are stored in fp16
(half the bytes; the backend loads them as fp32) and the card names the command and commit that made them.
"""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path

from mathcoach.errors import UserError
from mathcoach.modeldir import copy_record, read_record

class ShippedModelMissing(UserError, RuntimeError):
    """A shipped model whose weights this install does not have."""


def weights_dir(sub: str) -> Path:
    return Path(str(resources.files("mathcoach"))) / "weights" / sub


def mul_dir() -> Path:
    d = weights_dir("mul")
    if not (d / "model.safetensors").is_file():
        raise ShippedModelMissing(f"mathcoach-mul: no weights in {d}; this install was built without them "
                                  "(make them with configs/experiments/mul_specialist.toml, then "
                                  "python -m mathcoach.models.shipped DIR)")
    return d


def export(model_dir: Path, out: Path, card: str) -> Path:
    """Copy a trained model directory to ``out`` in fp16, with its tokenizer, record and ``card``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(torch.float16).save_pretrained(tmp, safe_serialization=True)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(tmp)
    copy_record(model_dir, tmp, adapter=False)
    (tmp / "README.md").write_text(card, encoding="utf-8")  # the shipped card replaces the training one
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def card_text(model_dir: Path, results: dict[str, str]) -> str:
    """The model card: what it answers, what it refuses, its measured scores and how to remake it."""
    record = read_record(model_dir)
    commit = record.versions.get("git") if record else None
    lines = [
        "# mathcoach-mul", "",
        "A 4.2M-parameter Llama trained from scratch by mathcoach to multiply two whole numbers of up to 8 digits, "
        "asked in any wording, and to refuse everything else with one line "
        "(`Refused: I only multiply two whole numbers.`). Character tokenizer; the chat template writes each "
        "question digit as one token of its number, place and value.", "",
        "    mathcoach eval --model mathcoach-mul --data FILE", "    mathcoach serve --model mathcoach-mul", "",
        "## Measured (benchmarks/RESULTS.md)", "",
        *[f"- {k}: {v}" for k, v in results.items()], "",
        "## Reproduce", "",
        "    mathcoach run configs/experiments/mul_specialist.toml --dir runs/mul",
        "    python -m mathcoach.models.shipped runs/mul/model", "",
        f"Trained at commit {commit or 'unknown'}; trace format {record.format if record else '?'} "
        f"(version {record.format_version if record else '?'}).", "",
        "Licence: the weights are trained only on data mathcoach generates; Apache-2.0 like the package.", "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) < 1 or not Path(argv[0]).is_dir():
        print("usage: python -m mathcoach.models.shipped MODEL_DIR [KEY=FIGURE ...]", file=sys.stderr)
        return 2
    src = Path(argv[0])
    results = dict(a.split("=", 1) for a in argv[1:] if "=" in a)
    out = export(src, weights_dir("mul"), card_text(src, results))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
