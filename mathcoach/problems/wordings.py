"""Free wordings of "multiply two whole numbers" and of questions that are not that, from two disjoint grammars.

Example: ``render_wording("free", 4821, 307)`` -> e.g. "hey, quick one: 4,821 x 307 = ?" (the training grammar);
``render_wording("unseen:sentence", 4821, 307)`` -> e.g. "My niece wants to know what 4821 times 307 comes to."
(a held-out grammar, one kind of variation per name); ``refusal_question("unseen", "div", rng)`` -> a question
that must be refused.

Why two grammars: a specialist trained on six templates scored 99.7% on them and 40% on four wordings it never
saw (benchmarks/RESULTS.md, 2026-11-23). ``free`` composes frames, multiplication cues (times, multiplied by,
product, x, ×, ·, *), thousands separators, case and text around the question; the held-out grammar
(``UNSEEN_KINDS``) shares none of its frames and none of its surrounding text, so a score on it says whether the
model finds the two operands wherever they stand. ``free:busy`` is the training grammar with noise text around
most questions (and, in a data file, around its refusals too). The rule a specialist follows
(``product_of_two``): answer when the question asks for a product and holds exactly two whole numbers; refuse
everything else.
"""

from __future__ import annotations

import random
import re

# --- the training grammar -------------------------------------------------------------------------------------
_T_TIMES = ("times", "multiplied by", "x", "*", "×", "·", "X")
_T_FRAMES = (
    "What is {a} {t} {b}?", "what's {a} {t} {b}", "{a} {t} {b} = ?", "{a}{t}{b} =", "{a} {t} {b}", "{a} {t} {b}?",
    "Multiply {a} by {b}.", "multiply {a} and {b}", "Please multiply {a} with {b}.", "Compute the product of {a} "
    "and {b}.", "the product of {a} and {b}?", "Find {a} {t} {b}.", "How much is {a} {t} {b}?", "Calculate {a} {t} "
    "{b}", "Evaluate {a} {t} {b}.", "{a} {t} {b} is what?", "If you multiply {a} by {b}, what do you get?",
    "Give me the product {a} {t} {b}.", "What do you get when {a} is multiplied by {b}?", "Product of {a} and {b}",
    "{a} {t} {b} equals", "Quick: {a} {t} {b}", "Compute {a}{t}{b}.", "What is the result of {a} {t} {b}?",
    # the twins of refusal frames below, the operation word the one difference ("Compute {a} plus {b}."): with the
    # refusal frames alone, their other words became a cue to refuse, and the sixth mathcoach-mul attempt refused
    # 12 of 94 products in this grammar and 26 of 63 in held-out wordings (benchmarks/RESULTS.md, 2026-12-06)
    "Compute {a} {t} {b}.", "Find the product of {a} and {b}.", "What do {a} and {b} multiply to?",
    "{a} and {b} multiplied together",
)
_T_BEFORE = ("", "", "", "Hi! ", "hey, ", "Hello. ", "Question: ", "Quick one: ", "Help me out. ", "OK so ",
             "I have a question. ", "Homework time! ", "Math check: ")
_T_AFTER = ("", "", "", " Thanks!", " thx", " Please.", " Show your work.", " I need it fast.", " :)",
            " Answer please.", " Cheers.")

