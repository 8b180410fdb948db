"""A request rendered from its templates: the one rendering of parameters, headers and body.

Used for a stream's ``request``, the ``check`` request and an async job's ``create`` and
``download`` (their builders are in :mod:`source_solidafy.rest.builders`)::

    request = render_request("POST", spec.path, spec.params, ctx, headers, spec.body, spec.content_type)
    client.request(request.method, request.path, params=request.params, headers=request.headers,
                   json_body=request.json_body, data=request.data)

Parameters render leniently: one that renders empty is left out; a list of templates is one
parameter repeated (``group_by[]=a&group_by[]=b``). A body is sent as JSON when it parses as JSON
and the content type (``content_type``, else a ``Content-Type`` header) does not say otherwise;
else as written, with that content type, or form-encoded when none is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from source_solidafy.manifest.templates import TemplateString

FORM = "application/x-www-form-urlencoded"
Params = Mapping[str, TemplateString | list[TemplateString]]
ParamPairs = Mapping[str, Any] | Iterable[tuple[str, Any]] | None  # rendered: what HttpClient.request takes


@dataclass(repr=False, eq=False)
class RenderedRequest:
    """What one request sends before a paginator's overrides (``StreamReader.pages`` reads it)."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)  # a list value is a repeated parameter
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    data: str | None = None


class RequestInputs(NamedTuple):
    """What a request's builder needs besides its model: the template context and the headers so far."""

    ctx: Mapping[str, Any]  # build_context(...) of the partition (or of the config, for a check)
    headers: Mapping[str, str]  # the connector's headers (and the stream's), rendered already


def render_params(templates: Params, ctx: Mapping[str, Any]) -> dict[str, Any]:
    """Rendered parameters; one that renders empty is left out, a list value repeats the parameter."""
    out: dict[str, Any] = {}
    for key, tmpl in templates.items():
        values = [t.render(ctx) for t in (tmpl if isinstance(tmpl, list) else [tmpl])]
        values = [v for v in values if v != ""]
        if values:
            out[key] = values if len(values) > 1 else values[0]
    return out


def render_request(
    method: str,
    path: TemplateString,
    params: Params,
    ctx: Mapping[str, Any],
    headers: Mapping[str, str],
    body: TemplateString | None = None,
    content_type: str | None = None,
) -> RenderedRequest:
    """The request with its templates rendered against ``ctx``; ``headers`` are copied, not changed."""
    sent = dict(headers)
    json_body, data = _body(body.render(ctx), content_type, sent) if body is not None else (None, None)
    return RenderedRequest(method, path.render(ctx), render_params(params, ctx), sent, json_body, data)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (None when absent)."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _body(text: str, content_type: str | None, headers: dict[str, str]) -> tuple[Any, str | None]:
    """(json_body, data) for a rendered body; sets ``Content-Type`` in ``headers`` when it must."""
    declared = content_type or header(headers, "Content-Type")
    if declared and "json" not in declared:
        if content_type:
            headers["Content-Type"] = content_type
        return None, text
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError:
        if header(headers, "Content-Type") is None:
            headers["Content-Type"] = content_type or FORM
        return None, text


def param_list(params: ParamPairs) -> list[tuple[str, Any]]:
    """Params as (key, value) pairs; a list value becomes repeated keys, None values are dropped."""
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, Any]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.extend((key, v) for v in value)
        else:
            out.append((key, value))
    return out
