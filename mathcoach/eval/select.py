"""Rows of a data file picked by how a model did on them in eval runs: the questions it gets wrong, right, or only
sometimes.

Example (an experiment stage; docs/pipeline.md):

    [stages.hard]
    kind = "select"
    data = "@questions"     # the rows to pick from
    runs = ["@pool"]        # eval runs over those rows (greedy, or --samples k)
    keep = "wrong"          # wrong | right | mixed

RL learns nothing from a question whose samples all score the same: GRPO's advantage is zero in such a group, so
its generation time is spent for no gradient, and SFT on what a model already answers is mostly wasted too. A
recipe therefore evaluates its training questions first and trains on those the model gets wrong (no scored
sample right), right (every scored sample right) or mixed (some of each; needs samples > 1). Unscored samples
(API failures) say nothing about the model and are ignored; a question with none scored is never kept. Only
training-split problems may be picked (``runs.refuse_held_out``): choosing by a test split's results fits the test.
"""

from __future__ import annotations

import json
from pathlib import Path

from mathcoach.errors import DataError
from mathcoach.io import atomic_writer, check_writable, read_jsonl
from mathcoach.problems.dataset import item_from_row
from mathcoach.runs import load_eval_results, load_samples, refuse_held_out

KEEP = ("wrong", "right", "mixed")


def outcomes(runs: list[str]) -> dict[str, list[bool]]:
    """Problem id -> whether each of its scored samples was right, over every run."""
    out: dict[str, list[bool]] = {}
    for run in runs:
        data = load_eval_results(run).get("config", {}).get("data", "?")
        samples = load_samples(run)
        refuse_held_out(run, data, samples)
        for s in samples:
            if s.get("correct") is not None:
                out.setdefault(s["id"], []).append(bool(s["correct"]))
    return out


def select_rows(data: str, runs: list[str], keep: str) -> tuple[list[dict], dict]:
    """(the kept rows in file order, counts of each outcome)."""
    if keep not in KEEP:
        raise DataError(f"keep {keep!r} is unknown; choose one of {', '.join(KEEP)}")
    seen = outcomes(runs)
    rows = read_jsonl(data)
    kept, counts = [], {"rows": len(rows), "evaluated": 0, **dict.fromkeys(KEEP, 0)}
    for n, row in enumerate(rows, 1):
        got = seen.get(item_from_row(row, n, data).id)
        if not got:
            continue
        counts["evaluated"] += 1
        outcome = "right" if all(got) else "wrong" if not any(got) else "mixed"
        counts[outcome] += 1
        if outcome == keep:
            kept.append(row)
    if not counts["evaluated"]:
        raise DataError(f"no problem of {data} has a scored sample in {', '.join(map(str, runs))}; evaluate that "
                        "file first")
    return kept, counts | {"kept": len(kept)}


def run_select(data: str, runs: list[str], keep: str, output: str | Path) -> dict:
    """Write the kept rows whole or not at all; returns the counts."""
    check_writable(output)
    kept, counts = select_rows(data, runs, keep)
    with atomic_writer(output) as f:
        for row in kept:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return counts
