"""Worked solutions ("traces") for every operation, as structured steps that render to text.

Example: ``render(Problem.make("mul", 37, 82, ...), "long")`` ->
    Break into place values:
    37 = 30 + 7
    ...
    3020 + 14 = 3034
    Answer: 3034

A trace is a list of ``Step``s. Each step is a text template plus the numbers that fill it and, per number,
its *role*: ``copy`` (taken from the problem or an earlier step), or the kind of computation that produced
it. The step checker (checker.py) compares a model's numbers with these, so one definition serves both the
training targets and the exact diagnosis of a model's first wrong step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

from mathcoach.problems.problem import Problem

# Roles a number can have; each maps to the error type reported when the number is wrong (checker.py).
COPY, SPLIT, PRODUCT, ADDITION, QUOTIENT = "copy", "split", "product", "addition", "quotient"


class Step(NamedTuple):  # a NamedTuple, not a dataclass: building a million traces a minute needs cheap steps
    template: str
    nums: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()

    def text(self) -> str:
        return self.template.format(*self.nums)


def _s(template: str, *pairs: tuple[int, str]) -> Step:
    nums, roles = zip(*pairs)
    return Step(template, nums, roles)


_PRODUCT_ROLES = (COPY, COPY, PRODUCT)
_SUM_ROLES = (COPY, COPY, ADDITION)


@functools.lru_cache(maxsize=1 << 16)  # operands and digit pairs recur constantly in a large dataset
def place_parts(n: int) -> tuple[int, ...]:
    """37 -> [30, 7]; 307 -> [300, 7]: the nonzero digits with their place values, highest first."""
    s = str(n)
    parts = tuple(int(d) * 10 ** (len(s) - i - 1) for i, d in enumerate(s) if d != "0")
    return parts or (0,)


@functools.lru_cache(maxsize=1 << 16)
def _split_step(n: int) -> Step:
    parts = place_parts(n)
    return _s("{} = " + " + ".join(["{}"] * len(parts)), (n, COPY), *[(p, SPLIT) for p in parts])


def _sum_steps(terms: list[int], template: str = "{} + {} = {}") -> list[Step]:
    steps, total = [], terms[0]
    for t in terms[1:]:
        steps.append(Step(template, (total, t, total + t), _SUM_ROLES))
        total += t
    return steps


# ---------------------------------------------------------------- multiplication


@functools.lru_cache(maxsize=1 << 16)
def _product_step(x: int, y: int) -> Step:
    return Step("{} * {} = {}", (x, y, x * y), _PRODUCT_ROLES)


def mul_long(p: Problem) -> list[Step]:
    pa, pb = place_parts(p.a), place_parts(p.b)
    splits = [_split_step(n) for n in (p.a, p.b) if len(place_parts(n)) > 1]
    steps = [Step("Break into place values:"), *splits] if splits else []
    steps.append(Step("Multiply every digit pair:"))
    products = []
    for x in pa:
        for y in pb:
            steps.append(_product_step(x, y))
            products.append(x * y)
    if len(products) > 1:
        steps.append(Step("Add the partial products:"))
        steps += _sum_steps(products)
    return steps


def mul_goat(p: Problem) -> list[Step]:
    """Goat's distributive chain: decompose the operand with fewer digits (the second one on ties)."""
    big, small = (p.b, p.a) if len(str(p.a)) < len(str(p.b)) else (p.a, p.b)
    parts = place_parts(small)
    chain = [_s("{} * {}", (p.a, COPY), (p.b, COPY))]
    if len(parts) == 1:
        chain.append(_s("{}", (big * small, PRODUCT)))
        return chain
    chain.append(_s("{} * (" + " + ".join(["{}"] * len(parts)) + ")", (big, COPY), *[(q, SPLIT) for q in parts]))
    chain.append(_s(" + ".join(["{} * {}"] * len(parts)), *[x for q in parts for x in ((big, COPY), (q, COPY))]))
    terms = [big * q for q in parts]
    chain.append(_s(" + ".join(["{}"] * len(terms)), *[(t, PRODUCT) for t in terms]))
    while len(terms) > 1:
        terms = [terms[0] + terms[1], *terms[2:]]
        chain.append(_s(" + ".join(["{}"] * len(terms)), (terms[0], ADDITION), *[(t, COPY) for t in terms[1:]]))
    return chain


