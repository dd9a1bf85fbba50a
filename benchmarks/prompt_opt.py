"""Prompt optimization side by side: mathcoach optimize vs DSPy COPRO and GEPA, same student, teacher, data
and student-call budget, all through `mathcoach serve` endpoints.

Example: ``.venv/bin/python benchmarks/prompt_opt.py --student-calls 600``

Two servers run the default model: one answers as the student, one as the teacher, so each server's
``/v1/stats`` counts exactly one role's calls for either optimizer. mathcoach gets ``--max-student-calls``;
COPRO's breadth and depth are chosen so its student calls land near the same number, and the calls each
actually made are reported; GEPA gets the budget as metric calls. Lift is held-out test accuracy of the chosen prompt minus the strongest
baseline's (mathcoach) or minus the unoptimized program's (DSPy). DSPy runs from ``--dspy-python``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from eval_throughput import start_server  # noqa: E402


def stats(url: str) -> dict:
    return json.loads(urllib.request.urlopen(f"{url}/stats", timeout=30).read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--digits", default="1x1,1x2,2x1,2x2")
    ap.add_argument("--val", type=int, default=10, help="validation problems per cell")
    ap.add_argument("--test", type=int, default=25, help="test problems per cell")
    ap.add_argument("--student-calls", type=int, default=600)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--dspy-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        files = {}
        for split, n in (("train", 30), ("val", args.val), ("test", args.test)):
            files[split] = tmp / f"{split}.jsonl"
            subprocess.run([sys.executable, "-m", "mathcoach", "data", "--digits", args.digits, "--per-cell", str(n),
                            "--split", split, "-o", str(files[split])], check=True, stdout=subprocess.DEVNULL)
        n_val = len(files["val"].read_text().splitlines())
        n_test = len(files["test"].read_text().splitlines())
        s_proc, s_url = start_server(args.model, 16)
        t_proc, t_url = start_server(args.model, 16)
        env = dict(os.environ, MATHCOACH_HOME=str(tmp / "home"))
        out = {"date": time.strftime("%Y-%m-%d"), "model": args.model, "digits": args.digits, "val": n_val,
               "test": n_test, "student_call_budget": args.student_calls}
        try:
            s0, q0 = stats(s_url), stats(t_url)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mathcoach", "optimize", "--student", f"openai:bench@{s_url}",
                            "--teacher", f"openai:bench@{t_url}", "--train", str(files["train"]), "--val",
                            str(files["val"]), "--test", str(files["test"]), "--max-student-calls",
                            str(args.student_calls), "--rounds", "10", "--candidates", "4", "--minibatch", "8",
                            "--student-max-tokens", str(args.max_tokens), "--teacher-max-tokens", "512",
                            "--concurrency", "16", "--output", str(tmp / "mc")], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            res = json.loads((tmp / "mc" / "results.json").read_text())
            s1, q1 = stats(s_url), stats(t_url)
            rep = res["report"]
            out["mathcoach"] = {"lift": rep["lift_over_best_baseline"], "chosen": rep["chosen"],
                                "strongest_baseline": rep["strongest_baseline"], "test": rep["test"],
                                "student_calls": s1["completions"] - s0["completions"],
                                "teacher_calls": q1["completions"] - q0["completions"], "wall_s": round(wall, 1),
                                "stopped": res["stopped"], "rejected": res["rejected_proposals"]}
            print(json.dumps(out["mathcoach"]), file=sys.stderr)
            out["dspy"] = {}
            for optimizer in ("copro", "gepa"):
                s1, q1 = stats(s_url), stats(t_url)
                # COPRO scores `breadth` candidates per depth on the set it is given; GEPA takes a call budget.
                depth = 2
                breadth = max(2, (args.student_calls - 2 * n_test) // (depth * n_val))
                t0 = time.perf_counter()
                r = subprocess.run([args.dspy_python, str(ROOT / "benchmarks" / "dspy_optimizers.py"), "--optimizer",
                                    optimizer, "--student-url", s_url, "--teacher-url", t_url, "--train",
                                    str(files["train"]), "--val", str(files["val"]), "--test", str(files["test"]),
                                    "--breadth", str(breadth), "--depth", str(depth), "--budget",
                                    str(args.student_calls - 2 * n_test), "--max-tokens", str(args.max_tokens)],
                                   capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
                if r.returncode != 0:
                    out["dspy"][optimizer] = {"error": r.stderr[-2000:]}
                    continue
                s2, q2 = stats(s_url), stats(t_url)
                d = json.loads(r.stdout.strip().splitlines()[-1])
                d.update(student_calls=s2["completions"] - s1["completions"],
                         teacher_calls=q2["completions"] - q1["completions"], wall_s=round(time.perf_counter() - t0, 1))
                out["dspy"][optimizer] = d
                print(json.dumps(d)[:500], file=sys.stderr)
        finally:
            for p in (s_proc, t_proc):
                p.terminate()
                p.wait()
    lifts = [d["lift"] for d in out.get("dspy", {}).values() if "lift" in d]
    if lifts:
        best = max(lifts)
        out["best_dspy_lift"] = best
        out["lift_ratio"] = (out["mathcoach"]["lift"] / best) if best > 0 else None  # undefined when DSPy gains nothing
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
