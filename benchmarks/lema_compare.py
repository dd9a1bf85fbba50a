"""Learning from mistakes, measured: CoT only against CoT + corrections at equal training tokens, seeds per arm.

Example (the from-scratch specialist setting of benchmarks/RESULTS.md; every step is resumable):

    .venv/bin/python benchmarks/lema_compare.py --dir runs/lema_b --base runs/lema_b/base \\
        --cot runs/lema_b/cot.jsonl --val runs/lema_b/val.jsonl --test runs/lema_b/test.jsonl \\
        --train-config runs/lema_b/arm.toml --pool-digits 2x3,3x2,3x3 --pool-per-cell 200 --seeds 0,1,2

Steps, each skipped when its output is already there (so a killed run goes on where it stopped):
 1. a fresh training-split pool (``mathcoach data``), evaluated by ``--base``: its mistakes;
 2. ``mistakes collect`` and ``mistakes correct --corrector exact``;
 3. per arm and seed, the arm's rows (``cot``: the CoT file alone; ``lema``: ``mistakes build --match tokens``, so
    both arms hold the same training tokens; ``no_step`` / ``no_explanation`` / ``no_solution``: the ablation),
    ``mathcoach train --model BASE`` on them (the checkpoint is picked on ``--val`` only), and ``mathcoach eval`` on
    ``--test``, which nothing before has read;
 4. the summary: exact match per arm and seed, and each arm against ``cot`` on the same test problems, McNemar's
    exact test pooled over seeds (seed s of an arm paired with seed s of ``cot``), overall and on ``--hard`` cells.
Writes ``DIR/summary.json`` (``--summary``; with versions and data hashes) and prints its markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ARMS = {"cot": None, "lema": "step,explanation,solution", "no_step": "explanation,solution",
        "no_explanation": "step,solution", "no_solution": "step,explanation"}


def sh(*args: str, log: Path | None = None) -> None:
    cmd = [sys.executable, "-m", "mathcoach", *args]
    print("+ mathcoach " + " ".join(args), file=sys.stderr, flush=True)
    with open(log, "w") if log else open("/dev/null", "w") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT if log else None)


def samples(run: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, (run / "samples.jsonl").open()) if r.get("correct") is not None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--base", required=True, help="the model whose mistakes are corrected, trained further per arm")
    ap.add_argument("--cot", required=True, help="CoT rows of the CoT-only arm (fresh training problems)")
    ap.add_argument("--val", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--train-config", required=True, help="TOML of the continued training (lr, batch, epochs, ...)")
    ap.add_argument("--pool-digits", default="2x3,3x2,3x3")
    ap.add_argument("--pool-per-cell", type=int, default=200)
    ap.add_argument("--pool-seed", type=int, default=5)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--arms", default="cot,lema", help=f"comma-separated, of {', '.join(ARMS)}")
    ap.add_argument("--hard", default="2x3,3x2,3x3", help="the hardest in-range cells, reported on their own")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--summary", default="summary.json", help="file name of the summary in --dir")
    args = ap.parse_args()
    d = args.dir
    d.mkdir(parents=True, exist_ok=True)
    fmt = json.loads((Path(args.base) / "mathcoach.json").read_text())["format"]
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = args.arms.split(",")
    ev = ["--max-tokens", str(args.max_tokens), "--no-progress"]

    pool = d / "pool.jsonl"
    if not pool.is_file():
        sh("data", "--op", "mul", "--digits", args.pool_digits, "--per-cell", str(args.pool_per_cell), "--split",
           "train", "--format", fmt, "--seed", str(args.pool_seed), "-o", str(pool))
    if not (d / "pool_run" / "results.json").is_file():
        sh("eval", "--model", args.base, "--data", str(pool), "-o", str(d / "pool_run"), *ev, log=d / "pool_run.log")
    if not (d / "corrections.jsonl").is_file():
        sh("mistakes", "collect", str(d / "pool_run"), "-o", str(d / "mistakes.jsonl"))
        sh("mistakes", "correct", str(d / "mistakes.jsonl"), "--corrector", "exact", "-o", str(d / "corrections.jsonl"))

    for arm in arms:
        for seed in seeds:
            name = f"{arm}_s{seed}"
            rows = Path(args.cot) if arm == "cot" else d / f"{name}.jsonl"
            if arm != "cot" and not rows.is_file():
                sh("mistakes", "build", str(d / "corrections.jsonl"), "--cot", args.cot, "--match", "tokens",
                   "--fields", ARMS[arm], "--seed", str(seed), "--tokenizer", args.base, "-o", str(rows))
            model = d / f"model_{name}"
            if not (model / "mathcoach.json").is_file():
                sh("train", "--config", args.train_config, "--model", args.base, "--method", "full", "--train",
                   str(rows), "--val", args.val, "--seed", str(seed), "-o", str(model), log=d / f"train_{name}.log")
            if not (d / f"test_{name}" / "results.json").is_file():
                sh("eval", "--model", str(model), "--data", args.test, "-o", str(d / f"test_{name}"), *ev,
                   log=d / f"test_{name}.log")
    from mathcoach.runs import sha256_file, versions

    summary = summarize(d, arms, seeds, set(args.hard.split(",")))
    summary |= {"base": args.base, "train_config": Path(args.train_config).read_text(), "versions": versions(),
                "data_sha256": {k: sha256_file(v) for k, v in (("cot", args.cot), ("val", args.val),
                                                               ("test", args.test), ("pool", pool),
                                                               ("corrections", d / "corrections.jsonl"))}}
    (d / args.summary).write_text(json.dumps(summary, indent=2) + "\n")
    print(markdown(summary))
    return 0


def summarize(d: Path, arms: list[str], seeds: list[int], hard: set[str]) -> dict:
    from mathcoach.eval.metrics import mcnemar, wilson

    runs = {(a, s): samples(d / f"test_{a}_s{s}") for a in arms for s in seeds}
    train = {(a, s): json.loads((d / f"model_{a}_s{s}" / "train_results.json").read_text()) for a in arms
             for s in seeds}
    from collections import Counter

    mistakes = [json.loads(x) for x in (d / "mistakes.jsonl").open()]
    corrections = [json.loads(x) for x in (d / "corrections.jsonl").open()]
    pool = json.loads((d / "pool_run" / "results.json").read_text())["metrics"]["overall"]
    out: dict = {"seeds": seeds, "hard_cells": sorted(hard), "pool": {"n": pool["items"], "exact_match":
                 pool["exact_match"]}, "mistakes": len(mistakes), "mistake_types": dict(Counter(
                 m["diagnosis"]["error_type"] for m in mistakes).most_common()), "corrections_kept": sum(
                 bool(c.get("kept")) for c in corrections), "arms": {}}
    for a in arms:
        entry: dict = {"per_seed": {}, "tokens_seen": [train[a, s]["tokens_seen"] for s in seeds],
                       "best_step": [train[a, s]["best_step"] for s in seeds],
                       "val": [train[a, s]["best_val_exact_match"] for s in seeds]}
        for scope in ("all", "hard"):
            right = n = 0
            for s in seeds:
                items = [r for r in runs[a, s].values() if scope == "all" or r.get("cell") in hard]
                k = sum(bool(r["correct"]) for r in items)
                entry["per_seed"].setdefault(scope, []).append(round(k / len(items), 4))
                right, n = right + k, n + len(items)
            p, lo, hi = wilson(right, n)
            digits = [r["digit_match"] for s in seeds for r in runs[a, s].values()
                      if scope == "all" or r.get("cell") in hard]
            entry[scope] = {"exact_match": round(p, 4), "ci95": [round(lo, 4), round(hi, 4)], "n": n,
                            "digit_match": round(statistics.mean(digits), 4)}
            if a != "cot" and "cot" in arms:
                b = c = 0  # b: cot right, arm wrong; c: arm right, cot wrong -- same problem, same seed index
                diffs = []  # digit match, arm minus cot, same pairs: a graded measure where exact match is at its floor
                for s in seeds:
                    for pid, r in runs[a, s].items():
                        o = runs["cot", s].get(pid)
                        if o is None or (scope == "hard" and r.get("cell") not in hard):
                            continue
                        b += bool(o["correct"]) and not r["correct"]
                        c += bool(r["correct"]) and not o["correct"]
                        diffs.append(r["digit_match"] - o["digit_match"])
                cot_p = out["arms"]["cot"][scope]["exact_match"]
                mean, half = statistics.mean(diffs), 1.96 * statistics.stdev(diffs) / len(diffs) ** 0.5
                entry[scope] |= {"vs_cot_points": round(100 * (p - cot_p), 2), "cot_only_right": b,
                                 "arm_only_right": c, "mcnemar_p": mcnemar(b, c),
                                 "digit_match_vs_cot_points": [round(100 * x, 2) for x in (mean, mean - half,
                                                                                            mean + half)]}
        out["arms"][a] = entry
    return out


def markdown(s: dict) -> str:
    lines = ["| arm | exact match, all (95% CI) | hardest cells (95% CI) | vs CoT only, hardest (McNemar p) | "
             "digit match, hardest (vs CoT only, 95% CI) | per seed, hardest | training tokens |",
             "|---|---|---|---|---|---|---|"]
    for a, e in s["arms"].items():
        h, al = e["hard"], e["all"]
        vs = f"{h['vs_cot_points']:+.1f} pts ({h['cot_only_right']} vs {h['arm_only_right']}, p={h['mcnemar_p']:.2g})" \
            if "vs_cot_points" in h else ""
        dm = " ({:+.2f} pts, {:+.2f} to {:+.2f})".format(*h["digit_match_vs_cot_points"]) if "vs_cot_points" in h else ""
        lines.append(f"| {a} | {100 * al['exact_match']:.1f}% ({100 * al['ci95'][0]:.1f}–{100 * al['ci95'][1]:.1f}), "
                     f"n={al['n']} | {100 * h['exact_match']:.1f}% ({100 * h['ci95'][0]:.1f}–{100 * h['ci95'][1]:.1f}), "
                     f"n={h['n']} | {vs} | {100 * h['digit_match']:.1f}%{dm} | "
                     f"{' / '.join(f'{100 * x:.1f}' for x in e['per_seed']['hard'])} | "
                     f"{' / '.join(str(t) for t in e['tokens_seen'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
