"""The run-directory contract and the SQLite index of runs.

Example: ``mathcoach runs`` lists recent runs; ``mathcoach compare RUN_A RUN_B`` compares two of them.

Every run directory holds ``config.json`` (the resolved config), ``samples.jsonl`` (one line per problem and
sample), ``results.json`` (aggregates, versions, seeds, git hash, hashes of data and prompts) and plots.
Reports read these files and never call a model again. The index (``$MATHCOACH_HOME/runs.sqlite``) only
points at run directories, so deleting one is harmless; its schema grows by append-only migrations.
"""

from __future__ import annotations

import hashlib
import platform
import re
import sqlite3
import subprocess
import time
from pathlib import Path

from mathcoach import __version__
from mathcoach.home import home

MIGRATIONS = [  # append only: a database at version k gets migrations k.. applied, never rewritten
    """CREATE TABLE runs (path TEXT PRIMARY KEY, kind TEXT NOT NULL, created REAL NOT NULL, model TEXT,
       data TEXT, items INTEGER, exact_match REAL, unscored INTEGER)""",
]


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(home() / "runs.sqlite", timeout=30)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for k in range(version, len(MIGRATIONS)):
        db.execute(MIGRATIONS[k])
        db.execute(f"PRAGMA user_version = {k + 1}")
    db.commit()
    return db


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[-40:] or "run"


def new_run_dir(kind: str, model: str, data: str, out: str | None = None) -> Path:
    if out:
        return Path(out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / kind / f"{stamp}-{slug(Path(model).name or model)}-{slug(Path(data).stem)}"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_hash() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, timeout=5,
                               cwd=Path(__file__).resolve().parent).stdout.strip()
        return res.stdout.strip() + ("-dirty" if dirty else "") if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from mathcoach.problems.answer import ANSWER_VERSION
    from mathcoach.problems.checker import CHECKER_VERSION

    out = {"mathcoach": __version__, "python": platform.python_version(), "answer_checker": ANSWER_VERSION,
           "step_checker": CHECKER_VERSION, "git": git_hash()}
    for pkg in ("torch", "transformers", "peft", "trl", "datasets", "accelerate", "openai"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def index_run(path: Path, kind: str, results: dict) -> None:
    overall = results.get("metrics", {}).get("overall", {})
    cfg = results.get("config", {})
    with _db() as db:  # an optimize run is indexed by its student and its test file, with the chosen message's score
        db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (str(path.resolve()), kind, time.time(), cfg.get("model") or cfg.get("student"),
                    cfg.get("data") or cfg.get("test"), overall.get("items"), overall.get("exact_match"),
                    overall.get("unscored")))


def list_runs(limit: int = 20) -> list[dict]:
    with _db() as db:
        rows = db.execute("SELECT path, kind, created, model, data, items, exact_match, unscored FROM runs "
                          "ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
    keys = ("path", "kind", "created", "model", "data", "items", "exact_match", "unscored")
    return [dict(zip(keys, r)) for r in rows]


def load_samples(run_dir: str | Path) -> list[dict]:
    from mathcoach.errors import DataError
    from mathcoach.io import read_jsonl

    path = Path(run_dir) / "samples.jsonl"
    if not path.is_file():
        raise DataError(f"{run_dir} is not a run directory (no samples.jsonl)")
    return read_jsonl(path)


def load_eval_results(run_dir: str | Path) -> dict:
    """A finished eval run's results.json; anything else (a train run, a half-written directory) is refused."""
    import json

    from mathcoach.errors import DataError

    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise DataError(f"{run_dir} is not a finished eval run directory (no results.json)")
    results = json.loads(path.read_text(encoding="utf-8"))
    if results.get("kind") != "eval":
        raise DataError(f"{run_dir} is a {results.get('kind')} run; an eval run directory is needed")
    return results


_HELD_OUT_NAME = re.compile(r"(^|[^a-z])(test|val|valid|validation|dev)([^a-z]|$)", re.I)


def refuse_held_out(run: str | Path, data: str, samples: list[dict]) -> None:
    """Only training-split problems may become training data (mistakes to correct, questions selected by how a model
    did on them); choosing them by a held-out split's results would fit that split. For generated rows the sample's
    own ``split`` decides; word problems (GSM8K, SVAMP rows carry no split) go by the data file's name."""
    from mathcoach.errors import DataError

    splits = {r.get("split") for r in samples} - {None, ""}
    held = sorted(splits - {"train"})
    if held:
        raise DataError(f"{data} (evaluated in {run}) holds {held[0]} problems; only training-split problems may "
                        "become training data")
    if not splits and _HELD_OUT_NAME.search(Path(data).stem):
        raise DataError(f"{data} (evaluated in {run}) is named as a held-out split; only training problems may "
                        "become training data")
