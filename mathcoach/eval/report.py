"""Reports from run files only: the per-cell heatmap, the terminal summary, and run comparisons.

Example: ``compare_runs("runs/eval/a", "runs/eval/b")`` -> markdown table with a McNemar test per cell
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from mathcoach.eval.metrics import mcnemar, wilson
from mathcoach.runs import load_samples


def _cells(metrics: dict) -> dict[tuple[int, int], dict]:
    out = {}
    for cell, m in metrics["cells"].items():
        try:
            a, b = (int(x) for x in cell.split("x"))
        except ValueError:
            continue
        out[(a, b)] = m
    return out


def heatmap(metrics: dict, path: Path, title: str) -> bool:
    """Exact match per (digits_a, digits_b) cell as a PNG; False when the data has no digit cells."""
    cells = _cells(metrics)
    if not cells:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    na, nb = max(a for a, _ in cells), max(b for _, b in cells)
    grid = np.full((na, nb), np.nan)
    for (a, b), m in cells.items():
        grid[a - 1, b - 1] = m["exact_match"]
    fig, ax = plt.subplots(figsize=(1.1 * nb + 2, 1.0 * na + 1.5))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", origin="upper")
    for (a, b), m in cells.items():
        ax.text(b - 1, a - 1, f"{100 * m['exact_match']:.0f}%\nn={m['scored']}", ha="center", va="center",
                color="white" if m["exact_match"] < 0.6 else "black", fontsize=8)
    ax.set_xticks(range(nb), [str(b) for b in range(1, nb + 1)])
    ax.set_yticks(range(na), [str(a) for a in range(1, na + 1)])
    ax.set_xlabel("digits of b")
    ax.set_ylabel("digits of a")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="exact match")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def summary_markdown(metrics: dict, header: str) -> str:
    lines = [header, "", "| cell | n | exact match (95% CI) | flexible | digit match | in format | unscored | top error |",
             "|---|---:|---|---:|---:|---:|---:|---|"]
    cells = [(c, m) for c, m in metrics["cells"].items() if c != "all"]  # "all" alone: data without digit cells
    rows = cells + [("all", metrics["overall"])]
    for cell, m in rows:
        errs = m.get("error_types") or {}
        top = max(errs, key=errs.get) if errs else ""
        lines.append(f"| {cell} | {m['scored']} | {_pct(m['exact_match'])} ({_pct(m['ci95'][0])}-{_pct(m['ci95'][1])})"
                     f" | {_pct(m['flexible_match'])} | {_pct(m['digit_match'])} | {_pct(m['in_format'])} "
                     f"| {m['unscored']} | {top} |")
    o = metrics["overall"]
    if "majority_vote" in o:
        passes = ", ".join(f"pass@{k} {_pct(v)}" for k, v in o["pass_at_k"].items())
        lines.append(f"\nmajority vote {_pct(o['majority_vote'])}; {passes}")
    return "\n".join(lines)


def compare_runs(run_a: str, run_b: str) -> dict:
    """Per-cell exact match of two runs on the problems both scored (first sample), with McNemar's test: data
    (``compare_markdown`` renders it). Cells: n, right in A and B, only-A and only-B right, McNemar p."""
    a = {r["id"]: r for r in load_samples(run_a) if r["sample"] == 0 and r["correct"] is not None}
    b = {r["id"]: r for r in load_samples(run_b) if r["sample"] == 0 and r["correct"] is not None}
    shared = sorted(set(a) & set(b))
    cells: dict[str, list[str]] = defaultdict(list)
    for i in shared:
        cells[a[i].get("cell") or "all"].append(i)
    if len(cells) > 1:
        cells["all"] = shared
    out = {"run_a": str(run_a), "run_b": str(run_b), "shared": len(shared), "cells": {}}
    for cell, ids in cells.items():
        only_a = sum(a[i]["correct"] and not b[i]["correct"] for i in ids)
        only_b = sum(b[i]["correct"] and not a[i]["correct"] for i in ids)
        out["cells"][cell] = {"n": len(ids), "right_a": sum(a[i]["correct"] for i in ids),
                              "right_b": sum(b[i]["correct"] for i in ids), "only_a": only_a, "only_b": only_b,
                              "mcnemar_p": mcnemar(only_a, only_b)}
    return out


def compare_markdown(cmp: dict) -> str:
    lines = [f"A = {cmp['run_a']}\nB = {cmp['run_b']}\n{cmp['shared']} problems scored in both (first sample)\n",
             "| cell | n | A | B | B - A | only A right | only B right | McNemar p |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for cell, c in cmp["cells"].items():
        pa, pb = wilson(c["right_a"], c["n"])[0], wilson(c["right_b"], c["n"])[0]
        lines.append(f"| {cell} | {c['n']} | {_pct(pa)} | {_pct(pb)} | {100 * (pb - pa):+.1f} pp | {c['only_a']} "
                     f"| {c['only_b']} | {c['mcnemar_p']:.3g} |")
    return "\n".join(lines)
