"""The HTTP client every REST stream uses: one session, retries, throttles, auth, redaction.

It knows nothing about YAML; the declarative layer builds one per connector from the ``http:`` block
(its keys: docs/connector-yaml-reference.md, ``Http``; the builder: rest/builders.py).

Retried: the retry statuses, connection errors (a reset included), timeouts and truncated bodies (the body
is read inside the retried call). Waits honour ``Retry-After`` (seconds, fractional, or an HTTP date),
``retry-after-ms`` and GitHub's ``x-ratelimit-remaining: 0`` + ``x-ratelimit-reset``;
``Stripe-Should-Retry: false`` stops retrying. Other 4xx fail at once; a 401 gets one retry when the auth
could refresh its token. A stream's ``errors:`` rules (rest/response_rules.py) decide before these
defaults, and its ``retry:`` (a ``RetryPolicy``) may replace the connector's retries and backoff. Every
message and log line is redacted. Every response's rate-limit headers feed its host's budget
(rest/budgets.py), which every attempt waits on first; attempts, retries and waits are counted in the
caller's ``RequestStats``.

Credentials (what the auth adds, every header of the request) go only to the origins of the
:class:`~source_solidafy.rest.origins.CredentialScope`. The session (rest/transport.py) bounds every
body and request time, and follows redirects under the same rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import requests
from urllib3.util import Timeout

from source_solidafy.errors import AuthError, HttpError, redact
from source_solidafy.request_stats import RequestStats
from source_solidafy.rest.auth import Auth
from source_solidafy.rest.budgets import Budget, Budgets
from source_solidafy.rest.origins import CredentialScope, ScopedCookiePolicy, forwardable
from source_solidafy.rest.prepare import Preparer
from source_solidafy.rest.ratelimit import (
    ConcurrencyLimiter,
    Replay,
    RetryLoops,
    RetryPolicy,
    RetryWait,
    TokenBucket,
    request_slot,
)
from source_solidafy.rest.request import ParamPairs as Params
from source_solidafy.rest.request import param_list as _param_list
from source_solidafy.rest.response import (
    TRANSIENT,
    Response,
    StreamedResponse,
    describe,
    failure,
    is_unknown_host,
)
from source_solidafy.rest.response_rules import RETRYING, ResponseIgnored, ResponseRule, first_match
from source_solidafy.rest.transport import (
    DEFAULT_MAX_RESPONSE_MB,
    EnvProxies,
    GuardedSession,
    Limits,
    make_session,
)
from source_solidafy.secret_names import is_secret_name
from source_solidafy.source import LogFn

if TYPE_CHECKING:
    import tenacity

__all__ = ["HttpClient", "Response", "StreamedResponse"]

DEFAULT_RETRY_STATUSES = (429, 500, 502, 503, 504)


class _Retry(Exception):
    """Internal: a response that should be retried (carries it, and the rule that said so, for the wait)."""

    def __init__(self, response: Response, rule: ResponseRule | None = None) -> None:
        self.response, self.wait = response, rule.wait if rule is not None else None  # RetryWait: the rule's first
        self.rate_limited = rule is not None and rule.action == "rate_limited"
        self.reason = f"{rule.where} {rule.action}" if rule is not None else None


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
        backoff_base: float = 1.0, backoff_max: float = 60.0,
        retry_statuses: Iterable[int] = DEFAULT_RETRY_STATUSES,
        rate_limit_rps: float | None = None,
        max_concurrency: int | None = None,
        user_agent: str | None = None,
        allowed_hosts: Iterable[str] = (),
        max_response_mb: float = DEFAULT_MAX_RESPONSE_MB,
        deadline: float | None = None,
        secrets: Iterable[str] = (),
        log: LogFn | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
        connect_guard: Callable[[str, int], str] | None = None,
        rate_limit_pools: Mapping[str, list[str]] | None = None,
    ) -> None:
        """``sleep``, ``clock`` (Retry-After dates) and ``monotonic`` (the limiter) are injectable so tests never
        wait. ``deadline`` bounds one attempt (default: ``timeout``). ``connect_guard`` (host, port -> address)
        is asked before every new connection (``rest/guard.py``; the server's private-network rule)."""
        self.policy = RetryPolicy(max_retries, backoff, backoff_base)  # a stream's own policy may replace it
        self._scope = CredentialScope(allowed_hosts)
        self._base_url = ""
        self.base_url = base_url
        self.auth = auth or Auth()
        self.timeout, self.retry_statuses = timeout, frozenset(retry_statuses)
        self._timeouts = Timeout(connect=timeout, read=timeout)  # what requests makes of the number per request
        self._log = log
        self._headers = {**(headers or {}), **({"User-Agent": user_agent} if user_agent else {})}
        self._secrets = {s for s in secrets if s}
        self._secrets.update(v for k, v in self._headers.items() if is_secret_name(k) and v)
        bucket = TokenBucket(rate_limit_rps, clock=monotonic, sleep=sleep) if rate_limit_rps else None
        self._limiter = ConcurrencyLimiter(max_concurrency) if max_concurrency else None
        self.deadline = timeout if deadline is None else deadline
        self._session = self._new_session(max_response_mb, max_concurrency, connect_guard)
        self._proxies, self._preparer = EnvProxies(), Preparer()  # Preparer: Session.request's, faster (rest/prepare.py)
        self._waits = RetryWait(backoff, backoff_base, backoff_max, clock)
        self._budgets = Budgets(rate_limit_pools or {}, backoff_max, self._waits, bucket, monotonic)
        self._answered = False  # set once any response arrived (see is_unknown_host)
        self._sleep = sleep
        self._retrying = RetryLoops(self._waits, self._retry_on, sleep, self._before_sleep)

    def _new_session(self, max_response_mb: float, max_concurrency: int | None,
                     connect_guard: Callable[[str, int], str] | None) -> GuardedSession:
        """The pooled session: bounded responses, the deadline, cookies only for allowed origins."""
        limits = Limits(int(max_response_mb * 2**20), self.deadline)
        session = make_session(limits, max(32, max_concurrency or 0), connect_guard)
        session.cookies.set_policy(ScopedCookiePolicy(self._scope.allows))
        return session

    def _retry_on(self, exc: BaseException) -> bool:
        """Retried: the statuses in ``retry_statuses`` and transient transport errors (never an unknown
        host before any answer came), waiting as ``RetryWait`` says."""
        return isinstance(exc, (_Retry, *TRANSIENT)) and (self._answered or not is_unknown_host(exc))

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        """Settable once known (Salesforce's comes from the token response); its origin gets credentials."""
        self._base_url = value.rstrip("/")
        self._scope.set_base(self._base_url)

    @property
    def session(self) -> requests.Session:
        """The shared session (auths use it for their token requests)."""
        return self._session

    def may_send_credentials(self, url: str) -> bool:
        """True when ``url``'s origin is base_url's or one of ``allowed_hosts``."""
        return self._scope.allows(url)

    def credential_origins(self) -> str:
        """The origins that get credentials, in words (for messages)."""
        return self._scope.describe()

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

    def request(self, method: str, path_or_url: str, *, params: Params = None,
                headers: Mapping[str, str] | None = None, json_body: Any = None, data: Any = None,
                slots: threading.Semaphore | None = None, stats: RequestStats | None = None,
                rules: Sequence[ResponseRule] = (), retry: RetryPolicy | None = None) -> Response:
        """Send one logical request (retrying as configured); raise HttpError/AuthError on failure.

        ``slots`` is the sync's cap on requests in flight (``--concurrency``): each attempt holds one
        of them while it is on the wire (see :func:`request_slot`). ``stats`` counts the attempts,
        retries and waits (the stream's, in its summary). ``rules`` (a stream's ``errors:``) are tried
        on every response first; an ``ignore`` raises :class:`ResponseIgnored`. ``retry``: the stream's own
        retry policy (None: the connector's).
        """
        resp = self._perform(self._call(method, path_or_url, params, headers, json_body, data, slots, stats, False,
                                        rules, retry))
        assert isinstance(resp, Response)
        return resp

    def stream(self, method: str, path_or_url: str, *, params: Params = None,
               headers: Mapping[str, str] | None = None, json_body: Any = None, data: Any = None,
               slots: threading.Semaphore | None = None, stats: RequestStats | None = None,
               rules: Sequence[ResponseRule] = (), retry: RetryPolicy | None = None) -> StreamedResponse:
        """Like :meth:`request`, but a successful body is not read: it is read as it arrives with
        ``StreamedResponse.chunks`` (the caller closes it). Retries happen before the body starts;
        ``http.deadline_secs`` covers the answer's headers, ``timeout_secs`` every read after them.
        ``rules`` see the error responses only (a success's body is not read here).
        """
        resp = self._perform(self._call(method, path_or_url, params, headers, json_body, data, slots, stats, True,
                                        rules, retry))
        assert isinstance(resp, StreamedResponse)
        return resp

    def _call(self, method: str, path_or_url: str, params: Params, headers: Mapping[str, str] | None,
              json_body: Any, data: Any, slots: threading.Semaphore | None, stats: RequestStats | None,
              stream: bool, rules: Sequence[ResponseRule] = (), retry: RetryPolicy | None = None) -> _Call:
        """The parts of one logical request; the secrets in its parameters and headers are noted."""
        merged = {**self._headers, **headers} if headers else self._headers
        body = orjson.dumps(json_body) if json_body is not None else data
        if json_body is not None:
            merged = {"Content-Type": "application/json", **merged}
        url = self.url_for(path_or_url)
        call = _Call(method.upper(), url, _param_list(params), merged, body, slots, stream, stats, self._budgets.of(url),
                     rules, retry or self.policy)
        for key, value in call.params:
            if value and is_secret_name(key):
                self._secrets.add(str(value))
        if headers:
            self._secrets.update(v for k, v in headers.items() if v and is_secret_name(k))
        return call

    def _perform(self, call: _Call) -> Response | StreamedResponse:
        for attempt_401 in (0, 1):
            resp = self._send_with_retries(call)
            rule = call.rule  # what the last response matched: it decides, else the defaults
            if rule is None and resp.status < 400:
                return resp
            assert isinstance(resp, Response)  # an error's (and a matched response's) body is always read
            if rule is not None and rule.action == "ignore":
                raise ResponseIgnored(self.redact(f"HTTP {resp.status} {resp.reason} from {call.method} {resp.url}: "
                                                  f"{rule.describe()}"), rule, resp.status, self.redact(resp.url))
            refresh = rule.action == "refresh_token" if rule is not None else resp.status == 401
            if refresh and attempt_401 == 0 and self._refresh_after_401(call, resp, rule):
                continue
            raise self._final_error(call, resp, rule)
        raise AssertionError("unreachable")  # pragma: no cover

    def _refresh_after_401(self, call: _Call, resp: Response, rule: ResponseRule | None = None) -> bool:
        try:
            with request_slot(call.slots, None):  # the token request is a request of this sync too
                refreshed = self.auth.on_unauthorized()
        except HttpError as exc:
            raise type(exc)(self.redact(exc.message), status=exc.status, url=exc.url) from None
        if refreshed:
            why = f" ({rule.where} refresh_token)" if rule is not None else ""
            self._warn(f"HTTP {resp.status} from {call.method} {self._display(call)}{why}, token refreshed, retrying once")
        return refreshed

    def _send_with_retries(self, call: _Call) -> Response | StreamedResponse:
        """The first attempt without tenacity (most need no other); what it raised is tenacity's first outcome."""
        try:
            return self._attempt(call)
        except BaseException as exc:
            first = exc
        try:
            return self._retrying(call.policy)(Replay(first, self._attempt), call)
        except _Retry as exc:
            return exc.response
        except requests.RequestException as exc:
            raise failure(exc, call.method, call.url, lambda: self._display(call), self.timeout, call.policy.max_retries,
                          self._answered, self.redact) from None

    def _attempt(self, call: _Call) -> Response | StreamedResponse:
        epoch = call.budget.acquire(call.stats, self._log)  # the API's limit, then http.rate_limit_rps
        try:
            with request_slot(call.slots, self._limiter):  # a token fetched by auth.apply counts as well
                raw = self._send(call)
        except BaseException:
            call.budget.done(epoch, None)
            raise
        self._answered = True
        if self.auth.own_limits:  # a key pool: the limit headers are the key's, which the pool follows itself
            call.budget.done(epoch, None)
        else:
            call.budget.answered(epoch, raw.headers, raw.status_code)
        limit = self._session.limits.max_bytes
        if call.stream and raw.status_code < 400:  # the session left the body unread
            return StreamedResponse(raw, call.method, self.redact, limit, self.deadline)
        resp = Response(raw, call.method, self.redact, limit)
        if resp.status >= 400 and self._scope.allows(call.url):
            switched = self.auth.on_response(resp.status, resp.headers, resp.content)
            if switched:  # a key pool set the key aside: the next one is tried at once (one per key at most)
                self._warn(f"HTTP {resp.status} from {call.method} {self._display(call)}: {switched}")
                return self._attempt(call)
        rule = call.rule = first_match(call.rules, resp) if call.rules else None
        if rule is not None:
            if rule.action in RETRYING:
                raise _Retry(resp, rule)
        elif self._should_retry(resp):
            raise _Retry(resp)
        return resp

    def _send(self, call: _Call) -> requests.Response:
        """One attempt on the wire, body read (within the limits), credentials only where they may go."""
        headers, params = self._credentials_for(call)
        prepared = self._preparer.prepare(self._session, call.method, call.url, params, headers, call.body)
        return self._session.send(prepared, timeout=self._timeouts, proxies=self._proxies.for_url(call.url),
                                  stream=call.stream)

    def _credentials_for(self, call: _Call) -> tuple[dict[str, str], list[tuple[str, Any]]]:
        """Headers and params of one attempt: with the auth's credentials only for an allowed origin; elsewhere
        (a YAML path to another host, a job's URL) only the harmless headers, no parameter holding a secret."""
        if not self._scope.allows(call.url):
            secrets = [s for s in (*self._secrets, *self.auth.secrets()) if s]
            params = [(k, v) for k, v in call.params if not any(s in str(v) for s in secrets)]
            return forwardable(call.headers), params
        headers = dict(call.headers)
        auth_params: dict[str, Any] = {}
        self.auth.apply(headers, auth_params)
        return headers, [*call.params, *auth_params.items()] if auth_params else call.params

    def _should_retry(self, resp: Response) -> bool:
        status = resp.status
        if status < 400 or resp.headers.get("stripe-should-retry", "").lower() == "false":
            return False
        return status in self.retry_statuses or (status in (403, 429)
                                                 and resp.headers.get("x-ratelimit-remaining") == "0")

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        assert state.outcome is not None and state.next_action is not None
        exc = state.outcome.exception()
        call: _Call = state.args[0]
        what = f"HTTP {exc.response.status}" if isinstance(exc, _Retry) else describe(exc, self.redact)
        reason = getattr(state, "solidafy_reason", "backoff")
        if call.stats is not None:
            call.stats.retrying(state.next_action.sleep)
        if isinstance(exc, _Retry) and exc.reason:
            reason = f"{exc.reason}; {reason}"
        self._warn(
            f"{what} from {call.method} {self._display(call)}, retry {state.attempt_number}/{call.policy.max_retries}"
            f" in {state.next_action.sleep:.1f}s ({reason})"
        )

    def _final_error(self, call: _Call, resp: Response, rule: ResponseRule | None = None) -> HttpError:
        retries = call.policy.max_retries
        retried = retries > 0 and (rule.action in RETRYING if rule is not None else self._should_retry(resp))
        after = f" after {retries} retries" if retried else ""
        snippet = resp.snippet(200)  # redacted before it is cut: a cut secret would leak its start
        message = self.redact(f"HTTP {resp.status} {resp.reason} from {call.method} {resp.url}{after}"
                              f"{self.auth.failure_note()}")
        if rule is not None:
            message = rule.failure(message, snippet, self.redact)
        elif snippet:
            message = f"{message}: {snippet}"
        rate_limited = resp.status == 429 or resp.headers.get("x-ratelimit-remaining") == "0"
        cls = AuthError if resp.status in (401, 403) and not rate_limited and rule is None else HttpError
        return cls(message, status=resp.status, url=self.redact(resp.url))

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

    __slots__ = ("method", "url", "params", "headers", "body", "slots", "stream", "stats", "budget", "rules", "rule",
                 "policy")

    def __init__(self, method: str, url: str, params: list[tuple[str, Any]], headers: Mapping[str, str],
                 body: Any, slots: threading.Semaphore | None, stream: bool, stats: RequestStats | None,
                 budget: Budget, rules: Sequence[ResponseRule], policy: RetryPolicy) -> None:
        self.method, self.url, self.params, self.headers, self.body = method, url, params, headers, body
        self.slots, self.stream, self.stats, self.budget, self.rules = slots, stream, stats, budget, rules
        self.policy = policy  # the stream's retry policy, else the connector's
        self.rule: ResponseRule | None = None  # what the last attempt's response matched

