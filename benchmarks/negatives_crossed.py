"""Which decides mathcoach-mul's refusal of a negative number: the sign's side or the wording around it.

Usage:
    python benchmarks/negatives_crossed.py write OUT.jsonl [--per-cell 25] [--seed 37]
    python benchmarks/negatives_crossed.py score OUT.jsonl EVAL_DIR

Why: in the held-out refusal set each negative wording carries the sign on one side only (`Tell me -a × b`,
`Work out b multiplied by -a`), and the twelfth attempt answered every first one and refused every second one
(benchmarks/RESULTS.md, 2026-12-06), so side and wording could not be told apart. Here every held-out negative
wording is written with the sign on the first number, on the second, and on both, with either minus character:
a 2 x 3 x 2 grid of cells, ``--per-cell`` questions each. `write` makes the file (refusal rows, as `mathcoach data
--refusals` writes them, with the cell in ``meta``); `score` reads a `mathcoach eval` run's samples.jsonl on it and
prints the refusal rate per wording and per side.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from mathcoach.problems.answer import REFUSAL, REFUSE
from mathcoach.problems.wordings import _R

SIDES = ("first", "second", "both")


def _swap(frame: str) -> str:
    """The frame with its two operands' places exchanged: `{b} ... {y}` -> `{y} ... {b}`."""
    return frame.replace("{y}", "\0").replace("{b}", "{y}").replace("\0", "{b}")


def _num(rng: random.Random) -> int:
    d = rng.randint(1, 8)  # as `--refusal-digits 8`
    return rng.randint(10 ** (d - 1) if d > 1 else 1, 10**d - 1)


def write(out: Path, per_cell: int, seed: int) -> int:
    rng = random.Random(f"negatives-crossed:{seed}")
    rows = []
    for frame in _R["negative"][1]:  # the held-out negative wordings
        first = frame if frame.index("{y}") < frame.index("{b}") else _swap(frame)  # sign on the first number
        for side in SIDES:
            for minus in ("-", "−"):
                for _ in range(per_cell):
                    a, b = _num(rng), _num(rng)
                    sa = minus if side in ("first", "both") else ""
                    sb = minus if side in ("second", "both") else ""
                    q = first.replace("{y}", f"{sa}{a}").replace("{b}", f"{sb}{b}")
                    meta = {"id": f"neg-x-{seed}-{len(rows)}", "source": "refusal", "kind": "negative",
                            "answer": REFUSE, "split": "val", "grammar": "unseen", "seed": seed,
                            "wording": " ".join(frame.split()[:2]) + " ...", "side": side, "minus": minus}
                    rows.append({"messages": [{"role": "user", "content": q},
                                              {"role": "assistant", "content": REFUSAL}], "meta": meta})
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def score(data: Path, eval_dir: Path) -> dict:
    meta = {}
    for line in data.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        meta[row["meta"]["id"]] = row
    n, refused = Counter(), Counter()
    for line in (eval_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        s = json.loads(line)
        m = meta[s["id"]]["meta"]
        cell = (m["wording"], m["side"])
        for key in (cell, ("all", m["side"]), (cell[0], "all"), (f"minus {m['minus']}", "all")):
            n[key] += 1
            refused[key] += bool(s.get("refused"))
    return {f"{w} | {side}": [refused[(w, side)], n[(w, side)]] for w, side in sorted(n)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("out", type=Path)
    w.add_argument("--per-cell", type=int, default=25)
    w.add_argument("--seed", type=int, default=37)
    s = sub.add_parser("score")
    s.add_argument("data", type=Path)
    s.add_argument("eval_dir", type=Path)
    a = p.parse_args(argv)
    if a.cmd == "write":
        print(f"{write(a.out, a.per_cell, a.seed)} rows -> {a.out}")
        return 0
    for cell, (r, t) in score(a.data, a.eval_dir).items():
        print(f"{cell:32s} {r:4d}/{t:<4d} {100 * r / t:5.1f}% refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
