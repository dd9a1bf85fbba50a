"""Word-problem solutions in three styles, derived mechanically from GSM8K's calculator annotations.

Example: ``styles(question, "She has 3 * 4 = <<3*4=12>>12 eggs.\\n#### 12")`` ->
``{"cot": "She has 3 * 4 = 12 eggs.\\nThe answer is 12.", "calculator": "She has 3 * 4 = <<3*4=12>>12 eggs.\\n"
"The answer is 12.", "python": "```python\\ndef solution():\\n    # She has 3 * 4 eggs.\\n    v1 = 3 * 4\\n..."}``

* ``cot``: annotations removed, the ``#### N`` line replaced by "The answer is N." (what lm-eval's ``gsm8k_cot``
  reads).
* ``calculator``: the annotations kept, so a model trained on it writes ``<<expr=`` and the calculator loop fills
  in the value (tools/calculator_loop.py).
* ``python``: PAL's ``def solution()``; every annotation ``<<a*b=c>>`` becomes one line ``vK = a * b``, where a
  number equal to an earlier line's value is that line's variable, so the program carries its own data flow;
  each line is commented with its sentence, its arithmetic taken out. The program returns the last
  variable whose value is the gold answer. Running it is the caller's check (``tools/pal.run_programs``): this
  module builds text and never executes anything.

Word problems from ``problems/wordgen.py`` are written as annotated solutions too, so every source gets the same
three styles from the same code.
"""

from __future__ import annotations

import re
from fractions import Fraction

STYLES = ("cot", "calculator", "python")
STYLE_VERSION = "1"

_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
_FINAL = re.compile(r"\n?####\s*(.+?)\s*$")
_NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?|\.\d+)")
# "3 * 4 = <<3*4=12>>12" or "$3 x 4 = $<<3*4=12>>12.50": the arithmetic of a sentence, dropped from the
# program's comments, which say what a line computes while the code computes it (no mental arithmetic in them)
_COMPUTED = re.compile(r"[\d\s.,+\-*/()$x×÷%]*=\s*\$?<<[^<>]*>>\$?[\d.,]*")


class StyleError(ValueError):
    """A solution this style cannot be built from (no annotations, no step giving the gold answer...)."""


def split_solution(solution: str) -> tuple[str, str]:
    """(worked lines, final answer text) of a GSM8K solution ``...\\n#### 18``."""
    m = _FINAL.search(solution)
    if m is None:
        raise StyleError("no '#### N' final line")
    return solution[: m.start()].rstrip(), m.group(1).replace(",", "").strip()


def annotations(text: str) -> list[tuple[str, str]]:
    """Every ``<<expr=value>>`` of the text, in order."""
    return [(e.strip(), v.strip()) for e, v in _ANNOTATION.findall(text)]


def cot(solution: str) -> str:
    body, final = split_solution(solution)
    return f"{_ANNOTATION.sub('', body)}\nThe answer is {final}."


def calculator(solution: str) -> str:
    body, final = split_solution(solution)
    return f"{body}\nThe answer is {final}."


def _fraction(text: str) -> Fraction | None:
    try:
        return Fraction(text.replace(",", "").replace("$", "").strip())
    except (ValueError, ZeroDivisionError):
        return None


def _pythonize(expr: str, known: list[tuple[str, Fraction]]) -> str:
    """One annotation's expression as Python: ``x`` for multiplication, no ``$`` or thousands commas, and a number
    equal to an earlier value replaced by the newest variable holding it."""
    text = expr.replace("$", "").replace("x", "*").replace("×", "*").replace("÷", "/")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)

    def swap(m: re.Match) -> str:
        value = _fraction(m.group(0))
        for name, v in reversed(known):
            if value is not None and v == value:
                return name
        return m.group(0)

    return _NUMBER.sub(swap, text).strip()


def program(solution: str, gold: str) -> str:
    """PAL's ``def solution()`` from the annotations; ``StyleError`` when no line's value is the gold answer."""
    body, _ = split_solution(solution)
    gold_value = _fraction(gold)
    lines = ["def solution():"]
    known: list[tuple[str, Fraction]] = []
    for sentence in body.splitlines():
        steps = annotations(sentence)
        if not steps:
            continue
        comment = re.sub(r"\s+", " ", _COMPUTED.sub(" ", sentence)).strip()
        if comment:
            lines.append(f"    # {comment}")
        for expr, value in steps:
            v = _fraction(value)
            if v is None:
                raise StyleError(f"annotation value {value!r} is not a number")
            name = f"v{len(known) + 1}"
            lines.append(f"    {name} = {_pythonize(expr, known)}")
            known.append((name, v))
    if not known:
        raise StyleError("no calculator annotations")
    result = next((n for n, v in reversed(known) if v == gold_value), None)
    if result is None:
        raise StyleError("no annotated step gives the gold answer")
    lines.append(f"    return {result}")
    return "```python\n" + "\n".join(lines) + "\n```"


def render(solution: str, style: str, gold: str) -> str:
    if style == "cot":
        return cot(solution)
    if style == "calculator":
        return calculator(solution)
    if style == "python":
        return program(solution, gold)
    raise StyleError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
