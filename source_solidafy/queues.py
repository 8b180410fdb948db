"""Bounded-queue hand-offs between worker threads and the one consumer, stoppable from outside."""

from __future__ import annotations

import queue
import threading
from collections import deque
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


class FairSlots(threading.Semaphore):
    """A bounded semaphore that hands a released slot to the thread waiting longest.

    ``threading.Semaphore`` lets a thread that releases a slot take it straight back (or any newcomer
    take it before the woken waiter runs), so with more readers than slots some wait for many turns
    while others finish: the last partitions of a stream then run alone and the slots stand idle.
    Here a release goes to the first waiter in line, so readers take turns. A drop-in for the
    ``acquire``/``release``/``with`` use of a semaphore.
    """

    def __init__(self, value: int) -> None:  # noqa: D107 - the base class's state is not used
        if value < 1:
            raise ValueError(f"slots must be >= 1, got {value}")
        self._size = self._free = value
        self._guard = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        with self._guard:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            if not blocking:
                return False
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=-1 if timeout is None else timeout):
            return True
        with self._guard:
            try:
                self._waiters.remove(turn)
            except ValueError:  # handed over between the timeout and here: the slot is ours
                return True
            return False

    def release(self, n: int = 1) -> None:
        with self._guard:
            for _ in range(n):
                if self._waiters:
                    self._waiters.popleft().release()
                elif self._free < self._size:
                    self._free += 1
                else:
                    raise ValueError("FairSlots released more often than acquired")

    def __enter__(self, blocking: bool = True, timeout: float | None = None) -> bool:
        return self.acquire(blocking, timeout)

    def __exit__(self, *exc: object) -> None:
        self.release()


def queue_size(concurrency: int, to_sink: bool) -> int:
    """Messages (a page each, mostly) in flight between the streams' threads and the consumer.

    To stdout the consumer is quick and a few pages per stream absorb bursts. Into a sink the consumer
    is the slower side (Arrow conversion, encoding): the queue stays full, and every page in it is only
    memory (~1 MB per 1,000 records as dicts; the default 16 were 8% of a Parquet sync's peak RSS).
    Two keep the consumer busy; each stream's thread holds at most one more page while it waits.
    """
    return 2 if to_sink else max(8, concurrency * 4)
