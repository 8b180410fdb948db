"""Every auth type end to end: the CLI against a mock that rejects wrong credentials with 401."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import Credentials, GenericApi, connector, json_body, make_items
from integration_tests.mocks.server import MockServer

ITEMS = make_items(15)
IDS = [r["id"] for r in ITEMS]

# connector, what the mock accepts, the good config, the wrong secret, the secrets that must stay hidden
CASES: dict[str, tuple[str, Credentials, dict[str, str], dict[str, str]]] = {
    "bearer": ("auth_bearer", Credentials("bearer", token="tok-GOOD-1"), {"api_token": "tok-GOOD-1"},
               {"api_token": "tok-WRONG-1"}),
    "api_key_header": ("auth_api_key_header", Credentials("header", name="X-Api-Key", value="key-GOOD-2"),
                       {"api_key": "key-GOOD-2"}, {"api_key": "key-WRONG-2"}),
    "api_key_query": ("auth_api_key_query", Credentials("query", name="api_key", value="key-GOOD-3"),
                      {"api_key": "key-GOOD-3"}, {"api_key": "key-WRONG-3"}),
    "basic": ("auth_basic", Credentials("basic", username="me@example.com/token", password="pw-GOOD-4"),
              {"email": "me@example.com", "api_token": "pw-GOOD-4"}, {"api_token": "pw-WRONG-4"}),
    "oauth2_refresh_token": (
        "auth_oauth_refresh",
        Credentials("oauth", client_id="cid", client_secret="cs-GOOD-5", refresh_token="rt-GOOD-5"),
        {"client_id": "cid", "client_secret": "cs-GOOD-5", "refresh_token": "rt-GOOD-5"},
        {"refresh_token": "rt-WRONG-5"},
    ),
    "oauth2_client_credentials": (
        "auth_oauth_client",
        Credentials("oauth", client_id="cid", client_secret="cs-GOOD-6", scope="read write"),
        {"client_id": "cid", "client_secret": "cs-GOOD-6"},
        {"client_secret": "cs-WRONG-6"},
    ),
    "oauth2_client_secret_basic": (
        "auth_oauth_client_basic",
        Credentials("oauth", client_id="cid:1", client_secret="cs/GOOD+8", client_auth="basic",
                    token_params={"audience": "https://api.example.com"}),
        {"client_id": "cid:1", "client_secret": "cs/GOOD+8", "audience": "https://api.example.com"},
        {"client_secret": "cs/WRONG+8"},
    ),
    "session_token": (
        "auth_session",
        Credentials("session", username="ann", password="pw-GOOD-7", header_name="X-Session", header_prefix=""),
        {"username": "ann", "password": "pw-GOOD-7"},
        {"password": "pw-WRONG-7"},
    ),
}


def _read(srv: MockServer, name: str, config: dict[str, Any], *extra: str) -> Result:
    cfg = {**config, "base_url": f"{srv.url}/v1"}
    return run_cli("read", "-c", connector(name), "--config-json", json_body(cfg), *extra)


def _assert_hidden(res: Result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in res.stdout and secret not in res.stderr, secret


@pytest.mark.parametrize("kind", sorted(CASES))
def test_auth_good_credentials_read_every_page(kind: str) -> None:
    name, creds, good, _ = CASES[kind]
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, name, good, "--verbose")  # the most output there is: still no secret in it
    assert res.rc == 0, res.stderr
    assert [r["id"] for r in res.records("items")] == IDS
    list_requests = [r for r in srv.requests if r.path == "/v1/cursor"]
    assert [r.arg("cursor") for r in list_requests] == [None, "5", "10"]
    assert creds.rejected == 0
    summary = res.summary
    assert summary["status"] == "SUCCEEDED" and summary["total_records"] == 15
    assert summary["streams"][0]["records_synced"] == 15
    _assert_hidden(res, *[v for k, v in good.items() if k not in ("client_id", "username", "email", "audience")])
    if creds.kind in ("oauth", "session"):
        assert len(creds.issued) == 1, "a token is fetched once and reused"
        _assert_hidden(res, *creds.issued)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_auth_wrong_credentials_fail_without_leaking(kind: str) -> None:
    name, creds, good, wrong = CASES[kind]
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, name, {**good, **wrong}, "--verbose")
    assert res.rc == 1
    assert res.records() == []
    summary = res.summary
    assert summary["status"] == "FAILED" and summary["failed_streams"] == 1
    error = summary["streams"][0]["error"]
    assert "401" in error or "refused" in error or "400" in error, error
    assert "Traceback" not in res.stderr
    _assert_hidden(res, *wrong.values())


def test_auth_none_sends_no_credentials() -> None:
    with MockServer(GenericApi(ITEMS)) as srv:
        res = _read(srv, "auth_none", {})
    assert res.rc == 0, res.stderr
    assert [r["id"] for r in res.records()] == IDS
    assert all(r.header("Authorization") is None for r in srv.requests)


def test_auth_oauth_refreshes_once_after_401() -> None:
    creds = Credentials("oauth", client_id="cid", client_secret="cs-R", refresh_token="rt-R")
    api = GenericApi(ITEMS, creds)

    def revoke_first_token_after_page_one(req: Any) -> None:
        list_calls = [r for r in srv.requests if r.path == "/v1/cursor"]
        if len(list_calls) == 2 and creds.issued:
            creds.revoked.add(creds.issued[0])
        return None

    api.on_list = revoke_first_token_after_page_one
    with MockServer(api) as srv:
        res = _read(srv, "auth_oauth_refresh", {"client_id": "cid", "client_secret": "cs-R", "refresh_token": "rt-R"})
    assert res.rc == 0, res.stdout[-2000:]
    assert [r["id"] for r in res.records()] == IDS
    assert creds.issued == ["at-1", "at-2"]
    assert [t["grant_type"] for t in creds.token_requests] == ["refresh_token", "refresh_token"]
    # the token is revoked while page 2 is served: page 3 gets a 401 with it, then succeeds with a new one
    auths = [r.header("Authorization") for r in srv.requests if r.path == "/v1/cursor"]
    assert auths == ["Bearer at-1", "Bearer at-1", "Bearer at-1", "Bearer at-2"]
    assert creds.rejected == 1
    _assert_hidden(res, "at-1", "at-2", "cs-R", "rt-R")


def test_auth_oauth_refreshes_before_expiry() -> None:
    """expires_in 0: every token is stale at once, so each request needs a fresh one and no 401 happens."""
    creds = Credentials("oauth", client_id="cid", client_secret="cs-E", refresh_token="rt-E", single_use=True)
    with MockServer(GenericApi(ITEMS, creds, expires_in=0)) as srv:
        res = _read(srv, "auth_oauth_refresh", {"client_id": "cid", "client_secret": "cs-E", "refresh_token": "rt-E"})
    assert res.rc == 0, res.stdout[-2000:]
    assert [r["id"] for r in res.records()] == IDS
    assert creds.rejected == 0, "a stale token was sent"
    used = [r.header("Authorization") for r in srv.requests if r.path == "/v1/cursor"]
    assert len(used) == 3 and len(set(used)) == 3, used


def test_auth_oauth_refresh_token_sends_its_scopes(tmp_path: Path) -> None:
    """``scopes`` of an oauth2_refresh_token block go in the refresh request's ``scope`` (RFC 6749 s. 6)."""
    line = '  refresh_token: "{{ config.refresh_token }}"\n'
    text = Path(connector("auth_oauth_refresh")).read_text()
    assert line in text
    conn = tmp_path / "auth_oauth_refresh_scopes.yaml"
    conn.write_text(text.replace(line, line + "  scopes: [crm.objects.read, offline]\n"))
    creds = Credentials("oauth", client_id="cid", client_secret="cs-S", refresh_token="rt-S",
                        scope="crm.objects.read offline")
    config = {"client_id": "cid", "client_secret": "cs-S", "refresh_token": "rt-S"}
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = run_cli("read", "-c", str(conn), "--config-json", json_body({**config, "base_url": f"{srv.url}/v1"}))
    assert res.rc == 0, res.stdout[-1500:]
    assert [r["id"] for r in res.records()] == IDS
    assert [(t["grant_type"], t.get("scope")) for t in creds.token_requests] == [
        ("refresh_token", "crm.objects.read offline")]