# --- the held-out grammar: no frame, lead-in or tail appears above ------------------------------------------------
UNSEEN_KINDS = ("verbs", "order", "symbols", "separators", "case", "context", "sentence")
_U_FRAMES = {
    "verbs": ("Work out {a} multiplied by {b}.", "Determine the product of {a} with {b}.", "Tell me {a} times {b}.",
              "Can you figure out {a} times {b}?", "Solve {a} × {b}.", "I need {a} multiplied by {b}.",
              "Kindly compute {a} times {b}.", "Figure {a} x {b} for me."),
    "order": ("Take {a} and multiply it by {b}.", "{a} and {b}: multiply them.", "The product, please, of {a} and "
              "{b}.", "Times {a} by {b}, what comes out?", "By {b}, multiply {a}.", "{a}, times {b}, gives?"),
    "symbols": ("{a}·{b}", "({a}) × ({b})", "{a} *{b} =?", "[{a} x {b}]", "{a} × {b} -> ?", "= {a} * {b}",
                "{a} · {b} ="),
    "separators": ("Tell me what {a} × {b} makes.", "Need {a} times {b}, thanks.", "{a} multiplied by {b} -- "
                   "result?"),  # numbers grouped below, also by ' and _, which training never uses
    "context": ("Good morning! I hope you are well. What is {a} times {b}? Many thanks in advance.",
                "So, we were arguing at lunch about {a} × {b}. Who is right? Settle it.",
                "Sorry to bother you -- {a} multiplied by {b}, please; my calculator died."),
    "sentence": ("My niece wants to know what {a} times {b} comes to.", "For my homework I must find the product of "
                 "{a} and {b}; can you help?", "Before the meeting starts, could you tell me what {a} multiplied "
                 "by {b} is?", "The last line of the puzzle reads {a} × {b} and asks for the result."),
}
_SEPARATORS = (",", " ", "\u202f", "'", "_")
# Words for random text around a training question, none of them a cue for an operation: a model that has seen
# arbitrary words around the numbers has no reason to read any particular surrounding text.
_NOISE = ("the", "a", "my", "your", "today", "please", "now", "so", "well", "okay", "friend", "teacher", "class",
          "quiz", "note", "fast", "exact", "number", "result", "value", "here", "this", "one", "again", "just",
          "simple", "really", "work", "school", "page", "line", "check", "sure", "right", "then", "first", "next",
          "good", "nice", "day", "week", "paper", "sheet", "book", "test", "exam", "quick", "need", "want", "know")


def group(n: int, sep: str = ",") -> str:
    """4821 -> '4,821' (thousands separated by ``sep``)."""
    s = str(n)
    head = len(s) % 3 or 3
    return sep.join([s[:head]] + [s[i:i + 3] for i in range(head, len(s), 3)])


def _case(text: str, rng: random.Random, p: float = 0.25) -> str:
    r = rng.random()
    return text.upper() if r < p / 2 else text.lower() if r < p else text


def _product(na: str, nb: str, rng: random.Random) -> str:
    return rng.choice(_T_FRAMES).format(a=na, b=nb, t=rng.choice(_T_TIMES))


# `free:busy`: the same grammar with text around the question far more often, longer, and from a larger vocabulary
# (still no operation's word: not "more" or "over", which the twins use). Why: with the frame's line of words
# (`--frame-words`), the twelfth mathcoach-mul attempt refused 23 of 63 held-out 1-4-digit products, every one
# with "times" or "multiplied by" next to its numbers, when the words around them were unfamiliar ("Need 64 times
# 68, thanks."; benchmarks/RESULTS.md 2026-12-06): in `free` a long tail is rare in a product and usual in a word
# problem, so the tail told them apart.
# Text around the numbers then has to be the norm in products and refusals alike, and say nothing. The words are
# generic, and any word of the held-out grammar's frames is dropped from them (``_NOISE_BUSY``, below its
# frames), so that set still measures text training never had; `free` itself is unchanged, byte for byte.
# Measured (the thirteenth attempt, at 680 steps where the twelfth ran 940; RESULTS.md 2026-12-06): those false
# refusals went (23 -> 1 of 63), and so did every refusal that only a word shows (78 -> 4 of 104).
_BUSY_WORDS = (
    "i", "you", "we", "they", "he", "she", "it", "is", "are", "was", "be", "have", "has", "do", "does", "can", "could",
    "would", "should", "will", "may", "might", "must", "let", "me", "us", "them", "our", "their", "his", "her", "its",
    "in", "on", "at", "for", "of", "about", "under", "into", "out", "up", "down", "off", "near", "far",
    "if", "when", "while", "because", "though", "but", "yet", "also", "still", "even", "only", "very", "much",
    "many", "most", "some", "any", "every", "each", "all", "both", "few", "no", "not", "yes", "thanks",
    "thank", "sorry", "hello", "hi", "hey", "dear", "morning", "evening", "night", "tomorrow", "yesterday", "soon",
    "later", "late", "early", "always", "never", "sometimes", "maybe", "perhaps", "sure", "certainly", "honestly",
    "wondering", "asking", "wants", "wanted", "needs", "trying", "told", "said", "says", "think", "thought",
    "remember", "forgot", "find", "found", "tell", "give", "show", "write", "read", "answer", "question", "problem",
    "homework", "lesson", "teacher's", "mom", "dad", "sister", "brother", "cousin", "boss", "colleague", "team",
    "office", "kitchen", "garden", "train", "bus", "car", "phone", "computer", "calculator", "pencil", "notebook",
    "coffee", "lunch", "dinner", "weekend", "holiday", "project", "report", "meeting", "party", "game", "store",
    "price", "money", "time", "hour", "minute", "people", "kid", "kids", "student", "students", "help", "helps",
    "comes", "goes", "gets", "makes", "gives", "result", "outcome", "figure", "total", "amount", "hope", "advance",
    "great", "bad", "big", "small", "new", "old", "long", "short", "easy", "hard", "correct", "wrong", "careful",
)


