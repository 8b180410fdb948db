"""A GitHub REST mock: org billing, Copilot billing/seats, members, repos (API-NOTES.md section 5).

Enforced like the real API:
- ``Authorization: Bearer <token>`` (401 ``Bad credentials`` otherwise) and a ``User-Agent``
  (403 without, as GitHub does);
- lists page with ``per_page`` (default 30, seats 50; capped at 100) and ``page``; the next page is
  only in the ``Link`` header (``rel="next"`` with ``rel="last"``; omitted when everything fits);
  the last page has no ``rel="next"``;
- ``x-ratelimit-*`` headers on every answer; primary limit = 403 with ``x-ratelimit-remaining: 0``
  and ``x-ratelimit-reset`` (epoch seconds), secondary limit = 429 with ``retry-after``; each
  armed once;
- unknown organizations are 404 ``Not Found``.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlencode

from integration_tests.mocks.common import ArmedFaults
from integration_tests.mocks.server import Request, Response

TOKEN = "ghp_mockR2D2C3POx7Kq9Lm4Np6Rs8Tu0Vw1Yz3"
ORG = "octo-org"
DOCS = "https://docs.github.com/rest"

Record = dict[str, Any]


def _user(i: int) -> Record:
    login = "octocat" if i == 0 else f"octo-user-{i}"
    return {"login": login, "id": 1000 + i, "node_id": f"MDQ6VXNlcj{1000 + i}", "type": "User", "site_admin": False,
            "avatar_url": f"https://avatars.githubusercontent.com/u/{1000 + i}?v=4",
            "url": f"https://api.github.com/users/{login}", "html_url": f"https://github.com/{login}"}


def _repo(i: int) -> Record:
    name = f"repo-{i:03d}"
    return {"id": 1296269 + i, "node_id": f"MDEwOlJlcG9zaXRvcnk{i}", "name": name, "full_name": f"{ORG}/{name}",
            "private": i % 3 == 0, "visibility": "private" if i % 3 == 0 else "public",
            "owner": {"login": ORG, "id": 9919, "type": "Organization"}, "fork": i % 7 == 0, "archived": False,
            "html_url": f"https://github.com/{ORG}/{name}", "description": f"Repository {i}",
            "default_branch": "main", "language": ["Python", "Go", "Rust"][i % 3], "size": 100 * i,
            "stargazers_count": i, "created_at": f"2020-01-{1 + i % 28:02d}T00:00:{i % 60:02d}Z",
            "updated_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z",
            "pushed_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T11:00:00Z"}


def _seat(i: int) -> Record:
    user = _user(i)
    return {"created_at": "2021-08-03T18:00:00-06:00", "updated_at": "2021-09-23T15:00:00-06:00",
            "pending_cancellation_date": "2021-11-01" if i % 50 == 7 else None,
            "last_activity_at": "2021-10-14T00:53:32-06:00", "last_activity_editor": "vscode/1.77.3/copilot/1.86.82",
            "last_authenticated_at": "2021-10-14T00:53:32-06:00", "plan_type": "business",
            "assignee": {k: user[k] for k in ("login", "id", "node_id", "type", "site_admin")},
            "assigning_team": {"id": 1, "slug": "justice-league", "name": "Justice League"} if i % 2 else None}


def _usage_items() -> list[Record]:
    items = []
    for day in range(1, 6):
        for product, sku, unit, price in (("Actions", "Actions Linux", "minutes", 0.008),
                                          ("Packages", "Packages storage", "GigabyteHours", 0.00033),
                                          ("Copilot", "Copilot Business", "UserMonths", 19.0)):
            qty = day * 10
            gross = round(qty * price, 5)
            items.append({"date": f"2025-01-{day:02d}", "product": product, "sku": sku, "quantity": qty,
                          "unitType": unit, "pricePerUnit": price, "grossAmount": gross, "discountAmount": 0,
                          "netAmount": gross, "organizationName": ORG,
                          "repositoryName": f"{ORG}/repo-001" if product != "Copilot" else None})
    return items


class GitHubMock:
    """An organization with 250 members, 210 Copilot seats and 120 repositories."""

    streams_with_data = ["actions_billing", "packages_billing", "shared_storage_billing", "copilot_billing",
                         "copilot_seats", "actions_usage", "org_members", "org_repos"]

    def __init__(self) -> None:
        self.members = [_user(i) for i in range(250)]
        self.seats = [_seat(i) for i in range(210)]
        self.repos = [_repo(i) for i in range(120)]
        self.objects: dict[str, Record] = {
            "settings/billing/actions": {"total_minutes_used": 305, "total_paid_minutes_used": 0, "included_minutes": 3000,
                                         "minutes_used_breakdown": {"UBUNTU": 205, "MACOS": 10, "WINDOWS": 90}},
            "settings/billing/packages": {"total_gigabytes_bandwidth_used": 50, "total_paid_gigabytes_bandwidth_used": 40,
                                          "included_gigabytes_bandwidth": 10},
            "settings/billing/shared-storage": {"days_left_in_billing_cycle": 20, "estimated_paid_storage_for_month": 15,
                                                "estimated_storage_for_month": 40},
            "copilot/billing": {"seat_breakdown": {"total": 210, "added_this_cycle": 9, "pending_invitation": 0,
                                                   "pending_cancellation": 5, "active_this_cycle": 200,
                                                   "inactive_this_cycle": 10},
                                "seat_management_setting": "assign_selected", "ide_chat": "enabled",
                                "platform_chat": "enabled", "cli": "enabled", "public_code_suggestions": "block",
                                "plan_type": "business"},
        }
        self.usage = _usage_items()
        self.remaining = 5000
        self._lock = threading.Lock()  # guards the remaining-calls count
        self.faults = ArmedFaults()

    # -- contract shared with the server and acceptance tests -----------------------------------
    def config(self, base_url: str) -> dict[str, Any]:
        return {"access_token": TOKEN, "org": ORG, "base_url": base_url.rstrip("/")}

    def cursor_field(self, stream: str) -> str | None:
        return "updated_at" if stream == "org_repos" else None

    def expected_records(self, stream: str, config_state: Any = None) -> list[Record]:
        paths = {"actions_billing": "settings/billing/actions", "packages_billing": "settings/billing/packages",
                 "shared_storage_billing": "settings/billing/shared-storage", "copilot_billing": "copilot/billing"}
        if stream in paths:
            return [{**self.objects[paths[stream]], "org": ORG}]
        if stream == "org_repos":
            floor = config_state.get("cursor") if isinstance(config_state, dict) else config_state
            return [r for r in self.repos if floor is None or r["updated_at"] >= floor]
        return {"copilot_seats": self.seats, "actions_usage": self.usage, "org_members": self.members}[stream]

    def inject_429(self, path_prefix: str, after: int = 1, retry_after: str = "1", kind: str = "secondary") -> None:
        """Arm one rate-limit answer under path_prefix after `after` matching requests.

        ``kind="secondary"``: 429 with retry-after; ``kind="primary"``: 403 with
        x-ratelimit-remaining 0 and x-ratelimit-reset one second ahead.
        """
        self.faults.arm(path_prefix, after + 1, retry_after=retry_after, kind=kind)

    # -- HTTP ----------------------------------------------------------------------------------
    def _rate_headers(self, remaining: int | None = None, reset: int | None = None) -> dict[str, str]:
        left = self.remaining if remaining is None else remaining
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(left),
                "x-ratelimit-used": str(5000 - left), "x-ratelimit-resource": "core",
                "x-ratelimit-reset": str(reset or int(time.time()) + 3600),
                "X-GitHub-Request-Id": "CAFE:BEEF:1:2:3"}

    def handler(self, req: Request) -> Response:
        if not req.header("User-Agent"):
            return Response.json({"message": "Request forbidden by administrative rules. Please make sure your "
                                  "request has a User-Agent header", "documentation_url": DOCS}, 403)
        if req.header("Authorization") != f"Bearer {TOKEN}":
            return Response.json({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, 401,
                                 **self._rate_headers(59))
        with self._lock:
            self.remaining -= 1
        return self._take_limit(req.path) or self._route(req)

    def _take_limit(self, path: str) -> Response | None:
        due = self.faults.take(path)
        if due is None:
            return None
        if due["kind"] == "primary":
            body = {"message": "API rate limit exceeded for user ID 1000. If you reach out to GitHub "
                               "Support for help, please include the request ID.", "documentation_url": DOCS,
                    "status": "403"}
            return Response.json(body, 403, **self._rate_headers(0, int(time.time()) + 1))
        body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
                           "you try again.", "documentation_url": DOCS, "status": "429"}
        return Response.json(body, 429, **{**self._rate_headers(), "retry-after": due["retry_after"]})

    def _route(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/", 2)
        if len(parts) < 3 or parts[0] not in ("orgs", "organizations") or parts[1] != ORG:
            return Response.json({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, 404,
                                 **self._rate_headers())
        prefix, rest = parts[0], parts[2]
        if prefix == "organizations":
            if rest == "settings/billing/usage":
                return Response.json({"usageItems": self.usage}, **self._rate_headers())
        elif rest in self.objects:
            return Response.json(self.objects[rest], **self._rate_headers())
        elif rest == "members":
            return self._page(req, self.members, 30)
        elif rest == "repos":
            rows = sorted(self.repos, key=lambda r: r["created_at"], reverse=req.arg("direction") != "asc")
            return self._page(req, rows, 30)
        elif rest == "copilot/billing/seats":
            return self._page(req, self.seats, 50, envelope=True)
        return Response.json({"message": "Not Found", "documentation_url": DOCS, "status": "404"}, 404,
                             **self._rate_headers())

    def _page(self, req: Request, rows: list[Record], default: int, envelope: bool = False) -> Response:
        per = min(int(req.arg("per_page") or default), 100)
        page = max(int(req.arg("page") or 1), 1)
        last = max(-(-len(rows) // per), 1)
        chunk = rows[(page - 1) * per: page * per]
        body: Any = {"total_seats": len(rows), "seats": chunk} if envelope else chunk
        headers = self._rate_headers()
        if last > 1:
            host = req.header("Host") or "127.0.0.1"
            query = {k: v[0] for k, v in req.query.items()}

            def link(n: int, rel: str) -> str:
                return f'<http://{host}{req.path}?{urlencode({**query, "per_page": per, "page": n})}>; rel="{rel}"'

            rels = []
            if page > 1:
                rels += [link(page - 1, "prev"), link(1, "first")]
            if page < last:
                rels += [link(page + 1, "next"), link(last, "last")]
            headers["Link"] = ", ".join(rels)
        return Response.json(body, **headers)


MOCK_CLASS = GitHubMock
