"""Evaluation throughput: mathcoach eval vs lm-evaluation-harness on one `mathcoach serve` endpoint and
in-process on the same local model, and the hf backend's batched generation vs one request at a time.

Example: ``.venv/bin/python benchmarks/eval_throughput.py --model smollm2-135m --problems 64 --max-tokens 48``

Part 1 starts ``mathcoach serve`` once, then times (wall clock, CLI start-up included, cold caches) the same
problems through ``mathcoach eval --model openai:...`` and through ``lm_eval --model local-chat-completions``
with a task file generated here for the same JSONL, at the same concurrency and generation length. lm_eval
must be importable from ``--lm-eval-python`` (a separate venv keeps its dependencies away from mathcoach's).
Part 2 times the same problems in-process: ``mathcoach eval --model smollm2-135m`` (hf backend) against
``lm_eval --model hf`` on the same converted weights, same batch size, generation length and threads.
Part 3 loads the model in-process and compares tokens/s of batch 16 against batch 1 on the same requests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_server(model: str, batch: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "mathcoach", "serve", "--model", model, "--port", "0",
                             "--served-name", "bench", "--batch-size", str(batch)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if " on " not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, line.split(" on ")[1].strip()


def lm_eval_task(data: Path, out_dir: Path, max_tokens: int) -> str:
    rows = [json.loads(x) for x in data.read_text().splitlines()]
    flat = out_dir / "flat.jsonl"
    flat.write_text("".join(json.dumps({"question": r["meta"]["question"], "answer": r["meta"]["answer"]}) + "\n"
                            for r in rows))
    (out_dir / "mathcoach_bench.yaml").write_text(f"""task: mathcoach_bench
dataset_path: json
dataset_kwargs:
  data_files:
    test: {flat}
test_split: test
output_type: generate_until
doc_to_text: "{{{{question}}}}"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: []
  max_gen_toks: {max_tokens}
  do_sample: false
metric_list:
  - metric: exact_match
""")
    return "mathcoach_bench"


def part_http(args, data: Path, tmp: Path) -> dict:
    proc, url = start_server(args.model, args.server_batch)
    env = dict(os.environ, MATHCOACH_HOME=str(tmp / "home"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mathcoach", "eval", "--model", f"openai:bench@{url}", "--data",
                        str(data), "--max-tokens", str(args.max_tokens), "--concurrency", str(args.concurrency),
                        "--output", str(tmp / "mc_run"), "--no-progress"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        mc = time.perf_counter() - t0
        task = lm_eval_task(data, tmp, args.max_tokens)
        t0 = time.perf_counter()
        res = subprocess.run([args.lm_eval_python, "-m", "lm_eval", "--model", "local-chat-completions",
                              "--model_args", f"model=bench,base_url={url}/chat/completions,num_concurrent="
                              f"{args.concurrency},max_retries=3,tokenized_requests=False",
                              "--tasks", task, "--include_path", str(tmp), "--apply_chat_template",
                              "--batch_size", "1", "--output_path", str(tmp / "lm_out")],
                             env=env, capture_output=True, text=True)
        lm = time.perf_counter() - t0
        if res.returncode != 0:
            raise SystemExit("lm_eval failed:\n" + res.stderr[-3000:])
    finally:
        proc.terminate()
        proc.wait()
    n = len(data.read_text().splitlines())
    return {"problems": n, "mathcoach_s": round(mc, 2), "lm_eval_s": round(lm, 2),
            "mathcoach_pps": round(n / mc, 3), "lm_eval_pps": round(n / lm, 3), "ratio": round(lm / mc, 2)}


def part_inprocess(args, data: Path, tmp: Path, batch: int) -> dict:
    from mathcoach.models import parse_model

    _, kwargs = parse_model(args.model)  # the converted safetensors directory both load (converted before timing)
    env = dict(os.environ, MATHCOACH_HOME=str(tmp / f"home-inproc{batch}"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mathcoach", "eval", "--model", f"hf:{kwargs['path']}", "--data", str(data),
                    "--max-tokens", str(args.max_tokens), "--batch-size", str(batch),
                    "--output", str(tmp / f"mc_inproc{batch}"), "--no-progress"], check=True, env=env, stdout=subprocess.DEVNULL)
    mc = time.perf_counter() - t0
    task = lm_eval_task(data, tmp, args.max_tokens)
    t0 = time.perf_counter()
    res = subprocess.run([args.lm_eval_python, "-m", "lm_eval", "--model", "hf", "--model_args",
                          f"pretrained={kwargs['path']},dtype=float32", "--device", "cpu", "--tasks", task,
                          "--include_path", str(tmp), "--apply_chat_template", "--batch_size", str(batch),
                          "--output_path", str(tmp / f"lm_inproc{batch}")], env=env, capture_output=True, text=True)
    lm = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit("lm_eval (hf) failed:\n" + res.stderr[-3000:])
    n = len(data.read_text().splitlines())
    tokens = json.loads((tmp / f"mc_inproc{batch}" / "results.json").read_text())["tokens"]["completion"]
    return {"batch_size": batch, "problems": n, "mathcoach_s": round(mc, 2), "lm_eval_s": round(lm, 2),
            "mathcoach_pps": round(n / mc, 3), "lm_eval_pps": round(n / lm, 3), "ratio": round(lm / mc, 2),
            "mathcoach_completion_tokens": tokens}


def part_batching(args, data: Path) -> dict:
    from mathcoach.models import load_model
    from mathcoach.models.base import Request

    rows = [json.loads(x) for x in data.read_text().splitlines()][: args.batch_problems]
    reqs = [Request(messages=({"role": "user", "content": r["meta"]["question"]},), max_tokens=args.max_tokens)
            for r in rows]
    out = {}
    for bs in (1, 16):
        backend = load_model(args.model, batch_size=bs)
        t0 = time.perf_counter()
        done = backend.generate(reqs)
        secs = time.perf_counter() - t0
        out[f"batch{bs}_tok_per_s"] = round(sum(c.completion_tokens for c in done) / secs, 1)
    out["ratio"] = round(out["batch16_tok_per_s"] / out["batch1_tok_per_s"], 2)
    out["requests"] = len(reqs)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--problems", type=int, default=64, help="4x4-cell-free 2x2 test problems for part 1")
    ap.add_argument("--batch-problems", type=int, default=32, help="requests for part 2")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--server-batch", type=int, default=16)
    ap.add_argument("--lm-eval-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-inprocess", action="store_true")
    ap.add_argument("--inprocess-batches", default="16", help="batch sizes for part 2, both tools alike (e.g. 16,64)")
    ap.add_argument("--skip-batching", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        data = tmp / "problems.jsonl"
        subprocess.run([sys.executable, "-m", "mathcoach", "data", "--digits", "2x2,3x3", "--per-cell",
                        str(args.problems // 2), "--split", "test", "-o", str(data)], check=True, stdout=subprocess.DEVNULL)
        out = {"date": time.strftime("%Y-%m-%d"), "model": args.model, "max_tokens": args.max_tokens,
               "concurrency": args.concurrency}
        if not args.skip_http:
            out["http"] = part_http(args, data, tmp)
            print(json.dumps(out["http"]), file=sys.stderr)
        if not args.skip_inprocess:
            out["inprocess"] = []
            for batch in (int(b) for b in args.inprocess_batches.split(",")):
                out["inprocess"].append(part_inprocess(args, data, tmp, batch))
                print(json.dumps(out["inprocess"][-1]), file=sys.stderr)
        if not args.skip_batching:
            out["batching"] = part_batching(args, data)
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
