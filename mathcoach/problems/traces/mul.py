"""Multiplication traces in plain decimal notation: long, goat, distributive, columns, scratchpad, reversed,
aligned and framed.

Example: ``render(Problem.make("mul", 16, 88, ...), "columns")`` (traces/__init__.py renders any of them)
"""

from __future__ import annotations

from mathcoach.problems.problem import Problem
from mathcoach.problems.traces.steps import (
    ADDITION, COPY, PLACES, PRODUCT, SPLIT, Digits, Step, frame_width, product_step, step, split_step,
    sum_steps, place_parts, rev,
)


def mul_long(p: Problem) -> list[Step]:
    pa, pb = place_parts(p.a), place_parts(p.b)
    splits = [split_step(n) for n in (p.a, p.b) if len(place_parts(n)) > 1]
    steps = [Step("Break into place values:"), *splits] if splits else []
    steps.append(Step("Multiply every digit pair:"))
    products = []
    for x in pa:
        for y in pb:
            steps.append(product_step(x, y))
            products.append(x * y)
    if len(products) > 1:
        steps.append(Step("Add the partial products:"))
        steps += sum_steps(products)
    return steps


def mul_goat(p: Problem) -> list[Step]:
    """Goat's distributive chain: decompose the operand with fewer digits (the second one on ties)."""
    big, small = (p.b, p.a) if len(str(p.a)) < len(str(p.b)) else (p.a, p.b)
    parts = place_parts(small)
    chain = [step("{} * {}", (p.a, COPY), (p.b, COPY))]
    if len(parts) == 1:
        chain.append(step("{}", (big * small, PRODUCT)))
        return chain
    chain.append(step("{} * (" + " + ".join(["{}"] * len(parts)) + ")", (big, COPY), *[(q, SPLIT) for q in parts]))
    chain.append(step(" + ".join(["{} * {}"] * len(parts)), *[x for q in parts for x in ((big, COPY), (q, COPY))]))
    terms = [big * q for q in parts]
    chain.append(step(" + ".join(["{}"] * len(terms)), *[(t, PRODUCT) for t in terms]))
    while len(terms) > 1:
        terms = [terms[0] + terms[1], *terms[2:]]
        chain.append(step(" + ".join(["{}"] * len(terms)), (terms[0], ADDITION), *[(t, COPY) for t in terms[1:]]))
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
    chain = [step("{} * {}", (p.a, COPY), (p.b, COPY))]
    if len(sp) > 1:
        chain.append(step(" + ".join(["{} * {}"] * len(sp)), *[x for q in sp for x in ((big, COPY), (q, SPLIT))]))
    if len(bp) > 1:
        chain.append(step(" + ".join(["{} * {}"] * (len(bp) * len(sp))),
                        *[x for q in sp for d in bp for x in ((d, SPLIT), (q, COPY))]))
    groups = [[d * q for d in bp] for q in sp]
    chain.append(step(" + ".join(["{}"] * (len(bp) * len(sp))), *[(t, PRODUCT) for g in groups for t in g]))
    while len(groups) > 1 or len(groups[0]) > 1:
        if any(len(g) > 1 for g in groups):  # within every group at once, then across groups
            pairs = [[(g[0] + g[1], ADDITION), *[(t, COPY) for t in g[2:]]] if len(g) > 1 else [(g[0], COPY)]
                     for g in groups]
        else:
            pairs = [[(groups[0][0] + groups[1][0], ADDITION)], *[[(g[0], COPY)] for g in groups[2:]]]
        groups = [[t for t, _ in g] for g in pairs]
        flat = [x for g in pairs for x in g]
        chain.append(step(" + ".join(["{}"] * len(flat)), *flat))
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
        steps.append(step(PLACES[k] + ": " + " = ".join(parts) + tail, *nums))
    return steps


def mul_scratchpad(p: Problem) -> list[Step]:
    """One partial product per digit of the multiplier (ones first, zeros included) with a running sum."""
    digits = str(p.b)[::-1]
    steps, total = [], 0
    for k, d in enumerate(digits):
        q = int(d) * 10**k
        prod = p.a * q
        if k == 0:
            steps.append(step("{} * {} = {}, sum {}", (p.a, COPY), (q, SPLIT), (prod, PRODUCT), (prod, COPY)))
        else:
            steps.append(
                step(
                    "{} * {} = {}, sum {} + {} = {}",
                    (p.a, COPY), (q, SPLIT), (prod, PRODUCT), (total, COPY), (prod, COPY), (total + prod, ADDITION),
                )
            )
        total += prod
    return steps


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
        steps.append(step("{} * {} = {}, sum {}", (p.a, COPY), (q, SPLIT), (rev(prod), PRODUCT), (rev(total), ADDITION)))
    return steps


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
    frame = frame_width(p)
    steps, total = [], 0
    if restate:
        steps.append(step("{} * {} = {} * {}", (p.a, COPY), (p.b, COPY),
                        (Digits(str(p.a).zfill(frame)), COPY), (Digits(str(p.b).zfill(frame)), COPY)))
    for k in range(frame):
        rest, d = p.b // 10**k, p.b // 10**k % 10
        shifted = p.a * 10**k
        total += shifted * d
        steps.append(step("{}: {} * {} = {}, sum {}", (rev(rest, frame), COPY), (rev(shifted, 2 * frame), COPY),
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
