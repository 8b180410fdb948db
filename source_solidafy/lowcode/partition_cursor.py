"""A DatetimeBasedCursor on a partitioned stream: airbyte-cdk 7's ``ConcurrentPerPartitionCursor``.

Each partition of the stream's router (a parent record's value, or a ListPartitionRouter value) has a
cursor of its own, whose slices are the CDK's DatetimeBasedCursor slices (cursor.py) from that
partition's state; a partition read for the first time starts at the global cursor less the incoming
``lookback_window`` (seconds), or at ``start_datetime``. A partition seen twice in one sync is read once
(the CDK logs "Partition duplication detected" and skips it). The state is the CDK's::

    {"use_global_cursor": false,
     "states": [{"partition": {"project_id": "p1", "parent_slice": {}}, "cursor": {"updated_at": "..."}}],
     "state": {"updated_at": "..."},      # the newest cursor of any record or finished partition
     "lookback_window": 1,                # the last sync's duration in seconds (rounded up)
     "parent_state": {"projects": {"updated_at": "..."}}}   # with incremental_dependency; {} without

``states`` lists the incoming partitions first, then new ones in the order the router gave them.
``state`` and ``lookback_window`` move only at the end of a sync that read records with a cursor, and
``parent_state`` only once every partition is read, as in the CDK. With ``incremental_dependency`` the
parent is read from ``parent_state`` (else from ``state``, as the CDK falls back), so only parents
updated since give partitions. Inside our engine the :class:`PartitionTrack` travels under the stream
state's ``"airbyte"`` key; :meth:`PartitionTrack.cdk_state` turns an engine state into the CDK's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import orjson

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.lowcode.cursor import (
    STATE_KEY,
    SYNC_BOUNDS,
    DatetimeSlices,
    cdk_cursor,
    cdk_state,
    slices,
    sync_bounds,
)
from source_solidafy.lowcode.parents import EXTRA_KEY, REPEAT_KEY, AirbyteParent
from source_solidafy.manifest.fields import Strict
from source_solidafy.manifest.partition_parts import ListPartition
from source_solidafy.rest.builders import FACTORY
from source_solidafy.rest.routers import Router, RouterInputs

NO_CURSOR_KEY = "__ab_no_cursor_state_message"


class PerPartitionCursor(Strict):
    """The translated pair (partition router, DatetimeBasedCursor): a stream's ``partition``."""

    outer: AirbyteParent | ListPartition
    cursor: DatetimeSlices
    parent_name: str | None = None  # the parent's name in the CDK's parent_state (a hidden parent's real name)
    parent_cursor: DatetimeSlices | None = None  # with incremental_dependency: the parent's cursor
    in_list: bool = False  # partition_router given as a list: the CDK's product of routers keeps no parent_state
    global_cursor: bool = False  # global_substream_cursor: one cursor for all partitions (use_global_cursor)
    type: Literal["airbyte_per_partition"] = "airbyte_per_partition"


def _key(partition: Mapping[str, Any]) -> str:
    """The CDK's PerPartitionKeySerializer: JSON with sorted keys."""
    return jsoncodec.dumps(partition, option=orjson.OPT_SORT_KEYS, default=str).decode()


