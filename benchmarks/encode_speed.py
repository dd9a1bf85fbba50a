"""Encoding speed of training rows: milliseconds a row for ``train.data.encode_rows``, the chat-template rendering
and tokenising every SFT run does before its first step.

Example: ``.venv/bin/python benchmarks/encode_speed.py runs/mul/model/scratch-init runs/mul/train.jsonl --rows 500``

Why: a from-scratch specialist's template writes each question digit as a place token in a Jinja macro, and on a
2-core CPU without bf16 the 45,600 rows of mathcoach-mul took ~16 minutes to encode before training began
(benchmarks/RESULTS.md, 2026-12-07). Prints one JSON object: ms a row, rows, and a sha256 of the encoded ids and
masks, so that two versions of the code can be checked to encode the same rows identically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tokenizer", help="a model directory whose tokenizer and chat template encode the rows")
    ap.add_argument("train", help="a JSONL file of chat rows (mathcoach data)")
    ap.add_argument("--rows", type=int, default=500, help="rows timed, from the file's start")
    ap.add_argument("--max-length", type=int, default=1280)
    args = ap.parse_args()
    from transformers import AutoTokenizer

    from mathcoach.train.data import encode_rows

    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    with open(args.train) as f:
        rows = [json.loads(line) for _, line in zip(range(args.rows), f)]
    encode_rows(tok, rows[:10], None, args.max_length)  # Jinja compiles the template on the first render
    t0 = time.perf_counter()
    enc = encode_rows(tok, rows, None, args.max_length)
    seconds = time.perf_counter() - t0
    digest = hashlib.sha256(json.dumps([[e["input_ids"], e["completion_mask"]] for e in enc]).encode()).hexdigest()
    print(json.dumps({"rows": len(rows), "ms_per_row": round(1000 * seconds / len(rows), 2),
                      "encoded_sha256": digest}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
