"""A trainer callback that kills a run at a chosen step, so a test can prove that resume picks up exactly there."""

from __future__ import annotations

from transformers import TrainerCallback


class Interrupt(TrainerCallback):
    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            # KeyboardInterrupt, not an exception of our own: it is what a user's Ctrl-C raises mid-step
            raise KeyboardInterrupt("simulated kill")
