"""Score one sample and aggregate many: the only place evaluation turns text into numbers.

Example: ``score_sample(item, "long", completion)`` -> dict with strict/flexible answers, correctness and the
step checker's diagnosis; ``aggregate(samples)`` -> per-cell and overall metrics.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from mathcoach.eval.metrics import digit_match, majority, pass_at_k, wilson
from mathcoach.models.base import Completion
from mathcoach.problems import answer as ans
from mathcoach.problems.checker import ERROR_TYPES, check
from mathcoach.problems.dataset import Item
from mathcoach.problems.traces import FORMATS


def score_sample(item: Item, fmt: str, c: Completion) -> dict:
    row = {"strict": None, "flexible": None, "correct": None, "correct_flexible": None, "digit_match": None,
           "in_format": None, "step": None, "error_type": None, "written": None, "expected": None}
    if c.error is not None or c.text is None:
        return row  # unscored: an API failure says nothing about the model's arithmetic
    pair = item.answer is not None and ans.is_pair(item.answer)
    e = ans.extract(c.text, pair=pair)
    row.update(strict=e.strict, flexible=e.flexible, in_format=e.strict is not None)
    if item.answer is None:
        return row
    row.update(correct=ans.matches(e.strict, item.answer), correct_flexible=ans.matches(e.flexible, item.answer),
               digit_match=round(digit_match(e.strict, item.answer), 4))
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
    for r in rows:
        cells[r.get("cell") or "all"].append(r)
    return {
        "overall": _cell_metrics(rows, k_max),
        "cells": {c: _cell_metrics(v, k_max) for c, v in sorted(cells.items(), key=lambda kv: _cell_key(kv[0]))},
        "error_type_names": list(ERROR_TYPES),
    }


def _cell_key(cell: str) -> tuple:
    try:
        a, b = cell.split("x")
        return (int(a), int(b))
    except ValueError:
        return (999, 999)
