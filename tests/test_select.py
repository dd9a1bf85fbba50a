"""The select stage: rows of a data file picked by how a model did on them in real eval runs over loopback HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mathcoach.cli import main
from mathcoach.eval.select import select_rows
from tests.helpers.oracle_server import Oracle


def _data(tmp_path: Path, split: str = "train", name: str = "q.jsonl") -> Path:
    out = tmp_path / name
    assert main(["data", "--digits", "2x2", "--per-cell", "12", "--split", split, "-o", str(out)]) == 0
    return out


def _eval(tmp_path: Path, data: Path, name: str, **oracle) -> Path:
    server, url = Oracle(fail_times=0, **oracle).start()
    run = tmp_path / name
    try:  # a model name per run, so the second run is never answered from the first one's cache
        assert main(["eval", "--model", f"openai:{name}@{url}", "--data", str(data), "--max-retries", "0",
                     "--output", str(run), "--no-progress"]) == 0
    finally:
        server.shutdown()
    return run


def _questions(data: Path) -> list[str]:
    return [json.loads(line)["meta"]["question"] for line in data.read_text().splitlines()]


def test_wrong_right_and_mixed_follow_every_scored_sample_and_ignore_unscored_ones(tmp_path):
    data = _data(tmp_path)
    qs = _questions(data)
    never, w1, w2 = frozenset(qs[:2]), frozenset(qs[2:6]), frozenset(qs[4:8])
    one = _eval(tmp_path, data, "one", wrong=w1, always_fail=never)
    two = _eval(tmp_path, data, "two", wrong=w2, always_fail=never)
    picked = lambda keep, runs: [r["meta"]["question"] for r in select_rows(str(data), runs, keep)[0]]  # noqa: E731
    assert picked("wrong", [one]) == sorted(w1, key=qs.index)
    assert picked("wrong", [one, two]) == sorted(w1 & w2, key=qs.index)  # wrong in every run
    assert picked("mixed", [one, two]) == sorted(w1 ^ w2, key=qs.index)
    right = [q for q in qs[2:] if q not in w1 | w2]
    assert picked("right", [one, two]) == right
    _, counts = select_rows(str(data), [one, two], "wrong")
    assert counts == {"rows": len(qs), "evaluated": len(qs) - 2, "wrong": 2, "right": len(right), "mixed": 4,
                      "kept": 2}  # the two never-answered questions are neither right nor wrong


def test_held_out_runs_and_unknown_keeps_are_refused_in_one_line(tmp_path, capsys):
    test = _data(tmp_path, "test", "t.jsonl")
    run = _eval(tmp_path, test, "held")
    from mathcoach.errors import DataError

    with pytest.raises(DataError, match="only training-split problems"):
        select_rows(str(test), [str(run)], "wrong")
    with pytest.raises(DataError, match="choose one of wrong, right, mixed"):
        select_rows(str(test), [str(run)], "hardest")
    train = _data(tmp_path)
    with pytest.raises(DataError, match="is not a finished eval run"):
        select_rows(str(train), [str(tmp_path / "nowhere")], "wrong")
