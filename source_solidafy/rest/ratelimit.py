"""Rate limiting, both sides: our own throttles, and the waits the server asks for.

A token bucket enforces ``rate_limit_rps``, a semaphore ``max_concurrency``; :class:`RetryWait` turns
a 429/503's ``Retry-After`` (and friends) or the backoff policy into the next wait.

Both sit in front of every HTTP attempt (retries included) and are shared by all threads reading
streams and partitions through one client, so they are thread-safe. Unset, they cost nothing.

    http:
      rate_limit_rps: 25      # Stripe sandbox
      max_concurrency: 4
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import tenacity

_A = TypeVar("_A")
_R = TypeVar("_R")


class TokenBucket:
    """Allow ``rate_per_sec`` acquisitions per second on average, bursts of up to ``burst``.

    ``clock`` and ``sleep`` are injectable so tests can drive time without waiting. The sleep happens
    outside the lock's bookkeeping: a caller reserves its slot, then waits for it, so concurrent
    callers queue fairly instead of all waking at once.
    """

    def __init__(
        self,
        rate_per_sec: float | None,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_sec is not None and rate_per_sec <= 0:
            raise ValueError(f"rate_limit_rps must be > 0, got {rate_per_sec}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate = rate_per_sec
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp: float | None = None

    def acquire(self) -> float:
        """Take one token, sleeping until one is available. Returns the seconds waited."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = self._clock()
            if self._stamp is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class ConcurrencyLimiter:
    """At most ``limit`` requests in flight at once (``None``: unlimited). Use as a context manager."""

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {limit}")
        self.limit = limit
        self._slot: AbstractContextManager[object] = (
            threading.BoundedSemaphore(limit) if limit is not None else nullcontext()
        )

    def __enter__(self) -> ConcurrencyLimiter:
        self._slot.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._slot.__exit__(None, None, None)


class request_slot:  # noqa: N801 (used as a function: ``with request_slot(sync_slots, limiter):``)
    """Hold one request slot of the sync (``--concurrency``) and one of the connector (``max_concurrency``).

    Always in this order (sync, then connector), so syncs sharing a connector cannot deadlock; a slot
    is held only while a request (or a token request) is on the wire, never during a backoff wait.
    """

    __slots__ = ("_sync", "_limiter")

    def __init__(self, sync_slots: threading.Semaphore | None, limiter: ConcurrencyLimiter | None) -> None:
        self._sync, self._limiter = sync_slots, limiter

    def __enter__(self) -> None:
        if self._sync is not None:
            self._sync.acquire()
        if self._limiter is not None:
            try:
                self._limiter.__enter__()
            except BaseException:
                if self._sync is not None:
                    self._sync.release()
                raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._limiter is not None:
                self._limiter.__exit__(None, None, None)
        finally:
            if self._sync is not None:
                self._sync.release()


class Replay(Generic[_A, _R]):
    """A retried function whose first call raises what an attempt made before the retry loop raised
    (HttpClient's first attempt goes without tenacity); every later call is ``attempt``'s."""

    def __init__(self, first: BaseException, attempt: Callable[[_A], _R]) -> None:
        self._first: BaseException | None = first
        self._attempt = attempt

    def __call__(self, arg: _A) -> _R:
        first, self._first = self._first, None
        if first is not None:
            raise first
        return self._attempt(arg)


BACKOFFS = ("exponential", "linear", "constant")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a request is retried and the backoff between retries: the connector's (``http:``), or a
    stream's own (its ``retry:`` block over the connector's). What the server asks to wait, the cap on
    every wait and the rate-limit budgets stay the connector's whatever the policy."""

    max_retries: int = 3
    backoff: str = "exponential"
    base: float = 1.0

    def __post_init__(self) -> None:
        if self.backoff not in BACKOFFS:
            raise ValueError(f"backoff must be one of {', '.join(BACKOFFS)}, got {self.backoff!r}")
        if self.max_retries < 0 or self.base < 0:
            raise ValueError(f"max_retries and the backoff base must be >= 0, got {self.max_retries}, {self.base}")

    def overridden(self, own: Any) -> RetryPolicy:
        """This policy with what a stream's ``retry:`` block gives (a key it leaves None keeps this one's)."""
        def pick(mine: Any, theirs: Any) -> Any:
            return mine if theirs is None else theirs

        return RetryPolicy(pick(self.max_retries, own.max_retries), pick(self.backoff, own.backoff),
                           pick(self.base, own.backoff_base_secs))


