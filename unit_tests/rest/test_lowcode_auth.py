"""Airbyte authenticators translated onto ours: JwtAuthenticator onto ``jwt``, OAuthAuthenticator's
refresh_request_body/headers onto ``token_params``/``token_headers`` (the differential tests compare
the requests with airbyte-cdk's: integration_tests/airbyte_manifests/cases/jwt.yaml and oauth.yaml)."""

from __future__ import annotations

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
    assert old in MANIFEST
    with pytest.raises(ManifestError) as info:
        load_airbyte_text(MANIFEST.replace(old, new))
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
