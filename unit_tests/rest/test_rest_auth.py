from __future__ import annotations

import base64
import threading
from typing import Any

import orjson
import pytest
import requests

from source_solidafy.errors import AuthError, HttpError
from source_solidafy.rest.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    SessionTokenAuth,
)
from source_solidafy.rest.oauth2 import OAuth2ClientCredentials, OAuth2RefreshToken


class FakeSession:
    """Answers token POSTs from a queue of (status, body) and records what was sent."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.trust_env = True

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        with self.lock:
            self.calls.append({"url": url, **kwargs})
            status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        resp = requests.Response()
        resp.status_code = status
        resp._content = body if isinstance(body, bytes) else orjson.dumps(body)
        resp.url = url
        return resp


def _applied(auth: Any) -> tuple[dict[str, str], dict[str, Any]]:
    headers: dict[str, str] = {}
    params: dict[str, Any] = {}
    auth.apply(headers, params)
    return headers, params


def test_auth_static_kinds_apply_and_list_secrets() -> None:
    assert _applied(NoAuth()) == ({}, {})
    assert _applied(BearerAuth("sk_test_1")) == ({"Authorization": "Bearer sk_test_1"}, {})
    assert _applied(ApiKeyAuth("x-api-key", "k123")) == ({"x-api-key": "k123"}, {})
    assert _applied(ApiKeyAuth("api_key", "k123", location="query")) == ({}, {"api_key": "k123"})
    basic = BasicAuth("me@x.com/token", "tok9")
    headers, _ = _applied(basic)
    assert base64.b64decode(headers["Authorization"].split()[1]) == b"me@x.com/token:tok9"
    assert "tok9" in basic.secrets() and headers["Authorization"].split()[1] in basic.secrets()
    assert BearerAuth("sk_test_1").secrets() == ["sk_test_1"]


def test_auth_api_key_rejects_unknown_location() -> None:
    with pytest.raises(ValueError, match="location"):
        ApiKeyAuth("k", "v", location="cookie")


def test_auth_refresh_token_is_lazy_and_fetched_once() -> None:
    session = FakeSession((200, {"access_token": "at_1", "instance_url": "https://x.my.salesforce.com"}))
    auth = OAuth2RefreshToken("https://login/token", "cid", "csecret", "rt_1", session=session)  # type: ignore[arg-type]
    assert session.calls == []
    for _ in range(3):
        assert _applied(auth)[0] == {"Authorization": "Bearer at_1"}
    assert len(session.calls) == 1
    form = session.calls[0]["data"]
    assert form == {"grant_type": "refresh_token", "refresh_token": "rt_1", "client_id": "cid", "client_secret": "csecret"}
    assert auth.token_info["instance_url"] == "https://x.my.salesforce.com"
    assert {"csecret", "rt_1", "at_1"} <= set(auth.secrets())


def test_auth_refresh_before_expiry_and_rotation() -> None:
    now = [0.0]
    session = FakeSession(
        (200, {"access_token": "at_1", "expires_in": 3600, "refresh_token": "rt_2"}),
        (200, {"access_token": "at_2", "expires_in": 3600}),
    )
    auth = OAuth2RefreshToken("https://t", "c", "s", "rt_1", session=session, clock=lambda: now[0])  # type: ignore[arg-type]
    assert _applied(auth)[0]["Authorization"] == "Bearer at_1"
    now[0] = 3530
    assert _applied(auth)[0]["Authorization"] == "Bearer at_1"
    now[0] = 3545  # inside the 60 s margin
    assert _applied(auth)[0]["Authorization"] == "Bearer at_2"
    assert session.calls[1]["data"]["refresh_token"] == "rt_2"
    assert "rt_2" in auth.secrets() and "rt_1" in auth.secrets()


def test_auth_on_unauthorized_refreshes_once_across_threads() -> None:
    session = FakeSession((200, {"access_token": "at_1"}), (200, {"access_token": "at_2"}), (200, {"access_token": "at_3"}))
    auth = OAuth2RefreshToken("https://t", "c", "s", "rt", session=session)  # type: ignore[arg-type]
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def worker() -> None:
        _applied(auth)  # every thread used at_1
        barrier.wait()
        results.append(auth.on_unauthorized())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [True] * 4
    assert len(session.calls) == 2  # initial fetch + one refresh, not four
    assert _applied(auth)[0]["Authorization"] == "Bearer at_2"


def test_auth_invalid_grant_is_auth_error_with_server_text_no_secret() -> None:
    session = FakeSession((400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}))
    auth = OAuth2RefreshToken("https://login/token", "cid", "csecret_xyz", "rt_secret_abc", session=session)  # type: ignore[arg-type]
    with pytest.raises(AuthError) as info:
        _applied(auth)
    message = str(info.value)
    assert "invalid_grant: expired access/refresh token" in message and "https://login/token" in message
    assert "csecret_xyz" not in message and "rt_secret_abc" not in message


def test_auth_token_error_echoing_secret_is_redacted() -> None:
    session = FakeSession((401, b"bad client secret csecret_xyz"))
    auth = OAuth2ClientCredentials("https://t", "cid", "csecret_xyz", ["read", "write"], session=session)  # type: ignore[arg-type]
    with pytest.raises(AuthError) as info:
        _applied(auth)
    assert "csecret_xyz" not in str(info.value) and "***" in str(info.value)


def test_auth_token_server_error_is_http_error_not_config() -> None:
    waits: list[float] = []
    session = FakeSession((503, b"down"))
    auth = OAuth2ClientCredentials("https://t", "c", "s", session=session, sleep=waits.append)  # type: ignore[arg-type]
    with pytest.raises(HttpError) as info:
        _applied(auth)
    assert not isinstance(info.value, AuthError)
    assert len(session.calls) == 3 and waits == [0.5, 1.0]  # retried, then the last 5xx answers


def test_auth_client_credentials_sends_scopes() -> None:
    session = FakeSession((200, {"access_token": "cc_1", "expires_in": 60}))
    auth = OAuth2ClientCredentials("https://t", "cid", "cs", ["a", "b"], session=session)  # type: ignore[arg-type]
    assert _applied(auth)[0] == {"Authorization": "Bearer cc_1"}
    assert session.calls[0]["data"] == {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "cs", "scope": "a b"}


def test_auth_refresh_token_sends_scopes() -> None:
    session = FakeSession((200, {"access_token": "at_1"}))
    auth = OAuth2RefreshToken("https://t", "cid", "cs", "rt", ["a", "b"], session=session)  # type: ignore[arg-type]
    assert _applied(auth)[0] == {"Authorization": "Bearer at_1"}
    assert session.calls[0]["data"] == {"grant_type": "refresh_token", "refresh_token": "rt", "client_id": "cid",
                                        "client_secret": "cs", "scope": "a b"}


def test_auth_session_token_reads_token_path_and_custom_header() -> None:
    session = FakeSession((200, {"data": {"session": {"token": "sess_42"}}}))
    auth = SessionTokenAuth(
        "https://h/login", '{"user": "bob", "password": "hunter22"}', "data.session.token",
        header_name="X-Session", header_prefix="", session=session,  # type: ignore[arg-type]
    )
    assert _applied(auth)[0] == {"X-Session": "sess_42"}
    assert orjson.loads(session.calls[0]["data"]) == {"user": "bob", "password": "hunter22"}
    assert "hunter22" in auth.secrets() and "sess_42" in auth.secrets()


def test_auth_session_token_lifetime_wins_over_expires_in() -> None:
    session = FakeSession((200, {"token": "s1", "expires_in": 5}), (200, {"token": "s2"}))
    now = [100.0]
    auth = SessionTokenAuth("https://h/login", {"p": "x"}, "token", session=session,  # type: ignore[arg-type]
                            clock=lambda: now[0], lifetime_secs=60)
    assert _applied(auth)[0]["Authorization"] == "Bearer s1"
    now[0] = 159.0
    assert _applied(auth)[0]["Authorization"] == "Bearer s1", "kept for its lifetime, not the answer's 5 s"
    now[0] = 160.0
    assert _applied(auth)[0]["Authorization"] == "Bearer s2"
    assert len(session.calls) == 2


def test_auth_token_response_without_token_fails_clearly() -> None:
    auth = SessionTokenAuth("https://h/login", {"p": "x"}, "token", session=FakeSession((200, {"other": 1})))  # type: ignore[arg-type]
    with pytest.raises(AuthError, match="has no token"):
        _applied(auth)


def test_token_request_is_retried_on_5xx_and_connection_errors() -> None:
    import requests as _requests

    from source_solidafy.rest.oauth2 import OAuth2RefreshToken

    class FlakySession:
        def __init__(self) -> None:
            self.calls = 0
            self.trust_env = True

        def post(self, url: str, **kwargs: object) -> _requests.Response:
            self.calls += 1
            if self.calls == 1:
                raise _requests.ConnectionError("reset by peer")
            resp = _requests.Response()
            if self.calls == 2:
                resp.status_code, resp._content = 503, b'{"error":"busy"}'
            else:
                resp.status_code, resp._content = 200, b'{"access_token":"tok-123","expires_in":3600}'
            return resp

    session = FlakySession()
    waits: list[float] = []
    auth = OAuth2RefreshToken("http://127.0.0.1:1/token", "cid", "csecret", "rtok", session=session,  # type: ignore[arg-type]
                              sleep=waits.append)
    headers: dict[str, str] = {}
    auth.apply(headers, {})
    assert headers["Authorization"] == "Bearer tok-123"
    assert session.calls == 3 and waits == [0.5, 1.0]