def _busy(rng: random.Random) -> str:
    return " ".join(rng.choices(_NOISE_BUSY, k=rng.randint(1, 12)))


def _surround(rng: random.Random, busy: bool) -> tuple[str, str]:
    """Text before and after a training question: a lead-in, a tail, and sometimes noise words."""
    before, after = rng.choice(_T_BEFORE), rng.choice(_T_AFTER)
    if busy:
        if rng.random() < 0.6:
            before = _busy(rng).capitalize() + rng.choice((". ", ": ", ", ", " ", "! ", "? ")) + before
        if rng.random() < 0.6:
            after += rng.choice((" ", ". ", " -- ", ", ", "? ", "! ")) + _busy(rng) + rng.choice((".", "!", "?", ""))
        return before, after
    if rng.random() < 0.25:
        before = " ".join(rng.choices(_NOISE, k=rng.randint(1, 6))).capitalize() + rng.choice((". ", ": ", ", ", " "))
    if rng.random() < 0.15:
        after = rng.choice((" ", ". ", " -- ")) + " ".join(rng.choices(_NOISE, k=rng.randint(1, 6))) + rng.choice(".!?")
    return before, after


def _free(a: int, b: int, rng: random.Random, core=_product, busy: bool = False, wide: str = "") -> str:
    """The training grammar around ``core(na, nb, rng)``: a product question, or a refusal's twin (below); ``wide``
    ("wide" or "wrap") adds that wording's surface variation (below)."""
    sep = rng.choice(",,,, \u202f") if rng.random() < 0.3 else None
    na, nb = (group(a, sep), group(b, sep)) if sep else (str(a), str(b))
    if wide:
        return _widen(core(_SLOTS[0], _SLOTS[1], rng), rng, _surround(rng, busy), {_SLOTS[0]: na, _SLOTS[1]: nb},
                      asides=wide == "wide")
    text = core(na, nb, rng)
    before, after = _surround(rng, busy)
    return _case(before + text + after, rng)


