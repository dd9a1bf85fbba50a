"""``mathcoach data --source gsm8k|word``: word-problem training rows in one style, each one verified.

Example: ``mathcoach data --source gsm8k --input ../shared/data/gsm8k/train.jsonl --style python -o py.jsonl``
-> 7,014 of 7,473 rows kept: every kept program, run in the sandbox, returns the gold answer.

The rows are chat rows like every other mathcoach dataset (``messages`` plus ``meta``), and ``meta.answer``
holds the gold, so the same file can be evaluated. A ``cot`` or ``calculator`` row is kept when its final
answer is the gold and (calculator) every annotation computes to the value written; a ``python`` row when its
program runs to the gold. The summary counts what was dropped and why. This lives beside the sandbox, not in
``problems/``, because verifying a program means running it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

from mathcoach.errors import DataError
from mathcoach.io import atomic_writer, read_jsonl
from mathcoach.problems import word
from mathcoach.problems.answer import ANSWER_VERSION, extract, matches, normalize_number
from mathcoach.problems.wordgen import GENERATOR_VERSION, generate_word_problems
from mathcoach.runs import sha256_file
from mathcoach.tools.calculator import evaluate
from mathcoach.tools.pal import extract_program, run_programs


def _sources(cfg) -> list[dict]:
    """(id, question, annotated solution, gold, origin) of every problem the config names."""
    if cfg.source == "gsm8k":
        out = []
        for n, row in enumerate(read_jsonl(cfg.input), 1):
            if not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
                raise DataError(f"{cfg.input}: row {n}: not a GSM8K row (needs string question and answer)")
            try:
                gold = normalize_number(word.split_solution(row["answer"])[1])
            except word.StyleError:
                gold = None
            out.append({"id": f"gsm8k-{n}", "question": row["question"], "solution": row["answer"], "gold": gold,
                        "template": None})
        return out
    return [{"id": p.id, "question": p.question, "solution": p.solution, "gold": normalize_number(p.answer),
             "template": p.template} for p in generate_word_problems(cfg.count, cfg.seed)]


def _annotations_compute(solution: str) -> bool:
    return all(matches(evaluate(e), normalize_number(v)) for e, v in word.annotations(solution))


def build_word_dataset(cfg) -> dict:
    cfg.preflight()
    problems = _sources(cfg)
    dropped: Counter = Counter()
    kept: list[tuple[dict, str]] = []
    for p in problems:
        if p["gold"] is None:
            dropped["no numeric gold answer"] += 1
            continue
        try:
            text = word.render(p["solution"], cfg.style, p["gold"])
        except word.StyleError as e:
            dropped[str(e)] += 1
            continue
        if cfg.style == "calculator" and not _annotations_compute(p["solution"]):
            dropped["an annotation does not compute to its value"] += 1  # the model would learn wrong values
            continue
        kept.append((p, text))
    if cfg.style == "python":
        answers = run_programs([extract_program(t) for _, t in kept])
        right = [matches(a, p["gold"]) for (p, _), a in zip(kept, answers)]
        dropped["the program does not run to the gold answer"] += right.count(False)
        kept = [pt for pt, ok in zip(kept, right) if ok]
    else:
        right = [matches(extract(text).strict, p["gold"]) for p, text in kept]
        dropped["the final answer is not the gold"] += right.count(False)
        kept = [pt for pt, ok in zip(kept, right) if ok]
    sha = hashlib.sha256()
    with atomic_writer(cfg.output, "wb") as f:
        for p, text in kept:
            messages = [{"role": "system", "content": cfg.system}] if cfg.system else []
            messages += [{"role": "user", "content": p["question"]}, {"role": "assistant", "content": text}]
            meta = {"source": cfg.source, "id": p["id"], "answer": p["gold"], "style": cfg.style,
                    "style_version": word.STYLE_VERSION, "answer_version": ANSWER_VERSION}
            if p["template"]:
                meta |= {"template": p["template"], "generator_version": GENERATOR_VERSION, "seed": cfg.seed}
            line = (json.dumps({"messages": messages, "meta": meta}, ensure_ascii=False) + "\n").encode()
            f.write(line)
            sha.update(line)
    return {"output": str(cfg.output), "source": cfg.source, "style": cfg.style, "problems": len(problems),
            "rows": len(kept), "dropped": dict(dropped.most_common()), "sha256": sha.hexdigest(),
            "input_sha256": sha256_file(cfg.input) if cfg.input else None, "seed": cfg.seed}


def word_summary(summary: dict) -> str:
    lines = [f"{summary['rows']} of {summary['problems']} {summary['source']} problems kept in style "
             f"{summary['style']} -> {summary['output']}"]
    lines += [f"  dropped {n}: {why}" for why, n in summary["dropped"].items() if n]
    lines.append(f"sha256 {summary['sha256']}")
    return "\n".join(lines)
