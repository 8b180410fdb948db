"""A small cursor-paginated events API (and its connector YAML) for the output and state tests.

``GET /events`` with ``limit``, ``cursor`` (next page) and ``updated_since`` (incremental), answering
``{"data": [...], "next_cursor": n|null}``; records come in ``updated_at`` order (``updated_at`` = i).
``gate`` (a record number) blocks the page that starts at or after it until ``release`` is set, so a
test can kill a sync at a known point; ``fail_at`` answers 400 from that record on.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from integration_tests.mocks.server import Request, Response

API_KEY = "sk_test_outputs_5f3a9c1e"
CONNECTOR = """
name: events
version: "1.0.0"
description: test events API
base_url: "{{ config.base_url }}"
auth:
  type: bearer
  token: "{{ config.api_key }}"
http:
  max_retries: 0
  timeout_secs: 600  # a gated page is held until the test releases it; the client must not give up first
spec:
  - {name: api_key, type: string, required: true, secret: true}
  - {name: base_url, type: string, required: true}
streams:
  - name: events
    request:
      path: /events
      params: {limit: "100"}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
    incremental: {request_param: updated_since}
    schema:
      type: object
      properties:
        id: {type: string}
        updated_at: {type: integer}
        amount: {type: ["null", number]}
        tags: {type: ["null", array]}
"""


class EventsApi:
    """Serves ``total`` events; see the module docstring for ``gate`` and ``fail_at``."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.gate: int | None = None
        self.gate_reached = threading.Event()
        self.release = threading.Event()
        self.fail_at: int | None = None

    def record(self, i: int) -> dict[str, Any]:
        rec: dict[str, Any] = {"id": f"evt_{i}", "updated_at": i, "amount": i * 1.25, "tags": ["a", str(i)]}
        if i % 10 == 0:
            rec["note"] = f"ünïcode {i}"
        return rec

    def __call__(self, req: Request) -> Response:
        if req.header("Authorization") != f"Bearer {API_KEY}":
            return Response.json({"error": "unauthorized"}, status=401)
        since = int(req.arg("updated_since") or 0)
        start = int(req.arg("cursor") or since)
        limit = int(req.arg("limit") or 100)
        if self.fail_at is not None and start >= self.fail_at:
            return Response.json({"error": "bad request"}, status=400)
        if self.gate is not None and start >= self.gate:
            self.gate_reached.set()
            self.release.wait(600)
        data = [self.record(i) for i in range(start, min(start + limit, self.total))]
        nxt = start + limit if start + limit < self.total else None
        return Response.json({"data": data, "next_cursor": nxt})


def config_json(url: str) -> str:
    return json.dumps({"api_key": API_KEY, "base_url": url})


def wait_until(predicate: Any, what: str, timeout: float = 120) -> None:
    """Wait for an event another process causes (a file appears, a line is printed). The deadline only
    keeps a broken run from hanging the suite; nothing is asserted about how long it took."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)
