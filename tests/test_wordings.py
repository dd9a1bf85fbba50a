"""Free and held-out wordings, refusals, thousands separators in the place-token template, and how the one answer
checker scores a refusal (issue 18)."""

import hashlib
import json
import random
import re
import subprocess
import sys

import pytest

from mathcoach.eval.score import aggregate, score_sample
from mathcoach.models.base import Completion
from mathcoach.problems import answer as ans
from mathcoach.problems.dataset import Item, read_items
from mathcoach.problems.wordings import (
    _R, _T_FRAMES, _U_FRAMES, REFUSAL_KINDS, TWIN_KINDS, UNSEEN_KINDS, group, product_of_two, refusal_question,
    render_wording, wording_ids,
)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "mathcoach", *args], capture_output=True, text=True)


def skeleton(text: str) -> str:
    return re.sub(r"\d+(?:[,'_\u202f ]\d{3})*", "N", text.lower()).strip()


@pytest.mark.parametrize("phrasing", wording_ids())
def test_every_wording_holds_both_operands_and_is_reproducible(phrasing):
    rng = random.Random(phrasing)
    for _ in range(60):
        a, b = rng.randint(1, 10**8 - 1), rng.randint(1, 10**8 - 1)
        q = render_wording(phrasing, a, b)
        assert q == render_wording(phrasing, a, b)
        assert product_of_two(q) in ((a, b), (b, a)), q


def test_held_out_wordings_share_no_frame_with_training():
    train = {skeleton(f.format(a=1, b=2, t=t)) for f in _T_FRAMES for t in ("times", "x", "*", "×", "·")}
    held = [f for fs in _U_FRAMES.values() for f in fs]
    shared = {skeleton(f.format(a=1, b=2)) for f in held} & train
    assert not shared
    # and no generated held-out question has the skeleton of any generated training question
    seen_train = {skeleton(render_wording(g, a, 7)) for g in ("free", "free:wide", "free:wrap")
                  for a in range(1, 3000)}
    for kind in UNSEEN_KINDS:
        for a in range(1, 300):
            s = skeleton(render_wording(f"unseen:{kind}", a, 7))
            assert s not in seen_train, (kind, s)


def test_refusal_questions_are_never_a_plain_product_of_two_whole_numbers():
    rng = random.Random(0)
    for kind in REFUSAL_KINDS:
        for grammar in ("train", "unseen"):
            for _ in range(30):
                q = refusal_question(grammar, kind, rng)
                if kind in ("three", "decimal", "negative", "no_numbers"):
                    assert product_of_two(q) is None, (kind, q)
    held = {skeleton(f) for fs in _R.values() for f in fs[1]}
    assert not held & {skeleton(f) for fs in _R.values() for f in fs[0]}


def test_group_writes_thousands():
    assert group(4821) == "4,821" and group(1234567, " ") == "1 234 567" and group(12) == "12"


def test_the_checker_reads_a_refusal_as_no_answer():
    e = ans.extract("Line 12 = 48\n" + ans.REFUSAL)
    assert (e.strict, e.flexible, e.refused) == (None, None, True)
    assert ans.judge(e, ans.REFUSE) and not ans.judge(e, "48")
    plain = ans.extract("Answer: 48")
    assert not plain.refused and ans.judge(plain, "48") and not ans.judge(plain, ans.REFUSE)
    assert not ans.matches("48", ans.REFUSE)


def test_scoring_refusals_and_false_refusals():
    must = Item("r1", "What is 3 plus 4?", ans.REFUSE, None, "refusal", tag="add")
    must2 = Item("r2", "Hello!", ans.REFUSE, None, "refusal", tag="no_numbers")
    product = Item("p1", "What is 6 x 7?", "42", None, "question")
    rows = []
    for it, text in ((must, ans.REFUSAL), (must2, "Answer: 7"), (product, ans.REFUSAL)):
        row = score_sample(it, "plain", Completion(text=text))
        rows.append({"id": it.id, "sample": 0, "gold": it.answer, "cell": None, "phrasing": it.tag, **row})
    assert [r["correct"] for r in rows] == [True, False, False]
    assert rows[2]["strict"] is None and rows[2]["refused"]
    agg = aggregate(rows, 1)
    assert agg["refusals"]["must_refuse"] == 2 and agg["refusals"]["refused"] == 1
    assert agg["refusals"]["false_refusals"] == 1
    assert agg["cells"]["refusal"]["correct"] == 1 and set(agg["phrasings"]) == {"add", "no_numbers", "unlabelled"}


