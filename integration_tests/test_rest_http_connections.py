"""HttpClient's connections against real sockets: cookies kept to their origin, our answers' short
header parser (and the standard one for any other http.client user in the process)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from integration_tests.mocks.server import MockServer, Request, Response
from source_solidafy.errors import HttpError
from source_solidafy.rest.http import HttpClient


def test_rest_http_cookie_of_the_api_stays_off_another_port() -> None:
    """The session's cookie goes back to its origin, never to another port of the same host (the
    cookie rules alone ignore ports); the jar's credential-scope policy decides on the first hop too."""
    seen: list[tuple[str, str | None]] = []

    def api(req: Request) -> Response:
        seen.append(("api", req.header("Cookie")))
        return Response.json({"data": []}, **{"Set-Cookie": "sid=SID-SECRET-1; Path=/"})

    def other(req: Request) -> Response:
        seen.append(("other", req.header("Cookie")))
        return Response.json({"data": []})

    with MockServer(api) as a, MockServer(other) as b:
        client = HttpClient(a.url)
        client.request("GET", "/x")
        client.request("GET", "/x")
        client.request("GET", f"{b.url}/y")
    assert seen == [("api", None), ("api", "sid=SID-SECRET-1"), ("other", None)]


def test_rest_http_our_answers_take_the_short_header_parser_others_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """rest/header_parsing.py's short way is taken for HttpClient's answers over a real socket, and a
    plain http.client request in the same process (another library) still gets the standard parser."""
    import http.client

    from source_solidafy.rest import header_parsing

    seen: list[str] = []
    real = header_parsing.simple_message
    monkeypatch.setattr(header_parsing, "simple_message", lambda block, cls: seen.append(block) or real(block, cls))
    with MockServer(lambda req: Response.json({"data": [{"id": "cus_1"}]})) as srv:
        client = HttpClient(f"{srv.url}/v1")
        assert client.request("GET", "/customers").json()["data"] == [{"id": "cus_1"}]
        client.close()
        assert len(seen) == 1 and "Content-Type: application/json" in seen[0]
        conn = http.client.HTTPConnection(srv.url.split("//")[1])
        conn.request("GET", "/v1/customers")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
        resp.read()
        conn.close()
    assert len(seen) == 1


def test_rest_http_kept_header_lines_send_the_same_headers_and_still_check() -> None:
    """rest/header_lines.py: a connection appends the line it wrote for a (name, value) again; the server
    sees the same headers on every request, urllib3's SKIP_HEADER writes nothing however often it comes
    (nothing is kept for it), an invalid value fails every time, and a kept pair is refused outside a
    request as http.client refuses any header there."""
    from source_solidafy.rest.transport import _WatchedHTTPConnection

    with MockServer(lambda req: Response.json({"data": []})) as srv:
        client = HttpClient(srv.url, headers={"X-Team": "blue"})
        for value in ("1", "2", "1"):
            client.request("POST", "/x", headers={"X-Page": value}, json_body={"page": value})
        client.close()
        sent = [{k: v for k, v in r.headers.items() if k.lower() != "host"} for r in srv.requests]
        assert [h["X-Page"] for h in sent] == ["1", "2", "1"]
        assert all(h["X-Team"] == "blue" and h["Content-Type"] == "application/json" for h in sent)
        assert len({tuple(sorted((k, v) for k, v in h.items() if k != "X-Page")) for h in sent}) == 1


    blocks = _raw_header_blocks(2, lambda port: _kept_lines_requests(_WatchedHTTPConnection("127.0.0.1", port)))
    assert [b.split(b"\r\n")[2:] for b in blocks] == [[b"Accept-Encoding: identity", b"X-Kept: k", b"", b""]] * 2


def _kept_lines_requests(conn: Any) -> None:
    import http.client

    from urllib3.util import SKIP_HEADER

    for _ in range(2):
        conn.request("GET", "/y", headers={"User-Agent": SKIP_HEADER, "X-Kept": "k"})
        conn.getresponse().read()
    with pytest.raises(http.client.CannotSendHeader):
        conn.putheader("X-Kept", "k")
    conn.putrequest("GET", "/z")
    for _ in range(2):
        with pytest.raises(ValueError, match="Invalid header value"):
            conn.putheader("X-Bad", "a\r\nInjected: 1")
    conn.close()


