"""GRPO against rejection-sampling fine-tuning and the SFT start, from one `mathcoach run` directory.

Usage: python benchmarks/rl_compare.py RUN_DIR [--arms base,grpo,rft] [--greedy greedy] [--json OUT.json]
RUN_DIR is the directory of `mathcoach run configs/experiments/rl_specialist.toml` (or any experiment with the
same stage names): for each arm ARM, `ARM_greedy/` (eval, greedy; `--greedy greedy200` reads `ARM_greedy200/`) and `ARM_sampled/` (eval, --samples k at a
temperature), and, for the trained arms, `ARM/train_results.json`. Prints one markdown table: greedy exact match,
strict and lenient apart, with Wilson 95% intervals; pass@1 (the first sample), maj@k and pass@k of the sampled
run; generated samples and minutes spent training. The JSON holds the same, with every run's seeds, versions and
data hashes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mathcoach.eval.metrics import wilson  # noqa: E402


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ci(k: int, n: int) -> str:
    em, lo, hi = wilson(k, n)
    return f"{100 * em:.1f}% ({100 * lo:.1f}–{100 * hi:.1f}%)"


def arm_row(run: Path, arm: str, greedy_stage: str = "greedy") -> dict:
    greedy = json.loads((run / f"{arm}_{greedy_stage}" / "results.json").read_text())
    sampled_path = run / f"{arm}_sampled" / "results.json"
    sampled = json.loads(sampled_path.read_text()) if sampled_path.exists() else None
    g = greedy["metrics"]["overall"]
    row = {"arm": arm, "n": g["scored"], "strict": g["correct"],
           "lenient": round(g["flexible_match"] * g["scored"]), "in_format": g.get("in_format"),
           "greedy": {k: greedy[k] for k in ("seed", "versions", "data_sha256", "model")}}
    if sampled:
        s = sampled["metrics"]["overall"]
        k = max(int(x) for x in s["pass_at_k"])
        row.update(k=k, temperature=sampled["config"].get("temperature"), pass1=s["exact_match"],
                   majk=s["majority_vote"], passk=s["pass_at_k"][str(k)],
                   sampled={x: sampled[x] for x in ("seed", "versions", "data_sha256")})
    train = run / arm / "train_results.json"
    if train.exists():
        t = json.loads(train.read_text())
        row.update(generated_samples=t.get("generated_samples"), train_minutes=round(
            (t.get("train_s", 0) + t.get("sampling_s", 0)) / 60, 1), best_step=t.get("best_step"),
            steps=t.get("steps"), val=t.get("best_val_exact_match"), seed=t.get("seed"),
            train_data_sha256=t.get("data_sha256"))
    return row


def table(rows: list[dict]) -> str:
    out = ["| arm | greedy exact, strict (95% CI) | greedy, lenient | first sample (T) | maj@k | pass@k | generated samples "
           "| train minutes |", "|---|---|---|---|---|---|---:|---:|"]
    for r in rows:
        out.append(f"| {r['arm']} | {_ci(r['strict'], r['n'])}, n = {r['n']} | {_ci(r['lenient'], r['n'])} | "
                   f"{_pct(r.get('pass1'))} ({r.get('temperature', '')}) | {_pct(r.get('majk'))} | "
                   f"{_pct(r.get('passk'))} (k = {r.get('k', '')}) | {r.get('generated_samples', '') or ''} | "
                   f"{r.get('train_minutes', '')} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--arms", default="base,grpo,rft")
    ap.add_argument("--greedy", default="greedy", help="the greedy runs' stage suffix (ARM_SUFFIX/)")
    ap.add_argument("--json")
    ns = ap.parse_args(argv)
    rows = [arm_row(Path(ns.run), a, ns.greedy) for a in ns.arms.split(",")
            if (Path(ns.run) / f"{a}_{ns.greedy}").is_dir()]
    print(table(rows))
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
