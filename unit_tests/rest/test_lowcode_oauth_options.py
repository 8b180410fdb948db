"""OAuthAuthenticator's refresh options as airbyte-cdk 7.39.1 reads them (source_solidafy/lowcode/oauth.py,
oauth_errors.py): send_refresh_request_as_query_params, access_token_value with token_expiry_date,
refresh_token_error_*, profile_assertion; what we do not do fails at load time. Differential cases: oauth_query,
oauth_given_token, oauth_given_expired, oauth_rejected, oauth_assertion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_tests.mocks.server import MockServer, Request, Response
from source_solidafy.errors import AuthError, ConfigError, ManifestError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.rest import builders
from unit_tests.rest.test_rest_auth import _applied

MANIFESTS = Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests"
OPTIONS = (MANIFESTS / "oauth_options_manifest.yaml").read_text()
GIVEN = (MANIFESTS / "oauth_given_manifest.yaml").read_text()
CONFIG = {"api_url": "http://127.0.0.1:9", "client_id": "cid-1", "client_secret": "cs-1", "refresh_token": "rt-1",
          "audience": "aud"}


def _auth(text: str, config: dict[str, Any]) -> Any:
    return builders.auth(load_airbyte_text(text).manifest.auth_for(config), builders.AuthInputs.of(config))


def _sent(auth: Any, answer: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    auth._post = lambda url, **kw: sent.append(kw) or dict(answer or {"access_token": "at-new"})
    return sent


def test_refresh_args_go_in_the_query_string_and_the_body_is_empty() -> None:
    auth = _auth(OPTIONS, {**CONFIG, "auth_flow": "query_client"})
    sent = _sent(auth)
    assert _applied(auth)[0]["Authorization"] == "Bearer at-new"
    assert "data" not in sent[0] and sent[0]["headers"]["X-Tenant"] == "acme"
    assert sent[0]["params"] == [("grant_type", "refresh_token"), ("client_id", "cid-1"), ("client_secret", "cs-1"),
                                 ("refresh_token", "rt-1"), ("scopes", "reports.read"), ("scopes", "accounts:write"),
                                 ("audience", "aud")]


GIVEN_CONFIG = {**CONFIG, "access_token": "at-given"}


def test_a_given_access_token_is_used_until_its_expiry_date() -> None:
    auth = _auth(GIVEN, {**GIVEN_CONFIG, "token_expiry": "2099-01-01T00:00:00Z"})
    sent = _sent(auth)
    assert _applied(auth)[0]["Authorization"] == "Bearer at-given" and sent == []
    assert "at-given" in auth.secrets()


@pytest.mark.parametrize("expiry", ["2020-01-01", 1577836800, "1577836800"])
def test_a_given_access_token_past_its_expiry_date_is_refreshed_first(expiry: Any) -> None:
    auth = _auth(GIVEN, {**GIVEN_CONFIG, "token_expiry": expiry})
    sent = _sent(auth)
    assert _applied(auth)[0]["Authorization"] == "Bearer at-new"
    assert sent[0]["data"][0] == ("grant_type", "refresh_token")


def test_a_given_access_token_without_an_expiry_date_is_refreshed_first() -> None:
    auth = _auth(GIVEN.replace("          token_expiry_date: \"{{ config['token_expiry'] }}\"\n", ""), GIVEN_CONFIG)
    _sent(auth)
    assert _applied(auth)[0]["Authorization"] == "Bearer at-new"


def test_an_expiry_date_the_cdk_cannot_read_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="token_expiry_date: 'next tuesday' is not a date"):
        _auth(GIVEN, {**GIVEN_CONFIG, "token_expiry": "next tuesday"})


def test_without_a_token_endpoint_the_given_access_token_is_a_bearer_token() -> None:
    text = GIVEN.replace("          token_refresh_endpoint: \"{{ config['api_url'] }}/oauth2/token\"\n", "")
    assert text != GIVEN
    auth = _auth(text, {**GIVEN_CONFIG, "token_expiry": "2020-01-01"})
    assert _applied(auth)[0]["Authorization"] == "Bearer at-given", "the CDK's access-token flow: never refreshed"
    bare = text.replace("          access_token_value: \"{{ config['access_token'] }}\"", "")
    with pytest.raises(ManifestError, match="without token_refresh_endpoint nor access_token_value"):
        load_airbyte_text(bare)


@pytest.fixture
def refusing() -> Iterator[MockServer]:
    """A token endpoint refusing every request: 400 invalid_grant, with a provider code and the refresh token."""
    def answer(req: Request) -> Response:
        return Response.json({"error": "invalid_grant", "error_description": "AADSTS50173: grant rt-1 expired"}, 400)

    server = MockServer(answer).start()
    yield server
    server.stop()


def test_a_refresh_token_the_provider_rejects_is_the_cdks_config_error(refusing: MockServer) -> None:
    auth = _auth(OPTIONS, {**CONFIG, "api_url": refusing.url, "auth_flow": "rejected"})
    with pytest.raises(AuthError) as caught:
        _applied(auth)
    assert str(caught.value) == ("Refresh token was rejected by the OAuth provider (invalid, expired, or already used). "
                                 "Re-authenticate this source's credentials in its connection settings. Provider "
                                 "error: invalid_grant: AADSTS50173")
    assert caught.value.failure_type == "config_error" and len(refusing.requests) == 1, "never retried"
    assert "rt-1" not in str(caught.value) and "cs-1" not in str(caught.value)


def test_a_refusal_the_error_options_do_not_name_fails_as_any_token_refusal(refusing: MockServer) -> None:
    text = OPTIONS.replace("refresh_token_error_values: [invalid_grant, revoked]", "refresh_token_error_values: [revoked]")
    auth = _auth(text, {**CONFIG, "api_url": refusing.url, "auth_flow": "rejected"})
    with pytest.raises(AuthError, match="refused: HTTP 400: invalid_grant: AADSTS50173: grant \\*\\*\\* expired"):
        _applied(auth)


def test_the_error_options_of_a_refresh_token_updater_and_its_query_string(refusing: MockServer) -> None:
    text = OPTIONS.replace("            refresh_token_name: next_refresh_token\n", "            refresh_token_name: next_refresh_token\n"
                           "            refresh_token_error_status_codes: [400]\n            refresh_token_error_key: error\n"
                           "            refresh_token_error_values: [invalid_grant]\n")
    text = text.replace("          expires_in_name: expires_at\n", "          expires_in_name: expires_at\n"
                        "          send_refresh_request_as_query_params: true\n")
    config = {**CONFIG, "api_url": refusing.url, "auth_flow": "single_use", "credentials": {"refresh_token": "rt-1"}}
    with pytest.raises(AuthError, match="^Refresh token was rejected .* Provider error: invalid_grant: AADSTS50173$"):
        _applied(_auth(text, config))
    assert refusing.requests[0].query["next_refresh_token"] == ["rt-1"] and not refusing.requests[0].body


@pytest.mark.parametrize(("old", "new", "message"), [
    ("          refresh_token_error_key: error\n", "          refresh_token_error_key: error\n"
     "          refresh_token_updater: {refresh_token_error_key: error}\n", "on both the OAuthAuthenticator and its"),
    ("refresh_token_error_status_codes: [400, 401]", "refresh_token_error_status_codes: 400", "a list of HTTP statuses"),
    ("refresh_token_error_values: [invalid_grant, revoked]", "refresh_token_error_values: [1]", "a list of text"),
])
def test_refresh_options_we_cannot_read_alike_fail_at_load_time(old: str, new: str, message: str) -> None:
    assert old in OPTIONS
    with pytest.raises(ManifestError, match=message):
        load_airbyte_text(OPTIONS.replace(old, new))


ASSERTION = (MANIFESTS / "oauth_assertion_manifest.yaml").read_text()
ASSERTION_CONFIG = {"api_url": "http://127.0.0.1:9", "secret_key": "s" * 32, "key_id": "k-7", "client_email": "svc@x"}


@pytest.mark.parametrize(("prefix", "sent_prefix"), [("", ""), ("            header_prefix: JWT\n", "JWT ")])
def test_a_profile_assertion_is_the_whole_form(prefix: str, sent_prefix: str) -> None:
    import jwt

    text = ASSERTION.replace("            token_duration: 300\n", "            token_duration: 300\n" + prefix)
    auth = _auth(text, ASSERTION_CONFIG)
    sent = _sent(auth, {"access_token": "at-9", "ttl": 60})
    assert _applied(auth)[0]["Authorization"] == "Bearer at-9"
    (grant, grant_type), (name, assertion) = sent[0]["data"]
    assert (grant, grant_type, name) == ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion")
    assert assertion.startswith(sent_prefix) and sent[0]["headers"]["X-Tenant"] == "acme"
    claims = jwt.decode(assertion[len(sent_prefix):], "s" * 32, algorithms=["HS256"], audience="http://127.0.0.1:9/oauth2/token")
    assert claims["iss"] == "svc@x" and claims["scope"] == "reports.read" and claims["exp"] - claims["iat"] == 300
    assert assertion in auth.secrets() and "s" * 32 in auth.secrets()


@pytest.mark.parametrize(("old", "new", "message"), [
    ("use_profile_assertion: true", "use_profile_assertion: maybe", "expected true or false"),
    ("use_profile_assertion: true", "use_profile_assertion: true\n          send_refresh_request_as_query_params: true",
     "with a profile assertion is not supported yet"),
    ("use_profile_assertion: true", "use_profile_assertion: true\n          refresh_token_updater: {}",
     "with refresh_token_updater is not supported yet"),
    ("use_profile_assertion: true", "use_profile_assertion: false", "needs client_id and client_secret"),
])
def test_profile_assertions_we_cannot_send_alike_fail_at_load_time(old: str, new: str, message: str) -> None:
    assert old in ASSERTION
    with pytest.raises(ManifestError, match=message):
        load_airbyte_text(ASSERTION.replace(old, new))


def test_use_profile_assertion_without_one_fails_at_load_time() -> None:
    start = ASSERTION.index("          profile_assertion:")
    end = ASSERTION.index("      record_selector:")
    with pytest.raises(ManifestError, match="needs a profile_assertion"):
        load_airbyte_text(ASSERTION[:start] + ASSERTION[end:])
