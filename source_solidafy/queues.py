"""Bounded-queue hand-offs between worker threads and the one consumer, stoppable from outside."""

from __future__ import annotations

import queue
import threading
from typing import Any

POLL_SECS = 0.2


def put_unless(q: queue.Queue[Any], item: Any, stop: threading.Event, poll: float = POLL_SECS) -> bool:
    """Put ``item``, waiting while the queue is full; give up (False) once ``stop`` is set."""
    while not stop.is_set():
        try:
            q.put(item, timeout=poll)
            return True
        except queue.Full:
            continue
    return False


def drain(q: queue.Queue[Any]) -> None:
    """Drop whatever is queued, so producers blocked on a full queue can finish."""
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        return
