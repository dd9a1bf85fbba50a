"""Scripted backends for the optimizer tests: determinism is the point, so replies follow fixed rules.

The student's accuracy is set by the system message it reads (``SKILL=NN`` means NN% of problems, chosen by a
hash of the question, are answered right); the teacher proposes messages from a list per round.
"""

from __future__ import annotations

import hashlib
import re

from mathcoach.models.base import Completion
from tests.helpers.oracle_server import solve

BASELINE_SKILL = {None: 10, "Let's think step by step.": 20}


class ScriptedStudent:
    identity = {"backend": "scripted-student", "v": 1}

    def __init__(self, fail_after: int | None = None):
        self.calls = 0
        self.fail_after = fail_after

    def skill(self, system: str | None) -> int:
        if system in BASELINE_SKILL:
            return BASELINE_SKILL[system]
        m = re.search(r"SKILL=(\d+)", system or "")
        return int(m[1]) if m else 30

    def generate(self, requests):
        out = []
        for r in requests:
            self.calls += 1
            if self.fail_after is not None and self.calls > self.fail_after:
                raise KeyboardInterrupt  # stands in for a kill in the middle of a run
            system = r.messages[0]["content"] if r.messages[0]["role"] == "system" else None
            q = r.messages[-1]["content"]
            right = int(hashlib.sha256(q.encode()).hexdigest(), 16) % 100 < self.skill(system)
            gold = int(solve(q))
            out.append(Completion(text=f"Answer: {gold if right else gold + 1}", prompt_tokens=200, completion_tokens=5,
                                  cost_usd=0.001))
        return out


class ScriptedTeacher:
    identity = {"backend": "scripted-teacher", "v": 1}

    def __init__(self, replies_by_round: dict[int, str]):
        self.replies = replies_by_round
        self.prompts: list[str] = []

    def generate(self, requests):
        out = []
        for r in requests:
            self.prompts.append(r.messages[-1]["content"])
            out.append(Completion(text=self.replies.get(r.sample, ""), prompt_tokens=500, completion_tokens=100,
                                  cost_usd=0.01))
        return out


def prompts(*skills: int) -> str:
    return "\n".join(f"<prompt>Multiply carefully. SKILL={s}</prompt>" for s in skills)
