"""Several API keys used in turn: when the API says one is out of quota, the next one takes over.

Free and metered plans cap each key (YouTube's daily units, a search API's monthly calls, GitHub's
5,000 requests an hour per token); a connector given several keys reads on with the next one instead
of waiting for the first to reset. A key is out of quota when the API answers one of
``quota_statuses`` (429 by default), a 403/429 with ``x-ratelimit-remaining: 0`` (GitHub), or a 4xx
whose body contains ``quota_body`` (YouTube's ``quotaExceeded`` is a 403). It is then set aside
until the time the answer names (``Retry-After``, ``retry-after-ms``, ``x-ratelimit-reset``; else
``DEFAULT_REST_SECS``) and the request is sent again at once with the next key. When every key is
out, the HTTP client's own retry policy takes over (it honours the same headers, up to
``http.backoff_max_secs``, on statuses in ``http.retry_statuses``); if that runs out too, the error
says that all the keys are out of quota.

    auth:
      type: api_keys
      key: x-api-key
      values: "{{ config.api_keys }}"     # a list in the config, or text: "k1, k2, k3"
      quota_body: quotaExceeded
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from source_solidafy.errors import ConfigError
from source_solidafy.rest.auth import Auth, spaced_prefix
from source_solidafy.rest.ratelimit import RetryWait

DEFAULT_REST_SECS = 60.0  # how long a key with no reset time in its answer is set aside
MAX_REST_SECS = 86400.0  # a daily quota at most


def key_list(value: Any) -> list[str]:
    """The keys of a config value: a list's items, or text split at commas and whitespace; no blanks,
    no repeats, in order."""
    items: Iterable[Any] = value if isinstance(value, list) else re.split(r"[\s,]+", str(value or ""))
    return list(dict.fromkeys(str(v).strip() for v in items if v is not None and str(v).strip()))


class KeyPool(Auth):
    """``name`` (a header, or a query parameter with ``location: query``) carries one of ``values``.

    Each key has its own quota, so the client's shared rate-limit budget (rest/budgets.py) does not
    read the answers' limit headers (``own_limits``): a 429 of one key must not hold the next one.
    """

    own_limits = True

    def __init__(self, name: str, values: list[str], location: str = "header", prefix: str = "",
                 quota_statuses: Iterable[int] = (429,), quota_body: str | None = None,
                 monotonic: Callable[[], float] = time.monotonic, clock: Callable[[], float] = time.time) -> None:
        if location not in ("header", "query"):
            raise ValueError(f"api_keys location must be 'header' or 'query', got {location!r}")
        if not values:
            raise ConfigError("auth type 'api_keys': no key given (values is empty)")
        self.name, self.location, self.prefix = name, location, spaced_prefix(prefix)
        self._values = list(values)
        self._quota_statuses, self._quota_body = frozenset(quota_statuses), (quota_body or "").encode() or None
        self._resting = [0.0] * len(values)  # monotonic time from which each key may be used again
        self._current = 0
        self._monotonic = monotonic
        self._hints = RetryWait("constant", DEFAULT_REST_SECS, MAX_REST_SECS, clock)
        self._lock = threading.Lock()
        self._local = threading.local()

    def _pick(self) -> int:
        """The current key if it is not resting, else the next that is not, else the one that rests least."""
        now, n = self._monotonic(), len(self._values)
        for step in range(n):
            i = (self._current + step) % n
            if self._resting[i] <= now:
                self._current = i
                return i
        return min(range(n), key=self._resting.__getitem__)

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        with self._lock:
            i = self._pick()
        self._local.used = i
        (headers if self.location == "header" else params)[self.name] = f"{self.prefix}{self._values[i]}"

    def _out_of_quota(self, status: int, headers: Mapping[str, str], body: bytes) -> bool:
        if status in self._quota_statuses:
            return True
        if status in (403, 429) and headers.get("x-ratelimit-remaining") == "0":
            return True
        return 400 <= status < 500 and self._quota_body is not None and self._quota_body in body

    def on_response(self, status: int, headers: Mapping[str, str], body: bytes) -> str | None:
        """After an answer of 400 or more: if it says the key used is out of quota, set that key aside
        and say which one takes over (the client sends the request again at once); None otherwise."""
        used = getattr(self._local, "used", None)
        if used is None or not self._out_of_quota(status, headers, body):
            return None
        hinted = self._hints.from_headers(headers, status)
        rest = min(max(hinted[0] if hinted else DEFAULT_REST_SECS, 0.0), MAX_REST_SECS)
        with self._lock:
            self._resting[used] = max(self._resting[used], self._monotonic() + rest)
            now, n = self._monotonic(), len(self._values)
            ready = [i for i in range(n) if self._resting[i] <= now]
            if not ready:
                return None
            self._current = ready[0] if used not in ready else used
        return f"key {used + 1} of {n} is out of quota (resting {rest:g}s), key {self._current + 1} takes over"

    def failure_note(self) -> str:
        with self._lock:
            now = self._monotonic()
            resting = sum(1 for r in self._resting if r > now)
        if resting < len(self._values):
            return ""
        return f" (all {len(self._values)} keys of auth.values are out of quota)"

    def secrets(self) -> list[str]:
        return list(self._values)
