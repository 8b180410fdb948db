"""Credentials go only to base_url's origin (and http.allowed_hosts): hostile links and redirects.

Two real servers on this machine: the API on 127.0.0.1 and another origin — ``localhost`` (another
host) or another port of 127.0.0.1 — that records what reaches it. Every auth type, plus a static
``headers:`` credential and a session cookie, goes through the real CLI.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import Credentials, GenericApi, connector, json_body, make_items
from integration_tests.mocks.server import MockServer, Request, Response
from integration_tests.test_cli_auth import CASES

ITEMS = make_items(6)
STATIC = "static-HDR-SECRET-8"
COOKIE = "cookie-SID-SECRET-9"
CREDENTIAL_HEADERS = {"authorization", "x-api-key", "x-session", "x-static-token", "cookie"}


def _case(kind: str) -> tuple[str, Credentials, dict[str, str]]:
    name, creds, good, _ = CASES[kind]
    return name, Credentials(creds.kind, **creds.values), good  # a fresh mock state per test


def _connector(tmp_path: Path, kind: str, pagination: dict[str, Any], http: dict[str, Any] | None = None,
               path: str = "/items") -> str:
    """The auth block of the ``kind`` test connector, a static credential header, and ``pagination``."""
    name, _, _ = _case(kind)
    auth = yaml.safe_load(Path(connector(name)).read_text())["auth"]
    doc = {
        "name": f"hostile_{kind}", "base_url": "http://127.0.0.1:9/v1",
        "http": {"max_retries": 0, "timeout_secs": 10, **(http or {})}, "auth": auth,
        "headers": {"X-Static-Token": "{{ config.static_token }}", "Accept": "application/json"},
        "streams": [{"name": "items", "request": {"path": path}, "primary_key": "id",
                     "decoder": {"type": "json", "records_path": "data"}, "pagination": pagination}],
    }
    out = tmp_path / f"hostile_{kind}.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(out)


def _read(yaml_path: str, api: MockServer, good: dict[str, str]) -> Result:
    config = {**good, "base_url": f"{api.url}/v1", "static_token": STATIC}
    return run_cli("read", "-c", yaml_path, "--config-json", json_body(config), "--verbose")


def _secrets(kind: str, creds: Credentials, good: dict[str, str]) -> list[str]:
    values = [STATIC, COOKIE, *creds.issued]
    values += [v for k, v in good.items() if k not in ("client_id", "username", "email")]
    if kind == "basic":
        values.append(base64.b64encode(f"{good['email']}/token:{good['api_token']}".encode()).decode())
    return values


def _traces(srv: MockServer, secrets: list[str]) -> list[str]:
    """Every credential that reached ``srv``: a credential header, or a secret anywhere in a request."""
    found = []
    for req in srv.requests:
        found += [f"header {k}" for k in req.headers if k.lower() in CREDENTIAL_HEADERS]
        text = f"{req.url} {req.headers} {req.body!r}"
        found += [f"secret {s[:4]}..." for s in secrets if s in text]
    return found


def _other_url(other: MockServer, host: str) -> str:
    return f"http://{host}:{other.port}"


def _pages_to(other_base: str) -> Any:
    """An API whose first page links (Link header and body ``next``) to ``other_base``."""
    def on_list(req: Request) -> Response | None:
        if req.path != "/v1/items":
            return None
        nxt = f"{other_base}/v1/items?page=2"
        return Response.json({"data": ITEMS[:3], "next": nxt}, Link=f'<{nxt}>; rel="next"')
    return on_list


def _last_page(req: Request) -> Response:
    return Response.json({"data": ITEMS[3:]})


PAGINATIONS = {"link_header": {"type": "link_header"}, "next_url": {"type": "next_url", "next_url_path": "next"}}


@pytest.mark.parametrize("pagination", sorted(PAGINATIONS))
@pytest.mark.parametrize("kind", sorted(CASES))
def test_next_link_to_another_host_is_refused_without_sending_credentials(
        tmp_path: Path, kind: str, pagination: str) -> None:
    name, creds, good = _case(kind)
    api_mock = GenericApi(ITEMS, creds)
    with MockServer(_last_page) as other, MockServer(api_mock) as api:
        api_mock.on_list = _pages_to(_other_url(other, "localhost"))
        res = _read(_connector(tmp_path, kind, PAGINATIONS[pagination]), api, good)
    assert _traces(other, _secrets(kind, creds, good)) == []
    assert other.requests == [], "a link to another origin is not followed at all"
    assert res.rc == 1, res.stdout[-2000:] + res.stderr
    stream = res.summary["streams"][0]
    assert stream["status"] == "FAILED" and stream["records_synced"] == 3
    assert "points to another host" in stream["error"] and "http.allowed_hosts" in stream["error"]
    for secret in _secrets(kind, creds, good):
        assert secret not in res.stdout + res.stderr


def test_allowed_hosts_lets_credentials_follow_the_link(tmp_path: Path) -> None:
    """An API that pages through a second host works once the connector lists that host."""
    _, creds, good = _case("api_key_header")
    api_mock, other_mock = GenericApi(ITEMS, creds), GenericApi(ITEMS, creds)
    other_mock.on_list = _last_page
    with MockServer(other_mock) as other, MockServer(api_mock) as api:
        other_base = _other_url(other, "localhost")
        api_mock.on_list = _pages_to(other_base)
        yaml_path = _connector(tmp_path, "api_key_header", PAGINATIONS["link_header"], {"allowed_hosts": [other_base]})
        res = _read(yaml_path, api, good)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert [r["id"] for r in res.records("items")] == [r["id"] for r in ITEMS]
    assert [(r.header("X-Api-Key"), r.header("X-Static-Token")) for r in other.requests] == [(good["api_key"], STATIC)]


def _redirects_to(other_base: str) -> Any:
    """An API that sets a session cookie and redirects the list to ``other_base``."""
    def on_list(req: Request) -> Response | None:
        if req.path != "/v1/items":
            return None
        return Response(302, headers={"Location": f"{other_base}/v1/items?page=1", "Set-Cookie": f"sid={COOKIE}; Path=/"})
    return on_list


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
@pytest.mark.parametrize("kind", sorted(CASES))
def test_redirect_to_another_origin_is_followed_without_credentials(tmp_path: Path, kind: str, host: str) -> None:
    """Another host, or only another port (where the cookie rules alone would still send the cookie)."""
    name, creds, good = _case(kind)
    api_mock = GenericApi(ITEMS, creds)
    with MockServer(_last_page) as other, MockServer(api_mock) as api:
        api_mock.on_list = _redirects_to(_other_url(other, host))
        res = _read(_connector(tmp_path, kind, PAGINATIONS["next_url"]), api, good)
    assert len(other.requests) == 1, "the redirect is followed"
    assert _traces(other, _secrets(kind, creds, good)) == []
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert [r["id"] for r in res.records("items")] == [r["id"] for r in ITEMS[3:]]


@pytest.mark.parametrize("kind", ["oauth2_refresh_token", "oauth2_client_credentials", "session_token"])
def test_token_request_redirected_to_another_origin_keeps_its_body(tmp_path: Path, kind: str) -> None:
    """A 307 from token_url/login_url would resend the secret form or login body: refused."""
    name, creds, good = _case(kind)
    api_mock = GenericApi(ITEMS, creds)
    with MockServer(_last_page) as other:
        def handler(req: Request) -> Response:
            if req.path in ("/v1/oauth/token", "/v1/login"):
                return Response(307, headers={"Location": f"{_other_url(other, 'localhost')}{req.path}"})
            return api_mock(req)
        with MockServer(handler) as api:
            res = _read(_connector(tmp_path, kind, PAGINATIONS["next_url"]), api, good)
    assert other.requests == []
    assert res.rc == 1, res.stdout[-2000:] + res.stderr
    assert "would resend the request body there; refused" in res.summary["streams"][0]["error"]
    for secret in _secrets(kind, creds, good):
        assert secret not in res.stdout + res.stderr


def test_absolute_path_to_another_host_gets_no_credentials(tmp_path: Path) -> None:
    """A YAML path to another origin: the request goes, without the key (header or query) or static header."""
    for kind in ("api_key_query", "bearer"):
        _, creds, good = _case(kind)
        with MockServer(_last_page) as other, MockServer(GenericApi(ITEMS, creds)) as api:
            path = f"{_other_url(other, 'localhost')}/v1/items"
            res = _read(_connector(tmp_path, kind, PAGINATIONS["next_url"], path=path), api, good)
        assert len(other.requests) == 1 and _traces(other, _secrets(kind, creds, good)) == [], kind
        assert res.rc == 0, res.stdout[-2000:] + res.stderr
