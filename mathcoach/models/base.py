"""The batch-shaped model interface every backend implements, and the records that cross it.

Example: ``backend.generate([Request(messages=({"role": "user", "content": "What is 2 * 3?"},))])``
-> ``[Completion(text="Answer: 6", ...)]``

One request is one sample: k samples of a prompt are k requests with ``sample`` 0..k-1, so a cache keyed on
the request makes k distinct calls at temperature > 0 and none at all on a re-run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol


@dataclass(frozen=True)
class Request:
    messages: tuple[dict, ...]
    max_tokens: int = 512
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0
    sample: int = 0  # which of k samples this is; part of the cache key and of the sampling seed
    # The final message is a partial assistant turn to continue, not a turn to answer (vLLM's
    # continue_final_message; the calculator loop writes a computed value and lets the model go on).
    continue_final: bool = False

    def with_sample(self, k: int) -> Request:
        return replace(self, sample=k)

    def key_fields(self) -> dict:
        d = asdict(self)
        d["messages"] = [dict(m) for m in self.messages]
        d["stop"] = list(self.stop)
        for name in _ADDED_LATER:  # at its default a later field stays out of the key: older cache rows stay valid
            if d[name] == _ADDED_LATER[name]:
                del d[name]
        return d


_ADDED_LATER = {"continue_final": False}


@dataclass
class Completion:
    text: str | None  # None when the call failed: never scored, counted as unscored
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    error: str | None = None
    finish_reason: str | None = None
    stop_reason: str | None = None  # the stop string that ended the text (None: end of turn, length or unknown)
    cached: bool = False
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Backend(Protocol):
    """What a model backend provides. ``identity`` names the model and endpoint for cache keys (never a key)."""

    identity: dict

    def generate(self, requests: list[Request]) -> list[Completion]: ...


def messages_hash(messages) -> str:
    return hashlib.sha256(json.dumps(list(messages), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def request_key(identity: dict, req: Request) -> str:
    payload = json.dumps({"model": identity, "request": req.key_fields()}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()
