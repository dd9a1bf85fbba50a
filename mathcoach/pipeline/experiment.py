"""An experiment file, read and validated whole before anything runs: models, then stages in file order.

Example: ``load_experiment("configs/experiments/quickstart.toml", "runs/exp/quickstart")`` -> ``Experiment`` whose
``stages`` each hold a built, validated config (``DataConfig``, ``EvalConfig``, ``TrainConfig``...).

    [experiment]
    name = "quickstart"

    [models]
    student = "smollm2-135m"          # a name stages use for a model spec

    [stages.test_data]
    kind = "data"                      # the subcommand; the other keys are its settings, as in its --config TOML
    digits = "2x2"
    split = "test"

    [stages.baseline]
    kind = "eval"
    model = "student"
    data = "@test_data"                # "@stage": that earlier stage's output

A stage never names its own output: the runner writes ``DIR/<stage>.jsonl`` (data) or ``DIR/<stage>/`` (a run or
model directory). A train, data or eval stage may name a ``config`` TOML, read under its own settings as
``--config`` is under flags. Every error is one ``ConfigError`` line naming the stage and the setting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathcoach.config import ConfigError, _coerce, load_toml


@dataclass
class OverlapStage:
    """``mathcoach overlap`` as a stage: a training file against test files, written as markdown."""

    train: str
    tests: list = field(default_factory=list)
    n: list = field(default_factory=lambda: [13, 30])


@dataclass
class ConcatStage:
    """Several data files as one, in order (``cat a.jsonl b.jsonl``): a recipe that mixes draws of two sizes."""

    files: list = field(default_factory=list)

    def __post_init__(self):
        if not self.files:
            raise ConfigError("files", "needs at least one file")


@dataclass
class CompareStage:
    """``mathcoach compare`` as a stage: two eval runs on the same problems, McNemar's test."""

    a: str
    b: str


@dataclass
class SelectStage:
    """The rows of ``data`` a model got wrong, right or only sometimes in the eval ``runs`` (eval/select.py)."""

    data: str
    runs: list = field(default_factory=list)
    keep: str = "wrong"

    def __post_init__(self):
        from mathcoach.eval.select import KEEP

        if not self.runs:
            raise ConfigError("runs", "needs at least one eval run over the data")
        if self.keep not in KEEP:
            raise ConfigError("keep", f"unknown {self.keep!r}; choose one of {', '.join(KEEP)}")


MISTAKE_STEPS = ("collect", "correct", "build")


@dataclass
class MistakesStage:
    """``mathcoach mistakes collect|correct|build`` as a stage (docs/mistakes.md); ``step`` says which."""

    step: str
    runs: list = field(default_factory=list)  # collect: eval run directories
    exclude: list = field(default_factory=list)  # collect: files of problems seen in earlier rounds
    mistakes: str | None = None  # correct: the collected mistakes
    corrector: str = "exact"
    max_calls: int | None = None
    max_usd: float | None = None
    max_tokens: int = 512
    models_file: str | None = None
    corrections: str | None = None  # build: the kept corrections
    cot: str | None = None
    fields: str = "step,explanation,solution"
    match: str = "tokens"
    tokenizer: str = "smollm2-135m"
    seed: int = 0

    def __post_init__(self):
        if self.step not in MISTAKE_STEPS:
            raise ConfigError("step", f"unknown step {self.step!r}; choose one of {', '.join(MISTAKE_STEPS)}")
        needs = {"collect": "runs", "correct": "mistakes", "build": "corrections"}[self.step]
        if not getattr(self, needs):
            raise ConfigError(needs, f"is required for the {self.step} step")


def _kinds() -> dict[str, type]:
    from mathcoach.eval.config import EvalConfig
    from mathcoach.optimize.config import OptimizeConfig
    from mathcoach.problems.build import DataConfig
    from mathcoach.train.config import TrainConfig

    return {"data": DataConfig, "eval": EvalConfig, "train": TrainConfig, "optimize": OptimizeConfig,
            "overlap": OverlapStage, "compare": CompareStage, "mistakes": MistakesStage,
            "concat": ConcatStage, "select": SelectStage}


