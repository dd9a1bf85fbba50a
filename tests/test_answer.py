"""Answer extraction: strict and flexible apart, None when nothing is there, every claimed format read back."""

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mathcoach.problems.answer import ANSWER_VERSION, extract, is_refusal, matches, normalize_number


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def _styles(n: Decimal) -> list[str]:
    sign = "-" if n < 0 else ""
    s = format(abs(n), "f")
    whole, _, frac = s.partition(".")
    frac = "." + frac if frac else ""
    forms = [f"{sign}{whole}{frac}", f"{sign}{_group(whole, ',')}{frac}", f"{sign}{_group(whole, ' ')}{frac}"]
    out = []
    for f in forms:
        out += [f"Answer: {f}", f"**Answer:** {f}.", f"The answer is **{f}**.", f"so \\boxed{{{f}}}",
                f"work...\n#### {f}", f"Final answer: {f}", f"blah 7 blah\nThe answer is {f}"]
    return out


numbers = st.one_of(
    st.integers(-10**12, 10**12).map(Decimal),
    st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
)


@given(numbers)
@settings(max_examples=300)
def test_every_supported_number_format_round_trips(n):
    want = normalize_number(str(n))
    for text in _styles(n):
        got = extract(text)
        assert got.strict == want, (text, got)
        assert got.flexible == want, (text, got)
        assert matches(got.strict, str(n))


@given(st.text(max_size=500))
@example("REFUSED:")  # a refusal line without digits: no number, and a refusal
@settings(max_examples=500)
def test_extraction_never_raises_and_finds_nothing_without_digits(text):
    e = extract(text)
    p = extract(text, pair=True)
    if not any(c.isdigit() for c in text):
        # no number either way; a text whose last line starts "Refused:" (hypothesis found "REFUSED:") is a refusal
        assert e == p == type(e)(None, None, refused=is_refusal(text))


def test_no_answer_is_none_never_zero():
    assert extract("I am not sure.").strict is None
    assert extract("I am not sure.").flexible is None
    assert extract("").strict is None and extract(None).flexible is None
    assert not matches(None, "0")


def test_strict_and_flexible_are_reported_separately():
    e = extract("The answer is 12. But wait, maybe 13")
    assert (e.strict, e.flexible) == ("12", "13")
    e = extract("37 times 82 is 3034")
    assert (e.strict, e.flexible) == (None, "3034")


def test_last_anchored_answer_wins_and_minus_signs_are_not_stolen():
    assert extract("Answer: 5\nActually, Answer: 6").strict == "6"
    assert extract("10 - 5").flexible == "5"
    assert extract("The answer is -5").strict == "-5"


def test_quotient_remainder_pairs():
    for text in ("Answer: 380 R 13", "The answer is 380 remainder 13.", "Answer: 380 r13", "\\boxed{380 R 13}"):
        assert extract(text, pair=True).strict == "380 R 13", text
    assert matches("380 R 13", "380 R 13") and not matches("380 R 12", "380 R 13")


def test_numeric_equality_ignores_representation():
    assert matches("5.0", "5") and matches("1,000", "1000") and not matches("5.01", "5")
    assert ANSWER_VERSION
