"""The HTTP client every REST stream uses: one session, retries, throttles, auth, redaction.

It knows nothing about YAML; the declarative layer builds one per connector from the ``http:`` block:

    http:
      timeout_secs: 30
      max_retries: 3
      backoff: exponential        # linear | constant
      backoff_base_secs: 1
      backoff_max_secs: 60        # caps every wait, Retry-After included
      retry_statuses: [429, 500, 502, 503, 504]
      rate_limit_rps: 25
      max_concurrency: 4

Retried: the retry statuses, connection errors (a reset included), timeouts and truncated bodies (the
body is read inside the retried call). Waits honour ``Retry-After`` (seconds, fractional, or an HTTP
date), ``retry-after-ms`` and GitHub's ``x-ratelimit-remaining: 0`` + ``x-ratelimit-reset``;
``Stripe-Should-Retry: false`` stops retrying. Other 4xx fail at once; a 401 gets one retry when the
auth could refresh its token. Every message and log line is redacted.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import tenacity
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from source_solidafy import jsoncodec
from source_solidafy.errors import AuthError, ConfigError, HttpError, StreamError, redact
from source_solidafy.rest.auth import Auth
from source_solidafy.rest.ratelimit import BACKOFFS, ConcurrencyLimiter, RetryWait, TokenBucket, request_slot

LogFn = Callable[[str, str], None]
Params = Mapping[str, Any] | Iterable[tuple[str, Any]] | None
DEFAULT_RETRY_STATUSES = (429, 500, 502, 503, 504)
# names of headers/params whose values are credentials (x-api-key, access_token, Authorization, ...)
_SECRET_NAME = re.compile(
    r"(?:^|[^a-z])(?:auth\w*|api[_-]?key|key|token|secret|password|passwd|pwd|signature|sig|session\w*"
    r"|cookie|credentials?)(?:$|[^a-z])",
    re.I,
)
def _is_unknown_host(exc: BaseException) -> bool:
    """A name that does not resolve before any answer is a configuration mistake: fail at once.

    Once the API has answered, a resolver failure is a blip (DNS in containers) and is retried.
    """
    from urllib3.exceptions import NameResolutionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NameResolutionError):
            return True
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = reason if isinstance(reason, BaseException) else nested or current.__context__
    return False


_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # truncated body: IncompleteRead, Content-Length mismatch
    requests.exceptions.ContentDecodingError,  # truncated gzip body
)


class Response:
    """A fully read response. ``json()`` parses once (orjson; integers of any size exact) and caches."""

    __slots__ = ("status", "reason", "headers", "content", "url", "method", "_json", "_redact")

    def __init__(self, raw: requests.Response, method: str, redactor: Callable[[str], str]) -> None:
        self.status: int = raw.status_code
        self.reason: str = raw.reason or ""
        self.headers: CaseInsensitiveDict[str] = raw.headers
        self.content: bytes = raw.content
        self.url: str = raw.url
        self.method = method
        self._json: Any = _UNSET
        self._redact = redactor

    def json(self) -> Any:
        if self._json is _UNSET:
            try:
                self._json = jsoncodec.loads(self.content)
            except orjson.JSONDecodeError as exc:
                raise StreamError(self._redact(
                    f"invalid JSON from {self.method} {self.url}: {exc} (first bytes: {self.content[:80]!r})"
                )) from None
        return self._json

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """RFC 8288 ``Link`` header parsed by requests, keyed by ``rel``."""
        header = self.headers.get("link")
        if not header:
            return {}
        links = requests.utils.parse_header_links(header)
        return {link.get("rel") or link.get("url", ""): link for link in links}

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.method} {self._redact(self.url)}>"


_UNSET = object()


class _Retry(Exception):
    """Internal: a response that should be retried (carries it for the wait computation)."""

    def __init__(self, response: Response) -> None:
        self.response = response


class HttpClient:
    """One connector's HTTP access; thread-safe, shared by every stream and partition."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: Auth | None = None,
        timeout: float = 30,
        max_retries: int = 3,
        backoff: str = "exponential",
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        retry_statuses: Iterable[int] = DEFAULT_RETRY_STATUSES,
        rate_limit_rps: float | None = None,
        max_concurrency: int | None = None,
        user_agent: str | None = None,
        secrets: Iterable[str] = (),
        log: LogFn | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        connect_guard: Callable[[str, int], str] | None = None,
    ) -> None:
        """``sleep``, ``clock`` (wall time, for Retry-After dates) and ``monotonic`` (the rate limiter)
        are injectable so tests never wait. ``connect_guard`` (host, port -> address) is asked before
        every new connection (see ``rest/guard.py``; the server's private-network rule)."""
        if backoff not in BACKOFFS:
            raise ValueError(f"backoff must be one of {', '.join(BACKOFFS)}, got {backoff!r}")
        self._base_url = base_url.rstrip("/")
        self.auth = auth or Auth()
        self.timeout, self.max_retries = timeout, max_retries
        self.retry_statuses = frozenset(retry_statuses)
        self._log = log
        self._headers = dict(headers or {})
        if user_agent:
            self._headers["User-Agent"] = user_agent
        self._secrets = {s for s in secrets if s}
        self._secrets.update(v for k, v in self._headers.items() if _SECRET_NAME.search(k) and v)
        self._bucket = TokenBucket(rate_limit_rps, clock=monotonic, sleep=sleep) if rate_limit_rps else None
        self._limiter = ConcurrencyLimiter(max_concurrency) if max_concurrency else None
        self._session = _make_session(max_concurrency, connect_guard)
        self._trust_env = True
        self._proxy_cache: dict[str, dict[str, str]] = {}
        self._waits = RetryWait(backoff, backoff_base, backoff_max, clock)
        self._answered = False  # set once any response arrived (see _is_unknown_host)
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max_retries + 1),
            retry=tenacity.retry_if_exception_type((_Retry, *_TRANSIENT))
            & tenacity.retry_if_exception(lambda exc: self._answered or not _is_unknown_host(exc)),
            wait=self._waits,
            sleep=sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        """Settable once known (Salesforce's comes from the token response)."""
        self._base_url = value.rstrip("/")

    @property
    def session(self) -> requests.Session:
        """The shared session (auths use it for their token requests)."""
        return self._session

    def add_secret(self, value: str) -> None:
        """Redact ``value`` from every later message (a value rendered from a secret config field)."""
        if value:
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        return redact(text, [*self._secrets, *self.auth.secrets()])

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url_for(self, path_or_url: str) -> str:
        """``base_url`` + path (``/v1`` + ``/customers``); an absolute URL is used as given."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        if not path_or_url:
            return self.base_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Any = None,
        slots: threading.Semaphore | None = None,
    ) -> Response:
        """Send one logical request (retrying as configured); raise HttpError/AuthError on failure.

        ``slots`` is the sync's cap on requests in flight (``--concurrency``): each attempt holds one
        of them while it is on the wire (see :func:`request_slot`).
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        merged = {**self._headers, **headers} if headers else self._headers
        body = orjson.dumps(json_body) if json_body is not None else data
        if json_body is not None:
            merged = {"Content-Type": "application/json", **merged}
        call = _Call(method, url, _param_list(params), merged, body, slots)
        for key, value in call.params:
            if value and _SECRET_NAME.search(key):
                self._secrets.add(str(value))
        if headers:
            self._secrets.update(v for k, v in headers.items() if v and _SECRET_NAME.search(k))
        for attempt_401 in (0, 1):
            resp = self._send_with_retries(call)
            if resp.status < 400:
                return resp
            if resp.status == 401 and attempt_401 == 0 and self._refresh_after_401(call):
                continue
            raise self._final_error(call, resp)
        raise AssertionError("unreachable")  # pragma: no cover

    def _refresh_after_401(self, call: _Call) -> bool:
        try:
            with request_slot(call.slots, None):  # the token request is a request of this sync too
                refreshed = self.auth.on_unauthorized()
        except HttpError as exc:
            raise type(exc)(self.redact(exc.message), status=exc.status, url=exc.url) from None
        if refreshed:
            self._warn(f"HTTP 401 from {call.method} {self._display(call)}, token refreshed, retrying once")
        return refreshed

    def _send_with_retries(self, call: _Call) -> Response:
        try:
            return self._retrying(self._attempt, call)
        except _Retry as exc:
            return exc.response
        except requests.Timeout:
            raise HttpError(self.redact(
                f"timeout after {self.timeout}s from {call.method} {self._display(call)} "
                f"after {self.max_retries} retries"), url=self._display(call)) from None
        except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL) as exc:
            raise ConfigError(self.redact(f"cannot request {call.url!r}: {exc} (check base_url and the path)")) from None
        except _TRANSIENT as exc:
            if _is_unknown_host(exc) and not self._answered:
                host = urlsplit(call.url).hostname
                raise HttpError(self.redact(
                    f"cannot resolve host '{host}' for {call.method} {self._display(call)} (check base_url)"
                ), url=self._display(call)) from None
            raise HttpError(self.redact(
                f"{_describe(exc)} from {call.method} {self._display(call)} after {self.max_retries} retries"
            ), url=self._display(call)) from None
        except requests.RequestException as exc:
            raise HttpError(self.redact(f"{call.method} {self._display(call)} failed: {exc}")) from None

    def _attempt(self, call: _Call) -> Response:
        if self._bucket is not None:
            self._bucket.acquire()
        with request_slot(call.slots, self._limiter):  # a token fetched by auth.apply counts as well
            raw = self._send(call)
        resp = Response(raw, call.method, self.redact)
        self._answered = True
        if self._should_retry(resp):
            raise _Retry(resp)
        return resp

    def _send(self, call: _Call) -> requests.Response:
        """One attempt on the wire, body read (``stream`` is off), credentials applied."""
        headers = dict(call.headers)
        auth_params: dict[str, Any] = {}
        self.auth.apply(headers, auth_params)
        params = [*call.params, *auth_params.items()] if auth_params else call.params
        return self._session.request(call.method, call.url, params=params, headers=headers,
                                     data=call.body, timeout=self.timeout, proxies=self._proxies_for(call.url))

    def _proxies_for(self, url: str) -> dict[str, str]:
        """Environment proxies (HTTPS_PROXY, NO_PROXY...) per scheme and host, looked up once.

        requests re-reads the whole environment on every request when ``trust_env`` is on; that
        was half of our per-page overhead, so the session has it off and we cache the answer.
        """
        scheme, _, rest = url.partition("://")
        key = f"{scheme}://{rest.split('/', 1)[0]}"
        proxies = self._proxy_cache.get(key)
        if proxies is None:
            proxies = requests.utils.get_environ_proxies(key) if self._trust_env else {}
            self._proxy_cache[key] = proxies
        return proxies

    def _should_retry(self, resp: Response) -> bool:
        status = resp.status
        if status < 400:
            return False
        if resp.headers.get("stripe-should-retry", "").lower() == "false":
            return False
        if status in self.retry_statuses:
            return True
        return status in (403, 429) and resp.headers.get("x-ratelimit-remaining") == "0"

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        assert state.outcome is not None and state.next_action is not None
        exc = state.outcome.exception()
        call: _Call = state.args[0]
        what = f"HTTP {exc.response.status}" if isinstance(exc, _Retry) else _describe(exc)
        reason = getattr(state, "solidafy_reason", "backoff")
        self._warn(
            f"{what} from {call.method} {self._display(call)}, retry {state.attempt_number}/{self.max_retries}"
            f" in {state.next_action.sleep:.1f}s ({reason})"
        )

    def _final_error(self, call: _Call, resp: Response) -> HttpError:
        retried = self._retried(resp)
        after = f" after {self.max_retries} retries" if retried else ""
        snippet = " ".join(resp.content[:200].decode("utf-8", "replace").split())  # one line
        message = f"HTTP {resp.status} {resp.reason} from {call.method} {resp.url}{after}"
        message = self.redact(f"{message}: {snippet}" if snippet else message)
        rate_limited = resp.status == 429 or resp.headers.get("x-ratelimit-remaining") == "0"
        cls = AuthError if resp.status in (401, 403) and not rate_limited else HttpError
        return cls(message, status=resp.status, url=self.redact(resp.url))

    def _retried(self, resp: Response) -> bool:
        return self.max_retries > 0 and self._should_retry(resp)

    def _display(self, call: _Call) -> str:
        """The request URL with its query string, for messages (computed only on the slow path)."""
        prepared = requests.models.PreparedRequest()
        prepared.prepare_url(call.url, call.params)
        return self.redact(prepared.url or call.url)

    def _warn(self, message: str) -> None:
        if self._log is not None:
            self._log("WARN", self.redact(message))


