"""Which field of a `fused`, `staged`, `carryout`, `carryout8`, `copy8`, `trimmed8`, `gathered8` or `rest8`-family trace a model gets wrong, each judged on the model's own inputs.

Usage: python benchmarks/fused_fields.py SAMPLES.jsonl [--by-line] [--places] [--adds]
SAMPLES is a training run's val_samples.jsonl (it holds the latest validation round) or a `mathcoach eval` run's
samples.jsonl. Fields, per line k and group i (traces.mul_fused):
    label   the line's digit d: the second number's digit at place k (a lookup by the question's mark)
    a       the first number's digit at place i; line 0 reads it by mark, later lines may copy it from above
    d       the line's digit written again in each group (a copy from the group before)
    t       a * d + r + c computed from the model's own a, d, r (its line above) and c (its group before),
            split into lines with d = 0 (an addition only) and d > 0 (a product and an addition)
`staged` and `carryout` groups (traces.mul_staged) also write p = a * d before t; there p is judged on the model's
own a and d, and t = p + r + c on the model's own p, r and c. `carryout8`'s short lines (traces.mul_carryout8) are
judged as "shift": each digit must be the next group's sum digit on the model's line above. "field" is the answer
field at the end of each line: the model's own first sum digit in front of its own field above. `copy8`'s operand
line is judged digit by digit ("copy a, digit"; the zero padding in front of a number apart). "answer, read off the
last line" judges the Answer line against the product the model's own last line implies: its groups' sum digits
past the first, top group first, then its field (for `trimmed8`, which stops after the long lines, the whole read;
for `carryout8` the upper digits are zeros by then), and digit by digit: its places 0-7 (copied from the field)
apart from places 8-15 (read off the groups). `gathered8`'s short lines (traces.mul_gathered8) are judged as
"gather, mark" (the mark of the line's group), "gather, digit" (that group's sum ones digit on the model's own last
long line: the read by mark) and "gather, field" (the model's own field above, the last long line's for the first,
copied behind that digit); its Answer line is then judged against its own last field. `rest8`'s labels
(traces.mul_rest8) are also judged as "label, rest of b copied": line 0's against the second number zero-padded,
line k's against the model's own label above moved one place right behind a 0. Rows that must be refused
(no operands) are left out.
The step checker names only a model's first error; this counts every field, so one slip does not hide the rest.
With --places (`gathered8` and the formats after it), per place of the product, ones = 1: how often the model's last
gathered field holds the product's digit, and how often its Answer line holds its own field's (a blank where the
field holds a leading 0 counts as equal): the seventeenth attempt's two unlearned reads were the top places'.
With --adds, the additions with d > 0 are split by kind: with or without a carry in from the group before, and with
the ones of p + r + c overflowing or not; a carry in with overflowing ones was the hardest kind in every attempt.
"""

from __future__ import annotations

import argparse
import collections
import json
import re

LINE = re.compile(r"(.)(\d+)=((?:\D\d{4})+|(?:\D\d{6})+) (\d+)(_*)")  # fused groups | staged/carryout groups
GROUP = re.compile(r"(\D)(\d)(\d)(\d\d)?(\d\d)")  # mark, a, d, [p,] t
SHORT = re.compile(r"(.)=((?:\D\d)+) (\d+)(_*)")  # carryout8's d = 0 lines: a mark and one sum digit per group
OPERANDS = re.compile(r"a=(\d+) b=(\d+)")  # copy8's operand line
GATHER = re.compile(r"(\D)=(\d)(\d*)(_*)")  # gathered8's short lines: a group's mark, its sum digit, the field


def operand_fields(c: collections.Counter, line: str, a_num: int, b_num: int) -> None:
    """copy8's first line: each copied digit of either number, and the zero padding in front of it, apart."""
    m = OPERANDS.fullmatch(line)
    for name, written, n in (("a", m.group(1), a_num), ("b", m.group(2), b_num)):
        want = str(n).zfill(len(written))
        for i, (w, x) in enumerate(zip(written, want)):
            where = f"copy {name}, padding" if i < len(want) - len(str(n)) else f"copy {name}, digit"
            c[where, "n"] += 1
            c[where, "ok"] += w == x


