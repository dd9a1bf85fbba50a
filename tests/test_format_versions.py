"""Every trace format has a version, and its output is pinned: a format whose text changes without a version bump
fails here, so rows, eval results and model directories never carry one version for two different traces.

To change a format on purpose: bump its ``version`` in problems/traces/__init__.py, then run
``python tests/test_format_versions.py`` to rewrite tests/golden/formats.json, and commit both.
"""

import hashlib
import json
from pathlib import Path

import pytest

from mathcoach.problems.generate import generate
from mathcoach.problems.traces import FORMATS, render

GOLDEN = Path(__file__).parent / "golden" / "formats.json"
CELLS = {"mul": [(a, b) for a in range(1, 7) for b in range(1, 7)] + [(7, 8), (9, 3)],
         "add": [(1, 1), (3, 4), (6, 6)], "sub": [(1, 1), (3, 4), (6, 6)], "div": [(2, 1), (4, 2), (6, 3)]}


def digest(op: str, fmt: str) -> str:
    problems = generate(op, CELLS[op], 3, "train", 7).problems
    text = "\n\x1e\n".join(render(p, fmt) for p in problems)
    return hashlib.sha256(text.encode()).hexdigest()


def current() -> dict:
    return {f"{op}/{fmt}": {"version": f.version, "sha256": digest(op, fmt)}
            for op, fmts in FORMATS.items() for fmt, f in fmts.items()}


@pytest.mark.parametrize("key", sorted(f"{op}/{fmt}" for op, fmts in FORMATS.items() for fmt in fmts))
def test_a_format_changes_only_with_a_version_bump(key):
    golden = json.loads(GOLDEN.read_text())
    op, fmt = key.split("/")
    f = FORMATS[op][fmt]
    assert key in golden, f"new format {key}: run python tests/test_format_versions.py and commit the golden file"
    pinned = golden[key]
    sha = digest(op, fmt)
    if f.version == pinned["version"]:
        assert sha == pinned["sha256"], (f"{key} renders differently from version {f.version}: bump its version in "
                                         "problems/traces/__init__.py, then rewrite the golden file")
    else:
        pytest.fail(f"{key} is now version {f.version} (golden: {pinned['version']}): rewrite the golden file with "
                    "python tests/test_format_versions.py")


def test_rows_eval_and_model_directories_name_the_version(tmp_path):
    from mathcoach.cli import main

    out = tmp_path / "rows.jsonl"
    assert main(["data", "--digits", "2x2", "--per-cell", "2", "--format", "columns", "-o", str(out)]) == 0
    meta = json.loads(out.read_text().splitlines()[0])["meta"]
    assert meta["format"] == "columns" and meta["format_version"] == FORMATS["mul"]["columns"].version


def test_the_pin_notices_a_changed_trace(monkeypatch):
    """The check above can fail: a format that renders another trace under the same version differs from its pin."""
    import dataclasses

    golden = json.loads(GOLDEN.read_text())
    long = FORMATS["mul"]["long"]
    monkeypatch.setitem(FORMATS["mul"], "long", dataclasses.replace(long, build=FORMATS["mul"]["scratchpad"].build))
    assert FORMATS["mul"]["long"].version == golden["mul/long"]["version"]
    assert digest("mul", "long") != golden["mul/long"]["sha256"]


if __name__ == "__main__":  # rewrite the pins (after a deliberate version bump)
    GOLDEN.write_text(json.dumps(current(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
