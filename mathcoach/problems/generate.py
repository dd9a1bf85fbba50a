"""Seeded, deterministic problem generation with leak-proof train/val/test splits.

Example: ``generate("mul", parse_cells("1-4"), per_cell=500, split="test", seed=0)``

Split membership is a keyed hash of the *canonical operand pair* (a*b and b*a share one), not of the seed,
so files made with different seeds or cell lists still never share a problem across splits. Each cell draws
from its own random stream, so adding a cell never changes the problems of another.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mathcoach.errors import UserError
from mathcoach.problems.phrasings import phrasing_ids, render_question
from mathcoach.problems.problem import OPS, Problem, canonical_pair

MAX_DIGITS = 16  # long traces grow with digits_a * digits_b lines; past 16x16 they stop being training data
SPLITS = ("train", "val", "test")
# Fixed forever for a given SPLIT_SCHEME: changing fractions would move problems between splits.
SPLIT_SCHEME = "blake2b-v1/train80-val10-test10"
_SPLIT_KEY = b"mathcoach-split-v1"
_ENUMERATE_BELOW = 200_000  # cells with fewer ordered pairs than this are enumerated, not sampled


class SpecError(UserError, ValueError):
    """A user-supplied specification (cells, counts) is invalid; the message says how to fix it."""


def parse_cells(spec: str) -> list[tuple[int, int]]:
    """``"1-3"`` -> every cell 1x1..3x3; ``"4x4,5x3"`` -> those cells; ``"4"`` -> 4x4. Tokens may be mixed."""
    cells: list[tuple[int, int]] = []
    tokens = [t.strip() for t in str(spec).split(",") if t.strip()]
    if not tokens:
        raise SpecError("empty digit spec; use e.g. 1-4 or 4x4,5x3")
    for tok in tokens:
        if m := re.fullmatch(r"(\d+)\s*-\s*(\d+)", tok):
            lo, hi = int(m[1]), int(m[2])
            if lo > hi:
                raise SpecError(f"digit range {tok!r} runs backwards; write {hi}-{lo}")
            new = [(x, y) for x in range(lo, hi + 1) for y in range(lo, hi + 1)]
        elif m := re.fullmatch(r"(\d+)\s*[xX*]\s*(\d+)", tok):
            new = [(int(m[1]), int(m[2]))]
        elif re.fullmatch(r"\d+", tok):
            new = [(int(tok), int(tok))]
        else:
            raise SpecError(f"cannot read digit spec {tok!r}; use e.g. 1-4 or 4x4,5x3")
        for x, y in new:
            if not (1 <= x <= MAX_DIGITS and 1 <= y <= MAX_DIGITS):
                raise SpecError(f"digit counts must be between 1 and {MAX_DIGITS}, got {x}x{y}")
            if (x, y) not in cells:
                cells.append((x, y))
    return cells


def split_of(op: str, a: int, b: int) -> str:
    """Which split a problem belongs to, forever (see SPLIT_SCHEME)."""
    return _split_of_key(op, *canonical_pair(op, a, b))


def _split_of_key(op: str, x: int, y: int) -> str:
    return _bucket(f"{op}:{x}:{y}")


def split_of_text(text: str) -> str:
    """The split of a question that is not an operand pair (a refusal), by its whitespace-folded lower-case text."""
    return _bucket("text:" + " ".join(text.lower().split()))


def _bucket(key: str) -> str:
    h = hashlib.blake2b(key.encode(), digest_size=8, key=_SPLIT_KEY).digest()
    u = int.from_bytes(h, "big") % 100
    return "test" if u < 10 else "val" if u < 20 else "train"


@dataclass
class CellReport:
    cell: str
    requested: int
    made: int
    repeated: int = 0  # rows that repeat an earlier problem because the cell's split ran out
    note: str = ""


Draft = tuple[int, int, str]  # (a, b, phrasing): what a Problem is made from, cheap to send to a worker


@dataclass
class Draw:
    op: str
    split: str
    seed: int
    drafts: list[Draft]
    cells: list[CellReport] = field(default_factory=list)


@dataclass
class Generation:
    problems: list[Problem]
    cells: list[CellReport] = field(default_factory=list)


@functools.lru_cache(maxsize=512)
def _split_pool(op: str, da: int, db: int, split: str) -> tuple[tuple[int, int], ...]:
    """Every problem of a small cell in ``split``, one ordering per canonical pair (a*b == b*a in a square cell)."""
    (alo, ahi), (blo, bhi) = _range(da), _range(db)
    pool = {}
    for a in range(alo, ahi + 1):
        for b in range(blo, bhi + 1):
            key = canonical_pair(op, a, b)
            if key not in pool and split_of(op, a, b) == split:
                pool[key] = (a, b)
    return tuple(pool.values())


def _range(d: int) -> tuple[int, int]:
    return (1 if d == 1 else 10 ** (d - 1)), 10**d - 1


def generate(*args, **kwargs) -> Generation:
    """Problems, not drafts: ``draw`` with the same arguments, each draft made into a ``Problem``."""
    d = draw(*args, **kwargs)
    return Generation(make_problems(d.op, d.split, d.seed, d.drafts), d.cells)


def make_problems(op: str, split: str, seed: int, drafts: list[Draft]) -> list[Problem]:
    return [
        Problem.make(op, a, b, question=render_question(op, ph, a, b), phrasing=ph, seed=seed, split=split)
        for a, b, ph in drafts
    ]


def draw(
    op: str,
    cells: list[tuple[int, int]],
    per_cell: int,
    split: str,
    seed: int,
    phrasings: list[str] | None = None,
    repeat_when_exhausted: bool | None = None,
) -> Draw:
    """All drafts at once (see ``iter_draw`` for the rules)."""
    reports: list[CellReport] = []
    drafts = list(iter_draw(op, cells, per_cell, split, seed, reports, phrasings, repeat_when_exhausted))
    return Draw(op, split, seed, drafts, reports)


def iter_draw(
    op: str,
    cells: list[tuple[int, int]],
    per_cell: int,
    split: str,
    seed: int,
    reports: list[CellReport],
    phrasings: list[str] | None = None,
    repeat_when_exhausted: bool | None = None,
) -> Iterator[Draft]:
    """Yield ``per_cell`` operand pairs and phrasings for every cell, unique within the output; a
    ``CellReport`` is appended to ``reports`` as each cell finishes. Lazy, so rendering can start at once.

    Within a square cell a*b and b*a count as one problem; 3*12 (1x2) and 12*3 (2x1) are different cells and
    both appear -- they always share a split, which is what keeps splits disjoint.

    Small cells (1x1 has 45 distinct products) can run out of problems in a split. Training data then
    repeats problems (``repeat_when_exhausted``, default for train); val and test stop short instead, since a
    repeated test problem would inflate n, and the shortfall is reported per cell.
    """
    if op not in OPS:
        raise SpecError(f"unknown op {op!r}; choose one of {', '.join(OPS)}")
    if split not in SPLITS:
        raise SpecError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if per_cell < 0:
        raise SpecError(f"per-cell count must be 0 or more, got {per_cell}")
    allowed = phrasings if phrasings is not None else phrasing_ids(op)
    if not allowed:
        raise SpecError("no phrasing left to use; do not hold out the only phrasing you ask for")
    repeat = (split == "train") if repeat_when_exhausted is None else repeat_when_exhausted
    commutes = op in ("mul", "add")
    for da, db in cells:
        rng = random.Random(f"mathcoach:{seed}:{split}:{op}:{da}x{db}")
        prng = random.Random(f"mathcoach:{seed}:{split}:{op}:{da}x{db}:phrasing")
        (alo, ahi), (blo, bhi) = _range(da), _range(db)
        pool_size = (ahi - alo + 1) * (bhi - blo + 1)
        made = repeated = 0
        n_ph = len(allowed)
        if pool_size < _ENUMERATE_BELOW:
            uniq = list(_split_pool(op, da, db, split))
            rng.shuffle(uniq)
            pairs = uniq[:per_cell]
            while repeat and uniq and len(pairs) < per_cell:
                take = uniq[: per_cell - len(pairs)]
                pairs += take
                repeated += len(take)
            made = len(pairs)
            for a, b in pairs:
                yield a, b, allowed[prng.randrange(n_ph)]
        else:
            seen: set[tuple[int, int]] = set()
            tries, limit, randint = 0, 50 * per_cell + 10_000, rng.randint
            while made < per_cell and tries < limit:  # the limit only bites absurd requests on mid-size cells
                tries += 1
                a, b = randint(alo, ahi), randint(blo, bhi)
                key = (b, a) if commutes and b < a else (a, b)
                if key in seen or _split_of_key(op, *key) != split:
                    continue
                seen.add(key)
                made += 1
                yield a, b, allowed[prng.randrange(n_ph)]
        note = ""
        if made < per_cell:
            note = f"only {made} distinct {split} problems exist in this cell"
        elif repeated:
            note = f"{repeated} repeats: the cell has only {made - repeated} distinct {split} problems"
        reports.append(CellReport(f"{da}x{db}", per_cell, made, repeated, note))
