"""The requester's templates that read ``next_page_token``, rendered for each request as airbyte-cdk 7.39.1 does.

The CDK renders the HttpRequester's ``request_parameters``, ``request_headers``, ``request_body_json`` and
``path`` for every request with ``next_page_token`` (``{"next_page_token": token}``, or None before a first
page without a token, and always None without a paginator), the partition (``stream_slice`` and its
aliases) and the config. The paginator (paging.py) holds those that read the token and renders them here:

- a request parameter: the CDK's InterpolatedMapping with ``valid_types`` (str, list); a value that renders
  empty is None and left out; any other value is sent as text;
- a header: the same, without ``valid_types``, then ``str(value)``;
- the JSON body (the whole of ``request_body_json`` as soon as one of its strings reads the token): the
  CDK's InterpolatedNestedMapping, a key whose value renders empty is left out (an item of a list stays
  null), partition values of RequestOptions (``SliceValue``) as they are;
- the path: rendered, its leading slashes removed, joined to ``url_base`` (``HttpRequester._join_url``);
  a RequestPath token of the paginator replaces it;
- the partition router's and cursor's request parameters and headers with the SimpleRetriever's
  ``ignore_stream_slicer_parameters_on_paginated_requests`` (``unpaged_params``/``unpaged_headers``: name
  -> partition field): only on a request without a token (the CDK's ``_get_request_options`` leaves them
  out when ``next_page_token`` is set, a first request's injected token included), the partition's value
  as text (None left out); the requester's own templates, path included, are sent on every request;
- ``request_body_data`` (always rendered here, token or not): a mapping's values as a request
  parameter's, those not None form-encoded as ``requests`` encodes a dict (a list repeats its key, a
  None item is left out; ``application/x-www-form-urlencoded``); nothing is sent when none is left. A
  string is the CDK's InterpolatedString (default ``""``): text is sent as it is, without Content-Type,
  a dict literal is form-encoded like a mapping, anything else (empty, a number, a list) sends no body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from source_solidafy.errors import TemplateError
from source_solidafy.lowcode.interpolation import Interpolated
from source_solidafy.lowcode.values import SliceValue, join_url, stream_slice
from source_solidafy.manifest.fields import Strict, new_dict
from source_solidafy.manifest.pyd import Field
from source_solidafy.rest.pages import PageRequest
from source_solidafy.rest.request import FORM

PARAM_TYPES = (str, list)


def render(template: Interpolated, config: Mapping[str, Any], valid_types: tuple[type, ...] | None = None,
           in_mapping: bool = True, **context: Any) -> Any:
    """One template's value (None when it renders empty); an error names where the template is."""
    try:
        return template.eval(config, None, valid_types, in_mapping, **context)
    except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
        raise TemplateError(f"{template.where}: {exc}") from None


class PageTemplates(Strict):
    """The requester's parts rendered per request: ``params``/``headers`` (by name), ``body`` (the whole
    request_body_json: Interpolated and SliceValue leaves), ``url`` ((url_base, path)) and ``form`` (the
    request_body_data mapping)."""

    params: dict[str, Interpolated] = Field(default_factory=new_dict)
    headers: dict[str, Interpolated] = Field(default_factory=new_dict)
    body: Any = None
    url: tuple[Interpolated, Interpolated] | None = None
    form: dict[str, Any] | Interpolated | None = None  # request_body_data: a mapping (Interpolated values or YAML scalars) or a string
    unpaged_params: dict[str, str] = Field(default_factory=new_dict)  # name -> the partition's field
    unpaged_headers: dict[str, str] = Field(default_factory=new_dict)

    def __bool__(self) -> bool:
        return bool(self.params or self.headers or self.form or self.body is not None or self.url is not None
                    or self.unpaged_params or self.unpaged_headers)

    def apply(self, page: PageRequest, config: Mapping[str, Any], partition: Any, token: Any) -> None:
        """Render them into ``page`` for the request whose paginator token is ``token`` (None: none)."""
        part = stream_slice(partition)
        nxt = {"next_page_token": token} if token is not None else None
        ctx: dict[str, Any] = {"stream_slice": part, "next_page_token": nxt}
        for key, template in self.params.items():
            value = render(template, config, PARAM_TYPES, **ctx)
            if value is not None:
                page.params[key] = value if isinstance(value, PARAM_TYPES) else str(value)
        for key, template in self.headers.items():
            value = render(template, config, None, **ctx)
            if value is not None:
                page.headers[key] = str(value)
        if token is None:
            _put_unpaged(page, self.unpaged_params, self.unpaged_headers, part)
        if self.body is not None:
            page.body.update(_body(self.body, config, part, ctx))
        if self.form:
            _put_form(page, self.form, config, ctx)
        if self.url is not None:
            base, path = (render(t, config, None, False, **ctx) for t in self.url)  # InterpolatedStrings
            page.url = join_url("" if base is None else str(base), "" if path is None else str(path).lstrip("/"))


def _put_unpaged(page: PageRequest, params: dict[str, str], headers: dict[str, str], part: Mapping[str, Any]) -> None:
    """The partition router's and cursor's options, on a request without a token only."""
    for target, fields in ((page.params, params), (page.headers, headers)):
        for name, field in fields.items():
            value = part.get(field)
            if value is not None:
                target[name] = str(value)


def _put_form(page: PageRequest, form: dict[str, Any] | Interpolated, config: Mapping[str, Any],
              ctx: dict[str, Any]) -> None:
    """The form body as the CDK's ``combine_mappings`` and ``requests`` make it: text as it is, a mapping
    encoded (with its Content-Type), no body when empty or anything else."""
    if isinstance(form, Interpolated):
        try:
            value = form.eval(config, None, None, False, **ctx)  # an InterpolatedString (its default: itself)
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{form.where}: {exc}") from None
        if isinstance(value, str):
            page.data = value or None
            return
        if not isinstance(value, dict):
            return
        form = value
    text = _form(form, config, ctx)
    if text:
        page.data = text
        page.headers["Content-Type"] = FORM


def _form(form: dict[str, Any], config: Mapping[str, Any], ctx: dict[str, Any]) -> str:
    """The form's text as ``requests`` encodes the CDK's dict (None values and list items left out)."""
    pairs: list[tuple[str, Any]] = []
    for key, template in form.items():
        value = render(template, config, PARAM_TYPES, **ctx) if isinstance(template, Interpolated) else template
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((key, item))
    return urlencode(pairs)


def _body(node: Any, config: Mapping[str, Any], part: Mapping[str, Any], ctx: dict[str, Any]) -> Any:
    if isinstance(node, Interpolated):
        return render(node, config, None, **ctx)
    if isinstance(node, SliceValue):
        return part.get(node.field)
    if isinstance(node, Mapping):
        out = {k: _body(v, config, part, ctx) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(node, list):
        return [_body(v, config, part, ctx) for v in node]
    return node
