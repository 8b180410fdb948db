"""The REST engine's parts: for each manifest model, the builder that makes its core object.

One registration per YAML type, keyed by the model class (see :mod:`source_solidafy.rest.factory`); each
builder passes the model's fields to the core class's constructor and nothing else happens here: no
network, templates rendered by the ``inputs`` the caller gives (the auth blocks' builders are
:mod:`source_solidafy.rest.auth_builders`). The typed helpers at the end are what the engine calls; where
the models no builder makes are read is :data:`source_solidafy.manifest.reference.READ_BY`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from source_solidafy.manifest import models as m
from source_solidafy.manifest import plugin_models as pm
from source_solidafy.manifest.templates import TemplateString
from source_solidafy.rest import auth as a
from source_solidafy.rest import decoders as d
from source_solidafy.rest import pagination as pg
from source_solidafy.rest import paginators as pgs
from source_solidafy.rest import plugin_parts as pp
from source_solidafy.rest import stops as st
from source_solidafy.rest import transforms as t
from source_solidafy.rest import unpack as up
from source_solidafy.rest.async_job import AsyncJobRouter
from source_solidafy.rest.auth_builders import (
    AuthInputs as AuthInputs,  # the auth blocks' builders, registered
)
from source_solidafy.rest.factory import EMPTY
from source_solidafy.rest.factory import FACTORY as FACTORY
from source_solidafy.rest.http import HttpClient
from source_solidafy.rest.parent_router import ParentRouter
from source_solidafy.rest.request import RenderedRequest, RequestInputs, render_params, render_request
from source_solidafy.rest.response_rules import ResponseRule
from source_solidafy.rest.routers import DateRangeRouter, ListRouter
from source_solidafy.source import LogFn, WarnFn

if TYPE_CHECKING:
    from source_solidafy.confinement import ConnectGuard


class PageInputs(NamedTuple):
    warn: WarnFn | None = None  # ReadContext.warn: a paginator that stops early says so
    page_size: tuple[str, int] | None = None  # the request's (parameter, value), from pages.page_size_of
    config: Mapping[str, Any] | None = None  # the connector's config (an Airbyte paginator's templates read it)
    partition: Any = None  # the partition being read (the render context's; an Airbyte paginator's templates read it)


class HttpInputs(NamedTuple):
    secrets: list[str]  # values never to show (the config's secrets)
    log: LogFn | None = None
    guard: ConnectGuard | None = None  # the server's private-network rule
    rate_limit_rps: float | None = None  # a plan's per-shard share of the API budget: wins over http's


# ------------------------------------------------------------------------------ http, requests


@FACTORY.register(m.Http, HttpClient)
def _http(spec: m.Http, inputs: HttpInputs) -> HttpClient:
    return HttpClient(
        "", timeout=spec.timeout_secs, max_retries=spec.max_retries, backoff=spec.backoff,
        backoff_base=spec.backoff_base_secs, backoff_max=spec.backoff_max_secs, retry_statuses=spec.retry_statuses,
        rate_limit_rps=inputs.rate_limit_rps or spec.rate_limit_rps, max_concurrency=spec.max_concurrency,
        user_agent=spec.user_agent or "source-solidafy", allowed_hosts=spec.allowed_hosts,
        max_response_mb=spec.max_response_mb, deadline=spec.deadline_secs, secrets=inputs.secrets, log=inputs.log,
        connect_guard=inputs.guard, rate_limit_pools=spec.rate_limit_pools,
    )


@FACTORY.register(m.Request, RenderedRequest)
def _request(spec: m.Request, inputs: RequestInputs) -> RenderedRequest:
    return render_request(spec.method, spec.path, spec.params, inputs.ctx, inputs.headers, spec.body,
                          spec.content_type)


@FACTORY.register(m.Check, RenderedRequest)
def _check(spec: m.Check, inputs: RequestInputs) -> RenderedRequest:
    return render_request("GET", spec.path, spec.params, inputs.ctx, inputs.headers)


@FACTORY.register(m.AsyncCreate, RenderedRequest, elsewhere={"job_id_path": "source_solidafy.rest.async_job"})
def _job_create(spec: m.AsyncCreate, inputs: RequestInputs) -> RenderedRequest:
    headers = {**inputs.headers, **render_params(spec.headers, inputs.ctx)}
    return render_request(spec.method, spec.path, spec.params, inputs.ctx, headers, spec.body)


@FACTORY.register(m.AsyncDownload, RenderedRequest, elsewhere={
    "records_path": "source_solidafy.rest.async_job", "pagination": "source_solidafy.rest.async_job"})
def _job_download(spec: m.AsyncDownload, inputs: RequestInputs) -> RenderedRequest:
    headers = {**inputs.headers, **render_params(spec.headers, inputs.ctx)}
    return render_request("GET", spec.path, spec.params, inputs.ctx, headers)


# -------------------------------------------------------------------------------------- decoders


def _packed(spec: Any, decoder: d.Decoder) -> d.Decoder:
    """``decoder`` over the body once unpacked (``compression``; a plain body is passed as it is)."""
    return up.Unpacking(decoder, FACTORY.build(spec.compression, None, up.Packing))


@FACTORY.register(m.Compression, up.Packing)
def _compression(spec: m.Compression, inputs: None) -> up.Packing:
    return up.Packing(spec.type, spec.members, spec.inner_gzip)


@FACTORY.register(m.JsonDecoder, d.JsonDecoder, up.Unpacking)
def _json(spec: m.JsonDecoder, key: str) -> d.Decoder:
    nested = FACTORY.build(spec.nested_records, None, d.NestedRecords) if spec.nested_records else None
    return _packed(spec, d.JsonDecoder(spec.records_path, nested, key, spec.missing_means_empty))


@FACTORY.register(m.NestedRecords, d.NestedRecords)
def _nested(spec: m.NestedRecords, inputs: None) -> d.NestedRecords:
    return d.NestedRecords(spec.path, spec.carry)


_STREAM = {"stream": "source_solidafy.rest.builders (stream: true builds the reader of rest/line_stream.py)"}
# The streaming readers (line_stream.py, json_stream.py) and cast.py are named by path and imported by their
# builders (factory.Part): a read of whole bodies without casts never imports them.
_LS = "source_solidafy.rest.line_stream."


@FACTORY.register(m.JsonlDecoder, d.JsonlDecoder, up.Unpacking, _LS + "JsonlStream", elsewhere=_STREAM)
def _jsonl(spec: m.JsonlDecoder, key: str) -> d.Decoder:
    from source_solidafy.rest import line_stream as ls

    stream = ls.JsonlStream(FACTORY.build(spec.compression, None, up.Packing), encoding=spec.encoding)
    return stream if spec.stream else _packed(spec, d.JsonlDecoder(spec.encoding))


@FACTORY.register(m.CsvDecoder, d.CsvDecoder, up.Unpacking, _LS + "CsvStream", elsewhere=_STREAM)
def _csv(spec: m.CsvDecoder, key: str) -> d.Decoder:
    reader = d.CsvDecoder(spec.delimiter, spec.has_header, spec.encoding)
    if spec.stream:
        from source_solidafy.rest import line_stream as ls

        return ls.CsvStream(reader, FACTORY.build(spec.compression, None, up.Packing), encoding=spec.encoding)
    return _packed(spec, reader)


@FACTORY.register(m.LinesDecoder, up.Unpacking, _LS + "LinesStream", elsewhere=_STREAM)
def _lines(spec: m.LinesDecoder, key: str) -> d.Decoder:
    from source_solidafy.rest import line_stream as ls

    reader = ls.LinesStream(FACTORY.build(spec.compression, None, up.Packing), encoding=spec.encoding)
    return reader if spec.stream else _packed(spec, ls.LinesStream(up.Packing("none"), encoding=spec.encoding))


@FACTORY.register(m.XmlDecoder, d.XmlDecoder, up.Unpacking)
def _xml(spec: m.XmlDecoder, key: str) -> d.Decoder:
    return _packed(spec, d.XmlDecoder(spec.records_path, key, spec.missing_means_empty, spec.prefixes))


@FACTORY.register(m.JsonStreamDecoder, "source_solidafy.rest.json_stream.JsonStream")
def _json_stream(spec: m.JsonStreamDecoder, key: str) -> d.Decoder:
    from source_solidafy.rest.json_stream import JsonStream

    return JsonStream(spec.records_path, FACTORY.build(spec.compression, None, up.Packing), spec.batch_records, key,
                      spec.encoding)


# ------------------------------------------------------------------------------------ pagination

_STOPS: dict[str, Callable[[m.Stop], st.StopCondition]] = {
    "empty_page": lambda spec: st.EmptyPage(),
    "total_count": lambda spec: st.TotalCount(spec.path or ""),
    "total_pages": lambda spec: st.TotalPages(spec.path or ""),
    "field": lambda spec: st.FieldEquals(spec.path or "", spec.value),
}


@FACTORY.register(m.Stop, st.EmptyPage, st.TotalCount, st.TotalPages, st.FieldEquals)
def _stop(spec: m.Stop, inputs: None) -> st.StopCondition:
    return _STOPS[spec.type](spec)


def _common(spec: Any, inputs: PageInputs) -> dict[str, Any]:
    """What every paginator takes: ``stop``, ``max_pages``, ``max_empty_pages``, ``warn``, the page size."""
    stop = FACTORY.build(spec.stop, None, st.StopCondition) if spec.stop is not None else None
    return {"stop": stop, "max_pages": spec.max_pages, "max_empty_pages": spec.max_empty_pages,
            "warn": inputs.warn, "requested_size": inputs.page_size}


@FACTORY.register(m.CursorPagination, pgs.CursorPaginator)
def _cursor(spec: m.CursorPagination, inputs: PageInputs) -> pg.Paginator:
    return pgs.CursorPaginator(spec.cursor_param, spec.cursor_path, spec.cursor_header, spec.location,
                              **_common(spec, inputs))


@FACTORY.register(m.OffsetPagination, pgs.OffsetPaginator)
def _offset(spec: m.OffsetPagination, inputs: PageInputs) -> pg.Paginator:
    return pgs.OffsetPaginator(spec.offset_param, spec.limit_param, spec.limit, parallel=spec.parallel,
                               **_common(spec, inputs))


@FACTORY.register(m.PageNumberPagination, pgs.PageNumberPaginator)
def _page_number(spec: m.PageNumberPagination, inputs: PageInputs) -> pg.Paginator:
    return pgs.PageNumberPaginator(spec.page_param, spec.start_page, spec.page_size_param, spec.page_size,
                                  parallel=spec.parallel, **_common(spec, inputs))


@FACTORY.register(m.LinkHeaderPagination, pgs.LinkHeaderPaginator)
def _link_header(spec: m.LinkHeaderPagination, inputs: PageInputs) -> pg.Paginator:
    return pgs.LinkHeaderPaginator(spec.rel, parallel=spec.parallel, **_common(spec, inputs))


@FACTORY.register(m.NextUrlPagination, pgs.NextUrlPaginator)
def _next_url(spec: m.NextUrlPagination, inputs: PageInputs) -> pg.Paginator:
    return pgs.NextUrlPaginator(spec.next_url_path, **_common(spec, inputs))


# ------------------------------------------------------------------------------------ transforms


class TransformInputs(NamedTuple):
    schema: dict[str, Any] | None = None  # the records' JSON Schema before this step (for cast)
    stream: str = ""
    log: LogFn | None = None  # a cast that fails warns once here


@FACTORY.register(m.SetStep, t.SetField)
def _set(spec: m.SetStep, inputs: TransformInputs) -> t.TransformStep:
    return t.SetField(spec.field, spec.value)


@FACTORY.register(m.RemoveStep, t.RemoveFields)
def _remove(spec: m.RemoveStep, inputs: TransformInputs) -> t.TransformStep:
    return t.RemoveFields(spec.fields)


@FACTORY.register(m.RenameStep, t.RenameField)
def _rename(spec: m.RenameStep, inputs: TransformInputs) -> t.TransformStep:
    return t.RenameField(spec.from_field, spec.to)


@FACTORY.register(m.FlattenStep, t.Flatten)
def _flatten(spec: m.FlattenStep, inputs: TransformInputs) -> t.TransformStep:
    return t.Flatten(spec.separator, spec.max_depth, spec.fields, spec.prefix)


@FACTORY.register(m.NormalizeKeysStep, t.NormalizeKeys)
def _normalize_keys(spec: m.NormalizeKeysStep, inputs: TransformInputs) -> t.TransformStep:
    return t.NormalizeKeys(spec.case)


@FACTORY.register(m.HashStep, t.HashFields)
def _hash(spec: m.HashStep, inputs: TransformInputs) -> t.TransformStep:
    return t.HashFields(spec.fields, spec.salt)


@FACTORY.register(m.MaskStep, t.MaskFields)
def _mask(spec: m.MaskStep, inputs: TransformInputs) -> t.TransformStep:
    return t.MaskFields(spec.fields, spec.keep_last, spec.mask)


@FACTORY.register(m.CastStep, "source_solidafy.rest.cast.CastFields")
def _cast(spec: m.CastStep, inputs: TransformInputs) -> t.TransformStep:
    from source_solidafy.rest.cast import CastFields

    return CastFields(inputs.schema, spec.fields, inputs.stream, inputs.log)


# ---------------------------------------------------------------------------------------- errors


class RuleInputs(NamedTuple):
    where: str  # ``errors[0]``: names the rule in messages
    config: Mapping[str, Any] = EMPTY  # for rules that read it (the Airbyte handlers')


@FACTORY.register(m.ErrorRule, ResponseRule)
def _error_rule(spec: m.ErrorRule, inputs: RuleInputs) -> ResponseRule:
    return ResponseRule(spec.action, spec.status, spec.body_path, spec.body_matches, spec.headers, spec.message,
                        inputs.where)


# --------------------------------------------------------------------------------------- plugins
# type: plugin:<name> in a slot (manifest/plugin_models.py): one model per kind, each built into the
# part of that kind (rest/plugin_parts.py); the plugin object gets its options and a PluginContext.
_PLUGIN = {"raw": "source_solidafy.manifest.plugin_models.check_plugins (validated into options)",
           "plugin": "source_solidafy.manifest.plugin_models.PluginSpec.make"}


@FACTORY.register(pm.AuthPluginSpec, pp.PluginAuth, elsewhere=_PLUGIN)
def _auth_plugin(spec: pm.AuthPluginSpec, inputs: AuthInputs) -> a.Auth:
    return pp.PluginAuth(spec, pp.plugin_context(inputs.config, lambda text: inputs.render(TemplateString(text))))


@FACTORY.register(pm.PaginatorPluginSpec, pp.PluginPaginator, elsewhere=_PLUGIN)
def _paginator_plugin(spec: pm.PaginatorPluginSpec, inputs: PageInputs) -> pg.Paginator:
    return pp.PluginPaginator(spec, pp.plugin_context(), warn=inputs.warn, requested_size=inputs.page_size)


@FACTORY.register(pm.DecoderPluginSpec, pp.PluginDecoder, elsewhere=_PLUGIN)
def _decoder_plugin(spec: pm.DecoderPluginSpec, key: str) -> d.Decoder:
    return pp.PluginDecoder(spec, pp.plugin_context())


@FACTORY.register(pm.TransformPluginSpec, pp.PluginTransform, elsewhere=_PLUGIN)
def _transform_plugin(spec: pm.TransformPluginSpec, inputs: TransformInputs) -> t.TransformStep:
    return pp.PluginTransform(spec)


# ------------------------------------------------------------------------------------ partitions


# A router is made from its model and RouterInputs: the class is its own builder.
for _model, _router in ((m.ListPartition, ListRouter), (m.DateRangePartition, DateRangeRouter),
                        (m.AsyncJobPartition, AsyncJobRouter)):
    FACTORY.register(_model, _router)(_router)
FACTORY.register(pm.RouterPluginSpec, pp.PluginRouter, elsewhere=_PLUGIN)(pp.PluginRouter)
_FOLDED = "source_solidafy.manifest.partition_parts (folded into parent_fields)"
FACTORY.register(m.ParentStreamPartition, ParentRouter,
                 elsewhere={"parent_field": _FOLDED, "field": _FOLDED})(ParentRouter)


# ---------------------------------------------------------------------------- what the engine calls


def auth(spec: Any, inputs: AuthInputs) -> a.Auth:
    """The Auth of one ``auth:`` block (with alternatives, the one ``Manifest.auth_for(config)`` chose)."""
    return FACTORY.build(spec, inputs, a.Auth)


def http_client(spec: m.Http, inputs: HttpInputs) -> HttpClient:
    return FACTORY.build(spec, inputs, HttpClient)


def request(spec: Any, inputs: RequestInputs) -> RenderedRequest:
    """A stream's ``request``, a ``check``, or an async job's ``create`` or ``download``, rendered."""
    return FACTORY.build(spec, inputs, RenderedRequest)


def decoder(spec: Any, key: str = "decoder.records_path") -> d.Decoder:
    """The decoder for a ``decoder:`` block; ``key`` is the YAML key its records path came from."""
    return FACTORY.build(spec, key, d.Decoder)


def paginator(spec: Any | None, inputs: PageInputs) -> pg.Paginator:
    """The paginator for a ``pagination:`` block (one request when absent)."""
    if spec is None:
        return pg.Paginator(warn=inputs.warn)
    return FACTORY.build(spec, inputs, pg.Paginator)


def response_rules(stream: list[Any], connector: list[Any],
                   config: Mapping[str, Any] | None = None) -> tuple[ResponseRule, ...]:
    """A stream's ``errors:`` rules, then the connector's: the order they are tried in."""
    conf = config or {}
    return (*(FACTORY.build(rule, RuleInputs(f"errors[{i}]", conf), ResponseRule) for i, rule in enumerate(stream)),
            *(FACTORY.build(rule, RuleInputs(f"connector errors[{i}]", conf), ResponseRule)
              for i, rule in enumerate(connector)))


def transformer(steps: list[Any], schema: dict[str, Any] | None = None, stream: str = "",
                log: LogFn | None = None) -> t.Transformer:
    """A stream's ``transform:`` steps, built once per stream read; each sees the declared ``schema``
    as the steps before it change it (``cast`` converts to the types there)."""
    built: list[t.TransformStep] = []
    current = copy.deepcopy(schema) if schema is not None else None
    for step in steps:
        made = FACTORY.build(step, TransformInputs(current, stream, log), t.TransformStep)
        built.append(made)
        if current is not None:
            current = made.schema(current)
    return t.Transformer(built)


def output_schema(spec: m.Stream, declared: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The stream's declared schema (or ``declared``: with its lookup fields) as its ``transform`` steps
    emit the records (None: none declared)."""
    declared = spec.json_schema if declared is None else declared
    if declared is None:
        return None
    schema = copy.deepcopy(declared)
    return transformer(spec.transform).schema(schema) if spec.transform else schema