def test_data_writes_refusals_split_by_text(tmp_path):
    out = {}
    for split in ("train", "val"):
        path = tmp_path / f"{split}.jsonl"
        r = cli("data", "--op", "mul", "--digits", "2", "--per-cell", "5", "--split", split, "--format",
                "carryout8", "--phrasing", "free", "--refusals", "80", "-o", str(path))
        assert r.returncode == 0, r.stderr
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        refusals = [r for r in rows if r["meta"].get("answer") == ans.REFUSE]
        assert len(refusals) == 80 and len(rows) == 85
        assert {r["meta"]["kind"] for r in refusals} == set(REFUSAL_KINDS)
        assert all(r["messages"][-1]["content"] == ans.REFUSAL for r in refusals)
        items = read_items(str(path))
        assert sum(it.answer == ans.REFUSE for it in items) == 80
        out[split] = {" ".join(r["messages"][0]["content"].lower().split()) for r in refusals}
    assert not out["train"] & out["val"]
    held = tmp_path / "held.jsonl"
    r = cli("data", "--op", "mul", "--digits", "2", "--per-cell", "3", "--split", "test", "--format", "carryout8",
            "--phrasing", "unseen", "--refusals", "16", "-o", str(held))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in held.read_text().splitlines()]
    assert {r["meta"]["grammar"] for r in rows if "grammar" in r["meta"]} == {"unseen"}
    assert {r["meta"]["phrasing"] for r in rows if "phrasing" in r["meta"]} <= {f"unseen:{k}" for k in UNSEEN_KINDS}


def test_refusal_numbers_span_the_digits_asked_for(tmp_path):
    """A refusal's numbers drawn from 1..--refusal-digits digits: with refusals of 1-4 digits beside products of
    1-8, mathcoach-mul's eighth attempt refused every product of up to 4 digits (RESULTS.md, 2026-12-06)."""
    import re

    lengths = {}
    for digits in (4, 8):
        path = tmp_path / f"r{digits}.jsonl"
        r = cli("data", "--op", "mul", "--digits", "1", "--per-cell", "0", "--split", "train", "--format", "rest8",
                "--phrasing", "free", "--refusals", "300", "--refusal-digits", str(digits), "-o", str(path))
        assert r.returncode == 0, r.stderr
        qs = [json.loads(line)["messages"][0]["content"] for line in path.read_text().splitlines()]
        lengths[digits] = {len(n.replace(",", "")) for q in qs for n in re.findall(r"\d[\d,]*", q)}
    assert max(lengths[4]) == 4 and max(lengths[8]) == 8 and {5, 6, 7} <= lengths[8]
    path = tmp_path / "r58.jsonl"
    r = cli("data", "--op", "mul", "--digits", "1", "--per-cell", "0", "--split", "train", "--format", "rest8",
            "--phrasing", "free", "--refusals", "300", "--refusal-min-digits", "5", "--refusal-digits", "8",
            "-o", str(path))
    assert r.returncode == 0, r.stderr
    qs = [json.loads(line)["messages"][0]["content"] for line in path.read_text().splitlines()]
    # a decimal's fraction (".37") is 1-2 digits by design; every whole number is 5-8
    whole = {len(n.replace(",", "")) for q in qs for n in re.findall(r"(?<![.\d,])\d[\d,]*", q)}
    assert whole == {5, 6, 7, 8}, whole


