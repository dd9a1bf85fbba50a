"""TRL's SFTTrainer plus what arithmetic fine-tuning needs: accuracy by generation, a CSV log, a time limit.

Example: ``trainer = MathSFTTrainer(val_items=items, gen=GenSettings(...), model=..., args=SFTConfig(...), ...)``

Token-level validation loss says little about whether a 12-step trace ends in the right product, so every
evaluation also decodes a fixed validation subset greedily through ``ask_and_score`` -- the function
``mathcoach eval`` uses -- and reports ``eval_exact_match``; the trainer's own best-checkpoint and early-stopping
machinery then select on it (never on test data, which training never reads).
"""

from __future__ import annotations

import copy
import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

from transformers import TrainerCallback
from trl import SFTTrainer

from mathcoach.eval.score import Sampling, aggregate, ask_and_score
from mathcoach.io import atomic_writer


@dataclass(frozen=True)
class GenSettings:
    system: str | None
    fmt: str
    max_tokens: int
    batch_size: int
    tools: str = "none"  # scored as `eval --tools` scores: a PAL model's programs are run, not read as text


class _Direct:
    """ask_and_score's cache interface without a cache: weights change every evaluation."""

    def __init__(self, backend):
        self.backend = backend
        self.identity = backend.identity  # what the calculator loop and the cache key read

    def generate(self, requests, on_batch=None):
        out = self.backend.generate(requests)
        if on_batch:
            on_batch(list(range(len(out))), out)
        return out


class GenerationValidation:
    """Validation by decoding: the fixed subset answered greedily through eval's own ``ask_and_score``. Mixed into
    a TRL trainer (SFT and GRPO alike) before it, so both select checkpoints on the same exact match."""

    val_items: list
    gen: GenSettings | None
    samples_path: Path | None

    def generation_accuracy(self) -> dict:
        from mathcoach.models.hf import HFBackend

        tok = copy.deepcopy(self.processing_class)
        model = self.model
        was_training = model.training
        model.eval()
        try:
            asker = _Direct(HFBackend.from_loaded(model, tok, self.gen.batch_size))
            if self.gen.tools == "calculator":
                from mathcoach.tools.calculator_loop import CalculatorLoop

                asker = CalculatorLoop(asker)
            rows = ask_and_score(asker, self.val_items, self.gen.system, [], Sampling(max_tokens=self.gen.max_tokens),
                                 self.gen.fmt, tools=self.gen.tools)
        finally:
            model.train(was_training)
        if self.samples_path is not None:  # the latest decoded answers with the step checker's diagnosis
            with atomic_writer(self.samples_path) as f:
                for r in rows:
                    f.write(json.dumps({"train_step": self.state.global_step, **r}, ensure_ascii=False) + "\n")
        overall = aggregate(rows, 1)["overall"]
        return {"exact_match": overall["exact_match"], "in_format": overall.get("in_format")}


ANSWER_MARKER = "Answer:"


def answer_mask(input_ids, marker_ids: list[int]):
    """True from the last ``marker_ids`` run in each row (the final Answer line) to the row's end, False elsewhere;
    a row without the marker (a refusal) is False throughout."""
    import torch

    m = torch.zeros(input_ids.shape, dtype=torch.bool, device=input_ids.device)
    n = len(marker_ids)
    if not n or input_ids.shape[1] < n:
        return m
    marker = torch.tensor(marker_ids, device=input_ids.device)
    hits = (input_ids.unfold(1, n, 1) == marker).all(-1)  # (rows, positions where the marker starts)
    for row in range(input_ids.shape[0]):
        where = hits[row].nonzero()
        if len(where):
            m[row, int(where[-1]):] = True
    return m


def answer_weights(input_ids, marker_ids: list[int], weight: float):
    """Per-token loss weights: ``weight`` on the final Answer line (``answer_mask``), 1 elsewhere."""
    import torch

    return torch.where(answer_mask(input_ids, marker_ids), weight, 1.0).float()


def decision_weights(target, weight: float):
    """Per-token loss weights: ``weight`` at each row's first completion token (``target`` != -100), 1 elsewhere."""
    import torch

    w = torch.ones(target.shape, dtype=torch.float32, device=target.device)
    mask = target != -100
    rows = mask.any(1).nonzero().squeeze(1)
    w[rows, mask.int().argmax(1)[rows]] = weight
    return w


