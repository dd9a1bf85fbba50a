"""Ask, score one sample, aggregate many: the only place evaluation turns text into numbers.

Example: ``ask_and_score(cached, items, system, shots, Sampling(), "long")`` -> one row per sample, the shape of
samples.jsonl; ``score_sample(item, "long", completion)`` -> strict/flexible answers, correctness and the step
checker's diagnosis; ``aggregate(rows, 1)`` -> per-cell and overall metrics.

``mathcoach eval``, the prompt optimizer and validation during training all call ``ask_and_score``, so the three
score exactly alike.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable

from mathcoach.eval.metrics import digit_match, majority, pass_at_k, wilson
from mathcoach.models.base import Completion, Request, messages_hash
from mathcoach.problems import answer as ans
from mathcoach.problems.checker import ERROR_TYPES, check
from mathcoach.problems.dataset import Item
from mathcoach.problems.traces import FORMATS

# What a sample row says of its problem, so mistake mining and reports never parse ids.
PROBLEM_FIELDS = ("op", "a", "b", "digits_a", "digits_b", "split", "phrasing")


@dataclasses.dataclass(frozen=True)
class Sampling:
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    samples: int = 1


def build_messages(question: str, system: str | None, shots: list[tuple[str, str]]) -> tuple[dict, ...]:
    msgs = [{"role": "system", "content": system}] if system else []
    for q, a in shots:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    msgs.append({"role": "user", "content": question})
    return tuple(msgs)


def sample_key(row: dict) -> tuple:
    """What makes two sample rows the same call: the problem, the sample index and the exact prompt."""
    return row["id"], row["sample"], row["prompt_hash"]


def ask_and_score(cached, items: list[Item], system: str | None, shots: list[tuple[str, str]], params: Sampling,
                  fmt: str, bar=None, done: dict | None = None,
                  on_rows: Callable[[list[dict]], None] | None = None, tools: str = "none") -> list[dict]:
    """Every item asked ``params.samples`` times through ``cached`` and scored: one row per sample, in item order.
    ``done`` maps ``sample_key`` to rows already scored (a resumed run): those are not asked again. ``on_rows``
    gets each batch of new rows as soon as it is scored (eval streams them to samples.jsonl). ``tools="python"``
    scores the result of the program in each reply, run in the sandbox (PAL); ``tools="calculator"`` expects
    ``cached`` to be a ``CalculatorLoop`` and keeps each reply's calculator calls."""
    done = done or {}
    requests, keys, rows = [], [], []
    for it in items:
        msgs = build_messages(it.question, system, shots)
        for k in range(params.samples):
            req = Request(messages=msgs, max_tokens=params.max_tokens, temperature=params.temperature,
                          top_p=params.top_p, seed=params.seed, sample=k)
            requests.append(req)
            keys.append((it, k))
            rows.append(done.get((it.id, k, messages_hash(msgs))))
    todo = [i for i, r in enumerate(rows) if r is None]
    if bar is not None and len(todo) < len(rows):
        bar.update(len(rows) - len(todo))

    def landed(idx: list[int], completions: list[Completion]) -> None:
        new = []
        for j, c in zip(idx, completions):
            i = todo[j]
            it, k = keys[i]
            rows[i] = sample_row(it, k, requests[i], c, fmt, tools)
            new.append(rows[i])
        if on_rows is not None:
            on_rows(new)
        if bar is not None:
            bar.update(len(idx))

    if todo:
        out = cached.generate([requests[i] for i in todo], on_batch=landed)
        late = [j for j, i in enumerate(todo) if rows[i] is None]  # a generator that does not report batches
        if late:
            landed(late, [out[j] for j in late])
    return rows


