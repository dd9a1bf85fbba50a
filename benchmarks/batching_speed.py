"""Training speed of `--batching random` against `--batching split` in the real trainer, on one training file.

Example (mathcoach-mul's recipe and its attempt-8 data; both runs one after the other, nothing else on the CPU):
    .venv/bin/python benchmarks/batching_speed.py --config configs/train/mul_8x8.toml \
        --train runs/mul8/train.jsonl --val runs/mul8/val.jsonl --runs random:16,split:22 --steps 16

Each run is `mathcoach train` from scratch for --steps steps with one cheap validation at the end (2 problems).
Speed is read off its metrics.csv between the 6th and the last logged step (the first steps warm up): seconds a
step, tokens the trainer counted (no padding) a second, and from the file's share of refusal rows (rows with no
operands) the expected product and refusal rows a second. Ratios are against the first run.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def refusal_share(path: str) -> float:
    rows = [json.loads(line) for line in open(path)]
    return sum(1 for r in rows if (r.get("meta") or {}).get("a") is None) / len(rows)


def speed(metrics: Path, skip: int = 5) -> tuple[float, float]:
    logged = [r for r in csv.DictReader(metrics.open()) if r["loss"]]
    a, b = logged[skip], logged[-1]
    seconds = float(b["elapsed_s"]) - float(a["elapsed_s"])
    return seconds / (int(b["step"]) - int(a["step"])), (int(b["tokens_seen"]) - int(a["tokens_seen"])) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--runs", default="random:16,split:22", help="BATCHING:BATCH_SIZE, comma-separated")
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    share = refusal_share(args.train)
    out, base = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.runs.split(","):
            batching, batch = spec.split(":")
            run_dir = Path(tmp) / spec.replace(":", "-")
            subprocess.run([str(REPO / ".venv/bin/mathcoach"), "train", "--config", args.config, "--train",
                            args.train, "--val", args.val, "--batching", batching, "--batch-size", batch,
                            "--max-steps", str(args.steps), "--eval-steps", str(args.steps), "--eval-problems", "2",
                            "--logging-steps", "1", "--output", str(run_dir)], check=True, cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            s_step, tok_s = speed(run_dir / "metrics.csv")
            row = {"batching": batching, "batch_size": int(batch), "s_per_step": round(s_step, 3),
                   "tokens_per_s": round(tok_s), "products_per_s": round(int(batch) * (1 - share) / s_step, 2),
                   "refusals_per_s": round(int(batch) * share / s_step, 2)}
            base = base or row
            row["products_per_s_ratio"] = round(row["products_per_s"] / base["products_per_s"], 3)
            row["tokens_per_s_ratio"] = round(row["tokens_per_s"] / base["tokens_per_s"], 3)
            out.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"train": args.train, "refusal_share": round(share, 4),
                                               "steps": args.steps, "runs": out}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
