"""DeclarativeSource: a validated manifest turned into core objects (client, auth, paginators, decoders).

One connector runtime (HTTP client + auth) per config, shared by every stream and partition, so every
request goes through the same session, retry policy and rate limiter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.confinement import ConnectGuard
from source_solidafy.errors import ConfigError, HttpError, StreamError, TemplateError
from source_solidafy.manifest.models import Manifest, Stream
from source_solidafy.manifest.templates import build_context
from source_solidafy.rest import builders
from source_solidafy.rest.builders import PageInputs
from source_solidafy.rest.decoders import Decoder
from source_solidafy.rest.infer import ensure_fields, infer_schema
from source_solidafy.rest.pagination import PageRequest, page_size_of
from source_solidafy.rest.partitions import partitions_for
from source_solidafy.rest.paths import compile_path
from source_solidafy.rest.records import BoundaryDedupe, CursorTracker, format_since
from source_solidafy.rest.request import RenderedRequest, RequestInputs
from source_solidafy.source import Batch, CheckResult, ConfigField, ReadContext, Source, StreamInfo

_STREAM = object()  # pages(): the stream's own pagination


class _Runtime:
    """HTTP client, auth and rendered connector-level values for one config."""

    def __init__(self, manifest: Manifest, config: dict[str, Any], secrets: list[str],
                 guard: ConnectGuard | None = None, rate_limit_rps: float | None = None) -> None:
        self.manifest = manifest
        self.config = config
        self._local = threading.local()
        self.client = builders.http_client(manifest.http, builders.HttpInputs(secrets, self._log, guard, rate_limit_rps))
        self.client.auth = builders.auth(manifest.auth_for(config), builders.AuthInputs.of(config, self.client.session))
        ctx = build_context(config)
        self.headers = {k: v.render(ctx) for k, v in manifest.headers.items()}
        self._base_lock = threading.Lock()
        self._base_url: str | None = None

    def set_log(self, log: Any) -> None:
        self._local.log = log

    def _log(self, level: str, message: str) -> None:
        log = getattr(self._local, "log", None)
        if log is not None:
            log(level, message)

    def auth_info(self) -> dict[str, Any]:
        info = getattr(self.client.auth, "token_info", None)
        return info if isinstance(info, dict) else {}

    def base_url(self) -> str:
        """Config ``base_url`` wins; a template may use ``auth.*`` (Salesforce's instance_url)."""
        with self._base_lock:
            if self._base_url is None:
                override = self.config.get("base_url")
                if override:
                    url = str(override)
                else:
                    needs_auth = "auth" in self.manifest.base_url.source
                    url = self.manifest.base_url.render(
                        build_context(self.config, auth=self.auth_info() if needs_auth else None)
                    )
                self._base_url = url.rstrip("/")
                self.client.base_url = self._base_url
            return self._base_url


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
        self._runtimes: dict[bytes, _Runtime] = {}

    # -- config ------------------------------------------------------------------------------------

    def config_fields(self) -> list[ConfigField]:
        return self.manifest.config_fields()

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        config = super().validate_config(config)
        self.manifest.require_config(config)
        return config

    def runtime(self, config: dict[str, Any]) -> _Runtime:
        key = jsoncodec.dumps(config, option=orjson.OPT_SORT_KEYS, default=str)
        with self._lock:
            rt = self._runtimes.get(key)
            if rt is None:
                guard = self.confinement.connect_guard() if self.confinement is not None else None
                rt = self._runtimes[key] = _Runtime(self.manifest, config, self.secrets(config), guard,
                                                    self.rate_limit_rps)
            return rt

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
        return self.manifest.stream(stream).json_schema

    def discover(self, config: dict[str, Any], sample: int = 0) -> list[StreamInfo]:
        return [self._stream_info(s, config, sample) for s in self.manifest.streams]

    def _stream_info(self, stream: Stream, config: dict[str, Any], sample: int) -> StreamInfo:
        schema = stream.json_schema
        if schema is None:
            schema = infer_schema(self._sample(stream, config, sample)) if sample > 0 else {
                "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                "properties": {}, "additionalProperties": True}
        schema = orjson.loads(orjson.dumps(schema))
        pk = [k.split(".") for k in stream.primary_key]
        cursor = stream.cursor_field.split(".") if stream.cursor_field else None
        ensure_fields(schema, pk + ([cursor] if cursor else []))
        return StreamInfo(stream.name, schema, pk, cursor, stream.description)

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
            yield from spool.follow(ctx.cancel, ctx.warn)

    def _children_of(self, parent: str) -> list[tuple[str, str]]:
        return [(s.name, s.partition.parent_field) for s in self.manifest.streams
                if s.partition is not None and s.partition.type == "parent_stream" and s.partition.stream == parent]

    def read_plain(self, stream: str, ctx: ReadContext) -> Iterator[Batch]:
        """Read ``stream`` itself, with no sharing (the fetch that shared reads spool)."""
        spec = self.manifest.stream(stream)
        rt = self.runtime(ctx.config)
        rt.set_log(ctx.log)
        rt.base_url()
        incoming = ctx.state if ctx.sync_mode != "full_refresh" else None
        reader = StreamReader(self, rt, spec, ctx)
        yield from partitions_for(self, rt, spec, ctx, incoming, reader)


class StreamReader:
    """Reads one partition of a stream page by page."""

    def __init__(self, source: DeclarativeSource, rt: _Runtime, spec: Stream, ctx: ReadContext) -> None:
        self.source, self.rt, self.spec, self.ctx = source, rt, spec, ctx
        self.slots = ctx.services.request_slots(ctx.concurrency)  # the sync's cap on requests in flight
        self.decoder = builders.decoder(spec.decoder)
        self.transformer = builders.transformer(spec.transform)
        self.delivered = 0  # over all partitions (read by several threads)
        self._count_lock = threading.Lock()
        self._cursor_warned = False

    def warn(self, message: str) -> None:
        """``ReadContext.warn`` with the stream named: the stream may not have read everything."""
        self.ctx.warn(f"stream '{self.spec.name}': {message}")

    def since(self, cursor: Any, ctx: dict[str, Any]) -> str:
        inc = self.spec.incremental
        if cursor is not None:
            return format_since(cursor, inc.format if inc else None, inc.lookback_secs if inc else 0)
        if inc is not None and inc.start is not None:
            try:  # like request params: a start from an absent optional config field means "no start"
                start = inc.start.render(ctx)
            except TemplateError:
                start = ""
            return format_since(start, inc.format) if start else ""
        return ""

    def read(self, partition: dict[str, Any], cursor: Any, job_id: str | None = None) -> Iterator[Batch]:
        """Yield batches of one partition, starting from ``cursor`` (the partition's state)."""
        auth_info = self.rt.auth_info()
        base_ctx = build_context(self.ctx.config, partition=partition, auth=auth_info, job_id=job_id,
                                 state={"cursor": cursor} if cursor is not None else {})
        since = self.since(cursor, base_ctx)
        ctx = build_context(self.ctx.config, partition=partition, auth=auth_info, job_id=job_id,
                            state={"cursor": cursor} if cursor is not None else {}, since=since)
        tracker = CursorTracker(self.spec.cursor_field, cursor)
        yield from self.pages(self._request(ctx, since), tracker, ctx)

    def _request(self, ctx: dict[str, Any], since: str) -> RenderedRequest:
        """The stream's request for one partition; ``since`` replaces ``incremental.request_param``."""
        headers = {**self.rt.headers, **{k: v.render(ctx) for k, v in self.spec.headers.items()}}
        request = builders.request(self.spec.request, RequestInputs(ctx, headers))
        inc = self.spec.incremental
        if inc is not None and inc.request_param and since:
            request.params.pop(inc.request_param, None)
            request.params[inc.request_param] = since
        return request

    def pages(self, request: RenderedRequest, tracker: CursorTracker, ctx: dict[str, Any],
              pagination: Any = _STREAM, decoder: Decoder | None = None) -> Iterator[Batch]:
        """Pages of one request (the stream's or an async job download), with its state."""
        spec = self.spec.pagination if pagination is _STREAM else pagination
        paginator = builders.paginator(spec, PageInputs(self.warn, page_size_of(request.params, request.json_body)))
        decoder = decoder or self.decoder
        page: PageRequest | None = paginator.first()
        last_state: dict[str, Any] | None = None
        sample: dict[str, Any] | None = None  # a record, to say which keys records have
        dedupe = self._dedupe()
        while page is not None and not self.ctx.cancel.is_set():
            path, params, headers, body = page.resolve(request.path, request.params, request.headers,
                                                       request.json_body)
            resp = self.rt.client.request(request.method, path, params=params, headers=headers, json_body=body,
                                          data=request.data if body is None else None, slots=self.slots)
            decoded = decoder.decode(resp)
            if decoded.missing is not None:
                self._missing_records(decoded.missing, page.pages == 0, decoder.missing_means_empty)
            records = self._records(decoded.records, ctx, tracker, dedupe)
            sample = sample or (records[0] if records else None)
            state = tracker.state() if tracker.ascending and tracker.seen_enough else None
            if state == last_state:
                state = None
            yield Batch(self.spec.name, records, state)
            last_state = state or last_state
            if self.limit_reached():
                break
            page = paginator.next(resp, decoded.body, decoded.records, page)
            if page is not None and page.url is not None:
                self._check_link(page.url)
        if sample is not None and tracker.path is not None and tracker.seen == 0:
            self._cursor_missing(sample)
        if dedupe is not None and dedupe.dropped:
            self.ctx.log("INFO", f"{self.spec.name}: {dedupe.dropped} records the API repeated at a page "
                                 "boundary were dropped (dedupe: cursor_boundary)")
        final = tracker.state()
        if final is not None and final != last_state and not self.ctx.cancel.is_set():
            yield Batch(self.spec.name, [], final)

    def _cursor_missing(self, sample: dict[str, Any]) -> None:
        """No record read has a value at ``cursor_field``: the state cannot advance (once per stream)."""
        with self._count_lock:
            if self._cursor_warned:
                return
            self._cursor_warned = True
        field = self.spec.cursor_field or ""
        why = compile_path(field).missing(sample, root="the first record")
        found = f"is in no record read: {why}" if why else "is null in every record read"
        self.warn(f"cursor_field '{field}' {found}; the stream's cursor cannot advance")

    def _missing_records(self, missing: str, first: bool, means_empty: bool) -> None:
        """The records path matched nothing: an error on a first page, else unless the YAML allows it."""
        if means_empty and not first:
            return
        hint = "" if first else ("; if the API leaves the key out of an empty page, set "
                                 "decoder.missing_means_empty: true")
        raise StreamError(f"stream '{self.spec.name}': {missing}{hint}")

    def _check_link(self, url: str) -> None:
        """A next-page link to an origin that may not get credentials fails the stream.

        Followed without credentials it would most likely answer 401, or worse an empty last page:
        a silent partial read. The API's own link is not trusted to choose where our requests go.
        """
        client = self.rt.client
        if not client.may_send_credentials(url):
            raise StreamError(client.redact(
                f"stream '{self.spec.name}': the next page link {url} points to another host than "
                f"{client.credential_origins()}; not followed (credentials go nowhere else). If the API "
                "really pages through that host, list it in http.allowed_hosts"
            ))

    def _dedupe(self) -> BoundaryDedupe | None:
        """One per request chain: repeats come at its page boundaries (``dedupe: cursor_boundary``)."""
        spec = self.spec
        if spec.dedupe is None or spec.cursor_field is None:
            return None
        return BoundaryDedupe(spec.primary_key, spec.cursor_field, self.ctx.log)

    def _records(self, raw: list[Any], ctx: dict[str, Any], tracker: CursorTracker,
                 dedupe: BoundaryDedupe | None = None) -> list[dict[str, Any]]:
        records = [r if isinstance(r, dict) else {"value": r} for r in raw]
        if self.transformer:
            records = self.transformer.apply(records, ctx)
        if dedupe is not None:
            records = dedupe.filter(records)
        limit = self.ctx.max_records
        if limit is None:
            return tracker.process(records)
        with self._count_lock:
            records = tracker.process(records, max(0, limit - self.delivered))
            self.delivered += len(records)
        return records

    def limit_reached(self) -> bool:
        return self.ctx.max_records is not None and self.delivered >= self.ctx.max_records


__all__ = ["DeclarativeSource", "ConfigError"]
