"""Partition routers: which partitions a stream reads, read concurrently, with per-partition state.

A stream without ``partition`` has one partition, ``{}``, whose state is the stream state itself
(``{"cursor": ...}``); so has an ``async_job`` stream (the job is created anew each sync from
``since``). The other routers keep a state per partition inside the stream state::

    {"partitions": [{"partition": {"region": "eu"}, "cursor": "2024-05-01T00:00:00Z"}, ...],
     "cursor": "2024-05-02T10:00:00Z"}          # the newest cursor of any partition

Entries are sorted by partition, so the final state does not depend on the concurrency. A resumed
sync continues each partition from its cursor; a ``date_range`` window read to its end is marked
``"done": true`` and skipped next time if it ends before the stream cursor (newer ones may grow).
Past ``max_partition_states`` partitions (``ReadContext.tuning``, default 100,000) only the stream-level
cursor is kept, with a WARN log line; every partition then starts from that cursor.

``parent_stream`` children keep the parent's own stream state under ``"parent"``, updated once
every child partition of the sync succeeded, so the next sync reads only parents that changed
since, and with them only their children.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError, TemplateError
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest.async_job import read_job
from source_solidafy.rest.concurrency import Event, run_partitions
from source_solidafy.rest.paths import compile_path
from source_solidafy.rest.records import comparable, to_datetime
from source_solidafy.source import Batch, ReadContext

if TYPE_CHECKING:
    from source_solidafy.manifest.models import (
        DateRangePartition,
        ListPartition,
        ParentStreamPartition,
        Stream,
    )
    from source_solidafy.rest.source import DeclarativeSource, StreamReader, _Runtime

_GONE = object()  # a path that selects nothing


def partitions_for(
    source: DeclarativeSource,
    rt: _Runtime,
    spec: Stream,
    ctx: ReadContext,
    incoming: dict[str, Any] | None,
    reader: StreamReader,
) -> Iterator[Batch]:
    """The batches of ``spec``, over all its partitions."""
    part = spec.partition
    if part is None:
        yield from reader.read({}, (incoming or {}).get("cursor"))
        return
    if part.type == "async_job":
        yield from read_job(reader, part, (incoming or {}).get("cursor"))
        return
    router, states = _router(source, spec, ctx, incoming, reader)
    yield from PartitionedRead(router, reader, ctx, states).run()


def _router(source: DeclarativeSource, spec: Stream, ctx: ReadContext, incoming: dict[str, Any] | None,
            reader: StreamReader) -> tuple[Router, PartitionStates]:
    """The stream's router, or with ``ctx.unit`` (read --plan) the one that reads that unit's partitions."""
    def states_of(key: Callable[[dict[str, Any]], str]) -> PartitionStates:
        return PartitionStates(spec.name, incoming, ctx, key)

    if ctx.unit is not None:
        from source_solidafy.rest.plan import unit_router

        found = unit_router(source, spec, ctx, reader, states_of)
        if found is not None:
            return found
    assert spec.partition is not None
    router_type = ROUTERS[spec.partition.type]
    states = states_of(router_type.key)
    return router_type(source, spec, ctx, reader, states), states


def partition_key(partition: dict[str, Any]) -> str:
    return jsoncodec.dumps(partition, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _newer(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b > a else a
    except TypeError:
        return b if comparable(b) > comparable(a) else a


# ------------------------------------------------------------------------------------ state


class PartitionStates:
    """Per-partition cursors of one stream; only the consumer thread changes them."""

    def __init__(self, stream: str, incoming: dict[str, Any] | None, ctx: ReadContext,
                 key: Callable[[dict[str, Any]], str] = partition_key) -> None:
        incoming = incoming or {}
        self.key = key
        self.stream, self.log = stream, ctx.log
        self.limit = ctx.tuning.max_partition_states
        listed = incoming.get("partitions")
        self.per_partition = isinstance(listed, list)
        self.cursor = self.incoming_cursor = incoming.get("cursor")
        self.extra = {k: v for k, v in incoming.items() if k not in ("partitions", "cursor")}
        self.entries: dict[str, dict[str, Any]] = {}
        for entry in listed or []:
            if isinstance(entry, dict) and isinstance(entry.get("partition"), dict):
                self.entries[key(entry["partition"])] = dict(entry)
        self.incoming = {k: dict(v) for k, v in self.entries.items()}  # read by worker threads
        self._warned = False

    def start_cursor(self, key: str) -> Any:
        """Where a partition resumes: its own cursor, else the stream cursor of a state without entries."""
        entry = self.incoming.get(key)
        if entry is not None:
            return entry.get("cursor")
        return None if self.per_partition else self.incoming_cursor

    def started(self, key: str, partition: dict[str, Any], cursor: Any, track_done: bool) -> None:
        entry = self.entries.setdefault(key, {"partition": partition, "cursor": cursor})
        entry["partition"] = partition
        if track_done:
            entry["done"] = False

    def advance(self, key: str, cursor: Any) -> None:
        entry = self.entries[key]
        entry["cursor"] = _newer(entry.get("cursor"), cursor)
        self.cursor = _newer(self.cursor, cursor)

    def finish(self, key: str, track_done: bool) -> None:
        if track_done:
            self.entries[key]["done"] = True

    def snapshot(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        entries = [e for e in self.entries.values() if e.get("cursor") is not None or "done" in e]
        if len(entries) > self.limit:
            if not self._warned:
                self._warned = True
                self.log("WARN", f"stream '{self.stream}': {len(entries)} partitions exceed max_partition_states "
                                 f"({self.limit}); keeping one stream-level cursor instead of per-partition state")
        else:
            out["partitions"] = sorted(
                ({k: v for k, v in e.items()} for e in entries), key=lambda e: self.key(e["partition"])
            )
        if self.cursor is not None:
            out["cursor"] = self.cursor
        out.update(self.extra if extra is None else {**self.extra, **extra})
        return out


# ---------------------------------------------------------------------------------- routers


@dataclass(frozen=True, slots=True)
class Work:
    key: str
    partition: dict[str, Any]
    cursor: Any


class Router:
    """Yields the partitions of one stream; ``extra()`` adds router keys to the final state."""

    track_done = False

    @staticmethod
    def key(partition: dict[str, Any]) -> str:
        """Identity of a partition across syncs."""
        return partition_key(partition)

    def __init__(self, source: DeclarativeSource, spec: Stream, ctx: ReadContext, reader: StreamReader,
                 states: PartitionStates) -> None:
        self.source, self.spec, self.ctx, self.reader, self.states = source, spec, ctx, reader, states

    def partitions(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def skip(self, key: str, partition: dict[str, Any]) -> bool:
        return False

    def extra(self, complete: bool) -> dict[str, Any]:
        return {}


class ListRouter(Router):
    """``partition: {type: list, field: region, values: [us, eu]}``: one partition per value."""

    def partitions(self) -> Iterator[dict[str, Any]]:
        part: ListPartition = self.spec.partition  # type: ignore[assignment]
        for value in part.values:
            yield {part.field: value}


class ParentRouter(Router):
    """One partition per distinct ``parent_field`` value of the parent stream's records.

    The parent is read through the same machinery (its pagination, partitions, state), shared with
    the parent stream's own output in this sync (see :mod:`source_solidafy.rest.concurrency`).
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        part: ParentStreamPartition = self.spec.partition  # type: ignore[assignment]
        self.part = part
        self.path = compile_path(part.parent_field)
        self.parent_state: dict[str, Any] | None = None
        self.complete = False
        self.parents = 0  # parent records read
        self.found = False  # some parent record has parent_field (even null)
        self.sample: dict[str, Any] | None = None  # the first parent record, as fetched

    def partitions(self) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        field = self.part.field or self.part.parent_field
        for projected, batch in self._parent_batches():
            self.parents += len(batch)
            for rec in batch.records:
                value = rec.get(self.part.parent_field, _GONE) if projected else self.path.get(rec, _GONE)
                self.sample = self.sample or (None if projected else rec)
                if value is _GONE:
                    continue
                self.found = True
                if value is None or value == "":
                    continue
                marker = value if isinstance(value, str) else jsoncodec.dumps(value).decode()
                if marker in seen:
                    continue
                seen.add(marker)
                yield {field: value}
            if batch.state is not None:
                self.parent_state = batch.state
        if self.parents and not self.found:
            raise StreamError(self._field_missing())
        self.complete = True

    def _field_missing(self) -> str:
        """No parent record has parent_field: zero partitions would pass for an empty child."""
        parent, name = self.part.stream, self.part.parent_field
        why = self.path.missing(self.sample or {}, root=f"the first '{parent}' record")
        return (f"stream '{self.spec.name}': partition.parent_field '{name}' is in none of the {self.parents} "
                f"records of parent stream '{parent}': {why}; no partition was read")

    def _parent_batches(self) -> Iterator[tuple[bool, Batch]]:
        parent = self.part.stream
        if parent == self.spec.name:
            raise StreamError(f"stream '{parent}': a parent_stream partition cannot use the stream itself")
        if parent not in self.source.manifest.stream_names():
            raise StreamError(f"stream '{self.spec.name}': parent stream '{parent}' is not defined")
        # A child without a cursor is a full snapshot: reading only changed parents would lose the
        # children of the others (a card attached today to a customer created last year).
        mode = self.ctx.sync_mode if self.spec.cursor_field else "full_refresh"
        state = self.states.extra.get("parent") if mode != "full_refresh" else None
        pctx = ReadContext(config=self.ctx.config, state=state, sync_mode=mode, concurrency=self.ctx.concurrency,
                           log=self.ctx.log, cancel=self.ctx.cancel, services=self.ctx.services, tuning=self.ctx.tuning,
                           strict=self.ctx.strict, on_warning=self.ctx.on_warning)
        alone = not self.ctx.services.selects(parent)
        if self.ctx.max_records is not None or alone:  # may stop early, or nobody to share with
            for b in self.source.read_plain(parent, pctx):
                yield False, b
            return
        spool, fetch = self.ctx.services.shared_reads().open(parent, state, projected=False)
        batches = spool.feed(self.source.read_plain(parent, spool.context(pctx)), None, self.spec.name) if fetch \
            else spool.follow(self.ctx.cancel, self.ctx.warn)
        for b in batches:
            self.sample = self.sample or spool.sample
            yield spool.projected, b

    def extra(self, complete: bool) -> dict[str, Any]:
        if not self.spec.cursor_field:
            return {}
        if complete and self.complete and self.parent_state is not None:
            return {"parent": self.parent_state}
        return {}


