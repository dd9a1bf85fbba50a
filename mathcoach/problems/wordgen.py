"""Synthetic word problems with annotated solutions, in the spirit of TinyGSM and GSM-symbolic: templates over
names, objects, quantities and operations, every number drawn so each step is a whole number.

Example: ``generate_word_problems(3, seed=0)`` -> three ``WordProblem(id, template, question, solution, answer)``;
``solution`` is written as GSM8K writes it (``... = <<3*4=12>>12 ...\\n#### 12``), so ``problems/word.py``
renders it in every style and the Python style is verified by running it, like GSM8K's own rows.

Each template has several wordings (question order, verbs, the question asked first or last), so a model
trained on them sees one computation in more than one phrasing. ``mathcoach overlap`` checks a generated file
against GSM8K test and SVAMP test before it is trained on (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

GENERATOR_VERSION = "1"

NAMES = ["Aisha", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jonas", "Keiko", "Lars",
         "Mele", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tove", "Uma", "Viktor", "Wren", "Yusuf", "Zoe"]
OBJECTS = ["stickers", "marbles", "pencils", "apples", "cards", "shells", "stamps", "beads", "cookies", "bolts",
           "tickets", "coins", "plums", "buttons", "books", "eggs", "candles", "tiles", "seeds", "ribbons"]
CONTAINERS = ["boxes", "bags", "jars", "crates", "packs", "baskets", "trays", "cartons"]
PLACES = ["the market", "the fair", "the shop", "school", "the library", "the bakery"]


@dataclass(frozen=True)
class WordProblem:
    id: str
    template: str
    question: str
    solution: str  # GSM8K style: annotated lines, then "#### N"
    answer: str


def _step(expr: str, value: int, sentence: str) -> str:
    """One solution line as GSM8K writes it: "{sentence with EXPR}" -> "... 3*4 = <<3*4=12>>12 ..."."""
    return sentence.replace("EXPR", f"{expr} = <<{expr}={value}>>{value}")


def _buy_packs(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    have, packs, per = r.randint(2, 60), r.randint(2, 9), r.randint(3, 24)
    got = packs * per
    total = have + got
    cont = r.choice(CONTAINERS)
    q = [f"{name} has {have} {obj}. {name} buys {packs} {cont} of {obj} with {per} {obj} in each. How many {obj} "
         f"does {name} have now?",
         f"How many {obj} will {name} have after buying {packs} {cont} of {per} {obj} each, if {name} already has "
         f"{have} {obj}?",
         f"There are {per} {obj} in every one of the {packs} {cont} {name} brought home from {r.choice(PLACES)}. "
         f"{name} already owned {have} {obj}. What is the total number of {obj} {name} owns?"]
    s = [_step(f"{packs}*{per}", got, f"The {cont} hold EXPR {obj}."),
         _step(f"{have}+{got}", total, f"{name} has EXPR {obj} now.")]
    return q, s, total


def _wage(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    rate, hours, spent = r.randint(6, 30), r.randint(3, 12), 0
    earned = rate * hours
    spent = r.randint(1, earned - 1)
    left = earned - spent
    q = [f"{name} earns ${rate} an hour and works {hours} hours. Then {name} spends ${spent} on {obj}. How much "
         "money does " + name + " have left?",
         f"After working {hours} hours at ${rate} per hour, {name} paid ${spent} for some {obj}. How many dollars "
         f"are left?",
         f"How much money is left if {name} is paid {rate} dollars per hour for {hours} hours and spends {spent} "
         f"dollars of it?"]
    s = [_step(f"{rate}*{hours}", earned, f"{name} earns EXPR dollars."),
         _step(f"{earned}-{spent}", left, f"{name} has EXPR dollars left.")]
    return q, s, left


def _share(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    friends, each, extra = r.randint(2, 9), r.randint(2, 15), r.randint(1, 30)
    total = friends * each + extra
    shared = total - extra
    q = [f"{name} has {total} {obj}, keeps {extra} and shares the rest equally among {friends} friends. How many "
         f"{obj} does each friend get?",
         f"{friends} friends split {name}'s {obj} equally after {name} keeps {extra} of the {total}. How many does "
         "each friend receive?",
         f"How many {obj} does each of {friends} friends get when {name} gives away all but {extra} of {total} "
         f"{obj}, shared equally?"]
    s = [_step(f"{total}-{extra}", shared, f"{name} shares EXPR {obj}."),
         _step(f"{shared}/{friends}", each, f"Each friend gets EXPR {obj}.")]
    return q, s, each


def _discount(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    pct = r.choice([10, 20, 25, 50])
    price = r.randint(2, 40) * (100 // {10: 10, 20: 20, 25: 25, 50: 50}[pct])
    off = price * pct // 100
    pay = price - off
    q = [f"A set of {obj} costs ${price}. {name} gets a {pct}% discount. How much does {name} pay?",
         f"{name} buys {obj} marked ${price} at {pct}% off. What is the price {name} pays?",
         f"How many dollars does {name} pay for {obj} priced at {price} dollars if the shop takes {pct} percent "
         "off?"]
    s = [_step(f"{price}*{pct}/100", off, "The discount is EXPR dollars."),
         _step(f"{price}-{off}", pay, f"{name} pays EXPR dollars.")]
    return q, s, pay


def _weeks(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    per_day, days, weeks = r.randint(2, 25), r.randint(2, 7), r.randint(2, 8)
    week = per_day * days
    total = week * weeks
    q = [f"{name} makes {per_day} {obj} a day, {days} days a week. How many {obj} does {name} make in {weeks} "
         "weeks?",
         f"In {weeks} weeks, how many {obj} does {name} make at {per_day} {obj} per day for {days} days each week?",
         f"Every week {name} works {days} days and makes {per_day} {obj} on each of them. What is the total after "
         f"{weeks} weeks?"]
    s = [_step(f"{per_day}*{days}", week, f"{name} makes EXPR {obj} a week."),
         _step(f"{week}*{weeks}", total, f"In {weeks} weeks that is EXPR {obj}.")]
    return q, s, total


def _ages(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    other = r.choice([n for n in NAMES if n != name])
    age, diff, later = r.randint(4, 40), r.randint(2, 30), r.randint(2, 15)
    older = age + diff
    total = older + later
    q = [f"{name} is {age} years old. {other} is {diff} years older than {name}. How old will {other} be in "
         f"{later} years?",
         f"{other} is {diff} years older than {name}, who is {age}. What age will {other} be {later} years from "
         "now?",
         f"How old will {other} be in {later} years if {name} is {age} and {other} is {diff} years older?"]
    s = [_step(f"{age}+{diff}", older, f"{other} is EXPR years old."),
         _step(f"{older}+{later}", total, f"In {later} years {other} will be EXPR.")]
    return q, s, total


def _shopping(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    obj2 = r.choice([o for o in OBJECTS if o != obj])
    n1, p1, n2, p2 = r.randint(2, 9), r.randint(1, 12), r.randint(2, 9), r.randint(1, 12)
    c1, c2 = n1 * p1, n2 * p2
    cost = c1 + c2
    bill = next(b for b in (20, 50, 100, 200, 500) if b > cost)
    change = bill - cost
    q = [f"{name} buys {n1} {obj} at ${p1} each and {n2} {obj2} at ${p2} each, and pays with a ${bill} bill. How "
         "much change does " + name + " get?",
         f"How much change is left from ${bill} after {name} buys {n1} {obj} for ${p1} each and {n2} {obj2} for "
         f"${p2} each?",
         f"At {r.choice(PLACES)}, {obj} cost ${p1} and {obj2} cost ${p2}. {name} takes {n1} {obj} and {n2} {obj2} "
         f"and hands over ${bill}. What is the change?"]
    s = [_step(f"{n1}*{p1}", c1, f"The {obj} cost EXPR dollars."),
         _step(f"{n2}*{p2}", c2, f"The {obj2} cost EXPR dollars."),
         _step(f"{c1}+{c2}", cost, "Together they cost EXPR dollars."),
         _step(f"{bill}-{cost}", change, "The change is EXPR dollars.")]
    return q, s, change


def _fraction(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    denom = r.choice([2, 3, 4, 5])
    word = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth"}[denom]
    total = denom * r.randint(3, 30)
    given = total // denom
    left = total - given
    more = r.randint(1, 40)
    final = left + more
    q = [f"{name} had {total} {obj} and gave away {word} of them. Then {name} found {more} more. How many {obj} "
         f"does {name} have?",
         f"{name} gives {word} of {total} {obj} to a neighbour and later gets {more} more. How many {obj} does "
         f"{name} end up with?",
         f"How many {obj} does {name} have after giving away {word} of {total} {obj} and then collecting {more}?"]
    s = [_step(f"{total}/{denom}", given, f"{name} gave away EXPR {obj}."),
         _step(f"{total}-{given}", left, f"{name} kept EXPR {obj}."),
         _step(f"{left}+{more}", final, f"{name} has EXPR {obj} now.")]
    return q, s, final


def _rows(r: random.Random, name: str, obj: str) -> tuple[list[str], list[str], int]:
    rows, per, broken = r.randint(3, 20), r.randint(3, 20), r.randint(1, 9)
    total = rows * per
    good = total - broken
    q = [f"{name} sets out {rows} rows of {obj} with {per} in each row. {broken} of them are broken. How many "
         "are not broken?",
         f"There are {rows} rows of {per} {obj}, and {broken} are broken. How many good {obj} are there?",
         f"How many unbroken {obj} does {name} have if {name} arranged {rows} rows of {per} and {broken} broke?"]
    s = [_step(f"{rows}*{per}", total, f"There are EXPR {obj}."),
         _step(f"{total}-{broken}", good, "EXPR are not broken.")]
    return q, s, good


TEMPLATES: dict[str, Callable] = {
    "buy_packs": _buy_packs, "wage": _wage, "share": _share, "discount": _discount, "weeks": _weeks,
    "ages": _ages, "shopping": _shopping, "fraction": _fraction, "rows": _rows,
}


def generate_word_problems(n: int, seed: int = 0, templates: tuple[str, ...] | None = None) -> list[WordProblem]:
    """``n`` problems, the templates taken in turn, every draw from one seeded generator: same seed, same file."""
    names = list(templates or TEMPLATES)
    unknown = [t for t in names if t not in TEMPLATES]
    if unknown:
        raise ValueError(f"unknown template {unknown[0]!r}; choose from {', '.join(TEMPLATES)}")
    r = random.Random(f"wordgen:{GENERATOR_VERSION}:{seed}")
    out = []
    for i in range(n):
        t = names[i % len(names)]
        name, obj = r.choice(NAMES), r.choice(OBJECTS)
        questions, steps, answer = TEMPLATES[t](r, name, obj)
        question = r.choice(questions)
        solution = "\n".join(steps) + f"\n#### {answer}"
        pid = hashlib.sha256(f"{t}:{question}".encode()).hexdigest()[:12]
        out.append(WordProblem(f"word-{pid}", t, question, solution, str(answer)))
    return out
