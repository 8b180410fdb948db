"""A tiny threaded HTTP server on 127.0.0.1 for mock APIs that behave like the real ones.

A mock is a function ``handler(req: Request) -> Response``. The server records every request (for
asserting auth headers and parameters) and can inject faults: ``Response.reset()`` closes the
connection without an answer, ``Response(truncate=True)`` promises more bytes than it sends.

    with MockServer(handler) as srv:
        run_cli("read", "--config-json", json.dumps({"base_url": srv.url, ...}))
        assert srv.requests[0].headers["Authorization"] == "Bearer sk_test_x"
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    url: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        lname = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lname:
                return v
        return default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False
    close: bool = False  # reset the connection instead of answering
    delay: float = 0.0

    @classmethod
    def json(cls, obj: Any, status: int = 200, **headers: str) -> Response:
        return cls(status=status, body=obj, headers={"Content-Type": "application/json", **headers})

    @classmethod
    def reset(cls) -> Response:
        return cls(close=True)

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK wait
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        return None

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: v for k, v in self.headers.items()},
            body=body,
            url=self.path,
        )
        self.server.mock.record(req)
        try:
            resp = self.server.mock.handler(req)
        except Exception as exc:  # a bug in the mock: answer 599 so the test sees it
            resp = Response(status=599, body=f"mock error: {exc!r}")
        if resp.delay:
            time.sleep(resp.delay)
        if resp.close:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        data = resp.payload()
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) + (100 if resp.truncate else 0)))
        self.end_headers()
        self.wfile.write(data)
        if resp.truncate:
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    mock: MockServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, reset) is normal here: no traceback on stderr."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class MockServer:
    """Serve ``handler`` on 127.0.0.1:<free port> (or ``host``:``port``) in a background thread."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _Server((host, port), _RequestHandler)
        self._server.mock = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def record(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def start(self) -> MockServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Faults:
    """Inject each fault once, on the n-th request matching a path prefix.

    ``faults = Faults({3: Response.json({...}, 429, **{"Retry-After": "1"})})`` answers the third
    request with a 429 and lets every retry through.
    """

    def __init__(self, by_request_number: dict[int, Response], path_prefix: str = "") -> None:
        self.pending = dict(by_request_number)
        self.prefix = path_prefix
        self.count = 0
        self._lock = threading.Lock()

    def take(self, req: Request) -> Response | None:
        if not req.path.startswith(self.prefix):
            return None
        with self._lock:
            self.count += 1
            return self.pending.pop(self.count, None)
