"""``mathcoach train``: supervised fine-tuning (LoRA, QLoRA, full) or a from-scratch specialist, on TRL.

Example: ``mathcoach train --config configs/train/smollm2_cpu_2x2.toml --output runs/train/smollm2-2x2``

Read top to bottom: set-up (data, model, tokenizer), training (TRL's SFTTrainer with generation-based
validation and best-checkpoint selection), saving (weights or adapter, resolved config, model card).

The output directory is the model-directory contract of modeldir.py (weights or adapter, tokenizer,
``mathcoach.json`` with format, system prompt, template and base model, config.yaml, train_results.json,
metrics.csv, val_samples.jsonl, the model card) plus ``checkpoints/`` for ``--resume``.
``mathcoach eval --model DIR`` and ``mathcoach serve --model DIR`` take it as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from mathcoach import modeldir
from mathcoach.config import ConfigError, read_text_or_file
from mathcoach.io import read_jsonl
from mathcoach.problems.dataset import item_from_row
from mathcoach.problems.traces import Format, FormatError, format_of
from mathcoach.runs import index_run, new_run_dir, sha256_file, versions
from mathcoach.train.config import TrainConfig
from mathcoach.train.data import distinct_pad_token, encode_rows, encode_text_rows, row_text, split_messages

CHECKPOINTS = "checkpoints"
ABORTED_START = {"metrics.csv", "scratch-init", "val_samples.jsonl", CHECKPOINTS}  # all a run leaves before its first checkpoint
RFT_SAMPLES = "rft_samples.jsonl"  # rft's kept samples, written before its SFT starts: part of the run, kept on resume


def last_checkpoint(out: Path) -> Path | None:
    ckpts = [p for p in (out / CHECKPOINTS).glob("checkpoint-*") if (p / "trainer_state.json").exists()]
    return max(ckpts, key=lambda p: int(p.name.split("-")[1]), default=None)


def val_subset(rows: list[dict], n: int, seed: int, path: str) -> list[tuple]:
    """A fixed, cell-balanced subset of (row, item): round-robin over cells in a seeded order."""
    by_cell: dict = {}
    order = sorted(range(len(rows)), key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    for i in order:
        item = item_from_row(rows[i], i + 1, path)
        if item.answer is None:
            raise ConfigError("val", f"{path}: row {i + 1} has no gold answer; validation needs scorable rows")
        by_cell.setdefault(item.problem.cell if item.problem else "", []).append((rows[i], item))
    picked, queues = [], [list(v) for _, v in sorted(by_cell.items())]
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked


def check_hardware(cfg: TrainConfig) -> None:
    """Settings this machine cannot honour, refused in one line rather than a traceback or a silent error."""
    import torch

    if cfg.packing:
        # Packed rows share one sequence; only varlen flash-attention kernels keep them from attending to each
        # other. SDPA and eager attention (all a CPU has) let them leak, which a test demonstrates.
        import importlib.util

        if not torch.cuda.is_available() or importlib.util.find_spec("flash_attn") is None:
            raise ConfigError("packing", "packing needs a CUDA GPU with flash-attn (pip install flash-attn); "
                              "without it packed rows attend to each other. Leave --packing off")
    if cfg.method != "qlora":
        return

    if not torch.cuda.is_available():
        raise ConfigError("method", "qlora needs a CUDA GPU (4-bit bitsandbytes kernels); none is visible here. "
                          "Use --method lora on CPU")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ConfigError("method", "qlora needs bitsandbytes: pip install bitsandbytes") from None


def check_format_fits(cfg: TrainConfig, fmt: str, rows: list[dict], inherited: str | None) -> Format:
    """The format (given, or the rows' own) must exist for the rows' operation and suit the chat template (the
    flags', or ``inherited`` from the --model directory trained further)."""
    op = next((r["meta"]["op"] for r in rows if isinstance(r.get("meta"), dict) and "op" in r["meta"]), "mul")
    try:
        record = format_of(op, fmt)
    except FormatError as e:
        raise ConfigError("format", str(e)) from None
    cfg.check_template(fmt, inherited)
    return record


def base_model_dir(cfg: TrainConfig) -> Path:
    from mathcoach.models import ModelSpecError, parse_model

    backend, kwargs = parse_model(cfg.model)
    if backend != "hf" or kwargs.get("adapter"):
        raise ModelSpecError(f"--model {cfg.model}: training needs a local transformers model (smollm2-135m or a "
                             "model directory), not an API model or an adapter")
    return Path(kwargs["path"])


def load_model_and_tokenizer(cfg: TrainConfig, train_rows: list[dict], out: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if cfg.from_scratch:
        from mathcoach.train.scratch import build_scratch_model

        base = build_scratch_model(cfg.from_scratch, train_rows, out / "scratch-init", cfg.seed,
                                   max_positions=max(2048, cfg.max_length),
                                   digits=cfg.template, factored_places=cfg.factored_places,
                                   frame=cfg.operand_frame, words=cfg.frame_words)
    else:
        base = base_model_dir(cfg)
    tokenizer = AutoTokenizer.from_pretrained(base)
    kwargs: dict = {"dtype": torch.float32}
    if cfg.method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs = {"dtype": torch.bfloat16, "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16)}
    elif torch.cuda.is_available():
        kwargs["dtype"] = torch.bfloat16 if cfg.method in ("full", "grpo", "rft") else torch.float32
    if cfg.packing:
        kwargs["attn_implementation"] = "flash_attention_2"
    model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    pad, added = distinct_pad_token(tokenizer)
    if added:
        tokenizer.add_special_tokens({"pad_token": pad})
        model.resize_token_embeddings(len(tokenizer))
    tokenizer.pad_token = pad
    model.config.pad_token_id = tokenizer.pad_token_id
    return base, model, tokenizer


def total_steps(cfg: TrainConfig, n_rows: int) -> int:
    """Optimizer steps the schedule runs: --max-steps, else epochs over the rows (the last batch counted)."""
    if cfg.max_steps:
        return cfg.max_steps
    per_epoch = -(-n_rows // (cfg.batch_size * cfg.grad_accum))
    return max(1, int(per_epoch * cfg.epochs + 0.999999))


def sft_config(cfg: TrainConfig, out: Path, n_rows: int):
    import torch
    from trl import SFTConfig

    # An integer step count: transformers reads a float warmup_steps as a ratio only from version 5 on, and
    # warmup_ratio is deprecated there, so the ratio is turned into steps here, the same on every version.
    warmup_steps = round(cfg.warmup_ratio * total_steps(cfg, n_rows))
    # transformers 5 renamed gradient_checkpointing (the old name warns on every run); older versions know only it.
    checkpointing = ("activation_checkpointing" if "activation_checkpointing" in SFTConfig.__dataclass_fields__
                     else "gradient_checkpointing")

    cuda = torch.cuda.is_available()
    bf16 = cfg.bf16 if cfg.bf16 is not None else (torch.cuda.is_bf16_supported() if cuda else _cpu_bf16())
    return SFTConfig(
        output_dir=str(out / CHECKPOINTS), seed=cfg.seed, data_seed=cfg.seed,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler, warmup_steps=warmup_steps, weight_decay=cfg.weight_decay,
        num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1, bf16=bf16, use_cpu=not cuda,
        **{checkpointing: cfg.gradient_checkpointing},  # TRL defaults to on: compute for memory a small run lacks
        logging_steps=cfg.logging_steps, logging_first_step=True, eval_strategy="steps", eval_steps=cfg.eval_steps,
        save_strategy="steps", save_steps=cfg.eval_steps, save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=True, metric_for_best_model="exact_match", greater_is_better=True,
        report_to=[r for r in cfg.report_to.split(",") if r and r != "none"] or "none",
        max_length=cfg.max_length, packing=cfg.packing, completion_only_loss=True,
        include_num_input_tokens_seen="non_padding", disable_tqdm=True,  # trainer.Progress shows it
        # Grouping by length pads least, but a short kind of row then comes in batches of its own: the fourth
        # mathcoach-mul attempt's first reply token was a prior over "trace or refuse", the same for every question
        # (benchmarks/RESULTS.md, 2026-12-03). --batching random mixes every batch, and split (train/batches.py) too.
        train_sampling_strategy="group_by_length" if cfg.batching == "length" and not cfg.packing else "random",
        dataloader_num_workers=0, eval_accumulation_steps=None,
    )


def _cpu_bf16() -> bool:
    """bf16 autocast speeds CPU training only where the CPU has native bf16 (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def output_dir(cfg: TrainConfig) -> Path:
    return new_run_dir("train", cfg.from_scratch and f"scratch-{cfg.from_scratch}" or cfg.model, cfg.train, cfg.output)


def prepare_output(cfg: TrainConfig, keep: frozenset = frozenset()) -> tuple[Path, Path | None]:
    """The output directory and the checkpoint to resume from; ``keep``: files of this run made before training
    (rft's samples), neither removed nor counted as a finished run."""
    out = output_dir(cfg)
    ckpt = last_checkpoint(out) if out.exists() else None
    names = {p.name for p in out.iterdir()} - keep if out.exists() else set()
    if cfg.resume:
        if ckpt is None and not keep:
            raise ConfigError("resume", f"{out} holds no checkpoint to resume from; drop --resume to start afresh")
    elif out.exists() and names <= ABORTED_START and ckpt is None:
        for name in names:  # a run killed before its first checkpoint: nothing in it can be resumed
            shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    elif out.exists() and names:
        raise ConfigError("output", f"{out} is not empty; pass --resume to continue it or choose another --output")
    out.mkdir(parents=True, exist_ok=True)
    return out, ckpt


def run_train(cfg: TrainConfig, callbacks=(), quiet: bool = False,
              extra_results: dict | None = None) -> tuple[Path, dict]:
    """``extra_results``: what a caller did before this SFT (rft's sampling), merged into train_results.json."""
    if cfg.method == "grpo":
        from mathcoach.train.grpo import run_grpo

        return run_grpo(cfg, callbacks, quiet)
    if cfg.method == "rft" and extra_results is None:
        from mathcoach.train.rft import run_rft

        return run_rft(cfg, callbacks, quiet)
    t_start = time.time()
    cfg.preflight()
    check_hardware(cfg)
    train_rows = read_jsonl(cfg.train)[: cfg.train_limit]
    if not train_rows:
        raise ConfigError("train", f"{cfg.train} holds no rows")
    for n, row in enumerate(train_rows, 1):
        row_text(row, n, cfg.train) if cfg.objective == "pretrain" else split_messages(row, n, cfg.train)
    val_rows = read_jsonl(cfg.val)
    if not val_rows:
        raise ConfigError("val", f"{cfg.val} holds no rows")
    picked = val_subset(val_rows, cfg.eval_problems, cfg.seed, cfg.val)
    # A bad --model fails before any output is made; a model directory trained further keeps its template.
    record = None if cfg.from_scratch else modeldir.read_record(base_model_dir(cfg))
    template = cfg.template or (record.template if record else None)
    if cfg.format:
        cfg.check_template(cfg.format, template)
    rows_fmt = Counter(r.get("meta", {}).get("format") for r in train_rows).most_common(1)[0][0]
    if cfg.format and rows_fmt and cfg.format != rows_fmt:
        raise ConfigError("format", f"{cfg.format!r}, but {cfg.train} is written in {rows_fmt!r}: the step checker "
                          "would diagnose every answer against the wrong trace; drop --format or regenerate the rows")
    fmt = cfg.format or rows_fmt or "long"
    fmt_version = check_format_fits(cfg, fmt, train_rows, template).version
    system = read_text_or_file("system", cfg.system)
    out, ckpt = prepare_output(cfg, frozenset({RFT_SAMPLES}) if extra_results is not None else frozenset())

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()  # per-map bars for a few thousand rows bury the training log
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    set_seed(cfg.seed)
    try:
        base, model, tokenizer = load_model_and_tokenizer(cfg, train_rows, out)
        if cfg.objective == "pretrain":
            train_ds = Dataset.from_list(encode_text_rows(tokenizer, train_rows, cfg.max_length, cfg.train))
        else:
            train_ds = Dataset.from_list(encode_rows(tokenizer, train_rows, system, cfg.max_length, cfg.train))
        val_enc = encode_rows(tokenizer, [r for r, _ in picked], system, cfg.max_length, cfg.val)
        eval_ds = Dataset.from_list(val_enc)
    except ConfigError:
        if not cfg.resume and extra_results is None:  # rft's samples stay: they cost the most to make
            shutil.rmtree(out, ignore_errors=True)  # nothing half-made is left behind
        raise
    longest = max(sum(e["completion_mask"]) for e in val_enc)
    gen_tokens = cfg.eval_max_tokens or longest + 16

    try:
        trainer, limit = _build_trainer(cfg, out, ckpt, model, tokenizer, train_ds, eval_ds, picked, system, fmt,
                                        gen_tokens, callbacks, quiet)
    except Exception:
        if not cfg.resume and extra_results is None:  # rft's samples stay: they cost the most to make
            shutil.rmtree(out, ignore_errors=True)  # nothing half-made is left behind
        raise
    if not quiet:
        n_tok = sum(len(r) for r in train_ds["input_ids"])
        trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        print(f"training {cfg.method}{' from scratch (' + cfg.from_scratch + ')' if cfg.from_scratch else ''} on "
              f"{len(train_ds)} rows ({n_tok} tokens), {trainable:,} trainable parameters, format {fmt}, "
              f"validating {len(picked)} problems every {cfg.eval_steps} steps; output {out}", file=sys.stderr)
    t_train = time.time()
    result = trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    train_s = time.time() - t_train

    # The trainer has loaded the best checkpoint by validation accuracy; that is what is saved.
    trainer.save_model(str(out))
    tokenizer.save_pretrained(out)
    if cfg.from_scratch:
        shutil.rmtree(out / "scratch-init", ignore_errors=True)
    results, resolved, data_sha = train_results(
        cfg, trainer.state, fmt=fmt, fmt_version=fmt_version, system=system, base=base, max_tokens=gen_tokens,
        n_train=len(train_ds), n_val=len(picked), train_loss=result.training_loss, train_s=train_s,
        wall_s=time.time() - t_start, limit=limit)
    state = trainer.state
    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
    results |= {
        "objective": cfg.objective,
        "train_runtime_s": round(result.metrics.get("train_runtime", train_s), 1),
        "tokens_seen": tokens, "tokens_per_s": round(tokens / train_s, 1) if train_s and not ckpt else None,
        **(extra_results or {}),
    }
    if cfg.early_stopping and results["stopped_by"] == "schedule" and state.global_step < state.max_steps:
        results["stopped_by"] = "early stopping"
    record = modeldir.ModelRecord(
        format=fmt, format_version=fmt_version, system_prompt=system, template=template,
        base_model=None if cfg.from_scratch else cfg.model, base_model_path=None if cfg.from_scratch else str(base),
        method=cfg.method, from_scratch=cfg.from_scratch, adapter=cfg.method in ("lora", "qlora"),
        tokenizer=modeldir.tokenizer_summary(tokenizer), versions=results["versions"], data_sha256=data_sha,
        max_new_tokens=longest + 16)
    modeldir.write_record(out, record, resolved, results, model_card(out, cfg, results, fmt, system))
    index_run(out, "train", results | {"config": {"model": cfg.model, "data": cfg.val}})
    return out, results


def train_results(cfg: TrainConfig, state, *, fmt: str, fmt_version: int, system: str | None, base: Path,
                  max_tokens: int, n_train: int, n_val: int, train_loss: float, train_s: float, wall_s: float,
                  limit) -> tuple[dict, dict, dict]:
    """train_results.json's fields that every method shares (SFT, GRPO, RFT), with the resolved config and the
    data hashes; each method adds its own. One shape, so eval, the pipeline and the report read any of them."""
    best_step = int(state.best_model_checkpoint.rsplit("-", 1)[1]) if state.best_model_checkpoint else None
    history = [h for h in state.log_history if "eval_exact_match" in h]
    resolved = dataclasses.asdict(cfg) | {"format": fmt, "format_version": fmt_version,
                                          "base_model_path": str(base), "max_tokens": max_tokens}
    data_sha = {"train": sha256_file(cfg.train), "val": sha256_file(cfg.val)}
    results = {
        "kind": "train", "method": cfg.method, "config": resolved, "versions": versions(), "seed": cfg.seed,
        "data_sha256": data_sha, "format": {"name": fmt, "version": fmt_version},
        "system_prompt_sha256": hashlib.sha256(system.encode()).hexdigest() if system else None,
        "rows": {"train": n_train, "val_subset": n_val},
        "steps": state.global_step, "best_step": best_step, "best_val_exact_match": state.best_metric,
        "val_history": [{"step": h["step"], "exact_match": h["eval_exact_match"]} for h in history],
        "train_loss": train_loss, "train_s": round(train_s, 1), "wall_s": round(wall_s, 1),
        "stopped_by": "time limit" if limit and limit.hit else "schedule",
        "metrics": {"overall": {"exact_match": state.best_metric, "items": n_val, "unscored": 0}},
    }
    return results, resolved, data_sha


def _build_trainer(cfg, out, ckpt, model, tokenizer, train_ds, eval_ds, picked, system, fmt, gen_tokens, callbacks,
                   quiet=False):
    from transformers import EarlyStoppingCallback, PrinterCallback

    from mathcoach.train.trainer import GenSettings, MathSFTTrainer, MetricsCSV, Progress, ScheduleClock, TimeLimit

    peft_config = None
    if cfg.method in ("lora", "qlora"):
        from peft import LoraConfig

        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        missing = [t for t in cfg.targets if t not in names]
        if missing:
            raise ConfigError("lora_targets", f"the model has no module named {missing[0]!r}")
        peft_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                 target_modules=cfg.targets, bias="none", task_type="CAUSAL_LM")
    resume_step = int(ckpt.name.split("-")[1]) if ckpt else 0
    plain = cfg.focal_gamma or cfg.answer_focal_gamma  # a weighted loss: its plain mean is logged beside it
    cbs = [MetricsCSV(out / "metrics.csv", resume_step, extra=("ce_loss",) if plain else ()), *callbacks]
    limit = TimeLimit(cfg.max_minutes) if cfg.max_minutes else None
    if limit:
        cbs.append(limit)
    if cfg.early_stopping:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping))
    collator = None
    if cfg.batching == "split":
        from mathcoach.train.batches import SplitCollator

        collator = SplitCollator(tokenizer.pad_token_id)
    # Validation decodes in batches of at least 32: greedy decoding is step-bound, so wider batches are nearly free.
    trainer = MathSFTTrainer(
        model=model, args=sft_config(cfg, out, len(train_ds)), train_dataset=train_ds, eval_dataset=eval_ds,
        processing_class=tokenizer, peft_config=peft_config, callbacks=cbs, data_collator=collator,
        val_items=[it for _, it in picked], gen=GenSettings(system, fmt, gen_tokens, max(cfg.batch_size, 32), cfg.val_tools),
        samples_path=out / "val_samples.jsonl", answer_weight=cfg.answer_weight,
        decision_weight=cfg.decision_weight, focal_gamma=cfg.focal_gamma, answer_focal_gamma=cfg.answer_focal_gamma,
        schedule_clock=ScheduleClock(limit) if cfg.fit_schedule and limit else None)
    trainer.remove_callback(PrinterCallback)  # its raw dicts of strings are replaced by one readable line
    if not quiet:
        trainer.add_callback(Progress())
    return trainer, limit


def model_card(out: Path, cfg: TrainConfig, results: dict, fmt: str, system: str | None) -> str:
    what = f"trained from scratch ({cfg.from_scratch})" if cfg.from_scratch else f"{cfg.method} fine-tune of {cfg.model}"
    best = results["best_val_exact_match"]
    lines = [
        f"# {out.name}", "", (f"A {what} by mathcoach {results['versions']['mathcoach']} on `{cfg.train}` "
                              f"({results['rows']['train']} rows, format `{fmt}`)."), "",
        "| | |", "|---|---|",
        (f"| best validation exact match | {'n/a' if best is None else f'{100 * best:.1f}%'} on "
         f"{results['rows']['val_subset']} held-out validation problems (step {results['best_step']}) |"),
        f"| steps / train time | {results['steps']} / {results['train_s'] / 60:.1f} min |",
        f"| tokens seen | {results['tokens_seen']:,} |",
        f"| system prompt | {'none' if system is None else '`system_prompt.txt`'} |",
        f"| seed | {cfg.seed} |", "",
        "Validation problems are never test problems: test accuracy comes from `mathcoach eval` on a test file:", "",
        f"    mathcoach eval --model {out} --data test.jsonl    # scored in `{fmt}`, the trained format",
        f"    mathcoach serve --model {out}", "",
        "Base model licence: see the base model's card (SmolLM2-135M-Instruct is Apache-2.0).",
    ]
    return "\n".join(lines) + "\n"
