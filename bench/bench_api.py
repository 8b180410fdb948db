"""A local benchmark API: N pages x M records of 10 fields, bodies prebuilt.

Pages are asked for by ``cursor`` (0.., each body names the next: cursor pagination) or by ``page``
(1..; each body says ``total_pages``: page-number pagination whose pages can be fetched at once).

Run as a separate process so its CPU is not counted against the client being measured:
``python bench/bench_api.py --pages 100 --per-page 1000 --latency 0`` prints its base URL.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def build_pages(pages: int, per_page: int, partitions: int = 1) -> dict[tuple[str, int], bytes]:
    bodies = {}
    for part in range(partitions):
        key = f"p{part}"
        for page in range(pages):
            base = (part * pages + page) * per_page
            data = [
                {"id": base + i, "name": f"name-{base + i}", "email": f"user{base + i}@example.com",
                 "amount": (base + i) * 1.5, "active": (base + i) % 2 == 0, "country": "DE",
                 "created_at": 1700000000 + base + i, "updated_at": 1700000000 + base + i,
                 "status": "open", "score": (base + i) % 97}
                for i in range(per_page)
            ]
            nxt = str(page + 1) if page + 1 < pages else None
            bodies[(key, page)] = json.dumps({"data": data, "next_cursor": nxt, "total_pages": pages}).encode()
    return bodies


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK wait
    server: Server

    def log_message(self, format, *args):  # noqa: A002
        return None

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the body is ignored: the query decides
        self.do_GET()

    def do_GET(self):  # noqa: N802
        if self.server.latency:
            time.sleep(self.server.latency)
        parts = urlsplit(self.path)
        q = parse_qs(parts.query)
        page = int(q["page"][0]) - 1 if "page" in q else int(q.get("cursor", ["0"])[0])  # page=1.. or cursor=0..
        part = q.get("part", ["p0"])[0]
        body = self.server.bodies.get((part, page))
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    bodies: dict
    latency: float


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--per-page", type=int, default=1000)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--latency", type=float, default=0.0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.bodies = build_pages(args.pages, args.per_page, args.partitions)
    srv.latency = args.latency
    print(f"http://127.0.0.1:{srv.server_address[1]}", flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
