"""Partition routers: the partitions of one stream, listed without reading the stream's records.

A router is built from its ``partition:`` model and :class:`RouterInputs` (what it may use: the
read context, the stream's partition states, and for some a way to read a parent stream or to
format a cursor); it never calls back into the source. ``partitions()`` yields the partitions,
``skip()`` says which of them need no read this sync, ``extra()`` adds router keys to the final
state. :mod:`source_solidafy.rest.partitions` reads them; a planner may just list them.

    partition: {type: list, field: region, values: [us, eu]}      # ListRouter: {"region": "us"}, ...
    partition: {type: date_range, start: "{{ config.start }}", step: P1D}   # DateRangeRouter

The routers are registered per model class in :mod:`source_solidafy.rest.builders`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from source_solidafy.errors import StreamError, TemplateError
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest.partition_state import PartitionStates, partition_key
from source_solidafy.rest.records import to_datetime
from source_solidafy.source import Batch, ReadContext

if TYPE_CHECKING:
    from source_solidafy.manifest.models import DateRangePartition, ListPartition
    from source_solidafy.rest.reader import StreamReader

ReadParent = Callable[[str, ReadContext], Iterator[Batch]]


def _no_since(cursor: Any) -> str:
    return str(cursor)


class RouterInputs(NamedTuple):
    """What a router may use besides its model."""

    stream: str  # the stream routed (messages name it)
    ctx: ReadContext  # config, sync mode, the sync's services, cancel, log and warn
    states: PartitionStates  # the stream's incoming and current per-partition state
    cursor_field: str | None = None  # the stream's: a parent_stream child with none re-reads every parent
    since: Callable[[Any], str] = _no_since  # a cursor as the incremental lower bound (format, lookback)
    read_parent: ReadParent | None = None  # reads another stream of the connector, unshared
    streams: Collection[str] = ()  # the connector's streams (a parent must be one of them)


class Router:
    """Yields the partitions of one stream; ``extra()`` adds router keys to the final state."""

    track_done = False

    @staticmethod
    def key(partition: dict[str, Any]) -> str:
        """Identity of a partition across syncs."""
        return partition_key(partition)

    def __init__(self, part: Any, inputs: RouterInputs) -> None:
        self.part, self.inputs = part, inputs
        self.stream, self.ctx, self.states = inputs.stream, inputs.ctx, inputs.states

    def partitions(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def skip(self, key: str, partition: dict[str, Any]) -> bool:
        return False

    def cursor_order(self) -> Callable[[Any], Any] | None:
        """How this stream's cursors compare: None as values (records.py), else by what it returns."""
        return None

    def extra(self, complete: bool) -> dict[str, Any]:
        return {}

    def read(self, reader: StreamReader, partition: dict[str, Any], cursor: Any) -> Iterator[Batch]:
        """The batches of one partition (a router may read a partition in parts: ``date_range`` split_when)."""
        return reader.read(partition, cursor, order=self.cursor_order())


class ListRouter(Router):
    """``partition: {type: list, field: region, values: [us, eu]}``: one partition per value."""

    part: ListPartition

    def partitions(self) -> Iterator[dict[str, Any]]:
        for value in self.part.values:
            yield {self.part.field: value}


class DateRangeRouter(Router):
    """Half-open windows ``[start, end)`` of ``step``, contiguous, the last one clipped at ``end``.

    ``end`` defaults to now. ``start`` may use ``since`` (the oldest cursor not yet safely synced).
    """

    part: DateRangePartition
    track_done = True

    @staticmethod
    def key(partition: dict[str, Any]) -> str:
        """A window is known by its start: the last one's end moves with "now"."""
        return partition_key({"start": partition.get("start")})

    def __init__(self, part: DateRangePartition, inputs: RouterInputs) -> None:
        super().__init__(part, inputs)
        self.now: datetime | None = None  # "now" of the windows (a plan fixes it); None: the clock

    def _bound(self, name: str, text: str) -> datetime:
        moment = to_datetime(text)
        if moment is None:
            raise StreamError(
                f"stream '{self.stream}': partition.{name} rendered '{text}', expected an ISO 8601 "
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
        return self.inputs.since(cursor) if cursor is not None else ""

    def windows(self, now: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        ctx = build_context(self.ctx.config, since=self._since(), now=now)
        try:
            start = self._bound("start", self.part.start.render(ctx))
            end = self._bound("end", self.part.end.render(ctx)) if self.part.end is not None else \
                (now or datetime.now(timezone.utc))
        except TemplateError as exc:
            raise StreamError(f"stream '{self.stream}': {exc}") from None
        months, delta = self.part.step_parts()
        if months == 0 and delta <= timedelta(0):
            raise StreamError(f"stream '{self.stream}': partition step '{self.part.step}' is empty")
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
        if fmt in UNIX_STEPS:
            return (moment - EPOCH) // UNIX_STEPS[fmt]  # exact: no float between the instant and the integer
        return moment.strftime(fmt)

    def bounds(self, partition: dict[str, Any]) -> tuple[datetime, datetime]:
        """A window's ``[start, end)`` read back from its partition (``format`` undone)."""
        fmt = self.part.format
        try:
            lo, hi = (
                EPOCH + int(partition[k]) * UNIX_STEPS[fmt] if fmt in UNIX_STEPS else _utc(datetime.strptime(str(partition[k]), fmt))
                for k in ("start", "end")
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StreamError(f"stream '{self.stream}': the window {partition!r} cannot be read back with "
                              f"partition.format '{fmt}': {exc}") from None
        return lo, hi

    def partitions(self) -> Iterator[dict[str, Any]]:
        first = True
        for lo, hi in self.windows(self.now):
            if first:
                self._forget_before(lo)
                first = False
            yield self.window(lo, hi)

    def window(self, lo: datetime, hi: datetime) -> dict[str, Any]:
        """The partition of the window ``[lo, hi)``: ``start``, ``end`` and the fields the YAML names."""
        s, e = self._fmt(lo), self._fmt(hi)
        out = {"start": s, "end": e}
        for name, value in ((self.part.field, s), (self.part.start_field, s), (self.part.end_field, e)):
            if name:
                out[name] = value
        return out

    def read(self, reader: StreamReader, partition: dict[str, Any], cursor: Any) -> Iterator[Batch]:
        """A window's batches; with ``split_when``, halved while the API says it is over its cap."""
        if self.part.split_when is None:
            return reader.read(partition, cursor)
        from source_solidafy.rest.windows import WindowSplitter

        return WindowSplitter(self, self.part.split_when).read(reader, partition, cursor)

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


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
UNIX_STEPS = {"unix": timedelta(seconds=1), "unix_ms": timedelta(milliseconds=1)}  # date_range's integer formats


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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


class WholeStream(Router):
    """No ``partition``: one partition, ``{}``, whose state is the stream state itself (``{"cursor": ...}``)."""

    def partitions(self) -> Iterator[dict[str, Any]]:
        yield {}

    def read_whole(self, reader: StreamReader, cursor: Any) -> Iterator[Batch]:
        """The stream's batches from ``cursor``."""
        return reader.read({}, cursor)
