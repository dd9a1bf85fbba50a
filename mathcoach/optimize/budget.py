"""Budgets the optimizer checks *before* each batch, so a run stops cleanly instead of crossing a limit.

Example: ``b = Budget(student_calls=500); b.afford(student=16)`` -> True/False; ``b.charge(...)`` after the batch.

Calls served from the response cache still count: a resumed run replays the same decisions and must stop at
the same point as an uninterrupted one. Token and dollar costs of a batch are estimated from the running
average per call (the first estimate uses the generation limit), so the check is conservative.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Budget:
    teacher_calls: int | None = None
    student_calls: int | None = None
    total_tokens: int | None = None
    usd: float | None = None
    spent: dict = field(default_factory=lambda: {"teacher_calls": 0, "student_calls": 0, "tokens": 0, "usd": 0.0,
                                                 "new_calls": 0})
    # per-call averages for estimates, seeded pessimistically by the caller
    per_call: dict = field(default_factory=lambda: {"student_tokens": 0.0, "teacher_tokens": 0.0,
                                                    "student_usd": 0.0, "teacher_usd": 0.0})
    stop_reason: str | None = None
    stop_field: str | None = None  # the config field whose limit stopped the run
    reserve_student: int = 0  # student calls held back for the final test, which must always be affordable

    def estimate(self, student: int = 0, teacher: int = 0) -> dict:
        return {"tokens": student * self.per_call["student_tokens"] + teacher * self.per_call["teacher_tokens"],
                "usd": student * self.per_call["student_usd"] + teacher * self.per_call["teacher_usd"]}

    def afford(self, student: int = 0, teacher: int = 0, what: str = "", final: bool = False) -> bool:
        student += 0 if final else self.reserve_student
        est = self.estimate(student, teacher)
        checks = [
            ("teacher calls", "max_teacher_calls", self.teacher_calls, self.spent["teacher_calls"] + teacher),
            ("student calls", "max_student_calls", self.student_calls, self.spent["student_calls"] + student),
            ("tokens", "max_total_tokens", self.total_tokens, self.spent["tokens"] + est["tokens"]),
            ("US dollars", "max_usd", self.usd, self.spent["usd"] + est["usd"]),
        ]
        for name, flag, limit, after in checks:
            if limit is not None and after > limit:
                self.stop_reason = f"budget: {what} would take {name} to {after:.4g} of {limit:g}"
                self.stop_field = flag
                return False
        return True

    def charge(self, role: str, rows: list[dict]) -> None:
        """Count a finished batch: ``rows`` carry prompt_tokens, completion_tokens, cost_usd and cached."""
        n = len(rows)
        if not n:
            return
        tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
        usd = sum(r["cost_usd"] for r in rows)
        self.spent[f"{role}_calls"] += n
        self.spent["tokens"] += tokens
        self.spent["usd"] += usd
        self.spent["new_calls"] += sum(not r["cached"] for r in rows)
        done = self.spent[f"{role}_calls"]
        for key, value in ((f"{role}_tokens", tokens), (f"{role}_usd", usd)):  # running mean per call
            self.per_call[key] += (value - n * self.per_call[key]) / done
