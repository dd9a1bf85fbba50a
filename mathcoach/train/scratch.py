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

from mathcoach.train.config import SCRATCH_SIZES

SPECIALS = ["<|pad|>", "<|im_start|>", "<|im_end|>", "<|unk|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def char_tokenizer(rows: list[dict]):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = set(string.printable) | {"×", "÷", "−"}
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
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_scratch_model(size: str, rows: list[dict], out: Path, seed: int, max_positions: int = 2048) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    layers, hidden, heads, inter = SCRATCH_SIZES[size]
    tok = char_tokenizer(rows)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=max_positions,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                         tie_word_embeddings=True, rope_theta=10000.0)
    model = LlamaForCausalLM(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
