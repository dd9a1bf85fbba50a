"""``mathcoach merge``: fold a LoRA adapter into its base model, giving an ordinary model directory.

Example: ``mathcoach merge runs/train/smollm2-2x2 --output runs/train/smollm2-2x2-merged``

A merged model generates faster (no adapter matmuls) and loads in tools that know nothing of PEFT. The
training record (config.yaml, system prompt, metrics, model card) is copied alongside.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from mathcoach import modeldir
from mathcoach.config import ConfigError


def merge_adapter(adapter: str, output: str) -> Path:
    from mathcoach.models import adapter_base

    src, out = Path(adapter), Path(output)
    if not (src / "adapter_config.json").is_file():
        raise ConfigError("adapter", f"{src} is not a LoRA output directory (no adapter_config.json)")
    if out.exists() and any(out.iterdir()):
        raise ConfigError("output", f"{out} is not empty; choose another --output")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = adapter_base(src)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(src if (src / "tokenizer_config.json").exists() else base)
    merged = PeftModel.from_pretrained(model, src).merge_and_unload()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:  # built aside and renamed, so a killed merge leaves no half-written model
        merged.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        modeldir.copy_record(src, tmp, adapter=False)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