def focal_weights(per_token, gamma: float):
    """Per-token loss weights (1 - p)^gamma, p = exp(-loss) the model's probability of the token, detached: a token
    the model already gets (p near 1) stops counting, one it still gets wrong keeps its weight (focal loss, Lin et al.
    2017, used here as a weighting of the mean, not as its own gradient)."""
    return (1 - (-per_token.detach()).exp()).clamp(min=0) ** gamma


def token_loss(model, inputs: dict, answer_ids: list[int], weight: float = 1.0, decision: float = 1.0,
               focal: float = 0.0, stats: dict | None = None, answer_focal: float | None = None):
    """The mean of the completion tokens' cross-entropy over every forward of the batch (train/batches.py), the
    final Answer line's tokens weighted by ``weight``, each reply's first token by ``decision`` and, with ``focal``
    above 0, every token by its focal weight, the Answer line's by its own ``answer_focal`` where that is given;
    and the first forward's output. ``stats`` (a dict) receives the plain unweighted mean as "ce_loss", the figure
    comparable with an unweighted run's loss."""
    import torch
    import torch.nn.functional as F

    from mathcoach.train.batches import groups

    sums, counts, plain, n_tokens, outs = [], [], [], [], []
    for n, (ids, labels) in enumerate(groups(inputs)):
        # the first group keeps whatever mask or positions the collator made; the split collator makes none
        extra = {} if n else {k: v for k, v in inputs.items() if k in ("attention_mask", "position_ids")}
        outs.append(model(input_ids=ids, **extra, use_cache=False))
        logits, target = outs[-1].logits[:, :-1, :].float(), labels[:, 1:]
        per_token = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100, reduction="none")
        mask = target != -100
        on_answer = answer_mask(ids, answer_ids)[:, 1:]
        w = torch.where(on_answer, weight, 1.0) * decision_weights(target, decision) * mask
        if focal or answer_focal:
            fw = focal_weights(per_token, focal)
            if answer_focal is not None and answer_focal != focal:
                fw = torch.where(on_answer, focal_weights(per_token, answer_focal), fw)
            w = w * fw
        sums.append((per_token * w).sum())
        counts.append(w.sum())
        if stats is not None:
            plain.append(per_token.detach()[mask].sum())
            n_tokens.append(mask.sum())
    if stats is not None:
        stats["ce_loss"] = float(sum(plain) / sum(n_tokens).clamp(min=1))
    # a focal weight can sum below 1 over a whole batch once nearly every token is learned: only an empty batch's 0
    # is guarded, so the weighted mean stays a mean
    return sum(sums) / sum(counts).clamp(min=1e-6), outs[0]


