"""rest/prepare.py builds what ``requests.Session.prepare_request`` builds: URL, headers (in order), body."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import requests

from source_solidafy.rest.prepare import Preparer

URLS = [
    "http://127.0.0.1:8080/v1/items",
    "https://api.example.com/v1/items?fixed=1&b=x y",
    "http://api.example.com",
    "http://api.example.com/p?",
    "https://exämple.com/päth with space/%7euser/a%2Fb?q=ü",
    "http://user:p%40ss@api.example.com/v1",
    "http://api.example.com/p?a=1#frag",
    "HTTP://API.example.com:80/x",
]
PARAMS: list[list[tuple[str, Any]]] = [
    [],
    [("cursor", "abc=="), ("limit", "100")],
    [("q", "x y&z=ü/"), ("q", "~._-"), ("t[]", "a")],
    [("n", 5), ("f", 1.5), ("b", True), ("none", None)],
    [("list", ["1", "2"]), ("raw", b"b\xc3\xbc")],
]
HEADERS: list[dict[str, Any]] = [
    {},
    {"Authorization": "Bearer t0k", "user-agent": "solidafy/1", "X-Api-Key": "k"},
    {"Accept": None, "Content-Type": "application/json"},
]
BODIES: list[Any] = [None, b'{"a": 1}', "a=b&c=d", "", {"form": "x y"}]


def _theirs(session: requests.Session, method: str, url: str, params: Any, headers: Any, body: Any) -> Any:
    return session.prepare_request(requests.Request(method, url, headers=headers, params=params, data=body))


def _parts(p: requests.PreparedRequest) -> tuple[Any, ...]:
    return p.method, p.url, list(p.headers.items()), p.body


@pytest.mark.parametrize("url", URLS)
def test_prepare_matches_requests(url: str) -> None:
    session = requests.Session()
    session.cookies.set("sid", "c00kie", domain="api.example.com", path="/")
    preparer = Preparer()
    for method, params, headers, body in itertools.product(("GET", "post"), PARAMS, HEADERS, BODIES):
        for _ in range(2):  # the second time from the caches
            ours = preparer.prepare(session, method, url, params, headers, body)
            assert _parts(ours) == _parts(_theirs(session, method, url, params, headers, body)), (method, params)


def test_prepare_refuses_what_requests_refuses() -> None:
    session, preparer = requests.Session(), Preparer()
    for url, headers in [("http://h/x", {"X-Bad": "a\r\nInjected: 1"}), ("http://h/x", {" lead": "v"}),
                         ("api.example.com/x", {}), ("http://*.example.com/x", {}), ("http:///x", {})]:
        with pytest.raises(requests.RequestException) as theirs:
            _theirs(session, "GET", url, [], headers, None)
        for _ in range(2):
            with pytest.raises(type(theirs.value)):
                preparer.prepare(session, "GET", url, [], headers, None)


def test_prepare_cookies_follow_the_session_jars_policy() -> None:
    """The session's own jar decides (HttpClient's: the credential scope), not a copy of it."""
    from http.cookiejar import DefaultCookiePolicy

    class Nowhere(DefaultCookiePolicy):
        def return_ok(self, cookie: Any, request: Any) -> bool:
            return False

    session, preparer = requests.Session(), Preparer()
    session.cookies.set("sid", "c00kie", domain="api.example.com", path="/")
    assert preparer.prepare(session, "GET", "http://api.example.com/x", [], {}, None).headers["Cookie"] == "sid=c00kie"
    session.cookies.set_policy(Nowhere())
    assert "Cookie" not in preparer.prepare(session, "GET", "http://api.example.com/x", [], {}, None).headers
