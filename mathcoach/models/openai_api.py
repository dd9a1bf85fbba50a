"""Any OpenAI-compatible chat endpoint (OpenRouter, vLLM, Ollama, llama.cpp, OpenAI, `mathcoach serve`).

Example: ``OpenAIBackend("gpt-4o-mini", base_url="https://openrouter.ai/api/v1", api_key_env="OPENROUTER_API_KEY")``

Calls run concurrently (``concurrency`` at a time) through the official async client. Transport errors (timeouts,
dropped or refused connections), HTTP status errors (429, 5xx) and unparseable responses are retried with
exponential backoff and full jitter, at most ``max_retries`` times; a call that still fails comes back with
``error`` set and ``text=None``, so it is counted as unscored, never as a wrong answer. Authentication and
not-found errors stop the run instead: retrying cannot fix them. Nothing else is caught: an exception from our
own code (cost accounting, say) is a bug and must surface, not turn into "unscored" samples. The API key is read
from an environment variable and never leaves this object.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import time

from mathcoach.errors import UserError
from mathcoach.models.base import Completion, Request


class BackendError(UserError, RuntimeError):
    """A configuration problem no retry can fix (bad key, unknown model); the message says which."""


class MalformedResponse(Exception):
    """A reply that parsed as HTTP but not as a chat completion (no choices, no message text)."""


def _parse(resp) -> tuple[str, str | None, object, dict]:
    """(text, finish reason, usage, extra) of a chat completion, or MalformedResponse naming what is missing. The
    client builds responses without validation, so a body that lacks a field reaches us as a missing attribute.
    ``extra`` holds vLLM's ``stop_reason`` (the stop string that ended the text) when the server reports one."""
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise MalformedResponse("response has no choices")
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if not isinstance(text, str):
        raise MalformedResponse("response has no message content")
    usage = getattr(resp, "usage", None)
    fields = getattr(choices[0], "model_extra", None) or {}
    extra = {"stop_reason": fields["stop_reason"]} if "stop_reason" in fields else {}
    return text, getattr(choices[0], "finish_reason", None), usage, extra


class OpenAIBackend:
    def __init__(self, model: str, base_url: str, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8,
                 max_retries: int = 4, timeout_s: float = 120.0, backoff_s: float = 0.5, max_backoff_s: float = 20.0,
                 prices: dict | None = None):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.prices = prices or {}  # USD per million tokens: {"prompt": x, "completion": y}
        self.retries = 0  # total retries made, for run records
        self.identity = {"backend": "openai", "model": model, "base_url": self.base_url}

    def _client(self):
        from openai import AsyncOpenAI

        key = os.environ.get(self.api_key_env) or "EMPTY"  # local servers need no key
        # max_retries=0: retries are ours, so they are bounded, jittered and counted in one place
        return AsyncOpenAI(base_url=self.base_url, api_key=key, max_retries=0, timeout=self.timeout_s)

    def generate(self, requests: list[Request]) -> list[Completion]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._generate(requests))
        # Called from inside a running loop (a notebook, an async app): run ours on a thread of its own.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._generate(requests)).result()

    async def _generate(self, requests: list[Request]) -> list[Completion]:
        client = self._client()
        gate = asyncio.Semaphore(self.concurrency)
        try:
            return list(await asyncio.gather(*(self._one(client, gate, r) for r in requests)))
        finally:
            await client.close()

    def _cost(self, usage) -> float:
        extra = getattr(usage, "model_extra", None) or {}
        if isinstance(extra.get("cost"), (int, float)):  # OpenRouter reports the real charge
            return float(extra["cost"])
        p, c = self.prices.get("prompt", 0.0), self.prices.get("completion", 0.0)
        return (usage.prompt_tokens * p + usage.completion_tokens * c) / 1e6

    async def _one(self, client, gate, req: Request) -> Completion:
        import openai

        kwargs = dict(model=self.model, messages=list(req.messages), max_tokens=req.max_tokens,
                      temperature=req.temperature, top_p=req.top_p)
        if req.stop:
            kwargs["stop"] = list(req.stop)
        if req.temperature > 0 or req.seed:
            kwargs["seed"] = int(hashlib.sha256(f"{req.seed}:{req.sample}".encode()).hexdigest()[:7], 16)
        body = {}
        if "openrouter.ai" in self.base_url:
            body["usage"] = {"include": True}
        if req.continue_final:  # vLLM's (and mathcoach serve's) names for "go on with this assistant text"
            body |= {"continue_final_message": True, "add_generation_prompt": False}
        if body:
            kwargs["extra_body"] = body
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.retries += 1
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(0, delay))
            async with gate:
                t0 = time.perf_counter()
                try:
                    resp = await client.chat.completions.create(**kwargs)
                    text, finish, usage, extra = _parse(resp)
                except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as e:
                    raise BackendError(f"{self.base_url} refused model {self.model!r}: {type(e).__name__} "
                                       f"(check the model name and ${self.api_key_env})") from None
                except openai.BadRequestError as e:  # the request itself is wrong: retrying repeats the error
                    return Completion(text=None, error=f"bad request: {str(e)[:200]}", latency_s=time.perf_counter() - t0)
                except (openai.APIError, json.JSONDecodeError, MalformedResponse) as e:
                    # transport and status errors (APIConnectionError, APITimeoutError, APIStatusError) and bodies
                    # that are not a chat completion: the only failures a retry can fix
                    last = f"{type(e).__name__}: {str(e)[:200]}"
                    continue
            # Outside the try: an error here is ours, never the API's.
            return Completion(
                text=text, prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                latency_s=time.perf_counter() - t0, cost_usd=self._cost(usage) if usage else 0.0,
                finish_reason=finish, stop_reason=extra.get("stop_reason") if isinstance(extra.get("stop_reason"), str)
                else None, extra={"attempts": attempt + 1, "reports_stop_reason": "stop_reason" in extra})
        return Completion(text=None, error=f"gave up after {self.max_retries + 1} attempts: {last}",
                          extra={"attempts": self.max_retries + 1})
