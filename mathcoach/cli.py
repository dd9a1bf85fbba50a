"""The ``mathcoach`` command: a thin layer that builds a config and calls one function per subcommand.

Example: ``mathcoach data --op mul --digits 1-4 --per-cell 500 --split test --format long -o test.jsonl``

Subcommand modules are imported only when that subcommand runs, so ``mathcoach --help`` stays instant.
Bad input ends with one line on stderr and exit status 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mathcoach import __version__
from mathcoach.errors import UserError

EXIT_USAGE = 2

EXAMPLES = """examples:
  mathcoach data --digits 2x2 --per-cell 100 --split test --format columns -o test.jsonl
  mathcoach eval --model smollm2-135m --data test.jsonl -o runs/eval/base
  mathcoach train --config configs/train/smollm2_cpu_2x2.toml --train train.jsonl --val val.jsonl -o runs/model
  mathcoach eval --model runs/model --data test.jsonl -o runs/eval/after
  mathcoach compare runs/eval/base runs/eval/after
  mathcoach serve --model runs/model --port 8000
  mathcoach run configs/experiments/quickstart.toml --dry-run

Run 'mathcoach COMMAND --help' for a command's settings."""


class UsageError(UserError):
    """A command line argparse cannot take; main() prints it as one line and exits 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of argparse's usage dump
        raise UsageError(f"{message} (see {self.prog} --help)")


def _data(ns: argparse.Namespace) -> int:
    from mathcoach.config import resolve
    from mathcoach.problems.build import DataConfig, build_dataset, summary_table

    cfg = resolve(DataConfig, ns)
    if cfg.source != "generated":
        from mathcoach.tools.worddata import build_word_dataset, word_summary

        print(word_summary(build_word_dataset(cfg)))
        return 0
    summary = build_dataset(cfg)
    print(summary_table(summary))
    for c in summary["cells"]:  # a short cell is worth a line where a person looks, not only a table note
        if c["rows"] < c["requested"]:
            print(f"mathcoach: warning: cell {c['cell']} has {c['rows']} of the {c['requested']} problems asked for "
                  f"({c['note']})", file=sys.stderr)
    return 0


def _overlap(ns: argparse.Namespace) -> int:
    from mathcoach.problems.overlap import check_overlap, overlap_markdown

    ngram_ns = tuple(sorted(set(ns.n)))
    if any(n < 1 for n in ngram_ns):
        raise UsageError("--n must be 1 or more")
    reports = check_overlap(ns.train, ns.test, ngram_ns)
    print(overlap_markdown(ns.train, reports, ngram_ns))
    if ns.hits:
        from mathcoach.io import write_json

        write_json(ns.hits, {rep.path: rep.hit_ids for rep in reports})
    return 1 if any(rep.hits for rep in reports) else 0


def _eval(ns: argparse.Namespace) -> int:
    from mathcoach.config import resolve
    from mathcoach.eval.config import EvalConfig
    from mathcoach.eval.run import run_eval

    _, out = run_eval(resolve(EvalConfig, ns))
    print(out["summary"])
    if out["all_failed"]:  # nothing was scored: say why on stderr rather than leave a table of n/a
        print(f"mathcoach: error: every call failed; the commonest error: {out['commonest_error']}", file=sys.stderr)
        return 1
    return 0


def _optimize(ns: argparse.Namespace) -> int:
    from mathcoach.config import resolve
    from mathcoach.optimize.config import OptimizeConfig
    from mathcoach.optimize.search import run_optimize

    run_dir, out = run_optimize(resolve(OptimizeConfig, ns))
    print(out["summary"])
    print(f"\nbest system prompt: {run_dir / 'best_system_prompt.txt'}  (use: mathcoach eval --system @FILE)")
    return 0


def _train(ns: argparse.Namespace) -> int:
    from mathcoach.config import resolve
    from mathcoach.train.config import TrainConfig
    from mathcoach.train.run import run_train

    out, res = run_train(resolve(TrainConfig, ns))
    best = res["best_val_exact_match"]
    print(f"best validation exact match {'n/a' if best is None else f'{100 * best:.1f}%'} at step {res['best_step']} "
          f"of {res['steps']} ({res['train_s'] / 60:.1f} min); model: {out}")
    print(f"next: mathcoach eval --model {out} --data TEST.jsonl   (scored in {res['config']['format']}, its trained format)")
    return 0


def _merge(ns: argparse.Namespace) -> int:
    from mathcoach.train.merge import merge_adapter

    print(f"merged model: {merge_adapter(ns.adapter, ns.output)}")
    return 0


def _mistakes(ns: argparse.Namespace) -> int:
    from mathcoach.mistakes import run

    if ns.step == "collect":
        c = run.run_collect(ns.runs, ns.output, ns.exclude)
        print(f"{c['wrong']} mistakes from {c['runs']} runs ({c['samples']} samples: {c['right']} right, "
              f"{c['unscored_skipped']} unscored and skipped"
              + (f", {c['excluded']} on excluded problems" if ns.exclude else "") + f") -> {ns.output}")
    elif ns.step == "correct":
        c = run.run_correct(ns.mistakes, ns.corrector, ns.output, ns.max_calls, ns.max_usd, ns.max_tokens,
                            ns.models_file)
        if ns.corrector == "exact":
            print(f"exact corrector: {c['attempted']} attempted, {c['corrected']} corrected, {c['kept']} kept by the "
                  f"answer filter, {c['no_checker']} without a step checker -> {ns.output}")
        else:
            agree = (f"; its step agrees with the checker's in {c['step_agrees']} of {c['step_checked']}"
                     if c["step_checked"] else "")
            print(f"{ns.corrector}: {c['attempted']} attempted, {c['parsed']} parsed ({c['malformed']} malformed, "
                  f"{c['api_errors']} API errors), {c['kept']} kept by the answer filter{agree}; {c['calls_made']} "
                  f"calls made, ${c['cost_usd']:.4f}" + (f"; stopped: {c['stopped']}" if c["stopped"] else "")
                  + f" -> {ns.output}")
    else:
        c = run.run_build(ns.corrections, ns.cot, ns.output, ns.fields, ns.match, ns.seed, ns.tokenizer)
        tokens = f", {c['tokens']} tokens (CoT-only arm {c['tokens_cot_only_arm']})" if "tokens" in c else ""
        print(f"{c['rows']} rows: {c['correction_rows']} corrections + {c['cot_rows_kept']} of {c['cot_rows_in']} CoT "
              f"rows (match {c['match']}{tokens}) -> {ns.output}")
    return 0


def _serve(ns: argparse.Namespace) -> int:
    from mathcoach.modeldir import read_record
    from mathcoach.models import load_model, model_dir_of
    from mathcoach.serve import make_server

    if not 0 <= ns.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {ns.port}")
    if ns.batch_size < 1:
        raise UsageError(f"--batch-size must be 1 or more, got {ns.batch_size}")
    if ns.adapter and not Path(ns.adapter).is_dir():
        raise UsageError(f"--adapter: directory {ns.adapter} does not exist")
    record = read_record(ns.adapter) or read_record(model_dir_of(ns.model))
    backend = load_model(ns.model, adapter=ns.adapter, models_file=ns.models_file, batch_size=ns.batch_size)
    system = record.system_prompt if record else None
    server = make_server(backend, ns.served_name or ns.model, ns.host, ns.port, max_batch=ns.batch_size,
                         system=system, default_max_tokens=(record.max_new_tokens if record else None) or 512)
    host, port = server.server_address[:2]
    print(f"serving {ns.served_name or ns.model} on http://{host}:{port}/v1", flush=True)
    if record is not None:
        print(f"trained format {record.format}" + ("; its training system message is added to requests that "
                                                   "have none" if system else ""), file=sys.stderr, flush=True)
    import signal

    def _stop(signum, frame):  # SIGTERM stops as cleanly as Ctrl-C (background jobs may have SIGINT ignored)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _runs(ns: argparse.Namespace) -> int:
    import time

    from mathcoach.runs import list_runs

    print("| created | kind | model | data | n | exact match | unscored | path |\n|---|---|---|---|---:|---:|---:|---|")
    for r in list_runs(ns.limit):
        em = "" if r["exact_match"] is None else f"{100 * r['exact_match']:.1f}%"
        print(f"| {time.strftime('%Y-%m-%d %H:%M', time.localtime(r['created']))} | {r['kind']} | {r['model']} "
              f"| {r['data']} | {r['items']} | {em} | {r['unscored']} | {r['path']} |")
    return 0


def _run(ns: argparse.Namespace) -> int:
    from mathcoach.pipeline.experiment import load_experiment
    from mathcoach.pipeline.run import run_experiment

    exp = load_experiment(ns.experiment, ns.dir, ns.set)
    out = run_experiment(exp, only=ns.only, start=ns.start, dry_run=ns.dry_run, quiet=ns.quiet)
    print(out["plan"])
    if not ns.dry_run:
        print("\n" + out["summary"])
    return 0


def _report(ns: argparse.Namespace) -> int:
    from mathcoach.report.collect import collect
    from mathcoach.report.html import write_report

    data = collect(ns.dirs)
    write_report(data, ns.output, ns.json, ns.csv)
    kinds = {k: sum(r["kind"] == k for r in data["runs"]) for k in ("eval", "train", "optimize")}
    print(f"report of {kinds['eval']} eval, {kinds['train']} training and {kinds['optimize']} optimizer runs -> "
          f"{ns.output}")
    return 0


def _compare(ns: argparse.Namespace) -> int:
    from mathcoach.eval.report import compare_markdown, compare_runs

    print(compare_markdown(compare_runs(ns.run_a, ns.run_b)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from mathcoach.config import add_arguments
    from mathcoach.eval.config import EvalConfig
    from mathcoach.optimize.config import OptimizeConfig
    from mathcoach.problems.build import DataConfig
    from mathcoach.train.config import TrainConfig

    parser = _Parser(prog="mathcoach", description="Teach language models math and prove the gain.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mathcoach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("data", help="generate a verified arithmetic dataset (JSONL chat rows)",
                       description="Generate a verified arithmetic dataset as JSONL chat rows.")
    add_arguments(p, DataConfig)
    p.set_defaults(func=_data)

    p = sub.add_parser("overlap", help="check test files for contamination by a training file",
                       description="Exact, operand-pair and word n-gram overlap between TRAIN and each TEST file; "
                                   "exit 1 when any test item overlaps.")
    p.add_argument("train", metavar="TRAIN", help="training JSONL (mathcoach rows, GSM8K or SVAMP shape)")
    p.add_argument("test", metavar="TEST", nargs="+", help="one or more test JSONL files")
    p.add_argument("--n", type=int, nargs="+", default=[13, 30], metavar="N",
                   help="word n-gram sizes (default: 13 30)")
    p.add_argument("--hits", metavar="FILE", default=None,
                   help="also write the ids of every contaminated item, per test file, as JSON (default: none)")
    p.set_defaults(func=_overlap)

    p = sub.add_parser("eval", help="evaluate a model on a problem file; writes a run directory",
                       description="Ask a model every problem, score every sample, write a run directory.")
    add_arguments(p, EvalConfig)
    p.set_defaults(func=_eval)

    p = sub.add_parser("optimize", help="let a teacher model write and refine the student's system message",
                       description="Teacher-driven system-message optimization with budgets; test scored once at the end.")
    add_arguments(p, OptimizeConfig)
    p.set_defaults(func=_optimize)

    p = sub.add_parser("train", help="fine-tune a model (lora, qlora, full), train a specialist from scratch, or "
                                     "learn from its own samples (grpo, rft)",
                       description="Supervised fine-tuning, or GRPO and rejection sampling rewarded by the answer "
                                   "checker, on TRL with generation-based validation; writes a model directory that "
                                   "eval and serve take as it is.")
    add_arguments(p, TrainConfig)
    p.set_defaults(func=_train)

    p = sub.add_parser("merge", help="fold a LoRA adapter into its base model",
                       description="Merge a LoRA output directory into its base; writes an ordinary model directory.")
    p.add_argument("adapter", metavar="ADAPTER_DIR", help="output directory of mathcoach train --method lora")
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="directory for the merged model (required)")
    p.set_defaults(func=_merge)

    p = sub.add_parser("mistakes", help="learning from mistakes: collect wrong answers, correct them, build rows",
                       description="LeMa in three steps: collect a model's wrong, scored answers from eval runs; "
                                   "correct them (exactly, with the step checker); build training rows mixed with "
                                   "chain-of-thought rows.")
    steps = p.add_subparsers(dest="step", metavar="STEP", parser_class=_Parser, required=True)
    q = steps.add_parser("collect", help="wrong, scored answers of training-split eval runs",
                         description="Gather the wrong, scored samples of eval run directories (training split only).")
    q.add_argument("runs", metavar="RUN_DIR", nargs="+", help="eval run directories")
    q.add_argument("--exclude", action="append", default=[], metavar="FILE",
                   help="JSONL rows whose problems are not taken, e.g. an earlier round's pool or training rows, so "
                        "a later round learns from fresh problems only (repeatable; default: none)")
    q.add_argument("--output", "-o", required=True, metavar="FILE", help="mistakes JSONL to write (required)")
    q = steps.add_parser("correct", help="name the wrong step, explain it, redo the solution from it",
                         description="Correct each mistake; keep a correction only if its final answer is right.")
    q.add_argument("mistakes", metavar="MISTAKES", help="JSONL from mathcoach mistakes collect")
    q.add_argument("--corrector", default="exact", metavar="NAME",
                   help="exact (the step checker and trace builder), or any model name: openrouter:MODEL, "
                        "openai:MODEL@URL, a model directory (default: exact)")
    q.add_argument("--max-calls", type=int, metavar="N", help="most teacher calls (default: none)")
    q.add_argument("--max-usd", type=float, metavar="USD", help="stop before spending more (default: none)")
    q.add_argument("--max-tokens", type=int, default=512, metavar="N", help="tokens per teacher reply (default: 512)")
    q.add_argument("--models-file", metavar="FILE", help="TOML with [models.NAME] settings (default: none)")
    q.add_argument("--output", "-o", required=True, metavar="FILE", help="corrections JSONL to write (required)")
    q = steps.add_parser("build", help="LeMa training rows, mixed with CoT rows at matched size",
                         description="Write LeMa training rows (loss on the output) mixed with CoT rows.")
    q.add_argument("corrections", metavar="CORRECTIONS", help="JSONL from mathcoach mistakes correct")
    q.add_argument("--cot", metavar="FILE", help="ordinary training rows: the CoT-only arm (default: none)")
    q.add_argument("--fields", default="step,explanation,solution", metavar="NAMES",
                   help="output fields, for the ablation (default: step,explanation,solution)")
    q.add_argument("--match", default="tokens", metavar="HOW",
                   help="none | rows | tokens: trim the CoT rows to the CoT-only arm's size (default: tokens)")
    q.add_argument("--tokenizer", default="smollm2-135m", metavar="MODEL",
                   help="model whose tokenizer counts tokens for --match tokens (default: smollm2-135m)")
    q.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the trimming and mixing (default: 0)")
    q.add_argument("--output", "-o", required=True, metavar="FILE", help="training JSONL to write (required)")
    p.set_defaults(func=_mistakes)

    p = sub.add_parser("serve", help="serve a local model over an OpenAI-compatible API on loopback",
                       description="OpenAI-compatible /v1/chat/completions and /v1/models for a local model; "
                                   "concurrent requests are batched into one generate call.")
    p.add_argument("--model", required=True, metavar="MODEL", help="smollm2-135m or a model directory (required)")
    p.add_argument("--adapter", metavar="DIR", help="PEFT adapter directory on top of the model (default: none)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDR", help="bind address (default: 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8000, metavar="PORT", help="port; 0 picks a free one (default: 8000)")
    p.add_argument("--batch-size", type=int, default=16, metavar="N",
                   help="most requests batched into one generate call (default: 16)")
    p.add_argument("--served-name", metavar="NAME", help="model id reported by /v1/models (default: --model)")
    p.add_argument("--models-file", metavar="FILE", help="TOML with [models.NAME] settings (default: none)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("runs", help="list recent runs from the run index",
                       description="List recent eval, optimize and train runs from the run index "
                                   "($MATHCOACH_HOME/runs.sqlite), newest first.")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="how many runs (default: 20)")
    p.set_defaults(func=_runs)

    p = sub.add_parser("compare", help="compare two runs per cell with a paired McNemar test",
                       description="Exact match of two eval run directories per cell, on the problems both scored "
                                   "(first sample), with McNemar's paired test.")
    p.add_argument("run_a", metavar="RUN_A", help="the first eval run directory (A)")
    p.add_argument("run_b", metavar="RUN_B", help="the second eval run directory (B)")
    p.set_defaults(func=_compare)

    p = sub.add_parser("run", help="run an experiment file's stages in order, skipping finished ones",
                       description="Validate EXPERIMENT.toml whole, then run its stages (data, eval, train, optimize, "
                                   "overlap, compare) in file order under one directory; a stage that already ran "
                                   "with the same inputs is skipped, a changed one re-runs with everything after it "
                                   "that reads it.")
    p.add_argument("experiment", metavar="EXPERIMENT", help="the experiment TOML (configs/experiments/*.toml)")
    p.add_argument("--dir", metavar="DIR", default=None,
                   help="experiment directory (default: the file's [experiment] directory, else "
                        "runs/experiments/<name>)")
    p.add_argument("--dry-run", action="store_true", help="print the plan with estimated calls, tokens and dollars; "
                   "run nothing (default: off)")
    p.add_argument("--only", metavar="STAGE", default=None, help="run just this stage (default: all)")
    p.add_argument("--from", dest="start", metavar="STAGE", default=None,
                   help="run this stage and every one after it (default: from the first)")
    p.add_argument("--quiet", action="store_true", help="no progress lines or bars, for CI (default: off)")
    p.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="override one stage setting, VALUE as TOML (3, true, \"2x2\"); repeatable (default: none)")
    p.set_defaults(func=_run)

    p = sub.add_parser("report", help="one self-contained HTML report of run directories",
                       description="Read eval, training and optimizer runs (or directories of them, an experiment) "
                                   "and write one HTML file that opens offline: leaderboard, heatmaps, curves, "
                                   "samples with filters, two runs side by side, costs, versions.")
    p.add_argument("dirs", metavar="DIR", nargs="+", help="run directories, or directories that hold runs")
    p.add_argument("-o", "--output", metavar="FILE", default="report.html", help="the HTML file (default: report.html)")
    p.add_argument("--json", metavar="FILE", default=None, help="also write the report's data as JSON (default: none)")
    p.add_argument("--csv", metavar="FILE", default=None, help="also write every sample as CSV (default: none)")
    p.set_defaults(func=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. Mistakes a person can fix (every ``UserError``) end with one line and exit status 2;
    anything else is a bug in mathcoach and keeps its traceback."""
    try:
        parser = build_parser()
        ns = parser.parse_args(argv)
        if not getattr(ns, "func", None):
            parser.print_help()
            return EXIT_USAGE
        return ns.func(ns)
    except UserError as e:  # one prefix for every mistake, whichever subcommand found it
        print(f"mathcoach: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("mathcoach: interrupted; no partial output was written", file=sys.stderr)
        return 130
    return EXIT_USAGE
