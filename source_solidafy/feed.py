"""The runner's events, from the streams' reads to the consumer: worker threads and a queue, or inline.

Each stream's read is a sequence of events (``start``, a ``batch`` per page, ``end``), with the events
its source says on the way (``log``, ``warn``, ``count``, ...). Several streams are read at once by
worker threads that put their events on a bounded queue. A sync of a single stream whose consumer has
nothing to do while it waits (no progress display, no cancel from outside, no sink to overlap with; a
heartbeat only as below) reads it inline: the consumer's own thread runs the read up to its next event. The
hand-offs between two threads cost more CPU than the overlap of a page's decoding with the previous
page's writing saves (``bench/bench_rest.py``: 5% of the read's CPU), and the order of events is the
same either way.

The Airbyte flavour must not stay silent while the read waits (heartbeat.py). Read inline, it may
still be, when the front door gives a way to write at once (``SyncRun.write_now``): a
:class:`StepSentry` thread writes the heartbeat while the consumer's thread is inside a step of the
read. Then nothing else writes (the consumer writes only between steps, after each chunk it yielded
was written), so the repeated STATE is one of chunks already out, in its place.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from source_solidafy.queues import drain, put_unless, queue_size
from source_solidafy.source import Source
from source_solidafy.stream_run import StreamRun, SyncPlan

Event = tuple[str, str, Any]  # (kind, stream, payload)
ContextFor = Callable[[str], Any]  # a stream's ReadContext
POLL_SECS = 0.2


def stream_events(source: Source, stream: str, context: ContextFor, run: StreamRun, plan: SyncPlan) -> Iterator[Event]:
    """One stream's read as events: ``start``, a ``batch`` per page, then ``end`` (with the exception if it failed)."""
    yield ("start", stream, None)
    try:
        batches = source.read_stream(stream, context(stream))
        try:
            for batch in batches:
                if run.stop.is_set() or plan.cancel.is_set():
                    break
                yield ("batch", stream, batch)
        finally:
            if isinstance(batches, Generator):  # release its sessions and files now
                batches.close()
    except GeneratorExit:  # the consumer stopped reading (inline)
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure fails this stream only
        yield ("end", stream, exc)
        return
    yield ("end", stream, None)


class Feed:
    """Where the consumer takes the next event from; ``put`` is the sources' way in (any thread)."""

    def __init__(self, plan: SyncPlan, inline: bool) -> None:
        self.plan = plan
        size = 0 if inline else queue_size(plan.options.concurrency, plan.sink is not None)
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=size)  # unbounded inline: its one reader is the writer
        self._inline: Iterator[Event] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._sentry: StepSentry | None = None

    @staticmethod
    def inline_fits(plan: SyncPlan, waits_for_nothing: bool) -> bool:
        """A single stream to stdout, read where nothing needs the consumer while a page is awaited."""
        return len(plan.streams) == 1 and plan.sink is None and plan.options.cancel is None and waits_for_nothing

    def start(self, events: Callable[[str], Iterator[Event]], inline: bool) -> None:
        plan = self.plan
        if inline:
            self._inline = events(plan.streams[0])
            return
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(plan.options.concurrency, len(plan.streams))),
                                        thread_name_prefix="stream")
        for name in plan.streams:
            self._pool.submit(self._produce, events(name))

    def _produce(self, events: Iterator[Event]) -> None:
        for event in events:
            self.put(event)

    def put(self, event: Event) -> None:
        put_unless(self._queue, event, self.plan.cancel)

    def guard(self, sentry: StepSentry) -> None:
        """Inline: ``sentry`` watches every step of the read (and stops with the feed)."""
        self._sentry = sentry
        sentry.start()

    def get(self) -> Event:
        """The next event; ``queue.Empty`` after ``POLL_SECS`` without one (inline: once the sync is cancelled)."""
        if self._inline is not None:
            while self._queue.empty():  # what the read said on the way comes before the event it reached
                if self.plan.cancel.is_set():  # as a worker's events stop: the consumer ends the sync
                    raise queue.Empty
                self._queue.put(next(self._inline) if self._sentry is None else self._sentry.step(self._inline))
            return self._queue.get_nowait()
        return self._queue.get(timeout=POLL_SECS)

    def close(self) -> None:
        """Stop the reads: the inline one at once, the workers once they see the cancel (set by the caller)."""
        if self._sentry is not None:
            self._sentry.stop()
        if self._inline is not None:
            close = getattr(self._inline, "close", None)
            if close is not None:
                close()
        drain(self._queue)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class StepSentry:
    """While the consumer's thread is inside a step of an inline read, calls ``act`` whenever ``due()``
    (seconds until it is due) reaches 0; never while the consumer is between steps."""

    def __init__(self, due: Callable[[], float], act: Callable[[], None]) -> None:
        self._due, self._act = due, act
        self._lock = threading.Lock()
        self._in_step = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="solidafy-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def step(self, events: Iterator[Event]) -> Event:
        """The read's next event, in the caller's (the consumer's) thread."""
        with self._lock:
            self._in_step = True
        try:
            return next(events)
        finally:
            with self._lock:  # waits for an ``act`` under way: the consumer writes only after it
                self._in_step = False

    def _run(self) -> None:
        while not self._stopped.wait(max(0.05, self._due())):
            with self._lock:
                if self._in_step and self._due() <= 0:
                    try:
                        self._act()
                    except Exception:  # noqa: BLE001 - e.g. stdout closed: the consumer's next write says so
                        return

    def stop(self) -> None:
        """No more heartbeats (none can come once no step runs; the wait is for a write under way)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5.0)
