"""The real server against hostile HTTP clients: DNS rebinding, browser simple requests, oversized
bodies and headers, and more slow syncs than it has threads. Raw sockets where ``requests`` would
fix up what a hostile client sends."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from integration_tests.mocks.server import MockServer
from integration_tests.test_server_support import GatedDemoApi, ServerProcess, demo_config
from source_solidafy.demo_api import make_data
from source_solidafy.server.transport_errors import BODY_SLACK

NDJSON = {"Accept": "application/x-ndjson"}


def raw(srv: ServerProcess, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
        ) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these headers (``Host`` and framing included) over a fresh connection."""
    parts = urlsplit(srv.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = dict(headers or {})
    if method == "POST" and "Transfer-Encoding" not in headers:
        headers.setdefault("Content-Length", str(len(body)))
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _oversized_headers(srv: ServerProcess, limit: int = 262_144) -> tuple[int, str]:
    """Header bytes reaching waitress's limit exactly at the last byte sent (none left unread)."""
    parts = urlsplit(srv.url)
    head = f"GET /connectors HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\nX-Pad: ".encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(head + b"y" * (limit - len(head)))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    return int(status_line.split()[1]), body["error"]["code"]


def envelope(status: int, headers: dict[str, str], body: bytes, want_status: int, code: str) -> str:
    assert status == want_status, body
    assert headers["content-type"].startswith("application/json"), (headers, body)
    parsed = json.loads(body)
    assert parsed["success"] is False and parsed["error"]["code"] == code, parsed
    return parsed["error"]["message"]


@pytest.fixture(scope="module")
def api() -> Iterator[MockServer]:
    upstream = GatedDemoApi(make_data(customers=20, orders=5, products=5))
    upstream.gate.set()
    with MockServer(upstream.handler) as mock:
        yield mock


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    with ServerProcess("--max-body-bytes", "20000", "--allowed-host", "solidafy.internal") as s:
        yield s


def _check_body(api: MockServer) -> bytes:
    return json.dumps({"connector": "demo", "config": demo_config(api.url + "/v1")}).encode()


def test_rebound_host_name_is_refused(srv: ServerProcess, api: MockServer) -> None:
    """DNS rebinding: the browser sends the attacker's name as Host; the server must not answer."""
    port = urlsplit(srv.url).port
    before = len(api.requests)
    for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1.attacker.example:{port}"):
        got = raw(srv, "POST", "/check", _check_body(api), {"Host": host, "Content-Type": "application/json"})
        message = envelope(*got, 400, "host_not_allowed")
        assert "--allowed-host" in message
        envelope(*raw(srv, "GET", "/connectors", headers={"Host": host}), 400, "host_not_allowed")
    assert len(api.requests) == before
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "solidafy.internal", f"[::1]:{port}"):
        status, _, body = raw(srv, "POST", "/check", _check_body(api), {"Host": host, "Content-Type": "application/json"})
        assert status == 200 and json.loads(body)["data"]["connectionStatus"]["status"] == "SUCCEEDED", (host, body)
    assert raw(srv, "GET", "/health", headers={"Host": "attacker.example"})[0] == 200  # probes stay simple


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None])
def test_post_without_json_content_type_is_refused(srv: ServerProcess, api: MockServer, content_type: str | None) -> None:
    """A web page can POST these without a CORS preflight: they must not run anything."""
    port = urlsplit(srv.url).port
    headers = {"Host": f"127.0.0.1:{port}"}
    if content_type:
        headers["Content-Type"] = content_type
    before = len(api.requests)
    message = envelope(*raw(srv, "POST", "/check", _check_body(api), headers), 415, "unsupported_media_type")
    assert "application/json" in message
    assert len(api.requests) == before
    good = raw(srv, "POST", "/check", _check_body(api), {**headers, "Content-Type": "application/json; charset=utf-8"})
    assert good[0] == 200


def test_oversized_bodies_and_headers_get_the_envelope(srv: ServerProcess) -> None:
    port = urlsplit(srv.url).port
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"}
    # The server answers as soon as it knows, then closes: the client sends no more than that takes
    # (bytes it sent and the server never read would reset the connection before the answer is read).
    declared = raw(srv, "POST", "/sync", headers={**headers, "Content-Length": "2000000"})
    assert "20000 bytes" in envelope(*declared, 413, "payload_too_large")
    # an endless chunked body: waitress reads 64 KiB past the limit, then answers (the last byte sent)
    chunk = b"100000\r\n"  # announces 1 MiB
    endless = chunk + b"x" * (20000 + BODY_SLACK - len(chunk))
    envelope(*raw(srv, "POST", "/sync", endless, {**headers, "Transfer-Encoding": "chunked"}), 413, "payload_too_large")
    exact = b'{"connector": "demo", "pad": "' + b"x" * (20000 - 32) + b'"}'
    assert len(exact) == 20000 and raw(srv, "POST", "/sync", exact, headers)[0] == 422  # at the limit: read
    over = raw(srv, "POST", "/sync", exact + b" ", headers)
    assert "20000 bytes" in envelope(*over, 413, "payload_too_large")
    assert _oversized_headers(srv) == (431, "headers_too_large")
    status, _, body = raw(srv, "GET", "/health", headers=headers)
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_health_answers_while_syncs_hold_every_call_slot() -> None:
    """``--threads 3``: one connector call at a time (two threads stay free); the next gets 503 at once."""
    upstream = GatedDemoApi(make_data(customers=500, orders=5, products=5), wait_secs=30)
    with MockServer(upstream.handler) as mock, ServerProcess("--threads", "3") as s:
        body = {"connector": "demo", "config": demo_config(mock.url + "/v1"), "streams": ["customers"]}
        running = requests.post(s.url + "/sync", json=body, headers=NDJSON, stream=True, timeout=120)
        assert running.status_code == 200  # page 1 is out; page 2 waits at the gate, the slot is held
        busy = s.post("/sync", body)
        assert busy.status_code == 503 and busy.headers["Retry-After"].isdigit(), busy.text
        assert busy.json()["error"]["code"] == "busy" and "--max-concurrent-calls" in busy.json()["error"]["message"]
        assert s.post("/check", body).status_code == 503
        assert s.get("/health").json()["status"] == "ok"
        assert s.get("/connectors").status_code == 200
        assert not upstream.gate.is_set()  # all of this happened while the first sync was still held
        upstream.gate.set()
        lines = [json.loads(line) for line in running.iter_lines()]
        assert lines[-1]["type"] == "SYNC_SUMMARY" and lines[-1]["summary"]["total_records"] == 500
        again = s.post("/sync", {**body, "max_records": 5})  # the slot came back when the stream ended
        assert again.status_code == 200 and again.json()["data"]["result"]["total_records"] == 5
