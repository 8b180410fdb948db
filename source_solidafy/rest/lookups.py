"""``lookups``: requests made once per sync (per config) whose records templates and ``discover`` read.

``lookup.<name>`` in a stream's templates is a :class:`LookupValues` entry: the first read makes
the lookup's request(s) with the connector's client (its auth, retries, rate limit), pages through
it as a stream would, keeps the records its ``filter`` keeps, and every later read (any stream,
any thread) gets the same list from the runtime's :class:`LookupCache`. A lookup that fails fails
the stream that read it, with the lookup named. Its records are held in memory, so a lookup is
capped at :data:`MAX_RECORDS` (a property list, a describe: hundreds to a few thousand).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import StreamError
from source_solidafy.manifest.models import SchemaFields, Stream
from source_solidafy.rest.paths import compile_path
from source_solidafy.source import ReadContext

if TYPE_CHECKING:
    from source_solidafy.rest.runtime import ConnectorRuntime

MAX_RECORDS = 100_000
DEFAULT_FIELD = {"type": ["null", "string"]}


class LookupCache:
    """The records of each lookup, read once per runtime (one config); thread-safe."""

    def __init__(self) -> None:
        self._records: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def records(self, name: str, fetch: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        with self._lock:  # the other streams wait for the one read
            if name not in self._records:
                self._records[name] = fetch()
            return self._records[name]


def read_lookup(rt: ConnectorRuntime, name: str, ctx: ReadContext) -> list[dict[str, Any]]:
    """Every record of lookup ``name`` (all its pages), read as a stream of its own."""
    from source_solidafy.rest.reader import StreamReader

    spec = rt.manifest.lookups[name]
    stream = Stream.model_construct(name=f"lookups.{name}", request=spec.request, decoder=spec.decoder,
                                    pagination=spec.pagination, filter=spec.filter)
    lookup_ctx = ctx.derive(sync_mode="full_refresh")
    out: list[dict[str, Any]] = []
    try:
        for batch in StreamReader(rt, stream, lookup_ctx, lookups=False).read({}, None):
            out.extend(batch.records)  # a REST read: lists of dicts
            if len(out) > MAX_RECORDS:
                raise StreamError(f"more than {MAX_RECORDS:,} records; a lookup is held in memory (narrow its "
                                  "request or filter)")
    except StreamError as exc:  # said by the stream that read it: name the lookup
        text = str(exc).removeprefix(f"stream '{stream.name}': ")
        raise StreamError(f"lookup '{name}' (lookups.{name}): {text}") from None
    return out


class LookupValues(Mapping[str, Any]):
    """``lookup`` in the templates of one stream read: ``lookup.<name>`` reads the lookup on first use."""

    def __init__(self, rt: ConnectorRuntime, ctx: ReadContext) -> None:
        self.rt, self.ctx = rt, ctx
        self._values: dict[str, list[Any]] = {}

    def records(self, name: str) -> list[dict[str, Any]]:
        return self.rt.lookups.records(name, lambda: read_lookup(self.rt, name, self.ctx))

    def __getitem__(self, name: str) -> list[Any]:
        spec = self.rt.manifest.lookups[name]  # KeyError: undefined in the template
        found = self._values.get(name)
        if found is None:
            records = self.records(name)
            if spec.value:
                path = compile_path(spec.value)
                found = [v for v in (path.get(r) for r in records) if v is not None]
            else:
                found = records
            self._values[name] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.rt.manifest.lookups)

    def __len__(self) -> int:
        return len(self.rt.manifest.lookups)


def add_schema_fields(schema: dict[str, Any], spec: SchemaFields, records: list[dict[str, Any]]) -> dict[str, Any]:
    """``schema`` with a property per lookup record under ``spec.under``; declared ones stay as they are."""
    node = schema
    for part in (spec.under.split(".") if spec.under else []):
        props = node.setdefault("properties", {})
        node = props.setdefault(part, {"type": ["null", "object"], "properties": {}})
    props = node.setdefault("properties", {})
    name_path = compile_path(spec.name)
    type_path = compile_path(spec.type) if spec.type else None
    for record in records:
        name = name_path.get(record)
        if not isinstance(name, str) or not name or name in props:
            continue
        kind = type_path.get(record) if type_path is not None else None
        props[name] = dict(spec.types.get(str(kind), DEFAULT_FIELD))
    return schema
