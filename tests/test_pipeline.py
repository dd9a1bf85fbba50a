"""mathcoach run: shipped experiments validate, bad files end in one line, a tiny experiment runs end to end,
finished stages are skipped and a changed one re-runs with exactly the stages that read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathcoach.cli import main
from mathcoach.pipeline.experiment import load_experiment

REPO = Path(__file__).resolve().parents[1]

TINY = """
[experiment]
name = "tiny"

[models]
student = "{model}"

[stages.train_data]
kind = "data"
digits = "1-2"
per_cell = 8
split = "train"
format = "scratchpad"

[stages.val_data]
kind = "data"
digits = "1-2"
per_cell = 2
split = "val"
format = "scratchpad"

[stages.test_data]
kind = "data"
digits = "1-2"
per_cell = {test_per_cell}
split = "test"
format = "scratchpad"

[stages.contamination]
kind = "overlap"
train = "@train_data"
tests = ["@val_data", "@test_data"]

[stages.baseline]
kind = "eval"
model = "student"
data = "@test_data"
max_tokens = 8

[stages.finetune]
kind = "train"
model = "student"
train = "@train_data"
val = "@val_data"
method = "lora"
max_steps = 2
eval_steps = 2
eval_problems = 2
eval_max_tokens = 8
batch_size = 4
bf16 = false

[stages.after]
kind = "eval"
model = "@finetune"
data = "@test_data"
max_tokens = 8

[stages.gain]
kind = "compare"
a = "@baseline"
b = "@after"
"""


@pytest.mark.parametrize("path", sorted((REPO / "configs" / "experiments").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_experiment_loads_and_validates(path, tmp_path):
    exp = load_experiment(path, tmp_path / "exp")
    assert exp.stages and all(s.config is not None for s in exp.stages)
    assert main(["run", str(path), "--dir", str(tmp_path / "exp"), "--dry-run"]) == 0
    assert not (tmp_path / "exp").exists()  # a dry run writes nothing


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.toml"
    p.write_text(text)
    return p


BAD = [
    ("[stages.a]\nkind = 'data'\ndigitz = '2'\n", "stages.a.digitz is not a setting of a data stage"),
    ("[stages.a]\nkind = 'fly'\n", "kind 'fly' is unknown"),
    ("[stages.a]\nkind = 'eval'\nmodel = 'm'\ndata = '@b'\n[stages.b]\nkind = 'data'\n", "a later stage"),
    ("[stages.a]\nkind = 'eval'\nmodel = 'm'\ndata = '@nope'\n", "which no stage is"),
    ("[stages.a]\nkind = 'data'\noutput = 'x.jsonl'\n", "drop output"),
    ("[stages.a]\nkind = 'eval'\ndata = 'x.jsonl'\n", "stages.a.model is required"),
    ("[stages.a]\nkind = 'eval'\nmodel = 'm'\ndata = 'x'\nsamples = 2\ntemperature = 0.0\n", "stages.a:"),
    ("[stages.a]\nkind = 'data'\nper_cell = 'many'\n", "expected int"),
    ("[stagez.a]\nkind = 'data'\n", "unknown section 'stagez'"),
    ("[experiment]\nname = 'x'\n", "nothing to run"),
    ("[stages.a]\nkind = 'data'\n[stages.a", "not valid TOML"),
]


@pytest.mark.parametrize("text, says", BAD, ids=[b[1][:30] for b in BAD])
def test_a_bad_experiment_ends_in_one_line_and_runs_nothing(tmp_path, capsys, text, says):
    path = _write(tmp_path, text)
    capsys.readouterr()
    assert main(["run", str(path), "--dir", str(tmp_path / "exp")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and err[0].startswith("mathcoach: error:"), err
    assert not (tmp_path / "exp").exists()


def _records(d: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (d / ".stages").glob("*.json")}


def test_a_tiny_experiment_runs_end_to_end_and_skips_what_is_unchanged(tiny_model, tmp_path, capsys):
    d = tmp_path / "exp"
    path = _write(tmp_path, TINY.format(model=tiny_model, test_per_cell=3))
    assert main(["run", str(path), "--dir", str(d), "--quiet"]) == 0
    first = _records(d)
    assert set(first) == {"train_data", "val_data", "test_data", "contamination", "baseline", "finetune", "after",
                          "gain"}
    assert first["baseline"]["inputs"]["data"] == {"stage": "test_data", "key": first["test_data"]["key"]}
    results = json.loads((d / "after" / "results.json").read_text())
    assert "finetune" in json.dumps(results["model"])  # the trained stage's output is what was evaluated
    assert results["metrics"]["overall"]["items"] == 12 and "| all | 12 |" in (d / "gain.md").read_text()
    assert "clean" in (d / "contamination.md").read_text()

    capsys.readouterr()
    assert main(["run", str(path), "--dir", str(d), "--quiet"]) == 0
    assert capsys.readouterr().out.count("skipped (inputs unchanged)") == 8
    assert _records(d) == first  # nothing re-ran

    # A change to the test data re-runs it and exactly the stages that read it, directly or not.
    path = _write(tmp_path, TINY.format(model=tiny_model, test_per_cell=4))
    assert main(["run", str(path), "--dir", str(d), "--quiet"]) == 0
    now = _records(d)
    rerun = {k for k in now if now[k]["finished"] != first[k]["finished"]}
    assert rerun == {"test_data", "contamination", "baseline", "after", "gain"}
    rows = now["test_data"]["summary"]["rows"]
    assert rows > 12 and json.loads((d / "after" / "results.json").read_text())["metrics"]["overall"]["items"] == rows


def test_only_and_from_run_part_of_an_experiment(tiny_model, tmp_path, capsys):
    d = tmp_path / "exp"
    path = _write(tmp_path, TINY.format(model=tiny_model, test_per_cell=2))
    capsys.readouterr()
    assert main(["run", str(path), "--dir", str(d), "--only", "baseline", "--quiet"]) == 2
    assert "reads @test_data, which has not run" in capsys.readouterr().err
    assert main(["run", str(path), "--dir", str(d), "--only", "test_data", "--quiet"]) == 0
    assert main(["run", str(path), "--dir", str(d), "--only", "baseline", "--quiet"]) == 0
    assert set(_records(d)) == {"test_data", "baseline"}
    assert main(["run", str(path), "--dir", str(d), "--from", "nope"]) == 2
    assert main(["run", str(path), "--dir", str(d), "--only", "a", "--from", "b"]) == 2


MISTAKES = """
[stages.a]
kind = "data"
digits = "1x2"
per_cell = 4
split = "train"
format = "long"

