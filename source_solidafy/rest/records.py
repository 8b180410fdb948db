"""Per-record work, kept to what must be per record: the incremental filter, the cursor, dedupe.

The ``transform`` steps are :mod:`source_solidafy.rest.transforms`; the ``filter`` is
:mod:`source_solidafy.rest.record_filter`.

State semantics (docs/connector-yaml.md, incremental): the stream state is ``{"cursor": <max cursor delivered>}``; a
record whose cursor is older than the incoming state is dropped client-side, one equal to it is kept
(at-least-once, never a loss). A cursor only moves forward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import TemplateError
from source_solidafy.rest.paths import compile_path
from source_solidafy.source import LogFn

if TYPE_CHECKING:
    from source_solidafy.manifest.models import Incremental


def comparable(value: Any) -> tuple[int, Any]:
    """Order cursors of one stream: numbers (and numeric strings) as numbers, the rest as text."""
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, (int, float)):
        return (0, float(value))
    text = str(value)
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)


def to_datetime(value: Any) -> dt.datetime | None:
    """A cursor value as a UTC datetime: unix seconds/ms numbers, or ISO 8601 text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    text = str(value).strip()
    if text.isdigit():
        return to_datetime(int(text))
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():  # Salesforce: .000+0000
            return to_datetime(f"{text[:-2]}:{text[-2:]}")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def format_since(value: Any, fmt: str | None, lookback_secs: float = 0) -> str:
    """The incremental lower bound as the API wants it (``unix``, ``unix_ms``, ``iso8601``, strftime)."""
    if value is None or value == "":
        return ""
    if not fmt and not lookback_secs:
        return str(value)
    moment = to_datetime(value)
    if moment is None:
        return str(value)
    moment -= dt.timedelta(seconds=lookback_secs)
    if fmt == "unix" or (not fmt and isinstance(value, (int, float))):
        return str(int(moment.timestamp()))
    if fmt == "unix_ms":
        return str(int(moment.timestamp() * 1000))
    if not fmt or fmt == "iso8601":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime(fmt)


def lower_bound(inc: Incremental | None, cursor: Any, ctx: dict[str, Any]) -> str:
    """``since``: the cursor (less ``lookback_secs``, in ``format``), or without one ``incremental.start``
    rendered against ``ctx``; "" when there is neither."""
    if cursor is not None:
        return format_since(cursor, inc.format if inc else None, inc.lookback_secs if inc else 0)
    if inc is not None and inc.start is not None:
        try:  # like request params: a start from an absent optional config field means "no start"
            start = inc.start.render(ctx)
        except TemplateError:
            start = ""
        return format_since(start, inc.format) if start else ""
    return ""