# `free:wide`: the training grammar with its surface varied the same way in products and in refusals: an aside
# inserted between two words (often between the operation's word and a number, out of the frame's 8-character
# window), a number or the whole question wrapped in marks, and words capitalized at random. Why: in the nineteenth
# mathcoach-mul attempt every miss on held-out wordings was a refused product (12 of 127; RESULTS.md 2026-12-07),
# and the training file's products held no `;`, `(` or `>` at all, which its refusals held 111, 191 and 72 times
# (stories, negatives in brackets, the no-cue twins): a character was a cue to refuse ("Sorry to bother you -- A
# multiplied by B, please; ...", "(A) × (B)", "A × B -> ?"). Here every mark the asides and wraps use stands in
# products and refusals alike, so only the operation's word (or symbol) tells them apart. The held-out grammar's
# own frames stay unseen: no aside holds a word of them (``_HELD_OUT_WORDS``), no number is wrapped in `(` or `[`
# and no question in `[`, the wraps "({a}) × ({b})" and "[{a} x {b}]" of its symbols kind.
# Measured (the twentieth attempt, with focal_gamma = 2 in the same run; RESULTS.md 2026-12-07): every held-out
# symbols question answered (18 of 18, 16 before), but held-out refusals 100.0% -> 81.0%, the misses frames whose
# operation is a word away from the numbers (plausibly the asides, which often push that word out of the window). The
# recipe stays on `free`; the wraps and capitals without the asides are the next thing to measure.
# `free:wrap` is that: `free:wide` without the asides, so the operation's word stays next to the numbers while the
# wraps still bring `(`, `;`, `>`, `{`, `<` and quotes into products and refusals alike. Measured (the twenty-second
# attempt, the one change from the nineteenth; RESULTS.md 2026-12-07): held-out refusals 100.0% -> 83.5% at step 1,300
# (74.5% at 1,083), "Work out A added to B" and "Split A into B equal parts" answered as products, so the asides were
# not what lost attempt 20's refusals: the wraps and the random capitals did too.
_SLOTS = ("\x00", "\x01", "\x02", "\x03", "\x04")  # where the numbers go, so that nothing lands inside one
_ASIDE_MARKS = ((", ", ","), ("; ", ";"), (" (", ")"), (" -- ", " --"), (": ", ":"), (" <", ">"), (" {", "}"),
                (" \"", "\""), ("... ", "..."), (" > ", ""))
_NUMBER_WRAPS = ('"{}"', "{{{}}}", "<{}>", "`{}`")
_QUESTION_WRAPS = ("({})", "{{{}}}", "<{}>", '"{}"', "> {}", "{};")


def _aside(rng: random.Random) -> str:
    left, right = rng.choice(_ASIDE_MARKS)
    return left + " ".join(rng.choices(_ASIDE_WORDS, k=rng.randint(1, 3))) + right


def _widen(text: str, rng: random.Random, around: tuple[str, str], numbers: dict[str, str],
           asides: bool = True) -> str:
    """``text`` with its numbers still ``_SLOTS``: an aside between two words (``asides``), wraps, ``around`` and
    case."""
    if rng.random() < 0.4 and asides:
        gaps = [m.start() for m in re.finditer(" ", text)]
        if gaps:
            at = rng.choice(gaps)
            text = text[:at] + _aside(rng) + text[at:]
    if rng.random() < 0.15:
        wrap = rng.choice(_NUMBER_WRAPS)
        numbers = {k: wrap.format(v) for k, v in numbers.items()}
    if rng.random() < 0.12:
        text = rng.choice(_QUESTION_WRAPS).format(text)
    text = around[0] + text + around[1]
    if rng.random() < 0.2:  # each word capitalized or not at random: title case is one draw of it
        text = re.sub(r"[^\W\d_]+", lambda m: m[0].capitalize() if rng.random() < 0.5 else m[0].lower(), text)
    else:
        text = _case(text, rng)
    for slot, number in numbers.items():
        text = text.replace(slot, number)
    return text


def _unseen(kind: str, a: int, b: int, rng: random.Random) -> str:
    if kind not in UNSEEN_KINDS:
        raise ValueError(f"unknown held-out wording kind {kind!r}; choose one of {', '.join(UNSEEN_KINDS)}")
    na, nb = str(a), str(b)
    if kind == "separators":
        sep = rng.choice(_SEPARATORS)
        na, nb = group(a, sep), group(b, sep)
    if kind == "case":  # another held-out frame in a case the training grammar never uses, or in capitals
        text = rng.choice(_U_FRAMES[rng.choice(("verbs", "order", "context"))]).format(a=na, b=nb)
        return rng.choice((str.upper, str.title, str.swapcase))(text)
    return rng.choice(_U_FRAMES[kind]).format(a=na, b=nb)


