"""Reading a stream's partitions at once, and sharing one read of a parent stream within a sync.

Why threads and a queue: the sync runner consumes a stream's batches from one thread, but the
time goes into network waits. Worker threads take partitions from one iterator (under a lock, so
a generator that itself makes requests, such as a parent stream, is advanced by one thread at a
time), read them, and hand :class:`Event` objects back through a bounded queue: a worker blocks
when the consumer is behind, so memory stays bounded whatever the number of partitions.

Why a spool: a parent stream selected for output and a child partitioned over it must not fetch
the parent twice. The first of them to start fetches it and appends every batch to an anonymous
temporary file; the others follow that file as it grows (like ``tail -f``). Memory stays bounded
and the order of streams in the sync, or the concurrency, does not matter.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.queues import drain, put_unless
from source_solidafy.source import Batch, ReadContext

T = TypeVar("T")
_POLL = 0.1


@dataclass(slots=True, repr=False, eq=False)
class Event(Generic[T]):
    """What happened to one partition: ``start``, ``batch``, ``done`` or ``error``."""

    kind: str
    item: T | None
    batch: Batch | None = None
    error: BaseException | None = None


def run_partitions(
    items: Iterable[T],
    work: Callable[[T], Iterator[Batch]],
    workers: int,
    cancel: threading.Event,
    slots: threading.Semaphore | None = None,
) -> Iterator[Event[T]]:
    """Read ``items`` with ``work``, up to ``workers`` at once; events come out in the caller's thread.

    After a failure no new item starts; those in flight finish (their state is worth keeping) and
    the ``error`` event is among the events. ``slots`` caps partitions in flight across a sync.
    """
    if workers <= 1:
        yield from _sequential(items, work, cancel)
        return
    pool = _Pool(items, work, workers, cancel, slots)
    try:
        yield from pool.events()
    finally:
        pool.stop()


def _sequential(items: Iterable[T], work: Callable[[T], Iterator[Batch]], cancel: threading.Event) -> Iterator[Event[T]]:
    for item in items:
        if cancel.is_set():
            return
        yield Event("start", item)
        try:
            for batch in work(item):
                yield Event("batch", item, batch)
        except Exception as exc:  # noqa: BLE001 - a failed partition is reported, not raised here
            yield Event("error", item, error=exc)
            return
        yield Event("done", item)


_EXIT = object()


class _Pool(Generic[T]):
    def __init__(self, items: Iterable[T], work: Callable[[T], Iterator[Batch]], workers: int,
                 cancel: threading.Event, slots: threading.Semaphore | None) -> None:
        self._items = iter(items)
        self._work = work
        self._cancel = cancel
        self._slots = slots
        self._lock = threading.Lock()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=workers * 2)
        self._halt = threading.Event()  # no new item starts
        self._gone = threading.Event()  # the consumer left: drop everything
        self._threads = [threading.Thread(target=self._run, daemon=True, name=f"partition-{i}")
                         for i in range(workers)]

    def events(self) -> Iterator[Event[T]]:
        for t in self._threads:
            t.start()
        running = len(self._threads)
        while running:
            ev = self._queue.get()
            if ev is _EXIT:
                running -= 1
                continue
            yield ev

    def stop(self) -> None:
        self._gone.set()
        self._halt.set()
        for t in self._threads:
            while t.is_alive():
                self._drain()
                t.join(_POLL)

    def _drain(self) -> None:
        drain(self._queue)

    def _put(self, ev: Any) -> None:
        put_unless(self._queue, ev, self._gone, _POLL)

    def _next(self) -> tuple[bool, T | None]:
        with self._lock:
            if self._halt.is_set() or self._cancel.is_set():
                return False, None
            try:
                return True, next(self._items)
            except StopIteration:
                return False, None
            except Exception as exc:  # noqa: BLE001 - e.g. the parent stream failed
                self._halt.set()
                self._put(Event("error", None, error=exc))
                return False, None

    def _run(self) -> None:
        try:
            while True:
                ok, item = self._next()
                if not ok:
                    return
                self._one(item)  # type: ignore[arg-type]
        finally:
            self._put(_EXIT)

    def _one(self, item: T) -> None:
        if self._slots is not None:
            while not self._slots.acquire(timeout=_POLL):
                if self._gone.is_set():
                    return
        try:
            if not self._gone.is_set():
                self._read(item)
        finally:
            if self._slots is not None:
                self._slots.release()

    def _read(self, item: T) -> None:
        batches: Iterator[Batch] | None = None
        try:
            self._put(Event("start", item))
            batches = self._work(item)
            for batch in batches:
                if self._gone.is_set():
                    return
                self._put(Event("batch", item, batch))
            self._put(Event("done", item))
        except Exception as exc:  # noqa: BLE001 - reported to the consumer
            self._halt.set()
            self._put(Event("error", item, error=exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()


# ------------------------------------------------------------------------------ shared reads


class Spool:
    """One fetch of a stream, appended to a temporary file and followed by other readers."""

    def __init__(self, stream: str, projected: bool) -> None:
        self.stream = stream
        self.projected = projected  # records hold only the fields children need (keyed by path)
        self._file = tempfile.TemporaryFile(prefix="solidafy-spool-")  # noqa: SIM115 - lives with the sync
        self._cond = threading.Condition()
        self._size = 0
        self._done = False
        self._error: str | None = None
        self.sample: dict[str, Any] | None = None  # the first record as fetched, before any projection

    def write(self, records: list[dict[str, Any]], state: dict[str, Any] | None) -> None:
        self._append({"r": records, "s": state})

    def warning(self, message: str) -> None:
        """A warning of the fetch (ReadContext.warn), replayed to each follower between the same batches."""
        self._append({"w": message})

    def context(self, ctx: ReadContext) -> ReadContext:
        """``ctx`` for the fetch: its warnings, skips and counts go where ``ctx`` sends them and into the spool."""
        def both(message: str) -> None:
            ctx.on_warning(message)
            self.warning(message)

        def skipped(message: str) -> None:
            ctx.on_skip(message)
            self._append({"k": message})

        def counted(key: str, n: int) -> None:
            ctx.on_count(key, n)
            self._append({"c": [key, n]})

        return dataclasses.replace(ctx, on_warning=both, on_skip=skipped, on_count=counted)

    def _append(self, item: dict[str, Any]) -> None:
        line = jsoncodec.dumps(item, default=str) + b"\n"
        with self._cond:
            os.pwrite(self._file.fileno(), line, self._size)
            self._size += len(line)
            self._cond.notify_all()

    def finish(self, error: str | None = None) -> None:
        with self._cond:
            self._done, self._error = True, error
            self._cond.notify_all()

    def follow(self, ctx: ReadContext) -> Iterator[Batch]:
        """The spooled batches, waiting for more until the fetch ends (or ``ctx.cancel``); its failure is raised here.

        What the fetch reported is replayed to ``ctx`` in its place (:meth:`context`): its warnings to
        ``ctx.warn`` (a follower's state is held from where the fetch's was), what it skipped (an
        ``errors:`` ignore) to ``ctx.skip`` and its counts (``records_filtered``) to ``ctx.count``, so the
        follower reports them too.
        """
        offset, tail = 0, b""
        while not ctx.cancel.is_set():
            with self._cond:
                while self._size == offset and not self._done and not ctx.cancel.is_set():
                    self._cond.wait(_POLL)
                size, done, error = self._size, self._done, self._error
            if size > offset:
                chunk = tail + os.pread(self._file.fileno(), min(size - offset, 1 << 22), offset)
                offset += len(chunk) - len(tail)
                *lines, tail = chunk.split(b"\n")
                for line in lines:
                    item = jsoncodec.loads(line)
                    if "r" not in item:
                        _replay(item, ctx)
                        continue
                    yield Batch(self.stream, item["r"], item["s"])
                continue
            if done:
                if error is not None:
                    raise StreamError(error)
                return
        raise StreamError(f"reading stream '{self.stream}' was cancelled")  # never a silent partial read

    def feed(self, batches: Iterator[Batch], project: Callable[[list[Any]], list[Any]] | None,
             reader: str) -> Iterator[Batch]:
        """Pass ``batches`` through while spooling them; an early stop or a failure ends the spool."""
        error: str | None = f"stream '{self.stream}' (read for {reader}) stopped before its end"
        try:
            for batch in batches:
                records = batch.records if isinstance(batch.records, list) else batch.records.to_pylist()
                if self.sample is None and records:
                    self.sample = records[0]
                self.write(project(records) if project else records, batch.state)
                yield batch
            error = None
        except Exception as exc:
            error = f"stream '{self.stream}' (read for {reader}) failed: {exc}"
            raise
        finally:
            self.finish(error)


def _replay(item: dict[str, Any], ctx: ReadContext) -> None:
    """A warning (``w``), skip (``k``) or count (``c``) of the fetch, said again by a follower."""
    if "w" in item:
        ctx.warn(item["w"])
    elif "k" in item:
        ctx.skip(item["k"])
    elif "c" in item:
        ctx.count(item["c"][0], item["c"][1])


class SharedReads:
    """The spools of one sync, keyed by (stream, incoming state); ``ReadContext.services.shared_reads()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spools: dict[bytes, Spool] = {}

    def open(self, stream: str, state: dict[str, Any] | None, projected: bool) -> tuple[Spool, bool]:
        """The spool for this read and whether the caller must fetch (True) or follow (False)."""
        key = jsoncodec.dumps([stream, state or None], option=orjson.OPT_SORT_KEYS, default=str)
        with self._lock:
            spool = self._spools.get(key)
            if spool is not None:
                return spool, False
            spool = self._spools[key] = Spool(stream, projected)
            return spool, True

