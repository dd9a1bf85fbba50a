"""benchmarks/fused_fields.py counts a right trace as right everywhere and pins a slip to its field."""


from mathcoach.problems.problem import Problem
from mathcoach.problems.traces import render

from .helpers.bench import load

fused_fields = load("fused_fields")


def _row(a: int, b: int, text: str) -> dict:
    return {"id": "not-parsed", "op": "mul", "a": a, "b": b, "completion": text, "correct": False}


def _problem(a: int, b: int) -> Problem:
    return Problem(id=f"mul-{a}-{b}", op="mul", a=a, b=b, answer=str(a * b), digits_a=len(str(a)),
                   digits_b=len(str(b)), question=f"What is {a} * {b}?", phrasing="what_is", seed=0)


def test_a_right_trace_is_right_in_every_field():
    c = fused_fields.fields([_row(a, b, render(_problem(a, b), "fused")) for a, b in ((16, 88), (890402, 373235))])
    names = {k for k, _ in c}
    assert {"label", "a line 0, digit of the number", "d", "t with d = 0", "t with d > 0"} <= names
    assert all(c[name, "ok"] == c[name, "n"] > 0 for name in names)


def test_a_wrong_ones_digit_is_counted_once_as_a_product_error():
    text = render(_problem(16, 88), "fused")
    slipped = text.replace("Α8=α6848", "Α8=α6847", 1)  # first group of line 0: 6 * 8 = 48 written as 47
    c = fused_fields.fields([_row(16, 88, slipped)])
    assert c["t with d > 0", "n"] - c["t with d > 0", "ok"] == 1 and c["t with d > 0", "ones wrong"] == 1
    wrong_a = c["a line 0, digit of the number", "n"] - c["a line 0, digit of the number", "ok"]
    assert wrong_a == 0 and c["label", "ok"] == c["label", "n"] and c["d", "ok"] == c["d", "n"]


def test_a_group_that_copies_the_line_digit_wrongly_is_a_d_error():
    slipped = render(_problem(16, 88), "fused").replace("β1812", "β1712", 1)  # line 0, second group: d 8 -> 7
    c = fused_fields.fields([_row(16, 88, slipped)])
    assert c["d", "n"] - c["d", "ok"] == 1


def test_staged_products_and_additions_are_judged_apart():
    """A wrong product counts against p only; the addition after it is judged on the product the model wrote."""
    text = render(_problem(16, 88), "staged")
    assert fused_fields.fields([_row(16, 88, text)])["p = a * d", "ok"] == 72
    slipped = text.replace("Α8=α684848", "Α8=α684747", 1)  # line 0, first group: 6 * 8 written 47, then 47 + 0 + 0
    c = fused_fields.fields([_row(16, 88, slipped)])
    assert c["p = a * d", "n"] - c["p = a * d", "ok"] == 1
    assert c["t with d > 0", "ok"] == c["t with d > 0", "n"]  # 47 + 0 + 0 = 47 is a right addition


def test_a_line_with_an_extra_group_stops_the_reading_instead_of_crashing():
    lines = render(_problem(16, 88), "staged").splitlines()
    lines[1] = lines[1].replace(" 08", "η000000 08", 1)  # line 1 grows a seventh group
    c = fused_fields.fields([_row(16, 88, "\n".join(lines))])
    assert c["lines of the wrong length", "n"] == 1 and c["label", "n"] == 2


def test_carryout8_short_lines_and_the_answer_field_are_judged():
    text = render(_problem(16, 88), "carryout8")
    c = fused_fields.fields([_row(16, 88, text), {"a": None, "b": None, "completion": "Refused: x", "correct": True}])
    assert c["shift", "n"] == 8 * 9 and c["shift", "ok"] == c["shift", "n"]
    assert c["field", "n"] == 16 and c["field", "ok"] == 16
    lines = text.splitlines()
    lines[8] = lines[8].replace("Ι=α0", "Ι=α3", 1)  # the first short line's first digit: 0 copied as 3
    c = fused_fields.fields([_row(16, 88, "\n".join(lines))])
    assert c["shift", "n"] - c["shift", "ok"] == 1 and c["field", "n"] - c["field", "ok"] == 1


def test_copy8_operand_line_is_judged_digit_by_digit_and_the_lines_after_it_as_carryout8():
    text = render(_problem(16, 88), "copy8")
    c = fused_fields.fields([_row(16, 88, text)])
    assert (c["copy a, digit", "n"], c["copy a, padding", "n"], c["copy b, digit", "n"]) == (2, 6, 2)
    assert all(c[k, "ok"] == c[k, "n"] for k in ("copy a, digit", "copy a, padding", "label", "field"))
    assert c["label", "n"] == 8  # the lines after the operand line are read as carryout8's, labels from line 0
    c = fused_fields.fields([_row(16, 88, text.replace("a=00000016", "a=00000061", 1))])
    assert c["copy a, digit", "n"] - c["copy a, digit", "ok"] == 2 and c["copy a, padding", "ok"] == 6


