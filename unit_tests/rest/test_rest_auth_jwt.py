"""JWT auth: signing with keys from the config (verified with the public key), renewal, key errors."""

from __future__ import annotations

import sys
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from source_solidafy.errors import ConfigError, ManifestError
from source_solidafy.manifest.loader import load_manifest_text
from source_solidafy.rest import builders
from source_solidafy.rest.jwt_auth import JwtAuth, JwtSigner
from source_solidafy.rest.oauth2 import OAuth2JwtBearer, TokenRequest
from unit_tests.rest.test_rest_auth import FakeSession, _applied


def _pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC256 = ec.generate_private_key(ec.SECP256R1())
EC384 = ec.generate_private_key(ec.SECP384R1())
EC256K = ec.generate_private_key(ec.SECP256K1())
ED25519 = ed25519.Ed25519PrivateKey.generate()
ED448 = ed448.Ed448PrivateKey.generate()


@pytest.mark.parametrize(("algorithm", "key", "verify"), [
    ("RS256", _pem(RSA), RSA.public_key()),
    ("PS256", _pem(RSA), RSA.public_key()),
    ("ES256", _pem(EC256), EC256.public_key()),
    ("ES384", _pem(EC384), EC384.public_key()),
    ("ES256K", _pem(EC256K), EC256K.public_key()),
    ("EdDSA", _pem(ED25519), ED25519.public_key()),
    ("EdDSA", _pem(ED448), ED448.public_key()),
    ("HS256", "a-shared-secret-of-32-bytes-long!", "a-shared-secret-of-32-bytes-long!"),
])
def test_signed_jwts_verify_with_the_public_key(algorithm: str, key: str, verify: Any) -> None:
    signer = JwtSigner(algorithm, key, {"iss": "123", "aud": "https://api"}, key_id="k1", lifetime=600,
                       backdate=60, clock=lambda: 1_700_000_000.5)
    token, expires = signer.sign()
    claims = jwt.decode(token, verify, algorithms=[algorithm], audience="https://api",
                        options={"verify_exp": False, "verify_iat": False})
    assert claims == {"iss": "123", "aud": "https://api", "iat": 1_700_000_000 - 60, "exp": 1_700_000_600}
    assert expires == 1_700_000_600
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "typ": "JWT", "kid": "k1"}


def test_jwt_auth_sends_the_jwt_and_signs_a_new_one_before_expiry() -> None:
    now = [1_000_000.0]
    auth = JwtAuth(JwtSigner("HS256", "s" * 32, {"iss": "app"}, lifetime=600, clock=lambda: now[0]),
                   header_prefix="Bearer")
    first = _applied(auth)[0]["Authorization"]
    assert first.startswith("Bearer ey")
    now[0] += 530
    assert _applied(auth)[0]["Authorization"] == first
    now[0] += 15  # 545 s: inside the 60 s margin
    second = _applied(auth)[0]["Authorization"]
    assert second != first
    assert {first[7:], second[7:], "s" * 32} <= set(auth.secrets())
    assert auth.on_unauthorized() is False, "a fresh JWT was refused: another one would be too"


def test_a_pem_with_escaped_newlines_is_read() -> None:
    escaped = _pem(RSA).replace("\n", "\\n")
    token, _ = JwtSigner("RS256", escaped, {}).sign()
    assert jwt.decode(token, RSA.public_key(), algorithms=["RS256"])["exp"]


