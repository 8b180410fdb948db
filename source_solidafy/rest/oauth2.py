"""OAuth2 grants (RFC 6749, RFC 7523): a token request to ``token_url``, then ``Authorization: Bearer``.

- ``OAuth2RefreshToken``: ``grant_type=refresh_token``; a rotated refresh token in the answer replaces
  the old one and is reported (``on_rotate``: the sync hands the updated config back);
- ``OAuth2ClientCredentials``: ``grant_type=client_credentials``;
- ``OAuth2JwtBearer``: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with a JWT we sign
  (Google service accounts).

How the client authenticates and what else a request carries is a :class:`TokenRequest`. Fetching,
locking, expiry, retries and error wording are :class:`source_solidafy.rest.auth._TokenAuth`'s.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from source_solidafy.rest.auth import _TokenAuth
from source_solidafy.secret_names import is_secret_name

if TYPE_CHECKING:
    from source_solidafy.rest.jwt_auth import JwtSigner


@dataclass(frozen=True, repr=False, eq=False)
class TokenRequest:
    """How an OAuth2 client authenticates to the token endpoint, and what else its requests carry.

    ``client_auth``: ``client_secret_post`` (id and secret in the form) or ``client_secret_basic``
    (``Authorization: Basic``, each part form-encoded first: RFC 6749 section 2.3.1). ``params`` are
    extra form fields, ``headers`` extra headers; a value named like a secret (``secret_names``) is one.
    """

    client_auth: str = "client_secret_post"
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.client_auth not in CLIENT_AUTH:
            raise ValueError(f"client_auth must be one of {', '.join(CLIENT_AUTH)}, got {self.client_auth!r}")

    def secrets(self) -> list[str]:
        return [v for k, v in (*self.params.items(), *self.headers.items()) if v and is_secret_name(k)]


CLIENT_AUTH = ("client_secret_post", "client_secret_basic")


class _OAuth2Grant(_TokenAuth):
    """An OAuth2 token request to ``token_url`` with the client's id and secret; ``scope`` is the
    space-joined ``scopes`` when there are any (RFC 6749 sections 4.4 and 6)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | tuple[str, ...] = (),
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        request: TokenRequest | None = None,
    ) -> None:
        super().__init__(session, clock, sleep)
        self.token_url, self.client_id, self.scopes = token_url, client_id, list(scopes)
        self._client_secret = client_secret
        self._request = request or TokenRequest()
        basic = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        self._basic = base64.b64encode(basic.encode()).decode()

    def _endpoint(self) -> str:
        return self.token_url

    def _static_secrets(self) -> list[str]:
        return [self._client_secret, self._basic, *self._request.secrets()]

    def _grant(self, grant_type: str, **fields: str) -> dict[str, Any]:
        form = {"grant_type": grant_type, **fields, **self._request.params}
        headers = {"Accept": "application/json", **self._request.headers}
        if self._request.client_auth == "client_secret_basic":
            headers["Authorization"] = f"Basic {self._basic}"
        else:
            form.update(client_id=self.client_id, client_secret=self._client_secret)
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        return self._post(self.token_url, data=form, headers=headers)


class OAuth2RefreshToken(_OAuth2Grant):
    """OAuth2 refresh-token grant; a rotated ``refresh_token`` in the answer replaces the old one.

    ``on_rotate(new_refresh_token)`` is called when the answer carries a new one (the old one may be
    revoked already): the runtime writes it into the updated config (config_updates.py).
    """

    def __init__(self, token_url: str, client_id: str, client_secret: str, refresh_token: str,
                 scopes: list[str] | tuple[str, ...] = (), on_rotate: Callable[[str], None] | None = None,
                 **options: Any) -> None:
        super().__init__(token_url, client_id, client_secret, scopes, **options)
        self._refresh_token = refresh_token
        self._all_refresh_tokens = [refresh_token]
        self._on_rotate = on_rotate

    def _static_secrets(self) -> list[str]:
        return [*super()._static_secrets(), *self._all_refresh_tokens]

    def _fetch(self) -> dict[str, Any]:
        info = self._grant("refresh_token", refresh_token=self._refresh_token)
        rotated = info.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            self._all_refresh_tokens.append(rotated)
            if self._on_rotate is not None:
                self._on_rotate(rotated)
        return info


class OAuth2ClientCredentials(_OAuth2Grant):
    """OAuth2 client-credentials grant."""

    def _fetch(self) -> dict[str, Any]:
        return self._grant("client_credentials")


class OAuth2JwtBearer(_TokenAuth):
    """RFC 7523: POST a JWT signed by ``signer`` as ``assertion`` to ``token_url``, send the access token.

    The assertion is signed anew for every token request; each is a credential for its lifetime, so
    every one is a secret too.
    """

    grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    def __init__(self, token_url: str, signer: JwtSigner, request: TokenRequest | None = None,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(session, clock, sleep)
        self.token_url, self._signer = token_url, signer
        self._request = request or TokenRequest()

    def _endpoint(self) -> str:
        return self.token_url

    def _static_secrets(self) -> list[str]:
        return [*self._signer.secrets(), *self._request.secrets()]

    def _fetch(self) -> dict[str, Any]:
        assertion = self._signer.sign()[0]
        self._seen_secrets.append(assertion)
        form = {"grant_type": self.grant_type, "assertion": assertion, **self._request.params}
        return self._post(self.token_url, data=form, headers={"Accept": "application/json", **self._request.headers})
