"""The one answer checker: strict and flexible extraction, kept apart, and exact comparison with gold.

Example: ``extract("... so the total is **3,034**.\\nAnswer: 3,034.")`` -> Extraction(strict="3034", flexible="3034")

* strict: an anchored answer statement (``Answer: N``, ``The answer is N``, ``\\boxed{N}``, ``#### N``,
  ``Final answer: N``); the last one in the text wins.
* flexible: the last number anywhere in the text.
Both return ``None`` when nothing is found -- never a default number (unlike parsers that turn "no answer"
into 0 and so score it right whenever the gold is 0). Division answers are "q R r" pairs.
* a refusal: a reply whose last line starts ``Refused:`` (``REFUSAL``, what a specialist writes for a question it
  cannot answer) is no answer, whatever numbers stand before it, and is right only where the gold is
  ``REFUSE`` (a question that must be refused).
ANSWER_VERSION is written into every result so scores from different checker versions are never mixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

ANSWER_VERSION = "1"
REFUSAL = "Refused: I only multiply two whole numbers."
REFUSE = "refuse"  # the gold of a question that must be refused

# A number: optional sign, digits possibly grouped by , or a (thin/no-break) space in threes, optional decimals.
_NUM = r"[-−–]?(?:\d{1,3}(?:[,\u00a0\u202f\u2009 ]\d{3})+|\d+)(?:\.\d+)?"
_PAIR = rf"(?P<q>{_NUM})\s*(?:R|r|rem(?:ainder)?\.?|remainder of|with remainder)\s*:?\s*(?P<r>{_NUM})"
_ANCHORS = (
    r"\\boxed\{\s*(?:\\text\{[^}]*\}\s*)?",
    r"\b(?:final\s+)?answer\s*[*_]*\s*(?:is\s*)?[:=]\s*[*_]*\s*\$?\s*",
    r"the\s+(?:final\s+)?answer\s+is\s*[:=]?\s*[*_]*\s*\$?\s*",
    r"####\s*\$?\s*",
)
_STRICT_NUM = re.compile("(?:" + "|".join(_ANCHORS) + rf")(?P<n>{_NUM})", re.IGNORECASE)
_STRICT_PAIR = re.compile("(?:" + "|".join(_ANCHORS) + rf")[*_]*{_PAIR}", re.IGNORECASE)
_ANY_NUM = re.compile(rf"(?<![\w.]){_NUM}")
_ANY_PAIR = re.compile(_PAIR)


@dataclass(frozen=True)
class Extraction:
    strict: str | None
    flexible: str | None
    refused: bool = False


def is_refusal(text: str | None) -> bool:
    lines = [ln for ln in str(text or "").splitlines() if ln.strip()]
    return bool(lines) and lines[-1].lstrip().lower().startswith("refused:")


def normalize_number(s: str | float | int | None) -> str | None:
    """'3,034.' -> '3034'; '-12.50' -> '-12.5'; '5.0' -> '5'; junk -> None."""
    if s is None:
        return None
    if isinstance(s, str) and s.isascii() and s.isdigit():  # the common case, 10x cheaper than Decimal
        return s.lstrip("0") or "0"
    t = str(s).strip().rstrip(".")
    t = re.sub(r"[\s,\u00a0\u202f\u2009*_$]", "", t).replace("−", "-").replace("–", "-")
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    if d == 0:
        return "0"  # also folds "-0" and "0.00"
    if d == d.to_integral_value():
        return format(d.to_integral_value(), "f")  # not int(): Python caps int() of huge digit strings
    return format(d.normalize(), "f")


def _pair(m: re.Match) -> str | None:
    q, r = normalize_number(m["q"]), normalize_number(m["r"])
    return f"{q} R {r}" if q is not None and r is not None else None


def is_pair(gold: str) -> bool:
    return " R " in gold


_CUES = ("nswer", "NSWER", "boxed", "####")


def extract(text: str | None, pair: bool = False) -> Extraction:
    """Strict and flexible answers from ``text``; ``pair=True`` reads quotient-remainder answers."""
    if not text:
        return Extraction(None, None)
    if is_refusal(text):
        return Extraction(None, None, refused=True)
    lines = str(text).splitlines() or [""]
    strict_re, loose_re = (_STRICT_PAIR, _ANY_PAIR) if pair else (_STRICT_NUM, _ANY_NUM)
    strict = loose = None
    # Work line by line from the end (numbers never span lines): one regex pass over a whole long trace per
    # pattern costs more than the rest of the checker put together.
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i]
        if strict is None and any(c in ln for c in _CUES):
            window = ln if i + 1 == len(lines) else ln + "\n" + lines[i + 1]  # "Answer:\n42" is still strict
            strict = _last(strict_re, window)
        if loose is None and any(c.isdigit() for c in ln):
            loose = _last(loose_re, ln)
        if strict is not None and loose is not None:
            break
    if pair:
        return Extraction(strict and _pair(strict), loose and _pair(loose))
    return Extraction(strict and normalize_number(strict["n"]), loose and normalize_number(loose.group(0)))


def _last(pattern: re.Pattern, text: str) -> re.Match | None:
    m = None
    for m in pattern.finditer(text):  # noqa: B007 -- only the last match counts
        pass
    return m


def matches(pred: str | None, gold: str) -> bool:
    """Exact numeric equality; a missing prediction is never right, and a number is never right for ``REFUSE``
    (``judge`` scores refusals)."""
    if pred is None or gold == REFUSE:
        return False
    if is_pair(gold):
        return pred == gold
    g, p = normalize_number(gold), normalize_number(pred)
    return g is not None and p is not None and Decimal(g) == Decimal(p)


def judge(e: Extraction, gold: str | None, strict: bool = True) -> bool:
    """Is extraction ``e`` right for ``gold``: a refusal for ``REFUSE``, else the number (strict or flexible)."""
    if gold == REFUSE:
        return e.refused
    return matches(e.strict if strict else e.flexible, gold)
