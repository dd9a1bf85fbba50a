"""Which trace format and method teach SmolLM2-135M 2x2 multiplication fastest, at one fixed time budget.

Example: ``.venv/bin/python benchmarks/sft_formats.py --minutes 7 --threads 1 --out runs/bench/sft_formats``

For each (format, method) the same 2x2 training problems are rendered in that format and trained with
``mathcoach train --max-minutes M`` (the same 400-step cosine schedule for every run, cut by the time limit);
the score is greedy exact match on the same held-out validation problems, decoded once at the end. The test
split is not touched: the winner's test score comes from ``mathcoach eval`` on the shipped recipe.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from mathcoach.eval.metrics import wilson

RUNS = [  # (format, method, learning rate)
    ("long", "full", 2e-4), ("scratchpad", "full", 2e-4), ("goat", "full", 2e-4), ("long", "lora", 1e-3),
    ("reversed", "full", 2e-4), ("distributive", "full", 2e-4),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=7.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--val", type=int, default=48)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=400, help="schedule length (the time limit usually ends it first)")
    ap.add_argument("--out", default="runs/bench/sft_formats")
    ap.add_argument("--only", nargs="*", help="format:method pairs to run")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    mc = [sys.executable, "-m", "mathcoach"]
    results = []
    for fmt, method, lr in RUNS:
        if a.only and f"{fmt}:{method}" not in a.only:
            continue
        d = out / f"{fmt}-{method}"
        for split, n in (("train", a.rows), ("val", a.val)):
            subprocess.run(mc + ["data", "--op", "mul", "--digits", "2x2", "--per-cell", str(n), "--split", split,
                                 "--format", fmt, "--seed", "0", "-o", str(out / f"{fmt}_{split}.jsonl")],
                           check=True, stdout=subprocess.DEVNULL)
        if not (d / "train_results.json").exists():
            subprocess.run(mc + ["train", "--train", str(out / f"{fmt}_train.jsonl"), "--val", str(out / f"{fmt}_val.jsonl"),
                                 "--method", method, "--learning-rate", str(lr), "--max-steps", str(a.steps),
                                 "--max-minutes", str(a.minutes), "--eval-steps", "100000", "--eval-problems",
                                 str(a.val), "--batch-size", str(a.batch), "--threads", str(a.threads), "--output", str(d)],
                           check=True)
        r = json.loads((d / "train_results.json").read_text())
        k = round(r["best_val_exact_match"] * a.val)
        _, lo, hi = wilson(k, a.val)
        results.append((fmt, method, lr, r["steps"], r["tokens_seen"], r["tokens_per_s"], k, lo, hi))
    print(f"| format | method | lr | steps | tokens | tok/s | val exact match (n={a.val}) | 95% CI |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for fmt, method, lr, steps, tok, tps, k, lo, hi in results:
        print(f"| {fmt} | {method} | {lr:g} | {steps} | {tok} | {tps} | {100 * k / a.val:.1f}% | "
              f"{100 * lo:.1f}-{100 * hi:.1f}% |")


if __name__ == "__main__":
    main()
