"""OptimizeConfig: every setting of ``mathcoach optimize``, with help text, validated on construction.

Example: ``mathcoach optimize --student smollm2-135m --teacher openrouter:openai/gpt-4o --train train.jsonl
--val val.jsonl --test test.jsonl --rounds 6 --max-usd 2``
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mathcoach.config import ConfigError, opt
from mathcoach.problems.traces import ALL_FORMATS


@dataclass
class OptimizeConfig:
    student: str = opt(help="the model whose system message is optimized (any model name eval accepts)")
    teacher: str = opt(help="the model that writes system messages (usually larger)")
    train: str = opt(help="problems the teacher may see the student fail on (minibatches)", metavar="FILE")
    val: str = opt(help="problems that score candidates; the teacher sees only the scores", metavar="FILE")
    test: str = opt(help="held-out problems, scored once at the end for the baselines and the chosen message",
                    metavar="FILE")
    rounds: int = opt(6, help="most optimization rounds (3-10 typical)", metavar="N")
    candidates: int = opt(4, help="new messages the teacher proposes per round", metavar="N")
    minibatch: int = opt(16, help="training problems a candidate is screened on against its parent", metavar="N")
    failures_shown: int = opt(6, help="wrong student answers, with diagnosis, shown to the teacher per round", metavar="N")
    top_shown: int = opt(6, help="best messages so far shown to the teacher with their scores", metavar="N")
    patience: int = opt(3, help="stop after this many rounds without a better validation score", metavar="N")
    max_teacher_calls: int | None = opt(None, help="budget: teacher calls", metavar="N")
    max_student_calls: int | None = opt(None, help="budget: student calls (baselines and final test included)",
                                        metavar="N")
    max_total_tokens: int | None = opt(None, help="budget: prompt + completion tokens, both models", metavar="N")
    max_usd: float | None = opt(None, help="budget: US dollars, both models (API-reported or price table)")
    max_prompt_chars: int = opt(2000, help="longest system message accepted from the teacher", metavar="N")
    student_max_tokens: int = opt(384, help="most tokens per student answer", metavar="N")
    teacher_max_tokens: int = opt(1500, help="most tokens per teacher reply", metavar="N")
    teacher_temperature: float = opt(0.8, help="teacher sampling temperature (diverse proposals need > 0)")
    format: str | None = opt(None, help="format the step checker diagnoses failures against (default: the student "
                             "model directory's trained format, else the data rows' own, else long)", metavar="FMT")
    val_limit: int | None = opt(None, help="use only the first N validation problems", metavar="N")
    test_limit: int | None = opt(None, help="use only the first N test problems", metavar="N")
    seed: int = opt(0, help="seed for minibatches and teacher sampling")
    output: str | None = opt(None, help="run directory (default: runs/optimize/<time>-<student>); re-run to resume",
                             metavar="DIR", short="o", aliases={"out": None})
    models_file: str | None = opt(None, help="TOML with [models.NAME] settings (spec, prices, concurrency...)",
                                  metavar="FILE")
    batch_size: int = opt(16, help="requests per batch for local models", metavar="N")
    concurrency: int = opt(8, help="parallel calls for API models", metavar="N")
    max_retries: int = opt(4, help="retries per API call", metavar="N")
    timeout_s: float = opt(120.0, help="seconds before an API call times out")

    def preflight(self) -> None:
        """What must exist on this machine when the stage starts (``__post_init__`` reads no file)."""
        for name in ("train", "val", "test"):
            if not Path(getattr(self, name)).is_file():
                raise ConfigError(name, f"file {getattr(self, name)} does not exist")

    def __post_init__(self):
        if len({Path(self.train).resolve(), Path(self.val).resolve(), Path(self.test).resolve()}) < 3:
            raise ConfigError("test", "train, val and test must be three different files")
        if self.format is not None and self.format not in ALL_FORMATS:
            raise ConfigError("format", f"unknown format {self.format!r}; choose one of {', '.join(ALL_FORMATS)}")
        for name, low in (("rounds", 1), ("candidates", 1), ("minibatch", 1), ("failures_shown", 0), ("top_shown", 1),
                          ("patience", 1), ("max_prompt_chars", 20), ("student_max_tokens", 1),
                          ("teacher_max_tokens", 1), ("batch_size", 1), ("concurrency", 1), ("max_retries", 0)):
            if getattr(self, name) < low:
                raise ConfigError(name, f"must be {low} or more, got {getattr(self, name)}")
        for name in ("max_teacher_calls", "max_student_calls", "max_total_tokens", "max_usd", "val_limit",
                     "test_limit"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(name, f"must be 0 or more, got {value}")
        if self.teacher_temperature < 0:
            raise ConfigError("teacher_temperature", "must be 0 or more")