def mul_distributive(p: Problem) -> list[Step]:
    """Goat's chain taken down to single-digit products: distribute over the shorter operand's place values,
    then over the longer one's, so every product is one digit pair with its zeros; then add within each group
    and across groups, two terms per step.

        16 * 88 = 16 * 80 + 16 * 8 = 10 * 80 + 6 * 80 + 10 * 8 + 6 * 8 = 800 + 480 + 80 + 48 = 1280 + 128 = 1408

    Why: fine-tuned on `goat`, SmolLM2-135M's remaining errors are n-digit x 1-digit products (79 * 2 = 161);
    here no step is harder than a times-table fact or a two-term addition (benchmarks/RESULTS.md)."""
    big, small = (p.b, p.a) if len(str(p.a)) < len(str(p.b)) else (p.a, p.b)
    bp, sp = place_parts(big), place_parts(small)
    chain = [_s("{} * {}", (p.a, COPY), (p.b, COPY))]
    if len(sp) > 1:
        chain.append(_s(" + ".join(["{} * {}"] * len(sp)), *[x for q in sp for x in ((big, COPY), (q, SPLIT))]))
    if len(bp) > 1:
        chain.append(_s(" + ".join(["{} * {}"] * (len(bp) * len(sp))),
                        *[x for q in sp for d in bp for x in ((d, SPLIT), (q, COPY))]))
    groups = [[d * q for d in bp] for q in sp]
    chain.append(_s(" + ".join(["{}"] * (len(bp) * len(sp))), *[(t, PRODUCT) for g in groups for t in g]))
    while len(groups) > 1 or len(groups[0]) > 1:
        if any(len(g) > 1 for g in groups):  # within every group at once, then across groups
            pairs = [[(g[0] + g[1], ADDITION), *[(t, COPY) for t in g[2:]]] if len(g) > 1 else [(g[0], COPY)]
                     for g in groups]
        else:
            pairs = [[(groups[0][0] + groups[1][0], ADDITION)], *[[(g[0], COPY)] for g in groups[2:]]]
        groups = [[t for t, _ in g] for g in pairs]
        flat = [x for g in pairs for x in g]
        chain.append(_s(" + ".join(["{}"] * len(flat)), *flat))
    return chain


