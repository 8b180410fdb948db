"""A partitioned stream's state: one cursor per partition inside the stream state.

::

    {"partitions": [{"partition": {"region": "eu"}, "cursor": "2024-05-01T00:00:00Z"}, ...],
     "cursor": "2024-05-02T10:00:00Z"}          # the newest cursor of any partition

Entries are sorted by partition (``key``), so the final state does not depend on the concurrency. A
resumed sync continues each partition from its cursor; a router that tracks ``done`` (``date_range``)
marks a partition read to its end. Past ``max_partition_states`` partitions (``ReadContext.tuning``,
default 100,000) only the stream-level cursor is kept, with a WARN log line; every partition then
starts from that cursor. Other keys of the incoming state (a child's ``"parent"``) are kept in
``extra``; the router may replace them at the end (``Router.extra``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.rest.records import comparable
from source_solidafy.source import ReadContext


def partition_key(partition: dict[str, Any]) -> str:
    """A partition's identity across syncs: its JSON with sorted keys."""
    return jsoncodec.dumps(partition, option=orjson.OPT_SORT_KEYS, default=str).decode()


def newer(a: Any, b: Any, order: Callable[[Any], Any] | None = None) -> Any:
    """The later of two cursors of one stream (None is older than anything); with ``order``, compared by it."""
    if a is None:
        return b
    if b is None:
        return a
    if order is not None:
        ka, kb = order(a), order(b)
        return b if ka is None or (kb is not None and kb > ka) else a
    try:
        return b if b > a else a
    except TypeError:
        return b if comparable(b) > comparable(a) else a


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
        self.order: Callable[[Any], Any] | None = None  # the router's cursor order (Router.cursor_order())

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
        entry["cursor"] = newer(entry.get("cursor"), cursor, self.order)
        self.cursor = newer(self.cursor, cursor, self.order)

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
