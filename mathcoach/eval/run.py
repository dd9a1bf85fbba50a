"""``mathcoach eval``: ask a model every problem, score every sample, write one run directory.

Example: ``mathcoach eval --model smollm2-135m --data runs/quickstart/test.jsonl --max-tokens 256``

Calls go through the SQLite response cache, so a killed run re-run with the same command (or ``--resume`` on
its directory) only makes the calls it had not finished, and a finished one makes none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

from mathcoach.config import ConfigError
from mathcoach.eval.config import EvalConfig
from mathcoach.eval.report import heatmap, summary_markdown
from mathcoach.eval.score import aggregate, score_sample
from mathcoach.home import home
from mathcoach.io import atomic_writer, write_json
from mathcoach.models.base import Request, messages_hash
from mathcoach.problems.dataset import Item, read_items
from mathcoach.problems.generate import generate
from mathcoach.problems.traces import FORMATS, render
from mathcoach.runs import index_run, new_run_dir, sha256_file, versions


def few_shot_examples(cfg: EvalConfig, items: list[Item]) -> list[tuple[str, str]]:
    """K (question, worked answer) pairs, never from the evaluated split: for generated problems, fresh
    train-split problems of the evaluated cells; otherwise the first K rows of ``--few-shot-data``."""
    if cfg.few_shot == 0:
        return []
    if cfg.few_shot_data:
        from mathcoach.io import read_jsonl

        shots = []
        for row in read_jsonl(cfg.few_shot_data)[: cfg.few_shot]:
            if isinstance(row.get("messages"), list):
                user = next(m["content"] for m in row["messages"] if m["role"] == "user")
                shots.append((user, row["messages"][-1]["content"]))
            else:
                shots.append((row.get("question", ""), str(row.get("answer", ""))))
        return shots
    problems = [it.problem for it in items if it.problem is not None]
    if not problems:
        raise ConfigError("few_shot_data", "these problems carry no operands; give --few-shot-data FILE")
    op = problems[0].op
    if cfg.format not in FORMATS[op]:
        raise ConfigError("format", f"format {cfg.format!r} does not exist for op {op!r}")
    cells = sorted({(p.digits_a, p.digits_b) for p in problems})
    per_cell = -(-cfg.few_shot // len(cells))
    pool = generate(op, cells, per_cell, "train", cfg.seed + 1).problems
    pool = sorted(pool, key=lambda p: hashlib.sha256(f"{cfg.seed}:{p.id}".encode()).hexdigest())[: cfg.few_shot]
    return [(p.question, render(p, cfg.format)) for p in pool]


def build_messages(question: str, system: str | None, shots: list[tuple[str, str]]) -> tuple[dict, ...]:
    msgs = [{"role": "system", "content": system}] if system else []
    for q, a in shots:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    msgs.append({"role": "user", "content": question})
    return tuple(msgs)


@dataclasses.dataclass(frozen=True)
class Sampling:
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    samples: int = 1


def ask_and_score(cached, items: list[Item], system: str | None, shots: list[tuple[str, str]], params: Sampling,
                  fmt: str, bar=None) -> list[dict]:
    """Every item asked ``params.samples`` times through ``cached`` and scored: one row per sample, the shape of
    samples.jsonl. Shared by ``mathcoach eval`` and the prompt optimizer, so both score exactly alike."""
    requests, keys = [], []
    for it in items:
        msgs = build_messages(it.question, system, shots)
        for k in range(params.samples):
            requests.append(Request(messages=msgs, max_tokens=params.max_tokens, temperature=params.temperature,
                                    top_p=params.top_p, seed=params.seed, sample=k))
            keys.append((it, k))
    completions = cached.generate(requests, on_batch=(lambda idx, done: bar.update(len(idx))) if bar else None)
    rows = []
    for (it, k), req, c in zip(keys, requests, completions):
        p = it.problem
        rows.append({
            "id": it.id, "sample": k, "cell": p.cell if p else None, "source": it.source,
            "question": it.question, "gold": it.answer, "prompt_hash": messages_hash(req.messages),
            "completion": c.text, **score_sample(it, fmt, c),
            "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
            "latency_s": round(c.latency_s, 4), "cost_usd": c.cost_usd, "finish_reason": c.finish_reason,
            "api_error": c.error, "cached": c.cached,
        })
    return rows


def run_eval(cfg: EvalConfig, backend=None, quiet: bool = False) -> tuple[Path, dict]:
    t0 = time.time()
    items = read_items(cfg.data)[: cfg.limit]
    if not items:
        raise ConfigError("data", f"{cfg.data} holds no problems")
    if any(it.answer is None for it in items):
        raise ConfigError("data", f"{cfg.data} has rows without a gold answer; nothing could be scored")
    run_dir = new_run_dir("eval", cfg.model, cfg.data, cfg.out)
    if (run_dir / "results.json").exists() and not cfg.resume:
        raise ConfigError("out", f"{run_dir} already holds a finished run; pass --resume to redo it from the cache")
    system = Path(cfg.system_prompt).read_text(encoding="utf-8") if cfg.system_prompt else None
    trained_with = Path(cfg.model) / "system_prompt.txt"
    if system is None and trained_with.is_file():  # a model fine-tuned with a system message is asked with it
        system = trained_with.read_text(encoding="utf-8")
    shots = few_shot_examples(cfg, items)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(cfg))

    if backend is None:
        from mathcoach.models import load_model

        backend = load_model(cfg.model, adapter=cfg.adapter, models_file=cfg.models_file, batch_size=cfg.batch_size,
                             concurrency=cfg.concurrency, max_retries=cfg.max_retries, timeout_s=cfg.timeout_s)
    from mathcoach.models.cache import CachedBackend

    api = backend.identity.get("backend") != "hf"
    cached = CachedBackend(backend, home() / "cache.sqlite", batch_size=cfg.concurrency * 4 if api else cfg.batch_size)
    bar = None
    if cfg.progress and not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(items) * cfg.samples, unit="sample", file=sys.stderr, disable=None, desc="eval")
    params = Sampling(cfg.max_tokens, cfg.temperature, cfg.top_p, cfg.seed, cfg.samples)
    rows = ask_and_score(cached, items, system, shots, params, cfg.format, bar)
    if bar:
        bar.close()
    with atomic_writer(run_dir / "samples.jsonl") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    metrics = aggregate(rows, cfg.samples)
    results = {
        "kind": "eval", "config": dataclasses.asdict(cfg), "versions": versions(), "model": backend.identity,
        "seed": cfg.seed, "data_sha256": sha256_file(cfg.data),
        "system_prompt_sha256": hashlib.sha256(system.encode()).hexdigest() if system else None,
        "few_shot_sha256": hashlib.sha256(json.dumps(shots).encode()).hexdigest() if shots else None,
        "calls": {"made": cached.calls, "cache_hits": cached.hits, "retries": getattr(backend, "retries", 0)},
        "tokens": {"prompt": sum(r["prompt_tokens"] for r in rows), "completion": sum(r["completion_tokens"] for r in rows)},
        "cost_usd": round(sum(r["cost_usd"] for r in rows), 6), "wall_s": round(time.time() - t0, 2),
        "metrics": metrics,
    }
    write_json(run_dir / "results.json", results)
    header = (f"## {cfg.model} on {cfg.data} ({len(items)} problems x {cfg.samples} samples)\n"
              f"calls made {cached.calls}, from cache {cached.hits}; run directory {run_dir}")
    summary = summary_markdown(metrics, header)
    (run_dir / "summary.md").write_text(summary + "\n", encoding="utf-8")
    heatmap(metrics, run_dir / "heatmap.png", f"{cfg.model} - exact match")
    index_run(run_dir, "eval", results)
    return run_dir, {"summary": summary, "results": results}
