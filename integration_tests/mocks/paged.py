"""A listing API with totals, for pages fetched at once: it enforces its concurrency limit for real.

Three routes over one list of records (ascending ``updated_at``):

- ``/offset?offset=&limit=``: ``{"items": [...], "meta": {"total": N}}`` (offset pagination with a
  total count, like Zendesk's or Jira's ``startAt``/``total``);
- ``/pages?page=&per_page=``: ``{"result": [...], "result_info": {"total_pages": P, "total_count": N}}``
  (Cloudflare);
- ``/github?page=&per_page=``: a bare array with GitHub's ``Link`` header (``rel="next"``,
  ``rel="last"`` and ``rel="prev"``, ``rel="first"``), no total in the body.

Limits it enforces: at most ``cap`` requests in flight, more is answered 429 with ``Retry-After``
(``rejected`` counts them; ``peak`` is the most it served at once). With ``hold``, the first request for a
page after the first is held until another such request is in flight (or ``hold`` seconds pass):
an engine that fetches pages one at a time cannot get past it without waiting, one that fetches
them at once is answered at once (``overlapped`` is then 1). ``after_first`` runs once, after the first page was answered (the
data changing while the pages are read: records removed, added or shifted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from integration_tests.mocks.server import Request, Response


def make_records(n: int) -> list[dict[str, Any]]:
    return [{"id": f"r{i:04d}", "n": i, "updated_at": f"2024-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"}
            for i in range(n)]


class PagedApi:
    """See the module docstring."""

    def __init__(self, records: list[dict[str, Any]], cap: int = 4, hold: float = 0.0,
                 after_first: Callable[[PagedApi], None] | None = None) -> None:
        self.records = list(records)
        self.cap, self.hold = cap, hold
        self.after_first = after_first
        self.in_flight = self.peak = self.rejected = self.overlapped = 0
        self.short: dict[int, int] = {}  # offset or page -> records left out of that page (a short page)
        self._later = 0  # requests for pages after the first
        self._first_done = False
        self._held = False  # the first request for a later page was held (see hold)
        self._cond = threading.Condition()

    def __call__(self, req: Request) -> Response:
        first = req.arg("offset") in (None, "0") and req.arg("page") in (None, "1")
        with self._cond:
            if self.in_flight >= self.cap:
                self.rejected += 1
                return Response.json({"error": "too many concurrent requests"}, 429, **{"Retry-After": "0.05"})
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if not first:
                self._later += 1  # later-page requests so far: any after the held one came while it was held
                self._cond.notify_all()
                if self.hold and not self._held:
                    self._held = True
                    if self._cond.wait_for(lambda: self._later > 1, timeout=self.hold):
                        self.overlapped += 1
        try:
            return self._answer(req)
        finally:
            with self._cond:
                self.in_flight -= 1
                if first and not self._first_done:
                    self._first_done = True
                    if self.after_first is not None:
                        self.after_first(self)

    def _answer(self, req: Request) -> Response:
        if req.path == "/offset":
            start, limit = int(req.arg("offset") or 0), int(req.arg("limit") or 10)
            items = self._cut(start, self.records[start:start + limit])
            return Response.json({"items": items, "meta": {"total": len(self.records)}})
        page, per = int(req.arg("page") or 1), int(req.arg("per_page") or 10)
        rows = self._cut(page, self.records[(page - 1) * per:page * per])
        last = max(1, -(-len(self.records) // per))
        if req.path == "/pages":
            info = {"page": page, "per_page": per, "total_pages": last, "total_count": len(self.records)}
            return Response.json({"success": True, "result": rows, "result_info": info})
        if req.path == "/github":
            return Response.json(rows, Link=self._links(req, page, per, last))
        return Response.json({"message": "Not Found"}, 404)

    def _cut(self, key: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        drop = self.short.get(key, 0)
        return rows[:len(rows) - drop] if drop else rows

    @staticmethod
    def _links(req: Request, page: int, per: int, last: int) -> str:
        base = f"http://{req.header('Host')}{req.path}"

        def link(p: int, rel: str) -> str:
            return f'<{base}?{urlencode({"per_page": per, "page": p})}>; rel="{rel}"'

        links = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return ", ".join(links)