@pytest.mark.parametrize(
    ("yaml_prefix", "sent"),
    [("Session", "Session at-1"), ("Bearer ", "Bearer at-1"), ("Bearer", "Bearer at-1"),
     ("Token token=", "Token token=at-1"), ("", "at-1")],
)
def test_session_token_prefix_word_gets_one_space(tmp_path: Path, yaml_prefix: str, sent: str) -> None:
    """A prefix that is a word is separated from the token by one space; empty means none."""
    text = Path(connector("auth_session")).read_text().replace('header_prefix: ""', f"header_prefix: {yaml_prefix!r}")
    conn = tmp_path / "auth_session_prefix.yaml"
    conn.write_text(text)
    expected_prefix = sent.removesuffix("at-1")
    creds = Credentials("session", username="ann", password="pw-P", header_name="X-Session",
                        header_prefix=expected_prefix)
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = run_cli("read", "-c", str(conn), "--config-json",
                      json_body({"username": "ann", "password": "pw-P", "base_url": f"{srv.url}/v1"}))
    assert res.rc == 0, res.stdout[-1500:]
    assert [r.header("X-Session") for r in srv.requests if r.path == "/v1/cursor"] == [sent] * 3
    assert creds.rejected == 0


def test_auth_client_secret_basic_sends_the_client_in_the_header_and_the_extra_fields() -> None:
    name, creds, good, _ = CASES["oauth2_client_secret_basic"]
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, name, good)
    assert res.rc == 0, res.stdout[-1500:]
    token_calls = [r for r in srv.requests if r.path == "/v1/oauth/token"]
    assert len(token_calls) == 1
    assert token_calls[0].form() == {"grant_type": "client_credentials", "audience": "https://api.example.com"}
    assert token_calls[0].header("X-Tenant") == "acme"
    assert token_calls[0].header("Authorization") == "Basic Y2lkJTNBMTpjcyUyRkdPT0QlMkI4"  # cid%3A1:cs%2FGOOD%2B8
