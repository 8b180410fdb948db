"""The five ``pagination:`` types: cursor, offset, page_number, link_header, next_url.

Each says how to find the next page (``_next``) and, for the warnings of the base class
(:class:`~source_solidafy.rest.pagination.Paginator`), its page size and the YAML keys to check.

    pagination: {type: cursor, cursor_param: starting_after, cursor_path: data[-1].id}
    pagination: {type: offset, offset_param: offset, limit_param: limit, limit: 100}
    pagination: {type: page_number, page_param: page, page_size_param: per_page, page_size: 50}
    pagination: {type: link_header, rel: next}
    pagination: {type: next_url, next_url_path: links.next}
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from requests.utils import parse_header_links

from source_solidafy.rest.pages import PagePlan, PageRequest, PageResponse, as_int
from source_solidafy.rest.pagination import Paginator
from source_solidafy.rest.paths import Path, compile_path, keys_hint

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
        return _fewer_than(count, self.limit_param, self.limit, "limit", "limit_param")

    def _request(self, offset: int) -> PageRequest:
        params: dict[str, Any] = {self.offset_param: offset}
        if self.limit_param:
            params[self.limit_param] = self.limit
        return PageRequest(params=params, token=offset)

    def first(self) -> PageRequest:
        return self._request(0)

    def _page_at(self, first: PageRequest, k: int) -> PageRequest:
        return self._request((first.token or 0) + k * self.limit)

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
        return _fewer_than(count, self.page_size_param, self.page_size, "page_size", "page_size_param")

    def _request(self, page: int) -> PageRequest:
        params: dict[str, Any] = {self.page_param: page}
        if self.page_size_param and self.page_size is not None:
            params[self.page_size_param] = self.page_size
        return PageRequest(params=params, token=page)

    def first(self) -> PageRequest:
        return self._request(self.start_page)

    def _page_at(self, first: PageRequest, k: int) -> PageRequest:
        return self._request((first.token if first.token is not None else self.start_page) + k)

    def _total_pages(self, response: PageResponse, body: Any) -> tuple[int, str] | None:
        """A reported total, else the page number of the ``Link`` header's ``rel="last"`` (GitHub's)."""
        found = super()._total_pages(response, body)
        if found is not None:
            return found
        for link in parse_header_links(response.headers.get("link") or ""):
            if "last" in (link.get("rel") or "").lower().split():
                last = as_int((parse_qs(urlsplit(link.get("url") or "").query).get(self.page_param) or [""])[0])
                if last is not None:
                    return last - self.start_page + 1, f"the Link header's rel=\"last\" ({link.get('url')})"
        return None

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
        target = _links(response).get(self.rel.lower())
        return _follow(response.url, target) if target else None

    def ahead(self, response: PageResponse, body: Any, records: list[Any], first: PageRequest) -> PagePlan | None:
        """With ``parallel`` (opt-in), a ``rel="last"`` link that differs from the next one in one integer
        query parameter only (GitHub's ``page``) names the pages between: their URLs, in order."""
        if not self.parallel or first.pages or first.probe is not None or not records:
            return None
        links = _links(response)
        nxt, last = links.get(self.rel.lower()), links.get("last")
        counted = _counted(urljoin(response.url, nxt), urljoin(response.url, last)) if nxt and last else None
        if counted is None:
            return None
        template, start, end = counted
        pages = end - start + 2 if self.max_pages is None else min(end - start + 2, self.max_pages)
        if pages <= 1:
            return None
        return PagePlan(pages, f"the Link header's rel=\"last\" ({last})",
                        (_follow(template, template.replace("{}", str(start + k - 1))) for k in range(1, pages)))


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


def _fewer_than(count: int, param: str | None, size: int, size_key: str, param_key: str) -> tuple[str, str]:
    """A short page ended the pages: what it was, and the YAML key to check (the page-size parameter)."""
    if not param:
        return f"a page of {count} records, fewer than {size_key}={size}", f" (set pagination.{param_key})"
    return (f"a page of {count} records, fewer than {param}={size}",
            f": does the API read pagination.{param_key} '{param}'?")


def _header_missing(response: PageResponse, name: str, key: str) -> str | None:
    if response.headers.get(name) is not None:
        return None
    headers = {str(h): h for h in response.headers}
    return f"{key} '{name}' is not in the response headers of {response.url}{keys_hint(name, headers, label='headers')}"


def _links(response: PageResponse) -> dict[str, str]:
    """The ``Link`` header's URLs by relation type (lower-cased: they are case-insensitive, RFC 8288)."""
    out: dict[str, str] = {}
    for link in parse_header_links(response.headers.get("link") or ""):
        for rel in (link.get("rel") or "").lower().split():
            if link.get("url"):
                out.setdefault(rel, link["url"])
    return out


def _counted(nxt: str, last: str) -> tuple[str, int, int] | None:
    """``next`` as a template (``{}`` where its page number is), its number and ``last``'s, when the two
    URLs differ in one integer query value only; None otherwise."""
    a, b = urlsplit(nxt), urlsplit(last)
    pairs_a, pairs_b = a.query.split("&"), b.query.split("&")
    if a._replace(query="") != b._replace(query="") or len(pairs_a) != len(pairs_b):
        return None
    differ = [i for i, (x, y) in enumerate(zip(pairs_a, pairs_b, strict=True)) if x != y]
    if len(differ) != 1:
        return None
    i = differ[0]
    (key_a, _, start), (key_b, _, end) = pairs_a[i].partition("="), pairs_b[i].partition("=")
    if key_a != key_b or not start.isdigit() or not end.isdigit() or int(end) < int(start) or "{" in nxt:
        return None
    pairs_a[i] = f"{key_a}={{}}"
    return a._replace(query="&".join(pairs_a)).geturl(), int(start), int(end)


def _follow(current_url: str, target: str) -> PageRequest:
    url = urljoin(current_url, target)
    return PageRequest(url=url, as_is=True, token=url)
