"""Notice a client that went away while its sync runs, and cancel that sync.

A streamed response learns of a disconnect when a write fails; a JSON ``/sync`` (or a stream waiting
for a slow upstream page) writes nothing for a long time. waitress, started with
``channel_request_lookahead >= 1``, keeps reading the socket during a request and exposes
``environ["waitress.client_disconnected"]``; one background thread polls that for every running sync
and sets its cancel event, which stops the runner and releases its sessions.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

ENVIRON_KEY = "waitress.client_disconnected"


class DisconnectWatcher:
    """One daemon thread for the whole server; ``watch()`` registers a request, ``unwatch()`` drops it."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[Callable[[], bool], threading.Event, str]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, environ: dict[str, Any], cancel: threading.Event, what: str) -> int | None:
        check = environ.get(ENVIRON_KEY)
        if not callable(check):
            return None  # another WSGI server (or the test client): writes still detect a disconnect
        key = id(cancel)
        with self._lock:
            self._watched[key] = (check, cancel, what)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="solidafy-disconnects", daemon=True)
                self._thread.start()
        return key

    def unwatch(self, key: int | None) -> None:
        if key is not None:
            with self._lock:
                self._watched.pop(key, None)

    def _loop(self) -> None:
        while True:
            with self._lock:
                items = list(self._watched.items())
            for key, (check, cancel, what) in items:
                if not cancel.is_set() and check():
                    cancel.set()
                    self.unwatch(key)
                    sys.stderr.write(f"solidafy serve: client disconnected during {what}; sync cancelled\n")
                    sys.stderr.flush()
            time.sleep(self.interval)
