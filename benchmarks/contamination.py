"""The contamination report: every training file against every test file (exact question, 13-gram, 30-gram), and,
where there are hits, each eval run's accuracy on hit and on clean items apart, as Llemma's analysis does.

Example:

    .venv/bin/python benchmarks/contamination.py --train runs/wp/cmp/*.train.jsonl runs/wp/cmp/pretrain.jsonl \\
        --tests ../shared/data/gsm8k/test.jsonl ../shared/data/svamp/test.jsonl --runs runs/wp/cmp/*-gsm8k \\
        -o benchmarks/figures/contamination.json

A run's items are matched to the hits of the test file it evaluated (its ``config.json`` names it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--tests", nargs="+", required=True)
    ap.add_argument("--runs", nargs="*", default=[], help="eval run directories to split into hit / clean items")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    from mathcoach.eval.metrics import wilson
    from mathcoach.problems.overlap import check_overlap
    from mathcoach.runs import sha256_file, versions

    report: dict = {"pairs": [], "runs": [], "versions": versions(),
                    "sha256": {p: sha256_file(p) for p in [*args.train, *args.tests]}}
    hits: dict[str, set[str]] = {t: set() for t in args.tests}
    lines = ["| training file | test file | items | exact question | 13-gram | 30-gram |", "|---|---|---:|---:|---:|---:|"]
    for train in args.train:
        for rep in check_overlap(train, args.tests, (13, 30)):
            hits[rep.path] |= set(rep.hit_ids)
            report["pairs"].append({"train": train, "test": rep.path, "items": rep.items, "exact": rep.exact,
                                    "ngram13": rep.ngram[13], "ngram30": rep.ngram[30], "hit_ids": rep.hit_ids})
            lines.append(f"| {train} | {rep.path} | {rep.items} | {rep.exact} | {rep.ngram[13]} | {rep.ngram[30]} |")
    if args.runs:
        lines += ["", "| run | test file | hit items: right / n | clean items: exact match (95% CI) |",
                  "|---|---|---:|---|"]
    for run in args.runs:
        data = json.loads((Path(run) / "config.json").read_text())["data"]
        test = next((t for t in args.tests if Path(t).resolve() == Path(data).resolve()), None)
        if test is None:
            continue
        rows = [json.loads(x) for x in (Path(run) / "samples.jsonl").read_text().splitlines()]
        rows = [r for r in rows if r["sample"] == 0 and r["correct"] is not None]
        hit = [r for r in rows if r["id"] in hits[test]]
        clean = [r for r in rows if r["id"] not in hits[test]]
        em, lo, hi = wilson(sum(r["correct"] for r in clean), len(clean))
        report["runs"].append({"run": run, "test": test, "hit_items": len(hit), "hit_right": sum(r["correct"] for r in hit),
                               "clean_items": len(clean), "clean_exact_match": em, "clean_ci95": [lo, hi]})
        lines.append(f"| {run} | {test} | {sum(r['correct'] for r in hit)} / {len(hit)} | {em:.1%} ({lo:.1%}-{hi:.1%}) |")
    print("\n".join(lines))
    if args.output:
        args.output.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