[stages.b]
kind = "data"
digits = "2x1"
per_cell = 4
split = "train"
format = "long"

[stages.both]
kind = "concat"
files = ["@a", "@b"]

[stages.pool_run]
kind = "eval"
model = "{model}"
data = "@both"
max_tokens = 8

[stages.hard]
kind = "select"
data = "@both"
runs = ["@pool_run"]
keep = "wrong"

[stages.mistakes]
kind = "mistakes"
step = "collect"
runs = ["@pool_run"]

[stages.corrections]
kind = "mistakes"
step = "correct"
mistakes = "@mistakes"

[stages.rows]
kind = "mistakes"
step = "build"
corrections = "@corrections"
cot = "@a"
match = "rows"
tokenizer = "{model}"
"""


def test_concat_and_the_mistakes_steps_run_as_stages(tiny_model, tmp_path):
    d = tmp_path / "exp"
    path = _write(tmp_path, MISTAKES.format(model=tiny_model))
    assert main(["run", str(path), "--dir", str(d), "--quiet"]) == 0
    lines = lambda name: (d / f"{name}.jsonl").read_text().splitlines()  # noqa: E731
    assert lines("both") == lines("a") + lines("b")
    wrong = {json.loads(x)["id"] for x in (d / "pool_run" / "samples.jsonl").read_text().splitlines()
             if json.loads(x)["correct"] is False}
    assert [json.loads(x)["meta"]["id"] for x in lines("hard")] == [
        json.loads(x)["meta"]["id"] for x in lines("both") if json.loads(x)["meta"]["id"] in wrong]
    assert _records(d)["hard"]["summary"]["rows"] == len(lines("hard")) > 0
    rec = _records(d)
    assert rec["mistakes"]["summary"]["rows"] == len(lines("mistakes")) > 0  # a random model is wrong
    assert rec["corrections"]["summary"]["rows"] == len(lines("corrections")) > 0
    assert len(lines("rows")) >= len(lines("corrections"))
