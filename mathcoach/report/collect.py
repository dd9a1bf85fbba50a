"""Everything a report shows, read from run files alone: eval runs, model directories, optimizer runs, experiments.

Example: ``collect(["runs/quickstart"])`` -> ``{"runs": [...], "generated": ...}``, one entry per eval run (metrics,
cells, samples, tokens, cost, versions, the command that reproduces it), per training run (the loss and
validation curves of ``metrics.csv``) and per optimizer run (every candidate and the winning message).

Nothing here loads a model or calls one: a deleted model directory leaves its eval runs readable, and a report
can be rebuilt anywhere the run directories are copied.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from mathcoach.errors import DataError

MAX_TEXT = 4000  # characters of a completion or program kept per sample: a report stays a few MB


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: cannot be read as JSON ({e})") from None


def _samples(path: Path) -> list[dict]:
    out = []
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        r = json.loads(line)
        tool = r.get("tool") or {}
        out.append({
            "id": r.get("id"), "sample": r.get("sample", 0), "cell": r.get("cell") or "all",
            "question": r.get("question"), "gold": r.get("gold"), "answer": r.get("strict"),
            "correct": r.get("correct"), "error_type": r.get("error_type") or ("unscored" if r.get("correct") is None
                                                                                 else None),
            "step": r.get("step"), "written": r.get("written"), "expected": r.get("expected"),
            "completion": (r.get("completion") or "")[:MAX_TEXT], "api_error": r.get("api_error"),
            "tool": {k: (v[:MAX_TEXT] if isinstance(v, str) else v) for k, v in tool.items()} if tool else None,
        })
    return out


def _command(kind: str, config: dict) -> str:
    """The CLI line that reproduces a run from its recorded config: every setting it ran with, spelled as a flag
    (the report reads files only, so it cannot know which of them were defaults)."""
    parts = [f"mathcoach {kind}"]
    for k, v in config.items():
        if v is None or k in ("progress", "resume", "output"):
            continue
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            parts.append(flag if v else f"--no-{k.replace('_', '-')}")
        else:
            parts.append(f"{flag} {v}")
    return " ".join(parts)


def _eval_run(d: Path, name: str) -> dict:
    res = _json(d / "results.json")
    cfg = res.get("config", {})
    return {
        "kind": "eval", "name": name, "path": str(d), "model": cfg.get("model"), "data": cfg.get("data"),
        "tools": res.get("tools", "none"), "format": (res.get("format") or {}).get("name"),
        "metrics": res["metrics"], "tokens": res.get("tokens", {}), "cost_usd": res.get("cost_usd", 0.0),
        "wall_s": res.get("wall_s"), "calls": res.get("calls", {}), "versions": res.get("versions", {}),
        "seed": res.get("seed"), "data_sha256": res.get("data_sha256"),
        "system_prompt": cfg.get("system"), "command": _command("eval", cfg), "samples": _samples(d / "samples.jsonl"),
    }


def _train_run(d: Path, name: str) -> dict:
    res = _json(d / "train_results.json") if (d / "train_results.json").is_file() else _json(d / "results.json")
    curve = []
    if (d / "metrics.csv").is_file():
        with (d / "metrics.csv").open() as f:
            for row in csv.DictReader(f):
                curve.append({k: (float(v) if v not in ("", None) else None) for k, v in row.items()})
    return {"kind": "train", "name": name, "path": str(d), "curve": curve, "steps": res.get("steps"),
            "best_step": res.get("best_step"), "best_val_exact_match": res.get("best_val_exact_match"),
            "train_s": res.get("train_s"), "tokens_seen": res.get("tokens_seen"), "versions": res.get("versions", {}),
            "seed": res.get("seed"), "data_sha256": res.get("data_sha256"),
            "command": _command("train", res.get("config", {}))}


def _optimize_run(d: Path, name: str) -> dict:
    res = _json(d / "results.json")
    cands = []
    for line in (d / "candidates.jsonl").read_text().splitlines() if (d / "candidates.jsonl").is_file() else []:
        c = json.loads(line)
        cands.append({k: c.get(k) for k in ("id", "round", "origin", "val", "minibatch", "text")})
    best = (d / "best_system_prompt.txt").read_text() if (d / "best_system_prompt.txt").is_file() else ""
    return {"kind": "optimize", "name": name, "path": str(d), "candidates": cands, "best_prompt": best,
            "spent": res.get("spent", {}), "versions": res.get("versions", {}), "seed": res.get("seed"),
            "data_sha256": res.get("data_sha256"), "command": _command("optimize", res.get("config", {})),
            "samples": _samples(d / "samples.jsonl")}


def _kind(d: Path) -> str | None:
    if (d / "results.json").is_file():
        kind = _json(d / "results.json").get("kind")
        if kind in ("eval", "optimize"):
            return kind
    if (d / "train_results.json").is_file() or (d / "mathcoach.json").is_file():
        return "train"
    return None


def collect(paths: list[str]) -> dict:
    """Every run under ``paths``: a run directory itself, or a directory of runs (an experiment, ``runs/``)."""
    runs, seen = [], set()
    for p in paths:
        root = Path(p)
        if not root.exists():
            raise DataError(f"{p} does not exist")
        found = [root] if _kind(root) else sorted(x for x in root.rglob("*") if x.is_dir() and _kind(x)
                                                 and "checkpoints" not in x.parts)
        for d in found:
            if d.resolve() in seen:
                continue
            seen.add(d.resolve())
            name = str(d.relative_to(root)) if d != root else d.name
            kind = _kind(d)
            runs.append({"eval": _eval_run, "train": _train_run, "optimize": _optimize_run}[kind](d, name))
    if not runs:
        raise DataError(f"no eval, training or optimizer runs under {', '.join(paths)}")
    return {"runs": runs, "generated": time.strftime("%Y-%m-%d %H:%M:%S"), "sources": list(paths)}
