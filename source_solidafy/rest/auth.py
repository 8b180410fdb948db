"""Authentication: tiny classes that put credentials on a request (httpx's ``auth_flow`` is the model).

Every auth has the same four members, so the HTTP client needs no special cases:

- ``apply(headers, params)`` adds credentials to one attempt (called per attempt, after any refresh),
- ``on_unauthorized()`` is called after a 401; True means "I got a new token, retry once",
- ``secrets()`` lists every value that must never appear in output,
- ``token_info`` exposes the token response (``auth.instance_url`` in templates, Salesforce);

and two hooks a key pool uses (rest/key_pool.py): ``on_response`` after an error answer, ``failure_note``.

Token-based auths fetch lazily (on first use), once per connector, under a lock, and never put a
secret in an error: a refused token request says what the server said (``invalid_grant: expired
access/refresh token``) and where.

    auth:
      type: oauth2_refresh_token
      token_url: https://login.salesforce.com/services/oauth2/token
      client_id: "{{ config.client_id }}"
      client_secret: "{{ config.client_secret }}"
      refresh_token: "{{ config.refresh_token }}"

The OAuth2 grants are in :mod:`source_solidafy.rest.oauth2`, JWTs in :mod:`source_solidafy.rest.jwt_auth`.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
import requests

from source_solidafy.errors import AuthError, HttpError, redact, redact_cut
from source_solidafy.rest.paths import compile_path

if TYPE_CHECKING:
    import tenacity

TOKEN_TIMEOUT_SECS = 30.0
TOKEN_ATTEMPTS = 3
TOKEN_RETRY_BASE_SECS = 0.5
REFRESH_MARGIN_SECS = 60.0


def spaced_prefix(prefix: str) -> str:
    """A token prefix as sent: a word (``Session``, ``Bearer``, ``Bearer ``) gets exactly one space
    before the token, an empty prefix is none, one ending in punctuation (``token=``) is kept as is."""
    word = prefix.rstrip()
    if not word:
        return ""
    return f"{word} " if word != prefix or word[-1].isalnum() else prefix


class Auth:
    """No credentials. Base class of the others."""

    # True: an answer's rate-limit headers (429, RateLimit-*) describe this auth's current credential,
    # not the API, so the client's shared budget leaves them to the auth (a key pool moves on instead)
    own_limits = False

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        return None

    def on_unauthorized(self) -> bool:
        return False

    def on_response(self, status: int, headers: Mapping[str, str], body: bytes) -> str | None:
        """After an answer of 400 or more to credentials this auth applied: what it changed so the
        request may be sent again at once (a key pool's next key), for the log; None: nothing."""
        return None

    def failure_note(self) -> str:
        """Added to the error of a request that failed for good (``" (all 3 keys ... out of quota)"``)."""
        return ""

    def secrets(self) -> list[str]:
        return []

    @property
    def token_info(self) -> dict[str, Any]:
        return {}


NoAuth = Auth


class BearerAuth(Auth):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"
        self._token = token

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        headers["Authorization"] = self._header

    def secrets(self) -> list[str]:
        return [self._token]


class ApiKeyAuth(Auth):
    """An API key in a header (``x-api-key: ...``) or a query parameter (``?api_key=...``)."""

    def __init__(self, key: str, value: str, location: str = "header") -> None:
        if location not in ("header", "query"):
            raise ValueError(f"api_key location must be 'header' or 'query', got {location!r}")
        self.key, self._value, self.location = key, value, location

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        (headers if self.location == "header" else params)[self.key] = self._value

    def secrets(self) -> list[str]:
        return [self._value]


class BasicAuth(Auth):
    """HTTP Basic (Zendesk: username ``{email}/token``, password the API token)."""

    def __init__(self, username: str, password: str) -> None:
        self._encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._password = password

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        headers["Authorization"] = f"Basic {self._encoded}"

    def secrets(self) -> list[str]:
        return [self._password, self._encoded]


class _TokenAuth(Auth):
    """Shared machinery of auths that obtain a token from an endpoint: lazy, locked, expiring."""

    header_name = "Authorization"
    header_prefix = "Bearer "
    token_method = "POST"  # the token request's method (an Airbyte session login may be a GET)

    def __init__(self, session: requests.Session | None, clock: Callable[[], float],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._session = session or requests.Session()
        self._clock = clock
        self._retrying = token_retrying(sleep)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._token: str | None = None
        self._expires_at: float | None = None
        self._info: dict[str, Any] = {}
        self._seen_secrets: list[str] = []

    # subclasses: fetch a token response (a dict) and say where the token is in it
    def _fetch(self) -> dict[str, Any]:
        raise NotImplementedError

    def _extract(self, info: dict[str, Any]) -> str | None:
        token = info.get("access_token")
        return token if isinstance(token, str) else None

    def _refresh_locked(self) -> None:
        info = self._fetch()
        token = self._extract(info)
        if not token:
            raise AuthError(f"token response from {self._endpoint()} has no token (fields: {sorted(info)})")
        self._token, self._info = token, info
        self._seen_secrets.append(token)
        self._expires_at = _expiry(info.get("expires_in"), self._clock())

    def _current(self) -> str:
        with self._lock:
            stale = self._expires_at is not None and self._clock() >= self._expires_at
            if self._token is None or stale:
                self._refresh_locked()
            assert self._token is not None
            return self._token

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        token = self._current()
        self._local.applied = token
        headers[self.header_name] = f"{self.header_prefix}{token}"

    def on_unauthorized(self) -> bool:
        """Refresh after a 401, unless another thread already replaced the token this one used."""
        with self._lock:
            if self._token is not None and self._token != getattr(self._local, "applied", None):
                return True
            self._refresh_locked()
            return True

    def secrets(self) -> list[str]:
        return [*self._static_secrets(), *self._seen_secrets]

    def _static_secrets(self) -> list[str]:
        return []

    @property
    def token_info(self) -> dict[str, Any]:
        self._current()
        return dict(self._info)

    def _endpoint(self) -> str:
        raise NotImplementedError

    def _send_token_request(self, url: str, proxies: Any, **kwargs: Any) -> requests.Response:
        """One token request (a POST), retried by :func:`token_retrying` (token endpoints blip too)."""
        try:
            send = self._session.post if self.token_method == "POST" else self._session.get
            resp: requests.Response = self._retrying(send, url, timeout=TOKEN_TIMEOUT_SECS, proxies=proxies, **kwargs)
        except requests.RequestException as exc:
            raise HttpError(redact(f"token request to {url} failed: {exc}", self.secrets())) from None
        return resp

    def _post(self, url: str, **kwargs: Any) -> dict[str, Any]:
        """POST a token request; any failure becomes an AuthError with the server's words, redacted."""
        # the client's session reads proxies once per host itself (trust_env off); do the same here
        proxies = requests.utils.get_environ_proxies(url) if not self._session.trust_env else None
        resp = self._send_token_request(url, proxies, **kwargs)
        if resp.status_code >= 400:
            detail = _error_text(resp, self.secrets())
            message = f"token request to {url} refused: HTTP {resp.status_code}: {detail}"
            cls = HttpError if resp.status_code >= 500 else AuthError
            raise cls(redact(message, self.secrets()), status=resp.status_code, url=url)
        info = self._answer(resp)
        if not isinstance(info, dict):
            raise AuthError(f"token response from {url} is not a JSON object")
        return info

    def _answer(self, resp: requests.Response) -> Any:
        """The token response's body as data (JSON here; None when it is none)."""
        try:
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            return None


def token_retrying(sleep: Callable[[float], None] = time.sleep) -> tenacity.Retrying:
    """The retry policy of token requests: up to ``TOKEN_ATTEMPTS`` tries on a connection error, a
    timeout or a 5xx, waiting 0.5 s then 1 s (``sleep`` waits: tests pass their own). After the last
    try its answer (a 5xx) is returned, or its exception raised. tenacity is imported here: only an
    auth that fetches tokens needs it."""
    import tenacity

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(TOKEN_ATTEMPTS),
        wait=tenacity.wait_exponential(multiplier=TOKEN_RETRY_BASE_SECS, min=0),
        retry=tenacity.retry_if_exception_type((requests.ConnectionError, requests.Timeout))
        | tenacity.retry_if_result(lambda resp: resp.status_code >= 500),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome is not None else None,
        sleep=sleep,
    )


def _expiry(expires_in: Any, now: float) -> float | None:
    """When to refresh: ``REFRESH_MARGIN_SECS`` before expiry (half the lifetime for short tokens)."""
    try:
        lifetime = float(expires_in)
    except (TypeError, ValueError):
        return None
    margin = min(REFRESH_MARGIN_SECS, lifetime / 2)
    return now + lifetime - margin


def _error_text(resp: requests.Response, secrets: list[str]) -> str:
    """``error: error_description`` from an OAuth error body, else the first 200 characters (redacted first)."""
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and "error" in body:
        err, desc = body.get("error"), body.get("error_description") or body.get("message")
        if isinstance(err, dict):  # {"error": {"message": ...}}
            return redact_cut(str(err.get("message") or err), secrets, 200)
        return redact_cut(f"{err}: {desc}" if desc else str(err), secrets, 200)
    return redact_cut(resp.content, secrets, 200) or (resp.reason or "")


class SessionTokenAuth(_TokenAuth):
    """Log in once (POST ``body`` to ``login_url``), then send the token found at ``token_path``.

    ``body`` is a JSON string or a mapping; every string value in it counts as a secret (it usually
    holds a password).

        auth:
          type: session_token
          login_url: "{{ config.base_url }}/login"
          body: '{"username": "{{ config.user }}", "password": "{{ config.password }}"}'
          token_path: data.session.token
          header_name: X-Session
          header_prefix: ""
    """

    def __init__(
        self,
        login_url: str,
        body: str | Mapping[str, Any],
        token_path: str,
        header_name: str = "Authorization",
        header_prefix: str = "Bearer ",
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        lifetime_secs: float | None = None,
    ) -> None:
        super().__init__(session, clock, sleep)
        self.login_url, self._lifetime = login_url, lifetime_secs
        self.header_name, self.header_prefix = header_name, spaced_prefix(header_prefix)
        self._token_path = compile_path(token_path)
        self._body = body if isinstance(body, str) else orjson.dumps(dict(body)).decode()
        self._body_secrets = _string_leaves(body)

    def _endpoint(self) -> str:
        return self.login_url

    def _static_secrets(self) -> list[str]:
        return self._body_secrets

    def _refresh_locked(self) -> None:
        super()._refresh_locked()
        if self._lifetime is not None:  # a fixed lifetime wins over the answer's expires_in
            self._expires_at = self._clock() + self._lifetime

    def _extract(self, info: dict[str, Any]) -> str | None:
        token = self._token_path.get(info)
        return str(token) if token not in (None, "") else None

    def _fetch(self) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return self._post(self.login_url, data=self._body.encode(), headers=headers)


def _string_leaves(body: str | Mapping[str, Any]) -> list[str]:
    """Every string value in a JSON body (the whole body if it is not JSON)."""
    if isinstance(body, str):
        try:
            parsed: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            return [body]
    else:
        parsed = body
    out: list[str] = []
    stack = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
