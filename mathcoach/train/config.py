"""TrainConfig: every setting of ``mathcoach train``, with help text, validated on construction.

Example: ``mathcoach train --config configs/train/smollm2_cpu_2x2.toml --output runs/train/smollm2-2x2``

Defaults mirror the reference QLoRA recipe (LoRA r=64, alpha=16, dropout 0.1 on q/k/v/o); a shipped recipe
changes only what it must and says why in its file. Settings are checked in two passes: ``__post_init__`` refuses
what contradicts itself (no file is read), ``preflight()`` what the machine lacks (input files), just before the
stage runs -- so a multi-stage run is validated before its data exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mathcoach.config import ConfigError, as_file, opt
from mathcoach.eval.config import TOOLS
from mathcoach.problems.traces import ALL_FORMATS, template_of
from mathcoach.train.credit import ADVANTAGES

METHODS = ("lora", "qlora", "full", "grpo", "rft")
RL_METHODS = ("grpo", "rft")  # learn from the model's own samples, scored by the answer checker
OBJECTIVES = ("sft", "pretrain")
SCRATCH_SIZES = {  # name -> (layers, hidden, heads, intermediate): a few million parameters, digit-level vocab
    "tiny": (4, 256, 4, 1024),  # 4.2M; ~6k tok/s on 2 cores with bf16 autocast
    "small": (6, 384, 6, 1536),  # 14.2M; for 8-digit operands and beyond
}


@dataclass
class TrainConfig:
    train: str = opt(help="training JSONL: chat rows from `mathcoach data` (or any rows with messages)", metavar="FILE")
    val: str = opt(help="validation JSONL; a fixed subset is decoded greedily during training", metavar="FILE")
    model: str = opt("smollm2-135m", help="base model: smollm2-135m or a transformers model directory")
    method: str = opt("lora", help="lora | qlora (CUDA + bitsandbytes) | full | grpo (TRL's GRPOTrainer, rewarded by "
                      "the answer checker) | rft (rejection sampling: SFT on the model's own right samples); grpo "
                      "and rft update every weight of --model", choices=METHODS)
    from_scratch: str | None = opt(None, help="train a new small Llama with a character-level tokenizer instead of "
                                   f"fine-tuning --model: {' | '.join(SCRATCH_SIZES)}", metavar="SIZE")
    digit_marks: bool = opt(False, help="with --from-scratch: the chat template marks each digit of the question's "
                            "numbers with its place (pairs with --format places or fused)")
    place_tokens: bool = opt(False, help="with --from-scratch: the chat template writes each digit of the question's "
                             "numbers as one token of its number, place and value (pairs with --format staged or carryout)")
    factored_places: bool = opt(False, help="with --place-tokens: start each place token's embedding as the sum of "
                                "vectors for its number, its place and its digit (the digit's own embedding), so a "
                                "lookup learned for one digit value starts out right for all ten")
    operand_frame: int = opt(0, help="with --place-tokens: the chat template also writes the question's first two "
                             "numbers after it, zero-padded to N digits (a=00000016 b=00000088), so the trace reads "
                             "them at a fixed distance whatever the wording; 0 = off", metavar="N")
    frame_words: int = opt(0, help="with --operand-frame: the frame also writes the W characters of the question "
                           "before its first number, between its first two and after its second, lower-cased and "
                           "padded to W, so the word next to a number stands at a fixed place; 0 = off", metavar="W")
    output: str | None = opt(None, help="output directory (default: runs/train/<time>-<model>-<data>)", metavar="DIR",
                             short="o")
    resume: bool = opt(False, help="continue from the last checkpoint in --output")
    system: str | None = opt(None, help="system message put before every training question, as TEXT or @FILE "
                             "(recorded in the output; eval and serve then use it)", metavar="TEXT|@FILE",
                             aliases={"system_prompt": as_file})
    objective: str = opt("sft", help="sft: loss on the assistant's answer only, in the chat template | pretrain: "
                         "continued pretraining, a plain causal-LM loss over every token of each row's text (a "
                         "'text' field, or a chat row's question and answer), rows longer than --max-length split",
                         choices=OBJECTIVES)
    format: str | None = opt(None, help="trace format the step checker reports errors against (default: the "
                             "training rows' own)", metavar="FMT")
    train_limit: int | None = opt(None, help="use only the first N training rows (sample-efficiency curves)",
                                  metavar="N")
    # optimisation
    epochs: float = opt(1.0, help="passes over the training rows (ignored when --max-steps is set)")
    max_steps: int | None = opt(None, help="optimizer steps to train for (overrides --epochs)", metavar="N")
    max_minutes: float | None = opt(None, help="stop (evaluate and save first) once training has run this long",
                                    metavar="MIN")
    fit_schedule: bool = opt(False, help="fit the learning-rate schedule into --max-minutes: its progress is the "
                             "larger of the step's share and the clock's, so the rate anneals before the limit stops "
                             "a slow run")
    learning_rate: float = opt(2e-4, help="peak learning rate (LoRA 1e-4..2e-3; full 1e-5..2e-4; scratch ~1e-3)")
    lr_scheduler: str = opt("cosine", help="transformers scheduler: cosine, linear, constant_with_warmup...")
    warmup_ratio: float = opt(0.03, help="fraction of steps spent warming the learning rate up")
    weight_decay: float = opt(0.0, help="AdamW weight decay")
    batch_size: int = opt(16, help="sequences per forward pass (8-32 suits a 2-core CPU)", metavar="N")
    grad_accum: int = opt(1, help="forward passes per optimizer step (effective batch = batch x grad-accum)",
                          metavar="N")
    max_length: int = opt(1024, help="longest training sequence in tokens; longer rows are an error", metavar="N")
    packing: bool = opt(False, help="pack rows into max-length sequences (best-fit; loss mask and attention kept per "
                         "row; needs CUDA + flash-attn)")
    answer_weight: float = opt(1.0, help="weight of the final Answer line's tokens in the loss (the weighted mean "
                               "over the completion); above 1 gives its reads more signal", metavar="W")
    decision_weight: float = opt(1.0, help="weight of the reply's first token in the loss (answer or refuse: the one "
                                 "token that decides); above 1 gives the decision more signal than one token of a "
                                 "long trace's", metavar="W")
    focal_gamma: float = opt(0.0, help="weight each completion token's loss by (1 - p)^gamma, p the model's "
                             "probability of it (the weighted mean): above 0 the tokens already learnt stop counting "
                             "and the loss is what is still wrong (focal loss); 0 is the plain mean", metavar="G")
    answer_focal_gamma: float | None = opt(None, help="the focal gamma of the final Answer line's tokens alone "
                                           "(default: focal_gamma's); 0 keeps them on the plain loss at "
                                           "answer_weight", metavar="G")
    batching: str = opt("length", help="how rows are drawn into batches: length (rows of similar length together, "
                        "least padding) | random (every batch a mix, so short rows such as refusals are learned beside "
                        "long traces rather than in batches of their own) | split (random, each batch run as two "
                        "forwards of rows of like length with no padding mask: a short row costs its own length)",
                        choices=("length", "random", "split"))
    bf16: bool | None = opt(None, help="bf16 autocast (default: on where the hardware supports it)")
    gradient_checkpointing: bool = opt(False, help="trade compute for memory on large models")
    seed: int = opt(0, help="seed for initialisation, data order and dropout")
    threads: int | None = opt(None, help="CPU threads for torch (default: all cores)", metavar="N")
    # LoRA
    lora_r: int = opt(64, help="LoRA rank (reference recipe: 64)", metavar="R")
    lora_alpha: int = opt(16, help="LoRA alpha; the update is scaled by alpha/r (reference: 16)")
    lora_dropout: float = opt(0.1, help="dropout on the LoRA input (reference: 0.1)")
    lora_targets: str = opt("q_proj,k_proj,v_proj,o_proj", help="comma-separated module names to adapt "
                            "(add gate_proj,up_proj,down_proj for the MLP)", metavar="NAMES")
    # grpo and rft: the model's own samples
    num_generations: int = opt(8, help="grpo/rft: samples per prompt (GRPO's group; --batch-size x --grad-accum "
                               "must be a multiple of it)", metavar="G")
    rewards: str = opt("exact", help="grpo: reward functions with optional weights, e.g. exact,steps:0.5 -- exact "
                       "(the answer checker; always there), format (an anchored answer), steps (the step checker's "
                       "share of steps right before the first wrong one); each is logged on its own", metavar="SPEC")
    lenient_reward: bool = opt(False, help="grpo/rft: count the flexible answer (the last number) as the answer, not "
                               "only an anchored one")
    temperature: float = opt(1.0, help="grpo/rft: sampling temperature of the generated samples")
    beta: float = opt(0.0, help="grpo: KL penalty to the starting model (TRL's default 0; DeepSeekMath used 0.04)")
    advantage: str = opt("sequence", help="grpo: which tokens a sample's advantage lands on -- sequence (every token, "
                         "TRL's) | first_error (a wrong sample's only on the step the step checker names as its first "
                         "wrong one; the tokens before it were right) | first_error_token (a wrong sample's whole "
                         "advantage on the one token where it leaves the gold trace)", metavar="MODE")
    # evaluation during training
    eval_steps: int = opt(100, help="decode the validation subset every N optimizer steps", metavar="N")
    eval_problems: int = opt(64, help="size of the fixed validation subset decoded greedily", metavar="N")
    eval_max_tokens: int | None = opt(None, help="tokens generated per validation answer (default: longest "
                                      "validation answer + 16)", metavar="N")
    val_tools: str = opt("none", help="score validation answers as `eval --tools` does: python for PAL-style rows "
                         "(each program is run in the sandbox), calculator for annotated rows", choices=TOOLS)
    early_stopping: int = opt(0, help="stop after N evaluations without a better validation accuracy (0: off)",
                              metavar="N")
    save_total_limit: int = opt(2, help="checkpoints kept besides the best one", metavar="N")
    logging_steps: int = opt(10, help="log loss and learning rate every N steps", metavar="N")
    report_to: str = opt("none", help="passed to transformers: none, tensorboard, mlflow, wandb (comma-separated)")

    def preflight(self) -> None:
        """What must exist on this machine when the stage starts."""
        for name in ("train", "val"):
            if not Path(getattr(self, name)).is_file():
                raise ConfigError(name, f"file {getattr(self, name)} does not exist")
        if self.system is not None and self.system.startswith("@") and not Path(self.system[1:]).is_file():
            raise ConfigError("system", f"file {self.system[1:]} does not exist")

    def check_template(self, fmt: str, inherited: str | None = None) -> None:
        """`places`/`fused` name the question's digits by marks only --digit-marks writes, `staged`/`carryout` by
        the tokens only --place-tokens writes: a format read through another template is refused. ``inherited``
        is the template of the --model directory being trained further (its mathcoach.json), which it keeps."""
        needed, have = template_of(fmt), self.template or inherited
        flag = {"marks": "--digit-marks", "tokens": "--place-tokens"}
        if needed and have is None and self.from_scratch is None:
            raise ConfigError("format", f"format {fmt!r} names the question's digits by marks that only a "
                              f"from-scratch model's template writes; add --from-scratch tiny {flag[needed]}, train "
                              "further a model made that way (--model DIR), or pick another format")
        if needed and needed != have:
            raise ConfigError(flag[needed][2:], f"format {fmt!r} is read through the {flag[needed]} template; add "
                              f"{flag[needed]}" + (f" instead of {flag[have]}" if have else ""))

    def __post_init__(self):
        if self.format is not None and self.format not in ALL_FORMATS:
            raise ConfigError("format", f"unknown format {self.format!r}; choose one of {', '.join(ALL_FORMATS)}")
        if self.method not in METHODS:
            raise ConfigError("method", f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.val_tools not in TOOLS:
            raise ConfigError("val_tools", f"unknown tool mode {self.val_tools!r}; choose one of {', '.join(TOOLS)}")
        if self.objective not in OBJECTIVES:
            raise ConfigError("objective", f"unknown objective {self.objective!r}; choose one of "
                              f"{', '.join(OBJECTIVES)}")
        if self.objective == "pretrain" and self.from_scratch:
            raise ConfigError("objective", "pretrain continues a pretrained --model; --from-scratch models are "
                              "trained with sft on their own template")
        if self.method in RL_METHODS:
            self._check_rl()
        if self.advantage not in ADVANTAGES or (self.method != "grpo" and self.advantage != "sequence"):
            raise ConfigError("advantage", f"{self.advantage!r}: choose one of {', '.join(ADVANTAGES)}; any but "
                              "sequence only with --method grpo")
        if self.packing and self.batching == "split":
            raise ConfigError("batching", "split cuts each batch by row length, packing joins rows into one "
                              "sequence: choose one")
        if self.from_scratch is not None:
            if self.from_scratch not in SCRATCH_SIZES:
                raise ConfigError("from_scratch", f"unknown size {self.from_scratch!r}; choose one of "
                                  f"{', '.join(SCRATCH_SIZES)}")
            if self.method != "full":
                raise ConfigError("method", f"a model trained from scratch has no base to adapt; use --method full, "
                                  f"not {self.method}")
        for name in ("digit_marks", "place_tokens"):
            if getattr(self, name) and self.from_scratch is None:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(name, f"only a model trained --from-scratch gets a new chat template; drop {flag} "
                                  "or add --from-scratch")
        if self.factored_places and not self.place_tokens:
            raise ConfigError("factored_places", "initialises the place tokens; add --place-tokens (and --from-scratch)")
        if self.operand_frame < 0:
            raise ConfigError("operand_frame", f"must be 0 (off) or a width in digits, got {self.operand_frame}")
        if self.operand_frame and not self.place_tokens:
            raise ConfigError("operand_frame", "is written by the place-token template; add --place-tokens (and "
                              "--from-scratch)")
        if self.frame_words < 0:
            raise ConfigError("frame_words", f"must be 0 (off) or a width in characters, got {self.frame_words}")
        if self.frame_words and not self.operand_frame:
            raise ConfigError("frame_words", "are written with the operand frame; add --operand-frame N")
        if self.digit_marks and self.place_tokens:
            raise ConfigError("place_tokens", "a template writes the question's digits one way: choose "
                              "--digit-marks or --place-tokens, not both")
        for name, low in (("batch_size", 1), ("grad_accum", 1), ("max_length", 16), ("lora_r", 1), ("lora_alpha", 1),
                          ("eval_steps", 1), ("eval_problems", 1), ("early_stopping", 0), ("save_total_limit", 1),
                          ("logging_steps", 1)):
            if getattr(self, name) < low:
                raise ConfigError(name, f"must be {low} or more, got {getattr(self, name)}")
        for name in ("max_steps", "train_limit", "threads", "eval_max_tokens"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(name, f"must be 1 or more, got {getattr(self, name)}")
        if self.max_steps is None and self.epochs <= 0:
            raise ConfigError("epochs", f"must be above 0, got {self.epochs}")
        if self.answer_weight <= 0:
            raise ConfigError("answer_weight", f"must be above 0, got {self.answer_weight}")
        if self.decision_weight <= 0:
            raise ConfigError("decision_weight", f"must be above 0, got {self.decision_weight}")
        if self.focal_gamma < 0:
            raise ConfigError("focal_gamma", f"must be 0 or more, got {self.focal_gamma}")
        if self.answer_focal_gamma is not None and self.answer_focal_gamma < 0:
            raise ConfigError("answer_focal_gamma", f"must be 0 or more, got {self.answer_focal_gamma}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError("max_minutes", f"must be above 0, got {self.max_minutes}")
        if self.fit_schedule and self.max_minutes is None:
            raise ConfigError("fit_schedule", "fits the schedule into --max-minutes; set --max-minutes too")
        if self.fit_schedule and self.lr_scheduler == "reduce_lr_on_plateau":
            raise ConfigError("fit_schedule", "needs a schedule over steps; reduce_lr_on_plateau follows the loss")
        if not 0 < self.learning_rate < 1:
            raise ConfigError("learning_rate", f"must be in (0, 1), got {self.learning_rate}")
        if not 0 <= self.lora_dropout < 1 or not 0 <= self.warmup_ratio < 1:
            raise ConfigError("lora_dropout", "dropout and warmup ratio must be in [0, 1)")
        if not [t for t in self.lora_targets.split(",") if t.strip()]:
            raise ConfigError("lora_targets", "name at least one module, e.g. q_proj,v_proj")
        if self.format is not None and (self.from_scratch or self.template):
            self.check_template(self.format)  # a --model directory's own template is known only once it is read

    def _check_rl(self) -> None:
        from mathcoach.train.rewards import parse_rewards

        if self.from_scratch is not None:
            raise ConfigError("method", f"{self.method} learns from a model's own samples; train it first (--method "
                              "full --from-scratch ...) and pass its directory as --model")
        if self.objective != "sft":
            raise ConfigError("objective", f"{self.method} trains on answers to questions; drop --objective pretrain")
        low = 2 if self.method == "grpo" else 1
        if self.num_generations < low:
            raise ConfigError("num_generations", f"must be {low} or more for {self.method}, got {self.num_generations}"
                              + (" (GRPO normalises rewards within a group)" if low == 2 else ""))
        per_step = self.batch_size * self.grad_accum
        if self.method == "grpo" and per_step % self.num_generations:
            raise ConfigError("num_generations", f"{self.num_generations} samples per prompt do not divide the "
                              f"{per_step} samples of a step (--batch-size {self.batch_size} x --grad-accum "
                              f"{self.grad_accum}); make the batch a multiple of the group")
        if not self.temperature > 0:
            raise ConfigError("temperature", f"must be above 0 to sample a group, got {self.temperature}")
        if self.beta < 0:
            raise ConfigError("beta", f"must be 0 or more, got {self.beta}")
        if self.method == "grpo" and self.answer_weight != 1.0:
            raise ConfigError("answer_weight", "GRPO's loss is weighted by the reward, not by token; drop it")
        if self.method == "grpo" and (self.focal_gamma or self.answer_focal_gamma is not None):
            raise ConfigError("focal_gamma", "GRPO's loss is weighted by the reward, not by token; drop it")
        if self.method == "grpo" and self.decision_weight != 1.0:
            raise ConfigError("decision_weight", "GRPO's loss is weighted by the reward, not by token; drop it")
        if self.method == "grpo" and self.fit_schedule:
            raise ConfigError("fit_schedule", "fits SFT's schedule (sft, rft); GRPO's is TRL's own, drop it")
        parse_rewards(self.rewards)

    @property
    def template(self) -> str | None:
        """How the chat template writes the question's digits: None, "marks" or "tokens" (scratch.TEMPLATES)."""
        return "tokens" if self.place_tokens else "marks" if self.digit_marks else None

    @property
    def targets(self) -> list[str]:
        return [t.strip() for t in self.lora_targets.split(",") if t.strip()]
