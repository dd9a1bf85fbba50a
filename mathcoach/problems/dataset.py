"""Dataset rows: generated problems become chat rows; generated, GSM8K and SVAMP files are read back alike.

Example: ``to_row(problem, "long")`` -> {"messages": [{"role": "user", ...}, {"role": "assistant", ...}],
"meta": {...}} -- the shape TRL's SFTTrainer and the OpenAI fine-tuning API take as they are, with the
problem's metadata under its own key so it never reaches the model.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from mathcoach.errors import DataError
from mathcoach.problems.answer import ANSWER_VERSION, REFUSE, normalize_number
from mathcoach.problems.problem import OPS, Problem
from mathcoach.problems.traces import format_of, render

ROW_VERSION = "2"  # 2: meta carries format_version


def column_carries(terms: list[int]) -> int:
    """Columns that produce a nonzero carry when ``terms`` are added by hand."""
    carries, carry, k = 0, 0, 0
    width = max(len(str(t)) for t in terms)
    while k < width or carry:
        s = carry + sum(t // 10**k % 10 for t in terms)
        carry = s // 10
        carries += carry > 0
        k += 1
    return carries


@functools.lru_cache(maxsize=1 << 17)  # a 4-digit operand meets each digit ~100 times in a million rows
def _digit_carries(a: int, d: int) -> int:
    """Nonzero carries when ``a`` is multiplied by the single digit ``d`` by hand."""
    n = carry = 0
    while a:
        carry = (a % 10 * d + carry) // 10
        n += carry > 0
        a //= 10
    return n


def max_column_sum(a: int, b: int) -> int:
    """The largest column total of schoolbook multiplication: every digit-pair product whose places add up to
    the column, plus the carry into it. At 100 or more the column itself carries two digits (48 + 64 + 6 in
    68 * 88), the one sum SmolLM2-135M still got wrong most often after its 30-minute recipe (RESULTS.md)."""
    da, db = [int(c) for c in reversed(str(a))], [int(c) for c in reversed(str(b))]
    best = carry = 0
    for k in range(len(da) + len(db) - 1):
        total = carry + sum(da[i] * db[k - i] for i in range(len(da)) if 0 <= k - i < len(db))
        best, carry = max(best, total), total // 10
    return best


def carries(p: Problem) -> int:
    """How many carries (borrows for subtraction) the schoolbook method needs: a difficulty measure."""
    if p.op == "add":
        return column_carries([p.a, p.b])
    if p.op == "sub":
        top, bottom = max(p.a, p.b), min(p.a, p.b)
        borrows, borrow = 0, 0
        for k in range(len(str(top))):
            borrow = 1 if top // 10**k % 10 - borrow < bottom // 10**k % 10 else 0
            borrows += borrow
        return borrows
    if p.op == "mul":
        digits_b = [int(ch) for ch in reversed(str(p.b))]
        partials = [p.a * d * 10**k for k, d in enumerate(digits_b)]
        return sum(_digit_carries(p.a, d) for d in digits_b) + column_carries(partials)
    return 0  # division has no carries; its difficulty is the number of quotient digits


def to_row(p: Problem, fmt: str, system: str | None = None, solution: str | None = None) -> dict:
    """The chat row for ``p``; ``solution`` is the rendered trace when the caller already has it."""
    messages = [{"role": "system", "content": system}] if system else []
    solution = render(p, fmt) if solution is None else solution
    messages += [{"role": "user", "content": p.question}, {"role": "assistant", "content": solution}]
    meta = p.to_dict() | {"format": fmt, "format_version": format_of(p.op, fmt).version, "carries": carries(p),
                          "row_version": ROW_VERSION, "answer_version": ANSWER_VERSION}
    return {"messages": messages, "meta": meta}


@dataclass(frozen=True)
class Item:
    """One evaluation or overlap item, whatever file it came from."""

    id: str
    question: str
    answer: str | None  # canonical gold answer (answer.normalize_number), None if the file has none
    problem: Problem | None  # set for generated arithmetic rows
    source: str  # "mathcoach", "gsm8k", "svamp", "question", "refusal"
    format: str | None = None  # the trace format a generated row was written in
    tag: str | None = None  # what a report groups a non-generated row by (a refusal's kind)


def item_from_row(row: dict, n: int, path: str = "") -> Item:
    """Read any supported row shape; raises ValueError naming the row when the shape is unknown."""
    meta = row.get("meta")
    if isinstance(meta, dict) and "op" in meta:
        try:
            p = Problem.from_dict(meta)
        except TypeError as e:  # a generated row whose meta lost a field
            raise DataError(f"{os.fspath(path)}: row {n}: meta is not a mathcoach problem ({e})") from None
        if p.op not in OPS:
            raise DataError(f"{os.fspath(path)}: row {n}: unknown op {p.op!r}; choose one of {', '.join(OPS)}")
        return Item(p.id, p.question, p.answer, p, "mathcoach", meta.get("format"))
    if "Body" in row and "Question" in row:  # SVAMP
        q = f"{row['Body'].strip()} {row['Question'].strip()}"
        return Item(str(row.get("ID", n)), q, normalize_number(row.get("Answer")), None, "svamp")
    if "question" in row:
        gold = row.get("answer")
        if isinstance(gold, str) and "####" in gold:  # GSM8K: worked solution ending in "#### N"
            return Item(f"gsm8k-{n}", row["question"], normalize_number(gold.rsplit("####", 1)[1]), None, "gsm8k")
        return Item(str(row.get("id", n)), row["question"], normalize_number(gold), None, "question")
    if isinstance(row.get("messages"), list):
        user = [m.get("content", "") for m in row["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        if user and isinstance(meta, dict) and meta.get("answer") == REFUSE:  # a question that must be refused
            return Item(str(meta.get("id", n)), user[0], REFUSE, None, "refusal", tag=meta.get("kind"))
        if user:  # a word-problem row (tools/worddata.py) carries its gold in meta.answer
            gold = normalize_number(meta.get("answer")) if isinstance(meta, dict) else None
            source = str(meta.get("source", "question")) if isinstance(meta, dict) and gold is not None else "question"
            ident = str(meta.get("id", n)) if isinstance(meta, dict) and gold is not None else str(n)
            return Item(ident, user[0], gold, None, source)
    where = f"{os.fspath(path)}: " if path else ""
    raise DataError(f"{where}row {n}: unknown row shape; expected mathcoach rows, GSM8K (question/answer) "
                     "or SVAMP (Body/Question/Answer)")


def read_items(path: str) -> list[Item]:
    from mathcoach.io import read_jsonl

    return [item_from_row(r, n, path) for n, r in enumerate(read_jsonl(path), 1)]
