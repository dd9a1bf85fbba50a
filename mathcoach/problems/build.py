"""Build a verified dataset file: generate problems, render the worked solution, re-check every row, write.

Example: ``mathcoach data --op mul --digits 1-4 --per-cell 500 --split train --format long --seed 0 -o train.jsonl``

Every row's trace is re-read by the step checker before it is written (``--no-verify`` skips this), so a bug
in a renderer can never ship silently into training data. Rendering and checking run in ``--workers``
processes; the output is identical for any worker count because problems are drawn first, in one process.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mathcoach.config import ConfigError, opt
from mathcoach.problems.checker import check
from mathcoach.problems.dataset import max_column_sum, to_row
from mathcoach.problems.generate import MAX_DIGITS, SPLITS, SpecError, iter_draw, make_problems, parse_cells
from mathcoach.problems.phrasings import PHRASINGS, phrasing_ids
from mathcoach.problems.problem import OPS, Problem
from mathcoach.problems.traces import FORMATS, FormatError, check_format, render_checked
from mathcoach.problems.word import STYLES
from mathcoach.problems.wordings import REFUSAL_KINDS, SURFACES, UNSEEN_KINDS, refusal_question

SOURCES = ("generated", "gsm8k", "word")


@dataclass
class DataConfig:
    output: str = opt(help="JSONL file to write (written whole or not at all)", short="o", metavar="PATH")
    op: str = opt("mul", help="operation", choices=OPS)
    digits: str = opt("1-4", help=f"operand digit cells: 1-4 (all 1x1..4x4), 4x4,5x3, or 3 (3x3); max {MAX_DIGITS}",
                      metavar="SPEC")
    per_cell: int = opt(500, help="problems per digit cell (same for every cell)", metavar="N")
    split: str = opt("train", help="which split to draw from; splits never share an operand pair", choices=SPLITS)
    format: str = opt("long", help="worked-solution format: " + "|".join(sorted({f for fs in FORMATS.values() for f in fs}))
                      + "; mul has them all, add/sub/div long|plain", metavar="FMT")
    seed: int = opt(0, help="random seed; same seed and settings give the same file byte for byte")
    phrasing: str | None = opt(None, help="use only these question phrasings (comma-separated), e.g. for a held-out "
                               "test: " + "; ".join(f"{op} {'|'.join(PHRASINGS[op])}" for op in OPS)
                               + "; mul also free (generated wordings), free:busy (the same with text around the "
                               "question most of the time, refusals too), free:wide (asides, wraps and random "
                               "capitals in products and refusals alike), free:wrap (the same without the asides) "
                               "and unseen (held-out wordings: unseen:KIND, "
                               + "|".join(UNSEEN_KINDS) + ")", metavar="NAME[,NAME]")
    hold_out_phrasing: str | None = opt(None, help="never use this phrasing (keep it for evaluation)", metavar="NAME")
    system: str | None = opt(None, help="system message added to every row, as TEXT or @FILE", metavar="TEXT|@FILE")
    verify: bool = opt(True, help="re-check every row's trace with the step checker before writing")
    workers: int = opt(1, help="processes for rendering and checking (up to the number of cores)", metavar="N")
    repeat_hard: int = opt(1, help="write each multiplication whose column sum reaches 100 this many times "
                           "(extra copies appended; pair with --shuffle-seed)", metavar="N")
    shuffle_seed: int | None = opt(None, help="shuffle the written rows with this seed (default: draw order)",
                                   metavar="N")
    source: str = opt("generated", help="generated: arithmetic drawn here | gsm8k: GSM8K solutions (--input) "
                      "rewritten in --style | word: synthetic word problems (--count) in --style", choices=SOURCES)
    input: str | None = opt(None, help="GSM8K JSONL (question/answer rows) for --source gsm8k", metavar="FILE")
    style: str = opt("cot", help="word-problem solution style: cot (The answer is N.) | calculator (<<expr=value>> "
                     "kept) | python (PAL def solution(), kept only if it runs to the gold answer)", choices=STYLES)
    count: int = opt(7473, help="synthetic word problems to write with --source word", metavar="N")
    refusals: int = opt(0, help="also write N questions that are not a product of two whole numbers, answered by "
                        "the refusal line (kinds " + "|".join(REFUSAL_KINDS) + "; held-out wordings when every "
                        "--phrasing is unseen)", metavar="N")
    refusal_digits: int = opt(4, help="longest number in a refusal, in digits (each number's length drawn from 1..N): "
                              "match the products' range, or the length of the numbers tells a refusal from a "
                              "product", metavar="N")
    refusal_min_digits: int = opt(1, help="shortest number in a refusal, in digits: give a stage's refusals its "
                                  "products' range (5 with --digits 5-8), so that no length of operands is more "
                                  "often refused than another", metavar="N")
    refusal_twins: float = opt(0.0, help="share (0-1) of the training grammar's add, sub, div and word refusals "
                               "written as a product question with its multiplication cue swapped for another "
                               "operation's word (or a built word problem); above 0, cue-less twins (kind no_cue) "
                               "join the kinds too. 0 keeps earlier files byte-identical", metavar="P")

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ConfigError("source", f"unknown source {self.source!r}; choose one of {', '.join(SOURCES)}")
        if self.style not in STYLES:
            raise ConfigError("style", f"unknown style {self.style!r}; choose one of {', '.join(STYLES)}")
        if self.source == "gsm8k" and not self.input:
            raise ConfigError("input", "--source gsm8k needs --input FILE (GSM8K's train.jsonl)")
        if self.source != "gsm8k" and self.input:
            raise ConfigError("input", "is read only with --source gsm8k")
        if self.count < 1:
            raise ConfigError("count", f"must be 1 or more, got {self.count}")
        if self.op not in OPS:
            raise ConfigError("op", f"unknown op {self.op!r}; choose one of {', '.join(OPS)}")
        try:
            check_format(self.op, self.format)
        except FormatError as e:
            raise ConfigError("format", str(e)) from None
        try:
            self.cells = parse_cells(self.digits)
        except SpecError as e:
            raise ConfigError("digits", str(e)) from None
        if self.per_cell < 0:
            raise ConfigError("per_cell", f"must be 0 or more, got {self.per_cell}")
        if self.split not in SPLITS:
            raise ConfigError("split", f"unknown split {self.split!r}; choose one of {', '.join(SPLITS)}")
        known = phrasing_ids(self.op, free=True)
        if self.phrasing:
            names = [p.strip() for p in self.phrasing.split(",") if p.strip()]
            self.phrasing_list = [x for p in names for x in ([f"unseen:{k}" for k in UNSEEN_KINDS] if p == "unseen"
                                                             else [p])]
            for value in self.phrasing_list:
                if value not in known:
                    raise ConfigError("phrasing", f"unknown phrasing {value!r} for {self.op}; choose one of "
                                      f"{', '.join(known)}, unseen")
        if self.hold_out_phrasing is not None and self.hold_out_phrasing not in known:
            raise ConfigError("hold_out_phrasing", f"unknown phrasing {self.hold_out_phrasing!r} for {self.op}; "
                              f"choose one of {', '.join(known)}")
        if self.phrasing and self.hold_out_phrasing in self.phrasing_list:
            raise ConfigError("phrasing", "is the phrasing you hold out; pick another or drop --hold-out-phrasing")
        if self.refusals < 0:
            raise ConfigError("refusals", f"must be 0 or more, got {self.refusals}")
        if not 0.0 <= self.refusal_twins <= 1.0:
            raise ConfigError("refusal_twins", f"must be 0 to 1, got {self.refusal_twins}")
        if not 1 <= self.refusal_digits <= 12:
            raise ConfigError("refusal_digits", f"must be 1 to 12, got {self.refusal_digits}")
        if not 1 <= self.refusal_min_digits <= self.refusal_digits:
            raise ConfigError("refusal_min_digits", f"must be 1 to --refusal-digits ({self.refusal_digits}), got "
                              f"{self.refusal_min_digits}")
        if self.refusals and (self.op != "mul" or self.source != "generated"):
            raise ConfigError("refusals", "needs --op mul and generated data (a multiplication specialist's refusals)")
        if self.repeat_hard < 1:
            raise ConfigError("repeat_hard", f"must be 1 or more, got {self.repeat_hard}")
        if self.repeat_hard > 1 and self.op != "mul":
            raise ConfigError("repeat_hard", f"needs --op mul (column sums are a multiplication measure), got {self.op}")
        if self.workers < 1:
            raise ConfigError("workers", f"must be 1 or more, got {self.workers}")

    def preflight(self) -> None:
        """What must exist when the stage starts: a --system @FILE is read here (``__post_init__`` reads no file)."""
        if self.input and not Path(self.input).is_file():
            raise ConfigError("input", f"file {self.input} does not exist")
        if self.system and self.system.startswith("@"):
            try:
                self.system = Path(self.system[1:]).read_text(encoding="utf-8").strip()
            except OSError as e:
                raise ConfigError("system", f"cannot read {self.system[1:]}: {e.strerror}") from None

    def phrasings(self) -> list[str]:
        if self.phrasing:
            return self.phrasing_list
        return [p for p in PHRASINGS[self.op] if p != self.hold_out_phrasing]


def refusal_rows(n: int, split: str, seed: int, grammar: str, system: str | None, digits: int = 4,
                 twins: float = 0.0, min_digits: int = 1) -> list[str]:
    """``n`` JSONL rows of questions that must be refused, kinds in turn; a question belongs to the split its
    text hashes to (as problems do by their operands), so train, val and test never share one. ``twins``: see
    ``refusal_question``."""
    import random

    from mathcoach.problems.answer import REFUSAL, REFUSE
    from mathcoach.problems.generate import split_of_text

    rng = random.Random(f"mathcoach:{seed}:{split}:refusals:{grammar}")
    training = grammar.startswith("train")  # the training grammar, plain or as free:busy/wide/wrap vary it
    kinds = REFUSAL_KINDS + (("no_cue",) if twins and training else ())
    lines, seen, tries = [], set(), 0
    while len(lines) < n and tries < 100 * n + 1000:
        tries += 1
        kind = kinds[tries % len(kinds)]
        q = refusal_question(grammar, kind, rng, digits, twins, min_digits)
        # the held-out grammar is disjoint by construction; the training grammar's questions are split by text
        if (training and split_of_text(q) != split) or q in seen:
            continue
        seen.add(q)
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": q}, {"role": "assistant", "content": REFUSAL}]
        meta = {"id": f"refuse-{split}-{seed}-{len(lines)}", "source": "refusal", "kind": kind, "answer": REFUSE,
                "split": split, "grammar": grammar, "seed": seed}
        lines.append(json.dumps({"messages": messages, "meta": meta}, ensure_ascii=False) + "\n")
    return lines


class VerificationError(RuntimeError):
    """A rendered trace failed the step checker: a bug in mathcoach, never the user's fault."""


