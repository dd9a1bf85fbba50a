"""mathcoach-mul's held-out measurements on validation problems, gathered into one figures file, each row kept.

Usage: python benchmarks/mul_heldout.py OUT.json NAME=EVAL_DIR ... [--before FIGURES.json] [--what TEXT]

Each EVAL_DIR is a `mathcoach eval` run on one held-out file (`runs/evals14.sh`). OUT gets, per NAME: right/scored
with a Wilson interval, the count per wording or refusal kind, the products refused, the data file's hash and the
model's identity, and every item's 0/1 under ``items``. Why the items: until the fourteenth attempt only the counts
were kept, and the run directories die with the session, so a new attempt could be compared with the one before
only unpaired. With ``--before`` an earlier figures file is read: an exact McNemar test where it kept its items
(same data hash), else the two counts side by side with a two-sided Fisher exact test.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mathcoach.eval.metrics import fisher_exact, mcnemar, wilson


def gather(eval_dir: Path) -> dict:
    res = json.loads((eval_dir / "results.json").read_text(encoding="utf-8"))
    rows = [json.loads(x) for x in (eval_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("sample", 0) == 0]
    right, n, kinds = Counter(), Counter(), set()
    for r in rows:
        kind = r.get("phrasing") or "unlabelled"
        kinds.add(kind)
        n[kind] += 1
        right[kind] += bool(r["correct"])
    scored = [r for r in rows if r["correct"] is not None]
    correct = sum(bool(r["correct"]) for r in scored)
    _, lo, hi = wilson(correct, len(scored))
    return {
        "correct": correct, "scored": len(scored), "wilson": [round(lo, 4), round(hi, 4)],
        "by_kind": {k: [right[k], n[k]] for k in sorted(kinds)},
        "products_refused": sum(bool(r.get("refused")) for r in rows if r.get("gold") != "refuse"),
        "data_sha256": res["data_sha256"], "model": res["model"], "versions": res["versions"], "seed": res["seed"],
        "items": {r["id"]: int(bool(r["correct"])) for r in scored},
    }


def run_record(model_dir: Path) -> dict:
    """The training run's own figures and its last validation round, each row kept.

    The directory's weights are the best validation checkpoint's (``best_step``; a tie keeps the first), while
    val_samples.jsonl holds the last round. When the two steps differ the round did not score the weights that the
    held-out sets score, and ``val_of_saved_weights`` says so: attempt 21's record paired its step-1,300 round with
    the step-1,180 weights, unmarked.
    """
    tr = json.loads((model_dir / "train_results.json").read_text(encoding="utf-8"))
    rows = [json.loads(x) for x in (model_dir / "val_samples.jsonl").read_text(encoding="utf-8").splitlines()]
    last = max(r["train_step"] for r in rows)
    rows = [r for r in rows if r["train_step"] == last]
    keep = ("best_step", "best_val_exact_match", "data_sha256", "seed", "steps", "stopped_by", "tokens_per_s",
            "tokens_seen", "train_s", "val_history", "versions")
    saved = tr.get("best_step") in (None, last)
    if not saved:
        print(f"note: {model_dir}'s weights are step {tr['best_step']}'s; its validation rows are step {last}'s",
              file=sys.stderr)
    return {**{k: tr.get(k) for k in keep}, "val_step": last, "val_of_saved_weights": saved,
            "val_items": {r["id"]: int(bool(r["correct"])) for r in rows},
            "val_wrong": [{"id": r["id"], "question": r["question"], "gold": r["gold"], "answer": r["strict"],
                           "refused": bool(r.get("refused"))} for r in rows if not r["correct"]]}


def compare(now: dict, before: dict) -> dict:
    if before.get("data_sha256") != now["data_sha256"]:
        return {"note": "different data file; not compared"}
    if "items" in before:
        ids = sorted(set(now["items"]) & set(before["items"]))
        b = sum(before["items"][i] and not now["items"][i] for i in ids)
        c = sum(now["items"][i] and not before["items"][i] for i in ids)
        return {"paired": True, "n": len(ids), "before": sum(before["items"][i] for i in ids),
                "now": sum(now["items"][i] for i in ids), "right_only_before": b, "right_only_now": c,
                "mcnemar_p": mcnemar(b, c)}
    return {"paired": False, "before": [before["correct"], before["scored"]], "now": [now["correct"], now["scored"]],
            "fisher_p": fisher_exact(before["correct"], before["scored"], now["correct"], now["scored"])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("evals", nargs="*", help="NAME=EVAL_DIR (none: the run record of --model-dir alone)")
    p.add_argument("--before", type=Path, help="an earlier figures file to compare with")
    p.add_argument("--what", default="", help="one line on what was measured")
    p.add_argument("--model-dir", type=Path, help="the trained model directory: its run record and validation rows")
    a = p.parse_args(argv)
    if not a.evals and not a.model_dir:
        p.error("name an evaluation (NAME=EVAL_DIR) or --model-dir")
    before = {}
    if a.before:
        old = json.loads(a.before.read_text(encoding="utf-8"))
        before = old.get("evals_on_validation_problems", {})
    out = {"what": a.what, "evals_on_validation_problems": {}, "compared_with": str(a.before) if a.before else None,
           "comparison": {}}
    if a.model_dir:
        out["run"] = run_record(a.model_dir)
    for spec in a.evals:
        name, _, d = spec.partition("=")
        now = gather(Path(d))
        out["evals_on_validation_problems"][name] = now
        match = next((v for v in before.values() if v.get("data_sha256") == now["data_sha256"]), None)
        if match:
            out["comparison"][name] = compare(now, match)
        lo, hi = now["wilson"]
        cmp = out["comparison"].get(name, {})
        line = f"{name:24s} {now['correct']:4d}/{now['scored']:<4d} {100 * now['correct'] / now['scored']:5.1f}% " \
               f"({100 * lo:.1f}-{100 * hi:.1f}%), products refused {now['products_refused']}"
        if cmp.get("paired"):
            line += f"; before {cmp['before']}, {cmp['right_only_before']}/{cmp['right_only_now']} " \
                    f"discordant, p = {cmp['mcnemar_p']:.2g}"
        elif cmp:
            line += f"; before {cmp['before'][0]}/{cmp['before'][1]} (unpaired, Fisher p = {cmp['fisher_p']:.2g})"
        print(line)
        print("    " + ", ".join(f"{k} {r}/{t}" for k, (r, t) in now["by_kind"].items()))
    a.out.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"-> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
