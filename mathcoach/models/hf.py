"""Local transformers causal LMs (optionally with a PEFT adapter): batched, left-padded chat generation.

Example: ``HFBackend("runs/train/out", adapter=None).generate([Request(messages=(...,))])``

Requests are grouped by sampling settings and sorted by prompt length so each batch pads little. Prompts go
through the model's own chat template; a conversation without a system message gets none, even from
templates (SmolLM2's) that silently insert a default one -- otherwise a "no system prompt" baseline would
really be "the vendor's system prompt".
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from mathcoach.models.base import Completion, Request


def _fingerprint(path: Path) -> str:
    """Changes whenever the weights do, so retraining into the same directory never hits stale cache rows."""
    h = hashlib.sha256()
    for f in sorted(path.glob("*")):
        if f.suffix in (".safetensors", ".bin", ".json", ".jinja") and f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _cache_kwarg() -> str:
    """generate()'s name for a precomputed KV cache: ``cache`` in newer transformers, ``past_key_values`` before."""
    try:
        from transformers.generation.utils import ALL_CACHE_NAMES
    except ImportError:
        return "past_key_values"
    return "cache" if "cache" in ALL_CACHE_NAMES else "past_key_values"


_CACHE_KWARG = _cache_kwarg()
_SENTINEL = "\u2063mathcoach-first-message\u2063"


def render_prompt(tokenizer, messages: list[dict], add_generation_prompt: bool = True,
                  continue_final: bool = False) -> str:
    """The chat-template prompt, with any system turn the template injects on its own removed.
    ``continue_final``: the last message is an unfinished assistant turn, rendered without its end-of-turn mark
    so generation continues it."""
    if continue_final:
        if not messages or messages[-1].get("role") != "assistant":
            raise ValueError("continue_final needs a conversation that ends with an assistant message")
        add_generation_prompt = False

    def _apply(msgs):
        return tokenizer.apply_chat_template(list(msgs), tokenize=False, add_generation_prompt=add_generation_prompt,
                                             continue_final_message=continue_final)

    text = _apply(messages)
    if not messages or any(m.get("role") == "system" for m in messages):
        return text
    # Render once with a sentinel as the first message: everything before it is the template's own preamble,
    # identical in the real rendering, and any system turn in it was injected.
    probe = [{**messages[0], "content": _SENTINEL}, *messages[1:]]
    head = _apply(probe).split(_SENTINEL)[0]
    for marker, turn_start in (("<|im_start|>system", "<|im_start|>"), ("<|start_header_id|>system", "<|start_header_id|>")):
        cut_from, turn = head.find(marker), head.rfind(turn_start)
        if 0 <= cut_from < turn:  # ChatML / Llama 3: drop the injected system turn up to the first real turn
            return text[:cut_from] + text[turn:]
    return text