def render_rows(problems: list[Problem], fmt: str, system: str | None, verify: bool,
                mark_hard: bool = False) -> tuple[list[str], list]:
    """JSONL lines for ``problems`` (each trace re-checked by the step checker when ``verify``), and the
    (cell, carries, hard) of each row for the summary and the mix (hard, only when ``mark_hard``: a column sum
    reaches 100)."""
    lines, stats = [], []
    for p in problems:
        text, steps, texts = render_checked(p, fmt)
        row = to_row(p, fmt, system, text)
        if verify:
            res = check(p, fmt, text, steps, texts)
            if not res.correct or res.error is not None:
                raise VerificationError(f"{p.id} ({fmt}) fails its own check at step {res.step}: {res.error}")
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        stats.append((p.cell, row["meta"]["carries"], mark_hard and max_column_sum(p.a, p.b) >= 100))
    return lines, stats


def _render_chunk(args: tuple) -> tuple[bytes, list]:
    """One encoded block per chunk: a single bytes object crosses the process boundary, not 2,000 strings."""
    op, split, seed, drafts, fmt, system, verify, mark_hard = args
    lines, stats = render_rows(make_problems(op, split, seed, drafts), fmt, system, verify, mark_hard)
    return "".join(lines).encode(), stats


def iter_chunks(cfg: DataConfig, reports: list, chunk: int = 2000) -> Iterator[tuple[bytes, list]]:
    """(encoded JSONL block, row stats) per chunk, in order. Drafts are drawn lazily in this process while the
    workers build, render and check the chunks before them; Problems themselves are made in the workers."""
    drafts = iter_draw(cfg.op, cfg.cells, cfg.per_cell, cfg.split, cfg.seed, reports, cfg.phrasings())
    jobs = ((cfg.op, cfg.split, cfg.seed, block, cfg.format, cfg.system, cfg.verify, cfg.repeat_hard > 1)
            for block in iter(lambda: list(itertools.islice(drafts, chunk)), []))
    if cfg.workers == 1:
        yield from map(_render_chunk, jobs)
        return
    import multiprocessing as mp

    with mp.get_context("fork").Pool(cfg.workers) as pool:
        yield from pool.imap(_render_chunk, jobs)  # imap keeps order: output is independent of worker count


