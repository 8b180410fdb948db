"""A Cloudflare API v4 mock: account, billing profile, subscriptions, accounts list (API-NOTES.md section 4).

Enforced like the real API:
- ``Authorization: Bearer <token>``; otherwise the failure envelope with 401 (no or unknown token);
- every answer is the envelope ``{"success", "errors", "messages", "result"}``; an unknown account
  id is a 404 ``7003`` failure; ``result`` is an object for single objects, a list otherwise;
- ``/accounts`` pages with ``page`` (1-based) and ``per_page`` (5..50, default 20) and reports
  ``result_info {page, per_page, count, total_count, total_pages}``; past the end ``result`` is empty;
- subscriptions are one page (pagination parameters are ignored);
- ``Ratelimit``/``Ratelimit-Policy`` headers on every answer; 429 with ``retry-after``, armed once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from integration_tests.mocks.common import ArmedFaults
from integration_tests.mocks.server import Request, Response

API_TOKEN = "mockCfToken-gwR5UHWhisV9lO9jklS4g0igHd2R"
ACCOUNT_ID = "8a63ca6ad692678ffdd8aff0b1aaaa4a"
RATE_HEADERS = {"Ratelimit": '"default";r=50;t=30', "Ratelimit-Policy": '"default";q=1200;w=300'}

Record = dict[str, Any]


def _hex(seed: str) -> str:
    return hashlib.md5(seed.encode()).hexdigest()


def _envelope(result: Any, status: int = 200, info: Record | None = None, **headers: str) -> Response:
    body: Record = {"success": True, "errors": [], "messages": [], "result": result}
    if info is not None:
        body["result_info"] = info
    return Response.json(body, status, **{**RATE_HEADERS, **headers})


def _failure(status: int, code: int, message: str, **headers: str) -> Response:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    return Response.json(body, status, **{**RATE_HEADERS, **headers})


class CloudflareMock:
    """One configured account among 150 the token can see (three full pages of 50), with its billing data."""

    streams_with_data = ["account", "billing_profile", "subscriptions", "accounts"]

    def __init__(self) -> None:
        others = [{"id": _hex(f"acct{i}"), "name": f"Account {i:03d}", "type": "standard",
                   "settings": {"enforce_twofactor": i % 2 == 0, "abuse_contact_email": None},
                   "created_on": f"20{14 + i % 10}-03-01T12:21:02.0000Z"} for i in range(149)]
        self.account: Record = {"id": ACCOUNT_ID, "name": "Demo Account", "type": "enterprise",
                                "settings": {"enforce_twofactor": True, "abuse_contact_email": None},
                                "created_on": "2014-03-01T12:21:02.0000Z"}
        self.accounts = [*others[:40], self.account, *others[40:]]
        self.profile: Record = {
            "id": _hex("profile"), "account_type": "type", "first_name": "Jane", "last_name": "Doe",
            "company": "Demo Inc", "address": "101 Townsend St", "address2": None, "city": "San Francisco",
            "state": "CA", "zipcode": "94107", "country": "US", "telephone": "+1 555 0100",
            "primary_email": "billing@example.com", "payment_email": "billing@example.com",
            "payment_gateway": "stripe", "card_number": "xxxx-xxxx-xxxx-1234", "card_expiry_month": 12,
            "card_expiry_year": 2030, "balance": "0.00", "next_bill_date": "2025-06-01T00:00:00Z",
            "vat": None, "tax_id_type": None, "is_partner": False, "enterprise_billing_email": None,
            "created_on": "2014-03-01T12:21:59.3456Z", "edited_on": "2025-01-01T00:00:00Z",
        }
        plans = [("pro", "Pro Plan", "zone", 20), ("workers_paid", "Workers Paid", "account", 5),
                 ("r2_paid", "R2 Storage", "account", 0), ("pages_pro", "Pages Pro", "account", 25)]
        self.subscriptions = [{
            "id": _hex(f"sub{i}"), "currency": "USD", "current_period_start": "2025-05-01T00:00:00Z",
            "current_period_end": "2025-06-01T00:00:00Z", "frequency": "monthly", "price": price,
            "state": "Paid" if i != 3 else "Cancelled", "component_values": [],
            "rate_plan": {"id": plan, "public_name": name, "currency": "USD", "scope": scope,
                          "externally_managed": False, "is_contract": False, "sets": []},
        } for i, (plan, name, scope, price) in enumerate(plans)]
        self.faults = ArmedFaults()

    # -- contract shared with the server and acceptance tests -----------------------------------
    def config(self, base_url: str) -> dict[str, Any]:
        return {"api_token": API_TOKEN, "account_id": ACCOUNT_ID, "base_url": f"{base_url.rstrip('/')}/client/v4"}

    def cursor_field(self, stream: str) -> str | None:
        return None  # full snapshots: no endpoint here filters by time

    def expected_records(self, stream: str, config_state: Any = None) -> list[Record]:
        return {"account": [self.account], "billing_profile": [self.profile],
                "subscriptions": list(self.subscriptions), "accounts": list(self.accounts)}[stream]

    def inject_429(self, path_prefix: str, after: int = 1, retry_after: str = "1") -> None:
        """Answer one request under path_prefix with 429 after `after` matching requests."""
        self.faults.arm(path_prefix, after + 1, retry_after=retry_after)

    # -- HTTP ----------------------------------------------------------------------------------
    def handler(self, req: Request) -> Response:
        auth = req.header("Authorization") or ""
        if not auth:
            return _failure(401, 10000, "Authentication error")
        if auth != f"Bearer {API_TOKEN}":
            return _failure(401, 10000, "Authentication error", **{"cf-ray": "8f00mock"})
        limited = self._take_429(req.path)
        if limited:
            return limited
        path = req.path.removeprefix("/client/v4")
        if path == "/accounts":
            return self._accounts(req)
        parts = path.strip("/").split("/")
        if parts[0] != "accounts" or len(parts) < 2:
            return _failure(404, 7000, "No route for that URI")
        if parts[1] != ACCOUNT_ID:
            return _failure(404, 7003, f"Could not route to /accounts/{parts[1]}, perhaps your object "
                                       "identifier is invalid?")
        rest = "/".join(parts[2:])
        if rest == "":
            return _envelope(self.account)
        if rest == "billing/profile":
            return _envelope(self.profile)
        if rest == "subscriptions":
            return _envelope(self.subscriptions)
        return _failure(404, 7000, "No route for that URI")

    def _take_429(self, path: str) -> Response | None:
        due = self.faults.take(path)
        if due is None:
            return None
        return _failure(429, 971, "Please wait and consider throttling your request speed",
                        **{"retry-after": due["retry_after"]})

    def _accounts(self, req: Request) -> Response:
        page_raw, per_raw = req.arg("page", "1") or "1", req.arg("per_page", "20") or "20"
        if not page_raw.isdigit() or int(page_raw) < 1:
            return _failure(400, 1001, "Invalid page: must be a positive integer")
        if not per_raw.isdigit() or not 5 <= int(per_raw) <= 50:
            return _failure(400, 1001, "Invalid per_page: must be between 5 and 50")
        page, per = int(page_raw), int(per_raw)
        rows = sorted(self.accounts, key=lambda a: a["name"], reverse=req.arg("direction") == "desc")
        chunk = rows[(page - 1) * per: page * per]
        total_pages = -(-len(rows) // per)
        info = {"page": page, "per_page": per, "count": len(chunk), "total_count": len(rows),
                "total_pages": total_pages}
        return _envelope(chunk, info=info)


MOCK_CLASS = CloudflareMock