def mul_columns(p: Problem) -> list[Step]:
    """Column multiplication, ones first: one line per place of the product, holding every digit pair whose
    places add up to it, the carry from the line before, the sum, the product's digits written so far and the
    carry out. The last line writes the whole remaining sum, so its digits are the answer.

        ones: 6 * 8 = 48, digits 8, carry 4
        tens: 1 * 8 + 6 * 8 + 4 = 8 + 48 + 4 = 40 + 16 + 4 = 56 + 4 = 50 + 10 = 60, digits 08, carry 6
        hundreds: 1 * 8 + 6 = 8 + 6 = 14, digits 1408

    Why: fine-tuned on `distributive`, SmolLM2-135M's remaining errors were carries into the hundreds when
    adding partial products of four digits (1280 + 128). Here every carry is a number already written and the
    answer is a copy of the last line's digits. Each two-term sum with a multi-digit term is first split into
    its tens and its ones (56 + 4 = 50 + 10): without that split, every error left after 30 minutes was a ones'
    carry dropped from such a sum (78 + 2 = 70). With it, 30 minutes reach 91.9% on every held-out 2x2 problem, and
    no single error type is left (benchmarks/RESULTS.md)."""
    da, db = str(p.a)[::-1], str(p.b)[::-1]
    last = len(da) + len(db) - 2
    steps, carry, written = [], 0, ""
    for k in range(last + 1):
        pairs = [(int(da[i]), int(db[k - i])) for i in range(min(k, len(da) - 1), -1, -1) if k - i < len(db)]
        carry_in = [(carry, COPY)] if k else []  # the ones column has none
        terms = [x * y for x, y in pairs] + [c for c, _ in carry_in]
        nums = [n for x, y in pairs for n in ((x, COPY), (y, COPY))] + carry_in
        parts = [" + ".join(["{} * {}"] * len(pairs) + ["{}"] * len(carry_in))]
        if len(terms) > 1:  # the products, then two-term additions until one sum is left
            parts.append(" + ".join(["{}"] * len(terms)))
            nums += [(t, PRODUCT) for t in terms[:len(pairs)]] + carry_in
            while len(terms) > 1:
                x, y, rest = terms[0], terms[1], terms[2:]
                if max(x, y) >= 10:  # tens and ones added apart first: the ones' carry becomes a written number
                    parts.append(" + ".join(["{}"] * (2 + len(rest))))
                    nums += [((x // 10 + y // 10) * 10, ADDITION), (x % 10 + y % 10, ADDITION)]
                    nums += [(t, COPY) for t in rest]
                terms = [x + y, *rest]
                parts.append(" + ".join(["{}"] * len(terms)))
                nums += [(terms[0], ADDITION), *[(t, COPY) for t in terms[1:]]]
        else:
            parts.append("{}")
            nums.append((terms[0], PRODUCT))
        total = terms[0]
        if k < last:
            written = str(total % 10) + written
            carry = total // 10
            tail = ", digits {}, carry {}"
            nums += [(Digits(written), ADDITION), (carry, ADDITION)]
        else:
            written = str(total) + written
            tail = ", digits {}"
            nums.append((Digits(written), ADDITION))
        steps.append(_s(PLACES[k] + ": " + " = ".join(parts) + tail, *nums))
    return steps


def mul_scratchpad(p: Problem) -> list[Step]:
    """One partial product per digit of the multiplier (ones first, zeros included) with a running sum."""
    digits = str(p.b)[::-1]
    steps, total = [], 0
    for k, d in enumerate(digits):
        q = int(d) * 10**k
        prod = p.a * q
        if k == 0:
            steps.append(_s("{} * {} = {}, sum {}", (p.a, COPY), (q, SPLIT), (prod, PRODUCT), (prod, COPY)))
        else:
            steps.append(
                _s(
                    "{} * {} = {}, sum {} + {} = {}",
                    (p.a, COPY), (q, SPLIT), (prod, PRODUCT), (total, COPY), (prod, COPY), (total + prod, ADDITION),
                )
            )
        total += prod
    return steps


class Digits(int):
    """Digits written as they stand, leading zeros kept ("08"); the int value is what a checker reads back."""

    def __new__(cls, digits: str):
        obj = super().__new__(cls, int(digits))
        obj.digits = digits
        return obj

    def __format__(self, spec: str) -> str:
        return self.digits


def rev(n: int, width: int = 0) -> Digits:
    """A number written ones digit first, zero-padded to ``width`` first: ``rev(1408)`` renders as "8041",
    ``rev(1408, 6)`` as "804100"; the step checker reads it back as ``int("8041")``."""
    return Digits(str(n).zfill(width)[::-1])


def mul_reversed(p: Problem) -> list[Step]:
    """The scratchpad with every computed number written ones digit first (the shift's zeros come first too).

    Written this way, each digit depends only on digits already written, so a left-to-right model never has to
    look ahead for a carry (the issue's probe took a 4M-parameter model to 100% on 4x4 with it; our 6x6 attempt
    has not yet, see benchmarks/RESULTS.md).
    The answer line is written normally (a copy of the last sum, reversed)."""
    digits = str(p.b)[::-1]
    steps, total = [], 0
    for k, d in enumerate(digits):
        q = int(d) * 10**k
        prod = p.a * q
        total += prod
        steps.append(_s("{} * {} = {}, sum {}", (p.a, COPY), (q, SPLIT), (rev(prod), PRODUCT), (rev(total), ADDITION)))
    return steps


ALIGNED_FRAME = 6  # operand digits every `aligned` (and `places`) trace is padded to: one shape for every cell to 6x6


def _frame(p: Problem) -> int:
    return max(ALIGNED_FRAME, len(str(p.a)), len(str(p.b)))


def mul_aligned(p: Problem, restate: bool = False) -> list[Step]:
    """A systolic scratchpad for small models trained from scratch: one line per multiplier digit, ones first,

        remaining multiplier digits: shifted multiplicand * digit = partial product, sum running total

    with every number written ones digit first and zero-padded: operands to a frame of ``ALIGNED_FRAME`` digits
    (or more for longer operands), products to twice that. So every problem up to 6x6 has the same shape --
    6 lines of the same length -- and every digit is computed from digits at a fixed distance: the same column
    on this line or the line above (the shifted multiplicand is the line above's moved one place; the remaining
    multiplier digits lose their first). Nothing has to be counted and no carry is looked ahead. With widths
    that vary per problem, a 4M-parameter model stalled (benchmarks/RESULTS.md). The answer line is written
    normally. ``restate`` puts a first line before them (the `framed` format, below)."""
    frame = _frame(p)
    steps, total = [], 0
    if restate:
        steps.append(_s("{} * {} = {} * {}", (p.a, COPY), (p.b, COPY),
                        (Digits(str(p.a).zfill(frame)), COPY), (Digits(str(p.b).zfill(frame)), COPY)))
    for k in range(frame):
        rest, d = p.b // 10**k, p.b // 10**k % 10
        shifted = p.a * 10**k
        total += shifted * d
        steps.append(_s("{}: {} * {} = {}, sum {}", (rev(rest, frame), COPY), (rev(shifted, 2 * frame), COPY),
                        (d, COPY), (rev(shifted * d, 2 * frame), PRODUCT), (rev(total, 2 * frame), ADDITION)))
    return steps


def mul_framed(p: Problem) -> list[Step]:
    """`aligned` after a first line that restates the operands as asked, then zero-padded to the frame:

        47 * 974 = 000047 * 000974

    Why: trained from scratch on `aligned`, a 4M-parameter model's first error was nearly always writing an
    operand ones digit first straight from the question, whose position and length vary with the wording
    (benchmarks/RESULTS.md). Here the question is only ever copied forward, and the one reversal happens between
    two fields of fixed width at fixed places."""
    return mul_aligned(p, restate=True)


# Place marks for `places`: the scratch models' chat template writes GREEK_LOWER[k] before the digit of place
# 10^k of the question's first number and GREEK_UPPER[k] before the second's (scratch.py); a trace names the
# places of its own numbers with LATIN[k], so a lookup by mark can never hit the question's digits by mistake.
GREEK_LOWER = "αβγδεζηθικλμνξοπρστυφχψω"
GREEK_UPPER = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"
LATIN = "abcdefghijklmnopqrstuvwxyz"
LINE_LABELS = GREEK_UPPER + "БГДЖЗИЛПФЦЧШЩЭЮЯ"  # a 16x16 product has 32 places; Greek has 24 capitals


def _marked(n: int, width: int, role: str) -> tuple[str, list[tuple[int, str]]]:
    """``n`` ones digit first, each digit after its place mark: 128 -> "a8b2c1d0" (width 4)."""
    digits = str(n).zfill(width)[::-1]
    return "".join(LATIN[k] + "{}" for k in range(width)), [(int(d), role) for d in digits]


def mul_places(p: Problem) -> list[Step]:
    """Multiplication for a model whose prompt marks every digit with its place (the scratch models' template
    turns "16 * 88" into "β1α6 * Β8Α8"). One line per place of the product, each labelled with the second
    number's mark for that place:

        Α8=a8b2c1d0e0f0g0 a8b2c1d0e0f0g0 8___________      product line: digit, first number * digit, running sum
        Β8=a8b2c1d0e0f0g0 a0b4c1d0e0f0g0 08__________
        ...
        Η=a0b0c0d0e0f0g0 000000001408                     past the second number: the sum only moves down
        Answer:         1408

    The running sum is kept divided by 10 after each line (its ones digit is final and leaves it), so every digit
    of a line comes from a fixed distance: the same mark on this line or the next mark on the line above. The
    answer is built by putting each final digit in front of those before it, so it is never read backwards; the
    answer line is the last of those fields with its leading zeros blanked.

    Why: trained from scratch on `framed`, a 4M-parameter model's 6x6 answers failed in the two steps that read
    digits at a distance that changes from problem to problem: copying the operands out of the question (86%
    of held-out 6x6 problems) and reversing the 12-digit sum (every one): benchmarks/RESULTS.md. Here both
    become lookups by mark, or copies at a fixed distance. Measured: the multiplier digit read by its mark is
    right 98.8% of the time, but in 60 minutes the 4M model did not learn the first number times that digit
    (a lookup through a mapped mark), so the scratch recipe still uses `framed` (RESULTS.md)."""
    frame = _frame(p)
    steps, rest, done = [], 0, ""
    for k in range(2 * frame):
        if k < frame:
            d = p.b // 10**k % 10
            rest = rest // 10 + p.a * d
            prod_t, prod_n = _marked(p.a * d, frame + 1, PRODUCT)
            head, nums = LINE_LABELS[k] + "{}=" + prod_t + " ", [(d, COPY), *prod_n]
        else:
            rest //= 10
            head, nums = LINE_LABELS[k] + "=", []
        rest_t, rest_n = _marked(rest, frame + 1, ADDITION)
        done = str(rest % 10) + done
        steps.append(_s(head + rest_t + " {}" + "_" * (2 * frame - len(done)), *nums, *rest_n,
                        (Digits(done), COPY)))
    return steps


def _multiply_add_lines(p: Problem, product: bool = False, top: bool = False) -> list[Step]:
    """The lines of `fused`; ``product`` writes a * d before each t (`staged`), ``top`` adds a group past the frame
    (`carryout`)."""
    frame = _frame(p)
    a_digits = [p.a // 10**i % 10 for i in range(frame)] + [0] * top
    n = len(a_digits)
    steps, rest, done = [], 0, ""
    for k in range(2 * frame):
        d = p.b // 10**k % 10
        groups, carry = [], 0
        for i, a in enumerate(a_digits):
            r = rest // 10 ** (i + 1) % 10 if i < n - 1 else rest // 10**n  # the top group takes the rest
            t = a * d + r + carry
            groups.append((Digits(f"{a}{d}{a * d:02d}{t:02d}" if product else f"{a}{d}{t:02d}"), PRODUCT))
            carry = t // 10
        rest = rest // 10 + p.a * d
        done = str(rest % 10) + done
        template = LINE_LABELS[k] + "{}=" + "".join(GREEK_LOWER[i] + "{}" for i in range(n)) + " {}"
        steps.append(_s(template + "_" * (2 * frame - len(done)), (d, COPY), *groups, (Digits(done), COPY)))
    return steps


def mul_fused(p: Problem) -> list[Step]:
    """`places` with every digit of the products computed by one fused multiply-add whose four inputs sit at fixed
    distances or behind the question's own marks. For 16 * 88 (the template asks "What is β1α6 * Β8Α8?"):

        Α8=α6848β1812γ0801δ0800ε0800ζ0800 8___________
        Β8=α6850β1814γ0801δ0800ε0800ζ0800 08__________
        Γ0=α6004β1001γ0000δ0000ε0000ζ0000 408_________
        ...                                                  (12 lines: one per place of the product)
        Answer:         1408

    Line k is labelled with the second number's mark for place k and its digit d there (0 past its end), then
    one group per place i of the frame: the first number's mark and digit there, d, and the two digits of
    t = a_i * d + r + c, where r is the running sum's digit i + 1 from the line above (the sum loses its ones
    digit every line) and c is the tens of the group before. So a_i and d are read by the same mark as in the
    question (or copied from the line or group before), r from the line above at a fixed distance, c from the
    group before; the last group's tens is the sum's top digit. The ones digit of the first group is final, and
    the field at the end puts it in front of those before it, so the answer is never read backwards (`places`).

    Why: `places` needed each product digit through a mapped mark (latin `c` to Greek `γ`) and a hidden carry,
    and a 4M-parameter model did not learn that in 60 minutes (2.8%, benchmarks/RESULTS.md); here no digit
    needs a mapped mark, a hidden carry or a distance that changes from problem to problem. Measured: 1.4% in 60
    minutes, then a late climb (29% after 100, 40% after 125): the additions were learned at once, the product
    folded into the same token as the addition and the lookups by mark came last, so the scratch recipe still
    uses `framed`."""
    return _multiply_add_lines(p)


def mul_staged(p: Problem) -> list[Step]:
    """`fused` with the digit product written on its own before the add: each group is the first number's mark
    and digit, the line's digit d, the two digits of a_i * d, then the two digits of t = a_i * d + r + c (r and c
    as in `fused`). For 16 * 88:

        Α8=α684848β180812γ080001δ080000ε080000ζ080000 8___________
        ...                                                  (12 lines: one per place of the product)
        Answer:         1408

    Meant for a model whose template writes each question digit as one token that carries its number and place
    (``--place-tokens``, scratch.py), so the mark that opens a group or a line finds its digit in one lookup by
    content, instead of the token after a matching mark (two hops, which blurred to the neighbouring digit).

    Why: trained on `fused`, a 4M-parameter model learned every fixed-distance read and every plain addition
    within 60 minutes, but not the product folded into the addition (61% of those digits right) nor the mark
    lookups (62%): benchmarks/RESULTS.md. Here the product is a 100-entry table of its two neighbours, and the
    add that follows has the same shape as the additions that were learned."""
    return _multiply_add_lines(p, product=True)


def mul_carryout(p: Problem) -> list[Step]:
    """`staged` with one more group on every line, for the first number's (zero) digit one place past the frame:

        Α8=α684848β180812γ080001δ080000ε080000ζ080000η000000 8___________

    so the line's carry-out is that group's t, and every other group reads the sum digit above from the same
    place (the ones of the next group on the line above); the new top group's read is always 0.

    Why: trained on `staged`, a 4M-parameter model got every lookup, copy and digit product of 300 held-out 6x6
    problems right, and 99.4% of the adds; 36 of its 55 wrong adds were in the top group, the one group whose
    sum digit above sits elsewhere (the tens of the line above's top group), so 6x6 was 83.7%: RESULTS.md."""
    return _multiply_add_lines(p, product=True, top=True)


def answer_places(p: Problem) -> str:
    """The last line's digits with leading zeros blanked: a copy at a fixed distance that still reads as the
    number."""
    return p.answer.rjust(2 * _frame(p))


# ---------------------------------------------------------------- addition and subtraction

# Place names without digits (a digit in a name would be read as a step's number), for every place of a product
# of two MAX_DIGITS-digit numbers (`columns` writes one line per place): ones ... hundred nonillions (10^32).
_GROUPS = ("thousands", "millions", "billions", "trillions", "quadrillions", "quintillions", "sextillions",
           "septillions", "octillions", "nonillions")
PLACES = ("ones", "tens", "hundreds", *[f"{x}{g}" for g in _GROUPS for x in ("", "ten ", "hundred ")])


def _digit(n: int, k: int) -> int:
    return n // 10**k % 10


def add_long(p: Problem) -> list[Step]:
    """Column addition, ones first; the carry is always written (even 0) so a dropped carry is visible."""
    steps, carry = [], 0
    for k in range(max(len(str(p.a)), len(str(p.b)))):
        x, y = _digit(p.a, k), _digit(p.b, k)
        s = x + y + carry
        steps.append(
            _s(PLACES[k] + ": {} + {} + {} = {}, write {}, carry {}",
               (x, COPY), (y, COPY), (carry, ADDITION), (s, ADDITION), (s % 10, ADDITION), (s // 10, ADDITION))
        )
        carry = s // 10
    return steps


def sub_long(p: Problem) -> list[Step]:
    """Column subtraction with borrows; a negative result is computed as -(b - a)."""
    steps, top, bottom = [], p.a, p.b
    if p.a < p.b:
        steps.append(_s("{} - {} = -({} - {})", (p.a, COPY), (p.b, COPY), (p.b, COPY), (p.a, COPY)))
        top, bottom = p.b, p.a
    borrow = 0
    for k in range(len(str(top))):
        x, y = _digit(top, k), _digit(bottom, k)
        out = 1 if x - borrow < y else 0
        steps.append(
            _s(PLACES[k] + ": {} - {} - {} = {}, borrow {}",
               (x + 10 * out, ADDITION), (y, COPY), (borrow, ADDITION), (x + 10 * out - y - borrow, ADDITION),
               (out, ADDITION))
        )
        borrow = out
    return steps


# ---------------------------------------------------------------- division with remainder


def div_long(p: Problem) -> list[Step]:
    """Long division over every digit of the dividend: bring down, quotient digit, multiply, subtract."""
    steps, rem = [], 0
    for d in str(p.a):
        chunk = rem * 10 + int(d)
        q = chunk // p.b
        steps.append(
            _s("{} / {} = {}, {} * {} = {}, {} - {} = {}",
               (chunk, COPY), (p.b, COPY), (q, QUOTIENT), (q, COPY), (p.b, COPY), (q * p.b, PRODUCT),
               (chunk, COPY), (q * p.b, COPY), (chunk - q * p.b, ADDITION))
        )
        rem = chunk - q * p.b
    return steps


def plain(p: Problem) -> list[Step]:
    return []


# op -> format -> (step builder, unit). The unit says how the checker cuts a text into steps:
# "line" = one step per line holding an "=", "chain" = one step per "="-separated segment.
FORMATS: dict[str, dict[str, tuple[Callable[[Problem], list[Step]], str]]] = {
    "mul": {"long": (mul_long, "line"), "goat": (mul_goat, "chain"), "distributive": (mul_distributive, "chain"),
            "columns": (mul_columns, "line"),
            "scratchpad": (mul_scratchpad, "line"),
            "reversed": (mul_reversed, "line"), "aligned": (mul_aligned, "line"),
            "framed": (mul_framed, "line"), "places": (mul_places, "line"), "fused": (mul_fused, "line"),
            "staged": (mul_staged, "line"), "carryout": (mul_carryout, "line"),
            "plain": (plain, "line")},
    "add": {"long": (add_long, "line"), "plain": (plain, "line")},
    "sub": {"long": (sub_long, "line"), "plain": (plain, "line")},
    "div": {"long": (div_long, "line"), "plain": (plain, "line")},
}
ALL_FORMATS = sorted({f for fmts in FORMATS.values() for f in fmts})


def check_format(op: str, fmt: str) -> None:
    if fmt not in FORMATS.get(op, {}):
        have = ", ".join(FORMATS.get(op, {})) or "none"
        raise ValueError(f"format {fmt!r} does not exist for op {op!r}; choose one of: {have}")


def steps_for(p: Problem, fmt: str) -> list[Step]:
    check_format(p.op, fmt)
    return FORMATS[p.op][fmt][0](p)


def unit_of(op: str, fmt: str) -> str:
    return FORMATS[op][fmt][1]


# Formats whose answer line is not the plain number (it still extracts to it: answer.py strips the blanks).
ANSWER_TEXT: dict[tuple[str, str], Callable[[Problem], str]] = {("mul", "places"): answer_places,
                                                               ("mul", "fused"): answer_places,
                                                               ("mul", "staged"): answer_places,
                                                               ("mul", "carryout"): answer_places}


def answer_text(p: Problem, fmt: str) -> str:
    return ANSWER_TEXT[p.op, fmt](p) if (p.op, fmt) in ANSWER_TEXT else p.answer


def render_steps(steps: list[Step], unit: str, answer: str, texts: list[str] | None = None) -> str:
    texts = [s.text() for s in steps] if texts is None else texts
    body = (" = " if unit == "chain" else "\n").join(texts)
    return f"{body}\nAnswer: {answer}" if body else f"Answer: {answer}"


def render_checked(p: Problem, fmt: str) -> tuple[str, list[Step], list[str]]:
    """The solution text plus the numbered steps and their texts, formatted once for both uses."""
    steps = steps_for(p, fmt)
    texts = [s.text() for s in steps]
    text = render_steps(steps, unit_of(p.op, fmt), answer_text(p, fmt), texts)
    numbered = [(s, t) for s, t in zip(steps, texts) if s.nums]
    return text, [s for s, _ in numbered], [t for _, t in numbered]


def render(p: Problem, fmt: str, steps: list[Step] | None = None) -> str:
    return render_steps(steps_for(p, fmt) if steps is None else steps, unit_of(p.op, fmt), answer_text(p, fmt))
