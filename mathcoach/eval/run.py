"""``mathcoach eval``: ask a model every problem, score every sample, write one run directory.

Example: ``mathcoach eval --model smollm2-135m --data runs/quickstart/test.jsonl --max-tokens 256``

Samples are appended to ``samples.jsonl`` batch by batch as they are scored, so a killed run keeps every batch
it finished; ``--resume`` on its directory asks only for the samples that are not there (and the response
cache makes even those free when it still holds them). ``results.json`` is written last: it marks a finished
run. A model directory written by ``mathcoach train`` is asked with its own system message and scored in its
own trace format unless told otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

from mathcoach.config import ConfigError, read_text_or_file
from mathcoach.eval.config import EvalConfig
from mathcoach.eval.report import heatmap, summary_markdown
from mathcoach.eval.score import Sampling, aggregate, ask_and_score, resolve_format, sample_key, unscored_reasons
from mathcoach.home import home
from mathcoach.io import JsonlLog, read_jsonl_whole_lines, write_json
from mathcoach.modeldir import read_record
from mathcoach.models import model_dir_of
from mathcoach.problems.answer import ANSWER_VERSION
from mathcoach.problems.checker import CHECKER_VERSION
from mathcoach.problems.dataset import Item, read_items
from mathcoach.problems.generate import generate
from mathcoach.problems.traces import FORMATS, render, version_of
from mathcoach.runs import index_run, new_run_dir, sha256_file, versions
from mathcoach.tools.sandbox import level as sandbox_level

# Settings that change what is asked or how it is scored: a resumed run must have the same ones.
RESUME_KEYS = ("model", "adapter", "data", "system", "few_shot", "few_shot_data", "format", "tools", "samples",
               "temperature", "top_p", "max_tokens", "seed", "limit")


def few_shot_examples(cfg: EvalConfig, items: list[Item], fmt: str) -> list[tuple[str, str]]:
    """K (question, worked answer) pairs, never from the evaluated split: for generated problems, fresh
    train-split problems of the evaluated cells; otherwise the first K rows of ``--few-shot-data``."""
    if cfg.few_shot == 0:
        return []
    if cfg.few_shot_data:
        from mathcoach.io import read_jsonl

        shots = []
        from mathcoach.shots import shots_path

        for row in read_jsonl(shots_path(cfg.few_shot_data))[: cfg.few_shot]:
            if isinstance(row.get("messages"), list):
                user = next(m["content"] for m in row["messages"] if m["role"] == "user")
                shots.append((user, row["messages"][-1]["content"]))
            else:
                shots.append((row.get("question", ""), str(row.get("answer", ""))))
        if len(shots) < cfg.few_shot:
            raise ConfigError("few_shot", f"{cfg.few_shot_data} holds {len(shots)} examples, fewer than the "
                              f"{cfg.few_shot} asked for")
        return shots
    problems = [it.problem for it in items if it.problem is not None]
    if not problems:
        raise ConfigError("few_shot_data", "these problems carry no operands; give --few-shot-data FILE")
    op = problems[0].op
    if fmt not in FORMATS[op]:
        raise ConfigError("format", f"format {fmt!r} does not exist for op {op!r}")
    cells = sorted({(p.digits_a, p.digits_b) for p in problems})
    per_cell = -(-cfg.few_shot // len(cells))
    pool = generate(op, cells, per_cell, "train", cfg.seed + 1).problems
    pool = sorted(pool, key=lambda p: hashlib.sha256(f"{cfg.seed}:{p.id}".encode()).hexdigest())[: cfg.few_shot]
    return [(p.question, render(p, fmt)) for p in pool]


def _prepare_run_dir(cfg: EvalConfig) -> tuple[Path, dict, int]:
    """The run directory and, on --resume, the samples already scored there (failed calls are asked again) and
    the bytes of whole lines to keep of its samples.jsonl."""
    run_dir = new_run_dir("eval", cfg.model, cfg.data, cfg.output)
    samples = run_dir / "samples.jsonl"
    if (run_dir / "results.json").exists() and not cfg.resume:
        raise ConfigError("output", f"{run_dir} already holds a finished run; pass --resume to redo it from the cache")
    if samples.exists() and not cfg.resume:
        raise ConfigError("output", f"{run_dir} holds an unfinished run; pass --resume to continue it")
    done: dict = {}
    keep = 0
    if cfg.resume and samples.exists():
        before = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").is_file() else {}
        now = dataclasses.asdict(cfg)
        changed = [k for k in RESUME_KEYS if k in before and before[k] != now[k]]
        if changed:
            raise ConfigError(changed[0], f"{run_dir} was run with {changed[0]} = {before[changed[0]]!r}; resume "
                              "with the same settings, or choose another --output")
        rows, keep = read_jsonl_whole_lines(samples)
        done = {sample_key(r): r for r in rows if r.get("api_error") is None and r.get("completion") is not None}
    return run_dir, done, keep


def run_eval(cfg: EvalConfig, backend=None, quiet: bool = False) -> tuple[Path, dict]:
    t0 = time.time()
    cfg.preflight()
    items = read_items(cfg.data)[: cfg.limit]
    if not items:
        raise ConfigError("data", f"{cfg.data} holds no problems")
    if any(it.answer is None for it in items):
        raise ConfigError("data", f"{cfg.data} has rows without a gold answer; nothing could be scored")
    record = read_record(cfg.adapter) or read_record(model_dir_of(cfg.model))
    where = cfg.adapter or cfg.model
    if cfg.max_tokens is None:  # resolved before config.json is written, so a resumed run compares the real budget
        cfg.max_tokens = (record.max_new_tokens if record else None) or 512
    fmt, fmt_source = resolve_format(cfg, record.format if record else None, items, where, quiet)
    system = read_text_or_file("system", cfg.system)
    if system is None and record is not None:  # a model fine-tuned with a system message is asked with it
        system = record.system_prompt
    shots = few_shot_examples(cfg, items, fmt)
    run_dir, done, keep = _prepare_run_dir(cfg)

    if backend is None:
        from mathcoach.models import load_model

        backend = load_model(cfg.model, adapter=cfg.adapter, models_file=cfg.models_file, batch_size=cfg.batch_size,
                             concurrency=cfg.concurrency, max_retries=cfg.max_retries, timeout_s=cfg.timeout_s)
    from mathcoach.models.cache import CachedBackend

    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(cfg))
    api = backend.identity.get("backend") != "hf"
    cached = CachedBackend(backend, home() / "cache.sqlite", batch_size=cfg.concurrency * 4 if api else cfg.batch_size)
    asker = cached
    if cfg.tools == "calculator":
        from mathcoach.tools.calculator_loop import CalculatorLoop

        asker = CalculatorLoop(cached)
    bar = None
    if cfg.progress and not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(items) * cfg.samples, unit="sample", file=sys.stderr, disable=None, desc="eval")
    params = Sampling(cfg.max_tokens, cfg.temperature, cfg.top_p, cfg.seed, cfg.samples)
    with JsonlLog(run_dir / "samples.jsonl", keep=keep) as log:
        rows = ask_and_score(asker, items, system, shots, params, fmt, bar, done=done, on_rows=log.write,
                             tools=cfg.tools)
        log.rewrite(rows)  # the finished file in item order, whatever order the batches landed in
    if bar:
        bar.close()
    metrics = aggregate(rows, cfg.samples)
    reasons = unscored_reasons(rows)
    results = {
        "kind": "eval", "config": dataclasses.asdict(cfg), "versions": versions(), "model": backend.identity,
        "seed": cfg.seed, "data_sha256": sha256_file(cfg.data),
        "format": {"name": fmt, "version": version_of(fmt, items[0].problem.op if items[0].problem else "mul"),
                   "source": fmt_source},
        "checker_version": CHECKER_VERSION, "answer_version": ANSWER_VERSION, "tools": cfg.tools,
        "sandbox": sandbox_level() if cfg.tools == "python" else None,
        "system_prompt_sha256": hashlib.sha256(system.encode()).hexdigest() if system else None,
        "few_shot_sha256": hashlib.sha256(json.dumps(shots).encode()).hexdigest() if shots else None,
        "calls": {"made": cached.calls, "cache_hits": cached.hits, "retries": getattr(backend, "retries", 0),
                  "from_samples": len(done)},
        "unscored_reasons": reasons,
        "tokens": {"prompt": sum(r["prompt_tokens"] for r in rows), "completion": sum(r["completion_tokens"] for r in rows)},
        "cost_usd": round(sum(r["cost_usd"] for r in rows), 6), "wall_s": round(time.time() - t0, 2),
        "metrics": metrics,
    }
    header = (f"## {cfg.model} on {cfg.data} ({len(items)} problems x {cfg.samples} samples, format {fmt})\n"
              f"calls made {cached.calls}, from cache {cached.hits}"
              + (f", kept from the interrupted run {len(done)}" if done else "") + f"; run directory {run_dir}")
    summary = summary_markdown(metrics, header)
    if reasons:
        summary += "\n\nunscored samples by reason: " + ", ".join(f"{k} {v}" for k, v in reasons.items())
    (run_dir / "summary.md").write_text(summary + "\n", encoding="utf-8")
    heatmap(metrics, run_dir / "heatmap.png", f"{cfg.model} - exact match")
    write_json(run_dir / "results.json", results)  # last: it marks the run as finished
    index_run(run_dir, "eval", results)
    failed = [r["api_error"] for r in rows if r["api_error"]]
    return run_dir, {"summary": summary, "results": results,
                     "all_failed": bool(rows) and len(failed) == len(rows),
                     "commonest_error": Counter(failed).most_common(1)[0][0] if failed else None}
