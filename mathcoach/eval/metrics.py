"""Accuracy statistics: Wilson intervals, digit match, unbiased pass@k, majority vote, McNemar's exact test.

Example: ``wilson(37, 50)`` -> (0.74, 0.604, 0.841)
"""

from __future__ import annotations

import math
from collections import Counter


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float, float]:
    """(point, low, high) of a proportion; the Wilson interval stays inside [0, 1] and is sane at 0 and n."""
    if n == 0:
        return (float("nan"), 0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (p, max(0.0, centre - half), min(1.0, centre + half))


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def digit_match(pred: str | None, gold: str) -> float:
    """1 - character error rate of the answer string, floored at 0; a missing answer scores 0."""
    if pred is None or not gold:
        return 0.0
    return max(0.0, 1.0 - levenshtein(pred, gold) / len(gold))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021) from n samples of which c are correct."""
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def majority(answers: list[str | None]) -> str | None:
    """The most common non-missing answer; ties go to the one given first."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return None
    best = max(votes.values())
    return next(a for a in answers if a is not None and votes[a] == best)


def mcnemar(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts (b: only A right, c: only B right)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def fisher_exact(a: int, n: int, b: int, m: int) -> float:
    """Two-sided Fisher exact p for a of n right against b of m right, two unpaired samples: the sum over the tables
    with the same margins that are as likely as the one seen, or less. McNemar is for the same items twice."""
    right, total = a + b, n + m

    def prob(x: int) -> float:
        return math.comb(n, x) * math.comb(m, right - x) / math.comb(total, right)

    seen = prob(a)
    return min(1.0, sum(q for x in range(max(0, right - m), min(n, right) + 1) if (q := prob(x)) <= seen * (1 + 1e-9)))
