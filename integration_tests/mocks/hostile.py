"""A hostile HTTP server on 127.0.0.1: bodies that never end, bombs and tricklers.

Routes (every loop is bounded: it stops when the client goes away or after ``cap`` bytes):

- ``/big``: ``Content-Length: 500 MB`` and that many bytes of a JSON string;
- ``/stream``: a close-delimited body (no length, HTTP/1.0 style) that goes on until ``cap``;
- ``/chunked``: ``Transfer-Encoding: chunked`` chunks until ``cap``;
- ``/bomb``: ``Content-Encoding: gzip``, 1 MB on the wire that inflates to 1 GB;
- ``/trickle``: a 30-byte JSON body sent one byte per second;
- ``/trickle_headers``: the status line and headers sent one byte per second;
- ``/ok``: a small JSON page (the baseline).

``sent[path]`` counts the body bytes written per route, ``stopped`` the routes whose client went away.
"""

from __future__ import annotations

import gzip
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MB = 2**20
BIG = 500 * MB
CAP = 1024 * MB
TRICKLE = b'{"data": [{"id": "t1"}], "x":1}'  # 30 bytes, one a second
OK_PAGE = b'{"data": [{"id": "a"}, {"id": "b"}]}'


@cache
def gzip_bomb() -> bytes:
    """1 GB of zeros as 16 gzip members of 64 MB each (a multi-member gzip is one valid body)."""
    return gzip.compress(b"\0" * (64 * MB), compresslevel=9) * 16


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        route = getattr(self, "_" + path.strip("/"), None)
        if route is None:
            self.send_error(404)
            return
        try:
            route()
        except OSError:  # the client hung up: what we want from it
            self.server.stopped.add(path)
            self.close_connection = True

    def _count(self, n: int) -> None:
        path = self.path.split("?", 1)[0]
        self.server.sent[path] = self.server.sent.get(path, 0) + n

    def _headers(self, *pairs: tuple[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for k, v in pairs:
            self.send_header(k, v)
        self.end_headers()

    def _pour(self, total: int, chunked: bool = False) -> None:
        block = b"x" * (256 * 1024)
        sent = 0
        while sent < total:
            piece = block[: total - sent]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
            self._count(len(piece))
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _ok(self) -> None:
        self._headers(("Content-Length", str(len(OK_PAGE))))
        self.wfile.write(OK_PAGE)

    def _big(self) -> None:
        self._headers(("Content-Length", str(BIG)))
        self._pour(BIG)

    def _stream(self) -> None:
        self._headers(("Connection", "close"))
        self.close_connection = True
        self._pour(self.server.cap)

    def _chunked(self) -> None:
        self._headers(("Transfer-Encoding", "chunked"))
        self._pour(self.server.cap, chunked=True)

    def _bomb(self) -> None:
        body = gzip_bomb()
        self._headers(("Content-Encoding", "gzip"), ("Content-Length", str(len(body))))
        self.wfile.write(body)
        self._count(len(body))

    def _trickle(self) -> None:
        self._headers(("Content-Length", str(len(TRICKLE))))
        for byte in TRICKLE:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            self._count(1)
            time.sleep(1)

    def _trickle_headers(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"s" * 40 + b"\r\n"
        for byte in head:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(1)
        self.wfile.write(b"Content-Length: %d\r\n\r\n%s" % (len(OK_PAGE), OK_PAGE))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sent: dict[str, int]
    stopped: set[str]
    cap: int

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that hangs up mid-answer is the point here, not news


class HostileServer:
    """``with HostileServer() as srv: ... srv.url + "/bomb"``."""

    def __init__(self, cap: int = CAP, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        """``handler``: another mock's routes (a subclass of this one's handler) on the same kind of server."""
        self._server = _Server(("127.0.0.1", 0), handler or Handler)
        self._server.sent, self._server.stopped, self._server.cap = {}, set(), cap
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def sent(self) -> dict[str, int]:
        return self._server.sent

    @property
    def stopped(self) -> set[str]:
        return self._server.stopped

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