class PartitionTrack:
    """One sync of a per-partition cursor stream: the incoming CDK state and the partitions met."""

    def __init__(self, spec: PerPartitionCursor, config: Mapping[str, Any], incoming: Mapping[str, Any] | None) -> None:
        self.spec, self.config = spec, config
        state = {k: v for k, v in (incoming or {}).items() if k != NO_CURSOR_KEY}
        self.incoming = state
        self.cursors: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # key -> (partition, starting state)
        self.slices: dict[str, int] = {}  # key -> slices this sync
        self.global_cursor: dict[str, Any] | None = None
        self.lookback = 0
        self.started: float | None = None
        self.use_global = spec.global_cursor
        field = spec.cursor.cursor_field
        if "states" not in state and "state" not in state:
            if field in state:
                self.global_cursor = {field: self._normal(state[field])}
            return
        self.use_global = bool(state.get("use_global_cursor", False))  # the CDK: the state's word wins
        self.lookback = int(state.get("lookback_window") or 0)
        for entry in state.get("states") or []:
            self.cursors[_key(entry["partition"])] = (dict(entry["partition"]), dict(entry.get("cursor") or {}))
        glob = state.get("state")
        if isinstance(glob, dict) and field in glob:
            self.global_cursor = {field: self._normal(glob[field])}

    def _normal(self, value: Any) -> str:
        return self.spec.cursor.fmt(self.spec.cursor.parse(value))

    # -- reading -------------------------------------------------------------------------------------

    def cdk_partition(self, partition: Mapping[str, Any]) -> dict[str, Any]:
        cursor = self.spec.cursor
        out = {k: v for k, v in partition.items()
               if k not in (cursor.start_field, cursor.end_field, SYNC_BOUNDS, EXTRA_KEY)}
        if isinstance(self.spec.outer, AirbyteParent):
            out["parent_slice"] = {}  # the parent's own partition: none (a partitioned parent fails at load)
        return out

    def begin(self, partition: dict[str, Any]) -> dict[str, Any] | None:
        """The starting state of a partition met now; None when it was met before in this sync."""
        part = self.cdk_partition(partition)
        key = _key(part)
        if key in self.slices:
            return None
        self.slices[key] = 0
        if key not in self.cursors:
            start: dict[str, Any] = {}
            if self.global_cursor:
                start = dict(self.global_cursor)
                if self.lookback:
                    moment = self.spec.cursor.parse(start[self.spec.cursor.cursor_field])
                    start[self.spec.cursor.cursor_field] = self.spec.cursor.fmt(moment - _seconds(self.lookback))
            self.cursors[key] = (part, start)
        return self.cursors[key][1]

    def parent_incoming(self) -> dict[str, Any] | None:
        """The parent's CDK state with incremental_dependency (the CDK's get_parent_state, then its fallbacks)."""
        if self.spec.parent_cursor is None or not self.incoming:
            return None
        parents = self.incoming.get("parent_state")
        if isinstance(parents, dict) and self.spec.parent_name in parents:
            return dict(parents[self.spec.parent_name])
        if isinstance(self.incoming.get("state"), dict):
            return dict(self.incoming["state"])
        values = list(self.incoming.values())
        if len(values) == 1 and isinstance(values[0], (str, int, float)) and not isinstance(values[0], bool):
            return {self.spec.parent_cursor.cursor_field: values[0]}
        return None

    # -- state ---------------------------------------------------------------------------------------

    def cdk_state(self, engine: Mapping[str, Any], final: bool) -> dict[str, Any]:
        """The CDK's per-partition state for our engine's state ``engine`` (``final``: the sync ended well).
        With ``use_global_cursor`` there are no ``states`` and the global cursor moves with records only."""
        out: dict[str, Any] = {"use_global_cursor": self.use_global}
        newest, synced = self._partition_states(engine, out)
        glob, lookback = self.global_cursor, self.lookback
        if final and synced:
            glob = {self.spec.cursor.cursor_field: newest}
            lookback = math.ceil(time.perf_counter() - (self.started or time.perf_counter()))
        if glob:
            out["state"] = glob
        out["lookback_window"] = lookback
        parents = self._parent_state(engine, final)
        if parents is not None:
            out["parent_state"] = parents
        return out

    def _partition_states(self, engine: Mapping[str, Any], out: dict[str, Any]) -> tuple[str | None, bool]:
        """Each partition's cursor state into ``out["states"]`` (unless global); the newest cursor (records',
        and per partition a finished partition's state, compared as the CDK compares them: formatted text)
        and whether any record had a cursor."""
        cursor = self.spec.cursor
        groups: dict[str, list[dict[str, Any]]] = {}
        for entry in engine.get("partitions") or []:
            groups.setdefault(_key(self.cdk_partition(entry["partition"])), []).append(entry)
        if not self.use_global:
            out["states"] = []
        newest = self.global_cursor[cursor.cursor_field] if self.global_cursor else None
        synced = False
        for key, (part, start) in self.cursors.items():
            entries = groups.get(key, [])
            values = [self._normal(e["cursor"]) for e in entries if e.get("cursor") is not None]
            synced = synced or bool(values)
            if not self.use_global:
                state = cdk_cursor(cursor, self.config, start, entries)
                out["states"].append({"partition": part, "cursor": state})
                if key in self.slices and len([e for e in entries if e.get("done")]) == self.slices[key]:
                    values.append(state[cursor.cursor_field])
            for value in values:
                newest = value if newest is None or newest < value else newest
        return newest, synced

    def _parent_state(self, engine: Mapping[str, Any], final: bool) -> dict[str, Any] | None:
        if not isinstance(self.spec.outer, AirbyteParent) or self.spec.in_list:
            return None  # a ListPartitionRouter has no parent; a product of routers keeps none
        incoming = self.incoming.get("parent_state") or None
        if not final:
            return incoming
        if self.spec.parent_cursor is None or self.spec.parent_name is None:
            return {}
        parent = engine.get("parent")
        if parent is None:
            return incoming
        return {self.spec.parent_name: cdk_state(self.spec.parent_cursor, self.config, parent)}


def _seconds(n: int) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=n)


class PerPartitionRouter(Router):
    """The slices of each partition's cursor, each a partition ``{field: value, start_time, end_time}``."""

    part: PerPartitionCursor
    track_done = True

    def __init__(self, part: PerPartitionCursor, inputs: RouterInputs) -> None:
        super().__init__(part, inputs)
        self._outer: Router | None = None
        track = self.states.extra.get(STATE_KEY)
        self._track = track if isinstance(track, PartitionTrack) else None  # None: a check's read, no state

    def cursor_order(self) -> Callable[[Any], Any] | None:
        return self.part.cursor.order

    @property
    def track(self) -> PartitionTrack:
        if self._track is None:
            self._track = PartitionTrack(self.part, self.ctx.config, None)
        return self._track

    @property
    def outer(self) -> Router:
        """The stream's partition router (its parent records or list values)."""
        if self._outer is None:
            self._outer = FACTORY.build(self.part.outer, self.inputs, Router)
        return self._outer

    def partitions(self) -> Iterator[dict[str, Any]]:
        spec = self.part.cursor
        self.track.started = time.perf_counter()
        for partition in self.outer.partitions():
            partition = {k: v for k, v in partition.items() if k != REPEAT_KEY}
            start = self.track.begin(partition)
            if start is None:
                continue  # a partition met twice: the CDK reads it once
            try:
                windows = list(slices(spec, self.ctx.config, start))
            except (ValueError, TypeError, OverflowError) as exc:
                raise StreamError(f"stream '{self.stream}': incremental_sync: {exc}") from None
            bounds = sync_bounds(spec, self.ctx.config, start, windows)  # is_client_side_incremental: this partition's cursor's
            for lo, hi in windows:
                self.track.slices[_key(self.track.cdk_partition(partition))] += 1
                part = {**partition, spec.start_field: spec.fmt(lo), spec.end_field: spec.fmt(hi)}
                if bounds is not None:
                    part[SYNC_BOUNDS] = bounds
                yield part

    def extra(self, complete: bool) -> dict[str, Any]:
        return self.outer.extra(complete)


FACTORY.register(PerPartitionCursor, PerPartitionRouter, slot="partition")(PerPartitionRouter)
