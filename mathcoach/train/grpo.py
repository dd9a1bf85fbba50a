"""``mathcoach train --method grpo``: GRPO (DeepSeekMath, arXiv 2402.03300) on TRL's GRPOTrainer, rewarded by
the one answer checker.

Example: ``mathcoach train --method grpo --model runs/mul/model --train prompts.jsonl --val val.jsonl -o runs/grpo``

Each step samples ``--num-generations`` answers per training question with plain ``model.generate`` (no vLLM on a
CPU), rewards each by ``rewards.exact_reward`` (plus any shaping rewards), normalises within the group and takes
a clipped policy-gradient step -- all TRL's. What is ours is around it: prompts rendered exactly as eval renders
them (the model directory's system message, no injected default system turn), validation by greedy decoding with
best-checkpoint selection on exact match, the CSV log with every reward apart, the time limit, resume, and the
model-directory contract, all as SFT has them.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

from mathcoach import modeldir
from mathcoach.config import ConfigError
from mathcoach.runs import index_run
from mathcoach.train.config import TrainConfig
from mathcoach.train.rewards import parse_rewards, reward_funcs
from mathcoach.train.run import CHECKPOINTS, load_model_and_tokenizer, prepare_output, train_results
from mathcoach.train.start import Start, problem_json, starting_point


def prompt_rows(tokenizer, start: Start) -> list[dict]:
    """One row per training question: the rendered prompt (text, so TRL adds no template turn of its own) and the
    columns the reward functions read."""
    from mathcoach.eval.score import build_messages
    from mathcoach.models.hf import render_prompt

    return [{"prompt": render_prompt(tokenizer, list(build_messages(it.question, start.system, []))),
             "question": it.question, "gold": it.answer, "problem": problem_json(it)} for it in start.items]


def grpo_steps(cfg: TrainConfig, n_questions: int) -> int:
    """Optimizer steps the schedule runs: --max-steps, else epochs over the questions, each asked
    --num-generations times, --batch-size x --grad-accum samples a step."""
    if cfg.max_steps:
        return cfg.max_steps
    per_step = cfg.batch_size * cfg.grad_accum // cfg.num_generations
    return max(1, int(-(-n_questions // per_step) * cfg.epochs + 0.999999))


def grpo_config(cfg: TrainConfig, out: Path, max_tokens: int, weights: list[float], n_questions: int):
    import torch
    from trl import GRPOConfig

    cuda = torch.cuda.is_available()
    # transformers 5 renamed gradient_checkpointing (the old name warns on every run); older versions know only it.
    checkpointing = ("activation_checkpointing" if "activation_checkpointing" in GRPOConfig.__dataclass_fields__
                     else "gradient_checkpointing")
    return GRPOConfig(
        output_dir=str(out / CHECKPOINTS), seed=cfg.seed, data_seed=cfg.seed,
        per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum,
        num_generations=cfg.num_generations, max_completion_length=max_tokens, temperature=cfg.temperature,
        beta=cfg.beta, reward_weights=weights, use_vllm=False,
        learning_rate=cfg.learning_rate, lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=round(cfg.warmup_ratio * grpo_steps(cfg, n_questions)), weight_decay=cfg.weight_decay,
        num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1,
        # bf16 autocast is off unless asked for: TRL's GRPO documents bf16=False for CPU, and the log-probability
        # ratios it clips are where bf16's 8 bits of mantissa show first.
        bf16=cfg.bf16 if cfg.bf16 is not None else (cuda and torch.cuda.is_bf16_supported()), use_cpu=not cuda,
        **{checkpointing: cfg.gradient_checkpointing},
        logging_steps=cfg.logging_steps, logging_first_step=True, eval_strategy="steps", eval_steps=cfg.eval_steps,
        save_strategy="steps", save_steps=cfg.eval_steps, save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=True, metric_for_best_model="exact_match", greater_is_better=True,
        report_to=[r for r in cfg.report_to.split(",") if r and r != "none"] or "none",
        disable_tqdm=True, dataloader_num_workers=0, log_completions=False,
    )


def _trainer_class():
    from trl import GRPOTrainer

    from mathcoach.train.trainer import GenerationValidation

    class MathGRPOTrainer(GenerationValidation, GRPOTrainer):
        """GRPOTrainer whose evaluation is greedy decoding of the validation subset (no sampled groups, no eval
        rewards): the number every other method selects its checkpoint on."""

        def __init__(self, *args, val_items=(), gen=None, samples_path=None, advantage="sequence", **kwargs):
            super().__init__(*args, **kwargs)
            self.val_items, self.gen, self.samples_path = list(val_items), gen, samples_path
            self.advantage = advantage

        def _generate_and_score_completions(self, inputs):
            """TRL's sampling and scoring; with ``advantage = "first_error"`` (or ``first_error_token``) the advantages
            become per token (credit.py), which TRL's loss takes as they are (shape (B, T))."""
            out = super()._generate_and_score_completions(inputs)
            if self.advantage == "sequence" or not self.model.training:
                return out
            import torch

            from mathcoach.train.credit import token_advantages

            ids, mask, adv = out["completion_ids"], out["completion_mask"], out["advantages"]
            tok = self.processing_class
            # each token's own text, so a character span maps to tokens; only a sample with a negative advantage is
            # ever placed, so only those are decoded. One whose pieces do not join into its decoded text (a tokenizer
            # that merges across tokens) gets none, and keeps its advantage on every token
            pieces = []
            for negative, row, m in zip((adv < 0).tolist(), ids.tolist(), mask.tolist()):
                kept = [t for t, keep in zip(row, m) if keep] if negative else []
                own = tok.batch_decode([[t] for t in kept], skip_special_tokens=True)
                pieces.append(own if "".join(own) == tok.decode(kept, skip_special_tokens=True) else [])
            rows, placed = token_advantages(adv.tolist(), pieces, [x.get("problem", "") for x in inputs],
                                            self.gen.fmt, self.advantage)
            per_token = adv.unsqueeze(1).repeat(1, ids.shape[1])
            for i, row in enumerate(rows):
                if pieces[i]:
                    where = mask[i].nonzero().flatten()[: len(row)]
                    per_token[i, where] = torch.tensor(row, dtype=per_token.dtype, device=per_token.device)
            out["advantages"] = per_token
            wrong = int((adv < 0).sum())
            self._metrics["train"]["first_error/placed"].append(placed / wrong if wrong else float("nan"))
            return out

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            t0 = time.perf_counter()
            metrics = {f"{metric_key_prefix}_{k}": v for k, v in self.generation_accuracy().items() if v is not None}
            metrics[f"{metric_key_prefix}_generation_s"] = round(time.perf_counter() - t0, 2)
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            return metrics

    return MathGRPOTrainer


