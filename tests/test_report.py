"""The HTML report, in a real headless browser (Debian's chromium, installed by `make`): it loads without a script
error, its leaderboard holds the run files' numbers, the filters change which samples are shown, a screenshot is
taken; and it builds from run files alone, with the trained model deleted."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mathcoach.cli import main
from tests.test_pipeline import TINY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make installs it)")


@pytest.fixture(scope="module")
def experiment(tiny_model, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report")
    (d / "exp.toml").write_text(TINY.format(model=tiny_model, test_per_cell=3))
    assert main(["run", str(d / "exp.toml"), "--dir", str(d / "exp"), "--quiet"]) == 0
    return d / "exp"


def _browser(url: str, tmp: Path, *extra: str) -> tuple[str, str]:
    """(the DOM after the page's script ran, the browser's log)."""
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--user-data-dir={tmp / 'profile'}", *extra, url],
                          capture_output=True, text=True, timeout=120)
    return proc.stdout, proc.stderr


def _shown(dom: str) -> tuple[int, int]:
    m = re.search(r'id="count"[^>]*>(\d+) of (\d+) samples<', dom)
    assert m, "the drill-down did not render"
    return int(m[1]), int(m[2])


def test_the_experiment_writes_a_report_that_builds_again_without_its_model(experiment, tmp_path):
    assert (experiment / "report.html").is_file()
    shutil.rmtree(experiment / "finetune")  # the model is gone; its eval runs and curves are files
    out = tmp_path / "r.html"
    assert main(["report", str(experiment), "-o", str(out), "--json", str(tmp_path / "r.json"),
                 "--csv", str(tmp_path / "r.csv")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert {r["name"] for r in data["runs"] if r["kind"] == "eval"} == {"baseline", "after"}
    csv_rows = (tmp_path / "r.csv").read_text().strip().splitlines()
    assert len(csv_rows) == 1 + sum(len(r["samples"]) for r in data["runs"] if r.get("samples"))
    # the embedded data survives the HTML parser: the script element ends where it should and holds the JSON
    blob = out.read_text().split('id="data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(blob.replace("<\\/", "</"))["runs"] == data["runs"]


def test_a_directory_without_runs_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 2
    assert "no eval, training or optimizer runs" in capsys.readouterr().err and not (tmp_path / "r.html").exists()


@needs_browser
def test_the_page_loads_cleanly_and_its_leaderboard_holds_the_run_files_numbers(experiment, tmp_path):
    report = experiment / "report.html"
    dom, log = _browser(report.as_uri(), tmp_path, "--dump-dom")
    assert 'data-ready="1"' in dom, log[-2000:]  # the script ran to its end
    assert re.search(r'<div id="errors"[^>]*></div>', dom), "the page reported a script error"
    assert "Uncaught" not in log
    for name in ("baseline", "after"):
        res = json.loads((experiment / name / "results.json").read_text())["metrics"]
        for cell, m in [("all", res["overall"]), *res["cells"].items()]:
            row = re.search(rf'<tr data-run="{name}" data-cell="{cell}">(.*?)</tr>', dom, re.S)
            assert row, (name, cell)
            assert f'<td class="n">{m["items"]}</td>' in row[1]
            assert f'<td class="em">{100 * m["exact_match"]:.1f}%</td>' in row[1]
    assert "<svg" in dom  # the training curves were drawn from metrics.csv


@needs_browser
def test_the_filters_change_which_samples_are_shown(experiment, tmp_path):
    report = experiment / "report.html"
    rows = {n: [json.loads(x) for x in (experiment / n / "samples.jsonl").read_text().splitlines()]
            for n in ("baseline", "after")}
    total = sum(len(v) for v in rows.values())
    shown, all_ = _shown(_browser(report.as_uri(), tmp_path, "--dump-dom")[0])
    assert shown == all_ == total
    shown, _ = _shown(_browser(report.as_uri() + "#run=after", tmp_path, "--dump-dom")[0])
    assert shown == len(rows["after"])
    wrong = sum(r["correct"] is False for v in rows.values() for r in v)
    shown, _ = _shown(_browser(report.as_uri() + "#wrong=1", tmp_path, "--dump-dom")[0])
    assert shown == wrong
    cell = rows["baseline"][0]["cell"]
    shown, _ = _shown(_browser(report.as_uri() + f"#run=baseline&cell={cell}", tmp_path, "--dump-dom")[0])
    assert shown == sum(r["cell"] == cell for r in rows["baseline"])
    shown, _ = _shown(_browser(report.as_uri() + "#q=zzzz-not-in-any-text", tmp_path, "--dump-dom")[0])
    assert shown == 0


@needs_browser
def test_a_screenshot_of_the_report_is_saved(experiment, tmp_path):
    shot = tmp_path / "report.png"
    _browser((experiment / "report.html").as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1280,1800")
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_an_optimizer_run_shows_its_trajectory_and_winning_message(tmp_path):
    from mathcoach.optimize.config import OptimizeConfig
    from mathcoach.optimize.search import run_optimize
    from mathcoach.report.collect import collect
    from tests.helpers.scripted import ScriptedStudent, ScriptedTeacher, prompts

    files = {}
    for split, n in (("train", 20), ("val", 16), ("test", 16)):
        files[split] = tmp_path / f"{split}.jsonl"
        assert main(["data", "--digits", "2x2", "--per-cell", str(n), "--split", split, "-o", str(files[split])]) == 0
    cfg = OptimizeConfig(student="scripted", teacher="scripted", train=str(files["train"]), val=str(files["val"]),
                         test=str(files["test"]), rounds=2, candidates=2, minibatch=8, output=str(tmp_path / "opt"))
    run, _ = run_optimize(cfg, ScriptedStudent(), ScriptedTeacher({1: prompts(40, 60), 2: prompts(80, 90)}), quiet=True)
    [entry] = collect([str(run)])["runs"]
    assert entry["kind"] == "optimize" and entry["best_prompt"] == (run / "best_system_prompt.txt").read_text()
    assert any(c["origin"] == "teacher" for c in entry["candidates"])
    out = tmp_path / "r.html"
    assert main(["report", str(run), "-o", str(out)]) == 0
    if CHROMIUM:
        dom, _ = _browser(out.as_uri(), tmp_path, "--dump-dom")
        section = dom.split('id="optimizer"', 1)[1].split("</div>", 1)[0]
        assert "<svg" in section and "SKILL=" in section  # the trajectory and the winning message
        assert _shown(dom)[1] == len((run / "samples.jsonl").read_text().splitlines())


@needs_browser
def test_two_runs_side_by_side_list_the_items_each_got_right(experiment, tmp_path):
    dom, _ = _browser((experiment / "report.html").as_uri(), tmp_path, "--dump-dom")
    assert 'id="mcnemar"' in dom and 'id="list-a"' in dom and 'id="list-b"' in dom
