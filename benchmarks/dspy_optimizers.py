"""DSPy COPRO or GEPA on mathcoach endpoints; run by prompt_opt.py with the benchmark venv's Python (dspy).

Example: ``.venv-bench/bin/python benchmarks/dspy_optimizers.py --optimizer gepa --student-url URL
--teacher-url URL --train TR --val V --test T --budget 300``

The program is ``dspy.Predict("question -> answer")``; the metric is numeric equality of the last number in
the answer field with the gold answer (GEPA's version also returns feedback: the right answer and what was
given). COPRO scores candidates on the set it is given, so it gets the validation problems mathcoach selects
on; GEPA gets train and val as mathcoach does, and ``--budget`` metric calls. The test set is scored once for
the unoptimized and the optimized program. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from decimal import Decimal

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: litellm must not fetch its price list


def last_number(text: str) -> str | None:
    nums = re.findall(r"-?\d[\d,]*(?:\.\d+)?", text or "")
    return nums[-1].replace(",", "") if nums else None


def metric(example, pred, trace=None) -> bool:
    got = last_number(getattr(pred, "answer", ""))
    try:
        return got is not None and Decimal(got) == Decimal(example.answer)
    except ArithmeticError:
        return False


def feedback_metric(gold, pred, trace=None, pred_name=None, pred_trace=None):
    import dspy

    ok = metric(gold, pred)
    said = last_number(getattr(pred, "answer", ""))
    note = "Correct." if ok else (f"Wrong: the answer is {gold.answer}, the response gave {said}." if said else
                                  f"No number found in the answer field; the answer is {gold.answer}.")
    return dspy.Prediction(score=float(ok), feedback=note)


def load(path: str, dspy) -> list:
    rows = [json.loads(x) for x in open(path)]
    return [dspy.Example(question=r["meta"]["question"], answer=r["meta"]["answer"]).with_inputs("question")
            for r in rows]


def main() -> int:
    import dspy

    ap = argparse.ArgumentParser()
    ap.add_argument("--optimizer", choices=["copro", "gepa"], default="copro")
    ap.add_argument("--train", default=None)
    ap.add_argument("--budget", type=int, default=300, help="GEPA: metric calls (= student calls) for the search")
    ap.add_argument("--student-url", required=True)
    ap.add_argument("--teacher-url", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--breadth", type=int, default=4)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=16)
    args = ap.parse_args()
    student = dspy.LM("openai/bench", api_base=args.student_url, api_key="none", max_tokens=args.max_tokens,
                      temperature=0.0, cache=False)
    teacher = dspy.LM("openai/bench", api_base=args.teacher_url, api_key="none", max_tokens=512,
                      temperature=0.8, cache=False)
    dspy.configure(lm=student)
    val, test = load(args.val, dspy), load(args.test, dspy)
    program = dspy.Predict("question -> answer")
    # a reply DSPy's adapter cannot parse scores 0 instead of aborting the evaluation (small models do this a lot)
    evaluate = dspy.Evaluate(devset=test, metric=metric, num_threads=args.threads, display_progress=False,
                             max_errors=10**6)

    def score(p) -> float:
        r = evaluate(p)
        return float(getattr(r, "score", r)) / 100.0

    t0 = time.perf_counter()
    base = score(program)
    name = f"dspy.{args.optimizer.upper()}"
    t1 = time.perf_counter()
    try:
        if args.optimizer == "copro":
            copro = dspy.COPRO(prompt_model=teacher, metric=metric, breadth=args.breadth, depth=args.depth,
                               init_temperature=1.0)
            optimized = copro.compile(program, trainset=val, eval_kwargs={"num_threads": args.threads,
                                                                          "max_errors": 10**6,
                                                                          "display_progress": False})
        else:
            gepa = dspy.GEPA(metric=feedback_metric, reflection_lm=teacher, max_metric_calls=args.budget,
                             num_threads=args.threads)
            optimized = gepa.compile(program, trainset=load(args.train, dspy), valset=val)
    except Exception as e:  # noqa: BLE001 -- DSPy aborts when the teacher's reply does not parse; report it
        print(json.dumps({"optimizer": name, "breadth": args.breadth, "depth": args.depth, "test_base": base,
                          "test_optimized": base, "lift": 0.0, "aborted": f"{type(e).__name__}: {str(e)[:300]}",
                          "wall_s": round(time.perf_counter() - t0, 1)}))
        return 0
    compile_s = time.perf_counter() - t1
    opt = score(optimized)
    instr = optimized.signature.instructions
    print(json.dumps({"optimizer": name, "breadth": args.breadth, "depth": args.depth, "test_base": base,
                      "test_optimized": opt, "lift": opt - base, "compile_s": round(compile_s, 1),
                      "wall_s": round(time.perf_counter() - t0, 1), "instructions": instr}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