# Where each kind writes: a file or a directory under the experiment's directory.
OUTPUT_FIELD = {"data": "output", "eval": "output", "train": "output", "optimize": "output"}
FILE_KINDS = {"data": ".jsonl", "overlap": ".md", "compare": ".md", "mistakes": ".jsonl", "concat": ".jsonl",
              "select": ".jsonl"}
# Settings that name a model: a [models] name there is replaced by its spec.
MODEL_FIELDS = ("model", "student", "teacher")
_REF = re.compile(r"^@([A-Za-z_][\w-]*)$")


@dataclass
class Stage:
    name: str
    kind: str
    settings: dict  # as written, model names replaced by their specs and "@refs" kept (they make the stage's key)
    config: Any  # the built config, refs replaced by the outputs they name
    output: Path
    needs: list[str]  # earlier stages whose outputs it reads


@dataclass
class Experiment:
    path: Path
    name: str
    directory: Path
    models: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise ConfigError("only", f"{self.path} has no stage {name!r}; it has {', '.join(s.name for s in self.stages)}")


def _where(stage: str, key: str) -> str:
    return f"stages.{stage}.{key}"


def _refs(value: Any) -> list[str]:
    if isinstance(value, str):
        m = _REF.match(value)
        return [m[1]] if m else []
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _substitute(value: Any, outputs: dict[str, Path]) -> Any:
    if isinstance(value, str) and _REF.match(value):
        return str(outputs[_REF.match(value)[1]])
    if isinstance(value, list):
        return [_substitute(v, outputs) for v in value]
    return value


def apply_overrides(raw: dict, overrides: list[str], path: Path) -> None:
    """``--set STAGE.KEY=VALUE``: VALUE is read as a TOML value (``3``, ``true``, ``"2x2"``), else as a string."""
    import tomllib

    for item in overrides:
        target, sep, value = item.partition("=")
        stage, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise ConfigError("set", f"{item!r} is not STAGE.KEY=VALUE")
        if stage not in raw.get("stages", {}):
            raise ConfigError("set", f"{path} has no stage {stage!r}")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value
        raw["stages"][stage][key] = parsed


def load_experiment(path: str | Path, directory: str | Path | None = None, overrides: list[str] = ()) -> Experiment:
    path = Path(path)
    raw = load_toml(str(path))
    apply_overrides(raw, list(overrides), path)
    unknown = [k for k in raw if k not in ("experiment", "models", "stages")]
    if unknown:
        raise ConfigError("experiment", f"{path}: unknown section {unknown[0]!r}; use [experiment], [models], "
                          "[stages.NAME]")
    head = raw.get("experiment", {})
    if not isinstance(head, dict) or set(head) - {"name", "description", "directory"}:
        extra = sorted(set(head) - {"name", "description", "directory"}) if isinstance(head, dict) else ["?"]
        raise ConfigError("experiment", f"{path}: [experiment] takes name, description, directory; not {extra[0]!r}")
    name = str(head.get("name") or path.stem)
    out_dir = Path(directory or head.get("directory") or Path("runs") / "experiments" / name)
    models = raw.get("models", {})
    if not all(isinstance(v, str) for v in models.values()):
        raise ConfigError("experiment", f"{path}: [models] maps a name to a model spec string")
    stages_raw = raw.get("stages", {})
    if not stages_raw:
        raise ConfigError("experiment", f"{path} has no [stages.NAME] section; nothing to run")
    kinds = _kinds()
    outputs: dict[str, Path] = {}
    stages: list[Stage] = []
    for sname, body in stages_raw.items():
        if not isinstance(body, dict) or "kind" not in body:
            raise ConfigError("experiment", f"{path}: [stages.{sname}] needs kind = one of {', '.join(kinds)}")
        kind = body["kind"]
        if kind not in kinds:
            raise ConfigError("experiment", f"{path}: stages.{sname}.kind {kind!r} is unknown; choose one of "
                              f"{', '.join(kinds)}")
        cls = kinds[kind]
        settings = {k.replace("-", "_"): (models[v] if k in MODEL_FIELDS and isinstance(v, str) and v in models else v)
                    for k, v in body.items() if k != "kind"}
        needs = []
        for k, v in settings.items():
            for ref in _refs(v):
                if ref == sname:
                    raise ConfigError("experiment", f"{path}: {_where(sname, k)} refers to its own stage")
                if ref not in outputs:
                    later = ref in stages_raw
                    raise ConfigError("experiment", f"{path}: {_where(sname, k)} refers to @{ref}, "
                                      + ("a later stage; stages run in file order" if later else "which no stage is"))
                needs.append(ref)
        out = out_dir / (sname + FILE_KINDS.get(kind, ""))
        stages.append(Stage(sname, kind, settings, _build(path, sname, kind, cls, settings, outputs, out),
                            out, sorted(set(needs))))
        outputs[sname] = out
    return Experiment(path, name, out_dir, models, stages)


