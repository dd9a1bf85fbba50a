"""Shipped few-shot sets: 8 GSM8K train problems, the same 8 in each solution style, for ``eval --few-shot 8``.

Example: ``mathcoach eval --model M --data gsm8k/test.jsonl --few-shot 8 --few-shot-data gsm8k-python --tools python``

lm-eval's ``gsm8k_cot`` uses Wei et al.'s hand-written exemplars and PAL its own; these are taken from GSM8K
*train* only (never test), so no evaluated question or its solution is in a prompt. They were picked by hash
among train rows with 2-4 annotated steps, a question under 300 characters and a worked solution under 320
(rows gsm8k-101, -5504, -216, -1776, -6921, -1711, -6811, -2718 of train.jsonl, counted from 1), and written by
``mathcoach data --source gsm8k --style cot|calculator|python``, so each style's shots are exactly what
that style's training rows look like. GSM8K is MIT-licensed (Cobbe et al. 2021).
"""

from __future__ import annotations

from pathlib import Path

SHOTS = {"gsm8k-cot": "gsm8k_cot.jsonl", "gsm8k-calculator": "gsm8k_calculator.jsonl",
         "gsm8k-python": "gsm8k_python.jsonl"}


def shots_path(name_or_file: str) -> Path:
    """The file a ``--few-shot-data`` value names: a shipped set by name, else the path itself."""
    if name_or_file in SHOTS:
        return Path(__file__).with_name(SHOTS[name_or_file])
    return Path(name_or_file)