def mix_rows(lines: list[bytes], hard: list[bool], repeat_hard: int, shuffle_seed: int | None) -> list[bytes]:
    """The rows, then ``repeat_hard - 1`` extra copies of the hard ones, shuffled when a seed is given.

    Why: after 30 minutes on 2x2, SmolLM2-135M's most common error was a column sum of 100 or more, which only
    ~5% of 2x2 problems have; one extra copy of those took held-out 2x2 from 91.9% to 95.1% (RESULTS.md)."""
    import random

    out = list(lines)
    for _ in range(repeat_hard - 1):
        out += [line for line, h in zip(lines, hard) if h]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(out)
    return out


def build_dataset(cfg: DataConfig, progress: bool = True) -> dict:
    """Write the dataset and return its summary (rows, per-cell counts, sha256)."""
    from mathcoach.io import atomic_writer

    cfg.preflight()
    sha = hashlib.sha256()
    bar = None
    expected_rows = cfg.per_cell * len(cfg.cells)
    if progress and expected_rows >= 20_000:
        from tqdm import tqdm

        bar = tqdm(total=expected_rows, unit="row", file=sys.stderr, disable=None)
    per_cell = defaultdict(list)
    reports: list = []
    rows = refused_rows = 0
    mixing = cfg.repeat_hard > 1 or cfg.shuffle_seed is not None
    held: list[bytes] = []  # only when mixing: repeats and a shuffle need every row before the first is written
    hard: list[bool] = []
    with atomic_writer(cfg.output, "wb") as f:
        for block, stats in iter_chunks(cfg, reports):
            rows += len(stats)
            if mixing:
                held += block.splitlines(keepends=True)  # one row per line: json.dumps escapes newlines
                hard += [h for _, _, h in stats]
            else:
                f.write(block)
                sha.update(block)
            for cell, n_carries, _ in stats:
                per_cell[cell].append(n_carries)
            if bar is not None:
                bar.update(len(stats))
        if cfg.refusals:
            grammar = "unseen" if cfg.phrasing and all(p.startswith("unseen:") for p in cfg.phrasing_list) else "train"
            # refusals wear the products' surface, or that surface tells them apart
            for variant in SURFACES:
                if grammar == "train" and cfg.phrasing and f"free:{variant}" in cfg.phrasing_list:
                    grammar = f"train:{variant}"
            extra = [line.encode() for line in refusal_rows(cfg.refusals, cfg.split, cfg.seed, grammar, cfg.system,
                                                               cfg.refusal_digits, cfg.refusal_twins,
                                                               cfg.refusal_min_digits)]
            refused_rows = len(extra)
            rows += refused_rows
            if mixing:
                held += extra
                hard += [False] * len(extra)
            else:
                block = b"".join(extra)
                f.write(block)
                sha.update(block)
        if mixing:
            mixed = mix_rows(held, hard, cfg.repeat_hard, cfg.shuffle_seed)
            rows = len(mixed)
            block = b"".join(mixed)
            f.write(block)
            sha.update(block)
    if bar is not None:
        bar.close()
    cells = [
        {"cell": r.cell, "rows": r.made, "requested": r.requested, "repeated": r.repeated,
         "mean_carries": round(statistics.fmean(per_cell[r.cell]), 2) if per_cell[r.cell] else 0.0,
         "note": r.note}
        for r in reports
    ]
    return {"output": str(cfg.output), "rows": rows, "sha256": sha.hexdigest(), "cells": cells,
            "op": cfg.op, "format": cfg.format, "split": cfg.split, "seed": cfg.seed, "verified": cfg.verify,
            "repeat_hard": cfg.repeat_hard, "shuffle_seed": cfg.shuffle_seed, "refusals": refused_rows,
            "refusal_digits": cfg.refusal_digits if refused_rows else None,
            "refusal_min_digits": cfg.refusal_min_digits if refused_rows else None,
            "refusal_twins": cfg.refusal_twins if refused_rows else None}


def summary_table(summary: dict) -> str:
    # carries: the nonzero carries the schoolbook method makes per problem (borrows for subtraction), a difficulty
    lines = ["| cell | rows | carries per problem (mean) | note |", "|---|---:|---:|---|"]
    lines += [f"| {c['cell']} | {c['rows']} | {c['mean_carries']:.2f} | {c['note']} |" for c in summary["cells"]]
    verified = "verified by the step checker" if summary["verified"] else "NOT verified"
    if summary.get("refusals"):
        lines.append(f"| refusals | {summary['refusals']} | | questions that must be refused |")
    extra = summary["rows"] - sum(c["rows"] for c in summary["cells"]) - summary.get("refusals", 0)
    if extra:
        lines.append(f"| hard copies | {extra} | | rows whose column sum reaches 100, written "
                     f"{summary['repeat_hard']} times in all |")
    lines.append(f"\n{summary['rows']} rows ({summary['op']}, {summary['format']}, {summary['split']}, "
                 f"seed {summary['seed']}, {verified}) -> {summary['output']}\nsha256 {summary['sha256']}")
    return "\n".join(lines)


__all__ = ["DataConfig", "build_dataset", "summary_table", "FORMATS"]
