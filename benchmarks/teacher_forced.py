"""What a model predicts for each token of a gold trace when it is fed the gold prefix (teacher forcing).

Usage: python benchmarks/teacher_forced.py MODEL_DIR ROWS.jsonl [--n 8] [--chars 40] [--seed 0] [--gathers]
       [--sources MARKS] [--answer] [--render FORMAT]
Prints, for N random multiplication rows, the question, the first CHARS characters of the gold answer and the
model's argmax prediction under each of them. With --gathers (`gathered8`, `rest8`), every row instead, and for each
gather line (`β=` ... `ι=`) how often its gathered digit is predicted right on the gold prefix: the fourteenth
mathcoach-mul attempt's `η=` read was 42 of 300 on 8x8 this way, as in generation (benchmarks/RESULTS.md, 2026-12-07).
With --sources MARKS (e.g. `ηθ`), per cell, which digit each of those gather lines copies: the gold prefix is fed
with the read's own source changed (the last long line's group of that mark, its sum ones digit plus 3) and, apart,
with the sum digit above it changed (the next group's on the long line before, equal to the source wherever the last
line's digit d is 0); a read that follows the first is the trace's read, one that follows the second a shortcut.
The fourteenth attempt's `η=` followed the second in every cell where the two agree, and was at chance where they
do not (7x8, 8x8), while its `θ=` followed the first everywhere (RESULTS.md 2026-12-07, fifteenth attempt).
With --answer, every row, how often each character of the Answer line is predicted right on the gold prefix, by its
place (the line above holds the same digits, so each is a copy): the seventeenth attempt (`rest9`) got its 15th digit
right in 36% of 8x8 rows this way (RESULTS.md 2026-12-07). --render FORMAT first rewrites each row's gold trace in
FORMAT (the held-out files keep one format; a model trained on another is probed on its own).
A field right here and wrong in generation (fused_fields.py) is read from the model's own earlier mistake; a field
wrong here is not learned. The third mathcoach-mul attempt was read
this way: its operand line wrong, every lookup after it right (benchmarks/RESULTS.md, 2026-12-02).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("rows")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--chars", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gathers", action="store_true", help="score each gather line's digit over every row")
    ap.add_argument("--sources", help="gather marks whose read to probe by changing its source digits, e.g. ηθ")
    ap.add_argument("--answer", action="store_true", help="score each place of the Answer line over every row")
    ap.add_argument("--render", metavar="FORMAT", help="rewrite each row's gold trace in this format first")
    ns = ap.parse_args(argv)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ns.model)
    model = AutoModelForCausalLM.from_pretrained(ns.model).eval()
    rows = [r for r in map(json.loads, Path(ns.rows).read_text().splitlines()) if r.get("meta", {}).get("op") == "mul"]
    if ns.render:
        rows = rerender(rows, ns.render)
    if ns.answer:
        return answer(tok, model, rows)
    if ns.gathers:
        return gathers(tok, model, rows)
    if ns.sources:
        return sources(tok, model, rows, ns.sources)
    for row in random.Random(ns.seed).sample(rows, min(ns.n, len(rows))):
        gold, pred = predict(tok, model, row, row["messages"][1]["content"][: ns.chars])
        print(repr(row["messages"][0]["content"]))
        print("  gold", repr(tok.decode(gold)))
        print("  pred", repr("".join(tok.convert_ids_to_tokens(pred))))
    return 0


def predict(tok, model, row: dict, text: str) -> tuple[list[int], list[int]]:
    """The gold ``text``'s token ids after the row's question, and the model's argmax for each under its gold prefix."""
    import torch

    from mathcoach.models.hf import render_prompt

    prompt = tok(render_prompt(tok, [row["messages"][0]]), add_special_tokens=False)["input_ids"]
    gold = tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([prompt + gold])).logits[0]
    return gold, logits[len(prompt) - 1: len(prompt) + len(gold) - 1].argmax(-1).tolist()