class HFBackend:
    MIN_SHARED = 32  # tokens a batch must share before its prefix is computed once (a chat header alone is less)

    def __init__(self, path: str | os.PathLike, adapter: str | os.PathLike | None = None, batch_size: int = 16,
                 dtype: str = "float32", threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # weight-loading bars would bury mathcoach's own progress

        self.path = Path(path).resolve()
        self.adapter = Path(adapter).resolve() if adapter else None
        if not (self.path / "config.json").exists():
            from mathcoach.models import ModelSpecError

            raise ModelSpecError(f"{self.path} is not a transformers model directory (no config.json)")
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        model = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, dtype))
        if self.adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self.adapter)
        self._attach(model.eval(), self.tokenizer, batch_size)
        self.identity = {
            "backend": "hf",
            "path": str(self.path),
            "weights": _fingerprint(self.path),
            "adapter": str(self.adapter) if self.adapter else None,
            "adapter_weights": _fingerprint(self.adapter) if self.adapter else None,
        }

    @classmethod
    def from_loaded(cls, model, tokenizer, batch_size: int = 16) -> HFBackend:
        """A backend over a model already in memory (a model being trained); uncacheable, so no identity."""
        import torch

        self = cls.__new__(cls)
        self.torch, self.path, self.adapter = torch, None, None
        self._attach(model, tokenizer, batch_size)
        self.identity = {"backend": "hf", "path": None, "live": True}
        return self

    def _attach(self, model, tokenizer, batch_size: int) -> None:
        tokenizer.padding_side = "left"  # generation pads on the left so every prompt ends where decoding starts
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.prefix_cache = True
        self.stop_ids = sorted({i for i in (tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>"))
                                if isinstance(i, int) and i >= 0 and i != tokenizer.unk_token_id})

    def generate(self, requests: list[Request]) -> list[Completion]:
        out: list[Completion | None] = [None] * len(requests)
        prompts = [render_prompt(self.tokenizer, list(r.messages), continue_final=r.continue_final) for r in requests]
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault((r.max_tokens, r.temperature, r.top_p, r.stop), []).append(i)
        for (max_tokens, temperature, top_p, stop), idx in groups.items():
            idx.sort(key=lambda i: len(prompts[i]))
            for s in range(0, len(idx), self.batch_size):
                batch = idx[s : s + self.batch_size]
                texts = self._run([prompts[i] for i in batch], [requests[i] for i in batch], max_tokens, temperature,
                                  top_p, stop)
                for i, c in zip(batch, texts):
                    out[i] = c
        return out  # type: ignore[return-value]

    def _shared_prefix(self, prompts: list[str]):
        """The rows' common first tokens, computed once: (their KV cache for the whole batch, input ids and
        attention mask laid out as prefix + left-padded suffixes), or None when too little is shared. A few-shot
        prompt repeats the same shots in every row; without this each row prefills them again, which on a CPU costs
        more than the decoding (8 GSM8K shots are ~1,000 tokens a row)."""
        torch = self.torch
        if len(prompts) < 2 or not self.prefix_cache:
            return None
        ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        n = 0
        shortest = min(len(x) for x in ids)
        while n < shortest - 1 and all(x[n] == ids[0][n] for x in ids):
            n += 1
        if n < self.MIN_SHARED:
            return None
        device = self.model.device
        prefix = torch.tensor([ids[0][:n]], device=device)
        with torch.inference_mode():
            out = self.model(input_ids=prefix, use_cache=True)
        cache = out["cache"] if "cache" in out else out["past_key_values"]  # the name changed in transformers 5
        cache.batch_repeat_interleave(len(ids))
        width = max(len(x) - n for x in ids)
        pad = self.tokenizer.pad_token_id
        rows = [[pad] * (width - len(x) + n) + x[n:] for x in ids]
        masks = [[0] * (width - len(x) + n) + [1] * (len(x) - n) for x in ids]
        input_ids = torch.cat([prefix.expand(len(ids), n), torch.tensor(rows, device=device)], dim=1)
        mask = torch.cat([torch.ones(len(ids), n, dtype=torch.long, device=device),
                          torch.tensor(masks, device=device)], dim=1)
        return cache, {"input_ids": input_ids, "attention_mask": mask}

    def _run(self, prompts, reqs, max_tokens, temperature, top_p, stop) -> list[Completion]:
        torch = self.torch
        shared = self._shared_prefix(prompts)
        if shared is None:
            enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(self.model.device) for k, v in enc.items()}
        else:
            cache, enc = shared
        sampling = temperature > 0
        if sampling:  # reproducible for the same batch: seeded from the requests' own seeds and sample indices
            torch.manual_seed(int(hashlib.sha256(repr([(r.seed, r.sample) for r in reqs]).encode()).hexdigest()[:8], 16))
        kwargs = dict(max_new_tokens=max_tokens, do_sample=sampling, pad_token_id=self.tokenizer.pad_token_id,
                      eos_token_id=self.stop_ids or None)
        if sampling:
            kwargs.update(temperature=temperature, top_p=top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        if shared is not None:
            kwargs[_CACHE_KWARG] = cache
        t0 = time.perf_counter()
        with torch.inference_mode():
            gen = self.model.generate(**enc, **kwargs)
        latency = (time.perf_counter() - t0) / len(prompts)
        new = gen[:, enc["input_ids"].shape[1] :]
        results = []
        for row, mask in zip(new, enc["attention_mask"]):
            ids = row.tolist()
            finish = "length"
            for k, t in enumerate(ids):
                if t in self.stop_ids:
                    ids, finish = ids[:k], "stop"
                    break
            ids = [t for t in ids if t != self.tokenizer.pad_token_id or t in self.stop_ids]
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            hits = sorted((text.index(s), s) for s in stop if s in text)
            stop_reason = None
            if hits:  # the earliest stop string ends the text, as an API server cuts it
                (at, stop_reason), finish = hits[0], "stop"
                text = text[:at]
            results.append(Completion(text=text, prompt_tokens=int(mask.sum()), completion_tokens=len(ids),
                                      latency_s=latency, finish_reason=finish, stop_reason=stop_reason))
        return results
