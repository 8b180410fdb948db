"""A Zendesk Support API v2 mock that answers like {sub}.zendesk.com (per API-NOTES.md §8).

- ``Authorization: Basic base64("{email}/token:{api_token}")`` (or Bearer with the OAuth token),
  else 401 ``{"error": "Couldn't authenticate you"}``.
- Cursor exports (``/incremental/{tickets,users}/cursor.json``): ``start_time`` (unix, required on the
  first request) then ``cursor``; ordered by ``generated_timestamp``; ``per_page`` up to 1000;
  ``after_url``/``after_cursor`` on every page, ``end_of_stream`` true on the last; one empty page with
  ``end_of_stream: false`` in the middle of the tickets export (the notes say it happens).
- Time-based export (``/incremental/organizations.json``): ``end_time`` is the newest ``updated_at`` on
  the page and ``next_page`` = ``start_time=<end_time>``, so every organization updated in that second
  comes again at the top of the next page (organizations are updated four to a second: each boundary
  repeats four); ``end_of_stream`` when short.
- Lists: ``page[size]`` up to 100 (more is a 400), ``page[after]``, ``meta.has_more``, ``links.next``
  (null on the last page).
- ``X-Rate-Limit``/``X-Rate-Limit-Remaining`` on every answer; an armed 429 sends ``Retry-After``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from integration_tests.mocks.common import ArmedFaults, stream_cursor
from integration_tests.mocks.server import Request, Response

SUBDOMAIN = "solidafy"
EMAIL = "agent@example.com"
API_TOKEN = "zdtok-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
OAUTH_TOKEN = "zdoauth-0f1e2d3c4b5a"
BASE = datetime(2020, 2, 3, 17, 0, tzinfo=timezone.utc)
EXPORT_PAGE = 100  # what the connector sends as per_page
EXPORTS = {"tickets": "cursor", "users": "cursor", "organizations": "time"}
SMALL_LISTS = ["groups", "brands", "ticket_fields", "ticket_forms", "macros", "triggers", "automations", "views"]


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _times(i: int, n: int) -> tuple[datetime, datetime]:
    """created in id order, updated NOT in id order, every updated second distinct."""
    created = BASE + timedelta(hours=i)
    updated = BASE + timedelta(days=400, seconds=((i * 53) % n) * 61)
    return created, updated


def _shared_times(i: int, n: int) -> tuple[datetime, datetime]:
    """Like _times, but four records share each updated second (a bulk change, as real accounts have)."""
    created = BASE + timedelta(hours=i)
    return created, BASE + timedelta(days=400, seconds=((i * 53) % n) // 4 * 61)


def _rows(n: int, build: Callable[[int, datetime, datetime], dict[str, Any]],
          times: Callable[[int, int], tuple[datetime, datetime]] = _times) -> list[dict[str, Any]]:
    """``n`` records in id order, record ``i`` built from its times (see _times)."""
    return [build(i, *times(i, n)) for i in range(n)]


def _ticket(i: int, created: datetime, updated: datetime) -> dict[str, Any]:
    tid = 35436 + i
    return {
        "id": tid, "url": f"https://{SUBDOMAIN}.zendesk.com/api/v2/tickets/{tid}.json", "external_id": None,
        "subject": f"Help, my printer is on fire! #{i}", "description": "The smoke is very colorful.",
        "status": ["open", "pending", "solved", "closed"][i % 4], "priority": ["low", "high", None][i % 3],
        "type": "incident", "requester_id": 20978392 + i % 50, "submitter_id": 20978392 + i % 50,
        "assignee_id": 235323, "organization_id": 509974 + i % 30, "group_id": 98738, "brand_id": 1,
        "ticket_form_id": 1, "tags": ["enterprise", "printer"], "custom_fields": [],
        "via": {"channel": "web"}, "created_at": _iso(created), "updated_at": _iso(updated),
        "generated_timestamp": int(updated.timestamp()),
    }


def _user(i: int, created: datetime, updated: datetime) -> dict[str, Any]:
    uid = 20978392 + i
    return {
        "id": uid, "url": f"https://{SUBDOMAIN}.zendesk.com/api/v2/users/{uid}.json", "name": f"User {i}",
        "email": f"user{i}@example.com", "role": ["end-user", "agent", "admin"][i % 3],
        "organization_id": 509974 + i % 30, "active": True, "suspended": i % 17 == 0, "verified": True,
        "time_zone": "Eastern Time (US & Canada)", "locale": "en-US", "tags": [],
        "created_at": _iso(created), "updated_at": _iso(updated),
        "generated_timestamp": int(updated.timestamp()),
    }


def _organization(i: int, created: datetime, updated: datetime) -> dict[str, Any]:
    oid = 509974 + i
    return {
        "id": oid, "url": f"https://{SUBDOMAIN}.zendesk.com/api/v2/organizations/{oid}.json",
        "name": f"Org {i}", "domain_names": [f"org{i}.example"], "details": None, "notes": None,
        "group_id": None, "shared_tickets": False, "shared_comments": False, "tags": [],
        "created_at": _iso(created), "updated_at": _iso(updated),
    }


def _lists(tickets: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for k, name in enumerate(SMALL_LISTS):
        out[name] = [{"id": 360000000 + 1000 * k + i, "url": f"https://{SUBDOMAIN}.zendesk.com/api/v2/{name}/{i}.json",
                      "name": f"{name} {i}", "title": f"{name.title()} {i}", "active": True, "position": i,
                      "created_at": "2019-01-01T00:00:00Z", "updated_at": f"2019-0{1 + i}-01T00:00:00Z"}
                     for i in range(3 + k % 3)]
    out["ticket_metrics"] = [
        {"id": 900000 + t["id"], "ticket_id": t["id"], "url": f"https://{SUBDOMAIN}.zendesk.com/api/v2/ticket_metrics/{t['id']}.json",
         "reopens": 0, "replies": t["id"] % 4, "assignee_stations": 1, "group_stations": 1,
         "reply_time_in_minutes": {"calendar": 10, "business": 5}, "first_resolution_time_in_minutes": None,
         "full_resolution_time_in_minutes": None, "solved_at": None, "created_at": t["created_at"],
         "updated_at": t["updated_at"]}
        for t in tickets
    ]
    out["satisfaction_ratings"] = [
        {"id": 35121 + i, "url": f"https://{SUBDOMAIN}.zendesk.com/api/v2/satisfaction_ratings/{35121 + i}.json",
         "score": ["good", "bad"][i % 2], "comment": None, "reason": None, "ticket_id": 35436 + i,
         "requester_id": 20978392, "assignee_id": 235323, "group_id": 98738,
         "created_at": "2021-01-01T00:00:00Z", "updated_at": f"2021-01-{1 + i:02d}T00:00:00Z"}
        for i in range(6)
    ]
    out["tags"] = [{"name": name, "count": c} for name, c in (("enterprise", 250), ("printer", 250), ("vip", 3))]
    return out


def _encode(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _unix(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


class ZendeskMock:
    """In-memory Zendesk account; see the module docstring for what it enforces."""

    streams_with_data = ["tickets", "users", "organizations", "ticket_metrics", *SMALL_LISTS,
                         "satisfaction_ratings", "tags"]

    def __init__(self, email: str = EMAIL, api_token: str = API_TOKEN) -> None:
        self.email, self.api_token = email, api_token
        tickets = _rows(260, _ticket)
        self.data = {"tickets": tickets, "users": _rows(230, _user),
                     "organizations": _rows(215, _organization, _shared_times),
                     **_lists(tickets)}
        self.faults = ArmedFaults()

    # ------------------------------------------------------------------ reusable interface
    def config(self, base_url: str) -> dict[str, Any]:
        return {"subdomain": SUBDOMAIN, "email": self.email, "api_token": self.api_token,
                "start_date": "2020-01-01T00:00:00Z", "base_url": f"{base_url}/api/v2"}

    def oauth_config(self, base_url: str) -> dict[str, Any]:
        """An OAuth access token (sent as Bearer) instead of email + API token."""
        return {"subdomain": SUBDOMAIN, "access_token": OAUTH_TOKEN, "start_date": "2020-01-01T00:00:00Z",
                "base_url": f"{base_url}/api/v2"}

    def cursor_field(self, stream: str) -> str | None:
        return None if stream == "tags" else "updated_at"

    def expected_records(self, stream: str, config_state: Any = None) -> list[dict[str, Any]]:
        """What a full read returns, in API order, each record once (the connector drops the time-based
        export's boundary repeats; ``served_organizations`` is what the API sends)."""
        cursor = stream_cursor(stream, config_state)
        if stream in EXPORTS:
            start = _unix(cursor) if cursor else _unix("2020-01-01T00:00:00Z")
            if EXPORTS[stream] == "cursor":
                return self._export_order(stream, start)
            out: list[dict[str, Any]] = []
            seen: set[int] = set()
            for record in self.served_organizations(start):
                if record["id"] not in seen:
                    seen.add(record["id"])
                    out.append(record)
            return out
        records = self.data[stream]
        if cursor and stream != "tags":
            records = [r for r in records if r["updated_at"] >= cursor]
        return list(records)

    def served_organizations(self, start: int) -> list[dict[str, Any]]:
        """Every organization the time-based export sends from ``start``, boundary repeats included."""
        return [r for page, _end, _eos in self._time_pages(start, EXPORT_PAGE) for r in page]

    def inject_429(self, path_prefix: str, nth: int = 2, retry_after: str = "0.1") -> None:
        """Answer the ``nth`` request under ``path_prefix`` (counted from now) with one 429."""
        self.faults.arm(path_prefix, nth, retry_after=retry_after)

    # ------------------------------------------------------------------ HTTP
    def handler(self, req: Request) -> Response:
        basic = base64.b64encode(f"{self.email}/token:{self.api_token}".encode()).decode()
        if req.header("Authorization") not in (f"Basic {basic}", f"Bearer {OAUTH_TOKEN}"):
            return Response.json({"error": "Couldn't authenticate you"}, 401)
        fault = self._take_fault(req.path)
        if fault is not None:
            return fault
        resp = self._route(req)
        resp.headers.update({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "650"})
        return resp

    def _take_fault(self, path: str) -> Response | None:
        due = self.faults.take(path)
        if due is None:
            return None
        return Response(429, "Rate limit exceeded", {
            "Content-Type": "text/plain", "Retry-After": due["retry_after"],
            "X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "0"})

    def _route(self, req: Request) -> Response:
        path = req.path.removeprefix("/api/v2")
        if path == "/users/me.json":
            return Response.json({"user": {"id": 235323, "email": self.email, "role": "admin"}})
        if path in ("/incremental/tickets/cursor.json", "/incremental/users/cursor.json"):
            return self._cursor_export(path.split("/")[2], req)
        if path == "/incremental/organizations.json":
            return self._time_export(req)
        name = path.removeprefix("/").removesuffix(".json")
        if name in self.data:
            return self._list(name, req)
        return Response.json({"error": "InvalidEndpoint", "description": "Not found"}, 404)

    # ------------------------------------------------------------------ exports
    def _export_order(self, kind: str, start: int) -> list[dict[str, Any]]:
        rows = [r for r in self.data[kind] if r["generated_timestamp"] >= start]
        return sorted(rows, key=lambda r: (r["generated_timestamp"], r["id"]))

    def _cursor_export(self, kind: str, req: Request) -> Response:
        if req.arg("cursor"):  # the cursor remembers the page size of the first request
            try:
                pos = _decode(req.arg("cursor") or "")
            except ValueError:
                return Response.json({"error": "InvalidValue", "description": "Invalid cursor"}, 400)
        elif req.arg("start_time"):
            per_page = min(int(req.arg("per_page", "1000") or 1000), 1000)
            pos = {"start": int(req.arg("start_time") or 0), "offset": 0, "gap": False, "per_page": per_page}
        else:
            return Response.json({"error": "InvalidValue", "description": "start_time or cursor is required"}, 400)
        rows = self._export_order(kind, pos["start"])
        offset, per_page = pos["offset"], pos["per_page"]
        host = req.header("Host", f"{SUBDOMAIN}.zendesk.com")
        if kind == "tickets" and offset == 2 * per_page and not pos["gap"] and offset < len(rows):
            page: list[dict[str, Any]] = []  # the documented empty page that is not the end
            nxt = {**pos, "gap": True}
        else:
            page = rows[offset:offset + per_page]
            nxt = {**pos, "offset": offset + len(page)}
        after = _encode(nxt)
        before = _encode({**pos, "offset": max(0, offset - per_page)}) if offset else None
        url = f"http://{host}/api/v2/incremental/{kind}/cursor.json?cursor="
        return Response.json({
            kind: page, "after_url": url + after, "after_cursor": after,
            "before_url": url + before if before else None, "before_cursor": before,
            "end_of_stream": offset + len(page) >= len(rows) and bool(page or not rows),
        })

    def _time_pages(self, start: int, per_page: int) -> list[tuple[list[dict[str, Any]], int, bool]]:
        """Walk the time-based export the way a client does: the next start_time is end_time."""
        pages = []
        while True:
            page, end_time, eos = self._time_page(start, per_page)
            pages.append((page, end_time, eos))
            if eos:
                return pages
            start = end_time

    def _time_page(self, start: int, per_page: int) -> tuple[list[dict[str, Any]], int, bool]:
        rows = sorted((r for r in self.data["organizations"] if _unix(r["updated_at"]) >= start),
                      key=lambda r: (r["updated_at"], r["id"]))
        page = rows[:per_page]
        end_time = _unix(page[-1]["updated_at"]) if page else start
        return page, end_time, len(page) < per_page

    def _time_export(self, req: Request) -> Response:
        if not req.arg("start_time"):
            return Response.json({"error": "InvalidValue", "description": "start_time is required"}, 400)
        per_page = min(int(req.arg("per_page", "1000") or 1000), 1000)
        page, end_time, eos = self._time_page(int(req.arg("start_time") or 0), per_page)
        host = req.header("Host", f"{SUBDOMAIN}.zendesk.com")
        return Response.json({
            "organizations": page, "count": len(page), "end_time": end_time, "end_of_stream": eos,
            "next_page": f"http://{host}/api/v2/incremental/organizations.json?per_page={per_page}&start_time={end_time}",
        })

    # ------------------------------------------------------------------ lists
    def _list(self, name: str, req: Request) -> Response:
        size_arg = req.arg("page[size]")
        if size_arg is None:  # offset pagination is what Zendesk falls back to; we only mock cursors
            return Response.json({name: self.data[name][:100], "next_page": None, "count": len(self.data[name])})
        size = int(size_arg)
        if size > 100:
            return Response.json({"error": "InvalidPaginationParameter",
                                  "description": "page[size] must be less than or equal to 100"}, 400)
        rows = self.data[name]
        offset = _decode(req.arg("page[after]") or "")["offset"] if req.arg("page[after]") else 0
        page = rows[offset:offset + size]
        has_more = offset + size < len(rows)
        after = _encode({"offset": offset + size}) if page else None
        before = _encode({"offset": offset}) if page else None
        host = req.header("Host", f"{SUBDOMAIN}.zendesk.com")
        base = f"http://{host}/api/v2/{name}.json?{quote('page[size]')}={size}"
        return Response.json({
            name: page, "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
            "links": {"next": f"{base}&{quote('page[after]')}={after}" if has_more else None,
                      "prev": f"{base}&{quote('page[before]')}={before}" if offset else None},
        })


MOCK_CLASS = ZendeskMock
