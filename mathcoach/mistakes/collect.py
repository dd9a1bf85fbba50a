"""``mathcoach mistakes collect``: a model's wrong, scored answers from eval run directories, as mistake records.

Example: ``mathcoach mistakes collect runs/eval/pool -o mistakes.jsonl``

A mistake is a sample that was scored and is wrong: an unscored sample (an API failure) says nothing about the
model and is never taken. Only training-split problems may become training data, so a run over a validation or
test split is refused, naming its data file: for generated rows the sample's own ``split`` decides, for word
problems (GSM8K, SVAMP rows carry no split) the data file's name does.
"""

from __future__ import annotations

from pathlib import Path

from mathcoach.runs import load_eval_results, load_samples, refuse_held_out

MISTAKE_VERSION = "1"
PROBLEM_KEYS = ("op", "a", "b", "digits_a", "digits_b", "split", "phrasing", "cell")


def collect(run_dirs: list[str], exclude: set[str] = frozenset()) -> tuple[list[dict], dict]:
    """(mistake records, counts). Each record: the problem, the model's raw solution, the gold answer and, for
    arithmetic, the step checker's diagnosis (first wrong step, written vs expected, error type). Problems whose
    id is in ``exclude`` (an earlier round's pool or training rows) are counted and left out: LeMa's later rounds
    learn from the new model's errors on fresh problems."""
    records: list[dict] = []
    counts = {"runs": 0, "samples": 0, "right": 0, "wrong": 0, "unscored_skipped": 0, "excluded": 0}
    seen: set[tuple] = set()
    for name in run_dirs:
        run = Path(name)
        results = load_eval_results(run)
        rows = load_samples(run)
        data = results.get("config", {}).get("data", "?")
        refuse_held_out(run, data, rows)
        counts["runs"] += 1
        for r in rows:
            counts["samples"] += 1
            if r.get("correct") is None:
                counts["unscored_skipped"] += 1
                continue
            if r["correct"]:
                counts["right"] += 1
                continue
            if r["id"] in exclude:
                counts["excluded"] += 1
                continue
            key = (r["id"], r["completion"])
            if key in seen:  # the same wrong text from two runs is one mistake
                continue
            seen.add(key)
            counts["wrong"] += 1
            records.append({
                "id": r["id"], "source": r.get("source"), "question": r["question"], "gold": r["gold"],
                "solution": r["completion"], "format": r.get("format"), **{k: r.get(k) for k in PROBLEM_KEYS},
                "diagnosis": {"step": r.get("step"), "error_type": r.get("error_type"), "written": r.get("written"),
                              "expected": r.get("expected")},
                "answer": r.get("strict"), "run": str(run), "model": results.get("model"), "sample": r["sample"],
                "mistake_version": MISTAKE_VERSION,
            })
    return records, counts