class RetryWait:
    """How long to wait before retry n: what the server asked for, else the backoff policy.

    A tenacity ``wait`` callable. Server hints win over the policy: ``Retry-After`` (seconds, ``"2.0"``
    as Shopify sends, or an HTTP date), ``retry-after-ms``, and on a 403/429 GitHub's
    ``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset`` (epoch seconds). A response an ``errors:``
    rule calls ``rate_limited`` is a rate limit whatever its status: ``x-ratelimit-reset`` then counts
    with any remaining, and ``RateLimit-Reset`` (seconds, the IETF draft) too. A rule that worked out
    its own wait (``ResponseRule.wait``: an Airbyte header strategy) wins over both. Every wait is capped at
    ``backoff_max``. The reason is left on the retry state for the log line.
    """

    def __init__(self, backoff: str, base: float, cap: float, clock: Callable[[], float] = time.time) -> None:
        if backoff not in BACKOFFS:
            raise ValueError(f"backoff must be one of {', '.join(BACKOFFS)}, got {backoff!r}")
        self.backoff, self.base, self.cap, self._clock = backoff, base, cap, clock

    def __call__(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        limited = bool(getattr(exc, "rate_limited", False))
        hinted = self.from_headers(headers, getattr(response, "status", 0), limited) if headers else None
        own = getattr(exc, "wait", None)
        if own is not None:
            hinted = float(own), "the rule's wait"
        if hinted is not None:
            wait, reason = hinted
        else:
            wait, reason = self.policy(state.attempt_number), "backoff"
        state.solidafy_reason = reason
        return min(max(wait, 0.0), self.cap)

    def under(self, policy: RetryPolicy) -> RetryWait:
        """The same waits (hints, cap, clock) with ``policy``'s backoff."""
        return RetryWait(policy.backoff, policy.base, self.cap, self._clock)

    def now(self) -> float:
        """The wall clock (epoch seconds) the hints are read against."""
        return self._clock()

    def policy(self, attempt: int) -> float:
        """Backoff after the ``attempt``-th failure (1-based)."""
        if self.backoff == "exponential":
            return self.base * 2 ** (attempt - 1)
        if self.backoff == "linear":
            return self.base * attempt
        return self.base

    def from_headers(self, headers: Mapping[str, str], status: int,
                     rate_limited: bool = False) -> tuple[float, str] | None:
        """The server's own wait hint, if it gave one (``rate_limited``: a rule said the response is one)."""
        value = headers.get("retry-after-ms")
        if value:
            seconds = _number(value)
            if seconds is not None:
                return seconds / 1000.0, "retry-after-ms"
        value = headers.get("retry-after")
        if value:
            seconds = _number(value)
            if seconds is None:
                seconds = _http_date(value, self._clock())
            if seconds is not None:
                return seconds, "Retry-After"
        if rate_limited or (status in (403, 429) and headers.get("x-ratelimit-remaining") == "0"):
            reset = _number(headers.get("x-ratelimit-reset") or "")
            if reset is not None:
                return reset - self._clock(), "x-ratelimit-reset"
        if rate_limited:
            delta = _number(headers.get("ratelimit-reset") or "")
            if delta is not None:
                return delta, "RateLimit-Reset"
        return None


def _number(value: str) -> float | None:
    try:
        return float(value.strip())
    except ValueError:
        return None


def _http_date(value: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp() - now


class RetryLoops:
    """HttpClient's retry loops after a request's first attempt: one per retry policy (the connector's, a
    stream's own), made by its first retry, each waiting as ``waits`` with the policy's backoff. tenacity
    is imported then: a read that needs no retry never imports it (~5 ms of start-up)."""

    def __init__(self, waits: RetryWait, retry_on: Callable[[BaseException], bool], sleep: Callable[[float], None],
                 before_sleep: Callable[[Any], None]) -> None:
        self._waits, self._retry_on, self._sleep, self._before_sleep = waits, retry_on, sleep, before_sleep
        self._loops: dict[RetryPolicy, tenacity.Retrying] = {}

    def __call__(self, policy: RetryPolicy) -> tenacity.Retrying:
        loop = self._loops.get(policy)
        if loop is None:
            import tenacity

            loop = self._loops.setdefault(policy, tenacity.Retrying(
                stop=tenacity.stop_after_attempt(policy.max_retries + 1), retry=tenacity.retry_if_exception(self._retry_on),
                wait=self._waits.under(policy), sleep=self._sleep, before_sleep=self._before_sleep, reraise=True))
        return loop
