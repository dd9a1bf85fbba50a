"""Training-step throughput of a from-scratch specialist: eager vs bf16 autocast vs torch.compile, one shape.

Example: ``.venv/bin/python benchmarks/scratch_speed.py --size tiny --length 1400 --batch 16 --steps 6``

Why: the 8x8 specialist's rows are ~1.7x longer than 6x6's, so its 60-minute budget buys ~40% fewer rows
unless a step gets cheaper (issue 18 asks to measure before choosing). Each mode builds the same random-weight
Llama (``train.scratch``), runs ``--warmup`` untimed steps (compilation happens there), then ``--steps`` timed
forward+backward+AdamW steps on random tokens of one shape (a real row's token ids do not change the cost).
Prints one JSON object: tokens/s per mode (every position of the batch counted) and the ratios to eager fp32.
A mode ending in ``-padded`` passes a padding mask as a mixed training batch has one: rows of ``length`` down to
``length`` - 150 tokens and one 60-token row (a refusal), the rest padding; its ``counted_tokens_per_s`` counts
only the rows' own tokens, as the trainer's tokens/s does. Why: the seventh mathcoach-mul attempt trained at 4,290
counted tokens/s where this script ran the same model at ~6,300 on one shape (benchmarks/RESULTS.md, 2026-12-06).
A mode ending in ``-tokenloss`` takes its loss from the trainer's own weighted mean (``train.trainer.token_loss``,
the path every ``--batching split`` run takes), and one ending in ``-focal`` the same with ``--focal-gamma 1``: what
the weighting costs a step, measured apart from the day's speed.
"""

from __future__ import annotations

import argparse
import json
import time


def run(mode: str, size: str, length: int, batch: int, steps: int, warmup: int) -> tuple[float, float]:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from mathcoach.train.config import SCRATCH_SIZES

    layers, hidden, heads, inter = SCRATCH_SIZES[size]
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=512, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=4096,
                      tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    step_model = torch.compile(model) if "compile" in mode else model
    x = torch.randint(0, 512, (batch, length))
    mask = None
    if mode.endswith("-padded"):  # a mixed batch: long rows of a few lengths and one short refusal, padded
        lengths = torch.randint(length - 150, length + 1, (batch,))
        lengths[0] = 60
        mask = (torch.arange(length)[None, :] < lengths[:, None]).long()

    from mathcoach.train.trainer import token_loss

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled="bf16" in mode):
            if mode.endswith(("-tokenloss", "-focal")):
                batch_in = {"input_ids": x, "labels": x, **({"attention_mask": mask} if mask is not None else {})}
                loss, _ = token_loss(step_model, batch_in, [], focal=1.0 if mode.endswith("-focal") else 0.0)
            else:
                loss = step_model(input_ids=x, attention_mask=mask, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - t0
    return batch * length * steps / seconds, (int(mask.sum()) if mask is not None else batch * length) * steps / seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--length", type=int, default=1400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--modes", default="fp32,bf16,compile-fp32,compile-bf16")
    args = ap.parse_args()
    import platform

    import torch

    out = {"size": args.size, "length": args.length, "batch": args.batch, "steps": args.steps,
           "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.processor(),
           "tokens_per_s": {}}
    for mode in args.modes.split(","):
        every, counted = run(mode, args.size, args.length, args.batch, args.steps, args.warmup)
        out["tokens_per_s"][mode] = round(every)
        if mode.endswith("-padded"):
            out.setdefault("counted_tokens_per_s", {})[mode] = round(counted)
    base = out["tokens_per_s"].get("fp32")
    if base:
        out["ratio_to_fp32"] = {m: round(v / base, 2) for m, v in out["tokens_per_s"].items()}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
