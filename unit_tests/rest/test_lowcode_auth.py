"""Airbyte authenticators translated onto ours: JwtAuthenticator onto ``jwt``, OAuthAuthenticator's
refresh_request_body/headers onto ``token_params``/``token_headers``, SessionTokenAuthenticator onto
``session_token`` (the differential tests compare the requests with airbyte-cdk's:
integration_tests/airbyte_manifests/cases/jwt.yaml, oauth.yaml and session.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from source_solidafy.errors import ManifestError
from source_solidafy.lowcode import load_airbyte_text
from source_solidafy.rest import builders
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
    ("algorithm: HS256", "algorithm: EdDSA", "JwtAuthenticator algorithm 'EdDSA' is not supported"),
    ("token_duration: 540", "base64_encode_secret_key: true",
     "JwtAuthenticator.base64_encode_secret_key is not supported (needs JWT keys given base64-encoded"),
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


def test_oauth_extras_become_token_params_and_headers_and_standard_fields_win() -> None:
    block = load_airbyte_text(OAUTH).manifest.auth
    assert list(block.token_params) == ["audience"], "grant_type is the CDK's own field: never replaced"
    assert block.token_headers["X-Tenant"].source == "acme"


def test_an_authorization_refresh_header_fails_at_load_time() -> None:
    text = OAUTH.replace("        X-Tenant: acme", "        Authorization: Basic abc")
    with pytest.raises(ManifestError, match="refresh_request_headers with Authorization is not supported yet"):
        load_airbyte_text(text)


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
    assert json.loads(auth._body) == {"username": "ann", "password": 'pw "x"'}
    assert (block.token_path, block.header_name, block.header_prefix, block.lifetime_secs) == (
        "data.session.token", "X-Session", "Token ", 3600)
    bearer = SESSION.replace("type: ApiKey", "type: Bearer")
    assert load_airbyte_text(bearer).manifest.auth.header_prefix == "Bearer "


@pytest.mark.parametrize(("old", "new", "message"), [
    ("      expiration_duration: PT1H\n", "", "authenticator: a SessionTokenAuthenticator without expiration_duration"),
    ("expiration_duration: PT1H", "expiration_duration: P1M", "expiration_duration: expected whole seconds"),
    ("expiration_duration: PT1H", "expiration_duration: soon", "expected an ISO 8601 duration"),
    ("        http_method: POST\n", "", "login_requester.http_method: a login request other than a POST"),
    ("        path: /auth/login", "        path: /auth/login\n        request_headers: {X-A: b}",
     "login_requester.request_headers: the login requester's request_headers is not supported yet"),
    ("      session_token_path: [data, session, token]", "      session_token_path: [data, session, token]\n"
     "      decoder: {type: JsonlDecoder}", "decoder: a login answer other than JSON"),
    ("inject_into: header, field_name: X-Session", "inject_into: request_parameter, field_name: s",
     "a session token outside a header is not supported yet"),
    ('api_token: "Token {{ session_token }}"', 'api_token: "{{ session_token }}-x"', "api_token other than"),
    ('api_token: "Token {{ session_token }}"', 'api_token: "Token{{ session_token }}"', "api_token other than"),
])
def test_a_session_login_we_cannot_send_alike_fails_at_load_time(old: str, new: str, message: str) -> None:
    _fails_to_load(SESSION, old, new, message)