class CursorTracker:
    """Filters records older than the incoming cursor and tracks the newest one delivered.

    Per page, not per record where it can be helped: values are read with one comprehension and
    compared with C builtins (``max``, ``sorted``); mixed types fall back to :func:`comparable`.
    With ``order`` (an Airbyte DatetimeBasedCursor's parse), values are compared by what it returns
    and a value it returns None for is not a cursor (as the CDK skips a cursor it cannot parse).
    """

    def __init__(self, cursor_field: str | None, incoming: Any = None,
                 order: Callable[[Any], Any] | None = None) -> None:
        self.path = compile_path(cursor_field) if cursor_field else None
        simple = cursor_field is not None and not any(c in cursor_field for c in ".[")
        self._key = cursor_field if simple else None
        self.incoming = incoming
        self.max_value: Any = incoming
        self.ascending = True  # records so far arrived in cursor order (so a mid-stream state is safe)
        self.seen = 0  # cursor values seen
        self.oldest_dropped: Any = None  # the oldest cursor value dropped as older than the incoming state
        self._last: Any = None
        self.order = order
        self.unordered: Any = None  # with ``order``: a value it could not order (the first one)

    @property
    def seen_enough(self) -> bool:
        """Order is only known after two cursor values; before that no mid-stream state is safe."""
        return self.seen >= 2

    def _values(self, records: list[dict[str, Any]]) -> list[Any]:
        if self._key is not None:
            key = self._key
            return [r.get(key) for r in records]
        get = self.path.get  # type: ignore[union-attr]
        return [get(r) for r in records]

    def process(self, records: list[dict[str, Any]], limit: int | None = None) -> list[dict[str, Any]]:
        """Drop records older than the incoming state, keep at most ``limit``, track the newest kept."""
        if self.path is None or not records:
            return records if limit is None else records[:limit]
        values = self._values(records)
        if self.order is not None:  # the CDK's cursors filter no record by the state
            if limit is not None and len(records) > limit:
                records, values = records[:limit], values[:limit]
            self._observe_ordered(values)
            return records
        floor = self.incoming
        if floor is not None:
            try:
                keep = [v is None or v >= floor for v in values]
            except TypeError:  # mixed types: compare normalised
                low = comparable(floor)
                keep = [v is None or comparable(v) >= low for v in values]
            if not all(keep):
                self._dropped([v for v, k in zip(values, keep, strict=True) if not k])
                records = [r for r, k in zip(records, keep, strict=True) if k]
                values = [v for v, k in zip(values, keep, strict=True) if k]
        if limit is not None and len(records) > limit:
            records, values = records[:limit], values[:limit]
        self._observe([v for v in values if v is not None])
        return records

    def _dropped(self, values: list[Any]) -> None:
        oldest = min(values, key=comparable)
        if self.oldest_dropped is None or comparable(oldest) < comparable(self.oldest_dropped):
            self.oldest_dropped = oldest

    def _observe(self, values: list[Any]) -> None:
        if not values:
            return
        self.seen += len(values)
        try:
            in_order = values == sorted(values) and (self._last is None or values[0] >= self._last)
            page_max = max(values)
            newer = self.max_value is None or page_max > self.max_value
        except TypeError:  # mixed types (e.g. int and numeric string): compare normalised
            keys = [comparable(v) for v in values]
            in_order = keys == sorted(keys) and (self._last is None or keys[0] >= comparable(self._last))
            page_max = values[max(range(len(keys)), key=keys.__getitem__)]
            newer = self.max_value is None or comparable(page_max) > comparable(self.max_value)
        self.ascending = self.ascending and in_order
        self._last = values[-1]
        if newer:
            self.max_value = page_max

    def _observe_ordered(self, values: list[Any]) -> None:
        """Values compared by ``order``; those it cannot order (None) are not cursors."""
        order = self.order
        assert order is not None
        pairs = [(k, v) for v in values if v is not None and (k := order(v)) is not None]
        if self.unordered is None and len(pairs) < sum(v is not None for v in values):
            self.unordered = next(v for v in values if v is not None and order(v) is None)
        if not pairs:
            return
        self.seen += len(pairs)
        keys = [k for k, _ in pairs]
        last = order(self._last) if self._last is not None else None
        self.ascending = self.ascending and keys == sorted(keys) and (last is None or keys[0] >= last)
        self._last = pairs[-1][1]
        top = max(range(len(keys)), key=keys.__getitem__)
        current = order(self.max_value) if self.max_value is not None else None
        if current is None or keys[top] > current:
            self.max_value = pairs[top][1]

    def state(self) -> dict[str, Any] | None:
        return {"cursor": self.max_value} if self.max_value is not None else None


class BoundaryDedupe:
    """``dedupe: cursor_boundary``: drop a record the API sends again at a page boundary.

    Time-based exports (Zendesk's) start the next page at the previous page's highest cursor value,
    so the records with that value come twice. Records arrive in cursor order, so only the primary
    keys seen at the highest cursor value so far are remembered (a new, higher value forgets them):
    memory is bounded by how many records share one value, capped at ``max_keys``; past the cap
    a warning says repeats of that value may come through (never a record lost).
    """

    MAX_KEYS = 100_000

    def __init__(self, primary_key: list[str], cursor_field: str, log: LogFn,
                 max_keys: int = MAX_KEYS) -> None:
        self.keys = [compile_path(k) for k in primary_key]
        self.cursor = compile_path(cursor_field)
        self.cursor_field, self.log, self.max_keys = cursor_field, log, max_keys
        self.value: Any = None
        self.seen: set[Any] = set()
        self.dropped = 0

    def _key(self, record: dict[str, Any]) -> Any:
        key: Any = tuple(path.get(record) for path in self.keys)
        try:
            hash(key)
        except TypeError:  # an object or list in the key: its JSON text
            return jsoncodec.dumps(list(key), default=str, option=orjson.OPT_SORT_KEYS)
        return key

    def _newer(self, value: Any) -> bool:
        try:
            return bool(value > self.value)
        except TypeError:
            return comparable(value) > comparable(self.value)

    def filter(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for record in records:
            value = self.cursor.get(record)
            if value is None:
                out.append(record)
                continue
            if self.value is None or self._newer(value):
                self.value, self.seen = value, set()
            elif value != self.value:  # older than the boundary: out of order, cannot be a repeat of it
                out.append(record)
                continue
            key = self._key(record)
            if key in self.seen:
                self.dropped += 1
                continue
            if len(self.seen) < self.max_keys:
                self.seen.add(key)
            elif len(self.seen) == self.max_keys:
                self.seen.add(None)  # warn once per value
                self.log("WARN", f"more than {self.max_keys:,} records share {self.cursor_field} = {value!r}; "
                                 "repeats of the later ones at a page boundary are not removed")
            out.append(record)
        return out
