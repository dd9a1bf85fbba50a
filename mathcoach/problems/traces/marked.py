"""Multiplication traces for from-scratch models whose chat template marks the question's digits by place:
places (``--digit-marks``), fused (``--digit-marks``), staged, carryout, carryout8, copy8, trimmed8, gathered8, rest8,
rest8u, rest9 and rest9z (``--place-tokens``).

Example: ``render(Problem.make("mul", 16, 88, ...), "carryout")`` (traces/__init__.py renders any of them)
"""

from __future__ import annotations

from mathcoach.problems.problem import Problem
from mathcoach.problems.traces.steps import ADDITION, ALIGNED_FRAME, COPY, PRODUCT, Digits, Step, frame_width, step


# Place marks for `places`: the scratch models' chat template writes GREEK_LOWER[k] before the digit of place
# 10^k of the question's first number and GREEK_UPPER[k] before the second's (scratch.py); a trace names the
# places of its own numbers with LATIN[k], so a lookup by mark can never hit the question's digits by mistake.
GREEK_LOWER = "αβγδεζηθικλμνξοπρστυφχψω"
GREEK_UPPER = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"
LATIN = "abcdefghijklmnopqrstuvwxyz"
LINE_LABELS = GREEK_UPPER + "БГДЖЗИЛПФЦЧШЩЭЮЯ"  # a 16x16 product has 32 places; Greek has 24 capitals
# `rest8u`: the last long line's group marks, which appear nowhere else in a row (no Greek, Latin or place token, and
# no Cyrillic letter that looks like a Latin one), so a gather line's mark finds its group by content alone
LAST_LINE_MARKS = "бгджзилпфцчшщэюяйъыьёђћљ"  # as many as GREEK_LOWER


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
    frame = frame_width(p)
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
        steps.append(step(head + rest_t + " {}" + "_" * (2 * frame - len(done)), *nums, *rest_n,
                        (Digits(done), COPY)))
    return steps


