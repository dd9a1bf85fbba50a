"""Verifiable rewards for ``mathcoach train --method grpo``: the one answer checker, scored as eval scores.

Example: ``funcs, weights = reward_funcs(parse_rewards("exact,steps:0.5"), fmt="long")`` -> TRL reward callables
(``f(prompts, completions, gold, problem, **_) -> list[float]``) and their weights for ``GRPOConfig.reward_weights``.

``exact`` is 1.0 when ``eval.score.score_sample`` -- the function every eval row comes from -- says the reply is
right, else 0.0 (no answer, or a refusal where a product was due, is 0.0: a failure to answer is a wrong answer
here, unlike an API error, which cannot happen inside training). ``format`` (an anchored answer was given) and
``steps`` (the step checker's share of reference steps matched before the first wrong one) shape the search; TRL
logs each under its own name (``rewards/<name>/mean``), and the accuracy a run reports is ``exact`` alone.
"""

from __future__ import annotations

import json
from functools import lru_cache

from mathcoach.config import ConfigError
from mathcoach.problems.checker import check
from mathcoach.problems.dataset import Item
from mathcoach.problems.problem import Problem
from mathcoach.problems.traces import FORMATS

REWARDS = ("exact", "format", "steps")


def parse_rewards(spec: str) -> list[tuple[str, float]]:
    """``"exact,steps:0.5"`` -> [("exact", 1.0), ("steps", 0.5)]. ``exact`` must be there: it is the reward."""
    out = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, weight = part.partition(":")
        if name not in REWARDS:
            raise ConfigError("rewards", f"unknown reward {name!r}; choose from {', '.join(REWARDS)}")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError("rewards", f"{part!r}: the weight after ':' must be a number") from None
        if w <= 0 or any(n == name for n, _ in out):
            raise ConfigError("rewards", f"{part!r}: each reward once, with a weight above 0")
        out.append((name, w))
    if not any(n == "exact" for n, _ in out):
        raise ConfigError("rewards", f"{spec!r} has no 'exact': exact match by the answer checker is the reward; "
                          "format and steps only add to it")
    return out


def item_of(question: str, gold: str, problem: str) -> Item:
    """The eval Item a GRPO row stands for; ``problem`` is the row's meta as JSON ("" for a word problem)."""
    p = Problem.from_dict(json.loads(problem)) if problem else None
    return Item(p.id if p else "", question, gold, p, "mathcoach" if p else "question")


@lru_cache(maxsize=4096)
def _scored(text: str, question: str, gold: str, problem: str, fmt: str) -> dict:
    from mathcoach.eval.score import score_sample
    from mathcoach.models.base import Completion

    return score_sample(item_of(question, gold, problem), fmt, Completion(text=text))


def _text(completion) -> str:
    """TRL hands a completion as text (text prompts) or as a list of messages (chat prompts)."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict))
    return completion or ""


def exact_reward(fmt: str, strict: bool = True):
    key = "correct" if strict else "correct_flexible"

    def exact(prompts, completions, gold, problem, question, **_):
        return [1.0 if _scored(_text(c), q, g, p, fmt)[key] else 0.0
                for c, g, p, q in zip(completions, gold, problem, question)]
    return exact


def format_reward(fmt: str):
    def format(prompts, completions, gold, problem, question, **_):  # noqa: A001 -- TRL logs it by this name
        return [1.0 if _scored(_text(c), q, g, p, fmt)["in_format"] else 0.0
                for c, g, p, q in zip(completions, gold, problem, question)]
    return format


def steps_reward(fmt: str):
    """Share of the reference trace's steps matched before the first wrong one (1.0 when none is wrong, the
    answer included); 0.0 where no reference trace exists (a word problem, a format the step checker does not
    know)."""
    def steps(prompts, completions, gold, problem, question, **_):
        out = []
        for c, g, p, q in zip(completions, gold, problem, question):
            it = item_of(q, g, p)
            if it.problem is None or fmt not in FORMATS.get(it.problem.op, {}):
                out.append(0.0)
                continue
            r = check(it.problem, fmt, _text(c))
            out.append(1.0 if r.error is None else r.steps_matched / max(r.steps_expected, 1))
        return out
    return steps


def reward_funcs(rewards: list[tuple[str, float]], fmt: str, strict: bool = True) -> tuple[list, list[float]]:
    make = {"exact": lambda: exact_reward(fmt, strict), "format": lambda: format_reward(fmt),
            "steps": lambda: steps_reward(fmt)}
    return [make[n]() for n, _ in rewards], [w for _, w in rewards]
