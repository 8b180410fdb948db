"""An API that enforces a real rate limit and says so on every response, in one header family.

Each pool (a path prefix; ``""`` is the rest of the host) has a budget of ``limit`` requests per
``window`` seconds, in fixed windows counted from the mock's start (aligned to a whole second, so an
epoch reset is exact), or with ``start_on_first`` from its first request. A request past the budget is answered 429 with ``Retry-After`` and not served;
every answer, 429s included, carries the pool's limit, what is left and when it resets, in the
family the test picks:

- ``ietf``: ``RateLimit: "pool";r=..;t=..`` + ``RateLimit-Policy: "pool";q=..;w=..`` (draft 11); ``t``
  is a whole number of seconds rounded up, or with ``decimal_reset`` the exact fraction;
- ``ietf-trio``: ``RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (older drafts, seconds);
- ``github``: ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (epoch seconds) + ``X-RateLimit-Resource``;
- ``x-seconds``: ``X-RateLimit-*`` with the reset in seconds from now (most other APIs).

Records: ``/items/{part}?cursor=N`` pages through ``pages`` pages of one record (a ``next`` cursor
until the last page); ``/teams`` pages ``teams`` records, 5 a page; ``/search/items`` is the same as
``/items/search`` under its own pool when one is declared. ``rejected`` counts the 429s.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from integration_tests.mocks.server import Request, Response

FAMILIES = ("ietf", "ietf-trio", "github", "x-seconds")


@dataclass
class Pool:
    prefix: str
    limit: int
    window: float


class LimitedApi:
    def __init__(self, pools: list[Pool], family: str = "ietf", pages: int = 10, teams: int = 0,
                 decimal_reset: bool = False, start_on_first: bool = False) -> None:
        assert family in FAMILIES
        self.pools = sorted(pools, key=lambda p: -len(p.prefix))  # the longest prefix wins
        self.family, self.pages, self.teams, self.decimal = family, pages, teams, decimal_reset
        self.start = math.floor(time.time())
        self._start_on_first = start_on_first  # the first window opens with the first request
        self.served: dict[str, int] = {}  # per pool prefix
        self.rejected = 0
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def __call__(self, req: Request) -> Response:
        pool = next(p for p in self.pools if req.path.startswith(p.prefix))
        now = time.time()
        with self._lock:
            if self._start_on_first:
                self.start, self._start_on_first = now, False
            index = int((now - self.start) / pool.window)
            used = self._counts.get((pool.prefix, index), 0)
            allowed = used < pool.limit
            if allowed:
                used = self._counts[(pool.prefix, index)] = used + 1
                self.served[pool.prefix] = self.served.get(pool.prefix, 0) + 1
            else:
                self.rejected += 1
        reset_at = self.start + (index + 1) * pool.window
        headers = self._headers(pool, pool.limit - used, reset_at, now)
        if not allowed:
            headers["Retry-After"] = str(math.ceil(reset_at - now))
            return Response.json({"message": "rate limit exceeded"}, 429, **headers)
        return Response.json(self._page(req), **headers)

    def _headers(self, pool: Pool, left: int, reset_at: float, now: float) -> dict[str, str]:
        secs = reset_at - now
        whole = str(max(0, math.ceil(secs)))
        name = pool.prefix.strip("/") or "default"
        if self.family == "ietf":
            t = f"{secs:.3f}" if self.decimal else whole
            return {"RateLimit": f'"{name}";r={left};t={t}',
                    "RateLimit-Policy": f'"{name}";q={pool.limit};w={math.ceil(pool.window)}'}
        if self.family == "ietf-trio":
            return {"RateLimit-Limit": str(pool.limit), "RateLimit-Remaining": str(left), "RateLimit-Reset": whole}
        reset = str(math.ceil(reset_at)) if self.family == "github" else whole
        return {"X-RateLimit-Limit": str(pool.limit), "X-RateLimit-Remaining": str(left),
                "X-RateLimit-Reset": reset, "X-RateLimit-Resource": name}

    def _page(self, req: Request) -> dict[str, object]:
        cursor = int(req.arg("cursor") or 0)
        if req.path == "/teams":
            ids = list(range(cursor * 5, min(self.teams, cursor * 5 + 5)))
            more = cursor * 5 + 5 < self.teams
            return {"data": [{"id": f"t{i}"} for i in ids], "next": str(cursor + 1) if more else None}
        part = req.path.rstrip("/").rsplit("/", 1)[-1]
        more = cursor + 1 < self.pages
        return {"data": [{"id": f"{part}-{cursor}", "page": cursor}], "next": str(cursor + 1) if more else None}
