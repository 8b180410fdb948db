"""Reading a stream's partitions: its router's partitions through the pool, with per-partition state.

A stream without ``partition`` has one partition, ``{}``, whose state is the stream state itself
(``{"cursor": ...}``); so has an ``async_job`` stream (the job is created anew each sync from
``since``). The other routers (:mod:`source_solidafy.rest.routers`) keep a state per partition
inside the stream state (:mod:`source_solidafy.rest.partition_state`), read concurrently: each
partition's batches arrive in order, and a state goes out only once every record it covers has.

``parent_stream`` children keep the parent's own stream state under ``"parent"``, updated once
every child partition of the sync succeeded, so the next sync reads only parents that changed
since, and with them only their children.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from source_solidafy.manifest.templates import build_context
from source_solidafy.rest.builders import FACTORY
from source_solidafy.rest.concurrency import Event, run_partitions
from source_solidafy.rest.partition_state import PartitionStates
from source_solidafy.rest.records import lower_bound
from source_solidafy.rest.routers import ReadParent, Router, RouterInputs, WholeStream
from source_solidafy.source import Batch, ReadContext

if TYPE_CHECKING:
    from source_solidafy.manifest.models import Stream
    from source_solidafy.rest.reader import StreamReader


def router_class(part: Any) -> type[Router]:
    """The router class registered for a ``partition:`` model (its ``key`` and ``track_done``)."""
    if part is None:
        return WholeStream
    core = FACTORY.part(type(part)).classes()[0]
    assert issubclass(core, Router)
    return core


def router_of_kind(kind: str) -> type[Router] | None:
    """The router class of a partition ``type`` name (plans and state merges name them so)."""
    for part in FACTORY.parts():
        core = part.core[0] if part.core else None
        if isinstance(core, type) and issubclass(core, Router) and kind in _type_names(part.model):
            return core
    return None


def _type_names(model: type) -> tuple[Any, ...]:
    fields = getattr(model, "model_fields", None)
    if fields is not None and "type" in fields:
        import typing

        return typing.get_args(fields["type"].annotation)
    return (getattr(model, "type", None),)


def build_router(spec: Stream, ctx: ReadContext, incoming: dict[str, Any] | None,
                 read_parent: ReadParent | None = None, streams: Collection[str] = ()) -> tuple[Router, PartitionStates]:
    """The router of ``spec.partition`` and the stream's partition states; it lists partitions, reads none."""
    part = spec.partition
    states = PartitionStates(spec.name, incoming, ctx, router_class(part).key)
    config_ctx = build_context(ctx.config)
    inputs = RouterInputs(spec.name, ctx, states, spec.cursor_field,
                          lambda cursor: lower_bound(spec.incremental, cursor, config_ctx), read_parent, streams)
    router = WholeStream(None, inputs) if part is None else FACTORY.build(part, inputs, Router)
    return router, states


def read_partitions(reader: StreamReader, incoming: dict[str, Any] | None, read_parent: ReadParent,
                    streams: Collection[str]) -> Iterator[Batch]:
    """The batches of ``reader.spec``, over all its partitions."""
    spec, ctx = reader.spec, reader.ctx
    router, states = build_router(spec, ctx, incoming, read_parent, streams)
    if isinstance(router, WholeStream):
        yield from router.read_whole(reader, states.incoming_cursor)
        return
    if ctx.unit is not None:  # read --plan: exactly the unit's partitions
        from source_solidafy.rest.plan import unit_router

        router = unit_router(router, ctx.unit)
    yield from PartitionedRead(router, reader, ctx, states).run()


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Work:
    key: str
    partition: dict[str, Any]
    cursor: Any


class PartitionedRead:
    """Drives a router's partitions through the pool and turns their cursors into stream state.

    A state is attached to a batch only once every record it covers is in this or an earlier batch
    (each partition's batches arrive in order, and its cursor moves only with its own batches).
    """

    def __init__(self, router: Router, reader: StreamReader, ctx: ReadContext, states: PartitionStates) -> None:
        self.router, self.reader, self.ctx, self.states = router, reader, ctx, states
        states.order = router.cursor_order()
        self.name = router.stream
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
        return self.router.read(self.reader, item.partition, item.cursor)

    def run(self) -> Iterator[Batch]:
        workers = self.ctx.partition_readers()
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
