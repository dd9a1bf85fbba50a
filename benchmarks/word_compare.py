"""Word problems, measured: SFT in each solution style at equal training tokens, each scored with its own tool, and
continued pretraining + SFT against SFT alone at the same total tokens (the Llemma thesis at CPU scale).

Example (benchmarks/RESULTS.md; every step is resumable, a finished one is skipped):

    .venv/bin/python benchmarks/word_compare.py --dir runs/wp/cmp --gsm8k-train ../shared/data/gsm8k/train.jsonl \\
        --tests ../shared/data/gsm8k/test.jsonl,../shared/data/svamp/test.jsonl --limit 100 --tokens 40000

Steps:
 1. data: GSM8K train in the three styles and synthetic word problems (``mathcoach data --source gsm8k|word``).
    The problems are the ones every style keeps (the Python style drops solutions it cannot verify), in one seeded
    order; each arm's rows are the shortest prefix of that order holding ``--tokens`` training tokens (counted as
    the trainer counts them: prompt and answer in the chat template), so arms differ in style, not in compute.
    Validation is 64 held-out GSM8K *train* problems; test files are read by the final evals only.
 2. arms: ``sft_cot``, ``sft_calculator``, ``sft_python`` (full fine-tuning of ``--model``); ``pre_python``:
    ``train --objective pretrain`` on ``--tokens``/2 of CoT text from problems outside every SFT prefix, then SFT
    on the first ``--tokens``/2 of the Python rows.
 3. evals: each arm on the first ``--limit`` problems of every ``--tests`` file, with its style's tool (none,
    calculator, python).
 4. the summary (``DIR/summary.json``): exact match with 95% intervals per arm and test file, with tokens, minutes,
    versions and data hashes; any ``--baseline NAME=RUN_DIR`` runs are listed beside them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

STYLE_TOOL = {"cot": "none", "calculator": "calculator", "python": "python"}
ARMS = {"sft_cot": "cot", "sft_calculator": "calculator", "sft_python": "python", "pre_python": "python"}


def sh(*args: str, log: Path | None = None) -> None:
    print("+ mathcoach " + " ".join(args), file=sys.stderr, flush=True)
    with open(log, "w") if log else open("/dev/null", "w") as out:
        subprocess.run([sys.executable, "-m", "mathcoach", *args], check=True, stdout=out,
                       stderr=subprocess.STDOUT if log else None)


def read(path: Path) -> list[dict]:
    from mathcoach.io import read_jsonl

    return read_jsonl(path)


def write(path: Path, rows: list[dict]) -> None:
    from mathcoach.io import atomic_writer

    with atomic_writer(path) as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def row_tokens(tokenizer, rows: list[dict], pretrain: bool = False) -> list[int]:
    from mathcoach.train.data import encode_rows, encode_text_rows

    if pretrain:
        return [sum(len(e["input_ids"]) for e in encode_text_rows(tokenizer, [r], 10**6)) for r in rows]
    return [len(e["input_ids"]) for e in encode_rows(tokenizer, rows, None, 10**6)]


def prefix(rows: list[dict], tokens: list[int], budget: int) -> tuple[list[dict], int]:
    total = 0
    for n, t in enumerate(tokens):
        if total >= budget:
            return rows[:n], total
        total += t
    return rows, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--gsm8k-train", required=True)
    ap.add_argument("--tests", required=True, help="comma-separated test files (GSM8K, SVAMP)")
    ap.add_argument("--limit", type=int, default=100, help="first N problems of each test file")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tokens", type=int, default=40000, help="training tokens per arm (both stages together)")
    ap.add_argument("--word-count", type=int, default=20000, help="synthetic problems generated per style")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=200)
    ap.add_argument("--baseline", action="append", default=[], help="NAME=RUN_DIR, shown beside the arms")
    ap.add_argument("--prepare-only", action="store_true", help="write the data files, train nothing")
    args = ap.parse_args()
    d = args.dir
    d.mkdir(parents=True, exist_ok=True)

    for style in STYLE_TOOL:
        if not (d / f"gsm8k_{style}.jsonl").is_file():
            sh("data", "--source", "gsm8k", "--input", args.gsm8k_train, "--style", style, "-o",
               str(d / f"gsm8k_{style}.jsonl"))
        if not (d / f"word_{style}.jsonl").is_file():
            sh("data", "--source", "word", "--count", str(args.word_count), "--seed", str(args.seed + 1), "--style",
               style, "-o", str(d / f"word_{style}.jsonl"))

    from mathcoach.models import parse_model

    _, spec = parse_model(args.model)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(spec["path"])
    by_style = {s: {r["meta"]["id"]: r for f in ("gsm8k", "word") for r in read(d / f"{f}_{s}.jsonl")}
                for s in STYLE_TOOL}
    common = set.intersection(*(set(v) for v in by_style.values()))
    order = sorted(common, key=lambda i: hashlib.sha256(f"{args.seed}:{i}".encode()).hexdigest())
    val_ids = [i for i in order if i.startswith("gsm8k-")][-64:]  # held out of every training file
    order = [i for i in order if i not in set(val_ids)]
    used: set[str] = set()
    files = {}
    for arm in args.arms.split(","):
        style = ARMS[arm]
        budget = args.tokens // 2 if arm.startswith("pre_") else args.tokens
        rows = [by_style[style][i] for i in order]
        path = d / f"{arm}.train.jsonl"
        if not path.is_file():
            kept, total = prefix(rows, row_tokens(tok, rows[: 4 * budget // 100 + 50]), budget)
            write(path, kept)
            print(f"{arm}: {len(kept)} rows, {total} tokens", file=sys.stderr)
        used |= {r["meta"]["id"] for r in read(path)}
        files[arm] = path
        val = d / f"val_{style}.jsonl"
        if not val.is_file():
            write(val, [by_style[style][i] for i in val_ids])
    corpus = d / "pretrain.jsonl"
    if "pre_python" in files and not corpus.is_file():
        rest = [by_style["cot"][i] for i in reversed(order) if i not in used]
        kept, total = prefix(rest, row_tokens(tok, rest[: 4 * args.tokens // 200 + 50], pretrain=True),
                             args.tokens // 2)
        write(corpus, kept)
        print(f"pretrain corpus: {len(kept)} rows, {total} tokens, none in any SFT file", file=sys.stderr)

    if args.prepare_only:
        return 0
    common_train = ["--method", "full", "--learning-rate", str(args.lr), "--batch-size", str(args.batch_size),
                    "--epochs", "1", "--max-length", "1024", "--eval-problems", "16", "--eval-steps", "1000000",
                    "--eval-max-tokens", "200", "--seed", str(args.seed), "--no-bf16"]
    tests = args.tests.split(",")
    summary = {"arms": {}, "tokens": args.tokens, "limit": args.limit, "seed": args.seed, "model": args.model}
    for arm, path in files.items():
        style = ARMS[arm]
        tools = ["--val-tools", STYLE_TOOL[style]]
        out = d / arm
        base = args.model
        if arm.startswith("pre_"):
            if not (d / f"{arm}_pretrain" / "mathcoach.json").is_file():
                sh("train", "--train", str(corpus), "--val", str(d / f"val_{style}.jsonl"), "--model", args.model,
                   "--objective", "pretrain", *common_train, "-o", str(d / f"{arm}_pretrain"),
                   log=d / f"{arm}_pretrain.log")
            base = str(d / f"{arm}_pretrain")
        if not (out / "mathcoach.json").is_file():
            sh("train", "--train", str(path), "--val", str(d / f"val_{style}.jsonl"), "--model", base, *common_train,
               *tools, "-o", str(out), log=d / f"{arm}.log")
        summary["arms"][arm] = {"train": json.loads((out / "train_results.json").read_text())}
        for t in tests:
            name = Path(t).parent.name
            run = d / f"{arm}-{name}"
            if not (run / "results.json").is_file():
                sh("eval", "--model", str(out), "--data", t, "--limit", str(args.limit), "--tools",
                   STYLE_TOOL[style], "--max-tokens", str(args.max_tokens), "--batch-size", "64", "--no-progress",
                   "-o", str(run), "--resume", log=d / f"{arm}-{name}.log")
            summary["arms"][arm][name] = json.loads((run / "results.json").read_text())["metrics"]["overall"]
    for spec_ in args.baseline:
        name, run = spec_.split("=", 1)
        if (Path(run) / "results.json").is_file():
            summary.setdefault("baselines", {})[name] = json.loads((Path(run) / "results.json").read_text())["metrics"]["overall"]
    from mathcoach.runs import sha256_file, versions

    summary |= {"versions": versions(), "data_sha256": {p.name: sha256_file(p) for p in sorted(d.glob("*.jsonl"))}}
    (d / "summary.json").write_text(json.dumps(summary, indent=1))
    lines = ["| arm | train tokens | train min | " + " | ".join(Path(t).parent.name for t in tests) + " |",
             "|---|---:|---:|" + "---|" * len(tests)]
    for arm, v in summary["arms"].items():
        cells = [f"{v[Path(t).parent.name]['exact_match']:.1%} ({v[Path(t).parent.name]['ci95'][0]:.1%}-"
                 f"{v[Path(t).parent.name]['ci95'][1]:.1%})" for t in tests]
        lines.append(f"| {arm} | {v['train']['tokens_seen']} | {v['train']['train_s'] / 60:.1f} | " + " | ".join(cells) + " |")
    for name, m in summary.get("baselines", {}).items():
        lines.append(f"| {name} | 0 | 0 | {m['exact_match']:.1%} ({m['ci95'][0]:.1%}-{m['ci95'][1]:.1%}) |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
