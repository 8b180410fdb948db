"""A fault gate in front of a mock API: pass requests through, or fail chosen ones on purpose.

The acceptance suite needs "the API broke in the middle of a stream" (checklist point 16) for APIs it
does not write itself (the demo API, the connector mocks). The gate is a MockServer handler that
either calls the mock's handler directly or forwards to an upstream URL, and fails every request
to the chosen paths once ``allow`` of them have passed (503 with ``Retry-After: 0``, so the
client's retries happen, and quickly):

    gate = Gate(upstream=mock.handler)
    with MockServer(gate) as srv:
        gate.fail(paths={"/v1/customers"}, allow=1)   # page 1 passes, page 2 and retries get 503
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from integration_tests.mocks.server import Request, Response

_HOP_HEADERS = {"connection", "content-length", "transfer-encoding", "content-encoding", "keep-alive"}


def forward_to(base_url: str) -> Callable[[Request], Response]:
    """A handler that replays each request against ``base_url`` (a server we did not write)."""
    session = requests.Session()

    def handler(req: Request) -> Response:
        headers = {k: v for k, v in req.headers.items() if k.lower() not in _HOP_HEADERS | {"host"}}
        upstream = session.request(
            req.method, base_url.rstrip("/") + req.url, headers=headers, data=req.body, timeout=30
        )
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
        return Response(status=upstream.status_code, body=upstream.content, headers=out)

    return handler


class Gate:
    """Callable handler; ``fail()`` arms a fault, ``clear()`` disarms it."""

    def __init__(self, upstream: Callable[[Request], Response]) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self._allow = 0
        self._seen = 0
        self.failed = 0

    def fail(self, paths: set[str], allow: int = 0, status: int = 503) -> None:
        with self._lock:
            self._paths, self._allow, self._seen, self.failed, self._status = set(paths), allow, 0, 0, status

    def clear(self) -> None:
        with self._lock:
            self._paths = set()

    def __call__(self, req: Request) -> Response:
        with self._lock:
            hit = req.path in self._paths
            if hit:
                self._seen += 1
                hit = self._seen > self._allow
                self.failed += hit
        if hit:
            # Retry-After: 0 keeps the client's retries (it must make them) from costing seconds.
            return Response.json({"error": {"message": "injected failure"}}, self._status, **{"Retry-After": "0"})
        return self.upstream(req)
