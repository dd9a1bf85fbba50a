"""An OpenAI-compatible server for local models: ``/v1/chat/completions`` and ``/v1/models`` on loopback.

Example: ``mathcoach serve --model smollm2-135m --port 8000`` then point any OpenAI client (DSPy,
lm-evaluation-harness's ``local-chat-completions``, mathcoach's own ``openai:`` backend) at
http://127.0.0.1:8000/v1.

Concurrent requests are gathered for up to ``batch_wait_s`` into one batched ``generate`` call, so clients
that send in parallel get the batched throughput of the ``hf`` backend. One thread owns the model.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mathcoach.errors import UserError
from mathcoach.models.base import Completion, Request


class _Job:
    def __init__(self, requests: list[Request]):
        self.requests = requests
        self.done = threading.Event()
        self.result: list[Completion] | None = None
        self.error: str | None = None


class Batcher(threading.Thread):
    # 0.1 s: a client's burst of concurrent requests takes tens of ms to arrive; splitting it into two batches
    # costs a whole extra generate call (seconds on a CPU), waiting costs 0.1 s.
    def __init__(self, backend, max_batch: int = 16, batch_wait_s: float = 0.1):
        super().__init__(daemon=True)
        self.backend, self.max_batch, self.batch_wait_s = backend, max_batch, batch_wait_s
        self.jobs: queue.Queue[_Job] = queue.Queue()
        self.stats = {"completions": 0, "batches": 0, "prompt_tokens": 0, "completion_tokens": 0}

    def run(self):
        while True:
            jobs = [self.jobs.get()]
            deadline = time.monotonic() + self.batch_wait_s
            while sum(len(j.requests) for j in jobs) < self.max_batch:
                try:
                    jobs.append(self.jobs.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            flat = [r for j in jobs for r in j.requests]
            try:
                out = self.backend.generate(flat)
            except Exception as e:  # noqa: BLE001 -- a failed batch answers its requests with a 500, not a hang
                for j in jobs:
                    j.error = f"{type(e).__name__}: {e}"
                    j.done.set()
                continue
            self.stats["batches"] += 1
            self.stats["completions"] += len(out)
            self.stats["prompt_tokens"] += sum(c.prompt_tokens for c in out)
            self.stats["completion_tokens"] += sum(c.completion_tokens for c in out)
            k = 0
            for j in jobs:
                j.result = out[k : k + len(j.requests)]
                k += len(j.requests)
                j.done.set()


class BadRequest(ValueError):
    """A request body the API cannot take: answered with a 400."""


class ServeError(UserError):
    """The server cannot start as asked (the port is taken or out of range)."""


def parse_chat_request(body: dict, default_max_tokens: int = 512) -> list[Request]:
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise BadRequest("'messages' must be a non-empty list")
    for m in msgs:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise BadRequest("each message needs string 'role' and 'content'")
    if body.get("stream"):
        raise BadRequest("streaming is not supported; send stream=false")
    stop = body.get("stop") or ()
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    # vLLM's extension: continue the final (assistant) message instead of answering it; the calculator loop
    # of ``eval --tools calculator`` relies on it.
    continue_final = bool(body.get("continue_final_message"))
    if continue_final and msgs[-1]["role"] != "assistant":
        raise BadRequest("continue_final_message needs the last message to be from the assistant")
    if continue_final and body.get("add_generation_prompt"):
        raise BadRequest("continue_final_message and add_generation_prompt cannot both be true")
    try:
        n = int(body.get("n") or 1)
        base = Request(
            messages=tuple({"role": m["role"], "content": m["content"]} for m in msgs),
            max_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or default_max_tokens),
            temperature=float(body.get("temperature") if body.get("temperature") is not None else 0.0),
            top_p=float(body.get("top_p") if body.get("top_p") is not None else 1.0),
            stop=stop,
            seed=int(body.get("seed") or 0),
            continue_final=continue_final,
        )
    except (TypeError, ValueError) as e:
        raise BadRequest(f"bad parameter: {e}") from None
    if not 1 <= n <= 64 or base.max_tokens < 1:
        raise BadRequest("'n' must be 1..64 and 'max_tokens' at least 1")
    return [base.with_sample(k) for k in range(n)]


def with_system(requests: list[Request], system: str | None) -> list[Request]:
    """A model fine-tuned with a system message is asked with it when a client sends none (as eval does)."""
    if system is None:
        return requests
    return [r if any(m["role"] == "system" for m in r.messages) else
            dataclasses.replace(r, messages=({"role": "system", "content": system}, *r.messages)) for r in requests]


def make_server(backend, model_name: str, host: str = "127.0.0.1", port: int = 8000, max_batch: int = 16,
                batch_wait_s: float = 0.1, system: str | None = None,
                default_max_tokens: int = 512) -> ThreadingHTTPServer:
    """The server, bound but not yet serving; a port that cannot be bound is a ``ServeError``.
    ``default_max_tokens`` is the budget of a request that names none (a model directory's trained need)."""
    try:
        server = ThreadingHTTPServer((host, port), BaseHTTPRequestHandler)
    except (OSError, OverflowError) as e:
        raise ServeError(f"cannot listen on {host}:{port}: {getattr(e, 'strerror', None) or e}") from None
    batcher = Batcher(backend, max_batch, batch_wait_s)
    batcher.start()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: one line per request would drown the progress of a client
            pass

        def _send(self, code: int, obj: dict):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, code: int, message: str, kind: str = "invalid_request_error"):
            self._send(code, {"error": {"message": message, "type": kind, "code": code}})

        def do_GET(self):
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model", "created": 0,
                                                             "owned_by": "mathcoach"}]})
            elif self.path.rstrip("/") in ("/health", "/v1/health"):
                self._send(200, {"status": "ok"})
            elif self.path.rstrip("/") == "/v1/stats":  # calls served so far: lets benchmarks count any client's calls
                self._send(200, dict(batcher.stats))
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self):
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                return self._error(404, f"no route {self.path}")
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise BadRequest("body must be a JSON object")
                requests = with_system(parse_chat_request(body, default_max_tokens), system)
            except (json.JSONDecodeError, BadRequest, ValueError) as e:
                return self._error(400, str(e))
            job = _Job(requests)
            batcher.jobs.put(job)
            job.done.wait()
            if job.error or job.result is None:
                return self._error(500, job.error or "generation failed", "server_error")
            # stop_reason as vLLM reports it: the stop string that ended the text, null at end of turn or length
            choices = [{"index": k, "message": {"role": "assistant", "content": c.text or ""},
                        "finish_reason": c.finish_reason or "stop", "stop_reason": c.stop_reason}
                       for k, c in enumerate(job.result)]
            prompt_tokens = job.result[0].prompt_tokens
            completion_tokens = sum(c.completion_tokens for c in job.result)
            self._send(200, {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
                             "created": int(time.time()), "model": model_name, "choices": choices,
                             "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                       "total_tokens": prompt_tokens + completion_tokens}})

    server.RequestHandlerClass = Handler
    return server