SURFACES = ("busy", "wide", "wrap")  # the training grammar's variants, `free:VARIANT`; refusals `train:VARIANT`
_WIDE = ("wide", "wrap")  # the variants that go through ``_widen``
TRAIN_WORDINGS = ("free", *(f"free:{v}" for v in SURFACES))


def wording_ids() -> list[str]:
    return [*TRAIN_WORDINGS] + [f"unseen:{k}" for k in UNSEEN_KINDS]


def is_wording(phrasing: str) -> bool:
    return phrasing in TRAIN_WORDINGS or phrasing.startswith("unseen:")


def render_wording(phrasing: str, a: int, b: int, seed: int = 0) -> str:
    """The question for ``a * b`` in ``phrasing`` ("free", "free:busy" or "unseen:KIND"); the same arguments give
    the same text (the draw is keyed by them, so a file is reproducible byte for byte)."""
    rng = random.Random(f"wording:{phrasing}:{a}:{b}:{seed}")
    if phrasing in TRAIN_WORDINGS:
        variant = phrasing.partition(":")[2]
        return _free(a, b, rng, busy=variant == "busy", wide=variant if variant in _WIDE else "")
    return _unseen(phrasing.removeprefix("unseen:"), a, b, rng)


# --- questions that are not "the product of two whole numbers" ----------------------------------------------------
REFUSAL_KINDS = ("add", "sub", "div", "three", "decimal", "negative", "word", "no_numbers")
_R = {  # kind -> (training frames, held-out frames); {a} {b} {c} are whole numbers, {x} {y} decimals or negatives
    "add": (("What is {a} plus {b}?", "{a} + {b} = ?", "Add {a} and {b}.", "the sum of {a} and {b}", "{a}+{b}",
             "Compute {a} plus {b}.", "Find the sum of {a} and {b}.", "Increase {a} by {b}.",
             "What do {a} and {b} add up to?", "{a} and {b} added together"),
            ("Work out {a} added to {b}.", "Tell me {a} + {b}.", "Total of {a} and {b}, please.")),
    "sub": (("What is {a} minus {b}?", "{a} - {b} = ?", "Subtract {b} from {a}.", "the difference of {a} and {b}",
             "Compute {a} minus {b}.", "Decrease {a} by {b}.", "What is {b} less than {a}?", "{a} take away {b}"),
            ("Take {b} away from {a}.", "Tell me {a} − {b}.", "How much is left when {b} is removed from {a}?")),
    "div": (("What is {a} divided by {b}?", "{a} / {b} = ?", "Divide {a} by {b}.", "{a} ÷ {b}",
             "Compute {a} over {b}.", "Find the quotient of {a} and {b}.", "Share {a} among {b}.",
             "{a} divided into {b} groups"),
            ("Split {a} into {b} equal parts.", "Tell me {a} ÷ {b}.", "How many times does {b} go into {a}?")),
    "three": (("What is {a} x {b} x {c}?", "Multiply {a}, {b} and {c}.", "the product of {a}, {b} and {c}",
               "{a} * {b} * {c} = ?"),
              ("Tell me {a} times {b} times {c}.", "Work out {a} × {b} × {c}.")),
    "decimal": (("What is {x} times {b}?", "{x} * {b} = ?", "Multiply {b} by {x}."),
                ("Tell me {x} × {b}.", "Work out {b} multiplied by {x}.")),
    "negative": (("What is {y} times {b}?", "{y} * {b} = ?", "Multiply {b} by {y}.", "{b} x ({y})",
                  "Compute {y} * {b}.", "Find {b} times {y}.", "{y} x {b}", "the product of {y} and {b}"),
                 ("Tell me {y} × {b}.", "Work out {b} multiplied by {y}.")),
    "word": (("Tom has {a} boxes with {b} apples each. How many apples does he have?",
              "A bus carries {a} people on each of {b} trips. How many people ride?",
              "Sara reads {a} pages a day for {b} days. How many pages?",
              "Ann bakes {a} trays of {b} cookies. How many cookies?", "Each of {a} cars has {b} wheels. How many wheels?",
              "A shelf holds {a} rows of {b} books. How many books are on it?"),
             ("A farmer plants {a} rows of {b} trees. How many trees are there?",
              "Each of {a} students brings {b} pencils. How many pencils in all?")),
    "no_numbers": (("What is the product of two numbers?", "Multiply them.", "Hello!", "What is the capital of {w}?",
              "Can you multiply?", "times", "How many legs does a {w} have?", "Multiply a {w} by a {w}."),
             ("Tell me a joke about a {w}.", "What is multiplication, {w}?", "Compute the product, please, {w}.",
              "Describe a {w} in one sentence.")),
}


