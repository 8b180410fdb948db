"""An Airbyte manifest run by our engine: the CDK's spec, check and state shapes around DeclarativeSource.

- ``spec`` is the manifest's ``connection_specification`` as written; a config must have its top-level
  ``required`` keys, and its top-level values must match their property's ``pattern`` and ``enum`` (the
  CDK refuses such a config before reading too); values under any property marked ``airbyte_secret``
  are redacted from every output.
- ``check`` is the manifest's ``CheckStream``, as the CDK runs it: each named stream's first partition
  read until its first record (a stream with no partition at all fails the check).
- State is the CDK's: ``{cursor_field: value}`` for DatetimeBasedCursor streams (cursor.py), and
  ``{"__ab_no_cursor_state_message": true}`` after a stream without one, as the CDK emits.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from source_solidafy.errors import ConfigError, HttpError, StreamError
from source_solidafy.lowcode.auth import AirbyteManifest
from source_solidafy.lowcode.cursor import STATE_KEY, DatetimeSlices, cdk_state
from source_solidafy.lowcode.parents import AirbyteParent
from source_solidafy.lowcode.partition_cursor import PartitionTrack, PerPartitionCursor
from source_solidafy.lowcode.values import TemplateTable
from source_solidafy.manifest.models import Manifest
from source_solidafy.manifest.safe_regex import too_long_to_match
from source_solidafy.rest.partitions import build_router
from source_solidafy.rest.reader import StreamReader
from source_solidafy.rest.source import DeclarativeSource
from source_solidafy.source import Batch, CheckResult, ConfigField, ReadContext

NO_CURSOR_STATE = {"__ab_no_cursor_state_message": True}
_JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array")


def _secret_names(schema: Any, out: set[str], name: str = "") -> set[str]:
    if isinstance(schema, dict):
        if schema.get("airbyte_secret") is True and name:
            out.add(name)
        for key, value in (schema.get("properties") or {}).items():
            _secret_names(value, out, str(key))
        for key in ("oneOf", "anyOf", "allOf"):
            for branch in schema.get(key) or []:
                _secret_names(branch, out, name)
        if isinstance(schema.get("items"), dict):
            _secret_names(schema["items"], out, name)
    return out


def _values_of(config: Any, names: set[str], out: list[str]) -> list[str]:
    if isinstance(config, dict):
        for key, value in config.items():
            if key in names and isinstance(value, (str, int, float)) and str(value):
                out.append(str(value))
            else:
                _values_of(value, names, out)
    elif isinstance(config, list):
        for value in config:
            _values_of(value, names, out)
    return out


def _field(name: str, prop: Any, required: bool, secrets: set[str]) -> ConfigField:
    prop = prop if isinstance(prop, dict) else {}
    kinds = prop.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    kind = next((k for k in kinds if k in _JSON_TYPES), "object" if "oneOf" in prop else "string")
    return ConfigField(name=name, type=kind, required=required, secret=name in secrets,
                       description=str(prop.get("description") or prop.get("title") or ""),
                       default=prop.get("default"), examples=tuple(prop.get("examples") or ()),
                       enum=tuple(prop.get("enum") or ()), pattern=prop.get("pattern"))


def _check_value(connector: str, name: str, prop: Any, value: Any, secret: bool) -> None:
    """A top-level value against its property's ``pattern`` and ``enum``, as the CDK's spec check does."""
    if not isinstance(prop, dict) or value is None:
        return
    pattern = prop.get("pattern")
    if isinstance(value, str) and isinstance(pattern, str) and (long := too_long_to_match(value)) is not None:
        raise ConfigError(f"{connector}: config field '{name}' {long}")
    if isinstance(value, str) and isinstance(pattern, str) and not re.search(pattern, value):
        shown = "***" if secret else repr(value)
        raise ConfigError(f"{connector}: config field '{name}' = {shown} does not match {prop['pattern']!r}")
    if isinstance(prop.get("enum"), list) and value not in prop["enum"]:
        raise ConfigError(f"{connector}: config field '{name}' must be one of {', '.join(map(str, prop['enum']))}")


class AirbyteManifestSource(DeclarativeSource):
    """A DeclarativeSource built from an Airbyte manifest."""

    planner = "stream"  # the CDK's state shapes: one unit per stream (scale/planning.py)

    def __init__(self, manifest: Manifest, spec: dict[str, Any], check_streams: list[str],
                 table: TemplateTable, files_read: list[Path] | None = None) -> None:
        super().__init__(manifest)
        self._spec = spec
        self.files_read = list(files_read or [])  # the files beside the manifest it read (or looked for)
        self.connection_spec: dict[str, Any] = spec["connection_specification"]
        self.documentation_url = spec.get("documentation_url") or None
        self.check_streams = check_streams or manifest.stream_names()[:1]
        self.table = table  # the Airbyte values the manifest's templates evaluate
        self._secret_keys = _secret_names(self.connection_spec, set())

    def fresh(self) -> AirbyteManifestSource:
        """A new source over the same translation (a process keeps one per unchanged file: registry.py)."""
        return AirbyteManifestSource(self.manifest, self._spec, self.check_streams, self.table, self.files_read)

    # -- config ------------------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        return self.connection_spec

    def config_fields(self) -> list[ConfigField]:
        required = set(self.connection_spec.get("required") or [])
        props = self.connection_spec.get("properties") or {}
        return [_field(str(k), v, k in required, self._secret_keys) for k, v in props.items()]

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ConfigError("config must be a JSON object")
        missing = [k for k in self.connection_spec.get("required") or [] if config.get(k) in (None, "")]
        if missing:
            raise ConfigError(f"{self.name}: missing required config key(s): {', '.join(map(str, missing))}")
        for name, prop in (self.connection_spec.get("properties") or {}).items():
            _check_value(self.name, str(name), prop, config.get(name), name in self._secret_keys)
        return config

    def secrets(self, config: dict[str, Any]) -> list[str]:
        return _values_of(config, self._secret_keys, [])

    # -- check -------------------------------------------------------------------------------------

    def check(self, config: dict[str, Any]) -> CheckResult:
        try:
            for name in self.check_streams:
                problem = self._check_stream(name, config)
                if problem is not None:
                    return CheckResult(False, problem)
        except (HttpError, StreamError) as exc:
            return CheckResult(False, str(exc))
        return CheckResult(True, "Connection successful")

    def _check_stream(self, name: str, config: dict[str, Any]) -> str | None:
        """The CDK's CheckStream: the stream's first partition read until its first record (or its end)."""
        spec = self.manifest.stream(name)
        ctx = ReadContext(config=config, max_records=1, sync_mode="full_refresh", concurrency=1)
        rt = self.runtime(config)
        rt.base_url()
        router, _ = build_router(spec, ctx, None, self.read_plain, self.parent_names())
        parts = router.partitions()  # no partition: the one partition {}
        first = next(parts, None)
        getattr(parts, "close", lambda: None)()  # a parent read stops here
        if first is None:
            return f"Cannot attempt to connect to stream {name} - no stream slices were found"
        next((b for b in StreamReader(rt, spec, ctx).read(first, None) if len(b)), None)
        return None

    # -- read: the CDK's state shapes --------------------------------------------------------------

    def parent_names(self) -> list[str]:
        return self.manifest.readable_names() if isinstance(self.manifest, AirbyteManifest) else super().parent_names()

    def _children_of(self, parent: str) -> list[tuple[str, str]]:
        """Children through the CDK's SubstreamPartitionRouter share their parent's read too."""
        children: list[tuple[str, str]] = []
        for s in self.manifest.streams:
            part = s.partition.outer if isinstance(s.partition, PerPartitionCursor) else s.partition
            if isinstance(part, AirbyteParent) and part.stream == parent:
                children.extend((s.name, path) for path in part.projected_paths)
        return children

    def read_stream(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        part = self.manifest.stream(stream).partition
        if isinstance(part, DatetimeSlices):
            yield from self._read_datetime(stream, part, ctx)
            return
        if isinstance(part, PerPartitionCursor):
            yield from self._read_per_partition(stream, part, ctx)
            return
        inner = dataclasses.replace(ctx, state=None)
        for batch in super().read_stream(stream, inner):
            if len(batch):
                yield Batch(batch.stream, batch.records, None)
        if ctx.max_records is None and not ctx.cancel.is_set():
            yield Batch(stream, [], dict(NO_CURSOR_STATE))

    def _read_datetime(self, stream: str, spec: DatetimeSlices, ctx: ReadContext) -> Iterator[Batch]:
        incoming = ctx.state if ctx.sync_mode != "full_refresh" else None
        inner = dataclasses.replace(ctx, state={STATE_KEY: dict(incoming or {})})
        last: dict[str, Any] | None = None
        for batch in super().read_stream(stream, inner):
            state = cdk_state(spec, ctx.config, batch.state) if batch.state is not None else None
            if state == last:
                state = None
            last = state or last
            if state is not None or len(batch):
                yield Batch(batch.stream, batch.records, state)

    def _read_per_partition(self, stream: str, spec: PerPartitionCursor, ctx: ReadContext) -> Iterator[Batch]:
        """A cursor per partition (partition_cursor.py): the CDK's per-partition state in and out."""
        incoming = ctx.state if ctx.sync_mode != "full_refresh" else None
        track = PartitionTrack(spec, ctx.config, incoming)
        state: dict[str, Any] = {STATE_KEY: track}
        parent = track.parent_incoming()
        if parent is not None:
            state["parent"] = {STATE_KEY: parent}
        last: dict[str, Any] | None = None
        engine: dict[str, Any] | None = None
        for batch in super().read_stream(stream, dataclasses.replace(ctx, state=state)):
            engine = batch.state if batch.state is not None else engine
            out = track.cdk_state(batch.state, final=False) if batch.state is not None else None
            out, last = (None, last) if out == last else (out, out or last)
            if out is not None or len(batch):
                yield Batch(batch.stream, batch.records, out)
        if ctx.max_records is None and not ctx.cancel.is_set():
            yield Batch(stream, [], track.cdk_state(engine or {}, final=True))
