"""JWT auth end to end: the CLI against mocks that verify the JWT's signature with the public key.

- ``jwt``: the JWT itself is the bearer token (a GitHub App's JWT: ``iss`` the app id, ``iat`` 60 s in
  the past, ``exp`` at most 10 minutes ahead);
- ``oauth2_jwt_bearer``: the JWT is an RFC 7523 assertion posted to the token URL (a Google service
  account: ``iss`` the account's email, ``scope``, ``aud`` the token URL), traded for an access token.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import Credentials, GenericApi, connector, make_items
from integration_tests.mocks.server import MockServer

ITEMS = make_items(15)
IDS = [r["id"] for r in ITEMS]


def _keys(key: Any) -> tuple[str, Any]:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


RSA_PEM, RSA_PUBLIC = _keys(rsa.generate_private_key(public_exponent=65537, key_size=2048))
OTHER_PEM, _ = _keys(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_PEM, EC_PUBLIC = _keys(ec.generate_private_key(ec.SECP256R1()))


def _read(srv: MockServer, name: str, config: dict[str, Any]) -> Result:
    return run_cli("read", "-c", connector(name), "--verbose", "--config-json",
                   json.dumps({**config, "base_url": f"{srv.url}/v1"}))


def _assert_hidden(res: Result, *secrets: str) -> None:
    for secret in secrets:
        for line in secret.splitlines():
            if len(line) > 16:
                assert line not in res.stdout and line not in res.stderr, line


def test_jwt_is_the_bearer_token_and_verifies_with_the_public_key() -> None:
    creds = Credentials("jwt", public_key=RSA_PUBLIC, algorithm="RS256", claims={"iss": "123456"})
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, "auth_jwt", {"app_id": "123456", "private_key": RSA_PEM})
    assert res.rc == 0, res.stdout[-1500:]
    assert [r["id"] for r in res.records("items")] == IDS
    assert creds.rejected == 0 and len(creds.jwts) == 3
    claims = creds.jwts[0]
    assert claims["exp"] - claims["iat"] == 600, "lifetime 540 s after an iat backdated by 60 s"
    jwts = {r.header("Authorization") for r in srv.requests}
    assert len(jwts) == 1, "one JWT for the whole sync (it lives 9 minutes)"
    _assert_hidden(res, RSA_PEM, *(j.removeprefix("Bearer ") for j in jwts if j))


def test_jwt_signed_with_another_key_is_refused_without_leaking_it() -> None:
    creds = Credentials("jwt", public_key=RSA_PUBLIC, algorithm="RS256", claims={"iss": "123456"})
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, "auth_jwt", {"app_id": "123456", "private_key": OTHER_PEM})
    assert res.rc == 1
    assert "401" in res.summary["streams"][0]["error"]
    assert len([r for r in srv.requests if r.path == "/v1/cursor"]) == 1, "a refused JWT is not retried"
    _assert_hidden(res, OTHER_PEM)


def test_jwt_bearer_grant_posts_a_verified_assertion_for_an_access_token() -> None:
    creds = Credentials("oauth", public_key=EC_PUBLIC, algorithm="ES256",
                        claims={"iss": "sa@proj.iam.gserviceaccount.com",
                                "scope": "https://www.googleapis.com/auth/analytics.readonly"})
    config = {"client_email": "sa@proj.iam.gserviceaccount.com", "private_key": EC_PEM.replace("\n", "\\n"),
              "private_key_id": "kid-7"}
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, "auth_jwt_bearer", config)
    assert res.rc == 0, res.stdout[-1500:]
    assert [r["id"] for r in res.records("items")] == IDS
    assert [t["grant_type"] for t in creds.token_requests] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert creds.jwts[0]["aud"] == f"{srv.url}/v1/oauth/token"
    assert creds.issued == ["at-1"] and creds.rejected == 0
    _assert_hidden(res, EC_PEM, creds.token_requests[0]["assertion"], "at-1")


def test_a_key_that_is_no_pem_is_a_config_error_before_any_request() -> None:
    creds = Credentials("jwt", public_key=RSA_PUBLIC, algorithm="RS256")
    bad = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-not-really"
    with MockServer(GenericApi(ITEMS, creds)) as srv:
        res = _read(srv, "auth_jwt", {"app_id": "1", "private_key": bad})
    assert res.rc == 2, res.stderr
    assert res.stderr.startswith("error: auth type 'jwt': key is not an RSA private key in PEM for RS256")
    assert "Traceback" not in res.stderr and bad not in res.stderr + res.stdout
    assert srv.requests == []
