"""Airbyte authenticators translated onto ours: JwtAuthenticator onto ``jwt``, OAuthAuthenticator's
refresh_request_body/headers onto ``token_params``/``token_headers``, SessionTokenAuthenticator onto
``session_token`` (the differential tests compare the requests with airbyte-cdk's:
integration_tests/airbyte_manifests/cases/jwt.yaml, oauth.yaml and session.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest

from source_solidafy.errors import AuthError, ConfigError, ManifestError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.rest import builders
from source_solidafy.rest.auth import REFRESH_MARGIN_SECS
from source_solidafy.rest.request import FORM
from unit_tests.rest.test_rest_auth import _applied

MANIFEST = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests" / "jwt_manifest.yaml").read_text()
CONFIG = {"secret_key": "s" * 32, "key_id": "k-1", "app_id": "app-1", "api_url": "http://127.0.0.1:9"}


def test_the_translated_jwt_carries_the_cdk_claims_and_headers() -> None:
    source = load_airbyte_text(MANIFEST)
    auth = builders.auth(source.manifest.auth_for(CONFIG), builders.AuthInputs.of(CONFIG))
    header = _applied(auth)[0]["Authorization"]
    assert header.startswith("Bearer ")
    token = header[7:]
    claims = jwt.decode(token, "s" * 32, algorithms=["HS256"], audience="solidafy-tests")
    assert {k: claims[k] for k in ("iss", "aud", "scope")} == {"iss": "app-1", "aud": "solidafy-tests", "scope": "read"}
    assert claims["exp"] - claims["iat"] == 540
    assert jwt.get_unverified_header(token)["kid"] == "k-1"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("algorithm: HS256", "algorithm: ES521", "JwtAuthenticator algorithm 'ES521' is not supported"),
    ("token_duration: 540", "base64_encode_secret_key: \"{{ config['b64'] }}\"",
     "base64_encode_secret_key \"{{ config['b64'] }}\": expected true or false"),
    ("token_duration: 540", "request_option: {type: RequestOption, inject_into: body_json, field_name: jwt}",
     "a JWT in the request body is not supported yet"),
    ("        scope: read", "        exp: 5", "'exp' is reserved and may not be in additional_jwt_payload"),
])
def test_what_we_cannot_sign_alike_fails_at_load_time(old: str, new: str, message: str) -> None:
    _fails_to_load(MANIFEST, old, new, message)


def _fails_to_load(text: str, old: str, new: str, message: str) -> None:
    assert old in text
    with pytest.raises(ManifestError) as info:
        load_airbyte_text(text.replace(old, new))
    assert message in str(info.value)


OAUTH = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests" / "oauth_manifest.yaml").read_text()


def test_oauth_extras_are_added_to_the_form_and_standard_fields_win() -> None:
    config = {"api_url": "http://127.0.0.1:9", "client_id": "cid-1", "client_secret": "cs-1", "refresh_token": "rt-1",
              "audience": "aud"}
    form, headers = _token_request(OAUTH, config)
    assert form == [("grant_type", "refresh_token"), ("client_id", "cid-1"), ("client_secret", "cs-1"),
                    ("refresh_token", "rt-1"), ("audience", "aud")], "grant_type is the CDK's own field: never replaced"
    assert headers["X-Tenant"] == "acme"


OPTIONS = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests" / "oauth_options_manifest.yaml").read_text()
OPTIONS_CONFIG = {"api_url": "http://127.0.0.1:9", "client_id": "cid-1", "client_secret": "cs-1", "refresh_token": "rt-1",
                  "audience": "aud"}


def _token_request(text: str, config: dict[str, Any], answer: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, str]]:
    """The form and headers of the token request the translated authenticator sends (nothing is sent)."""
    auth = builders.auth(load_airbyte_text(text).manifest.auth_for(config), builders.AuthInputs.of(config))
    sent: list[Any] = []
    auth._post = lambda url, **kw: sent.append(kw) or dict(answer or {"access_token": "at-1"})  # type: ignore[attr-defined]
    _applied(auth)
    return sent[0]["data"], sent[0]["headers"]


def test_an_authorization_refresh_header_leaves_the_client_out_of_the_form_and_scopes_repeat() -> None:
    answer = {"data": {"session": {"accessToken": "at-9", "expiresAt": "2099-01-01T00:00:00Z"}}}
    form, headers = _token_request(OPTIONS, {**OPTIONS_CONFIG, "auth_flow": "header_client"}, answer)
    assert form == [("grantType", "refresh_token"), ("refreshToken", "rt-1"), ("scopes", "reports.read"),
                    ("scopes", "accounts:write"), ("audience", "aud")], "tenant renders None: left out, as requests does"
    assert headers["Authorization"] == "Basic Y2lkLTE6Y3MtMQ==" and headers["X-Tenant"] == "acme"


def test_other_names_and_a_refresh_token_with_client_credentials() -> None:
    form, _ = _token_request(OPTIONS, {**OPTIONS_CONFIG, "auth_flow": "named_client"})
    assert form == [("grant_type", "client_credentials"), ("clientId", "cid-1"), ("clientSecret", "cs-1"),
                    ("refresh_token", "rt-1"), ("client_id", "also-sent"), ("retries", "3")]


def _grant(flow: str) -> Any:
    config = {**OPTIONS_CONFIG, "auth_flow": flow}
    return builders.auth(load_airbyte_text(OPTIONS).manifest.auth_for(config), builders.AuthInputs.of(config))


@pytest.mark.parametrize(("flow", "answer", "lifetime"), [
    ("named_client", {"access_token": "a", "ttl": "120.9"}, 120),
    ("named_client", {"access_token": "a"}, 3600),
    ("header_client", {"x": {"accessToken": "a", "expiresAt": "2099-01-01"}}, None),
])
def test_the_token_and_its_lifetime_are_read_as_the_cdk_reads_them(flow: str, answer: dict[str, Any], lifetime: int | None) -> None:
    grant = _grant(flow)
    grant._post = lambda url, **kw: dict(answer)
    grant._clock = lambda: 1000.0
    assert _applied(grant)[0]["Authorization"] == "Bearer a"
    if lifetime is not None:
        assert grant._expires_at == 1000.0 + lifetime - min(REFRESH_MARGIN_SECS, lifetime / 2)
    else:
        assert grant._expires_at > 1000.0 + 365 * 86400


@pytest.mark.parametrize(("answer", "message"), [
    ({"access_token": "a", "ttl": "soon"}, "ttl 'soon' is not a number of seconds"),
    ({"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}, "no 'access_token' within 5 levels"),
    ({"token": "a"}, "has no token"),
])
def test_an_answer_the_cdk_cannot_read_fails(answer: dict[str, Any], message: str) -> None:
    grant = _grant("named_client")
    grant._post = lambda url, **kw: dict(answer)
    with pytest.raises(AuthError, match=message):
        _applied(grant)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("          client_secret: \"{{ config['client_secret'] }}\"\n          refresh_token", "          refresh_token",
     "needs client_id and client_secret"),
    ("scopes: [reports.read, \"accounts:write\"]", "scopes: read", "scopes: expected a list of text"),
    ("            X-Tenant: acme", "            \"{{ config.h }}\": acme", "a templated name"),
])
def test_oauth_options_the_cdk_refuses_fail_at_load_time(old: str, new: str, message: str) -> None:
    _fails_to_load(OPTIONS, old, new, message)


def test_a_refresh_token_that_is_one_config_key_can_be_written_back() -> None:
    from source_solidafy.config_updates import config_path

    block = load_airbyte_text(OAUTH).manifest.auth
    assert config_path(block.refresh_token.source) == ("refresh_token",)
    templated = OAUTH.replace("refresh_token: \"{{ config['refresh_token'] }}\"",
                              "refresh_token: \"{{ config['refresh_token'] | trim }}\"")
    assert templated != OAUTH
    assert config_path(load_airbyte_text(templated).manifest.auth.refresh_token.source) is None


SESSION = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests" / "session_manifest.yaml").read_text()
SESSION_CONFIG = {"username": "ann", "password": "pw \"x\"", "api_url": "http://127.0.0.1:9"}


def test_the_session_login_is_the_login_requesters_post() -> None:
    block = load_airbyte_text(SESSION).manifest.auth
    auth = builders.auth(block, builders.AuthInputs.of(SESSION_CONFIG))
    assert auth.login_url == "http://127.0.0.1:9/auth/login"
    assert auth.token_method == "POST"
    assert auth._login().body == {"username": "ann", "password": 'pw "x"', "client": {"name": "solidafy", "tags": ["sync", "ann"]}}
    assert (block.token_path, block.header_name, block.header_prefix, block.lifetime_secs) == (
        "data.session.token", "X-Session", "Token ", 3600)
    bearer = SESSION.replace("type: ApiKey", "type: Bearer")
    assert load_airbyte_text(bearer).manifest.auth.header_prefix == "Bearer "


LOGIN_CONFIG = {"login_kind": "form", "username": "ann", "password": "pw&=1", "app_id": "app-7", "app_secret": "as-9",
                "api_url": "http://127.0.0.1:9"}


def test_the_login_requesters_query_headers_form_and_own_authenticator_are_sent_as_the_cdk_sends_them() -> None:
    text = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests" / "session_login_manifest.yaml").read_text()
    form = builders.auth(load_airbyte_text(text).manifest.auth_for(LOGIN_CONFIG), builders.AuthInputs.of(LOGIN_CONFIG))
    login = form._login()
    assert (form.token_method, login.params, login.headers["X-App-Id"]) == ("POST", {"client": "solidafy", "region": "None"}, "app-7")
    assert (login.data, login.headers["Content-Type"], login.body) == ("username=ann&password=pw%26%3D1", FORM, {})
    assert _applied(form._login_auth)[0]["Authorization"].startswith("Basic ")
    assert {"pw&=1", "as-9", "ann", "app-7"} <= set(form.secrets()) and "solidafy" not in form.secrets()  # redacted
    query = {**LOGIN_CONFIG, "login_kind": "query"}
    get = builders.auth(load_airbyte_text(text).manifest.auth_for(query), builders.AuthInputs.of(query))
    assert (get.token_method, get._login().params, get._login().data, get.header_name) == (
        "GET", {"username": "ann", "password": "pw&=1"}, None, "Authorization")


@pytest.mark.parametrize(("kind", "each"), [("form", 1), ("query", 2), ("header", 6)])
def test_without_expiration_duration_a_request_logs_in_as_often_as_the_cdk_reads_the_token(kind: str, each: int) -> None:
    text = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests" / "session_login_manifest.yaml").read_text()
    config = {**LOGIN_CONFIG, "login_kind": kind}
    block = load_airbyte_text(text).manifest.auth_for(config)
    assert (block.lifetime_secs, block.airbyte.logins_per_request) == (None, each)
    kept = load_airbyte_text(SESSION).manifest.auth
    assert (kept.lifetime_secs, kept.airbyte.logins_per_request, kept.airbyte.xml) == (3600, 0, False)
    xml = load_airbyte_text(text).manifest.auth_for({**config, "login_kind": "xml"})
    assert (xml.lifetime_secs, xml.airbyte.logins_per_request, xml.airbyte.xml, xml.token_path) == (
        600, 0, True, "response.session.token")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("expiration_duration: PT1H", "expiration_duration: P1M", "expiration_duration: expected whole seconds"),
    ("expiration_duration: PT1H", "expiration_duration: soon", "expected an ISO 8601 duration"),
    ("        http_method: POST\n", "        http_method: PUT\n",
     "login_requester.http_method: a login request with PUT is not supported yet"),
    ("        path: /auth/login", "        path: /auth/login\n        error_handler: {type: DefaultErrorHandler}",
     "login_requester.error_handler: the login requester's error_handler is not supported yet"),
    ("        path: /auth/login", "        path: /auth/login\n        authenticator: {type: JwtAuthenticator, "
     "secret_key: k, algorithm: HS256}", "a login requester's JwtAuthenticator is not supported yet"),
    ("        path: /auth/login", "        path: /auth/login\n        request_body_data: {a: b}",
     "request_body_data with request_body_json"),
    ("      session_token_path: [data, session, token]", "      session_token_path: [data, session, token]\n"
     "      decoder: {type: JsonlDecoder}", "decoder: a login answer read by JsonlDecoder is not supported yet"),
    ("inject_into: header, field_name: X-Session", "inject_into: body_json, field_name: s",
     "a session token in the request body is not supported yet"),
    ('api_token: "Token {{ session_token }}"', 'api_token: "{{ session_token }}-x"', "api_token other than"),
    ('api_token: "Token {{ session_token }}"', 'api_token: "Token{{ session_token }}"', "api_token other than"),
])
def test_a_session_login_we_cannot_send_alike_fails_at_load_time(old: str, new: str, message: str) -> None:
    _fails_to_load(SESSION, old, new, message)


SINGLE_USE = {**OPTIONS_CONFIG, "auth_flow": "single_use", "credentials": {"refresh_token": "rt-1"}}


def _single_use(config: dict[str, Any], saved: list[Any]) -> Any:
    inputs = builders.AuthInputs.of(config, save=lambda template, value: saved.append((template.source, value)))
    return builders.auth(load_airbyte_text(OPTIONS).manifest.auth_for(config), inputs)


def test_refresh_token_updater_reads_the_config_and_writes_the_tokens_back() -> None:
    saved: list[Any] = []
    grant = _single_use(SINGLE_USE, saved)
    sent: list[Any] = []
    grant._post = lambda url, **kw: sent.append(kw["data"]) or {"access_token": "at-2", "expires_at": 4102444800,
                                                                 "next_refresh_token": "rt-2"}
    assert _applied(grant)[0]["Authorization"] == "Bearer at-2"
    assert sent == [[("grant_type", "refresh_token"), ("client_id", "cid-1"), ("client_secret", "cs-1"),
                     ("next_refresh_token", "rt-1")]]
    assert saved == [("{{ config['credentials']['access_token'] }}", "at-2"),
                     ("{{ config['credentials']['refresh_token'] }}", "rt-2"),
                     ("{{ config['credentials']['token_expiry_date'] }}", "2100-01-01T00:00:00+00:00")]
    assert "rt-2" in grant.secrets() and "at-2" in grant.secrets()


def test_refresh_token_updater_uses_an_access_token_whose_expiry_is_ahead() -> None:
    config = {**SINGLE_USE, "credentials": {"refresh_token": "rt-1", "access_token": "at-cfg", "client_id": "cid-2",
                                            "token_expiry_date": "2099-01-01T00:00:00+00:00"}}
    saved: list[Any] = []
    grant = _single_use(config, saved)
    grant._post = lambda url, **kw: pytest.fail("no token request while the config's token is valid")
    assert _applied(grant)[0]["Authorization"] == "Bearer at-cfg"
    assert saved == [] and "at-cfg" in grant.secrets()
    expired = {**config, "credentials": {**config["credentials"], "token_expiry_date": "2020-01-01"}}
    grant = _single_use(expired, saved)
    sent: list[Any] = []
    grant._post = lambda url, **kw: sent.append(kw["data"]) or {"access_token": "at-3"}
    assert _applied(grant)[0]["Authorization"] == "Bearer at-3"
    assert ("client_id", "cid-2") in sent[0], "the config's credentials.client_id wins, as in the CDK"
    assert saved[-1][0].endswith("['token_expiry_date'] }}"), "no expiry in the answer: an hour on, written back"


def test_refresh_token_updater_with_an_expiry_the_cdk_cannot_read_is_a_config_error() -> None:
    config = {**SINGLE_USE, "credentials": {"refresh_token": "rt-1", "token_expiry_date": "next tuesday"}}
    with pytest.raises(ConfigError, match="credentials.token_expiry_date"):
        _single_use(config, [])


LEGACY = (Path(__file__).resolve().parents[2] / "integration_tests" / "airbyte_manifests" / "legacy_session_manifest.yaml").read_text()


def test_the_legacy_login_is_the_cdks_json_post_to_url_base_and_login_url_joined_as_text() -> None:
    config = {"username": "ann", "password": "pw", "api_url": "http://127.0.0.1:9"}
    block = load_airbyte_text(LEGACY).manifest.auth
    auth = builders.auth(block, builders.AuthInputs.of(config))
    assert (auth.login_url, auth.token_method, auth._login().body) == (
        "http://127.0.0.1:9/v1/auth/session", "POST", {"username": "ann", "password": "pw"})
    assert (block.token_path, block.header_name, block.header_prefix, block.lifetime_secs) == (
        "id", "X-Metabase-Session", "", 86400)
    with pytest.raises(ConfigError, match="a session token from the config .* is not supported yet"):
        builders.auth(block, builders.AuthInputs.of({**config, "session_token": "st-1"}))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("      header: X-Metabase-Session", "      header: \"{{ config['h'] }}\"",
     "LegacySessionTokenAuthenticator.header: expected a plain name"),
    ("      session_token_response_key: id", "      session_token_response_key: data.id",
     "LegacySessionTokenAuthenticator.session_token_response_key: expected a plain name"),
    ("      username: \"{{ config['username'] }}\"\n", "", "LegacySessionTokenAuthenticator without username"),
])
def test_a_legacy_login_we_cannot_send_alike_fails_at_load_time(old: str, new: str, message: str) -> None:
    _fails_to_load(LEGACY, old, new, message)
