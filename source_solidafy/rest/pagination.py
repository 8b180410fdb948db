"""Paginators: from one page's response to the next request, or None when done.

A paginator is stateless between pages (partitions share one): what it needs to remember travels in
the :class:`PageRequest` it returns. The stream loop is::

    req = paginator.first()
    while req is not None:
        resp = client.request("GET", *req.resolve(path, params, headers, body)...)
        page = decoder.decode(resp)                     # body parsed once, shared with the paginator
        req = paginator.next(resp, page.body, page.records, req)

Every paginator takes ``stop`` (conditions such as ``FieldEquals("has_more", False)``),
``max_pages``, ``max_empty_pages`` and ``warn``. It also stops, with a warning, when the next request
would repeat any earlier request of the same partition (A->B->A cursors, alternating links: each
request's fingerprint is kept, one small int a page), and after ``max_empty_pages`` empty pages in
a row that each still name a next page (a new cursor on every empty page). A paginator warns only
when it stops while more pages may exist: ``warn`` is the stream's ``ReadContext.warn`` (the warning
lands in the summary and holds the stream's state).

    pagination:
      type: cursor
      cursor_param: starting_after
      cursor_path: data[-1].id
      stop: {type: field, path: has_more, value: false}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin

import orjson
from requests.utils import parse_header_links

from source_solidafy import jsoncodec
from source_solidafy.rest.paths import Path, compile_path, keys_hint
from source_solidafy.source import WarnFn

DEFAULT_MAX_EMPTY_PAGES = 10


class PageResponse(Protocol):
    """What a paginator reads from a response (rest.http.Response satisfies it)."""

    @property
    def url(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass(slots=True)
class PageRequest:
    """Overrides for one page's request.

    ``params``/``headers``/``body`` override the stream's (``body`` fields go into its JSON body);
    with ``as_is`` the request goes to ``url`` exactly (its own query string; the stream's params are
    not added again; Shopify rejects them). ``token`` is the paginator's memory (cursor, offset, page);
    ``pages``/``records`` count what came before this request, ``empty_run`` the empty pages right
    before it; ``seen`` holds the fingerprints of the partition's requests so far (shared down the chain).
    """

    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    as_is: bool = False
    token: Any = None
    pages: int = 0
    records: int = 0
    empty_run: int = 0
    seen: set[int] | None = field(default=None, repr=False, compare=False)
    last_page: int | None = None  # fingerprint of the records of the page before this request
    probe: str | None = None  # why this page is read only to check a stop condition that fired on page 1

    def resolve(
        self,
        path: str,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[str, Any, dict[str, str] | None, Any]:
        """The stream's (path, params, headers, json_body) with this page's overrides applied.

        ``params`` may be a mapping or a list of pairs (repeated keys); the result has the same form,
        with every pair whose key this page overrides replaced.
        """
        merged_headers = {**headers, **self.headers} if headers else dict(self.headers) or None
        if isinstance(json_body, Mapping) and self.body:
            json_body = {**json_body, **self.body}
        elif self.body and json_body is None:
            json_body = dict(self.body)
        if self.as_is and self.url is not None:
            return self.url, (dict(self.params) or None), merged_headers, json_body
        return self.url or path, _merge_params(params, self.params), merged_headers, json_body

    def same_as(self, other: PageRequest) -> bool:
        return (self.url, self.params, self.headers, self.body) == (other.url, other.params, other.headers, other.body)

    def fingerprint(self) -> int:
        """A 64-bit hash of what this request sends (within one partition the rest is the same)."""
        return hash(orjson.dumps([self.url, self.params, self.headers, self.body],
                                 option=orjson.OPT_SORT_KEYS, default=str))


def _merge_params(base: Mapping[str, Any] | Sequence[tuple[str, Any]] | None, over: dict[str, Any]) -> Any:
    if not base:
        return dict(over) or None
    if not over:
        return base
    if isinstance(base, Mapping):
        return {**base, **over}
    return [(k, v) for k, v in base if k not in over] + list(over.items())


class StopCondition:
    """Says, after a page, that there is no next one."""

    key = "pagination.stop"

    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        raise NotImplementedError

    def more_expected(self, body: Any, pages: int, total: int) -> str | None:
        """What the response says is still to come although the pages ended (None: nothing, or unknown)."""
        return None


class EmptyPage(StopCondition):
    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        return not records


class _ReportedTotal(StopCondition):
    """Stop once what was read reaches a total the API reports at ``path``."""

    kind, unit = "", ""

    def __init__(self, path: str) -> None:
        self.path = compile_path(path)
        self.key = f"pagination.stop {self.kind} '{path}'"

    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        count = _as_int(self.path.get(body))
        return count is not None and self._so_far(pages, total) >= count

    def more_expected(self, body: Any, pages: int, total: int) -> str | None:
        count, so_far = _as_int(self.path.get(body)), self._so_far(pages, total)
        return f"{self.key} says {count} {self.unit} and {so_far} were read" if count is not None and so_far < count \
            else None

    def _so_far(self, pages: int, total: int) -> int:
        raise NotImplementedError


class TotalCount(_ReportedTotal):
    """Stop once the records seen reach the total the API reports (``meta.total``)."""

    kind, unit = "total_count", "records"

    def _so_far(self, pages: int, total: int) -> int:
        return total


class TotalPages(_ReportedTotal):
    """Stop once the pages fetched reach the page count the API reports (``result_info.total_pages``)."""

    kind, unit = "total_pages", "pages"

    def _so_far(self, pages: int, total: int) -> int:
        return pages


class FieldEquals(StopCondition):
    """Stop when a body field has a value (``has_more`` == false, ``end_of_stream`` == true)."""

    def __init__(self, path: str, value: Any) -> None:
        self.path, self.value = compile_path(path), value
        self._text = _norm(value)
        self.key = f"pagination.stop field '{path}' == {value!r}"

    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        found = self.path.get(body, _ABSENT)
        return found is not _ABSENT and (found == self.value or _norm(found) == self._text)

    def more_expected(self, body: Any, pages: int, total: int) -> str | None:
        found = self.path.get(body, _ABSENT)
        if found is _ABSENT or found is None or self.should_stop(body, [], pages, total):
            return None
        return f"'{self.path.text}' is {found!r}, not {self.value!r}"


_ABSENT = object()


def _norm(value: Any) -> str:
    return str(value).lower() if isinstance(value, (bool, str, int, float)) or value is None else repr(value)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Paginator:
    """Base: one request, no next page. Subclasses implement ``_next``."""

    kind = "none"

    def __init__(
        self,
        *,
        stop: StopCondition | Iterable[StopCondition] | None = None,
        max_pages: int | None = None,
        max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES,
        warn: WarnFn | None = None,
        requested_size: tuple[str, int] | None = None,
    ) -> None:
        if isinstance(stop, StopCondition):
            stop = [stop]
        self.stops: list[StopCondition] = list(stop or [])
        self.max_pages = max_pages
        self.max_empty_pages = max_empty_pages
        self.warn = warn
        self.requested_size = requested_size  # (parameter, value) the request asks for; see page_size_of()

    def first(self) -> PageRequest:
        return PageRequest()

    def next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        """The request for the page after ``previous``, or None when the stream is done."""
        pages, total = previous.pages + 1, previous.records + len(records)
        if previous.probe is not None:  # read only to check a stop condition that fired on page 1
            if records:
                self._warn(f"{previous.probe}, but page 2 has {len(records)} records ({response.url}); "
                           "later pages were not read")
            return None
        if self.max_pages is not None and pages >= self.max_pages:
            self._warn(f"pagination.max_pages={self.max_pages} reached ({total} records, last page "
                       f"{response.url}); later pages were not read")
            return None
        fired = next((c for c in self.stops if c.should_stop(body, records, pages, total)), None)
        if fired is not None:
            return self._probe(fired, response, body, records, previous)
        req = self._next(response, body, records, previous)
        if req is None:
            self._ended(response, body, records, pages, total)
            return None
        mark = _page_mark(records)
        req.pages, req.records, req.last_page = pages, total, mark
        req.empty_run = 0 if records else previous.empty_run + 1
        if req.empty_run >= self.max_empty_pages:
            self._warn(f"{self.kind} pagination: {req.empty_run} empty pages in a row still name a next page "
                       f"({response.url}); stopping (pagination.max_empty_pages={self.max_empty_pages})")
            return None
        req = self._unless_seen(req, previous, response.url)
        if req is not None and mark is not None and mark == previous.last_page:
            self._warn(f"{self.kind} pagination: page {pages} has the same records as the page before "
                       f"({response.url}); does the API read {self._paging_key()}? Stopping")
            return None
        return req

    def _probe(self, fired: StopCondition, response: PageResponse, body: Any, records: list[Any],
               previous: PageRequest) -> PageRequest | None:
        """A stop condition ended the pages. After a full first page, when the paginator itself would go
        on, read one more page: empty, the data fitted one page exactly; not empty, the stop condition
        fires at once (a wrong path or value) and the stream warns."""
        if previous.pages > 0 or not self._full(len(records)):
            return None
        req = self._next(response, body, records, previous)
        if req is None:
            return None
        req.pages, req.records = 1, len(records)
        req.probe = f"{fired.key} ended the pages after a full first page ({len(records)} records, {response.url})"
        return self._unless_seen(req, previous, response.url)

    def _ended(self, response: PageResponse, body: Any, records: list[Any], pages: int, total: int) -> None:
        """The paginator found no next page: warn when the response says otherwise."""
        if pages == 1:
            self._check_full_first_page(response, body, len(records))
        for condition in self.stops:
            more = condition.more_expected(body, pages, total)
            if more is not None:
                what, hint = self._why_ended(len(records))
                self._warn(f"{self.kind} pagination ended on {what} ({response.url}), but {more}{hint}; "
                           "later pages were not read")
                return

    def _page_size(self) -> int | None:
        """How many records a full page has (the request's page-size parameter); None: unknown."""
        return self.requested_size[1] if self.requested_size is not None else None

    def _full(self, count: int) -> bool:
        size = self._page_size()
        return size is not None and count >= size

    def _paging_key(self) -> str:
        """The YAML key that moves the request to the next page (named when pages repeat)."""
        return "the next page link"

    def _why_ended(self, count: int) -> tuple[str, str]:
        """Why the paginator saw no next page, and a hint at the YAML key to check."""
        return f"a page of {count} records without a next page", ""

    def _unless_seen(self, req: PageRequest, previous: PageRequest, url: str) -> PageRequest | None:
        """``req``, or None (with a warning) when the partition already sent the same request."""
        seen = previous.seen if previous.seen is not None else {previous.fingerprint()}
        mark = req.fingerprint()
        if mark in seen:
            what = "the previous request" if req.same_as(previous) else "an earlier request (a pagination cycle)"
            self._warn(f"{self.kind} pagination would repeat {what} ({url}); stopping after {req.pages} pages")
            return None
        seen.add(mark)
        req.seen = seen
        return req

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        return None

    def _unresolved(self, response: PageResponse, body: Any) -> str | None:
        """Why the next-page value is absent from this response (None: present, even null = the end)."""
        return None

    def _check_full_first_page(self, response: PageResponse, body: Any, count: int) -> None:
        """A first page as long as the page size asked for, and no next-page value: a wrong path, not the end."""
        if self.requested_size is None or not self._full(count):
            return
        why = self._unresolved(response, body)
        if why is not None:
            name, size = self.requested_size
            self._warn(f"{why}, although the first page was full ({count} records for {name}={size}); "
                       "later pages were not read")

    def _warn(self, message: str) -> None:
        """Stopping although more pages may exist: the stream may be incomplete."""
        if self.warn is not None:
            self.warn(message)


_NO_CURSOR = (None, "", "null")


class CursorPaginator(Paginator):
    """Send the cursor from the body (``cursor_path``) or a header (``cursor_header``) as ``cursor_param``.

    Stops when the cursor is missing, null, empty, the string ``"null"`` (Salesforce's
    ``Sforce-Locator``) or the same as last time.
    """

    kind = "cursor"

    def __init__(
        self,
        cursor_param: str,
        cursor_path: str | None = None,
        cursor_header: str | None = None,
        location: str = "query",
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if (cursor_path is None) == (cursor_header is None):
            raise ValueError("cursor pagination needs exactly one of cursor_path or cursor_header")
        if location not in ("query", "header", "body"):
            raise ValueError(f"cursor location must be query, header or body, got {location!r}")
        self.cursor_param, self.location = cursor_param, location
        self.cursor_header = cursor_header
        self.cursor_path: Path | None = compile_path(cursor_path) if cursor_path is not None else None

    def _paging_key(self) -> str:
        return f"pagination.cursor_param '{self.cursor_param}'"

    def _unresolved(self, response: PageResponse, body: Any) -> str | None:
        if self.cursor_path is not None:
            why = self.cursor_path.missing(body)
            where = f"pagination.cursor_path '{self.cursor_path.text}'"
            return f"{where} matched nothing in {response.url}: {why}" if why else None
        return _header_missing(response, self.cursor_header or "", "pagination.cursor_header")

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        if self.cursor_path is not None:
            cursor = self.cursor_path.get(body)
        else:
            cursor = response.headers.get(self.cursor_header or "")
        if cursor in _NO_CURSOR or isinstance(cursor, (dict, list)):
            return None
        if cursor == previous.token:
            key = f"cursor_path '{self.cursor_path.text}'" if self.cursor_path else f"cursor_header '{self.cursor_header}'"
            self._warn(f"pagination.{key} would repeat the previous cursor ({response.url}); "
                       "stopped there, later pages may not have been read")
            return None
        if self.location == "body":
            return PageRequest(body={self.cursor_param: cursor}, token=cursor)
        if self.location == "header":
            return PageRequest(headers={self.cursor_param: str(cursor)}, token=cursor)
        return PageRequest(params={self.cursor_param: cursor}, token=cursor)


class OffsetPaginator(Paginator):
    """``offset_param`` += ``limit``; stops on a page shorter than ``limit`` (or a stop condition)."""

    kind = "offset"

    def __init__(self, offset_param: str, limit_param: str | None, limit: int, **common: Any) -> None:
        super().__init__(**common)
        if limit < 1:
            raise ValueError(f"offset pagination limit must be >= 1, got {limit}")
        self.offset_param, self.limit_param, self.limit = offset_param, limit_param, limit

    def _page_size(self) -> int | None:
        return self.limit

    def _paging_key(self) -> str:
        return f"pagination.offset_param '{self.offset_param}'"

    def _why_ended(self, count: int) -> tuple[str, str]:
        if not self.limit_param:
            return f"a page of {count} records, fewer than limit={self.limit}", " (set pagination.limit_param)"
        return (f"a page of {count} records, fewer than {self.limit_param}={self.limit}",
                f": does the API read pagination.limit_param '{self.limit_param}'?")

    def _request(self, offset: int) -> PageRequest:
        params: dict[str, Any] = {self.offset_param: offset}
        if self.limit_param:
            params[self.limit_param] = self.limit
        return PageRequest(params=params, token=offset)

    def first(self) -> PageRequest:
        return self._request(0)

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        if len(records) < self.limit:
            return None
        return self._request((previous.token or 0) + self.limit)


class PageNumberPaginator(Paginator):
    """``page_param`` = start_page, start_page + 1, ...; stops on an empty or short page."""

    kind = "page_number"

    def __init__(
        self,
        page_param: str,
        start_page: int = 1,
        page_size_param: str | None = None,
        page_size: int | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.page_param, self.start_page = page_param, start_page
        self.page_size_param, self.page_size = page_size_param, page_size

    def _page_size(self) -> int | None:
        return self.page_size if self.page_size is not None else super()._page_size()

    def _paging_key(self) -> str:
        return f"pagination.page_param '{self.page_param}'"

    def _why_ended(self, count: int) -> tuple[str, str]:
        if self.page_size is None:
            return super()._why_ended(count)
        if not self.page_size_param:
            return f"a page of {count} records, fewer than page_size={self.page_size}", " (set pagination.page_size_param)"
        return (f"a page of {count} records, fewer than {self.page_size_param}={self.page_size}",
                f": does the API read pagination.page_size_param '{self.page_size_param}'?")

    def _request(self, page: int) -> PageRequest:
        params: dict[str, Any] = {self.page_param: page}
        if self.page_size_param and self.page_size is not None:
            params[self.page_size_param] = self.page_size
        return PageRequest(params=params, token=page)

    def first(self) -> PageRequest:
        return self._request(self.start_page)

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        if not records or (self.page_size is not None and len(records) < self.page_size):
            return None
        page = previous.token if previous.token is not None else self.start_page
        return self._request(page + 1)


class LinkHeaderPaginator(Paginator):
    """Follow the RFC 8288 ``Link`` header's ``rel="next"`` (GitHub, Shopify), parsed by requests."""

    kind = "link_header"

    def __init__(self, rel: str = "next", **common: Any) -> None:
        super().__init__(**common)
        self.rel = rel

    def _unresolved(self, response: PageResponse, body: Any) -> str | None:
        """No Link header is the end; one without our ``rel`` (``rel: Next`` for ``next``) is a mistake."""
        header = response.headers.get("link")
        if not header:
            return None
        rels = {r: r for link in parse_header_links(header) for r in (link.get("rel") or "").lower().split()}
        if self.rel.lower() in rels:
            return None
        hint = keys_hint(self.rel, rels, label="rels")
        return f"pagination.rel '{self.rel}' is not in the Link header of {response.url}{hint}"

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        header = response.headers.get("link")
        if not header:
            return None
        for link in parse_header_links(header):
            rels = (link.get("rel") or "").lower().split()  # relation types are case-insensitive (RFC 8288)
            if self.rel.lower() in rels and link.get("url"):
                return _follow(response.url, link["url"])
        return None


class NextUrlPaginator(Paginator):
    """Follow a URL found in the body (``links.next``, Salesforce's ``nextRecordsUrl``).

    A relative reference resolves against the current request URL as a browser would (RFC 3986):
    ``/services/data/v59.0/query/01g...`` replaces the path.
    """

    kind = "next_url"

    def __init__(self, next_url_path: str, **common: Any) -> None:
        super().__init__(**common)
        self.next_url_path = compile_path(next_url_path)

    def _unresolved(self, response: PageResponse, body: Any) -> str | None:
        why = self.next_url_path.missing(body)
        where = f"pagination.next_url_path '{self.next_url_path.text}'"
        return f"{where} matched nothing in {response.url}: {why}" if why else None

    def _next(self, response: PageResponse, body: Any, records: list[Any], previous: PageRequest) -> PageRequest | None:
        target = self.next_url_path.get(body)
        if not isinstance(target, str) or target in _NO_CURSOR:
            return None
        return _follow(response.url, target)


def _page_mark(records: list[Any]) -> int | None:
    """A fingerprint of a page's records (its length, first and last): equal on a page served again."""
    if not records:
        return None
    return hash(jsoncodec.dumps([len(records), records[0], records[-1]], default=str))


def _header_missing(response: PageResponse, name: str, key: str) -> str | None:
    if response.headers.get(name) is not None:
        return None
    headers = {str(h): h for h in response.headers}
    return f"{key} '{name}' is not in the response headers of {response.url}{keys_hint(name, headers, label='headers')}"


# Query or body parameters that set a page's length, compared lower-cased without "_", "-", "$", "[]".
_PAGE_SIZE_NAMES = {"limit", "pagesize", "perpage", "maxresults", "maxrecords", "size", "top", "first",
                    "count", "resultsperpage", "pagelimit", "maxpagesize"}


def page_size_of(params: Any, body: Any = None) -> tuple[str, int] | None:
    """The page length a request asks for (``limit=100``, ``per_page``, ``maxRecords``, ``page[size]``...).

    Read from the request's query params (a mapping or pairs) or its JSON body; None when none is found.
    """
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params or [])
    if isinstance(body, Mapping):
        pairs += list(body.items())
    for name, value in pairs:
        key = "".join(c for c in str(name).lower() if c.isalnum())
        if key in _PAGE_SIZE_NAMES and not isinstance(value, (list, dict, bool)):
            size = _as_int(value)
            if size is not None and size > 0:
                return str(name), size
    return None


def _follow(current_url: str, target: str) -> PageRequest:
    url = urljoin(current_url, target)
    return PageRequest(url=url, as_is=True, token=url)
