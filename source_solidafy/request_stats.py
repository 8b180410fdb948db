"""One stream's HTTP requests, counted by every thread that reads for it (its partitions, its parents).

The runner makes one per stream (``ReadContext.http_stats``); the REST client adds to it on every
attempt (``HttpClient.request(stats=...)``), and the stream's SYNC_SUMMARY entry shows it as
``http`` (docs/protocol.md): attempts sent, retries, and the waits, those the API's rate limit asked
for (its headers, ``Retry-After`` seen by another request, ``http.rate_limit_rps``) apart from the
backoff before a retry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class RequestStats:
    """Thread-safe counters; ``as_dict()`` is the summary's ``http`` entry."""

    __slots__ = ("requests", "retries", "rate_limit_waits", "rate_limit_wait_secs", "retry_wait_secs", "on_wait",
                 "_lock")

    def __init__(self, on_wait: Callable[[float], None] | None = None) -> None:
        self.requests = 0  # attempts sent (retries included)
        self.retries = 0
        self.rate_limit_waits = 0
        self.rate_limit_wait_secs = 0.0
        self.retry_wait_secs = 0.0
        self.on_wait = on_wait  # told when a long rate-limit wait starts (seconds); the runner's queue
        self._lock = threading.Lock()

    def waiting(self, secs: float) -> None:
        """A rate-limit wait of ``secs`` (a second or more) starts now."""
        if self.on_wait is not None:
            self.on_wait(secs)

    def sent(self, waited: float) -> None:
        """An attempt goes out after waiting ``waited`` seconds for the rate limit."""
        with self._lock:
            self.requests += 1
            if waited >= 0.001:  # a turn taken in line behind others' is not a wait of its own
                self.rate_limit_waits += 1
                self.rate_limit_wait_secs += waited

    def retrying(self, wait: float) -> None:
        """A retry is due after a backoff of ``wait`` seconds."""
        with self._lock:
            self.retries += 1
            self.retry_wait_secs += max(0.0, wait)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self.requests, "retries": self.retries,
                    "rate_limit_waits": self.rate_limit_waits,
                    "rate_limit_wait_ms": round(self.rate_limit_wait_secs * 1000),
                    "retry_wait_ms": round(self.retry_wait_secs * 1000)}

    def describe(self) -> str:
        """One line for a log: ``120 requests, 2 retries (1.5 s), 4 rate-limit waits (3.2 s)``."""
        d = self.as_dict()
        text = f"{d['requests']} requests, {d['retries']} retries"
        if d["retries"]:
            text += f" ({d['retry_wait_ms'] / 1000:.1f} s waiting)"
        text += f", {d['rate_limit_waits']} rate-limit waits"
        if d["rate_limit_waits"]:
            text += f" ({d['rate_limit_wait_ms'] / 1000:.1f} s)"
        return text