def reward_fields(rewards: list[tuple[str, float]], advantage: str = "sequence") -> tuple[str, ...]:
    """The log keys TRL writes for the rewards (its names: ``rewards/<func name>/mean`` and ``/std``), and the share
    of wrong samples whose advantage went on their first wrong step or token (``--advantage first_error``,
    ``first_error_token``)."""
    return ("reward", "reward_std", *(f"rewards/{n}/mean" for n, _ in rewards), "completions/mean_length",
            "completions/clipped_ratio", "kl", *(("first_error/placed",) if advantage != "sequence" else ()))


def run_grpo(cfg: TrainConfig, callbacks=(), quiet: bool = False) -> tuple[Path, dict]:
    t_start = time.time()
    if cfg.method != "grpo":
        raise ConfigError("method", f"run_grpo runs --method grpo, not {cfg.method}")
    rewards = parse_rewards(cfg.rewards)
    start = starting_point(cfg)
    out, ckpt = prepare_output(cfg)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, set_seed
    from transformers.utils import logging as hf_logging

    from mathcoach.train.trainer import GenSettings, MetricsCSV, Progress, TimeLimit

    hf_logging.disable_progress_bar()
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    set_seed(cfg.seed)
    limit = TimeLimit(cfg.max_minutes) if cfg.max_minutes else None
    try:
        base, model, tokenizer = load_model_and_tokenizer(cfg, start.rows, out)
        tokenizer.padding_side = "left"  # generation continues every prompt from its last token
        train_ds = Dataset.from_list(prompt_rows(tokenizer, start))
        val_start = dataclasses.replace(start, items=[i for _, i in start.picked])
        eval_ds = Dataset.from_list(prompt_rows(tokenizer, val_start))
        funcs, weights = reward_funcs(rewards, start.fmt, strict=not cfg.lenient_reward)
        resume_step = int(ckpt.name.split("-")[1]) if ckpt else 0
        cbs = [MetricsCSV(out / "metrics.csv", resume_step, extra=reward_fields(rewards, cfg.advantage)), *callbacks]
        if limit:
            cbs.append(limit)
        trainer = _trainer_class()(
            model=model, reward_funcs=funcs, args=grpo_config(cfg, out, start.max_tokens, weights, len(train_ds)),
            train_dataset=train_ds, eval_dataset=eval_ds, processing_class=tokenizer, callbacks=cbs,
            val_items=[it for _, it in start.picked],
            gen=GenSettings(start.system, start.fmt, start.max_tokens, max(cfg.batch_size, 32), cfg.val_tools),
            samples_path=out / "val_samples.jsonl", advantage=cfg.advantage)
    except Exception:
        if not cfg.resume:
            shutil.rmtree(out, ignore_errors=True)  # nothing half-made is left behind
        raise
    trainer.remove_callback(PrinterCallback)
    if not quiet:
        trainer.add_callback(Progress())
        print(f"training grpo from {cfg.model} on {len(train_ds)} questions, {cfg.num_generations} samples each per "
              f"step ({cfg.batch_size * cfg.grad_accum} a step), rewards {cfg.rewards}, format {start.fmt}, "
              f"validating {len(start.picked)} problems every {cfg.eval_steps} steps; output {out}", file=sys.stderr)
    t_train = time.time()
    result = trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    train_s = time.time() - t_train

    trainer.save_model(str(out))  # the best checkpoint by validation exact match, loaded at the end
    tokenizer.save_pretrained(out)
    results, resolved, data_sha = train_results(
        cfg, trainer.state, fmt=start.fmt, fmt_version=start.fmt_version, system=start.system, base=base,
        max_tokens=start.max_tokens, n_train=len(train_ds), n_val=len(start.picked),
        train_loss=result.training_loss, train_s=train_s, wall_s=time.time() - t_start, limit=limit)
    state = trainer.state
    reward_log = [{k: h[k] for k in ("step", *reward_fields(rewards, cfg.advantage)) if k in h}
                  for h in state.log_history if "reward" in h]
    results |= {"rewards": {"spec": cfg.rewards, "log": reward_log},
                "generated_samples": state.global_step * cfg.batch_size * cfg.grad_accum}
    write_contract(out, cfg, start, tokenizer, resolved, results, data_sha)
    index_run(out, "train", results | {"config": {"model": cfg.model, "data": cfg.val}})
    return out, results


