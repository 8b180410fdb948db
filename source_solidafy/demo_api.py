"""A small, realistic API served in-process on 127.0.0.1, so the demo needs no credentials or network.

It behaves like a well-made SaaS API: bearer auth (401 otherwise), cursor pagination (``cursor`` and
``limit`` parameters, ``next_cursor`` null on the last page), an incremental filter (``updated_since``,
inclusive, ISO 8601), and a child endpoint per customer. Data is deterministic.

    GET /v1/customers?limit=100&cursor=...&updated_since=2024-01-01T00:00:00Z
    GET /v1/orders, GET /v1/products, GET /v1/customers/{id}/notes

Run it alone with ``python -m source_solidafy.demo_api --port 8765``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEMO_TOKEN = "demo-secret-token"
MAX_LIMIT = 1000
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_COUNTRIES = ("US", "DE", "FR", "JP", "BR", "IN", "GB", "CA")
_PLANS = ("free", "starter", "pro", "enterprise")


def _ts(seconds: int) -> str:
    return (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_data(customers: int = 1000, orders: int = 2500, products: int = 200) -> dict[str, list[dict[str, Any]]]:
    """Deterministic records, each list sorted by ``updated_at`` (the incremental cursor)."""
    cust = [
        {
            "id": f"cus_{i:05d}",
            "name": f"Customer {i}",
            "email": f"customer{i}@example.com",
            "country": _COUNTRIES[i % len(_COUNTRIES)],
            "plan": _PLANS[i % len(_PLANS)],
            "active": i % 7 != 0,
            "lifetime_value": round(i * 13.37 % 5000, 2),
            "tags": ["vip"] if i % 50 == 0 else [],
            "created_at": _ts(i * 3600),
            "updated_at": _ts(i * 3600 + 600),
        }
        for i in range(customers)
    ]
    prods = [
        {"id": f"prod_{i:04d}", "name": f"Product {i}", "price_cents": 500 + (i * 37) % 20000,
         "currency": "usd", "active": i % 11 != 0, "created_at": _ts(i * 7200), "updated_at": _ts(i * 7200 + 60)}
        for i in range(products)
    ]
    ords = [
        {
            "id": f"ord_{i:06d}",
            "customer_id": f"cus_{(i * 7) % max(customers, 1):05d}",
            "product_id": f"prod_{(i * 3) % max(products, 1):04d}",
            "quantity": 1 + i % 5,
            "amount_cents": (500 + (i * 37) % 20000) * (1 + i % 5),
            "status": ("paid", "refunded", "pending")[i % 3],
            "created_at": _ts(i * 1200),
            "updated_at": _ts(i * 1200 + 300),
        }
        for i in range(orders)
    ]
    return {"customers": cust, "orders": ords, "products": prods}


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.split(":", 1)[1]) if raw.startswith("o:") else None
    except (ValueError, UnicodeDecodeError):
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK wait
    server: _DemoServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        api = self.server.api
        if api.latency:
            time.sleep(api.latency)
        api.requests += 1
        if self.headers.get("Authorization") != f"Bearer {api.token}":
            self._send(401, {"error": {"type": "unauthorized", "message": "invalid or missing API key"}})
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, body = api.answer(parts.path, query)
        self._send(status, body)


class _DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    api: DemoApi


class DemoApi:
    """The demo API; ``start()`` returns its base URL (``http://127.0.0.1:<port>/v1``)."""

    def __init__(self, data: dict[str, list[dict[str, Any]]] | None = None, token: str = DEMO_TOKEN,
                 latency: float = 0.0) -> None:
        self.data = data if data is not None else make_data()
        self.token = token
        self.latency = latency
        self.requests = 0
        self._server: _DemoServer | None = None

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        segments = [s for s in path.split("/") if s]
        if len(segments) == 4 and segments[:2] == ["v1", "customers"] and segments[3] == "notes":
            return 200, self._notes(segments[2])
        if len(segments) != 2 or segments[0] != "v1" or segments[1] not in self.data:
            return 404, {"error": {"type": "not_found", "message": f"no such resource: {path}"}}
        return self._page(self.data[segments[1]], query)

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            return 400, {"error": {"type": "invalid_request", "message": "limit must be an integer"}}
        if not 1 <= limit <= MAX_LIMIT:
            return 400, {"error": {"type": "invalid_request", "message": f"limit must be 1..{MAX_LIMIT}"}}
        since = query.get("updated_since")
        if since:
            items = [r for r in items if r["updated_at"] >= since]
        offset = 0
        if query.get("cursor"):
            decoded = _decode(query["cursor"])
            if decoded is None:
                return 400, {"error": {"type": "invalid_request", "message": "invalid cursor"}}
            offset = decoded
        page = items[offset: offset + limit]
        more = offset + limit < len(items)
        return 200, {"data": page, "has_more": more, "next_cursor": _encode(offset + limit) if more else None}

    def _notes(self, customer_id: str) -> dict[str, Any]:
        n = int(customer_id.rsplit("_", 1)[-1]) if customer_id.rsplit("_", 1)[-1].isdigit() else 0
        notes = [{"id": f"note_{n}_{k}", "customer_id": customer_id, "body": f"Note {k} about {customer_id}",
                  "updated_at": _ts(n * 3600 + 900 + k)} for k in range(n % 3)]
        return {"data": notes, "has_more": False, "next_cursor": None}

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        self._server = _DemoServer((host, port), _Handler)
        self._server.api = self
        threading.Thread(target=self._server.serve_forever, daemon=True, name="demo-api").start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None, "DemoApi not started"
        host, port = self._server.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> DemoApi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the demo API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = parser.parse_args()
    api = DemoApi(latency=args.latency)
    print(api.start(args.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
