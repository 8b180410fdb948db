"""A Stripe v1 mock that behaves like the real list endpoints (API-NOTES.md section 1).

What it enforces, because the real API does:
- auth: ``Authorization: Bearer <secret key>`` (or Basic with the key as user name), else 401 with
  Stripe's error envelope;
- list objects ``{"object": "list", "url", "has_more", "data"}``, newest first; ``limit`` 1..100
  (default 10, anything else is a 400); ``starting_after`` must name an object of that list (400
  ``resource_missing`` otherwise); the last page says ``has_more: false`` even when it is full;
- ``created[gte|gt|lte|lt]`` filters (invoice items filter on ``date``);
- ``/v1/subscriptions`` hides canceled subscriptions unless ``status=all``;
- 429 with the ``rate_limit`` error body (no Retry-After, as Stripe documents none), armed once.

    mock = StripeMock()
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from integration_tests.mocks.common import ArmedFaults
from integration_tests.mocks.server import Request, Response

API_KEY = "sk_test_mock4eC39HqLyjWDarjtT1zdp7dc"
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z

Record = dict[str, Any]


def _id(prefix: str, stream: str, i: int) -> str:
    return f"{prefix}_{hashlib.sha1(f'{stream}:{i}'.encode()).hexdigest()[:14]}"


def _error(status: int, message: str, **extra: str) -> Response:
    body = {"error": {"type": "invalid_request_error", "message": message, **extra}}
    return Response.json(body, status, **{"Request-Id": "req_mock"})


# stream -> (URL path under /v1, id prefix, object name, how many objects)
LISTS: dict[str, tuple[str, str, str, int]] = {
    "customers": ("/customers", "cus", "customer", 120),
    "products": ("/products", "prod", "product", 6),
    "prices": ("/prices", "price", "price", 8),
    "charges": ("/charges", "ch", "charge", 300),
    "payment_intents": ("/payment_intents", "pi", "payment_intent", 9),
    "refunds": ("/refunds", "re", "refund", 4),
    "disputes": ("/disputes", "dp", "dispute", 3),
    "subscriptions": ("/subscriptions", "sub", "subscription", 12),
    "invoices": ("/invoices", "in", "invoice", 230),
    "invoice_items": ("/invoiceitems", "ii", "invoiceitem", 5),
    "plans": ("/plans", "plan", "plan", 3),
    "coupons": ("/coupons", "co", "coupon", 4),
    "promotion_codes": ("/promotion_codes", "promo", "promotion_code", 3),
    "credit_notes": ("/credit_notes", "cn", "credit_note", 2),
    "balance_transactions": ("/balance_transactions", "txn", "balance_transaction", 11),
    "payouts": ("/payouts", "po", "payout", 5),
    "transfers": ("/transfers", "tr", "transfer", 3),
    "events": ("/events", "evt", "event", 210),
    "checkout_sessions": ("/checkout/sessions", "cs_test", "checkout.session", 7),
    "setup_intents": ("/setup_intents", "seti", "setup_intent", 4),
}


def _fields(stream: str, i: int) -> Record:
    """A few realistic fields per object type (names from the Stripe docs and fixtures)."""
    cus = _id("cus", "customers", i % 120)
    extra: dict[str, Callable[[], Record]] = {
        "customers": lambda: {"email": f"user{i}@example.com", "name": f"Customer {i}", "currency": "usd",
                              "balance": 0, "delinquent": False, "address": None},
        "charges": lambda: {"amount": 100 + i, "amount_captured": 100 + i, "amount_refunded": 0,
                            "captured": True, "currency": "usd", "customer": cus, "paid": True,
                            "status": "succeeded", "balance_transaction": _id("txn", "x", i)},
        "invoices": lambda: {"customer": cus, "status": ["draft", "open", "paid", "void"][i % 4],
                             "amount_due": 1000, "amount_paid": 1000 * (i % 2), "currency": "usd",
                             "billing_reason": "manual", "collection_method": "charge_automatically"},
        "subscriptions": lambda: {"customer": cus, "currency": "usd",
                                  "status": "canceled" if i % 3 == 0 else "active",
                                  "items": {"object": "list", "data": []}},
        "events": lambda: {"type": "customer.created", "api_version": "2024-06-20", "pending_webhooks": 0,
                           "data": {"object": {"id": cus, "object": "customer"}},
                           "request": {"id": None, "idempotency_key": None}},
        "prices": lambda: {"product": _id("prod", "products", i % 6), "unit_amount": 500 * (i + 1),
                           "currency": "usd", "type": "recurring", "recurring": {"interval": "month"}},
        "products": lambda: {"name": f"Product {i}", "active": i % 2 == 0, "type": "service"},
    }
    return extra.get(stream, lambda: {"currency": "usd", "amount": 10 * (i + 1)})()


class StripeMock:
    """Deterministic Stripe data plus a handler that pages and filters it like the real API."""

    streams_with_data = [*LISTS, "payment_methods"]

    def __init__(self) -> None:
        self.data: dict[str, list[Record]] = {s: [self._make(s, i) for i in range(n)]
                                              for s, (_, _, _, n) in LISTS.items()}
        self.payment_methods: dict[str, list[Record]] = {}
        for i, cus in enumerate(self.data["customers"]):
            if i % 10 == 0:
                self.payment_methods[cus["id"]] = [self._card(cus, i, k) for k in range(1 + i % 2)]
        self.faults = ArmedFaults()

    # -- fixture data ------------------------------------------------------------------------
    def _make(self, stream: str, i: int) -> Record:
        _, prefix, obj, _ = LISTS[stream]
        when = "date" if stream == "invoice_items" else "created"
        rec: Record = {"id": _id(prefix, stream, i), "object": obj, when: T0 + i * 3600,
                       "livemode": False, "metadata": {}}
        if stream in ("balance_transactions", "refunds", "events"):
            rec.pop("metadata")
        rec.update(_fields(stream, i))
        return rec

    def _card(self, cus: Record, i: int, k: int) -> Record:
        return {"id": _id("pm", cus["id"], k), "object": "payment_method", "created": cus["created"] + k,
                "customer": cus["id"], "type": "card", "livemode": False, "metadata": {},
                "card": {"brand": "visa", "last4": f"{4242 + k}", "exp_month": 12, "exp_year": 2030},
                "billing_details": {"email": cus["email"], "name": None}}

    def add_records(self, stream: str, n: int) -> list[Record]:
        """New objects created after everything else (for a second incremental sync)."""
        made = [self._make(stream, len(self.data[stream]) + k) for k in range(n)]
        self.data[stream].extend(made)
        return made

    # -- the contract shared with the server and acceptance tests ------------------------------
    def config(self, base_url: str) -> dict[str, Any]:
        return {"api_key": API_KEY, "base_url": f"{base_url.rstrip('/')}/v1"}

    def cursor_field(self, stream: str) -> str | None:
        if stream == "payment_methods":
            return None  # a full snapshot: cards get attached to old customers
        return "date" if stream == "invoice_items" else "created"

    def expected_records(self, stream: str, config_state: Any = None) -> list[Record]:
        """What a full read returns, in the API's order; with a state only cursor >= state."""
        if stream == "payment_methods":
            out = [pm for cus in self._newest_first(self.data["customers"], "created")
                   for pm in self.payment_methods.get(cus["id"], [])]
        else:
            out = self._newest_first(self.data[stream], self.cursor_field(stream))
        floor, field = _cursor_of(config_state), self.cursor_field(stream)
        if floor is None or field is None:
            return out
        return [r for r in out if r[field] >= int(floor)]

    def inject_429(self, path_prefix: str, after: int = 1, retry_after: str | None = None) -> None:
        """Answer one request under path_prefix with 429, after `after` requests went through."""
        self.faults.arm(path_prefix, after + 1, retry_after=retry_after)

    # -- HTTP --------------------------------------------------------------------------------
    def handler(self, req: Request) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        limited = self._take_429(req.path)
        if limited:
            return limited
        if not req.path.startswith("/v1/"):
            return _error(404, f"Unrecognized request URL ({req.method}: {req.path}).")
        path = req.path[3:]
        if path.startswith("/customers/") and path.endswith("/payment_methods"):
            cus = path.split("/")[2]
            if not any(c["id"] == cus for c in self.data["customers"]):
                return _error(404, f"No such customer: '{cus}'", code="resource_missing", param="customer")
            return self._list(req, path, list(self.payment_methods.get(cus, [])), "created")
        for stream, (lpath, *_rest) in LISTS.items():
            if path == lpath:
                rows = self.data[stream]
                if stream == "subscriptions":
                    rows = _subscription_status(rows, req.arg("status"))
                return self._list(req, lpath, rows, "date" if stream == "invoice_items" else "created")
        return _error(404, f"Unrecognized request URL ({req.method}: {req.path}).")

    def _auth(self, req: Request) -> Response | None:
        header = req.header("Authorization") or ""
        key = ""
        if header.startswith("Bearer "):
            key = header[7:]
        elif header.startswith("Basic "):
            key = base64.b64decode(header[6:]).decode(errors="replace").split(":")[0]
        if not key:
            return _error(401, "You did not provide an API key. You need to provide your API key in the "
                               "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
        if key != API_KEY:
            return _error(401, f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}")
        return None

    def _take_429(self, path: str) -> Response | None:
        due = self.faults.take(path)
        if due is None:
            return None
        headers = {"Retry-After": due["retry_after"]} if due["retry_after"] else {}
        body = {"error": {"type": "invalid_request_error", "code": "rate_limit",
                          "message": "Request rate limit exceeded. Learn more about rate limits "
                                     "here https://stripe.com/docs/rate-limits."}}
        return Response.json(body, 429, **{"Request-Id": "req_mock429", **headers})

    def _list(self, req: Request, url: str, rows: list[Record], when: str) -> Response:
        try:
            limit = int(req.arg("limit", "10") or "10")
        except ValueError:
            return _error(400, "Invalid integer: limit", param="limit")
        if not 1 <= limit <= 100:
            return _error(400, "This value must be less than or equal to 100.", param="limit")
        for op, test in (("gte", int.__ge__), ("gt", int.__gt__), ("lte", int.__le__), ("lt", int.__lt__)):
            bound = req.arg(f"created[{op}]")
            if bound is not None:
                if not bound.lstrip("-").isdigit():
                    return _error(400, f"Invalid integer: {bound}", param=f"created[{op}]")
                rows = [r for r in rows if test(r[when], int(bound))]
        rows = self._newest_first(rows, when)
        after = req.arg("starting_after")
        if after is not None:
            ids = [r["id"] for r in rows]
            if after not in ids:
                return _error(400, f"No such object: '{after}'", code="resource_missing", param="starting_after")
            rows = rows[ids.index(after) + 1:]
        page = rows[:limit]
        return Response.json({"object": "list", "url": f"/v1{url}", "has_more": len(rows) > limit,
                              "data": page}, **{"Request-Id": "req_mock"})

    @staticmethod
    def _newest_first(rows: list[Record], when: str) -> list[Record]:
        return sorted(rows, key=lambda r: (r[when], r["id"]), reverse=True)


def _subscription_status(rows: list[Record], status: str | None) -> list[Record]:
    if status == "all":
        return rows
    if status:
        return [r for r in rows if r["status"] == status]
    return [r for r in rows if r["status"] != "canceled"]


def _cursor_of(state: Any) -> Any:
    """Accept a bare cursor, {"cursor": x}, or {"created": x}-style stream state."""
    if isinstance(state, dict):
        for key in ("cursor", "created", "date"):
            if key in state:
                return state[key]
        return None
    return state


MOCK_CLASS = StripeMock
