"""The declarative layer's registries: each YAML ``type:`` maps to one core class.

Adding a paginator is one class in pagination.py plus one line in ``PAGINATORS``. Nothing here
talks to the network; templates are rendered by the caller and plain values passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from source_solidafy.manifest import models as m
from source_solidafy.manifest import stream_parts as sp
from source_solidafy.rest import auth as a
from source_solidafy.rest import decoders as d
from source_solidafy.rest import pagination as pg
from source_solidafy.source import WarnFn

Render = Callable[[Any], str]


def _stop(spec: sp.Stop | None) -> pg.StopCondition | None:
    if spec is None:
        return None
    if spec.type == "empty_page":
        return pg.EmptyPage()
    if spec.type == "total_count":
        return pg.TotalCount(spec.path or "")
    if spec.type == "total_pages":
        return pg.TotalPages(spec.path or "")
    return pg.FieldEquals(spec.path or "", spec.value)


def _common(spec: Any, warn: WarnFn | None, page_size: tuple[str, int] | None) -> dict[str, Any]:
    return {"stop": _stop(spec.stop), "max_pages": spec.max_pages, "max_empty_pages": spec.max_empty_pages,
            "warn": warn, "requested_size": page_size}


PAGINATORS: dict[str, Callable[[Any, WarnFn | None, tuple[str, int] | None], pg.Paginator]] = {
    "cursor": lambda s, warn, size: pg.CursorPaginator(
        s.cursor_param, s.cursor_path, s.cursor_header, s.location, **_common(s, warn, size)
    ),
    "offset": lambda s, warn, size: pg.OffsetPaginator(s.offset_param, s.limit_param, s.limit, **_common(s, warn, size)),
    "page_number": lambda s, warn, size: pg.PageNumberPaginator(
        s.page_param, s.start_page, s.page_size_param, s.page_size, **_common(s, warn, size)
    ),
    "link_header": lambda s, warn, size: pg.LinkHeaderPaginator(s.rel, **_common(s, warn, size)),
    "next_url": lambda s, warn, size: pg.NextUrlPaginator(s.next_url_path, **_common(s, warn, size)),
}


def paginator(spec: Any | None, warn: WarnFn | None = None, page_size: tuple[str, int] | None = None) -> pg.Paginator:
    """The paginator for a ``pagination:`` block (one request when absent); ``warn``: ReadContext.warn;
    ``page_size``: the request's (parameter, value) from ``pagination.page_size_of``."""
    if spec is None:
        return pg.Paginator(warn=warn)
    return PAGINATORS[spec.type](spec, warn, page_size)


DECODERS: dict[str, Callable[[Any, str], d.Decoder]] = {
    "json": lambda s, key: d.JsonDecoder(
        s.records_path, {"path": s.nested_records.path, "carry": s.nested_records.carry} if s.nested_records else None,
        key, s.missing_means_empty,
    ),
    "jsonl": lambda s, key: d.JsonlDecoder(),
    "csv": lambda s, key: d.CsvDecoder(s.delimiter, s.has_header),
    "xml": lambda s, key: d.XmlDecoder(s.records_path, key, s.missing_means_empty),
}


def decoder(spec: Any, key: str = "decoder.records_path") -> d.Decoder:
    """The decoder for a ``decoder:`` block; ``key`` is the YAML key its records path came from."""
    return DECODERS[spec.type](spec, key)


def auth(spec: Any, render: Render, config: dict[str, Any], session: Any) -> a.Auth:
    """An Auth from the manifest's ``auth:`` block; ``render`` renders a template against the config.

    ``spec`` is one block: with auth alternatives, the one ``Manifest.auth_for(config)`` chose. A
    config ``token_url`` overrides the manifest's (tests against a local mock, sandboxes).
    """
    if isinstance(spec, m.BearerAuth):
        return a.BearerAuth(render(spec.token))
    if isinstance(spec, m.ApiKeyAuth):
        return a.ApiKeyAuth(spec.key, render(spec.value), spec.location)
    if isinstance(spec, m.BasicAuth):
        password = render(spec.password) if spec.password is not None else ""
        return a.BasicAuth(render(spec.username), password)
    token_url = str(config.get("token_url") or "") or None
    if isinstance(spec, m.OAuth2RefreshTokenAuth):
        return a.OAuth2RefreshToken(
            token_url or render(spec.token_url), render(spec.client_id), render(spec.client_secret),
            render(spec.refresh_token), spec.scopes, session=session,
        )
    if isinstance(spec, m.OAuth2ClientCredentialsAuth):
        return a.OAuth2ClientCredentials(
            token_url or render(spec.token_url), render(spec.client_id), render(spec.client_secret),
            spec.scopes, session=session,
        )
    if isinstance(spec, m.SessionTokenAuth):
        body = render(spec.body) if spec.body is not None else "{}"
        return a.SessionTokenAuth(
            token_url or render(spec.login_url), body, spec.token_path, spec.header_name, spec.header_prefix,
            session=session,
        )
    return a.Auth()