def test_twins_swap_the_cue_and_share_nothing_with_the_held_out_frames():
    """A twin is a product-grammar question whose multiplication cue is gone; the held-out refusal frames' words
    stay out, so that set still measures unseen wordings."""
    cue = re.compile(r"times|multipl|product|(?<![a-z])[x×·*](?![a-z])")
    held_words = {"total", "removed", "split", "go into", "farmer", "students", "pencils", "in all"}
    twins = random.Random(5)
    for kind in TWIN_KINDS:
        for _ in range(40):
            q = refusal_question("train", kind, twins, 8, twins=1.0)
            words = re.sub(r"\d", "", q.lower())
            assert not cue.search(words), q
            assert not any(w in words for w in held_words), q


def test_without_twins_a_data_file_is_byte_identical_to_the_version_before_them(tmp_path):
    """Products and refusals at --refusal-twins 0 (the default) and --refusal-min-digits 1: the sha256 is the one
    this command wrote at f8b01f3, before twins and the shortest length existed."""
    path = tmp_path / "pin.jsonl"
    r = cli("data", "--op", "mul", "--digits", "1-3", "--per-cell", "2", "--split", "train", "--format", "rest8",
            "--phrasing", "free", "--refusals", "60", "--refusal-digits", "8", "-o", str(path))
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == (
        "21c4b1f793625da0f3e652d444fb5fbfbea4fcf7a45cc04e38f19f1a1e07d6c9")


def test_data_refusal_twins_add_the_no_cue_kind(tmp_path):
    kinds = {}
    for share in ("0", "0.5"):
        path = tmp_path / f"t{share}.jsonl"
        r = cli("data", "--op", "mul", "--digits", "1", "--per-cell", "0", "--split", "train", "--format", "rest8",
                "--phrasing", "free", "--refusals", "90", "--refusal-twins", share, "-o", str(path))
        assert r.returncode == 0, r.stderr
        kinds[share] = {json.loads(line)["meta"]["kind"] for line in path.read_text().splitlines()}
    assert kinds["0"] == set(REFUSAL_KINDS) and kinds["0.5"] == set(REFUSAL_KINDS) | {"no_cue"}


def test_busy_wording_puts_text_around_most_questions_and_no_held_out_word(tmp_path):
    from mathcoach.problems.wordings import _HELD_OUT_WORDS, _NOISE, _NOISE_BUSY

    def words(q):
        return len(q.split())

    pairs = [(a, 7 * a + 1) for a in range(1, 400)]
    free = [render_wording("free", a, b) for a, b in pairs]
    busy = [render_wording("free:busy", a, b) for a, b in pairs]
    assert sum(map(words, busy)) / len(busy) > sum(map(words, free)) / len(free) + 4
    # the busy text's own words are never the held-out grammar's, so that set still measures unseen text
    assert not (set(_NOISE_BUSY) - set(_NOISE)) & _HELD_OUT_WORDS
    assert "free" in wording_ids() and "free:busy" in wording_ids()
    # and refusals in a busy file wear the same text: otherwise its length would tell them from products
    lengths = {}
    for phrasing in ("free", "free:busy"):
        path = _training_file(tmp_path, phrasing, "1", 0, 120)
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert {row["meta"]["kind"] for row in rows} == set(REFUSAL_KINDS) | {"no_cue"}
        lengths[phrasing] = sum(words(row["messages"][0]["content"]) for row in rows) / len(rows)
    assert lengths["free:busy"] > lengths["free"] + 3


@pytest.mark.parametrize("args, needle", [
    (["--refusals", "3", "--refusal-twins", "1.5"], "refusal-twins"),
    (["--refusals", "3", "--refusal-min-digits", "5", "--refusal-digits", "4"], "refusal-min-digits"),
    (["--phrasing", "unseen:nope"], "phrasing"),
    (["--refusals", "-1"], "refusals"),
    (["--op", "add", "--refusals", "3"], "refusals"),
    (["--refusals", "3", "--refusal-digits", "0"], "refusal-digits"),
])
def test_bad_wording_settings_are_one_line(tmp_path, args, needle):
    out = tmp_path / "x.jsonl"
    r = cli("data", "--digits", "2", "--per-cell", "2", *args, "-o", str(out))
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_the_place_token_template_reads_grouped_numbers_as_one():
    from mathcoach.train.scratch import char_tokenizer

    tok = char_tokenizer([], "tokens")

    def render(q):
        text = tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
        return text.split("\n", 1)[1].split("<|im_end|>")[0]

    plain = render("What is 4821 x 1234567?")
    for sep in (",", " ", "\u202f", "'", "_"):
        assert render(f"What is {group(4821, sep)} x {group(1234567, sep)}?") == plain
    assert render("a 12, 34") != render("a 1234")  # a comma and a space is a list, not a thousands separator
    assert render("1,2345").count(",") == 1 and render("2.5 x 3").count(".") == 1


