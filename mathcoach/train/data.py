"""Training rows -> token ids plus a loss mask: SFT rows rendered exactly as ``mathcoach eval`` will prompt,
pretraining rows as plain text with the loss on every token.

Example: ``encode_rows(tokenizer, rows, system=None, max_length=512)`` -> [{"input_ids": [...],
"completion_mask": [0, 0, ..., 1, 1]}]

The prompt half is ``render_prompt`` -- the very function the hf backend uses at evaluation and serving time --
so the model is trained on the token sequence it will be asked with (no injected default system message, the
same generation header). The completion half is the assistant's text plus the template's end-of-turn token,
which is the model's EOS: the loss covers exactly those tokens, so the model learns to stop.

``encode_text_rows`` is continued pretraining (``--objective pretrain``, Llemma's first stage): no chat template,
the text of each row followed by EOS, the loss on all of it, a long row split into ``max_length`` pieces.
"""

from __future__ import annotations

from mathcoach.config import ConfigError
from mathcoach.models.hf import render_prompt


def distinct_pad_token(tokenizer) -> tuple[str, bool]:
    """A padding token that is not EOS, and whether it had to be added to the vocabulary.

    With pad == EOS, any collator that masks padding by token id also masks every real EOS, and the model never
    learns to stop (SmolLM2 ships exactly that configuration)."""
    eos = tokenizer.eos_token
    if tokenizer.pad_token is not None and tokenizer.pad_token != eos:
        return tokenizer.pad_token, False
    vocab = tokenizer.get_vocab()
    for candidate in ("<|endoftext|>", "<|finetune_right_pad_id|>", "<pad>", "<|pad|>", tokenizer.unk_token):
        if candidate and candidate != eos and candidate in vocab:
            return candidate, False
    return "<|pad|>", True


def split_messages(row: dict, n: int, path: str) -> tuple[list[dict], str]:
    """(prompt messages, assistant answer) of one row; the last message must be the assistant's."""
    msgs = row.get("messages")
    if not isinstance(msgs, list) or len(msgs) < 2 or not all(isinstance(m, dict) for m in msgs):
        raise ConfigError("train", f"{path}: row {n} has no messages list; make rows with `mathcoach data`")
    if msgs[-1].get("role") != "assistant" or not isinstance(msgs[-1].get("content"), str):
        raise ConfigError("train", f"{path}: row {n} does not end with an assistant message to learn")
    return [{"role": m["role"], "content": m["content"]} for m in msgs[:-1]], msgs[-1]["content"]


def with_system(prompt: list[dict], system: str | None) -> list[dict]:
    if system is None or any(m["role"] == "system" for m in prompt):
        return prompt
    return [{"role": "system", "content": system}, *prompt]


def completion_text(tokenizer, prompt: list[dict], answer: str, head: str | None = None) -> str:
    """The template's text for the assistant turn, cut right after its end-of-turn (EOS) token; ``head``: the
    prompt's rendering where the caller has it (each rendering costs ~1/3 of a row's encoding).

    Checked, not assumed: the full rendering must be the generation prompt followed by the answer, or the model
    would be trained on a sequence it is never asked with."""
    head = render_prompt(tokenizer, prompt) if head is None else head
    full = render_prompt(tokenizer, [*prompt, {"role": "assistant", "content": answer}], add_generation_prompt=False)
    if not full.startswith(head + answer):
        raise ConfigError("train", "the chat template does not render the assistant turn as generation prompt + "
                          "answer; cannot train in the format eval uses")
    rest, eos = full[len(head) + len(answer):], tokenizer.eos_token
    if eos and eos in rest:
        return answer + rest[: rest.index(eos) + len(eos)]
    return answer + (eos or "")  # a template without an end-of-turn marker: append EOS so the model learns to stop


def encode_rows(tokenizer, rows: list[dict], system: str | None, max_length: int, path: str = "train") -> list[dict]:
    out = []
    for n, row in enumerate(rows, 1):
        prompt, answer = split_messages(row, n, path)
        prompt = with_system(prompt, system)
        head = render_prompt(tokenizer, prompt)
        p_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
        c_ids = tokenizer(completion_text(tokenizer, prompt, answer, head), add_special_tokens=False)["input_ids"]
        ids = p_ids + c_ids
        if len(ids) > max_length:
            raise ConfigError("max_length", f"{path}: row {n} is {len(ids)} tokens, above {max_length}; raise "
                              "--max-length or drop longer rows")
        out.append({"input_ids": ids, "completion_mask": [0] * len(p_ids) + [1] * len(c_ids)})
    return out


def row_text(row: dict, n: int, path: str) -> str:
    """A pretraining row's text: its ``text`` field, or a chat row's question and answer as plain prose."""
    if isinstance(row.get("text"), str) and row["text"].strip():
        return row["text"]
    if isinstance(row.get("messages"), list):
        prompt, answer = split_messages(row, n, path)
        return "\n".join([*(m["content"] for m in prompt if m["role"] == "user"), answer])
    raise ConfigError("train", f"{path}: row {n} has neither a text field nor messages; pretraining needs one")


def encode_text_rows(tokenizer, rows: list[dict], max_length: int, path: str = "train") -> list[dict]:
    out = []
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for n, row in enumerate(rows, 1):
        ids = tokenizer(row_text(row, n, path), add_special_tokens=False)["input_ids"] + eos
        for s in range(0, len(ids), max_length):
            piece = ids[s : s + max_length]
            out.append({"input_ids": piece, "completion_mask": [1] * len(piece)})
    return out
