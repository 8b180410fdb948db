"""Airbyte's DefaultPaginator, with the CDK's semantics, as one of our engine's paginators.

The strategies (``OffsetIncrement``, ``PageIncrement``, ``CursorPagination``) decide the next token;
``page_token_option`` puts it in a query parameter, header or JSON body field (``RequestOption``) or
uses it as the next URL (``RequestPath``: the stream's query parameters are still added, but not twice:
a parameter the URL's query already has keeps the URL's value, as the CDK's ``dedupe_query_params``
drops a repeated key with the same value, the authenticator's query parameter included); ``page_size_option``
sends the page size on every request. Offsets and pages are sent on the first request only with
``inject_on_first_request``. ``CursorPagination`` evaluates ``cursor_value`` and ``stop_condition``
with ``response``, ``headers`` (``headers.link`` is the parsed Link header), ``last_record``,
``last_page_size``, ``page_size``, ``stream_slice`` and ``config``, as the CDK does. The requester's
templates that read ``next_page_token`` are rendered here for each request (``templates``, see
page_templates.py; the strategy ``none`` is NoPagination's, whose token is always None), and a templated
page_size is evaluated with the config (``page_size_template``).

:class:`AirbytePaging` is the model a stream's ``pagination`` holds (registered with the engine's
factory for that slot, built into an :class:`AirbytePaginator`); our base class still stops, with a
warning, on a request that repeats the previous one exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from requests.utils import parse_header_links

from source_solidafy.errors import TemplateError
from source_solidafy.lowcode.interpolation import Interpolated
from source_solidafy.lowcode.page_templates import PageTemplates
from source_solidafy.lowcode.values import stream_slice
from source_solidafy.manifest.fields import Strict, new_list
from source_solidafy.manifest.pyd import Field
from source_solidafy.rest.builders import FACTORY, PageInputs
from source_solidafy.rest.pages import PageRequest, PageResponse
from source_solidafy.rest.pagination import Paginator

FALSE_VALUES = ("False", "false", "{}", "[]", "()", "", "0", "0.0")


class TokenOption(Strict):
    """Where a value goes: ``request_parameter``, ``header``, ``body_json`` (``path`` nests) or ``path``."""

    inject_into: str
    field_name: str = ""
    field_path: list[str] = Field(default_factory=new_list)

    def put(self, page: PageRequest, value: Any) -> None:
        if self.inject_into == "request_parameter":
            page.params[self.field_name] = value
        elif self.inject_into == "header":
            page.headers[self.field_name] = str(value)
        elif self.inject_into == "body_json":
            if self.field_path:
                node = page.body
                for part in self.field_path[:-1]:
                    node = node.setdefault(part, {})
                node[self.field_path[-1]] = value
            else:
                page.body[self.field_name] = value
        elif self.inject_into == "path":  # the CDK's dedupe_query_params: the URL's own query wins
            parts = urlsplit(str(value))
            page.url = urlunsplit(parts._replace(query=""))
            for key, item in parse_qsl(parts.query, keep_blank_values=True):
                prev = page.params.get(key)
                page.params[key] = item if prev is None else [*prev, item] if isinstance(prev, list) else [prev, item]


class AirbytePaging(Strict):
    """The translated paginator (a stream's ``pagination``): ``strategy`` is ``offset``, ``page``, ``cursor`` or
    ``none`` (NoPagination, there only to render the requester's templates that read next_page_token)."""

    strategy: str
    page_size: int | None = None
    page_size_template: Interpolated | None = None  # a page_size of the config's, evaluated once per read
    start_from_page: int = 1
    inject_on_first_request: bool = False
    cursor_value: Interpolated | None = None
    stop_condition: Interpolated | None = None
    token_option: TokenOption | None = None
    size_option: TokenOption | None = None
    type: Literal["airbyte_default"] = "airbyte_default"
    auth_params: list[str] = Field(default_factory=new_list)  # query parameters the authenticator sends
    templates: PageTemplates | None = None  # the requester's templates reading next_page_token


def _headers(response: Any) -> dict[str, Any]:
    headers: dict[str, Any] = dict(getattr(response, "headers", {}) or {})
    links: dict[str, Any] = {}
    for link in parse_header_links(headers.get("link") or headers.get("Link") or ""):
        key = link.get("rel") or link.get("url")
        if key:
            links[key] = link
    headers["link"] = links
    return headers


class AirbytePaginator(Paginator):
    """One DefaultPaginator; the token travels in ``PageRequest.token`` like our paginators' cursors."""

    kind = "airbyte"

    def __init__(self, spec: AirbytePaging, config: Mapping[str, Any], warn: Any = None, partition: Any = None) -> None:
        super().__init__(warn=warn)
        self.spec, self.config, self.partition = spec, config, partition
        self.page_size = spec.page_size  # a templated one: evaluated by first(), before any request

    def _size(self, template: Interpolated) -> int:
        """A templated page_size as the CDK's strategies evaluate it (with the config): an integer or an error."""
        try:
            value = template.eval(self.config)
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            raise TemplateError(f"{template.where}: {exc}") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise TemplateError(f"{template.where}: page_size {value!r} is not an integer (the CDK fails on it too)")
        return value

    def _request(self, token: Any) -> PageRequest:
        page = PageRequest(token=token)
        if self.spec.templates:
            self.spec.templates.apply(page, self.config, self.partition, token)
        if token is not None and self.spec.token_option is not None:
            self.spec.token_option.put(page, token)
            for key in self.spec.auth_params:  # the authenticator adds its own once
                page.params.pop(key, None)
        if self.spec.size_option is not None and self.page_size:
            self.spec.size_option.put(page, self.page_size)
        return page

    def first(self) -> PageRequest:
        s = self.spec
        if s.page_size_template is not None:
            self.page_size = self._size(s.page_size_template)
        token = None
        if s.inject_on_first_request:
            token = 0 if s.strategy == "offset" else s.start_from_page if s.strategy == "page" else None
        return self._request(token)

    def next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        """The engine's checks, but a second page equal to the first is read past when the CDK asks for it.

        PageIncrement counts from 0 by default and sends no page on the first request, so against an
        API whose pages start at 1 the CDK reads page 1 twice (no parameter, then ``page=1``) and goes
        on; our engine would take that repeat for an API ignoring the parameter and stop. Any other
        repeat, or the same page a third time, still stops with the engine's warning.
        """
        s = self.spec
        if previous.pages == 1 and s.strategy == "page" and not s.inject_on_first_request and not s.start_from_page:
            previous.last_page = None
        return super().next(response, body, records, previous)

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        s = self.spec
        size = len(records)
        if s.strategy == "none":
            return None
        if s.strategy in ("offset", "page"):
            if (self.page_size and size < self.page_size) or size == 0:
                return None
            last = previous.token
            if s.strategy == "offset":
                token: Any = size if last is None else last + size
            else:
                token = s.start_from_page + 1 if last is None else last + 1
        else:
            token = self._cursor(response, body, records)
            if token is None:
                return None
        if not token:
            return None
        return self._request(token)

    def _cursor(self, response: Any, body: Any, records: list[Any]) -> Any:
        s = self.spec
        reads_headers = any(v is not None and "headers" in v.text for v in (s.cursor_value, s.stop_condition))
        ctx = {"response": body, "headers": _headers(response) if reads_headers else {},
               "last_record": records[-1] if records else None,
               "last_page_size": len(records), "page_size": self.page_size, "stream_slice": stream_slice(self.partition)}
        if s.stop_condition is not None:
            stop = s.stop_condition.eval(self.config, "False", **ctx)  # InterpolatedBoolean
            if stop not in FALSE_VALUES and stop not in ({}, [], (), False, 0, 0.0) and stop is not None:
                return None
        assert s.cursor_value is not None
        token = s.cursor_value.eval(self.config, **ctx)
        return token if token else None


@FACTORY.register(AirbytePaging, AirbytePaginator, slot="pagination")
def _paginator(spec: AirbytePaging, inputs: PageInputs) -> Paginator:
    """The engine's page size (``inputs.page_size``) is unused: the CDK's strategies know their own (a
    templated one is evaluated with ``inputs.config``); the templates read ``inputs.partition`` too."""
    return AirbytePaginator(spec, inputs.config or {}, inputs.warn, inputs.partition)