class _Call:
    """The parts of a logical request that stay the same across its attempts."""

    __slots__ = ("method", "url", "params", "headers", "body", "slots")

    def __init__(self, method: str, url: str, params: list[tuple[str, Any]],
                 headers: Mapping[str, str], body: Any, slots: threading.Semaphore | None = None) -> None:
        self.method, self.url, self.params, self.headers, self.body = method, url, params, headers, body
        self.slots = slots


def _param_list(params: Params) -> list[tuple[str, Any]]:
    """Params as (key, value) pairs; a list value becomes repeated keys, None values are dropped."""
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, Any]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.extend((key, v) for v in value)
        else:
            out.append((key, value))
    return out


def _make_session(max_concurrency: int | None, guard: Callable[[str, int], str] | None = None) -> requests.Session:
    """A pooled session that reads the environment once (see ``HttpClient._proxies_for``)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    size = max(32, max_concurrency or 0)  # a full pool makes urllib3 warn on stderr
    if guard is not None:
        from source_solidafy.rest.guard import GuardedAdapter

        adapter: HTTPAdapter = GuardedAdapter(guard, pool_connections=size, pool_maxsize=size)
    else:
        adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _describe(exc: BaseException | None) -> str:
    """A short human name for a transport failure."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "truncated response body"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "undecodable (truncated?) compressed body"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "reset" in text.lower() or "aborted" in text.lower():
            return "connection reset"
        return f"connection failed ({_short(text)})"
    return type(exc).__name__ if exc is not None else "error"


def _short(text: str) -> str:
    match = re.search(r"\[Errno [^\]]+\][^'\")]*", text)
    return match.group(0) if match else text[:120]