def test_by_line_files_a_wrong_label_under_its_line_and_keeps_the_totals():
    a, b = 5264, 1224604
    text = render(_problem(a, b), "carryout8")
    lines = text.splitlines()
    assert lines[3].startswith("Δ4=")  # line 3 reads the second number's digit at place 3
    lines[3] = "Δ0=" + lines[3][3:]
    row = _row(a, b, "\n".join(lines))
    whole, split = fused_fields.fields([row]), fused_fields.fields([row], by_line=True)
    assert split["label, line 3", "n"] == 1 and split["label, line 3", "ok"] == 0
    assert split["label, line 2", "ok"] == split["label, line 2", "n"] == 1
    assert sum(split[f"label, line {k}", "n"] for k in range(8)) == whole["label", "n"] == 8
    assert whole["label", "ok"] == 7


def test_trimmed8_answer_is_judged_against_what_the_last_long_line_implies():
    a, b = 98765432, 99999999
    text = render(_problem(a, b), "trimmed8")
    c = fused_fields.fields([_row(a, b, text), _row(16, 88, render(_problem(16, 88), "carryout8"))])
    assert c["answer, read off the last line", "n"] == 2 and c["answer, read off the last line", "ok"] == 2
    assert c["label", "n"] == 16 and c["label", "ok"] == 16  # 8 long lines in each
    wrong = text.replace(f"Answer: {a * b}".replace("Answer: ", "Answer: " + " " * (16 - len(str(a * b)))),
                         "Answer: " + " " * (16 - len(str(a * b))) + str(a * b + 10**9))
    assert wrong != text
    c = fused_fields.fields([_row(a, b, wrong)])
    assert c["answer, read off the last line", "ok"] == 0 and c["field", "ok"] == c["field", "n"] == 8
    # the slip is in place 9, one of the places read off the groups: the field's places stay right
    assert c["answer digit, places 8-15", "n"] == 8 and c["answer digit, places 8-15", "ok"] == 7
    assert c["answer digit, places 0-7 (the field)", "ok"] == c["answer digit, places 0-7 (the field)", "n"] == 8


def test_gathered8_short_lines_are_judged_by_mark_digit_and_field_and_the_answer_against_them():
    """A right `gathered8` trace is right in every gather field; a wrong digit read by mark counts once as a read,
    and the Answer line that copies the model's own (wrong) last field is judged a right copy of it."""
    a, b = 28540842, 86200820
    text = render(_problem(a, b), "gathered8")
    c = fused_fields.fields([_row(a, b, text)])
    for name in ("gather, mark", "gather, digit", "gather, field"):
        assert c[name, "ok"] == c[name, "n"] == 8
    assert c["answer, read off the last line", "ok"] == 1 and c["answer digit, places 8-15", "ok"] == 8
    lines = text.splitlines()
    assert lines[10] == "δ=43983890440_____"  # group δ's sum ones is 4: read as 5, and carried into every field
    for k in range(10, 16):
        head, rest = lines[k].split("=")
        lines[k] = head + "=" + rest[: k - 10] + "5" + rest[k - 9 :]
    lines[16] = lines[16].replace(str(a * b), str(a * b + 10**10))
    c = fused_fields.fields([_row(a, b, "\n".join(lines))])
    assert c["gather, digit", "n"] - c["gather, digit", "ok"] == 1
    assert c["gather, field", "ok"] == c["gather, field", "n"] and c["gather, mark", "ok"] == 8
    assert c["answer, read off the last line", "ok"] == 1  # a right copy of the model's own field


def test_rest8_labels_are_judged_as_copies_of_the_frame_and_of_the_label_above():
    """A right `rest8` trace is right in every label copy; one wrong digit in line 2's label counts once as a wrong
    copy (line 3 copies the model's own label, so it is judged right) and, being the line's d, once as a label."""
    a, b = 28540842, 86200820
    text = render(_problem(a, b), "rest8")
    c = fused_fields.fields([_row(a, b, text)])
    assert c["label, rest of b copied", "ok"] == c["label, rest of b copied", "n"] == 8
    assert c["label", "ok"] == c["label", "n"] == 8
    assert c["gather, digit", "ok"] == 8 and c["answer, read off the last line", "ok"] == 1
    lines = text.splitlines()
    assert lines[2].startswith("Γ00862008=")
    lines[2] = "Γ00862009=" + lines[2].split("=", 1)[1]
    lines[3] = "Δ00086200=" + lines[3].split("=", 1)[1]
    c = fused_fields.fields([_row(a, b, "\n".join(lines))])
    assert c["label, rest of b copied", "n"] - c["label, rest of b copied", "ok"] == 1
    assert c["label", "n"] - c["label", "ok"] == 1