# --- twins: a training product question with its multiplication cue swapped out ----------------------------------
# Why: with refusal frames of their own, the eighth mathcoach-mul attempt refused every held-out add, sub, div and
# word question whose numbers looked like a product's in 0 of 26 each (benchmarks/RESULTS.md, 2026-12-06): it had
# learnt the frames, not the rule. A twin is a question of the product grammar (its frames, lead-ins, tails, noise,
# separators and case) in which the cue is another operation's word, or none, so the one difference between
# answering and refusing is the cue. The held-out refusal frames' own words (total, removed, split, go into) are
# kept out of these lists, so that set still measures wordings training never had.
TWIN_KINDS = ("add", "sub", "div", "word", "no_cue")
_TWIN_WORDS = {
    "add": ("plus", "+", "added to", "increased by", "more than", "and then add"),
    "sub": ("minus", "-", "less", "take away", "decreased by", "subtracted from"),
    "div": ("divided by", "/", "÷", "over", "per", "shared among"),
    "no_cue": ("and", "or", "to", "vs", "versus", "then", "with", "from", ",", "&", "?", "%", "^", "=", "<", ">",
               "mod", "than", "or maybe", "after", "before", ""),
}
_TWIN_FRAMES = tuple(f for f in _T_FRAMES if "{t}" in f and "product" not in f and "ultipl" not in f)
# word problems built from parts, none of them in the held-out word frames: who, what happens, what is asked
_STORY_WHO = ("Tom", "Sara", "Ann", "Omar", "Mia", "Ben", "Zoe", "Li", "A baker", "The club", "My aunt", "Our class")
_STORY_ITEM = ("apples", "stamps", "coins", "cards", "eggs", "marbles", "stickers", "shells", "bottles", "candies")
_STORY_BOX = ("boxes", "bags", "jars", "packs", "crates", "baskets", "tins")
_STORY = (
    "{who} has {a} {box} with {b} {item} each. How many {item}?",
    "{who} has {a} {item} and gets {b} more. How many {item} now?",
    "{who} had {a} {item} and gave away {b}. How many are left?",
    "{who} puts {a} {item} into {b} {box} equally. How many in each?",
    "{who} buys {a} {box}; each holds {b} {item}. What is the number of {item}?",
    "There are {a} {box} of {b} {item}. Count the {item}.",
    "{who} collects {b} {item} a week for {a} weeks. How many {item} is that?",
    "{who} saves {a} {item}, then finds {b}. How many {item} does {who} have?",
)


def _twin(kind: str):
    def core(a: str, b: str, rng: random.Random) -> str:
        if kind == "word":
            return rng.choice(_STORY).format(a=a, b=b, who=rng.choice(_STORY_WHO), item=rng.choice(_STORY_ITEM),
                                             box=rng.choice(_STORY_BOX))
        return rng.choice(_TWIN_FRAMES).format(a=a, b=b, t=rng.choice(_TWIN_WORDS[kind]))
    return core


