"""The model-directory contract: what ``mathcoach train`` writes beside the weights, and what eval, serve, merge
and optimize read back. This module writes it and this module reads it.

Example: ``read_record("runs/quickstart/model").format`` -> ``"columns"``

Beside the weights (``model.safetensors`` + ``config.json``, or a LoRA ``adapter_model.safetensors`` +
``adapter_config.json``) and the tokenizer files, a model directory holds:

    mathcoach.json      the contract record (``ModelRecord``): trace format and its version, system prompt file,
                        the chat template kind, base model, method, tokenizer, versions and data hashes
    config.yaml         every resolved training setting
    system_prompt.txt   the system message every training question had, when there was one
    train_results.json  steps, timings, the validation history
    metrics.csv, val_samples.jsonl, README.md (the model card)

A directory written before ``mathcoach.json`` existed is read from its ``config.yaml``. Any other transformers
directory has no record (``read_record`` returns None) and is used as it is.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from mathcoach.io import atomic_writer, write_json

CONTRACT_VERSION = "1"
RECORD = "mathcoach.json"
SYSTEM_PROMPT = "system_prompt.txt"
CONFIG = "config.yaml"
RESULTS = "train_results.json"
CARD = "README.md"
# Everything a model directory holds besides weights and tokenizer: what `merge` carries over to the merged model.
RECORD_FILES = (RECORD, CONFIG, SYSTEM_PROMPT, RESULTS, "metrics.csv", "val_samples.jsonl", CARD)


@dataclasses.dataclass
class ModelRecord:
    format: str | None  # the trace format the model was trained on; eval and optimize score steps against it
    format_version: str | None
    system_prompt: str | None = None  # the text itself (stored in system_prompt.txt)
    template: str | None = None  # how the chat template writes the question's digits: None, "marks" or "tokens"
    base_model: str | None = None  # the mathcoach model name trained from; None for a model trained from scratch
    base_model_path: str | None = None  # where that base was on the training machine
    method: str | None = None  # lora, qlora or full
    from_scratch: str | None = None  # the scratch size, when there was no base model
    adapter: bool = False  # True when the directory holds a LoRA adapter rather than full weights
    tokenizer: dict = dataclasses.field(default_factory=dict)  # class, vocabulary size, pad/eos, template hash
    versions: dict = dataclasses.field(default_factory=dict)
    data_sha256: dict = dataclasses.field(default_factory=dict)
    # The longest validation reply in tokens (drawn like the training rows), plus a margin: eval and serve use it
    # when no --max-tokens is given, so a model whose traces are 1,000 tokens long is never cut off at 512.
    max_new_tokens: int | None = None
    contract_version: str = CONTRACT_VERSION

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["system_prompt"] = SYSTEM_PROMPT if self.system_prompt is not None else None
        return d


def _dir(path: str | Path) -> Path | None:
    p = Path(str(path).removeprefix("hf:"))
    return p if p.is_dir() else None


def read_record(path: str | Path | None) -> ModelRecord | None:
    """The record of a mathcoach model directory, or None for anything else (a hub-style directory, an API name)."""
    d = _dir(path) if path else None
    if d is None:
        return None
    system_file = d / SYSTEM_PROMPT
    system = system_file.read_text(encoding="utf-8") if system_file.is_file() else None
    if (d / RECORD).is_file():
        raw = json.loads((d / RECORD).read_text(encoding="utf-8"))
        known = {f.name for f in dataclasses.fields(ModelRecord)}
        rec = ModelRecord(**{k: v for k, v in raw.items() if k in known})
        rec.system_prompt = system
        return rec
    if (d / CONFIG).is_file():  # written before the record existed: the resolved training settings hold the same
        import yaml

        cfg = yaml.safe_load((d / CONFIG).read_text(encoding="utf-8")) or {}
        template = "tokens" if cfg.get("place_tokens") else "marks" if cfg.get("digit_marks") else None
        return ModelRecord(format=cfg.get("format"), format_version=None, system_prompt=system, template=template,
                           base_model=None if cfg.get("from_scratch") else cfg.get("model"),
                           base_model_path=cfg.get("base_model_path"), method=cfg.get("method"),
                           from_scratch=cfg.get("from_scratch"), adapter=(d / "adapter_config.json").is_file())
    return None


def tokenizer_summary(tokenizer) -> dict:
    import hashlib

    template = getattr(tokenizer, "chat_template", None) or ""
    return {"class": type(tokenizer).__name__, "vocab_size": len(tokenizer), "pad_token": tokenizer.pad_token,
            "eos_token": tokenizer.eos_token, "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest()}


def write_record(out: Path, record: ModelRecord, config: dict, results: dict, card: str) -> None:
    """Everything of the contract besides weights and tokenizer, each file written whole or not at all."""
    import yaml

    if record.system_prompt is not None:
        with atomic_writer(out / SYSTEM_PROMPT) as f:
            f.write(record.system_prompt)
    with atomic_writer(out / CONFIG) as f:
        yaml.safe_dump(config, f, sort_keys=False)
    write_json(out / RESULTS, results)
    with atomic_writer(out / CARD) as f:
        f.write(card)
    write_json(out / RECORD, record.to_json())  # last: a directory with a record is a finished one


def copy_record(src: Path, dst: Path, adapter: bool) -> None:
    """Carry the record of ``src`` to ``dst`` (a merged model: same training, ``adapter`` now False)."""
    for name in RECORD_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    if (dst / RECORD).is_file():
        raw = json.loads((dst / RECORD).read_text(encoding="utf-8"))
        write_json(dst / RECORD, raw | {"adapter": adapter})