def _build(path: Path, sname: str, kind: str, cls: type, settings: dict, outputs: dict, out: Path) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    if "config" in settings:
        if kind not in ("data", "eval", "train"):
            raise ConfigError("experiment", f"{path}: {_where(sname, 'config')}: only data, eval and train stages "
                              "read a config file")
        base = load_toml(str(settings["config"]))
        for k, v in base.items():
            key = k.replace("-", "_")
            if key not in names:
                raise ConfigError("experiment", f"{path}: {_where(sname, 'config')}: {settings['config']} sets unknown "
                                  f"setting {k!r}")
            values[key] = v
    for k, v in settings.items():
        if k == "config":
            continue
        if k not in names:
            raise ConfigError("experiment", f"{path}: {_where(sname, k)} is not a setting of a {kind} stage")
        if k in OUTPUT_FIELD.values() and kind in OUTPUT_FIELD:
            raise ConfigError("experiment", f"{path}: {_where(sname, k)}: the runner writes each stage's output "
                              f"under the experiment directory; drop {k}")
        values[k] = _substitute(v, outputs)
    if kind in OUTPUT_FIELD:
        values[OUTPUT_FIELD[kind]] = str(out)
    for k, v in list(values.items()):
        try:
            values[k] = _coerce(cls, k, v, str(path))
        except ConfigError as e:
            raise ConfigError("experiment", f"{path}: {_where(sname, k)}: {str(e).split(': ', 1)[-1]}") from None
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError("experiment", f"{path}: {_where(sname, missing[0])} is required for a {kind} stage")
    try:
        return cls(**values)
    except ConfigError as e:  # the config's own contradiction check, named by stage
        raise ConfigError("experiment", f"{path}: stages.{sname}: {e}") from None
    except TypeError as e:
        raise ConfigError("experiment", f"{path}: stages.{sname}: {e}") from None


def stage_inputs(stage: Stage, keys: dict[str, str]) -> dict:
    """The stage's settings with each "@stage" replaced by that stage's key and each existing file by its sha256:
    what a finished stage records, and what its key is the hash of."""

    def canon(v: Any) -> Any:
        if isinstance(v, str) and _REF.match(v):
            return {"stage": _REF.match(v)[1], "key": keys[_REF.match(v)[1]]}
        if isinstance(v, str) and Path(v).is_file():
            return {"file": v, "sha256": hashlib.sha256(Path(v).read_bytes()).hexdigest()}
        if isinstance(v, list):
            return [canon(x) for x in v]
        return v

    return {k: canon(v) for k, v in sorted(stage.settings.items())}


def stage_key(stage: Stage, keys: dict[str, str]) -> str:
    """What decides whether a finished stage is still valid: its kind and settings, the keys of the stages it
    reads (so a changed stage re-runs everything downstream of it), and the bytes of every file it reads that no
    stage wrote."""
    from mathcoach import __version__

    blob = json.dumps({"kind": stage.kind, "settings": stage_inputs(stage, keys), "mathcoach": __version__},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
