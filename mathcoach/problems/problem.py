"""The ``Problem`` record every other module passes around.

Example: ``Problem.make("mul", 37, 82, question="What is 37 * 82?", phrasing="what_is", seed=0)``
"""

from __future__ import annotations

from dataclasses import dataclass, fields

OPS = ("mul", "add", "sub", "div")
SYMBOL = {"mul": "*", "add": "+", "sub": "-", "div": "/"}


def gold_answer(op: str, a: int, b: int) -> str:
    """The exact answer as the canonical string the answer checker compares against.

    Division is *with remainder*, so its gold is "q R r" (see answer.py for how both halves are read).
    """
    if op == "mul":
        return str(a * b)
    if op == "add":
        return str(a + b)
    if op == "sub":
        return str(a - b)
    if op == "div":
        q, r = divmod(a, b)
        return f"{q} R {r}"
    raise ValueError(f"unknown op {op!r}; choose one of {', '.join(OPS)}")


def canonical_pair(op: str, a: int, b: int) -> tuple[int, int]:
    """The key that decides split membership: a*b and b*a (a+b and b+a) are one problem.

    Subtraction and division are not commutative, so their order is kept.
    """
    if op in ("mul", "add") and b < a:
        return b, a
    return a, b


@dataclass(frozen=True)
class Problem:
    id: str
    op: str
    a: int
    b: int
    answer: str
    digits_a: int
    digits_b: int
    question: str
    phrasing: str
    seed: int
    split: str = ""

    @classmethod
    def make(cls, op: str, a: int, b: int, *, question: str, phrasing: str, seed: int, split: str = "") -> Problem:
        return cls(
            id=f"{op}-{a}-{b}",
            op=op,
            a=a,
            b=b,
            answer=gold_answer(op, a, b),
            digits_a=len(str(a)),
            digits_b=len(str(b)),
            question=question,
            phrasing=phrasing,
            seed=seed,
            split=split,
        )

    @property
    def cell(self) -> str:
        return f"{self.digits_a}x{self.digits_b}"

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in _FIELDS}  # not asdict(): its deep copy dominated data generation

    @classmethod
    def from_dict(cls, d: dict) -> Problem:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in fields})


_FIELDS = tuple(f.name for f in fields(Problem))
