"""Airbyte's DatetimeBasedCursor, with airbyte-cdk 7's slices and state, as one of our partition routers.

Slices (the CDK's ``ConcurrentCursor``): the sync starts at ``start_datetime`` or at the incoming state's
cursor value when later; the first slice starts ``lookback_window`` before that (never before
``start_datetime``). Slices are ``step`` long: ``[lower, lower + step - cursor_granularity]``, the last
one ending at ``end_datetime`` (default now) itself; without ``step`` there is one slice. Each slice is a
partition ``{start_time: ..., end_time: ...}`` (``partition_field_start``/``_end``) formatted with
``datetime_format``; ``stream_interval`` / ``stream_slice`` read it, and ``start_time_option`` /
``end_time_option`` send it. Records are not filtered by the cursor unless ``is_client_side_incremental``
or ``is_data_feed`` (then each partition carries the sync's bounds, ``SYNC_BOUNDS``, for the filter step
in transforms.py; a data feed's paging also stops after a page whose last record is out of them).
``clamping`` moves the slice boundaries (clamping.py).

State is the CDK's: ``{cursor_field: value}``, where value is the newest record cursor (compared as
parsed datetimes, ``DatetimeSlices.order``: a value no format reads is not a cursor) of the first
run of finished slices, contiguous from the start (or the sync start when they hold no records), in
``datetime_format``. Inside our engine the incoming CDK state travels under ``"airbyte"`` and each
slice's newest cursor and ``done`` flag in ``"partitions"``; :func:`cdk_state` turns that back into
the CDK's shape.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from source_solidafy.errors import ConfigError, StreamError
from source_solidafy.lowcode.clamping import Clamp, clamp_of
from source_solidafy.lowcode.durations import Duration, add, parse_duration
from source_solidafy.lowcode.interpolation import Interpolated, datetime_parser, format_as, parse_datetime
from source_solidafy.manifest.fields import Strict, new_list
from source_solidafy.manifest.pyd import Field
from source_solidafy.rest.builders import FACTORY
from source_solidafy.rest.routers import Router

STATE_KEY = "airbyte"
SYNC_BOUNDS = "__ab_sync"  # is_client_side_incremental: [lowest cursor to keep, highest or None = now] (ISO 8601)
_DEFAULT_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


class MinMax(Strict):
    """A MinMaxDatetime: ``datetime`` parsed with ``datetime_format``, clipped by min/max."""

    datetime: Interpolated
    datetime_format: str = ""
    min_datetime: Interpolated | None = None
    max_datetime: Interpolated | None = None

    def value(self, config: Mapping[str, Any], fallback_format: str) -> dt.datetime:
        fmt = self.datetime_format or fallback_format or _DEFAULT_FORMAT
        moment = parse_datetime(str(self.datetime.eval(config)), fmt)
        for bound, pick in ((self.min_datetime, max), (self.max_datetime, min)):
            if bound is not None:
                text = str(bound.eval(config))
                if text:
                    moment = pick(moment, parse_datetime(text, fmt))
        return moment


class DatetimeSlices(Strict):
    """The translated DatetimeBasedCursor: a stream's ``partition`` (registered with the factory)."""

    cursor_field: str
    datetime_format: str
    start: MinMax
    end: MinMax | None = None
    step: str | None = None
    granularity: str | None = None
    lookback: str | None = None
    step_template: Interpolated | None = None  # a step reading the config: evaluated with it, as the CDK does
    lookback_template: Interpolated | None = None  # the same for lookback_window
    cursor_formats: list[str] = Field(default_factory=new_list)
    start_field: str = "start_time"
    end_field: str = "end_time"
    compare_strictly: bool = False
    client_side: bool = False  # is_client_side_incremental: partitions carry the sync's bounds (SYNC_BOUNDS)
    data_feed: bool = False  # is_data_feed: records out of the bounds dropped, paging stops at one (transforms.py)
    clamp_target: Interpolated | None = None  # clamping.target (DAY, WEEK, MONTH; a template of the config)
    clamp_weekday: str | None = None  # clamping.target_details.weekday
    type: Literal["airbyte_datetime"] = "airbyte_datetime"

    def clamping(self, config: Mapping[str, Any]) -> Clamp | None:
        if self.clamp_target is None:
            return None
        return clamp_of(str(self.clamp_target.eval(config)), self.clamp_weekday)

    def end_value(self, config: Mapping[str, Any], now: dt.datetime | None = None) -> dt.datetime:
        """The CDK's end provider: ``end_datetime`` or now, with clamping its floor less the granularity."""
        end = self.end.value(config, self.datetime_format) if self.end is not None else \
            (now or dt.datetime.now(dt.timezone.utc))
        clamp = self.clamping(config)
        return clamp.end(end, self.gran()) if clamp is not None else end

    def parse(self, value: Any) -> dt.datetime:
        moment = self.order(value)
        if moment is None:
            raise ValueError(f"no format in {[*self.cursor_formats, self.datetime_format]} matches {value!r}")
        return moment

    def order(self, value: Any) -> dt.datetime | None:
        """A record's cursor as the CDK compares it (parsed); None when no format reads it (not a cursor)."""
        for parse in _parsers(*self.cursor_formats, self.datetime_format):
            try:
                return parse(value)
            except (ValueError, TypeError, OverflowError):
                continue
        return None

    def fmt(self, moment: dt.datetime) -> str:
        return format_as(moment, self.datetime_format)

    def duration(self, name: Literal["step", "lookback"], config: Mapping[str, Any]) -> Any:
        """``step`` or ``lookback_window`` as the CDK builds its cursor: a template rendered with the config
        (rendering empty: none), parsed as an ISO 8601 duration (ConfigError naming its place when it is not one)."""
        template = self.step_template if name == "step" else self.lookback_template
        value = (self.step if name == "step" else self.lookback) if template is None else template.eval(config)
        try:
            return None if value in (None, "") else parse_duration(str(value))
        except ValueError as exc:  # a static one was checked at load time: a template rendered with this config
            where = template.where if template is not None and template.where else name
            raise ConfigError(f"{where}: {exc} (rendered with the config)") from None

    def gran(self) -> dt.timedelta | None:
        return _delta(self.granularity) if self.granularity else None

    def sync_start(self, config: Mapping[str, Any], legacy: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
        """(start_datetime, where this sync starts: the incoming cursor when later)."""
        start = self.start.value(config, self.datetime_format)
        if self.cursor_field in legacy:
            previous = self.parse(legacy[self.cursor_field])
            if previous >= start:
                return start, previous
        return start, start


@functools.lru_cache(maxsize=64)
def _parsers(*formats: str) -> tuple[Callable[[Any], dt.datetime], ...]:
    return tuple(datetime_parser(fmt) for fmt in formats)


def _delta(text: str) -> dt.timedelta:
    value = parse_duration(text)
    if isinstance(value, Duration):
        raise ValueError(f"a granularity in months or years is not supported: {text!r}")
    return value


def slices(spec: DatetimeSlices, config: Mapping[str, Any], legacy: Mapping[str, Any],
           now: dt.datetime | None = None) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The CDK's slices for a stream whose state is ``legacy`` (``{cursor_field: value}`` or empty):
    ConcurrentCursor._split_per_slice_range from the sync start (less the lookback) to the end."""
    start, sync_start = spec.sync_start(config, legacy)
    upper = spec.end_value(config, now)
    lookback = spec.duration("lookback", config)
    lower = sync_start - lookback if lookback else sync_start
    gran, clamp = spec.gran(), spec.clamping(config)
    step = spec.duration("step", config)

    def clamped(moment: dt.datetime) -> dt.datetime:
        return clamp.clamp(moment) if clamp is not None else moment

    if lower > upper or (lower == upper and not gran) or upper < start:
        return
    lower = clamped(max(lower, start))
    if lower > upper or (lower == upper and spec.compare_strictly):
        return
    if step is None or add(lower, step) >= upper:
        yield lower, (upper if gran else clamped(upper))
        return
    current = lower
    while True:
        bound = min(add(current, step), upper)
        high = clamped(bound) if bound != upper else bound
        reached = bound >= upper or high == upper
        low = clamped(current)
        if low >= high:
            return
        yield low, (high - gran if gran and not reached else high)
        current = high
        if reached:
            return


def sync_bounds(spec: DatetimeSlices, config: Mapping[str, Any], legacy: Mapping[str, Any],
                windows: list[tuple[dt.datetime, dt.datetime]]) -> list[str | None] | None:
    """With ``is_client_side_incremental``: [the lowest cursor kept, the highest or None for now] of the
    cursor whose state is ``legacy`` and slices ``windows`` (the CDK's ``_lowest_cursor_value_to_sync``:
    the sync start less the lookback, never before ``start_datetime``; and its end provider)."""
    if not (windows and (spec.client_side or spec.data_feed)):
        return None
    start, sync_start = spec.sync_start(config, legacy)
    lookback = spec.duration("lookback", config)
    lowest = max(sync_start - lookback, start) if lookback else sync_start
    fixed = spec.end is not None or spec.clamp_target is not None
    return [lowest.isoformat(), spec.end_value(config).isoformat() if fixed else None]


class DatetimeRouter(Router):
    """One partition per CDK slice; finished slices are marked ``done`` for :func:`cdk_state`."""

    part: DatetimeSlices
    track_done = True

    def cursor_order(self) -> Callable[[Any], Any] | None:
        return self.part.order

    def partitions(self) -> Iterator[dict[str, Any]]:
        spec = self.part
        legacy = self.states.extra.get(STATE_KEY) or {}
        try:
            windows = list(slices(spec, self.ctx.config, legacy))
        except (ValueError, TypeError, OverflowError) as exc:
            raise StreamError(f"stream '{self.stream}': incremental_sync: {exc}") from None
        bounds = sync_bounds(spec, self.ctx.config, legacy, windows)
        for lo, hi in windows:
            part: dict[str, Any] = {spec.start_field: spec.fmt(lo), spec.end_field: spec.fmt(hi)}
            if bounds is not None:
                part[SYNC_BOUNDS] = bounds
            yield part


FACTORY.register(DatetimeSlices, DatetimeRouter, slot="partition")(DatetimeRouter)


def _merge(intervals: list[dict[str, Any]], step: dt.timedelta) -> list[dict[str, Any]]:
    """The CDK's merge_intervals: sort, then join intervals that touch within one ``step``."""
    ordered = sorted(intervals, key=lambda i: (i["start"], i["end"]))
    merged = [dict(ordered[0])]
    for cur in ordered[1:]:
        last = merged[-1]
        if last["end"] + step >= cur["start"]:
            last["end"] = max(last["end"], cur["end"])
            a, b = cur.get("recent"), last.get("recent")
            last["recent"] = max(a, b) if a and b else a or b
        else:
            merged.append(dict(cur))
    return merged


def cdk_state(spec: DatetimeSlices, config: Mapping[str, Any], engine_state: Mapping[str, Any]) -> dict[str, Any]:
    """Our engine's state of a DatetimeBasedCursor stream in the CDK's shape ``{cursor_field: value}``."""
    return cdk_cursor(spec, config, engine_state.get(STATE_KEY) or {}, engine_state.get("partitions") or [])


def cdk_cursor(spec: DatetimeSlices, config: Mapping[str, Any], legacy: Mapping[str, Any],
               entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The CDK's ``{cursor_field: value}`` of a cursor that started at ``legacy`` and read the slices ``entries``."""
    out = dict(legacy)
    start, sync_start = spec.sync_start(config, out)
    intervals: list[dict[str, Any]] = [{"start": start, "end": sync_start, "recent": sync_start}]
    for entry in entries:
        if not entry.get("done"):
            continue
        part = entry.get("partition") or {}
        cursor = entry.get("cursor")
        intervals.append({"start": spec.parse(part[spec.start_field]), "end": spec.parse(part[spec.end_field]),
                          "recent": spec.parse(cursor) if cursor is not None else None})
    first = _merge(intervals, spec.gran() or dt.timedelta(milliseconds=1))[0]
    out[spec.cursor_field] = spec.fmt(first.get("recent") or first["start"])
    return out
