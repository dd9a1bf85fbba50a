"""What grpo and rft share: a trained model to start from, its contract, and the training questions as items.

Example: ``s = starting_point(cfg)`` -> ``s.items`` (every training row as a scorable eval Item), ``s.fmt``,
``s.system``, ``s.record`` (the --model directory's contract, carried into the output unchanged but for method).

Both methods learn from the model's own samples, so both need what the model was trained with -- its trace
format, system message and chat template -- and a gold answer for every question; a row without one fails here,
in one line, before any sampling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mathcoach import modeldir
from mathcoach.config import ConfigError, read_text_or_file
from mathcoach.io import read_jsonl
from mathcoach.problems.dataset import Item, item_from_row
from mathcoach.problems.traces import FormatError, format_of
from mathcoach.train.config import TrainConfig
from mathcoach.train.run import base_model_dir, val_subset


@dataclass
class Start:
    rows: list[dict]
    items: list[Item]
    picked: list[tuple]  # the fixed validation subset, (row, item)
    record: modeldir.ModelRecord | None
    fmt: str
    fmt_version: str
    system: str | None
    max_tokens: int  # tokens sampled per answer


def starting_point(cfg: TrainConfig) -> Start:
    cfg.preflight()
    rows = read_jsonl(cfg.train)[: cfg.train_limit]
    if not rows:
        raise ConfigError("train", f"{cfg.train} holds no rows")
    items = []
    for n, row in enumerate(rows, 1):
        try:
            it = item_from_row(row, n, cfg.train)
        except ValueError as e:
            raise ConfigError("train", str(e)) from None
        if it.answer is None:
            raise ConfigError("train", f"{cfg.train}: row {n} has no gold answer; {cfg.method} scores every sample "
                              "against one")
        items.append(it)
    val_rows = read_jsonl(cfg.val)
    if not val_rows:
        raise ConfigError("val", f"{cfg.val} holds no rows")
    picked = val_subset(val_rows, cfg.eval_problems, cfg.seed, cfg.val)
    record = modeldir.read_record(base_model_dir(cfg))
    fmt = cfg.format or (record.format if record else None) or next((i.format for i in items if i.format), "long")
    op = next((i.problem.op for i in items if i.problem), "mul")
    try:
        fmt_version = format_of(op, fmt).version
    except FormatError as e:
        raise ConfigError("format", str(e)) from None
    system = read_text_or_file("system", cfg.system) if cfg.system else (record.system_prompt if record else None)
    max_tokens = cfg.eval_max_tokens or (record.max_new_tokens if record and record.max_new_tokens else 512)
    return Start(rows, items, picked, record, fmt, fmt_version, system, max_tokens)


def problem_json(it: Item) -> str:
    """The item's problem as the JSON a reward function reads back ("" for a word problem)."""
    return json.dumps(it.problem.to_dict()) if it.problem else ""
