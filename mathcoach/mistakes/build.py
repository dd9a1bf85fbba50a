"""``mathcoach mistakes build``: LeMa training rows from corrections, mixed with ordinary chain-of-thought rows.

Example: ``mathcoach mistakes build corrections.jsonl --cot cot.jsonl --match tokens -o lema.jsonl``

A correction row is a chat row that ``mathcoach train`` takes as it is (loss on the assistant turn only):

    user:      the correction instruction, the question, the original solution with numbered steps, and the
               cue of the first output field ("Incorrect Step:")
    assistant: "Step j. Explanation: ... Correct Solution: ..."

as in LeMa (An et al. 2023, microsoft/LEMA). ``--fields`` drops parts for the ablation (step, explanation,
solution). ``--match tokens`` trims the CoT rows (in a seeded order) so that CoT + corrections holds as many
training tokens as the CoT file alone -- the CoT-only arm -- counted with the tokenizer of ``--tokenizer`` on
the rendered chat rows; ``--match rows`` matches row counts instead; ``--match none`` keeps every CoT row.
"""

from __future__ import annotations

import random

INSTRUCTION = ("For the following math problems, the original solutions may contain errors. Please identify the "
               "incorrect step in each solution, explain why it is incorrect, and provide the correct solution "
               "starting from that step.")
FIELDS = ("step", "explanation", "solution")
_CUES = {"step": "Incorrect Step:", "explanation": "Explanation:", "solution": "Correct Solution:"}


def correction_row(c: dict, fields: tuple[str, ...] = FIELDS) -> dict:
    steps = "\n".join(c["original_steps"])
    user = f"{INSTRUCTION}\n\nQuestion: {c['question']}\nOriginal Solution:\n{steps}\n{_CUES[fields[0]]}"
    parts = {"step": f"Step {c['incorrect_step']}.", "explanation": c["explanation"],
             "solution": c["correct_solution"]}
    out = [parts[fields[0]]] + [f"{_CUES[f]} {parts[f]}" for f in fields[1:]]
    # The problem's own fields when it has operands, so `overlap` and `train` read the row as that problem.
    problem = ("id", "op", "a", "b", "digits_a", "digits_b", "split", "phrasing", "format")
    meta = {k: c.get(k) for k in problem} | {"seed": 0} if c.get("op") else {"id": c.get("id")}
    meta |= {"answer": c["gold"], "question": c["question"], "lema": "correction", "fields": list(fields),
             "corrector": c["corrector"], "correction_version": c.get("correction_version")}
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": " ".join(out)}],
            "meta": meta}


def token_counter(model: str):
    """Tokens of a rendered chat row, as ``mathcoach train`` will see it (the model's own chat template)."""
    from transformers import AutoTokenizer

    from mathcoach.models import parse_model
    from mathcoach.models.hf import render_prompt

    backend, kwargs = parse_model(model)
    if backend != "hf":
        from mathcoach.config import ConfigError

        raise ConfigError("tokenizer", f"{model} is not a local model; name one whose tokenizer counts the tokens")
    tok = AutoTokenizer.from_pretrained(kwargs["path"])

    def count(row: dict) -> int:
        return len(tok(render_prompt(tok, row["messages"], add_generation_prompt=False),
                       add_special_tokens=False)["input_ids"])

    return count


def mix(corrections: list[dict], cot: list[dict], match: str, seed: int, count=None) -> tuple[list[dict], dict]:
    """The corrections arm: every correction row plus CoT rows, trimmed to match the CoT-only arm."""
    order = list(range(len(cot)))
    random.Random(seed).shuffle(order)
    if match == "none":
        kept = order
    elif match == "rows":
        kept = order[: max(0, len(cot) - len(corrections))]
    else:
        sizes = [count(r) for r in cot]
        budget = sum(sizes) - sum(count(r) for r in corrections)
        kept, total = [], 0
        for i in order:  # greedy in the seeded order; rows that would overshoot are skipped, smaller ones still fit
            if total + sizes[i] <= budget:
                kept.append(i)
                total += sizes[i]
    chosen = sorted(kept)
    rows = [dict(cot[i], meta={**cot[i].get("meta", {}), "lema": "cot"}) for i in chosen] + corrections
    random.Random(seed + 1).shuffle(rows)
    stats = {"cot_rows_in": len(cot), "cot_rows_kept": len(chosen), "correction_rows": len(corrections),
             "rows": len(rows), "match": match}
    if count is not None:
        stats |= {"tokens_cot_only_arm": sum(count(r) for r in cot), "tokens": sum(count(r) for r in rows)}
    return rows, stats
