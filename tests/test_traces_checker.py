"""Worked solutions and the step checker: traces are true, pass their own check, and corruption is caught."""

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mathcoach.problems.answer import extract, judge
from mathcoach.problems.checker import ERROR_TYPES, check, classify
from mathcoach.problems.problem import Problem
from mathcoach.problems.traces import FORMATS, GREEK_LOWER, LINE_LABELS, render, render_steps, steps_for, unit_of
from mathcoach.problems.traces.marked import LAST_LINE_MARKS


def _num(digits: int):
    return st.integers(1 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


@st.composite
def problems(draw, ops=("mul", "add", "sub", "div"), max_digits=7):
    op = draw(st.sampled_from(ops))
    a = draw(st.integers(1, max_digits).flatmap(_num))
    b = draw(st.integers(1, max_digits).flatmap(_num))
    return Problem.make(op, a, b, question="q", phrasing="what_is", seed=0)


@st.composite
def problem_and_format(draw):
    p = draw(problems())
    return p, draw(st.sampled_from(sorted(FORMATS[p.op])))


@given(problem_and_format())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_every_generated_solution_passes_the_checker(pf):
    p, fmt = pf
    res = check(p, fmt, render(p, fmt))
    assert res.correct and res.error is None and res.step is None, res


def _eval(expr: str) -> int:
    expr = expr.strip()
    assert re.fullmatch(r"[\d\s+*()/-]+", expr), expr
    return eval(expr.replace("/", "//"))  # noqa: S307 -- digits and operators only, asserted above


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_multiplication_traces_are_arithmetically_true(p):
    """Independent of the checker: every equation a trace writes evaluates true in Python."""
    for fmt in ("long", "goat", "distributive", "scratchpad"):
        text = render(p, fmt)
        body, answer = text.rsplit("\nAnswer: ", 1)
        assert int(answer) == p.a * p.b
        if fmt in ("goat", "distributive"):
            values = {_eval(seg) for seg in body.split("=")}
            assert values == {p.a * p.b}, body
            continue
        for line in body.splitlines():
            for eq in line.split(", sum "):
                eq = re.sub(r"^[a-zA-Z ]+:\s*", "", eq)
                if "=" in eq:
                    segs = eq.split("=")
                    assert len({_eval(s) for s in segs}) == 1, line


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_aligned_trace_is_true_and_every_line_has_the_same_shape(p):
    """Ones-first, zero-padded numbers: decode each, check the arithmetic, and that lines are equally long (the
    fixed distances the format exists for)."""
    body, answer = render(p, "aligned").rsplit("\nAnswer: ", 1)
    lines = body.splitlines()
    frame = max(6, len(str(p.a)), len(str(p.b)))
    assert len(lines) == frame and {len(ln) for ln in lines} == {7 * frame + 15}, lines
    total = 0
    for k, line in enumerate(lines):
        rest, shifted, d, prod, run = re.fullmatch(r"(\d+): (\d+) \* (\d) = (\d+), sum (\d+)", line).groups()
        rest, shifted, prod, run = (int(x[::-1]) for x in (rest, shifted, prod, run))
        total += prod
        assert (rest, shifted, int(d), prod, run) == (p.b // 10**k, p.a * 10**k, rest % 10, shifted * int(d), total)
    assert int(answer) == total == p.a * p.b


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_columns_trace_is_true_and_its_digits_are_the_answer(p):
    """One line per place of the product: its digit pairs are exactly those whose places add up to it, every
    equation is true, the carry out is the next line's carry in, and the digits written so far grow by one
    digit per line into the answer."""
    body, answer = render(p, "columns").rsplit("\nAnswer: ", 1)
    lines = body.splitlines()
    da, db = str(p.a)[::-1], str(p.b)[::-1]
    assert len(lines) == len(da) + len(db) - 1
    carry, digits = 0, ""
    for k, line in enumerate(lines):
        m = re.fullmatch(r"[a-z ]+: (.+), digits (\d+)(?:, carry (\d+))?", line)
        eqs = [e.strip() for e in m.group(1).split("=")]
        pairs = sorted([int(x) for x in pr.split("*")] for pr in re.findall(r"\d+ \* \d+", eqs[0]))
        assert pairs == sorted([int(da[i]), int(db[k - i])] for i in range(len(da)) if 0 <= k - i < len(db))
        assert eqs[0].count("+") == len(pairs) - 1 + (k > 0) and (k == 0 or eqs[0].endswith(f" + {carry}"))
        total = _eval(eqs[0])
        assert {_eval(e) for e in eqs} == {total}, line
        if m.group(3) is None:  # the last line writes its whole sum
            assert k == len(lines) - 1 and m.group(2) == str(total) + digits
        else:
            assert m.group(2) == str(total % 10) + digits and int(m.group(3)) == total // 10
            carry, digits = total // 10, m.group(2)
    assert m.group(2) == answer == str(p.a * p.b)


@given(problems(ops=("mul",)))
@settings(max_examples=100)
def test_framed_trace_restates_the_operands_then_is_aligned(p):
    first, rest = render(p, "framed").split("\n", 1)
    frame = max(6, len(str(p.a)), len(str(p.b)))
    assert first == f"{p.a} * {p.b} = {p.a:0{frame}d} * {p.b:0{frame}d}"
    assert rest == render(p, "aligned")


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_fused_trace_reads_every_input_where_the_docstring_says(p):
    """Re-derive every group of a `fused` trace from its text alone: the line's digit is the second number's
    digit at that place, each group's digits are the first number's digit there and the line's digit, its two
    digits are a * d + (the line above's sum digit one place up) + (the group before's tens), and the field at
    the end grows by the ones digit of each line's first group into the answer."""
    body, answer = render(p, "fused").rsplit("\nAnswer: ", 1)
    lines = body.splitlines()
    frame = max(6, len(str(p.a)), len(str(p.b)))
    assert len(lines) == 2 * frame
    above, done = [0] * (frame + 1), ""  # the running sum's digits, ones first, as the line above wrote them
    for k, line in enumerate(lines):
        m = re.fullmatch(r"(.)(\d)=((?:.\d{4}){%d}) (\d+)(_*)" % frame, line)
        assert m and m.group(1) == LINE_LABELS[k] and int(m.group(2)) == p.b // 10**k % 10, line
        d, carry, sums = int(m.group(2)), 0, []
        for i, group in enumerate(re.findall(r"(.)(\d)(\d)(\d\d)", m.group(3))):
            mark, a, dd, t = group[0], int(group[1]), int(group[2]), int(group[3])
            assert (mark, a, dd) == (GREEK_LOWER[i], p.a // 10**i % 10, d)
            up = above[i + 1] if i < frame - 1 else above[frame]  # the top group takes the line above's tens
            assert t == a * d + up + carry, (line, i)
            carry = t // 10
            sums.append(t % 10)
        above = [*sums, carry]
        done = str(sums[0]) + done
        assert m.group(4) == done and len(m.group(4) + m.group(5)) == 2 * frame
    assert answer.strip() == str(p.a * p.b) and int(done) == p.a * p.b


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_staged_trace_is_fused_with_each_digit_product_written_before_its_add(p):
    """A `staged` group is the `fused` group with a * d inserted as two digits before t: every other field, and so
    every read and the answer, is the same as in `fused` (whose reads the test above re-derives)."""
    staged_body, staged_answer = render(p, "staged").rsplit("\nAnswer: ", 1)
    fused_body, fused_answer = render(p, "fused").rsplit("\nAnswer: ", 1)
    assert staged_answer == fused_answer
    for staged, fused in zip(staged_body.splitlines(), fused_body.splitlines(), strict=True):
        head, groups, tail = re.fullmatch(r"(..=)((?:\D\d{6})+)( .*)", staged).groups()
        parts = re.findall(r"(\D)(\d)(\d)(\d\d)(\d\d)", groups)
        assert all(int(pp) == int(a) * int(d) for _, a, d, pp, _ in parts), staged
        assert head + "".join(m + a + d + t for m, a, d, _, t in parts) + tail == fused


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_carryout_every_group_reads_the_sum_digit_above_from_the_next_group(p):
    """In `carryout` each group's t is its product + the ones of the next group on the line above (0 for the top
    group) + the group before's tens; the top group, for a zero digit past the frame, holds the line's carry-out."""
    body, answer = render(p, "carryout").rsplit("\nAnswer: ", 1)
    frame = max(6, len(str(p.a)), len(str(p.b)))
    above: list[int] = []
    for line in body.splitlines():
        groups = re.findall(r"(\D)(\d)(\d)(\d\d)(\d\d)", re.fullmatch(r"..=(\S+) .*", line).group(1))
        assert len(groups) == frame + 1 and groups[-1][0] == GREEK_LOWER[frame] and groups[-1][1] == "0"
        carry, ones = 0, []
        for i, (_, a, d, pp, t) in enumerate(groups):
            up = above[i + 1] if above and i < frame else 0
            assert int(pp) == int(a) * int(d) and int(t) == int(pp) + up + carry, (line, i)
            carry = int(t) // 10
            ones.append(int(t) % 10)
        assert carry == 0  # the top group never carries out
        above = ones
    assert answer.strip() == str(p.a * p.b)


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_carryout8_is_carryout_over_frame_8_with_its_zero_lines_short(p):
    """`carryout8`'s first frame lines are `carryout`'s lines over a frame of 8 (same groups, same field); every
    later line has d = 0, so each of its groups is just the sum digit above (the next group's ones), and the
    field grows by that line's ones digit."""
    body, answer = render(p, "carryout8").rsplit("\nAnswer: ", 1)
    frame = max(8, len(str(p.a)), len(str(p.b)))
    lines = body.splitlines()
    assert len(lines) == 2 * frame and answer.strip() == str(p.a * p.b)
    above: list[int] = []
    for k, line in enumerate(lines):
        if k < frame:
            groups = re.findall(r"(\D)(\d)(\d)(\d\d)(\d\d)", re.fullmatch(r"..=(\S+) .*", line).group(1))
            assert len(groups) == frame + 1 and int(line[1]) == p.b // 10**k % 10
            carry, ones = 0, []
            for i, (_, a, d, pp, t) in enumerate(groups):
                up = above[i + 1] if above and i < frame else 0
                assert int(pp) == int(a) * int(d) and int(t) == int(pp) + up + carry, (line, i)
                carry, ones = int(t) // 10, ones + [int(t) % 10]
        else:
            digits = [int(t) for t in re.findall(r"\D(\d)", re.fullmatch(r".=(\S+) .*", line).group(1))]
            assert len(digits) == frame + 1 and digits == above[1:] + [0], (k, line)
            ones = digits
        field = line.rsplit(" ", 1)[1].rstrip("_")
        assert len(field) == k + 1 and field == str(p.a * p.b).zfill(2 * frame)[-(k + 1):]
        above = ones


@given(problems(ops=("add", "sub", "div")))
@settings(max_examples=200)
def test_column_traces_compose_the_answer(p):
    text = render(p, "long")
    assert text.endswith(f"Answer: {p.answer}")
    if p.op == "div":  # every line: chunk / b = q, q * b = prod, chunk - prod = rem, with rem < b
        for line in text.splitlines()[:-1]:
            chunk, b, q, q2, b2, prod, c2, p2, rem = map(int, re.findall(r"\d+", line))
            assert (chunk // b, q * b, chunk - prod) == (q, prod, rem) and rem < b and q2 == q and c2 == chunk
        return
    digits = [int(m) for m in re.findall(r"write (\d)", text)] if p.op == "add" else [
        int(m) for m in re.findall(r"= (\d+), borrow", text)]
    value = sum(d * 10**k for k, d in enumerate(digits))
    carry = re.findall(r"carry (\d)", text)
    if p.op == "add":
        value += int(carry[-1]) * 10 ** len(digits)
        assert value == p.a + p.b
    else:
        assert value == abs(p.a - p.b)


def _expected_type(role: str, old: int, new: int) -> str:
    return classify(role, new, old)


def draw_corruption(data, steps) -> tuple[int, int, int, int, list]:
    """One number of one step replaced by another value: (step, number, old, new, the corrupted steps)."""
    i = data.draw(st.integers(0, len(steps) - 1), label="step")
    j = data.draw(st.integers(0, len(steps[i].nums) - 1), label="number")
    old = steps[i].nums[j]
    new = data.draw(st.integers(0, 10 ** (len(str(old)) + 1)).filter(lambda v: v != old), label="new value")
    nums = list(steps[i].nums)
    nums[j] = new
    bad = steps[i].__class__(steps[i].template, tuple(nums), steps[i].roles)
    return i, j, old, new, steps[:i] + [bad] + steps[i + 1 :]


@given(problem_and_format(), st.data())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_corrupting_any_single_number_is_caught_at_that_step(pf, data):
    p, fmt = pf
    steps = [s for s in steps_for(p, fmt) if s.nums]
    assume(steps)
    i, j, old, new, corrupted = draw_corruption(data, steps)
    text = render_steps(corrupted, unit_of(p.op, fmt), p.answer)
    res = check(p, fmt, text)
    assert res.step == i, (text, res)
    assert res.error == _expected_type(steps[i].roles[j], old, new), (old, new, steps[i].roles[j], res)
    assert res.expected == steps[i].text() and res.written is not None


def test_error_types_named_in_the_issue_are_distinguished():
    p = Problem.make("mul", 37, 82, question="q", phrasing="what_is", seed=0)
    good = render(p, "long")
    cases = {
        "30 * 80 = 2500": "digit_product",
        "30 * 80 = 24000": "shift",
        "30 * 70 = 2400": "copy",
    }
    for wrong, kind in cases.items():
        res = check(p, "long", good.replace("30 * 80 = 2400", wrong))
        assert (res.step, res.error) == (2, kind)
    assert check(p, "long", good.replace("2460 + 560 = 3020", "2460 + 560 = 2920")).error == "addition"
    assert check(p, "long", good.replace("Answer: 3034", "Answer: 3044")).error == "final_answer"
    assert check(p, "long", good.replace("7 * 80 = 560\n", "")).error == "format"
    no_answer = check(p, "long", good.replace("Answer: 3034", ""))
    assert (no_answer.error, no_answer.correct, no_answer.answer) == ("format", False, None)
    a = Problem.make("add", 4587, 968, question="q", phrasing="what_is", seed=0)
    dropped = render(a, "long").replace("tens: 8 + 6 + 1 = 15", "tens: 8 + 6 + 0 = 14")
    assert check(a, "long", dropped).error == "addition"


def test_checker_tolerates_spacing_commas_markdown_and_wording():
    p = Problem.make("mul", 1234, 56, question="q", phrasing="what_is", seed=0)
    text = render(p, "long")
    variant = (text.replace(" * ", "x").replace("=", " equals ").replace("Answer:", "**The answer is**")
               .replace("68000", "68,000").replace("Break into", "First, break into"))
    variant = "\n".join(f"Step {k}: {line}" for k, line in enumerate(variant.splitlines(), 1)) + "."
    res = check(p, "long", variant)
    assert res.correct and res.error is None, (variant, res)


@given(st.text(max_size=400), problem_and_format())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_checker_never_raises_on_any_string(text, pf):
    p, fmt = pf
    res = check(p, fmt, text)
    assert res.error in ERROR_TYPES or res.error is None


def test_checker_handles_none_and_huge_digit_runs():
    p = Problem.make("mul", 12, 34, question="q", phrasing="what_is", seed=0)
    assert check(p, "long", None).error == "format"
    assert check(p, "long", "12 = " + "9" * 50_000).error is not None


@pytest.mark.parametrize("op", sorted(FORMATS))
def test_plain_format_is_the_answer_alone(op):
    p = Problem.make(op, 123, 45, question="q", phrasing="what_is", seed=0)
    assert render(p, "plain") == f"Answer: {p.answer}"


@pytest.mark.parametrize("fmt", sorted(FORMATS["mul"]))
def test_every_multiplication_format_covers_the_largest_cell(fmt):
    """The generator allows MAX_DIGITS x MAX_DIGITS; every format must render it and pass its own check
    (`columns` names one line per place of a 32-digit product)."""
    from mathcoach.problems.generate import MAX_DIGITS

    n = int("9" * MAX_DIGITS)
    p = Problem.make("mul", n, n - 1, question="q", phrasing="what_is", seed=0)
    assert check(p, fmt, render(p, fmt)).correct


@given(problems(ops=("mul",)))
@settings(max_examples=100)
def test_copy8_is_an_operand_line_then_carryout8(p):
    """`copy8` copies both numbers in the question's order, zero-padded to the frame, then is `carryout8` exactly."""
    head, rest = render(p, "copy8").split("\n", 1)
    frame = max(8, len(str(p.a)), len(str(p.b)))
    assert head == f"a={str(p.a).zfill(frame)} b={str(p.b).zfill(frame)}"
    assert rest == render(p, "carryout8")


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_trimmed8_is_carryout8_long_lines_and_its_answer_is_read_off_the_last(p):
    """`trimmed8` is `carryout8`'s long lines alone; after the last one the product is the sum digits of its groups
    past the first (top group first) followed by its field, so the answer needs no line that only shifts the sum."""
    body, answer = render(p, "trimmed8").rsplit("\nAnswer: ", 1)
    frame = max(8, len(str(p.a)), len(str(p.b)))
    lines = body.splitlines()
    assert lines == render(p, "carryout8").splitlines()[:frame]
    groups = re.findall(r"\D\d\d\d\d(\d\d)", re.fullmatch(r"..=(\S+) .*", lines[-1]).group(1))
    upper = "".join(str(int(t) % 10) for t in reversed(groups[1:]))
    field = lines[-1].rsplit(" ", 1)[1].rstrip("_")
    assert answer.strip() == str(p.a * p.b) and int(upper + field) == p.a * p.b


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_gathered8_is_trimmed8_then_lines_that_gather_the_upper_places_by_mark(p):
    """`gathered8` is `trimmed8`'s long lines, then line i is group i's mark and that group's sum ones digit (read
    off the last long line) in front of the field above; the answer is the last field, leading zeros blanked."""
    body, answer = render(p, "gathered8").rsplit("\nAnswer: ", 1)
    frame = max(8, len(str(p.a)), len(str(p.b)))
    lines = body.splitlines()
    assert lines[:frame] == render(p, "trimmed8").splitlines()[:frame] and len(lines) == 2 * frame
    groups = re.findall(r"(\D)\d\d\d\d\d(\d)", re.fullmatch(r"..=(\S+) .*", lines[frame - 1]).group(1))
    field = lines[frame - 1].rsplit(" ", 1)[1].rstrip("_")
    for (mark, ones), line in zip(groups[1:], lines[frame:]):
        field = ones + field
        assert line == f"{mark}={field}" + "_" * (2 * frame - len(field))
    assert answer == str(int(field)).rjust(2 * frame) and int(answer) == p.a * p.b
    assert check(p, "gathered8", render(p, "gathered8")).correct


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_rest8_is_gathered8_with_each_long_line_labelled_by_the_rest_of_the_second_number(p):
    """`rest8` is `gathered8` with line k's label b // 10^k over the frame (its last digit the line's d), so line 0's
    label is the operand frame's b and each later one is the label above moved one place right behind a 0."""
    text, frame = render(p, "rest8"), max(8, len(str(p.a)), len(str(p.b)))
    lines, plain = text.splitlines(), render(p, "gathered8").splitlines()
    labels = [re.match(r".(\d+)=", line).group(1) for line in lines[:frame]]
    assert labels[0] == str(p.b).zfill(frame)
    for k in range(1, frame):
        assert labels[k] == "0" + labels[k - 1][:-1] and labels[k][-1] == str(p.b // 10**k % 10)
    assert [ln[0] + ln[1 + frame:] for ln in lines[:frame]] == [ln[0] + ln[2:] for ln in plain[:frame]]
    assert lines[frame:] == plain[frame:]
    assert check(p, "rest8", text).correct


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_rest9_gathers_from_a_line_whose_two_sources_always_agree(p):
    """`rest9` is `rest8`'s long lines, one more with label 0...0 and d = 0, then gather lines that read its groups.
    The point of the format: each gathered digit (group i's sum ones on the last long line) is also the sum digit
    above that group (group i + 1's on the line before) in every row, so a read of either is right; the step checker
    names a wrong read as the first error."""
    text, frame = render(p, "rest9"), max(8, len(str(p.a)), len(str(p.b)))
    lines, plain = text.splitlines(), render(p, "rest8").splitlines()
    assert lines[:frame] == plain[:frame] and lines[-1] == plain[-1] and lines[-2][2:] == plain[-2][2:]
    last = re.fullmatch(r"(.)(\d+)=((?:\D\d{6})+) (\d+)_*", lines[frame])
    assert last and last.group(1) == LINE_LABELS[frame] and last.group(2) == "0" * frame
    ones = [int(g[-1]) for g in re.findall(r"\D\d{6}", last.group(3))]
    above = [int(g[-1]) for g in re.findall(r"\D\d{6}", lines[frame - 1].split("=", 1)[1].split(" ")[0])]
    gathers = lines[frame + 1:-1]
    assert len(gathers) == frame - 1
    for i, line in enumerate(gathers, start=1):
        assert line[:2] == GREEK_LOWER[i] + "=" and int(line[2]) == ones[i] == above[i + 1]
    assert check(p, "rest9", text).correct
    lines[frame + 1] = lines[frame + 1][:2] + str((int(lines[frame + 1][2]) + 1) % 10) + lines[frame + 1][3:]
    res = check(p, "rest9", "\n".join(lines))
    assert (res.step, res.error) == (frame + 1, "copy"), res


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_rest9z_answer_line_is_the_last_field_unchanged_and_scores_as_the_number(p):
    """`rest9z` is `rest9` with an Answer line that keeps the last gather line's leading zeros, so each of its
    characters is a copy of the one above; the answer checker reads it as the product, and the step checker names a
    wrong copy in it."""
    text, plain = render(p, "rest9z"), render(p, "rest9")
    lines = text.splitlines()
    assert lines[:-1] == plain.splitlines()[:-1]
    field, answer = lines[-2].split("=", 1)[1], lines[-1].removeprefix("Answer:").strip()
    assert answer == field and len(answer) == 2 * max(8, len(str(p.a)), len(str(p.b)))
    assert judge(extract(text), p.answer) and check(p, "rest9z", text).correct
    # a wrong copy of the top place, which is mostly a 0, is a wrong answer, not a zero the checker strips
    wrong = text[: -len(answer)] + str((int(answer[0]) + 1) % 10) + answer[1:]
    assert not judge(extract(wrong), p.answer) and not check(p, "rest9z", wrong).correct


@given(problems(ops=("mul",)))
@settings(max_examples=200)
def test_rest8u_marks_the_last_long_line_and_its_gathers_with_letters_found_nowhere_else(p):
    """`rest8u` is `rest8` with the last long line's group marks, and the gather lines' marks, taken from
    LAST_LINE_MARKS: each gathered group's mark occurs twice in the row (the group, its gather line), so a read by
    mark has one place to land; the step checker judges it as rest8's and names a wrong read as the first error."""
    text, frame = render(p, "rest8u"), max(8, len(str(p.a)), len(str(p.b)))
    lines, plain = text.splitlines(), render(p, "rest8").splitlines()
    own = str.maketrans(GREEK_LOWER[: frame + 1], LAST_LINE_MARKS[: frame + 1])
    assert lines[: frame - 1] == plain[: frame - 1] and lines[2 * frame:] == plain[2 * frame:]
    assert lines[frame - 1: 2 * frame] == [x.translate(own) for x in plain[frame - 1: 2 * frame]]
    assert lines[frame - 1] != plain[frame - 1]
    assert text.count(LAST_LINE_MARKS[0]) == 1
    assert all(text.count(m) == 2 for m in LAST_LINE_MARKS[1: frame + 1])
    assert check(p, "rest8u", text).correct
    first = lines[frame]  # the first gather: its digit is group 1's sum ones on the last long line
    lines[frame] = first[:2] + str((int(first[2]) + 1) % 10) + first[3:]
    res = check(p, "rest8u", "\n".join(lines))
    assert (res.step, res.error) == (frame, "copy"), res
