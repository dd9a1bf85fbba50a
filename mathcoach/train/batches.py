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

PAD_LABEL = -100


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


def _pad(rows: list[list[int]], value: int):
    import torch

    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)


class SplitCollator:
    """Batches of ``input_ids`` and ``labels`` (TRL's prepared rows): the long group under the usual keys, the short
    group, when a cut saves positions, under ``short_input_ids`` and ``short_labels``; never an attention mask."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[dict]) -> dict:
        ids = [list(e["input_ids"]) for e in examples]
        labels = [list(e["labels"]) if "labels" in e else list(e["input_ids"]) for e in examples]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        cut = split_point([len(r) for r in ids])
        long = order[cut:] if cut else order
        batch = {"input_ids": _pad([ids[i] for i in long], self.pad_token_id),
                 "labels": _pad([labels[i] for i in long], PAD_LABEL)}
        if cut:
            short = order[:cut]
            batch["short_input_ids"] = _pad([ids[i] for i in short], self.pad_token_id)
            batch["short_labels"] = _pad([labels[i] for i in short], PAD_LABEL)
        return batch


def groups(inputs: dict) -> list[tuple]:
    """The batch's forwards as (input_ids, labels) pairs: the long group, then the short one if there is one."""
    out = [(inputs["input_ids"], inputs["labels"])]
    if "short_input_ids" in inputs:
        out.append((inputs["short_input_ids"], inputs["short_labels"]))
    return out