def refusal_question(grammar: str, kind: str, rng: random.Random, digits: int = 4, twins: float = 0.0,
                     min_digits: int = 1) -> str:
    """A question of ``kind`` that a multiplication specialist must refuse; ``grammar`` is "train", "train:busy"
    (the training grammar with `free:busy`'s text around it), "train:wide" or "train:wrap" (with that wording's
    variation) or "unseen". Its numbers are ``min_digits`` to ``digits`` digits long. In the training grammar a
    share ``twins`` of the ``TWIN_KINDS`` questions are twins (above); ``no_cue`` is only ever a twin."""
    variant = grammar.partition(":")[2] if grammar.startswith("train:") else ""
    busy, wide = variant == "busy", variant if variant in _WIDE else ""
    if variant:
        grammar = "train"

    def num() -> int:
        d = rng.randint(min_digits, digits)
        return rng.randint(10 ** (d - 1) if d > 1 else 1, 10**d - 1)

    if grammar == "train" and kind in TWIN_KINDS and (kind == "no_cue" or (twins and rng.random() < twins)):
        return _free(num(), num(), rng, _twin(kind), busy, wide)
    frames = _R[kind][0 if grammar == "train" else 1]

    x = f"{num()}.{rng.randint(1, 99)}"
    y = rng.choice("-−") + str(num())
    w = rng.choice(_WORDS)
    frame = rng.choice(frames)  # drawn before the numbers, as it always was: the files of `free` stay byte for byte
    values = {"a": str(num()), "b": str(num()), "c": str(num()), "x": x, "y": y}
    if wide:
        before, after = rng.choice(_T_BEFORE), rng.choice(_T_AFTER)
        return _widen(frame.format(w=w, **dict(zip(values, _SLOTS))), rng, (before, after),
                      dict(zip(_SLOTS, values.values())), asides=wide == "wide")
    text = frame.format(w=w, **values)
    if grammar == "train" and busy:
        before, after = _surround(rng, True)
        return _case(before + text + after, rng, 0.2)
    if grammar == "train":
        return _case(rng.choice(_T_BEFORE) + text + rng.choice(_T_AFTER), rng, 0.2)
    return text


_HELD_OUT_WORDS = frozenset(w for frames in (*_U_FRAMES.values(), *(held for _, held in _R.values()))
                             for f in frames for w in re.findall(r"[a-z']+", f.lower()))
_NOISE_BUSY = _NOISE + tuple(w for w in _BUSY_WORDS if w not in _HELD_OUT_WORDS)
_ASIDE_WORDS = tuple(w for w in _NOISE_BUSY if w not in _HELD_OUT_WORDS)  # not "please": "The product, please, of"

_WORDS = ("cat", "dog", "France", "Peru", "spider", "horse", "Japan", "robot", "teacher", "river", "friend", "bird")


_WHOLE = re.compile(r"(?<![\d.,'_\u202f\u00a0\u2009])\d{1,3}(?:[,'_\u202f\u00a0\u2009 ]\d{3})+(?!\d|\.\d)|\d+")


def product_of_two(question: str) -> tuple[int, int] | None:
    """The two operands when ``question`` is answerable under the rule above as far as its numbers go (exactly
    two whole numbers, no decimal point or sign on either); None otherwise. What the words ask is not judged
    here: the held-out refusal set is labelled by kind, this only guards generated text against mislabels."""
    if re.search(r"\d[.]\d|[-−]\d", question):
        return None
    nums = [int(re.sub(r"\D", "", m)) for m in _WHOLE.findall(question)]
    return (nums[0], nums[1]) if len(nums) == 2 else None


__all__ = ["REFUSAL_KINDS", "TRAIN_WORDINGS", "TWIN_KINDS", "UNSEEN_KINDS", "group", "is_wording", "product_of_two",
           "refusal_question", "render_wording", "wording_ids"]
