"""Supervised fine-tuning (LoRA, QLoRA, full) and from-scratch specialists, on TRL."""
