"""JWTs signed with a key from the config: sent as the token itself, or traded for an access token.

- :class:`JwtAuth` sends the JWT: ``Authorization: Bearer <jwt>`` (a GitHub App's JWT, Apple's APIs);
- :class:`source_solidafy.rest.oauth2.OAuth2JwtBearer` posts it as an RFC 7523 assertion (Google
  service accounts) and sends the access token it gets.

Both sign with a :class:`JwtSigner`: HS256/384/512 with a shared secret, RS*/PS* with an RSA private
key, ES256/384/512 with an EC key on the algorithm's curve (ES256K: secp256k1), EdDSA with an Ed25519
or Ed448 key, all PEM (an encrypted one with its ``passphrase``). Signing is PyJWT's (the optional
``jwt`` extra: ``pip install 'source-solidafy[jwt]'``); without it the connector stops before any
request with a message saying so. A key that does not fit is a config error that never shows the key.

    auth:
      type: jwt
      algorithm: RS256
      key: "{{ config.private_key }}"
      claims: {iss: "{{ config.app_id }}"}
      lifetime_secs: 540
      backdate_secs: 60
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from source_solidafy.errors import ConfigError, redact
from source_solidafy.rest.auth import Auth, spaced_prefix

EXTRA_MISSING = ("auth type '{kind}' signs JWTs with PyJWT and cryptography, which are not installed: "
                 "pip install 'source-solidafy[jwt]'")
REFRESH_MARGIN_SECS = 60.0


def _pyjwt(kind: str) -> Any:
    try:
        import cryptography  # noqa: F401 - PyJWT needs it for RS*, PS* and ES*; say so up front
        import jwt
    except ImportError:
        raise ConfigError(EXTRA_MISSING.format(kind=kind)) from None
    return jwt


def _pem(key: str) -> str:
    """A PEM key pasted into JSON or an environment variable often has ``\\n`` for its newlines."""
    if "-----BEGIN" in key and "\n" not in key.strip() and "\\n" in key:
        return key.replace("\\n", "\n")
    return key


class JwtSigner:
    """Signs JWTs: ``claims`` plus ``iat`` (``backdate`` seconds ago) and ``exp`` (``lifetime`` from now).

    The key is parsed once, here: a wrong one is a :class:`ConfigError` naming the algorithm and the
    problem (never the key). ``clock`` is wall time (``iat``/``exp`` are Unix seconds).
    """

    def __init__(self, algorithm: str, key: str, claims: Mapping[str, Any], *, key_id: str | None = None,
                 headers: Mapping[str, Any] | None = None, lifetime: int = 600, backdate: int = 0,
                 kind: str = "jwt", clock: Callable[[], float] = time.time, passphrase: str | None = None,
                 base64_key: bool = False) -> None:
        self._jwt = _pyjwt(kind)
        self.algorithm, self.lifetime, self.backdate = algorithm, lifetime, backdate
        self.claims = dict(claims)
        self.headers = {**(headers or {}), **({"kid": key_id} if key_id else {})}
        self._secret = _pem(key)
        self._passphrase, self._base64 = passphrase or None, base64_key
        self._key = self._prepare(kind)
        self._clock = clock

    def _prepare(self, kind: str) -> Any:
        if not self._secret.strip():
            raise ConfigError(f"auth type '{kind}': key is empty (expected {self._expected()})")
        try:  # PyJWT checks the key's type, and an EC key's curve (ES256: P-256)
            return self._jwt.get_algorithm_by_name(self.algorithm).prepare_key(self._material())
        except (self._jwt.InvalidKeyError, ValueError, TypeError) as exc:
            problem = redact(str(exc).split(". ")[0], self.secrets()).rstrip(".")
            raise ConfigError(f"auth type '{kind}': key is not {self._expected()} ({problem})") from None

    def _material(self) -> Any:
        """What PyJWT signs with: the key decrypted with the passphrase (whatever the algorithm, as
        airbyte-cdk does), else the key's base64 text when asked, else the key."""
        if self._passphrase:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            return load_pem_private_key(self._secret.encode(), password=self._passphrase.encode())
        return base64.b64encode(self._secret.encode()).decode() if self._base64 else self._secret

    def _expected(self) -> str:
        if self.algorithm.startswith("HS"):
            return f"a shared secret for {self.algorithm}"
        if self.algorithm == "EdDSA":
            return "an Ed25519 or Ed448 private key in PEM for EdDSA"
        family = "an EC" if self.algorithm.startswith("ES") else "an RSA"
        return f"{family} private key in PEM for {self.algorithm}"

    def sign(self) -> tuple[str, float]:
        """A new JWT and when it expires (Unix seconds)."""
        now = self._clock()
        expires = int(now) + self.lifetime
        payload = {**self.claims, "iat": int(now) - self.backdate, "exp": expires}
        token: str = self._jwt.encode(payload, self._key, algorithm=self.algorithm, headers=self.headers or None)
        return token, float(expires)

    def now(self) -> float:
        return self._clock()

    def secrets(self) -> list[str]:
        """The key (the whole PEM and each of its lines: a log may cut it anywhere), its base64 text
        when that is what signs, and the passphrase."""
        lines = [line for line in self._secret.splitlines() if len(line) >= 16 and "-----" not in line]
        derived = [base64.b64encode(self._secret.encode()).decode()] if self._base64 else []
        return [self._secret, *lines, *derived, *([self._passphrase] if self._passphrase else [])]


class JwtAuth(Auth):
    """Send a JWT signed by ``signer``; a new one is signed ``REFRESH_MARGIN_SECS`` before expiry
    (half the lifetime for short ones). A 401 is not retried: a fresh JWT was refused, so the key or
    the claims are wrong and another would be refused too."""

    def __init__(self, signer: JwtSigner, header_name: str = "Authorization", header_prefix: str = "Bearer ",
                 param_name: str | None = None) -> None:
        self._signer = signer
        self.header_name, self.header_prefix, self.param_name = header_name, spaced_prefix(header_prefix), param_name
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._seen: list[str] = []

    def _current(self) -> str:
        with self._lock:
            if self._token is None or self._signer.now() >= self._renew_at:
                self._token, expires = self._signer.sign()
                self._renew_at = expires - min(REFRESH_MARGIN_SECS, self._signer.lifetime / 2)
                self._seen.append(self._token)
            return self._token

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        if self.param_name:  # the JWT in the query instead (airbyte's request_option)
            params[self.param_name] = f"{self.header_prefix}{self._current()}"
        else:
            headers[self.header_name] = f"{self.header_prefix}{self._current()}"

    def assertion(self) -> str:
        """A newly signed JWT after the prefix (airbyte's JwtAuthenticator.token, an OAuth profile assertion)."""
        token = self._signer.sign()[0]
        self._seen.append(token)
        return f"{self.header_prefix}{token}"

    def secrets(self) -> list[str]:
        return [*self._signer.secrets(), *self._seen]