def _raw_header_blocks(count: int, client: Callable[[int], None]) -> list[bytes]:
    """The header blocks of ``count`` requests ``client(port)`` sends on one connection, as received."""
    listener = socket.create_server(("127.0.0.1", 0))
    blocks: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while len(blocks) < count:
                data += conn.recv(65536)
                while b"\r\n\r\n" in data:
                    block, _, data = data.partition(b"\r\n\r\n")
                    blocks.append(block + b"\r\n\r\n")
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        client(listener.getsockname()[1])
    finally:
        thread.join(10)
        listener.close()
    return blocks


def test_rest_http_pool_by_kept_key_is_the_managers_pool() -> None:
    """The adapter looks its pool up by a kept key (rest/reuse.py pool_key): the key is the one the
    manager's connection_from_host builds (http and https, default and given ports, TLS settings), and
    a pool the manager no longer holds (cleared, or dropped from its 32) is made again, not used."""
    import requests

    from source_solidafy.rest.reuse import pool_key
    from source_solidafy.rest.transport import WatchedAdapter

    adapter = WatchedAdapter()
    for url, verify, cert in [("http://api.example.com/v1/x", True, None), ("https://api.example.com:8443/y", False, None),
                              ("https://API.example.com/z?q=1", "/etc/ssl/certs", ("c.pem", "k.pem"))]:
        request = requests.Request("GET", url).prepare()
        host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, verify, cert)
        manager = adapter.poolmanager
        manager.clear()
        pool = manager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)
        key, context = pool_key(manager, host_params, pool_kwargs)
        assert manager.pools.keys() == {key} and manager.connection_from_pool_key(key, dict(context)) is pool

    with MockServer(lambda req: Response.json({"data": [1]})) as srv:
        client = HttpClient(srv.url)
        assert client.request("GET", "/x").json() == {"data": [1]}
        adapter = client.session.get_adapter(srv.url)
        pools = adapter.poolmanager.pools  # (iterating it is refused: its keys() is a set)
        (key,) = pools.keys()
        first = pools[key]
        assert client.request("GET", "/x").json() == {"data": [1]} and len(adapter.poolmanager.pools) == 1
        adapter.poolmanager.clear()  # drops its pools (urllib3 2 does not close them)
        assert client.request("GET", "/x").json() == {"data": [1]}
        (key,) = pools.keys()
        assert pools[key] is not first
        client.close()
    assert len(srv.requests) == 3


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_rest_http_a_body_read_whole_fails_as_one_read_in_chunks(framing: str) -> None:
    """rest/body.py reads a plain body of known length in one read, a chunked one is read in chunks: a
    body that stalls past the read timeout, or ends short, is retried and named the same either way."""
    heads = {"length": b"Content-Length: 100\r\n\r\n{\"data\": [1", "chunked": b"Transfer-Encoding: chunked\r\n\r\nb\r\n{\"data\": [1\r\n"}
    said = {}
    for case, stall in (("stalls", 1.0), ("ends short", 0.0)):
        listener = socket.create_server(("127.0.0.1", 0))

        def serve(listener: socket.socket = listener, stall: float = stall) -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + heads[framing])
                time.sleep(stall)
                conn.close()

        threading.Thread(target=serve, daemon=True).start()
        logs: list[str] = []
        client = HttpClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.3, deadline=5, max_retries=1,
                            backoff_base=0.01, log=lambda level, message, logs=logs: logs.append(message))
        with pytest.raises(HttpError) as info:
            client.request("GET", "/x")
        listener.close()
        said[case] = (logs[0].split(" from ")[0], str(info.value).split(" from ")[0])
    port = "port=\\d+"
    assert said["ends short"] == ("truncated response body", "truncated response body")
    assert re.fullmatch(rf"connection failed \(WatchedPool\(host='127.0.0.1', {port}\): Read timed out.\)", said["stalls"][0])
    assert said["stalls"][1] == "timeout after 0.3s"


def test_rest_http_a_plain_body_of_known_length_is_read_whole() -> None:
    """The same body, plain with a Content-Length, gzip-encoded, or chunked: the same content."""
    import gzip

    body = b'{"data": [' + b", ".join(b'{"id": %d}' % i for i in range(2000)) + b"]}"
    with MockServer(lambda req: Response(200, body, {"Content-Type": "application/json"})) as plain, \
            MockServer(lambda req: Response(200, gzip.compress(body), {"Content-Type": "application/json",
                                                                       "Content-Encoding": "gzip"})) as zipped:
        for srv in (plain, zipped):
            client = HttpClient(srv.url)
            resp = client.request("GET", "/x")
            assert resp.content == body and len(resp.json()["data"]) == 2000
            client.close()
