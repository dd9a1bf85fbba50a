"""EvalConfig: every setting of ``mathcoach eval``, with help text, validated on construction.

Example: ``mathcoach eval --model smollm2-135m --data test.jsonl --few-shot 3 --samples 5``
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mathcoach.config import ConfigError, as_file, opt
from mathcoach.problems.traces import ALL_FORMATS
from mathcoach.shots import SHOTS, shots_path

TOOLS = ("none", "python", "calculator")


@dataclass
class EvalConfig:
    model: str = opt(help="smollm2-135m, a model directory, openai:MODEL@URL, openrouter:MODEL, or a models-file name")
    data: str = opt(help="JSONL problems: mathcoach rows, GSM8K or SVAMP", metavar="FILE")
    adapter: str | None = opt(None, help="PEFT adapter directory on top of a local model", metavar="DIR")
    system: str | None = opt(None, help="system message, as TEXT or @FILE (default: the model directory's training "
                             "message, else none at all)", metavar="TEXT|@FILE", aliases={"system_prompt": as_file})
    few_shot: int = opt(0, help="worked examples before each question (0-8 is typical)", metavar="K")
    few_shot_data: str | None = opt(None, help="file to take few-shot examples from, or a shipped set: "
                                    f"{'|'.join(SHOTS)} (default for generated problems: fresh train-split problems "
                                    "of the same cells)", metavar="FILE|NAME")
    format: str | None = opt(None, help="worked-solution format the step checker and few-shot examples use: "
                             f"{'|'.join(ALL_FORMATS)} (default: the model directory's trained format, else the "
                             "data rows' own, else long)", metavar="FMT")
    tools: str = opt("none", help="none | python: run the program in each reply (PAL, `def solution()`) in the "
                     "sandbox and score its result | calculator: fill in GSM8K's <<expr=value>> annotations while the "
                     "model writes (local models, mathcoach serve, vLLM) (docs/tools.md)", choices=TOOLS)
    samples: int = opt(1, help="samples per problem; >1 adds majority vote and pass@k", metavar="N")
    temperature: float | None = opt(None, help="sampling temperature (default: 0 = greedy for 1 sample, 0.7 for more)")
    top_p: float = opt(1.0, help="nucleus sampling mass")
    max_tokens: int | None = opt(None, help="most tokens generated per answer (default: the model directory's longest "
                                 "trained reply, else 512; long 4x4 traces need ~400)", metavar="N")
    batch_size: int = opt(64, help="requests per batch for local models; a CPU decode step costs about the same at 64 "
                          "as at 16, so wide batches nearly double throughput (benchmarks/RESULTS.md)", metavar="N")
    concurrency: int = opt(8, help="parallel calls for API models", metavar="N")
    max_retries: int = opt(4, help="retries per API call on 429, 5xx, timeouts and malformed replies", metavar="N")
    timeout_s: float = opt(120.0, help="seconds before an API call counts as timed out (then retried)")
    limit: int | None = opt(None, help="evaluate only the first N problems", metavar="N")
    seed: int = opt(0, help="seed for sampling and few-shot selection")
    output: str | None = opt(None, help="run directory (default: runs/eval/<time>-<model>-<data>)", metavar="DIR",
                             short="o", aliases={"out": None})
    resume: bool = opt(False, help="complete an existing run directory (finished calls come from the cache)")
    models_file: str | None = opt(None, help="TOML with [models.NAME] settings (spec, prices, concurrency...)",
                                  metavar="FILE")
    progress: bool = opt(True, help="show a progress bar")

    def preflight(self) -> None:
        """What must exist on this machine when the stage starts (``__post_init__`` reads no file)."""
        if not Path(self.data).is_file():
            raise ConfigError("data", f"file {self.data} does not exist")
        if self.system is not None and self.system.startswith("@") and not Path(self.system[1:]).is_file():
            raise ConfigError("system", f"file {self.system[1:]} does not exist")
        if self.few_shot_data is not None and not shots_path(self.few_shot_data).is_file():
            raise ConfigError("few_shot_data", f"file {self.few_shot_data} does not exist")
        if self.tools == "calculator" and self.model.startswith("openrouter:"):
            raise ConfigError("tools", "OpenRouter cannot continue a partial assistant message, so --tools calculator "
                              "cannot run on it; use mathcoach serve or vLLM, or --tools python")
        if self.adapter is not None and not Path(self.adapter).is_dir():
            raise ConfigError("adapter", f"directory {self.adapter} does not exist")

    def __post_init__(self):
        if self.format is not None and self.format not in ALL_FORMATS:
            raise ConfigError("format", f"unknown format {self.format!r}; choose one of {', '.join(ALL_FORMATS)}")
        for name, low in (("few_shot", 0), ("samples", 1), ("max_tokens", 1), ("batch_size", 1), ("concurrency", 1),
                          ("max_retries", 0)):
            if getattr(self, name) is not None and getattr(self, name) < low:
                raise ConfigError(name, f"must be {low} or more, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("limit", f"must be 1 or more, got {self.limit}")
        if self.timeout_s <= 0:
            raise ConfigError("timeout_s", f"must be above 0, got {self.timeout_s}")
        if self.temperature is None:
            self.temperature = 0.0 if self.samples == 1 else 0.7
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ConfigError("temperature", "temperature must be >= 0 and top-p in (0, 1]")
        if self.samples > 1 and self.temperature == 0:
            raise ConfigError("samples", "several greedy samples are identical; set --temperature above 0")
