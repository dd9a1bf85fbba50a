"""Cost of learning from mistakes: mistakes collected per minute and exact corrections per second.

Example: ``.venv/bin/python benchmarks/mistakes_speed.py --model runs/quickstart/model --problems 200``

Generates a fresh training-split pool (never a test problem), evaluates ``--model`` on it with ``mathcoach eval``
(the mistakes' real cost: the model has to write them), then times ``mistakes collect`` and the exact corrector on
what it got wrong, and reports the share the answer filter kept. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a trained model directory (its format is used)")
    ap.add_argument("--digits", default="2x2,3x3")
    ap.add_argument("--problems", type=int, default=200, help="pool size, split evenly over the cells")
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", default=None, help="directory to keep the pool, run and files in (default: temporary)")
    args = ap.parse_args()
    cells = args.digits.split(",")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(args.keep or t)
        tmp.mkdir(parents=True, exist_ok=True)
        mc = [sys.executable, "-m", "mathcoach"]
        fmt = json.loads((Path(args.model) / "mathcoach.json").read_text())["format"]
        subprocess.run([*mc, "data", "--digits", args.digits, "--per-cell", str(args.problems // len(cells)),
                        "--split", "train", "--format", fmt, "--seed", str(args.seed), "-o", str(tmp / "pool.jsonl")],
                       check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        subprocess.run([*mc, "eval", "--model", args.model, "--data", str(tmp / "pool.jsonl"), "--max-tokens",
                        str(args.max_tokens), "-o", str(tmp / "pool_run"), "--resume", "--no-progress"], check=True,
                       stdout=subprocess.DEVNULL)
        eval_s = time.perf_counter() - t0

        from mathcoach.mistakes.collect import collect
        from mathcoach.mistakes.correct import correct_all_exact

        t0 = time.perf_counter()
        records, counts = collect([str(tmp / "pool_run")])
        collect_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        kept, c = correct_all_exact(records)
        correct_s = time.perf_counter() - t0
        by_type: dict = {}
        for r in records:
            by_type[r["diagnosis"]["error_type"]] = by_type.get(r["diagnosis"]["error_type"], 0) + 1
        out = {"date": time.strftime("%Y-%m-%d"), "model": args.model, "format": fmt, "pool": counts["samples"],
               "wrong": counts["wrong"], "unscored": counts["unscored_skipped"], "error_types": by_type,
               "eval_s": round(eval_s, 1), "collect_s": round(collect_s, 3),
               "mistakes_per_minute_incl_eval": round(counts["wrong"] / (eval_s + collect_s) * 60, 1),
               "exact": c, "exact_corrections_per_s": round(c["corrected"] / correct_s, 1) if correct_s else None,
               "kept_share": round(c["kept"] / c["attempted"], 4) if c["attempted"] else None}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