class MathSFTTrainer(GenerationValidation, SFTTrainer):
    def __init__(self, *args, val_items=(), gen: GenSettings | None = None, samples_path: Path | None = None,
                 answer_weight: float = 1.0, decision_weight: float = 1.0, focal_gamma: float = 0.0,
                 answer_focal_gamma: float | None = None, schedule_clock: ScheduleClock | None = None, **kwargs):
        self.schedule_clock = schedule_clock  # before super().__init__, which may build the scheduler
        super().__init__(*args, **kwargs)
        self.val_items, self.gen, self.samples_path = list(val_items), gen, samples_path
        self.answer_weight, self.decision_weight, self.focal_gamma = answer_weight, decision_weight, focal_gamma
        self.answer_focal_gamma = answer_focal_gamma
        self.answer_ids = self.processing_class(ANSWER_MARKER, add_special_tokens=False)["input_ids"]

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        made = self.lr_scheduler is None
        scheduler = super().create_scheduler(num_training_steps, optimizer)
        if made and getattr(self, "schedule_clock", None) is not None:
            self.schedule_clock.wrap(scheduler, num_training_steps)
        return scheduler

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # --answer-weight: the Answer line's ~16 tokens are 2% of a mathcoach-mul row and the reads it needs were the
        # last to be learned (the fifth attempt: 91 of 92 traces right, 41% of Answer lines; benchmarks/RESULTS.md,
        # 2026-12-05), so their loss can count more. The weighted mean over the completion's tokens keeps the
        # loss's scale. --batching split (train/batches.py) runs a batch as two forwards whose token losses make one
        # mean. --decision-weight: the reply's first token is the whole decision between a trace and a refusal, one
        # token of ~16,000 in a batch; the tenth mathcoach-mul attempt refused 1 of 89 questions whose operation
        # only the wording shows, in its own training grammar (benchmarks/RESULTS.md, 2026-12-06); weight 10 over
        # 120 steps then learnt the same 13 of 89 as none, so it is kept as a measured option, not in the recipe.
        # --focal-gamma: the eighteenth mathcoach-mul attempt's 8x8 errors were one read (a gather line's, 69% right)
        # and one kind of add (99.07% of groups right), a few tokens of ~1,000 a trace, while the tokens already
        # learnt still made nearly all of the plain mean (RESULTS.md, 2026-12-07). Measured in the nineteenth, the one
        # change: 8x8 54.7% -> 93.7%, held-out refusals 87.0% -> 100.0%. Its plain mean is logged as ce_loss.
        # --answer-focal-gamma: at focal_gamma 2 (the twentieth) the adds were 99.98% a group but the Answer line, a
        # copy of the line above, wrote the 15th place as the 0 most rows hold there; the Answer line can keep its
        # own gamma (0: the plain loss at answer_weight) while the trace takes the stronger focus. Measured at 0
        # beside 2 (the twenty-first): tokens at a fixed weight beside (1 - p)^2-weighted ones held most of the mean
        # once the trace was learnt, and the trace lost its focus (8x8 93.7% -> 79.3%); not in the recipe.
        # TRL's own loss (and its entropy and token-accuracy logs) is used when none of these is on.
        from mathcoach.train.batches import SplitCollator

        focal, answer_focal = getattr(self, "focal_gamma", 0.0), getattr(self, "answer_focal_gamma", None)
        if (self.answer_weight == 1.0 and self.decision_weight == 1.0 and not focal and not answer_focal
                and not isinstance(getattr(self, "data_collator", None), SplitCollator)):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        stats: dict = {}
        loss, out = token_loss(model, inputs, self.answer_ids, self.answer_weight, self.decision_weight, focal, stats,
                               answer_focal)
        if (focal or answer_focal) and hasattr(self, "_metrics"):
            self._metrics["train" if model.training else "eval"]["ce_loss"].append(stats["ce_loss"])
        if num_items_in_batch is not None and self.model_accepts_loss_kwargs:
            # the Trainer then leaves gradient accumulation to the loss (it divides only losses it thinks unscaled):
            # each micro-batch's mean is one of current_gradient_accumulation_steps parts of the step's loss
            loss = loss / self.current_gradient_accumulation_steps
        return (loss, out) if return_outputs else loss

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        # The accuracy joins the loop's own metrics, so every consumer of an evaluation sees it: the log, the
        # best-checkpoint choice and the callbacks' on_evaluate (EarlyStoppingCallback reads it there; added after
        # evaluate() returned, it never reached it and early stopping was silently off).
        out = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        if description == "Evaluation" and self.gen is not None and self.val_items:
            t0 = time.perf_counter()
            out.metrics.update({f"{metric_key_prefix}_{k}": v for k, v in self.generation_accuracy().items()
                                if v is not None})
            out.metrics[f"{metric_key_prefix}_generation_s"] = round(time.perf_counter() - t0, 2)
        return out


class MetricsCSV(TrainerCallback):
    """Every log line (loss, learning rate, validation accuracy) as one row of ``metrics.csv``; resumable."""

    FIELDS = ("step", "epoch", "elapsed_s", "tokens_seen", "loss", "grad_norm", "learning_rate", "eval_loss",
              "eval_exact_match", "eval_in_format", "eval_generation_s")

    def __init__(self, path: Path, resume_step: int = 0, extra: tuple[str, ...] = ()):
        self.FIELDS = self.FIELDS + tuple(extra)  # GRPO adds its rewards
        self.path, self.t0 = path, time.time()
        self.offset = 0.0
        kept = []
        if resume_step and path.exists():  # an interrupted run: keep its rows up to the checkpoint resumed from
            with path.open() as f:
                kept = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            self.offset = max((float(r["elapsed_s"] or 0) for r in kept), default=0.0)
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, self.FIELDS)
            w.writeheader()
            w.writerows(kept)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        row = {k: logs.get(k, "") for k in self.FIELDS}
        row.update(step=state.global_step, epoch=round(state.epoch or 0, 4),
                   elapsed_s=round(self.offset + time.time() - self.t0, 1),
                   tokens_seen=getattr(state, "num_input_tokens_seen", "") or "")
        if not any(row[k] != "" for k in self.FIELDS[4:]):
            return
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.FIELDS).writerow(row)


