"""SQLite response cache in front of any backend: a finished evaluation re-runs with zero new calls.

Example: ``CachedBackend(backend, home() / "cache.sqlite").generate(requests)``

The key covers the backend's identity (model, endpoint, adapter), every sampling parameter, the messages and
the sample index (models/base.py). Failed calls are never cached, so a re-run retries exactly those. Rows are
committed per batch, so a killed run keeps every batch it finished.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from mathcoach.models.base import Backend, Completion, Request, request_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    completion TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class CachedBackend:
    def __init__(self, backend: Backend, path: str | Path, batch_size: int = 16):
        self.backend = backend
        self.identity = backend.identity
        self.path = Path(path)
        self.batch_size = batch_size
        self.calls = 0  # requests that reached the backend
        self.hits = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")  # readers (a second eval, `mathcoach runs`) never block a writer
        return db

    def lookup(self, requests: list[Request]) -> list[Completion | None]:
        keys = [request_key(self.identity, r) for r in requests]
        found: dict[str, Completion] = {}
        with self._connect() as db:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                rows = db.execute(f"SELECT key, completion FROM responses WHERE key IN ({','.join('?' * len(chunk))})",
                                  chunk).fetchall()
                for key, blob in rows:
                    found[key] = Completion(**json.loads(blob) | {"cached": True})
        return [found.get(k) for k in keys]

    def store(self, requests: list[Request], completions: list[Completion]) -> None:
        now = time.time()
        rows = [
            (request_key(self.identity, r), json.dumps(self.identity, sort_keys=True), json.dumps(c.to_dict()), now)
            for r, c in zip(requests, completions)
            if c.error is None and c.text is not None
        ]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO responses (key, model, completion, created) VALUES (?, ?, ?, ?)", rows)

    def generate(self, requests: list[Request], on_batch=None) -> list[Completion]:
        """Answer from the cache where possible; send the rest in batches, storing each batch as it lands.
        ``on_batch(indices, completions)`` is called after each batch (progress bars, incremental logs)."""
        out = self.lookup(requests)
        hits = [i for i, c in enumerate(out) if c is not None]
        self.hits += len(hits)
        if on_batch and hits:
            on_batch(hits, [out[i] for i in hits])
        # Batches are cut from the misses sorted by prompt length, not in file order: a backend that pads a batch
        # to its longest prompt (hf) then pads little, whatever order the problems came in.
        todo = sorted((i for i, c in enumerate(out) if c is None),
                      key=lambda i: sum(len(m.get("content") or "") for m in requests[i].messages))
        for s in range(0, len(todo), self.batch_size):
            idx = todo[s : s + self.batch_size]
            batch = [requests[i] for i in idx]
            done = self.backend.generate(batch)
            self.calls += len(batch)
            self.store(batch, done)
            for i, c in zip(idx, done):
                out[i] = c
            if on_batch:
                on_batch(idx, done)
        return out  # type: ignore[return-value]
