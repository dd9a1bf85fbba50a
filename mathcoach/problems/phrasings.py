"""Question templates, several per operation, so models are taught (and tested on) more than one wording.

Example: ``render_question("mul", "product_of", 37, 82)`` -> "Compute the product of 37 and 82."
One phrasing can be held out of training (``--hold-out-phrasing``) and used alone at evaluation
(``--phrasing``) to test whether a gain survives a wording the model never saw. Multiplication also has the
generated wordings of wordings.py: ``free`` (the training grammar) and ``unseen:KIND`` (held out).
"""

from __future__ import annotations

from mathcoach.problems.wordings import is_wording, render_wording, wording_ids

PHRASINGS: dict[str, dict[str, str]] = {
    "mul": {
        "what_is": "What is {a} * {b}?",
        "multiply": "Multiply {a} by {b}.",
        "x_equals": "{a} x {b} = ?",
        "product_of": "Compute the product of {a} and {b}.",
        "calculate": "Calculate {a} times {b}.",
        "how_much": "How much is {a} multiplied by {b}?",
    },
    "add": {
        "what_is": "What is {a} + {b}?",
        "add": "Add {a} and {b}.",
        "plus_equals": "{a} + {b} = ?",
        "sum_of": "Compute the sum of {a} and {b}.",
        "calculate": "Calculate {a} plus {b}.",
    },
    "sub": {
        "what_is": "What is {a} - {b}?",
        "subtract": "Subtract {b} from {a}.",
        "minus_equals": "{a} - {b} = ?",
        "difference": "Compute the difference {a} minus {b}.",
        "calculate": "Calculate {a} minus {b}.",
    },
    "div": {
        "what_is": "What is {a} divided by {b}? Give the quotient and the remainder.",
        "divide": "Divide {a} by {b}, with remainder.",
        "slash_equals": "{a} / {b} = ? (quotient and remainder)",
        "long_division": "Use long division to compute {a} / {b}; state the quotient and remainder.",
    },
}


def phrasing_ids(op: str, free: bool = False) -> list[str]:
    """The fixed templates; with ``free``, multiplication's generated wordings too (wordings.py)."""
    return list(PHRASINGS[op]) + (wording_ids() if free and op == "mul" else [])


def render_question(op: str, phrasing: str, a: int, b: int) -> str:
    if op == "mul" and is_wording(phrasing):
        return render_wording(phrasing, a, b)
    return PHRASINGS[op][phrasing].format(a=a, b=b)