def gathers(tok, model, rows) -> int:
    right, seen = {}, {}
    for row in rows:
        text = row["messages"][1]["content"]
        gold, pred = predict(tok, model, row, text)
        if len(gold) != len(text):  # the trace is one token a character; a row that is not cannot be indexed
            continue
        for mark in "βγδεζηθι":
            at = text.find("\n" + mark + "=")
            if at < 0:
                continue
            i = at + 3  # the gathered digit, right after "\nη="
            seen[mark] = seen.get(mark, 0) + 1
            right[mark] = right.get(mark, 0) + (tok.convert_ids_to_tokens([pred[i]])[0] == text[i])
    for mark in seen:
        print(f"{mark}=  {right[mark]}/{seen[mark]}  {100 * right[mark] / seen[mark]:.1f}%")
    return 0


def rerender(rows: list[dict], fmt: str) -> list[dict]:
    """``rows`` written again in ``fmt`` from the problem each one's meta holds (the question is the problem's)."""
    from mathcoach.problems.dataset import to_row
    from mathcoach.problems.problem import Problem

    return [to_row(Problem.from_dict(row["meta"]), fmt) for row in rows]


def answer(tok, model, rows) -> int:
    right: dict[int, int] = {}
    n = 0
    for row in rows:
        text = row["messages"][1]["content"]
        gold, pred = predict(tok, model, row, text)
        at = text.rfind("\nAnswer: ") + len("\nAnswer: ")
        if len(gold) != len(text) or at < len("\nAnswer: "):
            continue
        n += 1
        width = len(text) - at
        for j in range(width):  # j = 0 is the line's first character, the highest place
            right[width - j] = right.get(width - j, 0) + (tok.convert_ids_to_tokens([pred[at + j]])[0] == text[at + j])
    print(f"{n} rows; the Answer line's characters right on the gold prefix, by digit (1 = ones)")
    for d in sorted(right, reverse=True):
        print(f"digit {d:2d}  {right[d]}/{n}  {100 * right[d] / max(n, 1):.1f}%")
    return 0


def _group_ones(text: str, line: int, mark: str) -> int:
    """Index in ``text`` of the sum ones digit of group ``mark`` on long line ``line`` (a group is the mark and 6
    digits: a, d, a * d, t; the line opens with its label and "=", so the search starts past them)."""
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[:line]) + lines[line].index(mark, 10) + 6


def sources(tok, model, rows, marks: str) -> int:
    from mathcoach.problems.traces.marked import GREEK_LOWER

    counts: dict[tuple, dict[str, int]] = {}
    for row in rows:
        meta, text = row["meta"], row["messages"][1]["content"]
        cell = f"{meta['digits_a']}x{meta['digits_b']}"
        gold, gold_pred = predict(tok, model, row, text)  # one forward for the gold feed, shared by every mark
        if len(gold) != len(text):  # the trace is one token a character; a row that is not cannot be indexed
            continue
        for mark in marks:
            at = text.find("\n" + mark + "=") + 3
            if at < 3:
                continue
            own = _group_ones(text, 7, mark)
            above = _group_ones(text, 6, GREEK_LOWER[GREEK_LOWER.index(mark) + 1]) if mark != "ι" else None
            for kind, pos in (("gold", None), ("own changed", own), ("above changed", above)):
                if kind != "gold" and pos is None:
                    continue
                fed = text if pos is None else text[:pos] + str((int(text[pos]) + 3) % 10) + text[pos + 1:]
                pred = gold_pred if pos is None else predict(tok, model, row, fed)[1]
                got = tok.convert_ids_to_tokens([pred[at]])[0]
                c = counts.setdefault((cell, mark, kind), {"n": 0, "gold": 0, "own": 0, "above": 0})
                c["n"] += 1
                c["gold"] += got == text[at]
                c["own"] += got == fed[own]
                c["above"] += above is not None and got == fed[above]
    print("| cell | gather | fed | n | = gold digit | = its own source | = sum digit above |")
    print("|---|---|---|---:|---:|---:|---:|")
    for (cell, mark, kind), c in sorted(counts.items()):
        print(f"| {cell} | {mark}= | {kind} | {c['n']} | {c['gold']} | {c['own']} | {c['above']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
