"""A Shopify Admin REST mock that answers like {shop}.myshopify.com (per API-NOTES.md §7).

- ``X-Shopify-Access-Token`` or 401 ``{"errors": "[API] Invalid API key or access token ..."}``.
- ``/admin/api/<version>/<resource>.json``: records under the plural key (locations: no filters);
  ``limit`` default 50,
  at most 250; first request filters (``updated_at_min``/``_max``, ``created_at_min``/``_max``,
  ``since_id``, ``order=updated_at asc``, orders ``status`` defaulting to ``open``).
- Pagination by ``Link`` header with an opaque ``page_info`` carrying the filters; a follow-up
  request with anything but ``page_info``, ``limit``, ``fields`` is a 400; middle pages have
  rel="previous" and rel="next", the last page only rel="previous".
- ``X-Shopify-Shop-Api-Call-Limit: n/40`` on every answer; an armed 429 answers
  ``{"errors": "Exceeded 2 calls per second for api client. ..."}`` with a (fractional) Retry-After.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from integration_tests.mocks.common import ArmedFaults, stream_cursor
from integration_tests.mocks.server import Request, Response

TOKEN = "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"
SHOP = "solidafy-test.myshopify.com"
VERSION = "2025-01"
EST = timezone(timedelta(hours=-5))
BASE = datetime(2024, 1, 1, 9, 0, tzinfo=EST)
FOLLOW_UP_PARAMS = {"page_info", "limit", "fields"}
FILTERS = {"updated_at_min", "updated_at_max", "created_at_min", "created_at_max", "since_id", "order", "status",
           "ids", "fields"}


def _ts(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _times(i: int, n: int) -> tuple[str, str]:
    """created in id order; updated NOT in id order (i * 53 mod n minutes after a month)."""
    created = BASE + timedelta(hours=i)
    updated = BASE + timedelta(days=40, minutes=(i * 53) % n)
    return _ts(created), _ts(updated)


def _products(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        pid = 632910392 + i
        created, updated = _times(i, n)
        out.append({
            "id": pid, "title": f"IPod Nano - {i}GB", "body_html": f"<p>Product {i}</p>", "vendor": "Apple",
            "product_type": "Cult Products", "created_at": created, "handle": f"ipod-nano-{i}",
            "updated_at": updated, "published_at": created, "template_suffix": None, "published_scope": "web",
            "status": ["active", "draft", "archived"][i % 3], "tags": "Emotive, Flash Memory",
            "admin_graphql_api_id": f"gid://shopify/Product/{pid}",
            "variants": [{"id": 808950810 + i, "product_id": pid, "title": "Pink", "price": f"{199 + i}.00",
                          "sku": f"IPOD{i:04d}PINK"}],
            "options": [{"id": 594680422 + i, "product_id": pid, "name": "Color", "position": 1}], "images": [],
            "image": None,
        })
    return out


def _orders(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        oid = 450789469 + i
        created, updated = _times(i, n)
        kind = ("open", "closed", "cancelled")[i % 3]
        out.append({
            "id": oid, "name": f"#{1001 + i}", "order_number": 1001 + i, "email": f"buyer{i}@example.com",
            "created_at": created, "updated_at": updated, "processed_at": created,
            "closed_at": updated if kind == "closed" else None,
            "cancelled_at": updated if kind == "cancelled" else None,
            "cancel_reason": "customer" if kind == "cancelled" else None,
            "financial_status": "paid" if kind != "cancelled" else "refunded",
            "fulfillment_status": "fulfilled" if kind == "closed" else None, "currency": "USD",
            "total_price": f"{10 + i}.00", "subtotal_price": f"{9 + i}.00", "total_tax": "1.00",
            "total_discounts": "0.00", "tags": "",
            "customer": {"id": 207119551 + i % 40, "email": f"buyer{i}@example.com"},
            "line_items": [{"id": 466157049 + i, "product_id": 632910392 + i % 50, "variant_id": 808950810 + i % 50,
                            "title": "IPod Nano", "quantity": 1 + i % 3, "price": "9.00"}],
            "shipping_address": None, "billing_address": None,
        })
    return out


def _customers(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        created, updated = _times(i, n)
        out.append({
            "id": 207119551 + i, "email": f"customer{i}@example.com", "first_name": f"Bob{i}",
            "last_name": "Norman", "phone": None, "state": ["enabled", "disabled", "invited"][i % 3],
            "verified_email": True, "orders_count": i % 5, "total_spent": f"{i * 3}.00", "currency": "USD",
            "tags": "", "note": None, "created_at": created, "updated_at": updated, "default_address": None,
            "addresses": [],
        })
    return out


def _collections(n: int, start: int, smart: bool) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        created, updated = _times(i, n)
        item: dict[str, Any] = {"id": start + i, "title": f"Collection {i}", "handle": f"collection-{i}",
                                "body_html": None, "sort_order": "best-selling", "published_scope": "web",
                                "updated_at": updated, "published_at": created}
        if smart:
            item.update({"disjunctive": False, "rules": [{"column": "vendor", "relation": "equals",
                                                          "condition": "Apple"}]})
        out.append(item)
    return out


def _price_rules(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        created, updated = _times(i, n)
        out.append({"id": 507328175 + i, "title": f"SUMMER{i}", "value_type": ["percentage", "fixed_amount"][i % 2],
                    "value": f"-{5 + i}.0", "customer_selection": "all", "target_type": "line_item",
                    "target_selection": "all", "allocation_method": "across", "once_per_customer": False,
                    "usage_limit": None, "starts_at": created, "ends_at": None, "created_at": created,
                    "updated_at": updated})
    return out


def _locations(n: int) -> list[dict[str, Any]]:
    return [{"id": 487838322 + i, "name": f"Warehouse {i}", "address1": f"{100 + i} Main St", "address2": None,
             "city": "Ottawa", "province": "Ontario", "zip": "K1P 1J1", "country_code": "CA", "phone": None,
             "active": True, "legacy": False, "created_at": _ts(BASE + timedelta(days=i)),
             "updated_at": _ts(BASE + timedelta(days=i, hours=1))} for i in range(n)]


def _parse(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _bad_request(errors: Any) -> Response:
    return Response.json({"errors": errors}, 400)


class ShopifyMock:
    """In-memory store; see the module docstring for what it enforces."""

    streams_with_data = ["products", "orders", "customers", "custom_collections", "smart_collections",
                         "price_rules", "locations"]

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.data = {
            "products": _products(620),
            "orders": _orders(540),
            "customers": _customers(505),
            "custom_collections": _collections(12, 841564295, smart=False),
            "smart_collections": _collections(7, 482865238, smart=True),
            "price_rules": _price_rules(9),
            "locations": _locations(3),
        }
        self.faults = ArmedFaults()
        self._lock = threading.Lock()  # guards the call count
        self.calls = 0

    # ------------------------------------------------------------------ reusable interface
    def config(self, base_url: str) -> dict[str, Any]:
        return {"shop_domain": SHOP, "access_token": self.token, "api_version": VERSION,
                "base_url": f"{base_url}/admin/api/{VERSION}"}

    def cursor_field(self, stream: str) -> str | None:
        return "updated_at"

    def expected_records(self, stream: str, config_state: Any = None) -> list[dict[str, Any]]:
        """A full read: every object (orders of every status) in updated_at order, at/after the cursor.

        Locations take no filters and come in id order (their updated_at grows with the id)."""
        records = sorted(self.data[stream], key=lambda r: (_parse(r["updated_at"]), r["id"]))
        cursor = stream_cursor(stream, config_state)
        if cursor is not None:
            records = [r for r in records if _parse(r["updated_at"]) >= _parse(cursor)]
        return records

    def inject_429(self, path_prefix: str, nth: int = 2, retry_after: str = "0.1") -> None:
        """Answer the ``nth`` request under ``path_prefix`` (counted from now) with one 429."""
        self.faults.arm(path_prefix, nth, retry_after=retry_after)

    # ------------------------------------------------------------------ HTTP
    def handler(self, req: Request) -> Response:
        with self._lock:
            self.calls += 1
            used = f"{min(self.calls, 39)}/40"
        if req.header("X-Shopify-Access-Token") != self.token:
            return Response.json(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401)
        fault = self._take_fault(req.path)
        if fault is not None:
            return fault
        resp = self._route(req)
        resp.headers["X-Shopify-Shop-Api-Call-Limit"] = used
        return resp

    def _take_fault(self, path: str) -> Response | None:
        due = self.faults.take(path)
        if due is None:
            return None
        return Response.json(
            {"errors": "Exceeded 2 calls per second for api client. "
                       "Reduce request rates to resume uninterrupted service."},
            429, **{"Retry-After": due["retry_after"], "X-Shopify-Shop-Api-Call-Limit": "40/40"})

    def _route(self, req: Request) -> Response:
        prefix = "/admin/api/"
        if not req.path.startswith(prefix) or not req.path.endswith(".json"):
            return Response.json({"errors": "Not Found"}, 404)
        version, _, resource = req.path[len(prefix):-len(".json")].partition("/")
        if version != VERSION:
            return Response.json({"errors": "Not Found"}, 404)
        if resource == "shop":
            return Response.json({"shop": {"id": 548380009, "name": "Solidafy Test", "myshopify_domain": SHOP}})
        if resource not in self.data:
            return Response.json({"errors": "Not Found"}, 404)
        return self._list(resource, req)

    def _list(self, resource: str, req: Request) -> Response:
        params = {k: v[0] for k, v in req.query.items()}
        try:
            limit = int(params.get("limit", "50"))
        except ValueError:
            return _bad_request({"limit": "limit must be an integer"})
        limit = max(1, min(limit, 250))
        if "page_info" in params:
            extra = sorted(set(params) - FOLLOW_UP_PARAMS)
            if extra:
                return _bad_request({k: f"{k} cannot be passed when page_info is present." for k in extra})
            try:
                raw = params["page_info"]
                position = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            except ValueError:
                return _bad_request({"page_info": "Invalid value."})
            filters, offset = position["filters"], position["offset"]
        else:
            filters, offset = {k: v for k, v in params.items() if k in FILTERS}, 0
        matches = self._filter(resource, filters)
        page = matches[offset:offset + limit]
        links = []
        if offset > 0:
            links.append(self._link(req, limit, filters, max(0, offset - limit), "previous"))
        if offset + limit < len(matches):
            links.append(self._link(req, limit, filters, offset + limit, "next"))
        headers = {"Link": ", ".join(links)} if links else {}
        return Response.json({resource: page}, **headers)

    def _filter(self, resource: str, filters: dict[str, str]) -> list[dict[str, Any]]:
        records = self.data[resource]
        if resource == "orders":
            status = filters.get("status", "open")
            if status == "open":
                records = [r for r in records if not r["closed_at"] and not r["cancelled_at"]]
            elif status == "closed":
                records = [r for r in records if r["closed_at"]]
            elif status == "cancelled":
                records = [r for r in records if r["cancelled_at"]]
        for key, field, keep in (("updated_at_min", "updated_at", lambda a, b: a >= b),
                                 ("updated_at_max", "updated_at", lambda a, b: a <= b),
                                 ("created_at_min", "created_at", lambda a, b: a >= b),
                                 ("created_at_max", "created_at", lambda a, b: a <= b)):
            if key in filters and field in (records[0] if records else {}):
                bound = _parse(filters[key])
                records = [r for r in records if keep(_parse(r[field]), bound)]
        if "since_id" in filters:
            records = [r for r in records if r["id"] > int(filters["since_id"])]
        if resource == "locations":  # no filters, no order: one list by id
            return sorted(self.data[resource], key=lambda r: r["id"])
        if filters.get("order", "").replace("+", " ").startswith("updated_at"):
            desc = filters["order"].endswith("desc")
            records = sorted(records, key=lambda r: (_parse(r["updated_at"]), r["id"]), reverse=desc)
        else:
            records = sorted(records, key=lambda r: r["id"])
        return records

    def _link(self, req: Request, limit: int, filters: dict[str, str], offset: int, rel: str) -> str:
        token = base64.urlsafe_b64encode(json.dumps({"filters": filters, "offset": offset}).encode()).decode()
        host = req.header("Host", SHOP)
        return f'<http://{host}{req.path}?limit={limit}&page_info={token.rstrip("=")}>; rel="{rel}"'


MOCK_CLASS = ShopifyMock
