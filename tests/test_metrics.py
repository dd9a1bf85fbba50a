"""Evaluation statistics against hand-computed values."""

import math

from mathcoach.eval.metrics import digit_match, fisher_exact, majority, mcnemar, pass_at_k, wilson


def test_wilson_matches_the_textbook_values():
    p, lo, hi = wilson(37, 50)
    assert p == 0.74 and abs(lo - 0.6042) < 1e-3 and abs(hi - 0.8413) < 1e-3
    assert wilson(0, 10)[1] == 0.0 and wilson(10, 10)[2] == 1.0 and 0 < wilson(0, 10)[2] < 0.35
    assert math.isnan(wilson(0, 0)[0])


def test_pass_at_k_is_unbiased_and_bounded():
    assert pass_at_k(10, 0, 5) == 0.0 and pass_at_k(10, 10, 1) == 1.0
    assert abs(pass_at_k(10, 3, 1) - 0.3) < 1e-12
    assert abs(pass_at_k(4, 1, 2) - 0.5) < 1e-12  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(5, 4, 2) == 1.0


def test_majority_ignores_missing_and_breaks_ties_by_order():
    assert majority([None, "5", "6", "6"]) == "6"
    assert majority(["7", "8"]) == "7"
    assert majority([None, None]) is None


def test_mcnemar_exact():
    assert mcnemar(0, 0) == 1.0
    assert abs(mcnemar(0, 6) - 2 / 64) < 1e-12
    assert abs(mcnemar(3, 3) - 1.0) < 1e-12
    assert mcnemar(10, 0) < 0.01


def test_digit_match():
    assert digit_match("3034", "3034") == 1.0
    assert digit_match("3044", "3034") == 0.75
    assert digit_match(None, "3034") == 0.0 and digit_match("99999999", "1") == 0.0


def test_fisher_exact_two_sided():
    # 3/4 against 1/4: the tables as likely or less are x = 0, 1, 3, 4 of hypergeometric(8, 4, 4): (1+16+16+1)/70
    assert abs(fisher_exact(3, 4, 1, 4) - 34 / 70) < 1e-12
    assert abs(fisher_exact(2, 4, 2, 4) - 1.0) < 1e-12  # every table as likely or less
    assert fisher_exact(10, 10, 0, 10) < 1e-4  # 2 / C(20, 10)
    assert abs(fisher_exact(1, 4, 3, 4) - fisher_exact(3, 4, 1, 4)) < 1e-12  # symmetric in the two samples
