"""Train/test contamination check: exact questions, shared operand pairs, and word n-gram overlap.

Example: ``mathcoach overlap train.jsonl test.jsonl ../shared/data/gsm8k/test.jsonl``

n = 13 follows lm-evaluation-harness's decontamination and n = 30 Llemma's; both are defaults. Questions
are lower-cased and stripped of punctuation before comparison, so "What is 37*82?" and "what is 37 * 82"
are one question. An item counts once per kind of hit, however many training rows it meets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mathcoach.problems.dataset import Item
from mathcoach.problems.problem import canonical_pair

DEFAULT_NS = (13, 30)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize_question(q: str) -> str:
    return " ".join(_NON_WORD.sub(" ", q.lower()).split())


def ngrams(words: list[str], n: int) -> set[str]:
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass
class OverlapReport:
    path: str
    items: int
    exact: int = 0
    same_pair: int = 0
    ngram: dict[int, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)  # a few contaminated questions, for the reader
    hit_ids: list[str] = field(default_factory=list)  # every contaminated item, to score hit and clean items apart

    @property
    def hits(self) -> int:
        return self.exact + self.same_pair + sum(self.ngram.values())


class TrainIndex:
    def __init__(self, items: list[Item], ns: tuple[int, ...] = DEFAULT_NS):
        self.ns = ns
        self.questions = set()
        self.pairs = set()
        self.grams: dict[int, set[str]] = {n: set() for n in ns}
        for it in items:
            norm = normalize_question(it.question)
            self.questions.add(norm)
            if it.problem is not None:
                p = it.problem
                self.pairs.add((p.op, *canonical_pair(p.op, p.a, p.b)))
            words = norm.split()
            for n in ns:
                self.grams[n] |= ngrams(words, n)

    def report(self, path: str, items: list[Item], max_examples: int = 3) -> OverlapReport:
        rep = OverlapReport(path, len(items), ngram={n: 0 for n in self.ns})
        for it in items:
            norm = normalize_question(it.question)
            hit = False
            if norm in self.questions:
                rep.exact += 1
                hit = True
            if it.problem is not None:
                p = it.problem
                if (p.op, *canonical_pair(p.op, p.a, p.b)) in self.pairs:
                    rep.same_pair += 1
                    hit = True
            words = norm.split()
            for n in self.ns:
                if not ngrams(words, n).isdisjoint(self.grams[n]):
                    rep.ngram[n] += 1
                    hit = True
            if hit:
                rep.hit_ids.append(it.id)
            if hit and len(rep.examples) < max_examples:
                rep.examples.append(it.question[:120])
        return rep


def check_overlap(train: str, tests: list[str], ns: tuple[int, ...] = DEFAULT_NS) -> list[OverlapReport]:
    """One report per test file against the training file (data; ``overlap_markdown`` renders it)."""
    from mathcoach.problems.dataset import read_items

    index = TrainIndex(read_items(train), ns)
    return [index.report(path, read_items(path)) for path in tests]


def overlap_markdown(train: str, reports: list[OverlapReport], ns: tuple[int, ...]) -> str:
    header = " | ".join(f"{n}-gram" for n in ns)
    lines = [f"train: {train}", f"| test file | items | exact question | same operands | {header} |",
             "|---|---:|---:|---:|" + "---:|" * len(ns)]
    examples = []
    for rep in reports:
        grams = " | ".join(str(rep.ngram[n]) for n in ns)
        lines.append(f"| {rep.path} | {rep.items} | {rep.exact} | {rep.same_pair} | {grams} |")
        examples += [f"  {rep.path}: {q}" for q in rep.examples]
    if examples:
        lines.append("examples of contaminated items:\n" + "\n".join(examples))
    contaminated = any(rep.hits for rep in reports)
    lines.append("CONTAMINATED: test items overlap the training file" if contaminated else "clean: no overlap found")
    return "\n".join(lines)