class DateRangeRouter(Router):
    """Half-open windows ``[start, end)`` of ``step``, contiguous, the last one clipped at ``end``.

    ``end`` defaults to now. ``start`` may use ``since`` (the oldest cursor not yet safely synced).
    """

    track_done = True

    @staticmethod
    def key(partition: dict[str, Any]) -> str:
        """A window is known by its start: the last one's end moves with "now"."""
        return partition_key({"start": partition.get("start")})

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        part: DateRangePartition = self.spec.partition  # type: ignore[assignment]
        self.part = part
        self.now: datetime | None = None  # "now" of the windows (a plan fixes it); None: the clock

    def _bound(self, name: str, text: str) -> datetime:
        moment = to_datetime(text)
        if moment is None:
            raise StreamError(
                f"stream '{self.spec.name}': partition.{name} rendered '{text}', expected an ISO 8601 "
                "date or date-time (2024-01-01, 2024-01-01T00:00:00Z) or unix seconds"
            )
        return moment

    def _since(self) -> str:
        """The oldest point not safely synced: unfinished windows' cursors or starts, else the cursor."""
        low: datetime | None = None
        low_text: Any = None
        for e in self.states.entries.values():
            if e.get("done") is False:
                text = e.get("cursor") or e["partition"].get("start")
                moment = to_datetime(text) if text is not None else None
                if moment is not None and (low is None or moment < low):
                    low, low_text = moment, text
        cursor = low_text if low_text is not None else self.states.cursor
        return self.reader.since(cursor, build_context(self.ctx.config)) if cursor is not None else ""

    def windows(self, now: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        ctx = build_context(self.ctx.config, since=self._since(), now=now)
        try:
            start = self._bound("start", self.part.start.render(ctx))
            end = self._bound("end", self.part.end.render(ctx)) if self.part.end is not None else \
                (now or datetime.now(timezone.utc))
        except TemplateError as exc:
            raise StreamError(f"stream '{self.spec.name}': {exc}") from None
        months, delta = self.part.step_parts()
        if months == 0 and delta <= timedelta(0):
            raise StreamError(f"stream '{self.spec.name}': partition step '{self.part.step}' is empty")
        k = 0
        while True:
            lo = _add(start, months * k, delta * k)
            if lo >= end:
                return
            hi = _add(start, months * (k + 1), delta * (k + 1))
            yield lo, min(hi, end)
            k += 1

    def _fmt(self, moment: datetime) -> Any:
        fmt = self.part.format
        if fmt == "unix":
            return int(moment.timestamp())
        if fmt == "unix_ms":
            return int(moment.timestamp() * 1000)
        return moment.strftime(fmt)

    def partitions(self) -> Iterator[dict[str, Any]]:
        first = True
        for lo, hi in self.windows(self.now):
            if first:
                self._forget_before(lo)
                first = False
            s, e = self._fmt(lo), self._fmt(hi)
            out = {"start": s, "end": e}
            for name, value in ((self.part.field, s), (self.part.start_field, s), (self.part.end_field, e)):
                if name:
                    out[name] = value
            yield out

    def _forget_before(self, start: datetime) -> None:
        """Done windows before this sync's first window will never be read again: drop them."""
        ents = self.states.entries
        for key in [k for k, e in ents.items() if e.get("done") and _before(e["partition"].get("end"), start)]:
            del ents[key]

    def skip(self, key: str, partition: dict[str, Any]) -> bool:
        """Skip a window fully before the stream cursor that was read to its end (or, with a
        stream-level state only, any window fully before the cursor). The newest windows are read
        again from their own cursor: data may still arrive in them."""
        cursor = self.states.incoming_cursor
        if cursor is None:
            return False
        entry = self.states.incoming.get(key)
        if self.states.per_partition and not (entry is not None and entry.get("done")):
            return False
        return _before(partition["end"], to_datetime(cursor))


def _before(text: Any, moment: datetime | None) -> bool:
    value = to_datetime(text) if text is not None else None
    return value is not None and moment is not None and value <= moment


def _add(start: datetime, months: int, delta: timedelta) -> datetime:
    if months:
        y, m = divmod(start.month - 1 + months, 12)
        year, month = start.year + y, m + 1
        for day in (start.day, 30, 29, 28):  # clip Jan 31 + 1 month to the end of February
            try:
                start = start.replace(year=year, month=month, day=min(start.day, day))
                break
            except ValueError:
                continue
    return start + delta


ROUTERS: dict[str, type[Router]] = {
    "list": ListRouter,
    "date_range": DateRangeRouter,
    "parent_stream": ParentRouter,
}


# ----------------------------------------------------------------------------- the read


class PartitionedRead:
    """Drives a router's partitions through the pool and turns their cursors into stream state.

    A state is attached to a batch only once every record it covers is in this or an earlier batch
    (each partition's batches arrive in order, and its cursor moves only with its own batches).
    """

    def __init__(self, router: Router, reader: StreamReader, ctx: ReadContext, states: PartitionStates) -> None:
        self.router, self.reader, self.ctx, self.states = router, reader, ctx, states
        self.name = router.spec.name
        self._events = 0
        self._last: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _work_items(self) -> Iterator[Work]:
        for partition in self.router.partitions():
            if self.reader.limit_reached():
                return
            key = self.router.key(partition)
            if self.router.skip(key, partition):
                continue
            yield Work(key, partition, self.states.start_cursor(key))

    def _work(self, item: Work) -> Iterator[Batch]:
        self.reader.rt.set_log(self.ctx.log)  # the client's retry warnings of this worker thread
        return self.reader.read(item.partition, item.cursor)

    def run(self) -> Iterator[Batch]:
        workers = max(1, self.ctx.concurrency)
        slots = self.ctx.services.partition_slots(workers) if workers > 1 else None
        error: BaseException | None = None
        for ev in run_partitions(self._work_items(), self._work, workers, self.ctx.cancel, slots):
            if ev.kind == "error":
                error = error or ev.error
                continue
            out = self._on_event(ev)
            if out is not None:
                yield out
        final = self.states.snapshot(self.router.extra(error is None and not self.ctx.cancel.is_set()))
        if final != self._last:
            yield Batch(self.name, [], final)
        if error is not None:
            raise error

    def _on_event(self, ev: Event[Work]) -> Batch | None:
        item = ev.item
        assert item is not None
        track = self.router.track_done
        if ev.kind == "start":
            self.states.started(item.key, item.partition, item.cursor, track)
            return None
        if ev.kind == "done":
            self.states.finish(item.key, track)
            state = self._state()
            return Batch(self.name, [], state) if state is not None else None
        batch = ev.batch
        assert batch is not None
        if batch.state is None:
            return Batch(self.name, batch.records, None) if len(batch) else None
        self.states.advance(item.key, batch.state.get("cursor"))
        return Batch(self.name, batch.records, self._state())

    def _state(self) -> dict[str, Any] | None:
        """A snapshot, thinned out with many partitions (building one costs O(partitions))."""
        self._events += 1
        if self._events < len(self.states.entries) // 20:  # at most ~20 snapshots per pass over them
            return None
        self._events = 0
        snap = self.states.snapshot()
        if snap == self._last:
            return None
        self._last = snap
        return snap
