"""`--batching split`: a random batch run as two forwards of rows of like length, with no attention mask.

Why: mathcoach-mul's batches mix ~950-token traces with ~70-token refusals, so the short rows are learned beside the
long ones in one optimizer step (batches of refusals alone taught the fourth attempt a prior for its first token,
benchmarks/RESULTS.md 2026-12-03). Padded to the batch's longest row, each refusal cost a trace's positions, so the
seventh attempt saw ~830 of them in its hour and refused 28.5% of held-out refusals. Here the rows of one batch are
cut into two groups at the widest gap between their lengths, each padded to its own longest row: a refusal costs
its own ~70 positions, and both groups' losses are one token mean, so the step is the same mixed step.

Rows are padded on the right, and a causal model's real tokens never attend to a later position, so the padding
needs no attention mask: with none, SDPA takes its causal kernel (`benchmarks/scratch_speed.py`: 6,128 tokens/s
against 5,077 positions/s with the padding mask, on the 4.2M specialist). Pad positions carry no label.
"""
from __future__ import annotations


def split_point(lengths: list[int]) -> int | None:
    """Where the rows, sorted by length, are cut into a short and a long group: the cut that saves the most padded
    positions, or None when none saves half a longest row (a second forward then costs more than it saves)."""
    ls = sorted(lengths)
    whole = ls[-1] * len(ls)
    best, cut = ls[-1] // 2 - 1, None
    for i in range(1, len(ls)):
        saved = whole - (ls[i - 1] * i + ls[-1] * (len(ls) - i))
        if saved > best:
            best, cut = saved, i
    return cut


class SplitCollator:
    """TRL's own collator on each group of rows, its attention mask dropped: the long group under the usual keys,
    the short group, when a cut saves positions, under ``short_input_ids`` and ``short_labels``."""

    def __init__(self, pad_token_id: int):
        from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

        self.pad = DataCollatorForLanguageModeling(pad_token_id=pad_token_id)

    def _group(self, examples: list[dict]) -> dict:
        batch = self.pad(examples)
        del batch["attention_mask"]  # right padding: no real token looks at it (module docstring)
        return batch

    def __call__(self, examples: list[dict]) -> dict:
        order = sorted(examples, key=lambda e: len(e["input_ids"]))
        cut = split_point([len(e["input_ids"]) for e in order])
        batch = self._group(order[cut:] if cut else order)
        if cut:
            short = self._group(order[:cut])
            batch["short_input_ids"], batch["short_labels"] = short["input_ids"], short["labels"]
        return batch


def groups(inputs: dict) -> list[tuple]:
    """The batch's forwards as (input_ids, labels) pairs: the long group, then the short one if there is one."""
    out = [(inputs["input_ids"], inputs["labels"])]
    if "short_input_ids" in inputs:
        out.append((inputs["short_input_ids"], inputs["short_labels"]))
    return out
