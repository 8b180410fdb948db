"""HttpClient's connections against real sockets: cookies kept to their origin, our answers' short
header parser (and the standard one for any other http.client user in the process)."""

from __future__ import annotations

import pytest

from integration_tests.mocks.server import MockServer, Request, Response
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
