"""``mathcoach optimize``: the teacher proposes, the student is screened, validation decides, test reports.

Example: ``mathcoach optimize --student smollm2-135m --teacher smollm2-135m --train train.jsonl --val val.jsonl
--test test.jsonl --rounds 2 --candidates 2 --minibatch 8 --val-limit 32 --test-limit 64``

Read top to bottom: baselines on validation; then each round the best message so far is run on a fresh
training minibatch, the teacher sees its failures (with the step checker's diagnosis) and the scored history
and proposes candidates; a candidate is scored on validation only if it beats its parent on that minibatch;
the best by validation is kept. Budgets are checked before every batch. At the end, and only then, the test
split scores the baselines and the chosen message. Every call goes through the response cache, so re-running
the same command after a kill replays the paid calls from the cache and continues from where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

from mathcoach.config import ConfigError
from mathcoach.eval.metrics import mcnemar
from mathcoach.eval.score import Sampling, aggregate, ask_and_score, resolve_format
from mathcoach.home import home
from mathcoach.io import JsonlLog, atomic_writer, write_json
from mathcoach.models.base import Request, messages_hash
from mathcoach.optimize.budget import Budget
from mathcoach.optimize.config import OptimizeConfig
from mathcoach.optimize.teacher import BASELINES, normalized, parse_candidates, teacher_messages
from mathcoach.problems.dataset import read_items
from mathcoach.runs import index_run, new_run_dir, sha256_file, versions


def _sha(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else None


def _public(candidate: dict) -> dict:
    return {k: v for k, v in candidate.items() if k != "val_rows"}


def _acc(rows: list[dict]) -> tuple[int, int]:
    scored = [r for r in rows if r["correct"] is not None]
    return sum(r["correct"] for r in scored), len(scored)


def _log(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def estimate_calls(cfg: OptimizeConfig, n_val: int, n_test: int) -> dict:
    """Upper bound of calls: every round runs and every candidate reaches validation."""
    per_round = cfg.minibatch * (1 + cfg.candidates) + cfg.candidates * n_val
    return {"student": len(BASELINES) * n_val + cfg.rounds * per_round + (len(BASELINES) + 1) * n_test,
            "teacher": cfg.rounds, "proposals": cfg.rounds * cfg.candidates}


def estimate_usd(est: dict, cfg: OptimizeConfig, student, teacher) -> float | None:
    """An upper bound in dollars when price tables are known (prompt sizes are rough: 300 and 3,000 tokens)."""
    sp, tp = getattr(student, "prices", None), getattr(teacher, "prices", None)
    if not sp and not tp:
        return None
    sp, tp = sp or {}, tp or {}
    s = est["student"] * (300 * sp.get("prompt", 0) + cfg.student_max_tokens * sp.get("completion", 0))
    t = est["teacher"] * (3000 * tp.get("prompt", 0) + cfg.teacher_max_tokens * tp.get("completion", 0))
    return (s + t) / 1e6


def affordable_proposals(cfg: OptimizeConfig, n_val: int, n_test: int) -> int:
    """How many candidates the budget lets the teacher propose and get screened, at the least."""
    n = cfg.rounds * cfg.candidates
    if cfg.max_teacher_calls is not None:
        n = min(n, cfg.max_teacher_calls * cfg.candidates)
    if cfg.max_student_calls is not None:
        left = cfg.max_student_calls - len(BASELINES) * n_val - (len(BASELINES) + 1) * n_test
        per = cfg.minibatch + (cfg.minibatch + n_val / cfg.candidates)  # parent screen share + own screen + val share
        n = min(n, max(0, int(left // per)))
    return n


def run_optimize(cfg: OptimizeConfig, student=None, teacher=None, quiet: bool = False) -> tuple[Path, dict]:
    t0 = time.time()
    cfg.preflight()
    train, val, test = (read_items(cfg.train), read_items(cfg.val)[: cfg.val_limit],
                        read_items(cfg.test)[: cfg.test_limit])
    for name, items in (("train", train), ("val", val), ("test", test)):
        if not items or any(it.answer is None for it in items):
            raise ConfigError(name, f"{getattr(cfg, name)} must hold problems with gold answers")
    ids = {"train": {it.question for it in train}, "val": {it.question for it in val}}
    if ids["train"] & {it.question for it in test} or ids["val"] & {it.question for it in test}:
        raise ConfigError("test", "the test file shares questions with train or val; regenerate the splits")
    from mathcoach.modeldir import read_record
    from mathcoach.models import model_dir_of

    record = read_record(model_dir_of(cfg.student))
    fmt, _ = resolve_format(cfg, record.format if record else None, train, cfg.student, quiet)
    run_dir = new_run_dir("optimize", cfg.student, Path(cfg.val).stem, cfg.output)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(cfg))
    # Streamed as they are made, so a killed search leaves its record; rewritten whole at the end.
    cand_log, teacher_log_file = JsonlLog(run_dir / "candidates.jsonl"), JsonlLog(run_dir / "teacher_calls.jsonl")

    from mathcoach.models import load_model
    from mathcoach.models.cache import CachedBackend

    def backend(name):
        return load_model(name, models_file=cfg.models_file, batch_size=cfg.batch_size, concurrency=cfg.concurrency,
                          max_retries=cfg.max_retries, timeout_s=cfg.timeout_s)

    student = student or backend(cfg.student)
    teacher = teacher or (student if cfg.teacher == cfg.student else backend(cfg.teacher))
    api = student.identity.get("backend") != "hf"
    s_cache = CachedBackend(student, home() / "cache.sqlite", batch_size=cfg.concurrency * 4 if api else cfg.batch_size)
    t_cache = CachedBackend(teacher, home() / "cache.sqlite", batch_size=1)
    params = Sampling(cfg.student_max_tokens, 0.0, 1.0, cfg.seed, 1)
    budget = Budget(cfg.max_teacher_calls, cfg.max_student_calls, cfg.max_total_tokens, cfg.max_usd)
    budget.per_call.update(student_tokens=cfg.student_max_tokens + 200.0, teacher_tokens=cfg.teacher_max_tokens + 2500.0)
    budget.reserve_student = (len(BASELINES) + 1) * len(test)

    est = estimate_calls(cfg, len(val), len(test))
    usd = estimate_usd(est, cfg, student, teacher)
    _log(quiet, f"plan: at most {est['student']} student calls and {est['teacher']} teacher calls "
                f"({est['proposals']} proposals); "
                + (f"at most about ${usd:.2f} at the models file's prices" if usd is not None else
                   "cost is counted as the APIs report it (no price table to estimate from)"))
    warnings = []
    if affordable_proposals(cfg, len(val), len(test)) < 3:
        warnings.append("the budget allows fewer than 3 proposals; the search can hardly improve on the baselines")
        _log(quiet, "warning: " + warnings[-1])

    def score(system, items, what, final=False):
        if not budget.afford(student=len(items), what=what, final=final):
            return None
        rows = ask_and_score(s_cache, items, system, [], params, fmt)
        budget.charge("student", rows)
        return rows

    pool: list[dict] = []
    for name, text in BASELINES.items():
        rows = score(text, val, f"baseline {name!r} on validation")
        if rows is None:
            raise ConfigError(budget.stop_field or "max_student_calls",
                              f"the budget cannot even score the baselines ({budget.stop_reason})")
        right, n = _acc(rows)
        pool.append({"id": f"baseline:{name}", "round": 0, "parent": None, "text": text, "sha": _sha(text),
                     "origin": "baseline", "val": right / n if n else 0.0, "val_correct": right, "val_n": n,
                     "val_rows": {r["id"]: r["correct"] for r in rows}})
        cand_log.write([_public(pool[-1])])
        _log(quiet, f"baseline {name}: validation {right}/{n}")
    best = max(pool, key=lambda c: c["val"])
    teacher_log, stopped, no_improve = [], None, 0
    malformed = Counter()

    for rnd in range(1, cfg.rounds + 1):
        rng = random.Random(f"mathcoach-optimize:{cfg.seed}:{rnd}")
        mb = rng.sample(train, min(cfg.minibatch, len(train)))
        parent = best
        parent_rows = score(parent["text"], mb, f"round {rnd} parent minibatch")
        if parent_rows is None:
            stopped = budget.stop_reason
            break
        p_right, _ = _acc(parent_rows)
        wrong = [r for r in parent_rows if r["correct"] is False]
        errors = Counter(r["error_type"] or "final_answer" for r in wrong)
        history = sorted((c for c in pool if c.get("val") is not None), key=lambda c: -c["val"])[: cfg.top_shown]
        msgs = teacher_messages(history, wrong[: cfg.failures_shown], dict(errors), cfg.candidates,
                                cfg.max_prompt_chars)
        if not budget.afford(teacher=1, what=f"round {rnd} teacher call"):
            stopped = budget.stop_reason
            break
        reply = t_cache.generate([Request(messages=tuple(msgs), max_tokens=cfg.teacher_max_tokens,
                                          temperature=cfg.teacher_temperature, seed=cfg.seed, sample=rnd)])[0]
        budget.charge("teacher", [{"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                                   "cost_usd": reply.cost_usd, "cached": reply.cached}])
        texts, counts = parse_candidates(reply.text, cfg.max_prompt_chars, {normalized(c["text"]) for c in pool})
        malformed.update({k: v for k, v in counts.items() if k != "proposed"})
        malformed["api_error"] += reply.error is not None
        teacher_log.append({"round": rnd, "parent": parent["id"], "prompt": msgs, "prompt_hash": messages_hash(msgs),
                            "reply": reply.text, "error": reply.error, "counts": counts,
                            "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                            "cost_usd": reply.cost_usd, "cached": reply.cached})
        teacher_log_file.write(teacher_log[-1:])
        improved = False
        for k, text in enumerate(texts):
            cand = {"id": f"r{rnd}c{k}", "round": rnd, "parent": parent["id"], "text": text, "sha": _sha(text),
                    "origin": "teacher", "parent_minibatch": p_right, "minibatch_n": len(mb), "val": None}
            mb_rows = score(text, mb, f"round {rnd} candidate {k} minibatch")
            if mb_rows is None:
                stopped = budget.stop_reason
                break
            cand["minibatch"] = _acc(mb_rows)[0]
            if cand["minibatch"] > p_right:  # only a candidate that beats its parent earns a validation run
                val_rows = score(text, val, f"round {rnd} candidate {k} validation")
                if val_rows is None:
                    stopped = budget.stop_reason
                    pool.append(cand)
                    cand_log.write([_public(cand)])
                    break
                right, n = _acc(val_rows)
                cand.update(val=right / n if n else 0.0, val_correct=right, val_n=n,
                            val_rows={r["id"]: r["correct"] for r in val_rows})
                if cand["val"] > best["val"]:
                    best, improved = cand, True
            pool.append(cand)
            cand_log.write([_public(cand)])
            _log(quiet, f"round {rnd} {cand['id']}: minibatch {cand['minibatch']}/{len(mb)} (parent {p_right})"
                        + (f", validation {cand['val_correct']}/{cand['val_n']}" if cand["val"] is not None else ""))
        if stopped:
            break
        no_improve = 0 if improved else no_improve + 1
        if no_improve >= cfg.patience:
            stopped = f"no better validation score for {cfg.patience} rounds"
            break
    stopped = stopped or f"all {cfg.rounds} rounds run"

    # The test split, once: every baseline and the chosen message (the reserve guarantees the budget).
    baselines = [c for c in pool if c["origin"] == "baseline"]
    strongest = max(baselines, key=lambda c: c["val"])
    finals = baselines + ([best] if best["origin"] != "baseline" else [])
    test_rows = {}
    for c in finals:
        test_rows[c["id"]] = score(c["text"], test, f"test of {c['id']}", final=True)
    metrics = {cid: aggregate(rows, 1) for cid, rows in test_rows.items()}
    a = {r["id"]: r["correct"] for r in test_rows[strongest["id"]] if r["correct"] is not None}
    b = {r["id"]: r["correct"] for r in test_rows[best["id"]] if r["correct"] is not None}
    shared = sorted(set(a) & set(b))
    only_base = sum(a[i] and not b[i] for i in shared)
    only_best = sum(b[i] and not a[i] for i in shared)
    best_test = metrics[best["id"]]["overall"]["exact_match"]
    base_test = metrics[strongest["id"]]["overall"]["exact_match"]
    report = {
        "chosen": best["id"], "strongest_baseline": strongest["id"],
        "validation": {c["id"]: c["val"] for c in pool if c.get("val") is not None},
        "test": {cid: m["overall"]["exact_match"] for cid, m in metrics.items()},
        "test_ci95": {cid: m["overall"]["ci95"] for cid, m in metrics.items()},
        "lift_over_best_baseline": best_test - base_test,
        "mcnemar": {"only_baseline_right": only_base, "only_chosen_right": only_best, "p": mcnemar(only_base, only_best),
                    "n": len(shared)},
        "val_minus_test": best["val"] - best_test,
        "per_cell_test": {cid: {cell: m["exact_match"] for cell, m in mm["cells"].items()} for cid, mm in metrics.items()},
    }
    cand_log.close()
    teacher_log_file.close()
    write_outputs(run_dir, cfg, pool, teacher_log, best, report, metrics, test_rows, budget, stopped, malformed,
                  warnings, t0, student, teacher)
    summary = summary_text(cfg, report, pool, budget, stopped, malformed)
    (run_dir / "summary.md").write_text(summary + "\n", encoding="utf-8")
    results = json.loads((run_dir / "results.json").read_text())
    index_run(run_dir, "optimize", results)
    return run_dir, {"summary": summary, "results": results}


def write_outputs(run_dir, cfg, pool, teacher_log, best, report, metrics, test_rows, budget, stopped, malformed,
                  warnings, t0, student, teacher) -> None:
    with atomic_writer(run_dir / "candidates.jsonl") as f:
        for c in pool:
            f.write(json.dumps(_public(c), ensure_ascii=False) + "\n")
    with atomic_writer(run_dir / "teacher_calls.jsonl") as f:
        for t in teacher_log:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    with atomic_writer(run_dir / "samples.jsonl") as f:  # the final test samples, for `mathcoach compare`-style reading
        for cid, rows in test_rows.items():
            for r in rows:
                f.write(json.dumps({**r, "candidate": cid}, ensure_ascii=False) + "\n")
    with atomic_writer(run_dir / "best_system_prompt.txt") as f:
        f.write(best["text"] or "")
    write_json(run_dir / "results.json", {
        "kind": "optimize", "config": dataclasses.asdict(cfg), "versions": versions(), "seed": cfg.seed,
        "student": student.identity, "teacher": teacher.identity,
        "data_sha256": {n: sha256_file(getattr(cfg, n)) for n in ("train", "val", "test")},
        "best_prompt_sha256": _sha(best["text"]), "stopped": stopped, "warnings": warnings,
        "spent": budget.spent, "rejected_proposals": dict(malformed), "report": report,
        "metrics": metrics[best["id"]], "test_metrics": metrics, "wall_s": round(time.time() - t0, 2),
    })
    trajectory_plot(pool, run_dir / "trajectory.png")


def trajectory_plot(pool: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    scored = [c for c in pool if c.get("val") is not None]
    for c in scored:
        if c["origin"] == "baseline":
            ax.axhline(c["val"], ls="--", lw=0.8, color="grey")
            ax.text(0, c["val"], c["id"].split(":")[1], fontsize=7, va="bottom")
    teach = [c for c in scored if c["origin"] == "teacher"]
    ax.scatter([c["round"] for c in teach], [c["val"] for c in teach], s=18, label="candidate (validation)")
    screened = [c for c in pool if c["origin"] == "teacher" and c.get("val") is None]
    ax.scatter([c["round"] for c in screened], [0] * len(screened), marker="x", s=14, color="lightgrey",
               label="screened out on minibatch")
    rounds = sorted({c["round"] for c in pool})
    best, line = 0.0, []
    for r in rounds:
        best = max([best] + [c["val"] for c in scored if c["round"] == r])
        line.append(best)
    ax.step(rounds, line, where="post", color="black", label="best so far")
    ax.set_xlabel("round")
    ax.set_ylabel("validation exact match")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_text(cfg, report, pool, budget, stopped, malformed) -> str:
    def pct(x):
        return f"{100 * x:.1f}%"

    lines = [f"## prompt optimization: {cfg.student} taught by {cfg.teacher}", "",
             "| message | validation | test (95% CI) |", "|---|---:|---|"]
    for cid, t in report["test"].items():
        lo, hi = report["test_ci95"][cid]
        lines.append(f"| {cid} | {pct(report['validation'][cid])} | {pct(t)} ({pct(lo)}-{pct(hi)}) |")
    m = report["mcnemar"]
    lines += ["", f"chosen: {report['chosen']}; strongest baseline (by validation): {report['strongest_baseline']}",
              f"test lift over the strongest baseline: {100 * report['lift_over_best_baseline']:+.1f} pp "
              f"(McNemar p = {m['p']:.3g}, n = {m['n']}); validation minus test: "
              f"{100 * report['val_minus_test']:+.1f} pp",
              f"candidates: {sum(c['origin'] == 'teacher' for c in pool)} proposed and kept, "
              f"{sum(c['origin'] == 'teacher' and c.get('val') is not None for c in pool)} reached validation; "
              f"rejected proposals: {dict(malformed) or 'none'}",
              f"spent: {budget.spent}; stopped: {stopped}"]
    return "\n".join(lines)
