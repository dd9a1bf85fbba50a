"""The three ``mathcoach mistakes`` steps as functions the CLI (and a pipeline) call: collect, correct, build.

Example: ``run_collect(["runs/eval/pool"], "mistakes.jsonl")`` -> counts; the file is written whole or not at all.
"""

from __future__ import annotations

import json

from mathcoach.config import ConfigError
from mathcoach.io import atomic_writer, check_writable, read_jsonl
from mathcoach.mistakes.build import FIELDS, correction_row, mix, token_counter
from mathcoach.mistakes.collect import collect
from mathcoach.mistakes.correct import correct_all_exact


def _write(path: str, rows: list[dict]) -> None:
    with atomic_writer(path) as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def run_collect(runs: list[str], output: str, exclude: list[str] = ()) -> dict:
    check_writable(output)
    seen = {(r.get("meta") or r).get("id") for path in exclude for r in read_jsonl(path)} - {None}
    records, counts = collect(runs, seen)
    _write(output, records)
    return counts


def run_correct(mistakes: str, corrector: str, output: str, max_calls: int | None = None,
                max_usd: float | None = None, max_tokens: int = 512, models_file: str | None = None,
                teacher=None) -> dict:
    """``corrector`` is ``exact`` or any model name mathcoach takes; a teacher's calls go through the cache."""
    for name, value in (("max_calls", max_calls), ("max_usd", max_usd)):
        if value is not None and value <= 0:
            raise ConfigError(name, f"must be above 0, got {value}")
    check_writable(output)
    records = read_jsonl(mistakes)
    if corrector == "exact":
        kept, counts = correct_all_exact(records)
    else:
        from mathcoach.home import home
        from mathcoach.mistakes.teacher import correct_with_teacher
        from mathcoach.models import load_model
        from mathcoach.models.cache import CachedBackend

        backend = teacher or load_model(corrector, models_file=models_file)
        cached = CachedBackend(backend, home() / "cache.sqlite", batch_size=8)
        kept, counts = correct_with_teacher(records, cached, corrector, max_tokens, max_calls, max_usd)
    _write(output, kept)
    return counts


def parse_fields(text: str) -> tuple[str, ...]:
    fields = tuple(f.strip() for f in text.split(",") if f.strip())
    bad = [f for f in fields if f not in FIELDS]
    if bad or not fields:
        raise ConfigError("fields", f"{bad[0] if bad else text!r} is not a field; name some of {', '.join(FIELDS)}")
    return tuple(f for f in FIELDS if f in fields)  # LeMa's order, whatever order they were named in


def run_build(corrections: str, cot: str | None, output: str, fields: str = ",".join(FIELDS), match: str = "tokens",
              seed: int = 0, tokenizer: str = "smollm2-135m") -> dict:
    chosen = parse_fields(fields)
    if match not in ("none", "rows", "tokens"):
        raise ConfigError("match", f"{match!r}: choose none, rows or tokens")
    if match != "none" and cot is None:
        raise ConfigError("match", "matching needs the CoT-only arm's rows: give --cot FILE, or --match none")
    check_writable(output)
    rows = [correction_row(c, chosen) for c in read_jsonl(corrections)]
    cot_rows = read_jsonl(cot) if cot else []
    count = token_counter(tokenizer) if match == "tokens" else None
    mixed, stats = mix(rows, cot_rows, match, seed, count)
    _write(output, mixed)
    return stats | {"fields": list(chosen)}
