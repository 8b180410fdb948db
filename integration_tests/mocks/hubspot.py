"""A HubSpot CRM v3 mock that answers like api.hubapi.com (per /work/shared/docs/API-NOTES.md §6).

- ``Authorization: Bearer <token>`` (the private app token, or an access token this mock issued) or
  401 with HubSpot's error body (category INVALID_AUTHENTICATION).
- ``POST /oauth/v1/token`` (form ``grant_type=refresh_token``, ``client_id``, ``client_secret``,
  ``refresh_token``) answers ``{"token_type": "bearer", "refresh_token", "access_token",
  "expires_in": 1800}``; a wrong grant, client or refresh token is 400 with HubSpot's OAuth error body
  (``status`` BAD_GRANT_TYPE / BAD_CLIENT_ID / BAD_REFRESH_TOKEN, ``message``). The answer's
  ``refresh_token`` is the one sent, unless ``rotate_refresh_tokens``: then each refresh answers a new
  one and revokes the one it used (as rotating OAuth servers do; a later use is BAD_REFRESH_TOKEN).
- GET lists: ``limit`` (default 10, capped at 100), ``after`` = the next object's id, last page has no
  ``paging`` key; ``properties`` picks which properties come back (only those asked for).
- POST ``/<type>/search``: ``limit`` up to 200 (more is a 400), ``after`` is an offset in the body,
  sorted by the requested property, ``filterGroups`` GTE/LTE/GT/LT on the last-modified property
  (epoch ms or ISO), ``total`` in the body, 400 past 10,000 results.
- GET ``/crm/v3/properties/<type>`` answers every property of the type, HubSpot's own
  (``hubspotDefined: true``) and the portal's custom ones (no ``hubspotDefined``), as
  ``{"results": [{"name", "label", "type", "fieldType", "groupName", "description", "options",
  "displayOrder", "calculated", "externalOptions", "hasUniqueValue", "hidden", "formField",
  "createdAt", "updatedAt", ...}]}`` (no paging; HubSpot's properties API, as its SDKs model it).
  The objects carry values for the custom properties too; ``custom_properties=False`` makes a
  portal without any.
- Every answer carries the X-HubSpot-RateLimit-* headers; an armed 429 answers HubSpot's
  RATE_LIMITS body with ``X-HubSpot-RateLimit-Remaining: 0`` and a Retry-After. The window
  (``-Interval-Milliseconds``) is HubSpot's 10 s unless ``window_ms`` says otherwise.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from datetime import datetime
from typing import Any

from integration_tests.mocks.common import ArmedFaults, stream_cursor
from integration_tests.mocks.hubspot_data import (
    CLIENT_ID,
    CLIENT_SECRET,
    LIST_STREAMS,
    OBJECTS,
    OWNERS,
    PIPELINES,
    REFRESH_TOKEN,
    SEARCH_CAP,
    SEARCH_STREAMS,
    TOKEN,
    objects,
    parse_time,
    property_definitions,
)
from integration_tests.mocks.server import Request, Response


def _error(status: int, category: str, message: str, **headers: str) -> Response:
    body = {"status": "error", "message": message, "correlationId": "a43683b0-5717-4ceb-80b4-104d02915d8c",
            "category": category}
    return Response.json(body, status, **headers)


class HubSpotMock:
    """In-memory HubSpot portal; see the module docstring for what it enforces."""

    streams_with_data = [*SEARCH_STREAMS, *LIST_STREAMS, "owners", "deal_pipelines", "ticket_pipelines"]

    def __init__(self, token: str = TOKEN, search_cap: int = SEARCH_CAP, rotate_refresh_tokens: bool = False,
                 custom_properties: bool = True, sizes: dict[str, int] | None = None) -> None:
        self.token = token
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.refresh_token = REFRESH_TOKEN  # the one refresh token that works now
        self.search_cap = search_cap  # HubSpot's is 10,000; tests lower it to reach it quickly
        self.custom_properties = custom_properties
        self.data = {kind: objects(kind, custom_properties, (sizes or {}).get(kind))  # sizes: a bigger portal
                     for kind in OBJECTS}
        self._moments: dict[str, datetime] = {}  # property value -> the instant it names (parsed once)
        self.fail_search_at: int | None = None  # this search request (1 = the first) answers a 400
        self._index: dict[str, tuple[list[datetime], list[dict[str, Any]]]] = {}  # kind -> by last-modified
        self.search_bodies: list[dict[str, Any]] = []
        self.token_forms: list[dict[str, str]] = []  # every POST /oauth/v1/token form, in order
        self.issued: list[str] = []  # access tokens the OAuth endpoint handed out
        self.faults = ArmedFaults()
        self.window_ms = 10000  # X-HubSpot-RateLimit-Interval-Milliseconds: HubSpot's ten-second window
        self._lock = threading.Lock()  # guards token_forms and issued

    # ------------------------------------------------------------------ reusable interface
    def config(self, base_url: str) -> dict[str, Any]:
        return {"access_token": self.token, "base_url": base_url}

    def oauth_config(self, base_url: str) -> dict[str, Any]:
        """OAuth app credentials instead of a private app token; token_url is this mock."""
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
                "token_url": f"{base_url}/oauth/v1/token", "base_url": base_url}

    def cursor_field(self, stream: str) -> str | None:
        return None if stream.endswith("_pipelines") else "updatedAt"

    def expected_records(self, stream: str, config_state: Any = None) -> list[dict[str, Any]]:
        """What a full read returns, in the order the API sends it; at/after the cursor when given."""
        if stream.endswith("_pipelines"):
            return PIPELINES[stream.split("_")[0] + "s"]
        records = OWNERS if stream == "owners" else self.data[stream]
        if stream in SEARCH_STREAMS:
            records = sorted(records, key=lambda r: (r["updatedAt"], r["id"]))
        cursor = stream_cursor(stream, config_state)
        if cursor is not None:
            floor = parse_time(cursor)
            records = [r for r in records if parse_time(r["updatedAt"]) >= floor]
        return list(records)

    def inject_429(self, path_prefix: str, nth: int = 2, retry_after: str | None = "0.1") -> None:
        """Answer the ``nth`` request under ``path_prefix`` (counted from now) with one 429."""
        self.faults.arm(path_prefix, nth, retry_after=retry_after)

    def _window(self, kind: str, body: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The common query (one group of range filters on the last-modified property, sorted by it
        ascending) answered from an index, as the real search is: the same records, in O(log n).
        None for any other query (answered by the general filter)."""
        prop = OBJECTS[kind][1]
        groups = body.get("filterGroups") or [{"filters": []}]
        filters = groups[0].get("filters") or []
        if len(groups) > 1 or body.get("sorts") not in (None, [], [{"propertyName": prop, "direction": "ASCENDING"}]) \
                or any(f.get("propertyName") != prop or f.get("operator") not in _BISECT for f in filters):
            return None
        index = self._index.get(kind)
        if index is None:  # built on the first search: tests change the fixture before reading
            rows = sorted(((self._moment(r["properties"][prop]), r["id"], r) for r in self.data[kind]
                           if r["properties"].get(prop)), key=lambda t: (t[0], t[1]))
            index = self._index[kind] = ([m for m, _, _ in rows], [r for _, _, r in rows])
        moments, records = index
        lo, hi = 0, len(records)
        for f in filters:
            side, is_low = _BISECT[f["operator"]]
            at = side(moments, self._moment(str(f["value"])))
            lo, hi = (max(lo, at), hi) if is_low else (lo, min(hi, at))
        return records[lo:hi]

    def _moment(self, value: str) -> datetime:
        found = self._moments.get(value)
        if found is None:
            found = self._moments[value] = parse_time(value)
        return found

    # ------------------------------------------------------------------ HTTP
    def handler(self, req: Request) -> Response:
        if req.path == "/oauth/v1/token":
            return self._token(req)
        with self._lock:
            accepted = {f"Bearer {t}" for t in (self.token, *self.issued)}
        if req.header("Authorization") not in accepted:
            return _error(401, "INVALID_AUTHENTICATION",
                          "Authentication credentials not found. This API supports OAuth 2.0 authentication.")
        fault = self._take_fault(req.path)
        if fault is not None:
            return fault
        resp = self._route(req)
        resp.headers.update({"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249000",
                             "X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "180",
                             "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.window_ms)})
        return resp

    def _token(self, req: Request) -> Response:
        if req.method != "POST":
            return Response.json({"status": "error", "message": "POST required"}, 405)
        form = req.form()
        with self._lock:
            self.token_forms.append(form)
        checks = [("grant_type", "refresh_token", "BAD_GRANT_TYPE", "unsupported grant type"),
                  ("client_id", CLIENT_ID, "BAD_CLIENT_ID", "missing or invalid client id"),
                  ("client_secret", CLIENT_SECRET, "BAD_CLIENT_ID", "missing or invalid client secret"),
                  ("refresh_token", self.refresh_token, "BAD_REFRESH_TOKEN", "missing or unknown refresh token")]
        with self._lock:
            for field, want, status, message in checks:
                if form.get(field) != want:
                    return Response.json({"status": status, "message": message,
                                          "correlationId": "5d1b3c2a-0000-4000-8000-000000000000"}, 400)
            access = f"CJSP5qf1KhICAQEYs-gDIIGOBii1{len(self.issued):04d}"
            self.issued.append(access)
            if self.rotate_refresh_tokens:
                self.refresh_token = f"na1-refresh-rotated-{len(self.issued):04d}"
            refresh = self.refresh_token
        return Response.json({"token_type": "bearer", "refresh_token": refresh, "access_token": access,
                              "expires_in": 1800})

    def _take_fault(self, path: str) -> Response | None:
        due = self.faults.take(path)
        if due is None:
            return None
        headers = {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "0",
                   "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.window_ms)}
        if due["retry_after"] is not None:
            headers["Retry-After"] = due["retry_after"]
        return _error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.", **headers)

    def _route(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")
        if parts[:3] == ["crm", "v3", "objects"] and len(parts) == 5 and parts[4] == "search":
            if req.method != "POST":
                return _error(405, "VALIDATION_ERROR", "search requires POST")
            return self._search(parts[3], req)
        if parts[:3] == ["crm", "v3", "objects"] and len(parts) == 4 and req.method == "GET":
            return self._list(parts[3], req)
        if parts == ["crm", "v3", "owners"] and req.method == "GET":
            return self._page(OWNERS, req, None)
        if parts[:3] == ["crm", "v3", "properties"] and len(parts) == 4 and req.method == "GET":
            if parts[3] not in OBJECTS:
                return _error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {parts[3]}")
            return Response.json({"results": property_definitions(parts[3], self.custom_properties)})
        if parts[:3] == ["crm", "v3", "pipelines"] and len(parts) == 4 and parts[3] in PIPELINES:
            return Response.json({"results": PIPELINES[parts[3]]})
        return _error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {req.path}")

    def _list(self, kind: str, req: Request) -> Response:
        if kind not in self.data:
            return _error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {kind}")
        wanted = ",".join(req.query.get("properties", [])).split(",")
        return self._page(self.data[kind], req, [p for p in wanted if p])

    def _page(self, records: list[dict[str, Any]], req: Request, props: list[str] | None) -> Response:
        limit = min(int(req.arg("limit", "10") or 10), 100)
        after = req.arg("after")
        start = 0
        if after:
            ids = [r["id"] for r in records]
            if after not in ids:
                return _error(400, "VALIDATION_ERROR", f"Invalid after cursor: {after}")
            start = ids.index(after)
        chunk = [_select(r, props) for r in records[start:start + limit]]
        body: dict[str, Any] = {"results": chunk}
        if start + limit < len(records):
            nxt = records[start + limit]["id"]
            host = req.header("Host", "api.hubapi.com")
            body["paging"] = {"next": {"after": nxt, "link": f"http://{host}{req.path}?limit={limit}&after={nxt}"}}
        return Response.json(body)

    def _search(self, kind: str, req: Request) -> Response:
        if kind not in self.data:
            return _error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {kind}")
        try:
            body = req.json() or {}
        except ValueError:
            return _error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
        self.search_bodies.append(body)
        if len(self.search_bodies) == self.fail_search_at:  # a failure mid-sync, not retried
            return _error(400, "VALIDATION_ERROR", "mock: injected failure of this search request")
        limit = int(body.get("limit", 10))
        if limit > 200:
            return _error(400, "VALIDATION_ERROR", "limit must be less than or equal to 200")
        offset = int(body.get("after") or 0)
        if offset + limit > self.search_cap:
            return _error(400, "VALIDATION_ERROR", "Search results are limited to 10,000 total results")
        matches = self._window(kind, body)
        if matches is None:
            matches = [r for r in self.data[kind] if _matches(r, body.get("filterGroups") or [], self._moment)]
            for sort in reversed(body.get("sorts") or []):
                prop = sort["propertyName"]
                matches.sort(key=lambda r, p=prop: (r["properties"].get(p) or "", r["id"]),
                             reverse=sort.get("direction") == "DESCENDING")
        props = body.get("properties") or ["createdate", "hs_object_id", OBJECTS[kind][1]]
        page = [_select(r, props) for r in matches[offset:offset + limit]]
        out: dict[str, Any] = {"total": len(matches), "results": page}
        if offset + limit < len(matches):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return Response.json(out)


_BISECT = {"GTE": (bisect_left, True), "GT": (bisect_right, True), "LT": (bisect_left, False),
           "LTE": (bisect_right, False)}


def _select(record: dict[str, Any], props: list[str] | None) -> dict[str, Any]:
    if props is None:
        return record
    return {**record, "properties": {k: v for k, v in record["properties"].items() if k in props}}


def _matches(record: dict[str, Any], groups: list[dict[str, Any]], moment: Any = parse_time) -> bool:
    """filterGroups are OR-ed, filters inside a group AND-ed (HubSpot's rule)."""
    if not groups:
        return True
    return any(all(_filter_ok(record, f, moment) for f in g.get("filters", [])) for g in groups)


def _filter_ok(record: dict[str, Any], flt: dict[str, Any], moment: Any = parse_time) -> bool:
    have = record["properties"].get(flt["propertyName"])
    if have is None:
        return False
    left, right = moment(have), moment(str(flt["value"]))
    ops = {"GTE": left >= right, "GT": left > right, "LTE": left <= right, "LT": left < right, "EQ": left == right}
    return ops[flt["operator"]]


MOCK_CLASS = HubSpotMock