def _training_file(tmp_path, phrasing: str, digits: str, per_cell: int, refusals: int):
    """A `rest8` training file of products and refusals (half the twin kinds twins) in ``phrasing``."""
    path = tmp_path / f"{phrasing}.jsonl"
    r = cli("data", "--op", "mul", "--digits", digits, "--per-cell", str(per_cell), "--split", "train", "--format",
            "rest8", "--phrasing", phrasing, "--refusals", str(refusals), "--refusal-twins", "0.5", "-o", str(path))
    assert r.returncode == 0, r.stderr
    return path


def _questions(path):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    products = [r["messages"][0]["content"] for r in rows if r["meta"].get("source") != "refusal"]
    refusals = [r["messages"][0]["content"] for r in rows if r["meta"].get("source") == "refusal"]
    return products, refusals


def test_wide_wording_leaves_no_mark_that_only_refusals_hold(tmp_path):
    # the operations' own symbols, a decimal point and the no-cue twins' signs may tell a refusal; nothing else may
    cues = set("+-−÷/.^%&=") | set("0123456789")
    only = {}
    for phrasing in ("free", "free:wide", "free:wrap"):
        products, refusals = _questions(_training_file(tmp_path, phrasing, "1-4", 40, 600))
        only[phrasing] = set("".join(refusals)) - set("".join(products)) - cues
        # the refusals wear the same variation as the products: a wrap's mark shows in both
        assert any(";" in q for q in refusals) and any("{" in q for q in refusals) or phrasing == "free"
    assert {";", "("} <= only["free"]  # the nineteenth attempt's training file: those marks meant "refuse"
    for phrasing in ("free:wide", "free:wrap"):
        assert not {c for c in only[phrasing] if not c.isalpha()}, (phrasing, only[phrasing])


@pytest.mark.parametrize("phrasing", ["free:wide", "free:wrap"])
def test_wide_wording_keeps_the_held_out_symbols_and_words_unseen(phrasing):
    from mathcoach.problems.wordings import _ASIDE_WORDS, _HELD_OUT_WORDS

    assert not set(_ASIDE_WORDS) & _HELD_OUT_WORDS
    qs = [render_wording(phrasing, a, 3 * a + 7) for a in range(1, 4000)]
    # "({a}) × ({b})" and "[{a} x {b}]" stay held out: no number alone in brackets, no square bracket at all
    assert not [q for q in qs if re.search(r"\([\d,\u202f ]+\)|\[", q)]
    assert sum(";" in q or "(" in q or "<" in q for q in qs) > (400 if phrasing == "free:wide" else 150)  # common
    assert sum(bool(re.search(r"\b[a-z]+ [A-Z][a-z]+", q)) for q in qs) > 200  # mixed capitals
    assert qs == [render_wording(phrasing, a, 3 * a + 7) for a in range(1, 4000)]
    # `free:wrap` is `free:wide` without the asides: a mark then an aside's word is as rare as in `free` (140 and
    # 206 of these 3,999 questions, against 1,313 in `free:wide`)
    pattern = r"[,;:(<{\"] ?(" + "|".join(_ASIDE_WORDS) + r")\b"
    here = sum(bool(re.search(pattern, q, re.I)) for q in qs)
    plain = sum(bool(re.search(pattern, render_wording("free", a, 3 * a + 7), re.I)) for a in range(1, 4000))
    assert (here > 5 * plain) == (phrasing == "free:wide")
    assert phrasing == "free:wide" or here < 2 * plain