def sample_row(it: Item, k: int, req: Request, c: Completion, fmt: str, tools: str = "none") -> dict:
    p = it.problem
    return {
        "id": it.id, "sample": k, "cell": p.cell if p else None, "source": it.source,
        **{f: getattr(p, f) if p else None for f in PROBLEM_FIELDS}, "format": fmt,
        **({"phrasing": it.tag} if p is None and it.tag else {}),
        "question": it.question, "gold": it.answer, "prompt_hash": messages_hash(req.messages),
        "completion": c.text, **score_sample(it, fmt, c, tools),
        "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
        "latency_s": round(c.latency_s, 4), "cost_usd": c.cost_usd, "finish_reason": c.finish_reason,
        "api_error": c.error, "cached": c.cached,
    }


def resolve_format(cfg, trained: str | None, items: list[Item], where: str, quiet: bool) -> tuple[str, str]:
    """(format, where it came from): --format, else the model directory's trained format, else the data rows'
    own (the commonest ``meta.format``), else ``long``. An explicit one that differs from the trained one warns."""
    if cfg.format:
        if trained and trained != cfg.format and not quiet:
            print(f"mathcoach: warning: --format {cfg.format} differs from {trained}, the format {where} was trained "
                  f"in; steps are checked against {cfg.format}", file=sys.stderr)
        return cfg.format, "--format"
    if trained:
        return trained, "model directory"
    rows = Counter(it.format for it in items)
    rows.pop(None, None)
    if rows:
        return rows.most_common(1)[0][0], "data rows"
    return "long", "default"


def error_reason(error: str) -> str:
    """The kind of a failed call, for counting: "gave up after 3 attempts: APIConnectionError: ..." ->
    "APIConnectionError"; "bad request: ..." -> "bad request"."""
    body = re.sub(r"^gave up after \d+ attempts: ", "", error)
    return body.split(":", 1)[0].strip() or "unknown"


def unscored_reasons(rows: list[dict]) -> dict[str, int]:
    return dict(Counter(error_reason(r["api_error"]) for r in rows if r.get("api_error")).most_common())


def score_sample(item: Item, fmt: str, c: Completion, tools: str = "none") -> dict:
    row = {"strict": None, "flexible": None, "correct": None, "correct_flexible": None, "digit_match": None,
           "in_format": None, "step": None, "error_type": None, "written": None, "expected": None}
    if c.error is not None or c.text is None:
        return row  # unscored: an API failure says nothing about the model's arithmetic
    if tools == "python":
        return row | _score_program(item, c.text)
    if tools == "calculator":  # scored like any reply; the filled-in values are kept beside it
        row["tool"] = {"calculator": c.extra.get("calculator", []), "stops": c.extra.get("stops", 0)}
    pair = item.answer is not None and ans.is_pair(item.answer)
    e = ans.extract(c.text, pair=pair)
    row.update(strict=e.strict, flexible=e.flexible, in_format=e.strict is not None or e.refused, refused=e.refused)
    if item.answer is None:
        return row
    row.update(correct=ans.judge(e, item.answer), correct_flexible=ans.judge(e, item.answer, strict=False),
               digit_match=None if item.answer == ans.REFUSE else round(digit_match(e.strict, item.answer), 4))
    p = item.problem
    if p is not None and fmt in FORMATS.get(p.op, {}):
        r = check(p, fmt, c.text)
        row.update(step=r.step, error_type=r.error, written=r.written, expected=r.expected)
    return row