class TimeLimit(TrainerCallback):
    """Stop after ``minutes`` of training, evaluating and saving that last step so it can still win."""

    def __init__(self, minutes: float):
        self.limit_s, self.t0 = minutes * 60, None
        self.hit = False

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0 = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        if self.t0 is not None and time.time() - self.t0 >= self.limit_s and not self.hit:
            self.hit = True
            control.should_training_stop = True
            control.should_evaluate = control.should_save = True
        return control


class ScheduleClock:
    """--fit-schedule: the learning-rate schedule's progress is the larger of the step's share of the steps and the
    clock's share of --max-minutes, so the rate anneals inside the time limit on a slow day as well.

    Why: on a day a 2-core CPU runs ~25% slow, the limit stopped the twenty-second mathcoach-mul attempt at step 1,083
    of 1,300 with the cosine rate still ~7% of its peak: 8x8 95.0% there, 99.0% once resumed to step 1,300
    (benchmarks/RESULTS.md, 2026-12-07). The schedule's own function (cosine, linear, warmup...) is kept and fed a
    virtual step, max(step, clock share x steps); on a day fast enough to finish the steps, nothing changes. A resumed
    run anneals from where its checkpoint stood to the end within its own --max-minutes."""

    def __init__(self, limit: TimeLimit):
        self.limit, self.total, self.start = limit, 0, None

    def wrap(self, scheduler, total_steps: int):
        """Feed each of a LambdaLR's functions (what transformers' get_scheduler returns) the virtual step."""
        self.total = total_steps
        # plain functions: LambdaLR's state_dict leaves them out, so a checkpoint never holds this clock
        scheduler.lr_lambdas = [lambda step, f=f: f(self.virtual(step)) for f in scheduler.lr_lambdas]
        return scheduler

    def virtual(self, step: int) -> float:
        if self.limit.t0 is None or not self.total:  # before training begins (LambdaLR's own first call)
            return step
        if self.start is None:  # the first step after train begin: 1, or a resumed checkpoint's step + 1
            self.start = step - 1
        done = self.start / self.total
        share = min(1.0, (time.time() - self.limit.t0) / self.limit.limit_s)
        return max(step, (done + (1 - done) * share) * self.total)


class Progress(TrainerCallback):
    """What a person watches: one bar with the step, loss, tokens/s and the last validation accuracy (on a
    terminal), or one such line per log (in a log file) -- in place of transformers' raw dicts of strings."""

    def __init__(self, stream=None):
        import sys

        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.bar, self.t0, self.tokens0, self.val, self.step0 = None, None, 0, None, 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0, self.tokens0 = time.time(), int(getattr(state, "num_input_tokens_seen", 0) or 0)
        self.step0 = state.global_step
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=state.max_steps, initial=state.global_step, unit="step", file=self.stream,
                            desc="train", dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "eval_exact_match" in logs:
            self.val = logs["eval_exact_match"]
        elif "loss" not in logs:  # eval loss, runtime summaries: nothing a person follows
            return
        elapsed = max(time.time() - (self.t0 or time.time()), 1e-9)
        tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0) - self.tokens0
        fields = {"loss": f"{logs['loss']:.4f}" if isinstance(logs.get("loss"), (int, float)) else None,
                  "tok/s": f"{tokens / elapsed:,.0f}" if tokens else None,
                  "val": f"{100 * self.val:.1f}%" if self.val is not None else None}
        done = state.global_step - self.step0
        if self.bar is None and done > 0 and state.max_steps:  # tqdm shows its own ETA; a log line needs one
            left = elapsed / done * (state.max_steps - state.global_step)
            fields["eta"] = f"{int(left // 60)}m{int(left % 60):02d}s"
        fields = {k: v for k, v in fields.items() if v is not None}
        if self.bar is not None:
            self.bar.set_postfix(fields, refresh=True)
        elif fields:
            print(f"step {state.global_step}/{state.max_steps} " + " ".join(f"{k} {v}" for k, v in fields.items()),
                  file=self.stream, flush=True)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