def fields(rows: list[dict], by_line: bool = False, adds: bool = False) -> collections.Counter:
    """Counts per field; ``by_line`` splits every field of the trace's lines by line k (``label, line 3``), since
    a lookup at a fixed distance is learned distance by distance: the mathcoach-mul fourth attempt read the
    second number's digit right on every line but lines 3 and 4 (benchmarks/RESULTS.md); ``adds`` splits the
    additions with d > 0 by kind (carry in or not, ones overflowing or not)."""
    total: collections.Counter = collections.Counter()
    for r in rows:
        c = total
        a_num, b_num = r["a"], r["b"]  # eval sample rows carry their problem (eval/score.py PROBLEM_FIELDS)
        if a_num is None:
            continue
        n_a = len(str(a_num))
        above: list[int] = []
        field = ""
        marks: list[str] = []  # the last long line's group marks, for gathered8's reads by mark
        gathered: str | None = None  # gathered8's field, once its short lines start
        n_gathered = 0  # gathered8's short lines so far: line i reads group i of the last long line
        rest_above = ""  # rest8's label on the line above
        lines = r["completion"].splitlines()
        if lines and OPERANDS.fullmatch(lines[0]):
            operand_fields(c, lines.pop(0), a_num, b_num)
        for k, line in enumerate(lines):
            c = _ByLine(total, k) if by_line else total
            m = LINE.fullmatch(line)
            short = None if m else SHORT.fullmatch(line)
            gather = None if m or short else GATHER.fullmatch(line)
            if gather and above:
                n_gathered += 1
                i = n_gathered
                c["gather, mark", "n"] += 1
                c["gather, mark", "ok"] += i < len(marks) and gather.group(1) == marks[i]
                c["gather, digit", "n"] += 1
                c["gather, digit", "ok"] += i < len(above) and int(gather.group(2)) == above[i]
                c["gather, field", "n"] += 1
                c["gather, field", "ok"] += gather.group(3) == (gathered or field)
                gathered = gather.group(2) + gather.group(3)
                continue
            if short and above:
                digits = [int(x) for x in re.findall(r"\D(\d)", short.group(2))]
                for i, t in enumerate(digits):
                    c["shift", "n"] += 1
                    c["shift", "ok"] += t == (above[i + 1] if i + 1 < len(above) else 0)
                c["field", "n"] += 1
                c["field", "ok"] += short.group(3) == f"{digits[0]}{field}" if digits else False
                field, above = short.group(3), [*digits, 0]
                continue
            if not m:
                answer = re.fullmatch(r"Answer:\s*(\d+)", line)
                if answer and above and field:  # the product the model's own last line implies, read off it
                    implied = int(gathered or "".join(map(str, reversed(above[1:]))) + field)
                    c["answer, read off the last line", "n"] += 1
                    c["answer, read off the last line", "ok"] += int(answer.group(1)) == implied
                    # digit by digit from the right: the places the field holds apart from the places the
                    # last line's group sums hold (trimmed8's upper read, a different distance for each place)
                    want, got = str(implied), answer.group(1).lstrip("0") or "0"
                    for j in range(max(len(want), len(got))):
                        where = "answer digit, places 0-7 (the field)" if j < 8 else "answer digit, places 8-15"
                        c[where, "n"] += 1
                        c[where, "ok"] += j < min(len(want), len(got)) and want[-1 - j] == got[-1 - j]
                break
            label, d = m.group(2), int(m.group(2)[-1])
            if len(label) > 1:  # rest8: the second number's rest, copied from the frame (line 0) or the line above
                want_rest = str(b_num).zfill(len(label)) if not k else "0" + rest_above[:-1]
                c["label, rest of b copied", "n"] += 1
                c["label, rest of b copied", "ok"] += label == want_rest
                rest_above = label
            c["label", "n"] += 1
            c["label", "ok"] += d == b_num // 10**k % 10
            groups = GROUP.findall(m.group(3))
            marks = [g[0] for g in groups]
            above = above or [0] * (len(groups) + 1)
            if len(groups) + 1 != len(above):  # a line with more or fewer groups than the one above: stop reading
                c["lines of the wrong length", "n"] += 1
                break
            carry, sums = 0, []
            for i, (_, a, dd, p, t) in enumerate(groups):
                a, dd, t = int(a), int(dd), int(t)
                where = "a later lines" if k else "a line 0, digit of the number" if i < n_a else "a line 0, padding"
                c[where, "n"] += 1
                c[where, "ok"] += a == a_num // 10**i % 10
                c["d", "n"] += 1
                c["d", "ok"] += dd == d
                product = a * dd
                if p:  # staged: the product is its own field, and the addition builds on what the model wrote
                    c["p = a * d", "n"] += 1
                    c["p = a * d", "ok"] += int(p) == product
                    product = int(p)
                want = product + above[i + 1] + carry
                kind = "t with d = 0" if dd == 0 else "t with d > 0"
                if adds and dd:
                    kind += (", carry in" if carry else ", no carry in") + (
                        ", ones overflow" if product % 10 + above[i + 1] + carry >= 10 else ", ones fit")
                c[kind, "n"] += 1
                c[kind, "ok"] += t == want
                c[kind, "tens wrong"] += t // 10 != want // 10
                c[kind, "ones wrong"] += t % 10 != want % 10
                carry = t // 10
                sums.append(t % 10)
            c["field", "n"] += 1
            c["field", "ok"] += bool(sums) and m.group(4) == f"{sums[0]}{field}"
            field, above = m.group(4), [*sums, carry]
    return total


