"""GSM8K's calculator during generation: when the model writes ``<<48/2=``, the value ``24>>`` is written for it.

Example: ``CalculatorLoop(cached).generate(requests)`` -> one Completion per request, whose text holds every
filled-in value and whose ``extra["calculator"]`` lists the calls ``[{"expr": "48/2", "value": "24"}, ...]``.

As in openai/grade-school-math's ``sample()``, generation stops at each ``=``; when that ``=`` closes the
expression of an open ``<<...`` annotation, the safe evaluator (``tools.calculator``) computes it and ``value>>``
is appended; then the model continues its own partial turn (``Request.continue_final``). Their loop is one
sequence, one token at a time; this one advances every unfinished request one stop at a time, in batches, through
any backend that can continue a partial assistant message: ``hf`` directly, an API through ``mathcoach serve``
or vLLM (``continue_final_message`` and ``stop_reason``). An endpoint that does not say which stop string ended a
reply cannot run the loop, and says so in one line (``CalculatorUnsupported``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from mathcoach.errors import UserError
from mathcoach.models.base import Completion, Request
from mathcoach.tools.calculator import evaluate

OPEN, CLOSE, TRIGGER = "<<", ">>", "="
MAX_STOPS = 64  # a reply that stops this often without finishing is cut ("length"): no endless ping-pong


class CalculatorUnsupported(UserError):
    """The endpoint cannot continue a partial assistant message, so the calculator cannot run on it."""


def open_expression(text: str) -> str | None:
    """The expression of an annotation that ``text`` leaves open at ``=``: ``"x <<48/2="`` -> ``"48/2"``; None when
    the ``=`` is outside an annotation (``"48/2 ="``) or the annotation is closed."""
    if not text.endswith(TRIGGER):
        return None
    start = text.rfind(OPEN)
    if start < 0 or text.rfind(CLOSE) > start:
        return None
    expr = text[start + len(OPEN) : -len(TRIGGER)]
    return expr if expr and TRIGGER not in expr else None


@dataclass
class _Reply:
    request: Request
    base: tuple[dict, ...]  # the conversation up to the turn being written
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    stops: int = 0
    calls: list[dict] = field(default_factory=list)
    cached: bool = True

    def fill(self) -> None:
        """Write the value of an annotation left open at ``=``; an expression the evaluator refuses is left for
        the model to finish, as GSM8K's calculator does with one that fails."""
        expr = open_expression(self.text)
        value = evaluate(expr) if expr is not None else None
        if value is not None:
            self.text += value + CLOSE
            self.calls.append({"expr": expr, "value": value})

    def next_request(self) -> Request:
        msgs = self.base + ({"role": "assistant", "content": self.text},) if self.text else self.base
        return dataclasses.replace(self.request, messages=msgs, continue_final=bool(self.text),
                                   max_tokens=self.request.max_tokens - self.completion_tokens,
                                   stop=(*self.request.stop, TRIGGER))

    def finish(self, c: Completion) -> Completion:
        return Completion(text=self.text if c.error is None else None, prompt_tokens=self.prompt_tokens,
                          completion_tokens=self.completion_tokens, latency_s=self.latency_s, cost_usd=self.cost_usd,
                          error=c.error, finish_reason=c.finish_reason, stop_reason=c.stop_reason, cached=self.cached,
                          extra={"calculator": self.calls, "stops": self.stops})


class CalculatorLoop:
    """A backend wrapper: ``generate`` runs the loop over ``inner`` (a ``CachedBackend``, so every stop of every
    reply is cached and a resumed run replays them for free)."""

    def __init__(self, inner, max_stops: int = MAX_STOPS):
        self.inner, self.max_stops = inner, max_stops
        self.identity = inner.identity

    def generate(self, requests: list[Request], on_batch=None) -> list[Completion]:
        replies = []
        for r in requests:
            if r.continue_final:  # a request that already holds the start of its answer
                replies.append(_Reply(r, r.messages[:-1], text=r.messages[-1]["content"]))
            else:
                replies.append(_Reply(r, r.messages))
        out: list[Completion | None] = [None] * len(requests)
        active = list(range(len(requests)))
        while active:
            for i in active:
                replies[i].fill()
            done = self.inner.generate([replies[i].next_request() for i in active])
            finished, still = [], []
            for i, c in zip(active, done):
                rep = replies[i]
                if c.error is None and c.text is not None:
                    rep.text += c.text
                rep.prompt_tokens += c.prompt_tokens
                rep.completion_tokens += c.completion_tokens
                rep.latency_s += c.latency_s
                rep.cost_usd += c.cost_usd
                rep.cached &= c.cached
                if c.error is None and c.finish_reason == "stop" and c.stop_reason is None \
                        and c.extra.get("reports_stop_reason") is False:
                    raise CalculatorUnsupported(
                        f"{self.identity.get('base_url', 'this endpoint')} does not report which stop string ended "
                        "a reply (stop_reason), so --tools calculator cannot run on it; use mathcoach serve or vLLM")
                stopped_here = c.error is None and c.finish_reason == "stop" and c.stop_reason == TRIGGER
                if stopped_here and rep.completion_tokens < rep.request.max_tokens and rep.stops < self.max_stops:
                    rep.text += TRIGGER
                    rep.stops += 1
                    still.append(i)
                    continue
                if stopped_here:  # out of tokens or stops: the reply ends here, unfinished
                    rep.text += TRIGGER
                    c = dataclasses.replace(c, finish_reason="length", stop_reason=None)
                out[i] = rep.finish(c)
                finished.append(i)
            if on_batch and finished:
                on_batch(finished, [out[i] for i in finished])
            active = still
        return out  # type: ignore[return-value]
