"""A loopback OpenAI-compatible server that answers arithmetic questions exactly, with injected faults.

It stands in for a paid API where determinism is the point: the answers are known, so the test can tell an
API failure counted as a wrong answer from a real one. Faults are decided per question: a problem whose
hash falls in a fault class fails its first ``fail_times`` attempts with that fault (429, 500, a timeout or a
malformed body), and ``always_fail`` questions never succeed.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("ok", "429", "500", "timeout", "malformed")


def solve(question: str) -> str:
    a, b = map(int, re.findall(r"\d+", question)[:2])
    return str(a * b)


class Oracle:
    def __init__(self, fail_times: int = 1, always_fail: frozenset[str] = frozenset(), delay_s: float = 0.0,
                 timeout_sleep_s: float = 3.0, wrong: frozenset[str] = frozenset(), report_cost: float | None = None):
        self.fail_times, self.always_fail, self.delay_s = fail_times, always_fail, delay_s
        self.timeout_sleep_s, self.wrong = timeout_sleep_s, wrong
        self.report_cost = report_cost  # OpenRouter-style usage.cost in every reply, when set
        self.auth_headers: list[str] = []
        self.attempts: dict[str, int] = {}
        self.requests = 0
        self.lock = threading.Lock()

    @staticmethod
    def fault_of(question: str) -> str:
        return FAULTS[int(hashlib.sha256(question.encode()).hexdigest(), 16) % len(FAULTS)]

    def start(self) -> tuple[ThreadingHTTPServer, str]:
        oracle = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _raw(self, code: int, data: bytes, headers: dict | None = None):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                question = body["messages"][-1]["content"]
                with oracle.lock:
                    oracle.requests += 1
                    oracle.auth_headers.append(self.headers.get("Authorization", ""))
                    n = oracle.attempts[question] = oracle.attempts.get(question, 0) + 1
                time.sleep(oracle.delay_s)
                fault = "500" if question in oracle.always_fail else oracle.fault_of(question)
                if fault != "ok" and (n <= oracle.fail_times or question in oracle.always_fail):
                    if fault == "429":
                        return self._raw(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"})
                    if fault == "500":
                        return self._raw(500, b'{"error": {"message": "boom"}}')
                    if fault == "timeout":
                        time.sleep(oracle.timeout_sleep_s)
                        return self._raw(200, b'{"late": true}')
                    return self._raw(200, b'{"choices": [ {"message": ')  # truncated, malformed JSON
                answer = solve(question)
                if question in oracle.wrong:
                    answer = str(int(answer) + 1)
                reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": f"Answer: {answer}"},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}}
                if oracle.report_cost is not None:
                    reply["usage"]["cost"] = oracle.report_cost
                self._raw(200, json.dumps(reply).encode())

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
