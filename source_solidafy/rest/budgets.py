"""The API's own rate limit, learnt from its responses: one budget per host (and per declared path pool).

Every response's rate-limit headers (:mod:`~source_solidafy.rest.quota_headers`) update the budget
of the pool it came from; every attempt to that pool, from any thread of any stream, partition or
parent read through the connector's client, takes a turn first. So requests slow down before the
limit is hit instead of meeting 429s:

- while requests are left in the window, they go at once; once fewer than a quarter of the quota
  is left, the rest are spread evenly over the time until the reset (the last one before it), as
  long as that spaces them at most 2 s apart (a quota of the day is not spread over the day);
- with none left, every thread waits for the reset, then one request goes alone to learn the new
  window (the server may reset later than it said, or not at all);
- a 429/503 with ``Retry-After`` (or a reset) stops every thread until then, not only the one that got it.

The estimate is conservative: requests in flight are assumed counted against what a response
says is left, and within one window the lowest figure wins (responses arrive out of order).
Responses without headers change nothing; a budget that never saw any costs one lock per request.
Every wait is capped (``http.backoff_max_secs``): past the cap the request goes and the server
decides. Pools are declared in YAML, by path (GitHub's search API has its own budget)::

    http:
      rate_limit_pools:
        search: ["/search/*"]
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from source_solidafy.request_stats import RequestStats
from source_solidafy.rest.quota_headers import Quota, read_quotas
from source_solidafy.rest.ratelimit import RetryWait, TokenBucket
from source_solidafy.source import LogFn

PACE_BELOW = 0.25  # spread the requests evenly once fewer than this share of the quota is left
PACE_MAX_GAP = 2.0  # ... unless that spaces them further apart (a daily quota): then they go until none is left
MAX_WINDOWS = 16  # policies kept per budget (the headers name at most 8 at once)
UNKNOWN_RESET_SECS = 1.0  # none left and no reset given: ask again after this long


class _Window:
    """One policy of one pool: what is left of its quota until its reset (``None``: unknown)."""

    __slots__ = ("remaining", "reset_at", "limit", "stale", "last_sent", "epoch")

    def __init__(self) -> None:
        self.remaining: float | None = None
        self.reset_at: float | None = None
        self.limit = 0
        self.stale = True  # the next report is taken as it is (a new window)
        self.last_sent = 0.0
        self.epoch = 0  # the budget's epoch when this window began: responses to earlier turns are ignored

    def over(self, now: float) -> bool:
        return self.reset_at is not None and now >= self.reset_at

    def restart(self, epoch: int) -> None:
        """The window is over: one request goes to learn the next; older responses are old news."""
        self.remaining, self.reset_at, self.stale, self.epoch = 1, None, True, epoch

    def wait(self, now: float) -> float:
        """Seconds before a request may go under this window (<= 0: now)."""
        if self.remaining is None:
            return 0.0
        if self.remaining < 1:
            if self.reset_at is None:  # none left, no reset said (or the request that asks is out)
                self.reset_at = now + UNKNOWN_RESET_SECS
            return self.reset_at - now
        if self.reset_at is not None and self.remaining <= self.limit * PACE_BELOW:
            gap = (self.reset_at - now) / (self.remaining + 1)
            return self.last_sent + gap - now if gap <= PACE_MAX_GAP else 0.0
        return 0.0

    def take(self, now: float) -> None:
        if self.remaining is not None:
            self.remaining -= 1
        self.last_sent = now

    def observe(self, quota: Quota, now: float, others_in_flight: int) -> bool:
        """A response's figure; requests still in flight may not be counted in it yet. True when it
        may let a waiting request go sooner (a new window, an earlier reset)."""
        left = quota.remaining - others_in_flight
        reset_at = None if quota.reset_secs is None else now + quota.reset_secs
        self.limit = max(self.limit, quota.limit or 0, quota.remaining + 1)
        if self.stale or self.remaining is None:
            self.remaining, self.reset_at, self.stale = left, reset_at, False
            return True
        self.remaining = min(self.remaining, left)
        if reset_at is not None and (self.reset_at is None or reset_at < self.reset_at):
            self.reset_at = reset_at
            return True
        return False


class Budget:
    """The shared budget of one host (or one pool of its paths); thread-safe.

    ``hints`` reads a 429/503's own wait (``Retry-After`` and friends, with the wall clock it uses).
    """

    def __init__(self, name: str, cap: float, hints: RetryWait, bucket: TokenBucket | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.cap = cap
        self._hints = hints
        self._bucket = bucket  # http.rate_limit_rps: the connector's own limit, after the API's
        self._clock = clock
        self._cond = threading.Condition()
        self._turnstile = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._blocked_until = 0.0
        self._in_flight = 0
        self._epoch = 0  # counts the windows that ended

    def acquire(self, stats: RequestStats | None = None, log: LogFn | None = None) -> int:
        """Take a turn for one attempt, waiting as the budget says (at most ``cap`` seconds), then for
        ``rate_limit_rps``; counted in ``stats``. A wait of a second or more is said before it starts
        (``log``, and ``stats.on_wait``: the Airbyte flavour's RATE_LIMITED status). The turn's epoch
        goes back to :meth:`answered` or :meth:`done`."""
        def waiting(secs: float) -> None:
            if log is not None:
                log("INFO", f"waiting {secs:.1f}s for the rate limit of {self.name} ({self.describe()})")
            if stats is not None:
                stats.waiting(secs)

        waited, epoch = self._turn(waiting)
        if self._bucket is not None:
            waited += self._bucket.acquire()
        if stats is not None:
            stats.sent(waited)
        return epoch

    def _turn(self, waiting: Callable[[float], None]) -> tuple[float, int]:
        """One turn: at once when the budget allows and nobody queues; else at the turnstile, where
        only the first in line waits on the budget's clock, so news or a timeout wakes one thread, not
        all of them (each wake-up costs CPU)."""
        start = self._clock()
        with self._cond:
            if not self._turnstile.locked() and self._wait(start) <= 0:
                return 0.0, self._take(start)
        with self._turnstile, self._cond:
            now, told = self._clock(), False
            while True:
                wait = self._wait(now)
                if wait <= 0 or now - start >= self.cap:
                    break
                wait = min(wait, self.cap - (now - start))
                if wait >= 1 and not told:  # said once, outside the lock (a log line may block)
                    told = True
                    self._cond.release()
                    try:
                        waiting(wait)
                    finally:
                        self._cond.acquire()
                else:
                    self._cond.wait(wait)
                now = self._clock()
            return now - start, self._take(now)

    def _take(self, now: float) -> int:
        for window in self._windows.values():
            window.take(now)
        self._in_flight += 1
        return self._epoch

    def _wait(self, now: float) -> float:
        wait = self._blocked_until - now
        for window in self._windows.values():
            if window.over(now):
                self._epoch += 1
                window.restart(self._epoch)
            wait = max(wait, window.wait(now))
        return wait

    def answered(self, epoch: int, headers: Mapping[str, str], status: int) -> None:
        """The attempt of turn ``epoch`` got a response: its headers feed the budget; a 429/503's wait
        stops every thread."""
        blocked = None
        if status in (429, 503):
            hinted = self._hints.from_headers(headers, status)
            blocked = hinted[0] if hinted is not None else None
        self.done(epoch, read_quotas(headers, self._hints.now()), blocked)

    def done(self, epoch: int, quotas: list[Quota] | None, blocked_secs: float | None = None) -> None:
        """The attempt of turn ``epoch`` ended: what its response said (None: no response)."""
        with self._cond:
            self._in_flight -= 1
            now = self._clock()
            if blocked_secs is not None and blocked_secs > 0:
                self._blocked_until = max(self._blocked_until, now + min(blocked_secs, self.cap))
            sooner = False  # waiters wake on their own time: only news that may shorten it wakes them
            if quotas is not None and not quotas:  # the request that asked came back without a word
                for key in [k for k, w in self._windows.items() if w.stale and w.epoch <= epoch]:
                    del self._windows[key]
                    sooner = True
            for quota in quotas or ():
                window = self._windows.get(quota.policy)
                if window is None:
                    if len(self._windows) >= MAX_WINDOWS:  # a server that names a new policy each time
                        continue
                    window = self._windows[quota.policy] = _Window()
                if window.epoch <= epoch:
                    sooner = window.observe(quota, now, self._in_flight) or sooner
            if sooner:
                self._cond.notify_all()

    def describe(self) -> str:
        """What the budget knows, for a log line."""
        with self._cond:
            parts = [f"{name[:40] or 'limit'}: {w.remaining:g} left" + (
                f", resets in {max(0.0, w.reset_at - self._clock()):.1f}s" if w.reset_at is not None else "")
                for name, w in self._windows.items() if w.remaining is not None]
        return "; ".join(parts) or "blocked by Retry-After"


class Budgets:
    """The budgets of one client, keyed by host and pool (``pools``: name -> path globs)."""

    def __init__(self, pools: Mapping[str, list[str]], cap: float, hints: RetryWait,
                 bucket: TokenBucket | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._pools = [(name, pattern) for name, patterns in pools.items() for pattern in patterns]
        self._cap = cap
        self._hints = hints
        self._bucket = bucket
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._by_url: dict[str, Budget] = {}

    def of(self, url: str) -> Budget:
        """The budget ``url`` draws on (a budget, once made, stays: the answer per URL is kept)."""
        budget = self._by_url.get(url)
        if budget is not None:
            return budget
        parts = urlsplit(url)
        pool = next((name for name, pattern in self._pools if fnmatch.fnmatchcase(parts.path, pattern)), "")
        key = (parts.netloc.lower(), pool)
        budget = self._budgets.get(key)
        if budget is None:
            with self._lock:
                budget = self._budgets.get(key)
                if budget is None:
                    name = f"{key[0]} ({pool})" if pool else key[0]
                    budget = self._budgets[key] = Budget(name, self._cap, self._hints, self._bucket, self._clock)
        if len(self._by_url) >= 512:  # (a next-page URL per page churns it)
            self._by_url.clear()
        self._by_url[url] = budget
        return budget
