"""``mathcoach train --method rft``: rejection-sampling fine-tuning, GRPO's simple baseline at the same number of
samples: sample ``--num-generations`` answers per training question, keep those the answer checker marks right
(each distinct text once), and fine-tune every weight on them with the SFT recipe (RFT, Yuan et al. 2023; the
first half of iterative RPO).

Example: ``mathcoach train --method rft --model runs/mul/model --train prompts.jsonl --val val.jsonl -o runs/rft``

Sampling is eval's own (``ask_and_score`` on the local model, the model directory's system message), streamed to
``rft_sampled.partial.jsonl`` so an interrupted run resumes where it stopped; the kept rows land in
``rft_samples.jsonl`` inside the output, and the SFT on them is ``run_train``, unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from mathcoach.io import atomic_writer, read_jsonl
from mathcoach.train.config import TrainConfig
from mathcoach.train.run import RFT_SAMPLES, output_dir, run_train
from mathcoach.train.start import starting_point

PARTIAL = "rft_sampled.partial.jsonl"


def sample(cfg: TrainConfig, start, out, quiet: bool = False) -> list[dict]:
    """Every training question asked ``num_generations`` times; one scored row per sample (resumed from the
    partial file)."""
    from mathcoach.eval.score import Sampling, ask_and_score
    from mathcoach.models.hf import HFBackend
    from mathcoach.train.run import base_model_dir
    from mathcoach.train.trainer import _Direct

    partial = out / PARTIAL
    done = {(r["id"], r["sample"], r["prompt_hash"]): r for r in read_jsonl(partial)} if partial.exists() else {}
    backend = HFBackend(base_model_dir(cfg), batch_size=max(cfg.batch_size, 16), threads=cfg.threads)
    params = Sampling(max_tokens=start.max_tokens, temperature=cfg.temperature, seed=cfg.seed,
                      samples=cfg.num_generations)
    with partial.open("a", encoding="utf-8") as f:
        def landed(rows):
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
            f.flush()
        if not quiet:
            print(f"rft: sampling {cfg.num_generations} answers to each of {len(start.items)} questions "
                  f"({len(done)} already sampled)", file=sys.stderr)
        return ask_and_score(_Direct(backend), start.items, start.system, [], params, start.fmt, done=done,
                             on_rows=landed)


def kept_rows(start, scored: list[dict], lenient: bool = False) -> list[dict]:
    """The right samples as training rows, each distinct (question, answer) once, with their question's meta."""
    key = "correct_flexible" if lenient else "correct"
    k = len(scored) // max(len(start.items), 1)
    out, seen = [], set()
    for i, r in enumerate(scored):
        row = start.rows[i // k]
        if not r[key] or (r["question"], r["completion"]) in seen:
            continue
        seen.add((r["question"], r["completion"]))
        out.append({"messages": [{"role": "user", "content": r["question"]},
                                 {"role": "assistant", "content": r["completion"]}],
                    **({"meta": row["meta"]} if isinstance(row.get("meta"), dict) else {})})
    return out


def run_rft(cfg: TrainConfig, callbacks=(), quiet: bool = False):
    t0 = time.time()
    start = starting_point(cfg)
    out = output_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    samples = out / RFT_SAMPLES
    if samples.exists():
        kept, n_samples = read_jsonl(samples), len(start.items) * cfg.num_generations
    else:
        scored = sample(cfg, start, out, quiet)
        kept, n_samples = kept_rows(start, scored, cfg.lenient_reward), len(scored)
        if not kept:
            from mathcoach.config import ConfigError

            raise ConfigError("train", f"none of the {n_samples} samples of {cfg.model} is right; rft has nothing "
                              "to learn from (raise --num-generations or --temperature, or train it further first)")
        with atomic_writer(samples) as f:
            for r in kept:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        (out / PARTIAL).unlink(missing_ok=True)
    sampled_s = round(time.time() - t0, 1)
    if not quiet:
        print(f"rft: kept {len(kept)} distinct right samples of {n_samples} ({sampled_s / 60:.1f} min); "
              "fine-tuning on them", file=sys.stderr)
    sft = dataclasses.replace(cfg, train=str(samples), output=str(out), train_limit=None, system=start.system,
                              format=start.fmt)
    extra = {"method": "rft", "generated_samples": n_samples, "kept_samples": len(kept), "sampling_s": sampled_s,
             "questions": {"file": cfg.train, "rows": len(start.items)}}
    return run_train(sft, callbacks, quiet, extra_results=extra)