@pytest.mark.parametrize(("algorithm", "key", "message"), [
    ("RS256", "not a key at all, but long enough to be a secret", "key is not an RSA private key in PEM for RS256"),
    ("ES256", _pem(EC384), "for ES256 (The key's curve 'secp384r1' does not match the expected curve 'secp256r1'"),
    ("ES256", _pem(RSA), "key is not an EC private key in PEM for ES256"),
    ("HS256", "", "key is empty (expected a shared secret for HS256)"),
])
def test_a_key_that_does_not_fit_is_a_config_error_without_the_key(algorithm: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        JwtSigner(algorithm, key, {})
    assert message in str(info.value)
    for line in key.splitlines():
        if len(line) > 20:
            assert line not in str(info.value)


def test_without_the_extra_the_message_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jwt", None)  # import jwt -> ImportError, as without the extra
    with pytest.raises(ConfigError, match=r"pip install 'source-solidafy\[jwt\]'"):
        JwtSigner("HS256", "s" * 32, {}, kind="oauth2_jwt_bearer")


def test_jwt_bearer_grant_posts_the_assertion() -> None:
    session = FakeSession((200, {"access_token": "ya29.at", "expires_in": 3599}))
    signer = JwtSigner("RS256", _pem(RSA), {"iss": "sa@p.iam.gserviceaccount.com", "aud": "https://t/token"})
    auth = OAuth2JwtBearer("https://t/token", signer, TokenRequest(params={"x": "1"}), session=session)  # type: ignore[arg-type]
    assert _applied(auth)[0] == {"Authorization": "Bearer ya29.at"}
    form = session.calls[0]["data"]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" and form["x"] == "1"
    assert jwt.decode(form["assertion"], RSA.public_key(), algorithms=["RS256"], audience="https://t/token")["iss"] \
        == "sa@p.iam.gserviceaccount.com"
    assert form["assertion"] in auth.secrets() and "ya29.at" in auth.secrets()


GOOGLE = """
name: g
base_url: https://api.example.com
auth:
  type: oauth2_jwt_bearer
  token_url: https://oauth2.googleapis.com/token
  key: "{{ config.private_key }}"
  claims:
    iss: "{{ config.client_email }}"
    scope: https://www.googleapis.com/auth/analytics.readonly
streams:
  - name: s
    request: {path: /s}
"""


def test_yaml_jwt_bearer_defaults_aud_to_the_token_url() -> None:
    manifest = load_manifest_text(GOOGLE)
    config = {"private_key": _pem(RSA), "client_email": "sa@p.iam.gserviceaccount.com"}
    session = FakeSession((200, {"access_token": "at"}))
    auth = builders.auth(manifest.auth_for(config), builders.AuthInputs.of(config, session))  # type: ignore[arg-type]
    _applied(auth)
    claims = jwt.decode(session.calls[0]["data"]["assertion"], RSA.public_key(), algorithms=["RS256"],
                        audience="https://oauth2.googleapis.com/token")
    assert claims["scope"] == "https://www.googleapis.com/auth/analytics.readonly"


def test_yaml_time_claims_are_refused_at_load() -> None:
    text = GOOGLE.replace("    scope:", "    exp: 1\n    iat: 2\n    scope:")
    with pytest.raises(ManifestError) as info:
        load_manifest_text(text)
    assert str(info.value) == ("<string>:8: auth.claims: exp, iat: set at signing from lifetime_secs and "
                               "backdate_secs; leave them out")


def _encrypted(key: Any, passphrase: bytes) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase)).decode()


def test_an_encrypted_key_is_read_with_its_passphrase_and_never_shown() -> None:
    pem = _encrypted(RSA, b"open sesame, please")
    token, _ = JwtSigner("RS256", pem, {"iss": "x"}, passphrase="open sesame, please").sign()
    assert jwt.decode(token, RSA.public_key(), algorithms=["RS256"])["iss"] == "x"
    for passphrase, problem in (("the wrong passphrase!", "Incorrect password"), (None, "Password was not given")):
        with pytest.raises(ConfigError) as info:
            JwtSigner("RS256", pem, {}, passphrase=passphrase)
        assert problem in str(info.value) and "wrong passphrase" not in str(info.value)
    signer = JwtSigner("RS256", pem, {}, passphrase="open sesame, please")
    assert "open sesame, please" in signer.secrets()
    assert JwtSigner("RS256", _pem(RSA), {}, passphrase="").sign()  # empty: the key is not encrypted (as the CDK)


def test_base64_key_signs_with_the_base64_text_of_the_secret() -> None:
    signer = JwtSigner("HS256", "the-secret-text-of-32-bytes-long!", {"iss": "x"}, base64_key=True)
    token, _ = signer.sign()
    b64 = "dGhlLXNlY3JldC10ZXh0LW9mLTMyLWJ5dGVzLWxvbmch"
    assert jwt.decode(token, b64, algorithms=["HS256"])["iss"] == "x"
    assert b64 in signer.secrets()


def test_jwt_in_a_query_parameter_instead_of_a_header() -> None:
    auth = JwtAuth(JwtSigner("HS256", "s" * 32, {}), header_prefix="", param_name="jwt")
    headers, params = _applied(auth)
    assert "Authorization" not in headers and params["jwt"].startswith("ey")
