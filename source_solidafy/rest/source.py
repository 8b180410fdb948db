"""DeclarativeSource: a REST connector from a validated manifest (spec, check, discover, read).

One :class:`~source_solidafy.rest.runtime.ConnectorRuntime` (HTTP client + auth) per config, shared
by every stream and partition. A stream is read by a :class:`~source_solidafy.rest.reader.StreamReader`
over its partitions (:mod:`source_solidafy.rest.partitions`); a parent of other streams is read once
per sync and shared with its children (``read_stream``), each child's router reading it through
``read_plain``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.config_updates import ConfigChanges
from source_solidafy.errors import ConfigError, HttpError
from source_solidafy.manifest.auth_models import KEYED_AUTH_TYPES
from source_solidafy.manifest.models import Manifest, ParentStreamPartition, Stream
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest import builders
from source_solidafy.rest.partitions import read_partitions
from source_solidafy.rest.paths import compile_path
from source_solidafy.rest.reader import StreamReader
from source_solidafy.rest.request import RequestInputs
from source_solidafy.rest.runtime import ConnectorRuntime
from source_solidafy.source import Batch, CheckResult, ConfigField, ReadContext, Source, StreamInfo


class DeclarativeSource(Source):
    """A REST connector described by a YAML manifest."""

    planner = "rest"  # units of list values, date windows and parent keys (rest/plan.py)

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.name = manifest.name
        self.description = manifest.description
        self.category = manifest.category
        self.aliases = tuple(manifest.aliases)
        self.documentation_url = manifest.documentation_url
        self._lock = threading.Lock()
        self._runtimes: dict[bytes, ConnectorRuntime] = {}
        self._schemas: dict[str, dict[str, Any] | None] = {}  # output schemas, made once

    # -- config ------------------------------------------------------------------------------------

    def config_fields(self) -> list[ConfigField]:
        return self.manifest.config_fields()

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        config = super().validate_config(config)
        self.manifest.require_config(config)
        block = self.manifest.auth_for(config)
        if block.type in KEYED_AUTH_TYPES:  # a trial build (no request): a key that does not fit is a config error now
            builders.auth(block, builders.AuthInputs.of(config))
        return config

    def runtime(self, config: dict[str, Any]) -> ConnectorRuntime:
        key = jsoncodec.dumps(config, option=orjson.OPT_SORT_KEYS, default=str)
        with self._lock:
            rt = self._runtimes.get(key)
            if rt is None:
                guard = self.confinement.connect_guard() if self.confinement is not None else None
                rt = self._runtimes[key] = ConnectorRuntime(self.manifest, config, self.secrets(config), guard,
                                                    self.rate_limit_rps)
            return rt

    def config_changes(self, config: dict[str, Any]) -> ConfigChanges:
        return self.runtime(config).changes

    def declared_rate_limit(self) -> float | None:
        return self.manifest.http.rate_limit_rps

    def close(self) -> None:
        with self._lock:
            for rt in self._runtimes.values():
                rt.client.close()
            self._runtimes.clear()

    # -- metadata ----------------------------------------------------------------------------------

    def stream_names(self, config: dict[str, Any] | None = None) -> list[str]:
        return self.manifest.stream_names()

    def declared_schema(self, stream: str) -> dict[str, Any] | None:
        """The stream's ``schema`` as its ``transform`` steps emit the records (flattened, renamed, ...)."""
        if stream not in self._schemas:
            self._schemas[stream] = builders.output_schema(self.manifest.stream(stream))
        return self._schemas[stream]

    def drift_schema(self, stream: str) -> dict[str, Any] | None:
        """The declared output schema, unless ``schema_fields`` completes it from a lookup at discover."""
        return None if self.manifest.stream(stream).schema_fields is not None else self.declared_schema(stream)

    def discover(self, config: dict[str, Any], sample: int = 0) -> list[StreamInfo]:
        return [self._stream_info(s, config, sample) for s in self.manifest.streams]

    def _stream_info(self, stream: Stream, config: dict[str, Any], sample: int) -> StreamInfo:
        from source_solidafy.rest.infer import ensure_fields, infer_schema  # discover only

        schema = self._schema_with_lookups(stream, config)
        if schema is None:
            schema = infer_schema(self._sample(stream, config, sample)) if sample > 0 else {
                "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                "properties": {}, "additionalProperties": True}
        schema = orjson.loads(orjson.dumps(schema))
        pk = [k.split(".") for k in stream.primary_key]
        cursor = stream.cursor_field.split(".") if stream.cursor_field else None
        ensure_fields(schema, pk + ([cursor] if cursor else []))
        return StreamInfo(stream.name, schema, pk, cursor, stream.description)

    def _schema_with_lookups(self, stream: Stream, config: dict[str, Any]) -> dict[str, Any] | None:
        """The output schema; with ``schema_fields``, a field for each record of its lookup (read now)."""
        fields = stream.schema_fields
        if fields is None or stream.json_schema is None:
            return self.declared_schema(stream.name)
        from source_solidafy.rest.lookups import LookupValues, add_schema_fields

        rt = self.runtime(config)
        rt.base_url()
        records = LookupValues(rt, ReadContext(config=config)).records(fields.lookup)
        declared = add_schema_fields(orjson.loads(orjson.dumps(stream.json_schema)), fields, records)
        return builders.output_schema(stream, declared)

    def _sample(self, stream: Stream, config: dict[str, Any], n: int) -> list[dict[str, Any]]:
        ctx = ReadContext(config=config, max_records=n, sync_mode="full_refresh")
        out: list[dict[str, Any]] = []
        for batch in self.read_stream(stream.name, ctx):
            out.extend(batch.records)
        return out[:n]

    # -- check -------------------------------------------------------------------------------------

    def check(self, config: dict[str, Any]) -> CheckResult:
        rt = self.runtime(config)
        try:
            rt.base_url()
            if self.manifest.check is not None:
                ctx = build_context(config, auth=rt.auth_info())
                req = builders.request(self.manifest.check, RequestInputs(ctx, rt.headers))
                rt.client.request(req.method, req.path, params=req.params, headers=req.headers)
            else:
                first = self.manifest.streams[0]
                next(iter(self.read_stream(first.name, ReadContext(config=config, max_records=1))), None)
        except HttpError as exc:  # 401/403, 5xx, and no answer at all: refused, unknown host, timeout
            return CheckResult(False, str(exc))
        return CheckResult(True, "Connection successful")

    # -- read --------------------------------------------------------------------------------------

    def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        """Read ``stream``; a parent of other streams is fetched once per sync and shared with them."""
        fields = list(dict.fromkeys(  # children the front door syncs too
            f for child, f in self._children_of(stream) if ctx.services.selects(child)
        ))
        if not fields or ctx.max_records is not None:
            yield from self.read_plain(stream, ctx)
            return
        state = ctx.state if ctx.sync_mode != "full_refresh" else None
        spool, fetch = ctx.services.shared_reads().open(stream, state, projected=True)
        if not fetch and spool.projected:  # cannot happen within one sync; be safe anyway
            yield from self.read_plain(stream, ctx)
            return
        if fetch:
            paths = [(f, compile_path(f)) for f in fields]
            gone = object()  # a field a record lacks stays out of its projection (ParentRouter tells absent from null)
            project = lambda records: [  # noqa: E731
                {f: v for f, p in paths if (v := p.get(r, gone)) is not gone} for r in records]
            yield from spool.feed(self.read_plain(stream, spool.context(ctx)), project, "its own output")
        else:
            yield from spool.follow(ctx)

    def _children_of(self, parent: str) -> list[tuple[str, str]]:
        return [(s.name, path) for s in self.manifest.streams
                if isinstance(s.partition, ParentStreamPartition) and s.partition.stream == parent
                for path in s.partition.parent_fields.values()]

    def read_plain(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        """Read ``stream`` itself, with no sharing (the fetch that shared reads spool)."""
        spec = self.manifest.stream(stream)
        rt = self.runtime(ctx.config)
        rt.set_log(ctx.log)
        rt.base_url()
        incoming = ctx.state if ctx.sync_mode != "full_refresh" else None
        reader = StreamReader(rt, spec, ctx)
        yield from read_partitions(reader, incoming, self.read_plain, self.parent_names())

    def parent_names(self) -> list[str]:
        """The streams a ``parent_stream`` partition may read."""
        return self.manifest.stream_names()


__all__ = ["DeclarativeSource", "ConfigError"]
