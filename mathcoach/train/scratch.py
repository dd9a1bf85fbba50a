"""A from-scratch arithmetic specialist: a small transformers Llama with a character-level tokenizer.

Example: ``build_scratch_model("tiny", rows, out_dir, seed=0)`` -> an ordinary HF model directory (random
weights) that ``mathcoach train --method full`` then trains, and eval and serve load like any other model.

One token per character means one token per digit, so carries line up with positions; the vocabulary is
printable ASCII plus every character in the training rows, so unseen phrasings never hit an unknown token.
The chat template is ChatML without any default system message.
"""

from __future__ import annotations

import string
from pathlib import Path

from mathcoach.problems.traces import GREEK_LOWER, GREEK_UPPER
from mathcoach.train.config import SCRATCH_SIZES

SPECIALS = ["<|pad|>", "<|im_start|>", "<|im_end|>", "<|unk|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# The same ChatML, with every digit of the user's numbers preceded by a mark for its place: "What is 16 * 88?"
# becomes "What is β1α6 * Β8Α8?" (α = ones of the first number, Α = ones of the second; traces.GREEK_*).
# Why: with RoPE, a digit found by its position in a question whose wording and number lengths vary is a lookup
# at a distance that changes from problem to problem, which a 4M-parameter model got right for both 6-digit
# operands in only 14% of problems (benchmarks/RESULTS.md); a mark turns it into a lookup by content. The text-level
# counterpart of Abacus embeddings (McLeish et al., 2024), kept in the template so eval and serve see it too.
def _digit_template(emit: str, frame: int = 0, words: int = 0) -> str:
    """ChatML whose user messages have every digit rewritten by the Jinja expression ``emit``, which sees the digit
    ``ch``, its ``place`` (0 = ones) and ``st.r``, the index of its number in the message (0 = first). ``frame`` > 0
    adds the operand frame (``operand_frame`` below) after the message; ``words`` > 0 its line of words.

    A thousands separator (``,``, space, narrow or no-break space, ``'`` or ``_`` between a digit and exactly
    three more digits) belongs to its number and is dropped, so "4,821" and "4 821" read as the 4821 of "4821":
    where the separator stood says nothing about the product, and a model should not have to learn each one."""
    seps = ",' _\u202f\u00a0\u2009"
    is_sep = (
        "(ch in \"" + seps + "\" and loop.index0 > 0 and text[loop.index0 - 1] in '0123456789'"
        " and text[loop.index0 + 1:loop.index0 + 4] | length == 3"
        " and text[loop.index0 + 1] in '0123456789' and text[loop.index0 + 2] in '0123456789'"
        " and text[loop.index0 + 3] in '0123456789'"
        " and (text[loop.index0 + 4:loop.index0 + 5] == '' or text[loop.index0 + 4] not in '0123456789'))"
    )
    return (
        "{%- macro marked(text) -%}"
        "{%- set ns = namespace(runs=[], n=0) -%}"
        "{%- for ch in text -%}{%- if ch in '0123456789' -%}{%- set ns.n = ns.n + 1 -%}"
        "{%- elif " + is_sep + " -%}"
        "{%- else -%}{%- if ns.n -%}{%- set ns.runs = ns.runs + [ns.n] -%}{%- endif -%}{%- set ns.n = 0 -%}{%- endif -%}"
        "{%- endfor -%}{%- if ns.n -%}{%- set ns.runs = ns.runs + [ns.n] -%}{%- endif -%}"
        "{%- set st = namespace(r=0, i=0) -%}"
        "{%- for ch in text -%}{%- if ch in '0123456789' -%}"
        "{%- set place = ns.runs[st.r] - st.i - 1 -%}" + emit + "{%- set st.i = st.i + 1 -%}"
        "{%- elif " + is_sep + " -%}"
        "{%- else -%}{%- if st.i -%}{%- set st.r = st.r + 1 -%}{%- set st.i = 0 -%}{%- endif -%}{{- ch -}}{%- endif -%}"
        "{%- endfor -%}{%- endmacro -%}"
        + (_frame_macro(is_sep, frame, words) if frame else "") +
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
        "{{- marked(message['content']) if message['role'] == 'user' else message['content'] -}}"
        + ("{{- framed(message['content']) if message['role'] == 'user' else '' -}}" if frame else "") +
        "{{ '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )


# --operand-frame: after the question, the template writes how many numbers it holds and its first two zero-padded
# to the trace's frame, "n=2 a=00000016 b=00000088" (a number longer than the frame whole, a missing one as dashes). Why: the third
# mathcoach-mul attempt had the model write that line itself (`copy8`); teacher-forced, every later lookup read it
# right, by its fixed distance, yet the line itself came out at chance, 8% of its digits (benchmarks/RESULTS.md,
# 2026-12-02): the copy must find place k of a number whose position the wording moves. In the template the copy
# is exact, the question's own text (and place tokens) stays for the refusals, and eval and serve see the same.
# The count (n=) is there for the refusals: the fourth attempt refused none, its first reply token the same prior
# for every question; three operands, a decimal (read as two numbers) or none at all become one local read of n.
# A number with a minus sign right before it adds "-" after the count ("n=2- a=..."): in the fifth attempt the
# refusals that the frame showed were 100% right on held-out wordings and a negative number, which it hid, 4-27%
# like the kinds only the words show (RESULTS.md 2026-12-05). A product's frame is unchanged.
#
# --frame-words W: the frame also writes, on a line of its own before the count, the question's words next to its
# numbers: the last W characters before the first number, the last W between the first two and the first W after
# the second, lower-cased, each padded with "~" to W so that the word next to a number always stands at the same
# place ("~~~~~~~~~~~~add |~~~~~~~~~~~ and |~~~~~~~~~~~~~~~~"). Why: the tenth attempt refused 94 of 96 held-out
# questions whose kind the frame shows, and 0 of 104 whose kind only a word shows (plus, divided by, a story), and
# 120 steps of twin-rich rows, with or without the reply's first token weighted 10, brought the training grammar's
# wording-only refusals to 13 of 89 (RESULTS.md 2026-12-06, tenth attempt): the model decides from what the
# template puts at a fixed place, not from a word somewhere in a question of any length. Off, a frame is unchanged.
# As 120 steps from that model: held-out wording-only refusals 16 -> 27 of 104 (p = 0.001); from the first step
# (twelfth attempt, W = 16): 0 -> 78 of 104, but products in unfamiliar wordings then refused too (RESULTS.md
# 2026-12-06); at W = 8 and 1,300 steps (fourteenth attempt) 82 of 104, and 11 of 127 such products refused where
# 38 were (RESULTS.md 2026-12-07).
def _frame_macro(is_sep: str, width: int, words: int = 0) -> str:
    pad = "'" + "~" * words + "'"
    window = (
        "{%- set k = ns.nums | length -%}"
        "{%- set lead = text[:ns.starts[0]] if k else text -%}"
        "{%- set gap = text[ns.ends[0]:ns.starts[1]] if k > 1 else '' -%}"
        "{%- set tail = text[ns.ends[1]:] if k > 1 else (text[ns.ends[0]:] if k else '') -%}"
        "{{- '\\n' + (" + pad + " + (lead | lower))[-" + str(words) + ":] + '|' + (" + pad + " + (gap | lower))[-"
        + str(words) + ":] + '|' + ((tail | lower) + " + pad + ")[:" + str(words) + "] -}}") if words else ""
    return (
        "{%- macro framed(text) -%}"
        "{%- set ns = namespace(nums=[], cur='', neg=false, starts=[], ends=[]) -%}"
        "{%- for ch in text -%}{%- if ch in '0123456789' -%}"
        "{%- if not ns.cur and loop.index0 > 0 and text[loop.index0 - 1] in '-−' -%}{%- set ns.neg = true -%}"
        "{%- endif -%}{%- if not ns.cur -%}{%- set ns.starts = ns.starts + [loop.index0] -%}{%- endif -%}"
        "{%- set ns.cur = ns.cur + ch -%}"
        "{%- elif " + is_sep + " -%}"
        "{%- else -%}{%- if ns.cur -%}{%- set ns.nums = ns.nums + [ns.cur] -%}{%- set ns.ends = ns.ends + "
        "[loop.index0] -%}{%- endif -%}{%- set ns.cur = '' -%}"
        "{%- endif -%}{%- endfor -%}{%- if ns.cur -%}{%- set ns.nums = ns.nums + [ns.cur] -%}"
        "{%- set ns.ends = ns.ends + [text | length] -%}{%- endif -%}" + window +
        "{{- '\\n' -}}{{- 'n=' + (ns.nums | length | string) + ('-' if ns.neg else '') + ' ' -}}"
        "{%- for name in ['a', 'b'] -%}{%- set i = loop.index0 -%}{{- ' ' if i else '' -}}{{- name + '=' -}}"
        "{%- if i < ns.nums | length -%}{{- '0' * (" + str(width) + " - ns.nums[i] | length) + ns.nums[i] -}}"
        "{%- else -%}{{- '-' * " + str(width) + " -}}{%- endif -%}{%- endfor -%}"
        "{%- endmacro -%}")


MARKED_TEMPLATE = _digit_template(
    "{%- set marks = '" + GREEK_UPPER + "' if st.r % 2 else '" + GREEK_LOWER + "' -%}"
    "{{- marks[place] if place < marks | length else '' -}}{{- ch -}}")

# --place-tokens: every digit of the question becomes ONE token that carries its number, its place and its value:
# the first number's digit v at place k is PLACE_TOKENS[0][10 * k + v] (CJK ideographs, never in a trace), the
# second's PLACE_TOKENS[1][...]; past PLACE_TOKEN_PLACES places a digit stays plain. Why: with `--digit-marks` a
# trace finds a digit as "the token after the question's matching mark", two hops that a 4M-parameter model blurred
# to the neighbouring digit (62% right after 60 minutes, benchmarks/RESULTS.md); here the trace's mark (Greek, as
# in `staged`) finds the digit itself by content, in one hop. Abacus embeddings (McLeish et al., 2024) give digits
# their place the same way, through the embedding; this keeps it in the tokenizer, so the model stays a plain Llama.
PLACE_TOKEN_PLACES = 16
PLACE_TOKENS = tuple("".join(chr(base + i) for i in range(10 * PLACE_TOKEN_PLACES)) for base in (0x4E00, 0x5000))
PLACE_TOKEN_TEMPLATE = _digit_template(
    "{%- set table = '" + PLACE_TOKENS[1] + "' if st.r % 2 else '" + PLACE_TOKENS[0] + "' -%}"
    "{{- table[10 * place + ch | int] if place < " + str(PLACE_TOKEN_PLACES) + " else ch -}}")
TEMPLATES = {None: CHAT_TEMPLATE, "marks": MARKED_TEMPLATE, "tokens": PLACE_TOKEN_TEMPLATE}
PLACE_TOKEN_EMIT = ("{%- set table = '" + PLACE_TOKENS[1] + "' if st.r % 2 else '" + PLACE_TOKENS[0] + "' -%}"
                    "{{- table[10 * place + ch | int] if place < " + str(PLACE_TOKEN_PLACES) + " else ch -}}")


def chat_template(digits: str | None, frame: int = 0, words: int = 0) -> str:
    """The template for ``digits`` (None, "marks", "tokens"), with the operand frame when ``frame`` > 0 and its
    line of words when ``words`` > 0."""
    if words and not frame:
        raise ValueError("the frame's words are written with the operand frame")
    if not frame:
        return TEMPLATES[digits]
    if digits != "tokens":
        raise ValueError("the operand frame is built on the place-token template")
    return _digit_template(PLACE_TOKEN_EMIT, frame, words)


def char_tokenizer(rows: list[dict], digits: str | None = None, frame: int = 0, words: int = 0):
    """``digits``: how the template writes the question's digits -- None (plain), "marks" or "tokens" (above)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = set(string.printable) | set("×÷−·’“”\u202f\u00a0\u2009") | set(GREEK_LOWER + GREEK_UPPER)
    if digits == "tokens":
        chars.update(PLACE_TOKENS[0] + PLACE_TOKENS[1])
    for row in rows:
        for m in row.get("messages", []):
            chars.update(str(m.get("content", "")))
    chars.update("systemuserassistant")
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for ch in sorted(chars):
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<|unk|>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # every character alone
    tok.decoder = decoders.Fuse()  # concatenate, no spaces between characters
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|pad|>", unk_token="<|unk|>")
    fast.chat_template = chat_template(digits, frame, words)
    return fast


def factor_place_embeddings(model, tok, seed: int) -> None:
    """Set the embedding of the place token for number t, place k and digit v to N[t] + P[k] + E[v], where E[v] is
    the embedding of the plain digit v and N, P are fresh random vectors at the model's initialiser scale; the
    trace's mark for that number and place (Greek lower case for the first number, upper case for the second,
    index = place) gets N[t] + P[k] added to its own embedding.

    Why: trained from random rows, a 4.2M model learned every step of `carryout8` on its own digits in 10.7M
    tokens but read the question's place tokens right 4.5% of the time (benchmarks/RESULTS.md, 2026-12-02): each of
    the 320 tokens had to be learned on its own. Built from shared parts, a query for "number 0, place 3" starts
    out near all ten of its tokens, the value it copies starts out as the digit the trace writes, and the mark that
    asks for the digit already shares its number and place with it: one match to learn, not 320. Only the
    starting point changes; the model stays a plain Llama and training moves every row freely."""
    import torch

    weight = model.get_input_embeddings().weight
    std = model.config.initializer_range
    g = torch.Generator().manual_seed(seed + 1)
    number = torch.randn(2, weight.shape[1], generator=g) * std
    place = torch.randn(PLACE_TOKEN_PLACES, weight.shape[1], generator=g) * std
    with torch.no_grad():
        digit = weight[tok.convert_tokens_to_ids(list("0123456789"))].clone()
        for t in (0, 1):
            ids = tok.convert_tokens_to_ids(list(PLACE_TOKENS[t]))
            for k in range(PLACE_TOKEN_PLACES):
                weight[ids[10 * k:10 * k + 10]] = number[t] + place[k] + digit
        for t, marks in enumerate((GREEK_LOWER, GREEK_UPPER)):
            for k, mark in enumerate(marks[:PLACE_TOKEN_PLACES]):
                weight[tok.convert_tokens_to_ids(mark)] += number[t] + place[k]


def build_scratch_model(size: str, rows: list[dict], out: Path, seed: int, max_positions: int = 2048,
                        digits: str | None = None, factored_places: bool = False, frame: int = 0,
                        words: int = 0) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    layers, hidden, heads, inter = SCRATCH_SIZES[size]
    tok = char_tokenizer(rows, digits, frame, words)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=max_positions,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                         tie_word_embeddings=True, rope_theta=10000.0)
    model = LlamaForCausalLM(config)
    if factored_places:
        factor_place_embeddings(model, tok, seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
