"""Evaluation: prompts in, scored samples, per-cell accuracy with intervals, run directories out."""
