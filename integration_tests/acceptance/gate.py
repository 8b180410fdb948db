"""A fault gate in front of a mock API: pass requests through, or fail chosen ones on purpose.

The acceptance suite needs "the API broke in the middle of a stream" (checklist point 16) for APIs it
does not write itself (the demo API, the connector mocks). The gate is a MockServer handler that
either calls the mock's handler directly or forwards to an upstream URL, and fails every request
matching the chosen rules (one stream's endpoints, learnt from a run of that stream alone) once
``allow`` of them have passed (503 with ``Retry-After: 0``, so the
client's retries happen, and quickly):

    gate = Gate(upstream=mock.handler)
    with MockServer(gate) as srv:
        gate.fail(rules_for(requests_of_customers_run), allow=1)  # page 1 passes, then 503s
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests

from integration_tests.mocks.server import Request, Response

_AUTH_PATH = re.compile(r"/(oauth2?|token|login)(/|$)", re.I)
_ID = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9-]{12,}$")
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


@dataclass(frozen=True)
class Rule:
    """Requests of one stream to one path: the query values shared by all of them (``stable``) and
    the keys whose values change from page to page (``varying``: cursors, offsets)."""

    path: str
    stable: tuple[tuple[str, tuple[str, ...]], ...]
    varying: frozenset[str]
    body: bytes | None = None  # the POST body every request had (a search or bulk-job query)

    def matches(self, req: Request) -> bool:
        if req.path != self.path or (self.body is not None and req.body != self.body):
            return False
        rest = {k: tuple(v) for k, v in req.query.items() if k not in self.varying}
        return rest == dict(self.stable)


def rules_for(requests: list[Request], known: set[str] | frozenset[str] = frozenset()) -> list[Rule]:
    """Rules matching exactly these requests' endpoints, and not another stream's request that only
    shares the path (report variants with another ``group_by``, Salesforce's one query endpoint).

    Left out: the token endpoint, and paths naming a server-made id (a Salesforce query locator or
    bulk job id), which change from run to run and look alike across streams; an id the config
    gave (``known``, e.g. Cloudflare's account id) is part of the endpoint and stays."""
    by_path: dict[str, list[Request]] = {}
    for req in requests:
        made = [seg for seg in req.path.split("/") if _ID.match(seg) and seg not in known]
        if not _AUTH_PATH.search(req.path) and not made:
            by_path.setdefault(req.path, []).append(req)
    rules = []
    for path, reqs in by_path.items():
        queries = [{k: tuple(v) for k, v in r.query.items()} for r in reqs]
        keys = set().union(*queries)
        stable = {k: queries[0][k] for k in keys if all(q.get(k) == queries[0].get(k) for q in queries)}
        bodies = {r.body for r in reqs}
        body = bodies.pop() if len(bodies) == 1 and reqs[0].body else None
        rules.append(Rule(path, tuple(sorted(stable.items())), frozenset(keys - set(stable)), body))
    return rules


class Gate:
    """Callable handler; ``fail()`` arms a fault, ``clear()`` disarms it."""

    def __init__(self, upstream: Callable[[Request], Response]) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._allow = 0
        self._seen = 0
        self._status = 503
        self.failed = 0

    def fail(self, rules: list[Rule], allow: int = 0, status: int = 503) -> None:
        with self._lock:
            self._rules, self._allow, self._seen, self.failed, self._status = list(rules), allow, 0, 0, status

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def __call__(self, req: Request) -> Response:
        with self._lock:
            hit = any(rule.matches(req) for rule in self._rules)
            if hit:
                self._seen += 1
                hit = self._seen > self._allow
                self.failed += hit
        if hit:
            # Retry-After: 0 keeps the client's retries (it must make them) from costing seconds.
            return Response.json({"error": {"message": "injected failure"}}, self._status, **{"Retry-After": "0"})
        return self.upstream(req)
