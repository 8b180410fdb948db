"""How many connector calls run at once, so quick requests (``/health``) always find a thread.

waitress serves with ``--threads`` threads; a sync (or a slow ``/check`` against an API that hangs)
holds one for its whole duration. Without a cap, ``--threads`` slow syncs make every other request
wait, ``/health`` included. Connector calls (``POST /streams``, ``/check``, ``/discover``, ``/sync``)
take a slot; when ``--max-concurrent-calls`` are running, the next one is answered at once with 503
``busy`` and ``Retry-After``. A streamed sync keeps its slot until its stream ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from source_solidafy.server.errors import ApiError

RETRY_AFTER_SECS = 5


def default_limit(threads: int) -> int:
    """Two threads stay free for everything else (with ``--threads 2``, one; with 1, none)."""
    return max(1, threads - 2)


class Slots:
    """A counter of running connector calls; :meth:`take` returns the release function (idempotent)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    def take(self) -> Callable[[], None]:
        if not self._free.acquire(blocking=False):
            raise ApiError(
                503, "busy",
                f"this server is already running {self.limit} connector calls (its --max-concurrent-calls); "
                f"retry in a few seconds",
                headers={"Retry-After": str(RETRY_AFTER_SECS)},
            )
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self._free.release()

        return release

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        release = self.take()
        try:
            yield
        finally:
            release()