def _cell_metrics(rows: list[dict], k_max: int) -> dict:
    by_item: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_item[r["id"]].append(r)
    first = [sorted(v, key=lambda r: r["sample"])[0] for v in by_item.values()]
    scored = [r for r in first if r["correct"] is not None]
    right = sum(r["correct"] for r in scored)
    em, lo, hi = wilson(right, len(scored))
    flex = sum(bool(r["correct_flexible"]) for r in scored)
    out = {
        "items": len(by_item), "samples": len(rows), "unscored": sum(r["correct"] is None for r in rows),
        "scored": len(scored), "exact_match": em, "ci95": [lo, hi], "correct": right,
        "flexible_match": flex / len(scored) if scored else float("nan"),
        "digit_match": sum(r["digit_match"] or 0 for r in scored) / len(scored) if scored else float("nan"),
        "in_format": sum(bool(r["in_format"]) for r in scored) / len(scored) if scored else float("nan"),
        "error_types": dict(Counter(r["error_type"] for r in scored if r["error_type"])),
    }
    if k_max > 1:
        votes, passes = [], {k: [] for k in _ks(k_max)}
        for v in by_item.values():
            ok = [r for r in v if r["correct"] is not None]
            if not ok:
                continue
            gold = ok[0]["gold"]
            votes.append(ans.matches(majority([r["strict"] for r in ok]), gold))
            c = sum(r["correct"] for r in ok)
            for k in passes:
                if k <= len(ok):
                    passes[k].append(pass_at_k(len(ok), c, k))
        out["majority_vote"] = sum(votes) / len(votes) if votes else float("nan")
        out["pass_at_k"] = {str(k): sum(v) / len(v) for k, v in passes.items() if v}
    return out


def _ks(k_max: int) -> list[int]:
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64) if k <= k_max]
    return ks + ([k_max] if k_max not in ks else [])


def aggregate(rows: list[dict], k_max: int) -> dict:
    cells: dict[str, list[dict]] = defaultdict(list)
    phrasings: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        cells["refusal" if r.get("gold") == ans.REFUSE else r.get("cell") or "all"].append(r)
        phrasings[r.get("phrasing") or "unlabelled"].append(r)
    out = {
        "overall": _cell_metrics(rows, k_max),
        "cells": {c: _cell_metrics(v, k_max) for c, v in sorted(cells.items(), key=lambda kv: _cell_key(kv[0]))},
        "error_type_names": list(ERROR_TYPES),
    }
    if len(phrasings) > 1:  # held-out wordings and refusal kinds are reported one by one
        out["phrasings"] = {p: _cell_metrics(v, k_max) for p, v in sorted(phrasings.items())}
    refusals = _refusal_metrics(rows)
    if refusals:
        out["refusals"] = refusals
    return out


def _refusal_metrics(rows: list[dict]) -> dict | None:
    """How often the first sample refuses: on questions that must be refused (the refusal rate) and on those
    that must not (false refusals). None when no row refused and none had to."""
    first = [r for r in rows if r.get("sample", 0) == 0 and r["correct"] is not None]
    must = [r for r in first if r["gold"] == ans.REFUSE]
    other = [r for r in first if r["gold"] != ans.REFUSE]
    if not must and not any(r.get("refused") for r in other):
        return None
    refused = sum(bool(r.get("refused")) for r in must)
    rate, lo, hi = wilson(refused, len(must))
    false = sum(bool(r.get("refused")) for r in other)
    return {"must_refuse": len(must), "refused": refused, "refusal_rate": rate, "ci95": [lo, hi],
            "answerable": len(other), "false_refusals": false}


def _cell_key(cell: str) -> tuple:
    try:
        a, b = cell.split("x")
        return (int(a), int(b))
    except ValueError:
        return (999, 999)


def _score_program(item: Item, text: str) -> dict:
    """PAL: the reply's program is run in the sandbox; its result is the answer, and a program that fails scores
    0 with its reason (the ``tool`` field), never an exception here."""
    from mathcoach.tools.pal import run_reply

    r = run_reply(text)
    row = {"strict": r.answer, "flexible": r.answer, "in_format": r.program is not None,
           "tool": {"program": r.program, "stdout": r.stdout[:2000], "error": r.error, "seconds": r.seconds,
                    "isolation": r.isolation}}
    if item.answer is not None:
        ok = ans.matches(r.answer, item.answer)
        row |= {"correct": ok, "correct_flexible": ok, "digit_match": round(digit_match(r.answer, item.answer), 4)}
    return row