def _multiply_add_lines(p: Problem, product: bool = False, top: bool = False, least: int = ALIGNED_FRAME,
                        short: bool = False, upper: bool = True, b_rest: bool = False,
                        last_marks: str = GREEK_LOWER, tail: int = 0) -> list[Step]:
    """The lines of `fused`; ``product`` writes a * d before each t (`staged`), ``top`` adds a group past the frame
    (`carryout`); ``least`` widens the frame, ``short`` writes the lines past it as one sum digit per group
    (`carryout8`), ``upper=False`` leaves them out (`trimmed8`), ``b_rest`` labels line k with the second number's
    rest b // 10^k over the frame instead of its digit d alone (`rest8`: d is that label's last digit),
    ``last_marks`` marks the groups of the frame's last line (`rest8u`); ``tail`` long lines more past the frame,
    with d = 0 (`rest9`)."""
    frame = frame_width(p, least)
    a_digits = [p.a // 10**i % 10 for i in range(frame)] + [0] * top
    n = len(a_digits)
    steps, rest, done = [], 0, ""
    for k in range(2 * frame if upper else frame + tail):
        d = p.b // 10**k % 10
        brief = short and k >= frame  # d is 0 here: t = r, with no product and no carry
        groups, carry = [], 0
        for i, a in enumerate(a_digits):
            r = rest // 10 ** (i + 1) % 10 if i < n - 1 else rest // 10**n  # the top group takes the rest
            t = a * d + r + carry
            text = str(t) if brief else f"{a}{d}{a * d:02d}{t:02d}" if product else f"{a}{d}{t:02d}"
            groups.append((Digits(text), PRODUCT))
            carry = t // 10
        rest = rest // 10 + p.a * d
        done = str(rest % 10) + done
        head = LINE_LABELS[k] + ("=" if brief else "{}=")
        if brief:
            label = []
        elif b_rest:
            label = [(Digits(str(p.b // 10**k).zfill(frame)), COPY)]
        else:
            label = [(d, COPY)]
        marks = last_marks if k == frame - 1 else GREEK_LOWER
        template = head + "".join(marks[i] + "{}" for i in range(n)) + " {}"
        steps.append(step(template + "_" * (2 * frame - len(done)), *label, *groups, (Digits(done), COPY)))
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


def mul_carryout8(p: Problem) -> list[Step]:
    """`carryout` over a frame of at least 8 digits, with every line past the second number's frame written short:
    a line whose digit d is 0 only shifts the running sum down one place, so its groups are the mark and the one
    digit t = r (the sum digit above; no product, no carry), then the field as before. For 16 * 88:

        Α8=α684848β180812γ080001δ080000ε080000ζ080000η080000θ080000ι080000 8_______________
        Β8=α684850β180814γ080001δ080000ε080000ζ080000η080000θ080000ι080000 08______________
        ...                                                  (8 long lines, one per place of the frame)
        Ι=α0β0γ0δ0ε0ζ0η0θ0ι0 000001408_______
        ...                                                  (8 short lines: the product's upper places)
        Answer:             1408

    Why: with a frame of 8 (one row shape for every cell 1x1..8x8), half of `carryout`'s lines have d = 0 and
    their groups copy zeros and a digit through four fields; written short, an 8x8 row is ~980 tokens instead of
    ~1,370, so the 60-minute budget (issue 18) buys ~40% more rows. The long lines are `carryout`'s exactly."""
    return _multiply_add_lines(p, product=True, top=True, least=8, short=True)


def mul_trimmed8(p: Problem) -> list[Step]:
    """`carryout8` without its short lines: the answer is read off the last long line instead. For 16 * 88:

        Α8=α684848β180812γ080001δ080000ε080000ζ080000η080000θ080000ι080000 8_______________
        ...                                                  (8 long lines, one per place of the frame)
        Θ0=α600000β100001γ000001δ000000ε000000ζ000000η000000θ000000ι000000 00001408________
        Answer:             1408

    After the last long line the product's lower places are its field and its upper places are the sum digits of
    that line's groups, top group first; in a row of one shape each of the 16 answer characters is a copy from a
    distance that is the same in every problem (the kind of read every mathcoach-mul attempt learned first).

    Why: the 8 short lines only move the sum down one place a line; they were ~30% of a `carryout8` row's tokens,
    and tokens per hour were what separated the fourth attempt's 12.5% in 60 minutes from its 42.7% after 96
    (benchmarks/RESULTS.md, 2026-12-03). A row of ~740 tokens instead of ~1,040 also costs less attention a
    token."""
    return _multiply_add_lines(p, product=True, top=True, least=8, upper=False)


def mul_gathered8(p: Problem) -> list[Step]:
    """`trimmed8`, then one short line per upper place that puts it in front of the field. For 16 * 88:

        Α8=α684848β180812γ080001δ080000ε080000ζ080000η080000θ080000ι080000 8_______________
        ...                                                  (trimmed8's 8 long lines)
        Θ0=α600000β100001γ000001δ000000ε000000ζ000000η000000θ000000ι000000 00001408________
        β=000001408_______
        γ=0000001408______
        ...
        ι=0000000000001408
        Answer:             1408

    Short line i is the mark of group i on the last long line and "=" (the step checker reads lines that hold
    one), then the ones digit of that group's sum in front of the field of the line above (the first short line:
    the last long line's). After the last one the field is the whole product, highest place first, and the answer
    is that field with its leading zeros blanked, a copy from the line above as in every attempt since `places`.

    Why: `trimmed8`'s answer read its upper places straight off the last line's groups, which stand 7 characters
    apart while the answer's stand 1 apart, so each place was a copy from a distance of its own: in the fifth
    attempt 91 of 92 traces were right and 41% of the answers, places 8-15 read right 29% of the time (RESULTS.md
    2026-12-05). Here that read is a lookup by the group's own mark (the same token, never a mapped one), and
    every other character is a copy from a distance that is the same for every place and every problem. A first
    form gathered the upper places in a field of their own, and the answer copied its lower places from the last
    long line, 9 lines up: the reads by mark came out 88-100% right in the hour and that copy 40%, so every answer
    was wrong (RESULTS.md 2026-12-06). ~150 tokens a row more than `trimmed8`, ~150 fewer than `carryout8`."""
    return _gathered(p, mul_trimmed8(p))


def _gathered(p: Problem, long_lines: list[Step], marks: str = GREEK_LOWER, tail: int = 0) -> list[Step]:
    frame = frame_width(p, 8)
    # after the last long line (frame + tail of them), group i's sum ones is place frame + tail + i - 1, and the
    # field holds the places below frame + tail
    product = str(p.a * p.b).zfill(2 * frame)
    return long_lines + [step(marks[i] + "={}" + "_" * (frame - tail - i), (Digits(product[frame - tail - i:]), COPY))
                         for i in range(1, frame - tail + 1)]


def mul_rest8(p: Problem) -> list[Step]:
    """`gathered8` with each long line labelled by the rest of the second number, b // 10^k zero-padded to the frame,
    where `gathered8` wrote its digit d alone; d is the label's last digit. For 16 * 88:

        Α00000088=α684848β180812γ080001δ080000ε080000ζ080000η080000θ080000ι080000 8_______________
        Β00000008=α684850β180814γ080001δ080000ε080000ζ080000η080000θ080000ι080000 08______________
        Γ00000000=α600004β100001γ000000δ000000ε000000ζ000000η000000θ000000ι000000 408_____________
        ...                                                  (8 long lines, then gathered8's 8 short lines)
        Answer:             1408

    Line 0's label is the operand frame's b (the template writes "b=00000088" right before the reply), a copy at one
    distance; line k + 1's is line k's moved one place right behind a 0, a copy at one distance too (every long
    line has the same length). Each group still copies d from 4 characters back, as before.

    Why: in `gathered8` line k read its d from the frame at a distance of its own, and the model learns such reads
    one distance at a time: after the hour lines 2-4 were 35-45% right, 89% for line 2 after 200 steps more, lines
    3-4 still 40-50%, and 52 of 65 wrong traces went wrong there first (RESULTS.md 2026-12-06). ~56 tokens a row
    more than `gathered8`. Measured in the seventh attempt: every label right from line 1 on, 45.8% validation in the
    hour; the adds whose ones overflow with a carry in are what is left (RESULTS.md 2026-12-06)."""
    return _gathered(p, _multiply_add_lines(p, product=True, top=True, least=8, upper=False, b_rest=True))


def mul_rest8u(p: Problem) -> list[Step]:
    """`rest8` with the last long line's groups, and the gather lines that read them, marked by letters found nowhere
    else in a row (LAST_LINE_MARKS) instead of the Greek marks every long line shares. For 16 * 88:

        Α00000088=α684848β180812γ080001δ080000ε080000ζ080000η080000θ080000ι080000 8_______________
        ...                                                  (rest8's long lines 0-6)
        Θ00000000=б600000г100001д000001ж000000з000000и000000л000000п000000ф000000 00001408________
        г=000001408_______
        д=0000001408______
        ...
        ф=0000000000001408
        Answer:             1408

    Why: a gather line's digit is group i's sum ones on the last long line. Wherever that line's digit d is 0 (every
    second number shorter than the frame), the same digit is also the sum digit above it, group i + 1's on the line
    before. The fourteenth attempt learned that second read for `η=`. Fed gold traces with one of the two digits
    changed, its `η=` followed the line before's in every cell where they agree, and was at chance in 7x8 and 8x8,
    where they differ (so those cells were 6.7% and 12.7%). Its `θ=` followed its own group everywhere. Adding 6,000
    rows of those cells (the fifteenth attempt) moved more gather lines to the line before, not fewer: 72.9%
    validation (RESULTS.md 2026-12-07). With marks of its own, the group a gather line names is the only token of
    its kind in the row, so the read by mark cannot land on another line; the line before holds nothing with that
    mark. Same tokens a row as `rest8`. Measured in the sixteenth attempt: 55.2% validation and 8x8 0 of 300, six
    of the eight gather reads at chance there, worse than `rest8` (RESULTS.md 2026-12-07); the recipe stays on
    `rest8`."""
    return _gathered(p, _multiply_add_lines(p, product=True, top=True, least=8, upper=False, b_rest=True,
                                            last_marks=LAST_LINE_MARKS), LAST_LINE_MARKS)


def mul_rest9(p: Problem) -> list[Step]:
    """`rest8` with a ninth long line, past the second number's frame (its label 00000000, its d 0), and the gather
    lines reading that line's groups: 7 of them, since its field holds the product's place 8. For 16 * 88:

        Α00000088=α684848β180812γ080001δ080000ε080000ζ080000η080000θ080000ι080000 8_______________
        ...                                                  (rest8's 8 long lines)
        Ι00000000=α600000β100000γ000000δ000000ε000000ζ000000η000000θ000000ι000000 000001408_______
        β=0000001408______
        ...
        θ=0000000000001408
        Answer:             1408

    Why: a gather line's digit is group i's sum ones on the last long line, and wherever that line's d is 0 the same
    digit is also the sum digit above it (group i + 1's ones on the line before). In `rest8` the last line's d is the
    second number's place 7, 0 in every row whose second number is shorter than 8 digits (~85% of them), so a read
    of either source was right in ~90% of training rows, and the fourteenth attempt's `η=` learned the line before's:
    at chance in 7x8 and 8x8, where the two differ (RESULTS.md 2026-12-07, fifteenth attempt). Here the last line's
    d is 0 in every row, so the two sources are the same digit in every row: whichever a gather line learns is right.
    A marked read by a letter of its own (`rest8u`) and more rows of the cells where they differ both made the reads
    worse. The new line is the most common kind of long line (d = 0 with a carry-free add); 72 tokens a row more
    than `rest8` (one long line, one gather line fewer). Measured in the seventeenth attempt, on 298 8x8 traces: the
    gathered 14th digit right in 291 (`rest8`: 41), but the 16th, the last gather line's, in 161 (288), and the Answer
    line copied its own field's 15th and 16th digits in 108 and 163 (298 and 298): 18.0% on 8x8 (12.7%), 92.7%
    validation (96.9%) (RESULTS.md 2026-12-07, seventeenth attempt)."""
    return _gathered(p, _multiply_add_lines(p, product=True, top=True, least=8, upper=False, b_rest=True, tail=1),
                     tail=1)


def mul_copy8(p: Problem) -> list[Step]:
    """`carryout8` after one operand line: both numbers copied from the question in its own order, zero-padded to
    the frame, the first number's letter then the second's. For 16 * 88:

        a=00000016 b=00000088
        Α8=α684848β180812γ080001δ080000ε080000ζ080000η080000θ080000ι080000 8_______________
        ...                                                  (carryout8's lines unchanged)

    Why: two attempts at `carryout8` (benchmarks/RESULTS.md, 2026-12-02) learned every field of the procedure and
    not one lookup of the question's digits (line 0's first-number digits at chance after 5-11M tokens), whose
    wording puts the numbers anywhere and whose place tokens sit 30-1,000 tokens behind the trace. Here the only
    read of the question is a short copy in reading order right after it; every `carryout8` row has one shape, so
    each later read of a digit is at a distance that is the same in every problem -- the kind of read (the line's
    digit copied into each group, the shifts, the fields) both attempts got 99.6-100% right."""
    frame = frame_width(p, 8)
    head = step("a={} b={}", (Digits(str(p.a).zfill(frame)), COPY), (Digits(str(p.b).zfill(frame)), COPY))
    return [head, *mul_carryout8(p)]


def answer_places8(p: Problem) -> str:
    return p.answer.rjust(2 * frame_width(p, 8))


def answer_zeros8(p: Problem) -> str:
    """`rest9z`'s Answer line: the last gather line's field unchanged, leading zeros kept (the answer checker strips
    them). Every character is a copy of the one above it, whatever the product's length: in `rest9` the Answer line
    blanks those zeros, so its top places copy a digit only in the few rows whose product reaches them, and the
    seventeenth attempt never learned that copy for the 15th place (36% right on the gold prefix, RESULTS.md
    2026-12-07)."""
    return p.answer.zfill(2 * frame_width(p, 8))


def answer_places(p: Problem) -> str:
    """The last line's digits with leading zeros blanked: a copy at a fixed distance that still reads as the
    number."""
    return p.answer.rjust(2 * frame_width(p))
