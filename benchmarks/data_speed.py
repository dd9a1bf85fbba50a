"""Data generation speed: verified rows per second per format, one process and both cores.

Example: ``.venv/bin/python benchmarks/data_speed.py --rows 200000 --million``

Each figure is the whole ``mathcoach data`` path (draw problems, build the trace, re-check it with the step
checker, serialise, write the file), timed end to end, so it is what a user waits for. The step checker's
own cost is reported apart (``checker_us_per_row``), from the same rows, as the difference between a
verified and an unverified run. Results are printed as a markdown table and written to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mathcoach import __version__
from mathcoach.problems.build import DataConfig, build_dataset


def timed(fmt: str, rows: int, workers: int, verify: bool, out: Path) -> float:
    cfg = DataConfig(output=str(out), op="mul", digits="4x4", per_cell=rows, format=fmt, workers=workers,
                     verify=verify)
    t0 = time.perf_counter()
    build_dataset(cfg, progress=False)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows per format and setting (4x4 multiplication)")
    ap.add_argument("--formats", nargs="+", default=["long", "goat", "scratchpad", "plain"])
    ap.add_argument("--million", action="store_true", help="also time 1,000,000 verified long rows on both cores")
    ap.add_argument("--json", default=None, help="write the figures here as JSON")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.jsonl"
        for fmt in args.formats:
            row = {"format": fmt, "rows": args.rows}
            for workers in (1, 2):
                for verify in (True, False):
                    secs = timed(fmt, args.rows, workers, verify, out)
                    row[f"{'verified' if verify else 'unverified'}_w{workers}_rows_per_s"] = round(args.rows / secs)
            row["checker_us_per_row"] = round(
                1e6 / row["verified_w1_rows_per_s"] - 1e6 / row["unverified_w1_rows_per_s"], 1)
            row["bytes_per_row"] = round(out.stat().st_size / args.rows)
            results.append(row)
            print(json.dumps(row), file=sys.stderr)
        million = None
        if args.million:
            secs = timed("long", 1_000_000, 2, True, out)
            million = {"rows": 1_000_000, "format": "long", "workers": 2, "verified": True, "seconds": round(secs, 1),
                       "bytes": out.stat().st_size}
    print("| format | verified, 1 core | verified, 2 cores | unverified, 1 core | unverified, 2 cores "
          "| checker µs/row | bytes/row |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['format']} | {r['verified_w1_rows_per_s']:,} | {r['verified_w2_rows_per_s']:,} | "
              f"{r['unverified_w1_rows_per_s']:,} | {r['unverified_w2_rows_per_s']:,} | {r['checker_us_per_row']} | "
              f"{r['bytes_per_row']} |")
    if million:
        print(f"\n1,000,000 verified long 4x4 rows, 2 workers: {million['seconds']} s "
              f"({million['bytes'] / 1e6:,.0f} MB); target <= 60 s")
    meta = {"date": time.strftime("%Y-%m-%d"), "mathcoach": __version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                                          text=True).stdout.strip(), "results": results,
            "million": million}
    if args.json:
        Path(args.json).write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