def test_rest8u_gathers_are_judged_against_the_last_long_lines_own_marks():
    """`rest8u`'s gather lines name the last long line's own marks: a right trace is right in every gather field,
    and a gather line that names a Greek mark instead counts as a wrong mark."""
    a, b = 28540842, 86200820
    text = render(_problem(a, b), "rest8u")
    c = fused_fields.fields([_row(a, b, text)])
    for name in ("gather, mark", "gather, digit", "gather, field"):
        assert c[name, "ok"] == c[name, "n"] == 8
    lines = text.splitlines()
    lines[8] = "β" + lines[8][1:]
    c = fused_fields.fields([_row(a, b, "\n".join(lines))])
    assert c["gather, mark", "n"] - c["gather, mark", "ok"] == 1 and c["gather, digit", "ok"] == 8


def test_rest9_reads_its_ninth_long_line_and_seven_gathers():
    """`rest9`'s ninth long line (label 0...0, d = 0) is judged as any long line, and its 7 gather lines against
    that line's groups: a right trace is right in every field, and a gathered digit one off counts once."""
    a, b = 28540842, 86200820
    text = render(_problem(a, b), "rest9")
    c = fused_fields.fields([_row(a, b, text)])
    assert c["label, rest of b copied", "ok"] == c["label, rest of b copied", "n"] == 9
    assert c["t with d = 0", "n"] > 0 and c["t with d = 0", "ok"] == c["t with d = 0", "n"]
    for name in ("gather, mark", "gather, digit", "gather, field"):
        assert c[name, "ok"] == c[name, "n"] == 7
    assert c["answer, read off the last line", "ok"] == 1
    lines = text.splitlines()
    lines[9] = lines[9][:2] + str((int(lines[9][2]) + 1) % 10) + lines[9][3:]
    c = fused_fields.fields([_row(a, b, "\n".join(lines))])
    assert c["gather, digit", "n"] - c["gather, digit", "ok"] == 1


def test_places_counts_the_gathered_field_and_the_answer_line_by_place():
    """--places: a right `rest9z` trace is right at every place; a wrong 15th digit in the Answer line counts there
    only, and a wrong 16th digit in the last gather line counts against the field there while an Answer line that
    copies it still equals its own field. `rest9`'s blanked zeros count as equal to the field's zeros."""
    a, b = 88663266, 58314557  # a 16-digit product
    text = render(_problem(a, b), "rest9z")
    c = fused_fields.places([_row(a, b, text), _row(16, 88, render(_problem(16, 88), "rest9"))])
    assert c["rows", 0] == 2 and all(c["field", j] == c["answer", j] == 2 for j in range(1, 17))
    lines = text.splitlines()
    lines[-1] = lines[-1][:-15] + str((int(lines[-1][-15]) + 1) % 10) + lines[-1][-14:]
    c = fused_fields.places([_row(a, b, "\n".join(lines))])
    assert c["answer", 15] == 0 and all(c["answer", j] == 1 for j in range(1, 17) if j != 15)
    lines = text.splitlines()
    top = str((int(lines[-2][2]) + 1) % 10)
    lines[-2], lines[-1] = lines[-2][:2] + top + lines[-2][3:], lines[-1][:-16] + top + lines[-1][-15:]
    c = fused_fields.places([_row(a, b, "\n".join(lines))])
    assert c["field", 16] == 0 and c["answer", 16] == 1 and c["field", 15] == 1


def test_adds_splits_the_additions_by_carry_in_and_overflowing_ones():
    """--adds: the d > 0 additions of a right trace are filed by kind, every kind right and together the unsplit
    count; a slip in a group with a carry in whose ones overflow counts against that kind only."""
    a, b = 16, 88  # line 0: 6 * 8 = 48 (no carry in, ones fit), then 1 * 8 + 0 + 4 = 12 (carry in, ones overflow)
    text = render(_problem(a, b), "staged")
    plain, split = fused_fields.fields([_row(a, b, text)]), fused_fields.fields([_row(a, b, text)], adds=True)
    kinds = [k for k, f in split if f == "n" and k.startswith("t with d > 0, ")]
    assert len(kinds) >= 3 and sum(split[k, "n"] for k in kinds) == plain["t with d > 0", "n"]
    assert all(split[k, "ok"] == split[k, "n"] for k in kinds)
    lines = text.splitlines()
    # line 1, group β: 1 * 8 = 08, plus r = 1 (line 0's group γ, 01) and c = 5 (group α's 50): 14, a carry in whose
    # ones overflow (8 + 1 + 5); written 15
    assert lines[1].startswith("Β8=α684850β180814")
    lines[1] = lines[1].replace("β180814", "β180815", 1)
    c = fused_fields.fields([_row(a, b, "\n".join(lines))], adds=True)
    kind = "t with d > 0, carry in, ones overflow"
    assert c[kind, "n"] - c[kind, "ok"] == 1 and c[kind, "ones wrong"] == 1
    assert all(c[k, "ok"] == c[k, "n"] for k in kinds if k != kind)
