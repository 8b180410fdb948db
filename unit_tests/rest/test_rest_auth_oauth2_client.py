"""OAuth2 token requests: client_secret_basic or body credentials, extra form fields and headers."""

from __future__ import annotations

import base64

import pytest

from source_solidafy.manifest.loader import load_manifest_text
from source_solidafy.rest import builders
from source_solidafy.rest.oauth2 import OAuth2ClientCredentials, OAuth2RefreshToken, TokenRequest
from unit_tests.rest.test_rest_auth import FakeSession, _applied


def test_client_secret_basic_sends_the_credentials_in_the_header_only() -> None:
    session = FakeSession((200, {"access_token": "at_1"}))
    request = TokenRequest("client_secret_basic", {"audience": "api://x"}, {"X-Tenant": "t1"})
    auth = OAuth2ClientCredentials("https://t", "id:1", "s/é", ["read"], session=session,  # type: ignore[arg-type]
                                   request=request)
    assert _applied(auth)[0] == {"Authorization": "Bearer at_1"}
    call = session.calls[0]
    assert call["data"] == {"grant_type": "client_credentials", "audience": "api://x", "scope": "read"}
    assert call["headers"]["X-Tenant"] == "t1"
    scheme, encoded = call["headers"]["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(encoded) == b"id%3A1:s%2F%C3%A9"  # each part form-encoded first (RFC 6749 2.3.1)
    assert encoded in auth.secrets() and "s/é" in auth.secrets()


def test_client_secret_post_is_the_default_and_extra_fields_are_added() -> None:
    session = FakeSession((200, {"access_token": "at_1"}))
    auth = OAuth2RefreshToken("https://t", "cid", "cs", "rt", session=session,  # type: ignore[arg-type]
                              request=TokenRequest(params={"resource": "r"}, headers={"X-Api-Key": "hk"}))
    _applied(auth)
    call = session.calls[0]
    assert call["data"] == {"grant_type": "refresh_token", "refresh_token": "rt", "resource": "r",
                            "client_id": "cid", "client_secret": "cs"}
    assert "Authorization" not in call["headers"]
    assert "hk" in auth.secrets(), "a header named like a secret is one"
    assert "r" not in auth.secrets()


def test_a_token_param_may_name_another_grant() -> None:
    """Zoom's server-to-server apps: ``grant_type=account_credentials`` with an ``account_id``."""
    session = FakeSession((200, {"access_token": "at_1"}))
    request = TokenRequest("client_secret_basic", {"grant_type": "account_credentials", "account_id": "A1"})
    _applied(OAuth2ClientCredentials("https://t", "c", "s", session=session, request=request))  # type: ignore[arg-type]
    assert session.calls[0]["data"] == {"grant_type": "account_credentials", "account_id": "A1"}


def test_unknown_client_auth_is_refused() -> None:
    with pytest.raises(ValueError, match="client_secret_basic"):
        TokenRequest("client_secret_jwt")


def test_yaml_keys_reach_the_token_request() -> None:
    manifest = load_manifest_text("""
name: t
base_url: https://api.example.com
auth:
  type: oauth2_client_credentials
  token_url: https://auth.example.com/token
  client_id: "{{ config.client_id }}"
  client_secret: "{{ config.client_secret }}"
  client_auth: client_secret_basic
  token_params: {audience: "{{ config.audience }}"}
  token_headers: {X-Tenant: acme}
streams:
  - name: s
    request: {path: /s}
""")
    config = {"client_id": "c", "client_secret": "s", "audience": "https://api"}
    session = FakeSession((200, {"access_token": "at"}))
    auth = builders.auth(manifest.auth_for(config), builders.AuthInputs.of(config, session))  # type: ignore[arg-type]
    _applied(auth)
    call = session.calls[0]
    assert call["data"] == {"grant_type": "client_credentials", "audience": "https://api"}
    assert call["headers"]["X-Tenant"] == "acme" and call["headers"]["Authorization"].startswith("Basic ")


def test_a_wrong_client_auth_is_a_load_error_with_the_choices() -> None:
    from source_solidafy.errors import ManifestError

    with pytest.raises(ManifestError) as info:
        load_manifest_text("""
name: t
base_url: https://api.example.com
auth:
  type: oauth2_client_credentials
  token_url: https://auth.example.com/token
  client_id: a
  client_secret: b
  client_auth: basic
streams:
  - name: s
    request: {path: /s}
""")
    assert str(info.value) == ("<string>:9: auth.client_auth: expected one of client_secret_post, "
                               "client_secret_basic; got 'basic'")