def places(rows: list[dict], width: int = 16) -> collections.Counter:
    """Per place j (1 = ones): ("field", j) the last gather line's digit is the product's, ("answer", j) the Answer
    line's character is its own field's; ("rows", 0) the rows that have both lines."""
    c: collections.Counter = collections.Counter()
    for r in rows:
        if r.get("a") is None:
            continue
        gathers = [m for ln in r["completion"].splitlines() if (m := GATHER.fullmatch(ln)) and not LINE.fullmatch(ln)]
        answer = re.search(r"^Answer:(.*)$", r["completion"], re.M)
        if not gathers or not answer:
            continue
        field = (gathers[-1].group(2) + gathers[-1].group(3)).rjust(width, "0")[-width:]
        written = answer.group(1).strip().rjust(width)[-width:]
        gold = str(r["a"] * r["b"]).zfill(width)[-width:]
        c["rows", 0] += 1
        for j in range(1, width + 1):
            c["field", j] += field[-j] == gold[-j]
            c["answer", j] += written[-j] == field[-j] or (written[-j] == " " and field[-j] == "0")
    return c


class _ByLine:
    """A view of the counter that files every key under its line: ("t with d > 0", "n") -> ("t ..., line 3", "n")."""

    def __init__(self, counter: collections.Counter, k: int):
        self.counter, self.k = counter, k

    def __getitem__(self, key):
        return self.counter[f"{key[0]}, line {self.k}", key[1]]

    def __setitem__(self, key, value):
        self.counter[f"{key[0]}, line {self.k}", key[1]] = value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("samples")
    ap.add_argument("--by-line", action="store_true", help="every field of the trace's lines split by line k")
    ap.add_argument("--places", action="store_true", help="the last gathered field and the Answer line, by place")
    ap.add_argument("--adds", action="store_true", help="the additions with d > 0 split by kind (carry in, overflow)")
    args = ap.parse_args()
    rows = [json.loads(ln) for ln in open(args.samples, encoding="utf-8")]
    if args.places:
        c = places(rows)
        print(f"{c['rows', 0]} rows with a gather line and an Answer line")
        print("| place | field = product | Answer line = its field |\n|---:|---:|---:|")
        for j in range(16, 0, -1):
            print(f"| {j} | {c['field', j]} | {c['answer', j]} |")
        return
    if "train_step" in rows[0]:
        print(f"validation round at step {rows[0]['train_step']}")
    c = fields(rows, args.by_line, args.adds)
    print(f"{len(rows)} answers, {sum(bool(r['correct']) for r in rows)} right")
    print("| field | right | of | share | tens wrong | ones wrong |\n|---|---:|---:|---:|---:|---:|")
    for name in sorted({k for k, _ in c}, key=_order):
        n, ok = c[name, "n"], c[name, "ok"]
        extra = f"{c[name, 'tens wrong']} | {c[name, 'ones wrong']}" if name.startswith("t ") else "|"
        print(f"| {name} | {ok} | {n} | {ok / max(n, 1):.1%} | {extra} |")


def _order(name: str) -> tuple:
    field, _, line = name.partition(", line ")
    return (field, int(line) if line.isdigit() else -1, name)


if __name__ == "__main__":
    main()
