"""``mathcoach run EXPERIMENT.toml``: every stage in order, each skipped when it already ran with the same inputs.

Example: ``mathcoach run configs/experiments/quickstart.toml --dry-run`` prints the plan with estimated calls,
tokens and dollars; without ``--dry-run`` it runs it, ``--only STAGE`` / ``--from STAGE`` run part of it.

A finished stage leaves ``DIR/.stages/<stage>.json`` with its key (``experiment.stage_key``: settings, the keys of
the stages it reads, the hashes of files it reads). A stage whose record holds the key it would have now is
skipped; otherwise its old output is removed and it runs again, and so does every stage that reads it, since
their keys contain its key. The record is written after the stage's own output is complete, so a killed run
redoes exactly the stage it was in.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from mathcoach.config import ConfigError
from mathcoach.io import atomic_writer, write_json
from mathcoach.pipeline.experiment import Experiment, Stage, stage_inputs, stage_key


def _record_path(exp: Experiment, stage: Stage) -> Path:
    return exp.directory / ".stages" / f"{stage.name}.json"


def keys_of(exp: Experiment) -> dict[str, str]:
    keys: dict[str, str] = {}
    for s in exp.stages:
        keys[s.name] = stage_key(s, keys)
    return keys


def is_done(exp: Experiment, stage: Stage, key: str) -> bool:
    rec = _record_path(exp, stage)
    if not rec.is_file() or not stage.output.exists():
        return False
    return json.loads(rec.read_text()).get("key") == key


def select(exp: Experiment, only: str | None, start: str | None) -> list[Stage]:
    if only and start:
        raise ConfigError("only", "--only and --from cannot be given together")
    if only:
        return [exp.stage(only)]
    if start:
        first = exp.stages.index(exp.stage(start))
        return exp.stages[first:]
    return list(exp.stages)


def _count_rows(stage: Stage) -> int | None:
    """Problems a data stage writes, or a file holds."""
    cfg = stage.config
    if stage.kind == "data":  # estimate() calls it for data stages only
        if cfg.source == "word":
            return cfg.count
        if cfg.source == "gsm8k":
            return _lines(cfg.input)
        return cfg.per_cell * len(cfg.cells) * cfg.repeat_hard + cfg.refusals
    return None


def _lines(path: str | None) -> int | None:
    p = Path(path) if path else None
    return sum(1 for _ in p.open()) if p and p.is_file() else None


def estimate(exp: Experiment, stage: Stage, rows: dict[str, int | None]) -> dict:
    """Upper bounds, for the plan: model calls, tokens and dollars (API models with prices in a models file)."""
    cfg, kind = stage.config, stage.kind
    out = {"calls": 0, "tokens": 0, "usd": 0.0, "rows": None}
    if kind == "data":
        out["rows"] = _count_rows(stage)
    elif kind == "eval":
        n = _rows_of(cfg.data, stage, rows)
        n = min(n, cfg.limit) if n is not None and cfg.limit else n
        if n is not None:
            out["calls"] = n * cfg.samples
            out["tokens"] = out["calls"] * ((cfg.max_tokens or 512) + 100 + 150 * cfg.few_shot)
            out["usd"] = _usd(cfg.model, cfg.models_file, out["calls"] * (100 + 150 * cfg.few_shot),
                              out["calls"] * (cfg.max_tokens or 512))
    elif kind == "train":
        n = _rows_of(cfg.train, stage, rows)
        if n is not None:
            n = min(n, cfg.train_limit) if cfg.train_limit else n
            out["tokens"] = int(n * cfg.epochs * 150) if cfg.max_steps is None else cfg.max_steps * cfg.batch_size * 150
    elif kind == "optimize":
        out["calls"] = (cfg.max_teacher_calls or cfg.rounds) + (cfg.max_student_calls or 0)
        if cfg.max_usd is not None:
            out["usd"] = cfg.max_usd
    return out


def _rows_of(path: str, stage: Stage, rows: dict[str, int | None]) -> int | None:
    for ref in stage.needs:
        if rows.get(ref) is not None and str(path).endswith(f"{ref}.jsonl"):
            return rows[ref]
    return _lines(path)


def _usd(model: str, models_file: str | None, prompt: int, completion: int) -> float:
    if not models_file or not Path(models_file).is_file():
        return 0.0
    from mathcoach.config import load_toml

    spec = load_toml(models_file).get("models", {}).get(model, {})
    prices = spec.get("prices", {}) if isinstance(spec, dict) else {}
    return (prompt * prices.get("prompt", 0.0) + completion * prices.get("completion", 0.0)) / 1e6


def plan(exp: Experiment, chosen: list[Stage]) -> tuple[str, list[dict]]:
    keys = keys_of(exp)
    rows: dict[str, int | None] = {}
    lines = [f"experiment {exp.name} ({exp.path}) -> {exp.directory}",
             "| stage | kind | reads | status | est. calls | est. tokens | est. USD |", "|---|---|---|---|---:|---:|---:|"]
    items = []
    for s in exp.stages:
        est = estimate(exp, s, rows)
        rows[s.name] = est["rows"]
        status = "done" if is_done(exp, s, keys[s.name]) else ("to run" if s in chosen else "not selected")
        items.append({"stage": s.name, "kind": s.kind, "status": status, **est})
        lines.append(f"| {s.name} | {s.kind} | {', '.join(s.needs) or '-'} | {status} | {est['calls']:,} | "
                     f"{est['tokens']:,} | {est['usd']:.2f} |")
    todo = [i for i in items if i["status"] == "to run"]
    lines.append(f"{len(todo)} of {len(items)} stages to run; estimated {sum(i['calls'] for i in todo):,} calls, "
                 f"{sum(i['tokens'] for i in todo):,} tokens, ${sum(i['usd'] for i in todo):.2f} (upper bounds)")
    return "\n".join(lines), items


def run_stage(stage: Stage, quiet: bool) -> dict:
    """Run one stage into its output; returns a short summary for the table."""
    cfg, kind = stage.config, stage.kind
    if hasattr(cfg, "progress"):
        cfg.progress = not quiet
    if kind == "data":
        if cfg.source != "generated":
            from mathcoach.tools.worddata import build_word_dataset

            s = build_word_dataset(cfg)
        else:
            from mathcoach.problems.build import build_dataset

            s = build_dataset(cfg, progress=not quiet)
        return {"rows": s["rows"], "sha256": s["sha256"]}
    if kind == "eval":
        from mathcoach.eval.run import run_eval

        _, out = run_eval(cfg, quiet=quiet)
        m = out["results"]["metrics"]["overall"]
        return {"exact_match": m["exact_match"], "ci95": m["ci95"], "items": m["items"]}
    if kind == "train":
        from mathcoach.train.run import run_train

        _, res = run_train(cfg, quiet=quiet)
        return {"best_val_exact_match": res["best_val_exact_match"], "steps": res["steps"]}
    if kind == "optimize":
        from mathcoach.optimize.search import run_optimize

        _, out = run_optimize(cfg, quiet=quiet)
        return {"summary": out["summary"].splitlines()[0] if out.get("summary") else ""}
    if kind == "overlap":
        from mathcoach.problems.overlap import check_overlap, overlap_markdown

        ns = tuple(sorted(set(cfg.n)))
        reports = check_overlap(cfg.train, list(cfg.tests), ns)
        with atomic_writer(stage.output) as f:
            f.write(overlap_markdown(cfg.train, reports, ns) + "\n")
        return {"hits": sum(r.hits for r in reports)}
    if kind == "compare":
        from mathcoach.eval.report import compare_markdown, compare_runs

        with atomic_writer(stage.output) as f:
            f.write(compare_markdown(compare_runs(cfg.a, cfg.b)) + "\n")
        return {}
    if kind == "concat":
        rows = 0
        with atomic_writer(stage.output, "wb") as f:
            for name in cfg.files:
                data = Path(name).read_bytes()
                f.write(data if data.endswith(b"\n") or not data else data + b"\n")
                rows += data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
        return {"rows": rows}
    if kind == "select":
        from mathcoach.eval.select import run_select

        c = run_select(cfg.data, list(cfg.runs), cfg.keep, stage.output)
        return {"rows": c["kept"], **{k: c[k] for k in ("wrong", "right", "mixed")}}
    if kind == "mistakes":
        from mathcoach.mistakes import run as mistakes

        out = str(stage.output)
        if cfg.step == "collect":
            c = mistakes.run_collect(list(cfg.runs), out, list(cfg.exclude))
            return {"rows": c["wrong"]}
        if cfg.step == "correct":
            c = mistakes.run_correct(cfg.mistakes, cfg.corrector, out, cfg.max_calls, cfg.max_usd, cfg.max_tokens,
                                     cfg.models_file)
            return {"rows": c["kept"]}
        c = mistakes.run_build(cfg.corrections, cfg.cot, out, cfg.fields, cfg.match, cfg.seed, cfg.tokenizer)
        return {"rows": c["rows"]}
    raise ConfigError("experiment", f"stage kind {kind!r} has no runner")


def run_experiment(exp: Experiment, only: str | None = None, start: str | None = None, dry_run: bool = False,
                   quiet: bool = False) -> dict:
    chosen = select(exp, only, start)
    text, items = plan(exp, chosen)
    if dry_run:
        return {"plan": text, "stages": items, "ran": []}
    keys = keys_of(exp)
    for s in chosen:  # a stage run alone needs what it reads to be there already
        for need in s.needs:
            dep = exp.stage(need)
            if dep not in chosen and not is_done(exp, dep, keys[need]):
                raise ConfigError("only", f"stage {s.name} reads @{need}, which has not run with its current "
                                  f"settings; run with --from {need} or without --only/--from")
    for s in chosen:  # inputs no stage writes must exist before the first stage starts, not halfway through
        if not s.needs and hasattr(s.config, "preflight"):
            s.config.preflight()
    exp.directory.mkdir(parents=True, exist_ok=True)
    ran, table = [], []
    for i, s in enumerate(chosen, 1):
        key = keys[s.name]
        if is_done(exp, s, key):
            table.append((s.name, s.kind, "skipped (inputs unchanged)", 0.0, ""))
            continue
        if not quiet:
            print(f"[{i}/{len(chosen)}] {s.name} ({s.kind}) ...", file=sys.stderr, flush=True)
        _record_path(exp, s).unlink(missing_ok=True)
        if s.output.is_dir():
            shutil.rmtree(s.output)
        elif s.output.exists():
            s.output.unlink()
        t0 = time.time()
        summary = run_stage(s, quiet)
        seconds = round(time.time() - t0, 1)
        write_json(_record_path(exp, s), {"stage": s.name, "kind": s.kind, "key": key, "seconds": seconds,
                                          "finished": time.time(), "output": str(s.output), "summary": summary,
                                          "inputs": stage_inputs(s, keys)})
        ran.append(s.name)
        table.append((s.name, s.kind, "ran", seconds, _short(summary)))
    report = None
    if only is None:  # the report of the whole experiment, from its run files
        from mathcoach.report.collect import collect
        from mathcoach.report.html import write_report

        report = exp.directory / "report.html"
        write_report(collect([str(exp.directory)]), report)
    lines = ["| stage | kind | status | seconds | result |", "|---|---|---|---:|---|"]
    lines += [f"| {n} | {k} | {st} | {sec:.1f} | {res} |" for n, k, st, sec, res in table]
    summary = "\n".join(lines) + (f"\nreport: {report}" if report else "")
    return {"plan": text, "stages": items, "ran": ran, "summary": summary, "report": report}


def _short(summary: dict) -> str:
    if "exact_match" in summary:
        lo, hi = summary["ci95"]
        return f"exact match {summary['exact_match']:.1%} ({lo:.1%}-{hi:.1%}), n={summary['items']}"
    if "best_val_exact_match" in summary and summary["best_val_exact_match"] is not None:
        return f"best validation {summary['best_val_exact_match']:.1%} after {summary['steps']} steps"
    if "rows" in summary:
        return f"{summary['rows']} rows"
    if "hits" in summary:
        return f"{summary['hits']} overlapping items"
    return ""
