"""benchmarks/mul_heldout.py's run record says whether its validation round scored the weights it describes."""

import json

import pytest

from .helpers.bench import load

mul_heldout = load("mul_heldout")


def _model_dir(tmp_path, best_step: int, rounds: dict[int, list[bool]]):
    (tmp_path / "train_results.json").write_text(json.dumps({
        "best_step": best_step, "steps": max(rounds), "val_history": [
            {"step": s, "exact_match": sum(r) / len(r)} for s, r in sorted(rounds.items())]}), encoding="utf-8")
    rows = [{"id": f"q{i}", "train_step": s, "correct": ok, "question": "?", "gold": "1", "strict": "1" if ok else "2"}
            for s, r in rounds.items() for i, ok in enumerate(r)]
    (tmp_path / "val_samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return tmp_path


def test_the_last_round_is_marked_when_the_weights_are_an_earlier_steps(tmp_path, capsys):
    rec = mul_heldout.run_record(_model_dir(tmp_path, 1180, {1180: [True, True], 1300: [True, False]}))
    assert rec["val_step"] == 1300 and rec["best_step"] == 1180 and rec["val_of_saved_weights"] is False
    assert rec["val_items"] == {"q0": 1, "q1": 0} and len(rec["val_history"]) == 2
    assert "step 1180's" in capsys.readouterr().err


def test_a_round_of_the_saved_weights_is_marked_so(tmp_path, capsys):
    rec = mul_heldout.run_record(_model_dir(tmp_path, 1300, {1300: [True, False]}))
    assert rec["val_of_saved_weights"] is True and [w["id"] for w in rec["val_wrong"]] == ["q1"]
    assert capsys.readouterr().err == ""


def test_a_run_too_weak_for_held_out_sets_is_recorded_alone(tmp_path, capsys):
    out = tmp_path / "fig.json"
    assert mul_heldout.main([str(out), "--model-dir", str(_model_dir(tmp_path, 339, {339: [True, False, False]}))]) == 0
    fig = json.loads(out.read_text(encoding="utf-8"))
    assert fig["run"]["val_items"] == {"q0": 1, "q1": 0, "q2": 0} and fig["evals_on_validation_problems"] == {}


def test_neither_an_evaluation_nor_a_model_dir_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        mul_heldout.main([str(tmp_path / "fig.json")])
    assert e.value.code == 2 and "--model-dir" in capsys.readouterr().err
    assert not (tmp_path / "fig.json").exists()