def write_contract(out: Path, cfg: TrainConfig, start: Start, tokenizer, resolved: dict, results: dict,
                   data_sha: dict) -> None:
    """The starting model's contract, carried over: same format, template and system message, so eval and serve
    read the new weights exactly as they read the old; only the method, base and hashes are new."""
    old = start.record
    record = modeldir.ModelRecord(
        format=start.fmt, format_version=start.fmt_version, system_prompt=start.system,
        template=old.template if old else None, base_model=cfg.model,
        base_model_path=results["config"]["base_model_path"],
        method=cfg.method, from_scratch=None, adapter=False, tokenizer=modeldir.tokenizer_summary(tokenizer),
        versions=results["versions"], data_sha256=data_sha, max_new_tokens=start.max_tokens)
    best = results["best_val_exact_match"]
    card = "\n".join([
        f"# {out.name}", "",
        f"`{cfg.method}` on the samples of `{cfg.model}` by mathcoach {results['versions']['mathcoach']}, questions "
        f"from `{cfg.train}` ({results['rows']['train']}), format `{start.fmt}`.", "",
        "| | |", "|---|---|",
        f"| best validation exact match | {'n/a' if best is None else f'{100 * best:.1f}%'} on "
        f"{results['rows']['val_subset']} validation problems (step {results['best_step']}) |",
        f"| generated samples | {results['generated_samples']:,} ({cfg.num_generations} per question) |",
        f"| steps / train time | {results['steps']} / {results['train_s'] / 60:.1f} min |",
        f"| seed | {cfg.seed} |", "",
        f"    mathcoach eval --model {out} --data test.jsonl", "",
    ]) + "\n"
    modeldir.write_record(out, record, resolved, results, card)
