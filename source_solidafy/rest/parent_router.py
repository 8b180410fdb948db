"""The ``parent_stream`` router: one partition per distinct ``parent_field`` value of a parent's records.

    partition: {type: parent_stream, stream: customers, parent_field: id, field: customer_id}
    partition: {type: parent_stream, stream: repos, parent_fields: {owner: owner.login, repo: name}}

With ``parent_fields`` a partition holds every named value, and is one per distinct combination.

The parent is read through the same machinery as any stream (its pagination, partitions, state),
with the ``read_parent`` its :class:`~source_solidafy.rest.routers.RouterInputs` gives, and shared
with the parent stream's own output in this sync (see :mod:`source_solidafy.rest.concurrency`). A
child with a ``cursor_field`` keeps the parent's own state under ``"parent"``, updated once every
child partition of the sync succeeded, so the next sync reads only parents that changed since.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from source_solidafy import jsoncodec
from source_solidafy.errors import StreamError
from source_solidafy.rest.paths import compile_path
from source_solidafy.rest.routers import Router, RouterInputs
from source_solidafy.source import Batch

_GONE = object()  # a path that selects nothing


def _marker(values: dict[str, Any]) -> str:
    """One string per distinct set of values (a lone string value is itself)."""
    if len(values) == 1:
        (value,) = values.values()
        if isinstance(value, str):
            return value
    return jsoncodec.dumps(list(values.values())).decode()


class ParentSpec(Protocol):
    """What a parent router reads of its model (``ParentStreamPartition``, lowcode's ``AirbyteParent``)."""

    @property
    def stream(self) -> str: ...

    @property
    def parent_fields(self) -> Mapping[str, str]:
        """Partition name -> path in the parent's records."""
        ...


class ParentRouter(Router):
    """One partition per distinct set of ``parent_fields`` values (none null or empty), in the order read."""

    part: ParentSpec

    def __init__(self, part: ParentSpec, inputs: RouterInputs) -> None:
        super().__init__(part, inputs)
        self.paths = [(name, path, compile_path(path)) for name, path in part.parent_fields.items()]
        self.parent_state: dict[str, Any] | None = None
        self.complete = False
        self.parents = 0  # parent records read
        self.found = False  # some parent record has every parent field (even null)
        self.sample: dict[str, Any] | None = None  # the first parent record, as fetched
        self._seen: set[str] = set()

    def partitions(self) -> Iterator[dict[str, Any]]:
        for values, record in self._parent_values():
            partition = self.partition_of(values, record)
            if partition is not None:
                yield partition

    def partition_of(self, values: dict[str, Any], record: dict[str, Any]) -> dict[str, Any] | None:
        """The partition of one parent record's values: each distinct set with no null or empty value, once
        (``record``: the parent record, or its projection to the children's paths)."""
        if any(v is None or v == "" for v in values.values()):
            return None
        marker = _marker(values)
        if marker in self._seen:
            return None
        self._seen.add(marker)
        return values

    def _parent_values(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """Each parent record's values by partition name, and the record, in the order read (none for a
        record lacking one)."""
        for projected, batch in self._parent_batches():
            self.parents += len(batch)
            for rec in batch.records:
                self.sample = self.sample or (None if projected else rec)
                values = {name: rec.get(path, _GONE) if projected else compiled.get(rec, _GONE)
                          for name, path, compiled in self.paths}
                if any(v is _GONE for v in values.values()):
                    continue
                self.found = True
                yield values, rec
            if batch.state is not None:
                self.parent_state = batch.state
        if self.parents and not self.found:
            raise StreamError(self._field_missing())
        self.complete = True

    def _field_missing(self) -> str:
        """No parent record has every parent field: zero partitions would pass for an empty child."""
        parent, sample = self.part.stream, self.sample or {}
        name, path, compiled = next((p for p in self.paths if p[2].get(sample, _GONE) is _GONE), self.paths[0])
        key = "parent_field" if len(self.paths) == 1 else f"parent_fields.{name}"
        why = compiled.missing(sample, root=f"the first '{parent}' record")
        return (f"stream '{self.stream}': partition.{key} '{path}' is in none of the {self.parents} "
                f"records of parent stream '{parent}': {why}; no partition was read")

    def _parent_batches(self) -> Iterator[tuple[bool, Batch]]:
        """The parent's batches, and whether their records are projected to the children's fields."""
        parent, ctx, read = self.part.stream, self.ctx, self.inputs.read_parent
        if parent == self.stream:
            raise StreamError(f"stream '{parent}': a parent_stream partition cannot use the stream itself")
        if parent not in self.inputs.streams or read is None:
            raise StreamError(f"stream '{self.stream}': parent stream '{parent}' is not defined")
        # A child without a cursor is a full snapshot: reading only changed parents would lose the
        # children of the others (a card attached today to a customer created last year).
        mode = ctx.sync_mode if self.inputs.cursor_field else "full_refresh"
        state = self.states.extra.get("parent") if mode != "full_refresh" else None
        pctx = ctx.derive(state=state, sync_mode=mode)
        if ctx.max_records is not None or not ctx.services.selects(parent):  # may stop early, or none to share with
            for b in read(parent, pctx):
                yield False, b
            return
        spool, fetch = ctx.services.shared_reads().open(parent, state, projected=False)
        batches = spool.feed(read(parent, spool.context(pctx)), None, self.stream) if fetch \
            else spool.follow(ctx)
        for b in batches:
            self.sample = self.sample or spool.sample
            yield spool.projected, b

    def extra(self, complete: bool) -> dict[str, Any]:
        if not self.inputs.cursor_field:
            return {}
        if complete and self.complete and self.parent_state is not None:
            return {"parent": self.parent_state}
        return {}
