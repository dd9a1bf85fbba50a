"""The data and overlap commands as a user runs them: files, exit codes, one-line errors, nothing half-written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mathcoach.cli import main
from mathcoach.config import add_arguments, resolve
from mathcoach.problems.build import DataConfig
from mathcoach.problems.checker import check
from mathcoach.problems.dataset import max_column_sum
from mathcoach.problems.problem import Problem

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mathcoach", *args], capture_output=True, text=True, cwd=cwd)


def test_rows_are_chat_rows_with_metadata_apart(tmp_path):
    out = tmp_path / "train.jsonl"
    assert main(["data", "--digits", "2x3", "--per-cell", "20", "--format", "goat", "--system", "Be exact.",
                 "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 20
    for row in rows:
        assert set(row) == {"messages", "meta"}
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert set(row["messages"][0]) == {"role", "content"}
        p = Problem.from_dict(row["meta"])
        assert row["messages"][1]["content"] == p.question
        assert check(p, "goat", row["messages"][2]["content"]).correct
        assert row["meta"]["format"] == "goat" and row["meta"]["answer_version"]


def test_same_seed_same_bytes_and_workers_do_not_change_output(tmp_path):
    args = ["data", "--digits", "1-3", "--per-cell", "900", "--split", "test", "--seed", "3"]
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert main([*args, "-o", str(a)]) == 0
    assert main([*args, "-o", str(b)]) == 0
    assert main([*args, "--workers", "2", "-o", str(c)]) == 0
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()


def test_repeat_hard_adds_exactly_the_hard_rows_and_the_shuffle_keeps_the_multiset(tmp_path):
    args = ["data", "--digits", "2x2", "--per-cell", "400", "--format", "columns"]
    plain, mixed, again = tmp_path / "plain.jsonl", tmp_path / "mixed.jsonl", tmp_path / "again.jsonl"
    assert main([*args, "-o", str(plain)]) == 0
    assert main([*args, "--repeat-hard", "3", "--shuffle-seed", "5", "-o", str(mixed)]) == 0
    assert main([*args, "--repeat-hard", "3", "--shuffle-seed", "5", "-o", str(again)]) == 0
    base = plain.read_text().splitlines()
    rows = mixed.read_text().splitlines()
    hard = [line for line in base if max_column_sum(json.loads(line)["meta"]["a"], json.loads(line)["meta"]["b"]) >= 100]
    assert 0 < len(hard) < len(base) // 5  # a real minority: ~5% of 2x2 problems
    assert sorted(rows) == sorted(base + hard + hard)  # every row kept, each hard one written 3 times in all
    assert rows != base + hard + hard  # shuffled ...
    assert mixed.read_bytes() == again.read_bytes()  # ... reproducibly


def test_max_column_sum_is_the_largest_schoolbook_column_with_its_carry():
    assert max_column_sum(68, 88) == 6 * 8 + 8 * 8 + 6  # ones 64 carries 6 into tens: 118
    assert max_column_sum(12, 32) == 8  # ones 4, tens 2 + 6, hundreds 3
    assert max_column_sum(999, 999) == 9 * 9 * 3 + 17  # hundreds: 243 plus the carry 17 from tens (81 + 81 + 8)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--op", "pow"], "--op"),
        (["--format", "fancy"], "--format"),
        (["--op", "add", "--format", "goat"], "--format"),
        (["--digits", "0-3"], "--digits"),
        (["--digits", "17x2"], "--digits"),
        (["--per-cell", "-1"], "--per-cell"),
        (["--per-cell", "many"], "--per-cell"),
        (["--phrasing", "nope"], "--phrasing"),
        (["--phrasing", "x_equals", "--hold-out-phrasing", "x_equals"], "--phrasing"),
        (["--system", "@/does/not/exist"], "--system"),
        (["--config", "/does/not/exist.toml"], "--config"),
        (["--repeat-hard", "0"], "--repeat-hard"),
        (["--op", "add", "--repeat-hard", "2"], "--repeat-hard"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2_and_write_nothing(tmp_path, args, needle):
    out = tmp_path / "out.jsonl"
    res = run_cli("data", *args, "-o", str(out))
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr, res.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_reported_before_any_work(tmp_path):
    res = run_cli("data", "--per-cell", "1", "-o", "/proc/nope/out.jsonl")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("data", "--per-cell", "1", "-o", str(tmp_path))
    assert res.returncode == 2 and "directory" in res.stderr


def test_a_failure_midway_leaves_no_file_and_keeps_an_old_one(tmp_path, monkeypatch):
    out = tmp_path / "train.jsonl"
    out.write_text("old contents\n")
    import mathcoach.problems.build as build

    calls = {"n": 0}
    real = build.to_row

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] > 50:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(build, "to_row", flaky)
    assert main(["data", "--digits", "3", "--per-cell", "100", "-o", str(out)]) == 130
    assert out.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["train.jsonl"]


def test_every_shipped_config_loads_and_flags_override_it(tmp_path):
    import argparse

    configs = sorted((REPO / "configs" / "data").glob("*.toml"))
    assert configs
    for path in configs:
        parser = argparse.ArgumentParser()
        add_arguments(parser, DataConfig)
        cfg = resolve(DataConfig, parser.parse_args(["--config", str(path), "--per-cell", "3", "-o", "x"]))
        assert cfg.per_cell == 3 and cfg.output == "x"
    bad = tmp_path / "bad.toml"
    bad.write_text('per_cell = "many"\n')
    res = run_cli("data", "--config", str(bad), "-o", str(tmp_path / "o.jsonl"))
    assert res.returncode == 2 and "--per-cell" in res.stderr
    bad.write_text('colour = "blue"\n')
    res = run_cli("data", "--config", str(bad), "-o", str(tmp_path / "o.jsonl"))
    assert res.returncode == 2 and "colour" in res.stderr


def test_help_is_instant_and_imports_no_heavy_module():
    code = "import sys; from mathcoach.cli import build_parser; build_parser(); print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch','transformers','tqdm','numpy'}))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
    assert run_cli("--help").returncode == 0 and run_cli("data", "--help").returncode == 0


def test_console_script_and_module_agree(tmp_path):
    script = Path(sys.executable).parent / "mathcoach"  # the entry point pip installed
    assert script.is_file()
    by_script = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    by_module = run_cli("--version")
    assert by_script.returncode == by_module.returncode == 0
    assert by_script.stdout == by_module.stdout and by_script.stdout.startswith("mathcoach ")
    bad = subprocess.run([str(script), "data", "--digits", "0x0", "-o", str(tmp_path / "x.jsonl")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr == run_cli("data", "--digits", "0x0", "-o", str(tmp_path / "x.jsonl")).stderr


def test_overlap_returns_data_the_cli_prints(tmp_path):
    from mathcoach.problems.overlap import check_overlap

    files = {}
    for split in ("train", "test"):
        files[split] = tmp_path / f"{split}.jsonl"
        assert main(["data", "--digits", "2x2", "--per-cell", "30", "--split", split, "-o", str(files[split])]) == 0
    reports = check_overlap(str(files["train"]), [str(files["test"]), str(files["train"])], (13,))
    assert [r.hits for r in reports][0] == 0 and reports[1].exact == reports[1].items == 30


@pytest.mark.parametrize("args, needle", [
    (["merge", "/no/such/dir", "-o", "OUT"], "not a LoRA output directory"),
    (["compare", "/no/such/run", "/no/such/run2"], "is not a run directory"),
    (["serve", "--model", "/no/such/model"], "unknown model"),
    (["serve", "--model", "smollm2-135m", "--port", "70000"], "--port"),
    (["serve", "--model", "smollm2-135m", "--batch-size", "0"], "--batch-size"),
])
def test_merge_compare_serve_bad_input_one_line_exit_2(tmp_path, args, needle):
    args = [a.replace("OUT", str(tmp_path / "out")) for a in args]
    res = run_cli(*args)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and needle in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()


def test_serve_on_a_taken_port_is_one_line(tmp_path, tiny_model):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        res = run_cli("serve", "--model", str(tiny_model), "--port", str(s.getsockname()[1]))
    assert res.returncode == 2 and "cannot listen on" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_static_checks_read_no_file_and_preflight_does(tmp_path):
    from mathcoach.config import ConfigError
    from mathcoach.eval.config import EvalConfig
    from mathcoach.optimize.config import OptimizeConfig
    from mathcoach.train.config import TrainConfig

    later = [EvalConfig(model="m", data=str(tmp_path / "later.jsonl")),
             TrainConfig(train=str(tmp_path / "t.jsonl"), val=str(tmp_path / "v.jsonl")),
             OptimizeConfig(student="s", teacher="t", train="a.jsonl", val="b.jsonl", test="c.jsonl")]
    for c in later:  # a multi-stage run can be validated before its data exists ...
        with pytest.raises(ConfigError, match="does not exist"):
            c.preflight()  # ... and the stage still refuses to start without it
    with pytest.raises(ConfigError, match="--samples"):
        EvalConfig(model="m", data="later.jsonl", samples=0)  # a contradiction is refused at once


def test_eval_summary_prints_the_all_row_once_for_data_without_cells():
    from mathcoach.eval.report import summary_markdown

    m = {"exact_match": 0.5, "ci95": [0.1, 0.9], "flexible_match": 0.5, "digit_match": 0.5, "in_format": 1.0,
         "unscored": 0, "scored": 2, "error_types": {}}
    assert summary_markdown({"cells": {"all": m}, "overall": m}, "h").count("| all |") == 1
    assert summary_markdown({"cells": {"2x2": m}, "overall": m}, "h").count("| all |") == 1


def test_pyproject_license_is_an_spdx_string():
    import tomllib

    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "Apache-2.0"  # a table makes setuptools warn on every install


def test_overlap_clean_splits_exit_0_and_contaminated_exit_1(tmp_path):
    files = {}
    for split in ("train", "val", "test"):
        files[split] = tmp_path / f"{split}.jsonl"
        assert main(["data", "--digits", "1-3", "--per-cell", "200", "--split", split, "-o", str(files[split])]) == 0
    res = run_cli("overlap", str(files["train"]), str(files["val"]), str(files["test"]))
    assert res.returncode == 0 and "clean" in res.stdout, res.stdout
    res = run_cli("overlap", str(files["train"]), str(files["train"]))
    assert res.returncode == 1 and "CONTAMINATED" in res.stdout
    # a reordered operand pair in another phrasing is still caught
    row = json.loads(files["test"].read_text().splitlines()[-1])
    a, b = row["meta"]["a"], row["meta"]["b"]
    leak = tmp_path / "leak.jsonl"
    main(["data", "--digits", "1", "--per-cell", "1", "-o", str(leak)])
    swapped = json.loads(leak.read_text())
    swapped["meta"].update(a=b, b=a, question=f"Multiply {b} by {a}.")
    leak.write_text(json.dumps(swapped) + "\n")
    res = run_cli("overlap", str(leak), str(files["test"]))
    row = [ln for ln in res.stdout.splitlines() if ln.startswith(f"| {files['test']}")][0]
    assert res.returncode == 1 and [c.strip() for c in row.split("|")[3:5]] == ["0", "1"], res.stdout


def test_overlap_ngrams_on_word_problems(tmp_path):
    text = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May?")
    train = tmp_path / "train.jsonl"
    test = tmp_path / "test.jsonl"
    train.write_text(json.dumps({"question": "Preamble words here. " + text.upper(), "answer": "x\n#### 72"}) + "\n")
    first_sentence = text.split(". ")[0]  # 20 words: a 13-gram hit, too short for a 30-gram one
    test.write_text(json.dumps({"question": first_sentence + ". How much money is that?", "answer": "#### 72"}) + "\n"
                    + json.dumps({"question": "A different question about 13 apples.", "answer": "#### 13"}) + "\n")
    res = run_cli("overlap", str(train), str(test), "--hits", str(tmp_path / "hits.json"))
    assert res.returncode == 1
    row = [ln for ln in res.stdout.splitlines() if ln.startswith(f"| {test}")][0]
    assert [c.strip() for c in row.split("|")[2:7]] == ["2", "0", "0", "1", "0"], row
    assert json.loads((tmp_path / "hits.json").read_text()) == {str(test): ["gsm8k-1"]}  # the first row, only


def test_overlap_reads_the_real_gsm8k_and_svamp_files(shared_data, tmp_path):
    res = run_cli("overlap", str(shared_data / "gsm8k" / "train.jsonl"), str(shared_data / "gsm8k" / "test.jsonl"),
                  str(shared_data / "svamp" / "test.jsonl"))
    assert res.returncode in (0, 1), res.stderr
    assert "| 1319 |" in res.stdout and "| 1000 |" in res.stdout


def test_overlap_bad_input_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    res = run_cli("overlap", str(bad), str(bad))
    assert res.returncode == 2 and "bad.jsonl:1" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("overlap", str(tmp_path / "missing.jsonl"), str(bad))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


def test_stages_never_import_a_command_module():
    """optimize and training share ask_and_score through eval/score.py, not through the `eval` command module."""
    code = ("import sys, mathcoach.optimize.search, mathcoach.train.trainer; "
            "print('mathcoach.eval.run' in sys.modules, 'mathcoach.cli' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["False", "False"]


def test_every_format_is_one_record_with_what_it_needs():
    from mathcoach.problems.traces import FORMATS, Format

    for op, fmts in FORMATS.items():
        for name, f in fmts.items():
            assert isinstance(f, Format) and f.name == name and f.op == op and f.version and f.unit in ("line", "chain")
    tokens = {"staged", "carryout", "carryout8", "copy8", "trimmed8", "gathered8", "rest8", "rest8u", "rest9", "rest9z"}
    assert {n for n, f in FORMATS["mul"].items() if f.template == "tokens"} == tokens
    assert {n for n, f in FORMATS["mul"].items() if f.template == "marks"} == {"places", "fused"}


@pytest.mark.parametrize("command, old, new", [
    ("eval", ["--out", "R", "--system-prompt", "S"], ["-o", "R", "--system", "@S"]),
    ("optimize", ["--out", "R"], ["--output", "R"]),
    ("train", ["--system-prompt", "S"], ["--system", "@S"]),
])
def test_old_flag_spellings_still_work_and_are_hidden(command, old, new, tmp_path):
    from mathcoach.cli import build_parser
    from mathcoach.eval.config import EvalConfig
    from mathcoach.optimize.config import OptimizeConfig
    from mathcoach.train.config import TrainConfig

    cls = {"eval": EvalConfig, "optimize": OptimizeConfig, "train": TrainConfig}[command]
    need = {"eval": ["--model", "m", "--data", "d.jsonl"], "train": ["--train", "t.jsonl", "--val", "v.jsonl"],
            "optimize": ["--student", "s", "--teacher", "t", "--train", "a", "--val", "b", "--test", "c"]}[command]
    parser = build_parser()
    a = resolve(cls, parser.parse_args([command, *need, *old]))
    b = resolve(cls, parser.parse_args([command, *need, *new]))
    assert a == b  # the same settings, whichever spelling
    help_text = run_cli(command, "--help").stdout
    assert "--out " not in help_text and "--system-prompt" not in help_text
    toml = tmp_path / "old.toml"
    toml.write_text('out = "R"\n' if command != "train" else 'system_prompt = "S"\n')
    c = resolve(cls, parser.parse_args([command, *need, "--config", str(toml)]))
    assert (c.output == "R") if command != "train" else (c.system == "@S")


def test_old_spellings_print_nothing_extra(tmp_path):
    new = tmp_path / "new"
    old = tmp_path / "old"
    data = tmp_path / "d.jsonl"
    assert main(["data", "--digits", "1x1", "--per-cell", "2", "--split", "train", "-o", str(data)]) == 0
    for d in (new, old):
        d.mkdir()
    sys_file = tmp_path / "s.txt"
    sys_file.write_text("S")
    bad_new = run_cli("eval", "--model", "nope", "--data", str(data), "-o", str(new), "--system", f"@{sys_file}")
    bad_old = run_cli("eval", "--model", "nope", "--data", str(data), "--out", str(old), "--system-prompt", str(sys_file))
    assert bad_new.returncode == bad_old.returncode == 2 and bad_new.stderr == bad_old.stderr


def test_every_subcommand_has_a_description_and_every_option_help_and_a_default():
    import argparse

    from mathcoach.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == {"data", "overlap", "eval", "optimize", "train", "merge", "mistakes", "serve", "runs",
                                "compare", "run", "report"}
    parsers = dict(sub.choices)
    nested = next(a for a in parsers["mistakes"]._actions if isinstance(a, argparse._SubParsersAction))
    parsers |= {f"mistakes {k}": v for k, v in nested.choices.items()}
    for name, p in parsers.items():
        assert p.description, f"mathcoach {name} has no description"
        for action in p._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction) or not action.option_strings:
                continue
            if action.dest == "config":
                continue
            assert action.help, (name, action.dest)
            shown = "(default" in action.help or "(required)" in action.help or "default:" in action.help
            assert shown, f"mathcoach {name} {action.option_strings[0]}: help shows no default: {action.help!r}"
            if action.nargs != 0:
                assert action.metavar, f"mathcoach {name} {action.option_strings[0]} shows argparse's own metavar"


def test_one_error_prefix_for_every_subcommand():
    for args in (["data", "--digits", "0x0", "-o", "x.jsonl"], ["eval", "--nope"], ["overlap", "a", "b", "--n", "0"]):
        res = run_cli(*args)
        assert res.returncode == 2 and res.stderr.startswith("mathcoach: error: "), res.stderr


def test_a_short_cell_is_said_on_stderr(tmp_path):
    res = run_cli("data", "--digits", "1x1", "--per-cell", "30", "--split", "test", "-o", str(tmp_path / "t.jsonl"))
    assert res.returncode == 0
    warn = [line for line in res.stderr.splitlines() if line.startswith("mathcoach: warning: cell 1x1 has")]
    assert len(warn) == 1 and "of the 30 problems asked for" in warn[0]
