"""Problem generation: cells, determinism, leak-proof splits, phrasings, small-cell behaviour."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathcoach.problems.generate import SpecError, generate, parse_cells, split_of
from mathcoach.problems.phrasings import PHRASINGS
from mathcoach.problems.problem import canonical_pair


def test_parse_cells():
    assert parse_cells("1-2") == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert parse_cells("4x4,5x3") == [(4, 4), (5, 3)]
    assert parse_cells("3") == [(3, 3)]
    for bad in ("0-3", "2-1", "17x1", "", "abc", "4x"):
        with pytest.raises(SpecError):
            parse_cells(bad)


@given(st.sampled_from(["mul", "add", "sub", "div"]), st.integers(0, 10**6), st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_splits_never_share_a_canonical_pair(op, seed_a, seed_b):
    cells = parse_cells("1-3")
    seen = {}
    for split, seed in (("train", seed_a), ("val", seed_b), ("test", seed_a + 1)):
        for p in generate(op, cells, 60, split, seed).problems:
            key = canonical_pair(op, p.a, p.b)
            assert seen.setdefault(key, split) == split, (p, seen[key])
            assert split_of(op, p.a, p.b) == split == p.split


def test_a_times_b_and_b_times_a_share_a_split():
    for a in range(1, 200, 7):
        for b in range(1, 200, 11):
            assert split_of("mul", a, b) == split_of("mul", b, a)
            assert split_of("add", a, b) == split_of("add", b, a)


def test_split_fractions_are_about_80_10_10():
    counts = {"train": 0, "val": 0, "test": 0}
    for a in range(100, 400):
        for b in range(100, 200):
            counts[split_of("mul", a, b)] += 1
    total = sum(counts.values())
    assert abs(counts["test"] / total - 0.1) < 0.01 and abs(counts["val"] / total - 0.1) < 0.01


def test_generation_is_deterministic_and_cells_are_independent():
    one = generate("mul", parse_cells("2-3"), 50, "train", 7).problems
    two = generate("mul", parse_cells("2-3"), 50, "train", 7).problems
    assert one == two
    alone = [p for p in generate("mul", [(3, 3)], 50, "train", 7).problems]
    assert alone == [p for p in one if p.cell == "3x3"]
    assert one != generate("mul", parse_cells("2-3"), 50, "train", 8).problems


def test_cells_counts_digits_and_uniqueness():
    gen = generate("mul", parse_cells("4x4,5x3,2x6"), 200, "test", 0)
    by_cell = {}
    for p in gen.problems:
        by_cell.setdefault(p.cell, []).append(p)
        assert (len(str(p.a)), len(str(p.b))) == (p.digits_a, p.digits_b)
        assert p.answer == str(p.a * p.b)
    assert {c: len(v) for c, v in by_cell.items()} == {"4x4": 200, "5x3": 200, "2x6": 200}
    keys = [(p.cell, canonical_pair("mul", p.a, p.b)) for p in gen.problems]
    assert len(keys) == len(set(keys))


def test_small_cells_repeat_in_train_and_stop_short_in_test():
    train = generate("mul", [(1, 1)], 100, "train", 0)
    test = generate("mul", [(1, 1)], 100, "test", 0)
    assert len(train.problems) == 100 and train.cells[0].repeated > 0 and train.cells[0].note
    assert len(test.problems) < 100 and test.cells[0].note
    assert len({(p.a, p.b) for p in test.problems}) == len(test.problems)


def test_phrasings_and_hold_out():
    gen = generate("mul", parse_cells("3"), 300, "train", 0, phrasings=[p for p in PHRASINGS["mul"] if p != "x_equals"])
    used = {p.phrasing for p in gen.problems}
    assert "x_equals" not in used and len(used) == len(PHRASINGS["mul"]) - 1
    held = generate("mul", parse_cells("3"), 20, "test", 0, phrasings=["x_equals"]).problems
    assert all(p.question == f"{p.a} x {p.b} = ?" for p in held)
    # the phrasing stream is separate: holding a phrasing out does not change which operands are drawn
    plain = generate("mul", parse_cells("3"), 300, "train", 0).problems
    assert [(p.a, p.b) for p in plain] == [(p.a, p.b) for p in gen.problems]


def test_division_never_divides_by_zero_and_subtraction_can_go_negative():
    div = generate("div", parse_cells("1-3"), 30, "train", 0).problems
    assert all(p.b > 0 and p.answer == f"{p.a // p.b} R {p.a % p.b}" for p in div)
    sub = generate("sub", parse_cells("1-3"), 30, "train", 0).problems
    assert any(p.answer.startswith("-") for p in sub)
