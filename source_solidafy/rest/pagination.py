"""The rules every paginator follows: from one page's response to the next request, or None when done.

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

from collections.abc import Iterable
from typing import Any

from source_solidafy import jsoncodec
from source_solidafy.rest.pages import PagePlan, PageRequest, PageResponse
from source_solidafy.rest.stops import StopCondition
from source_solidafy.source import WarnFn

DEFAULT_MAX_EMPTY_PAGES = 10


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
        parallel: bool = False,
    ) -> None:
        if isinstance(stop, StopCondition):
            stop = [stop]
        self.stops: list[StopCondition] = list(stop or [])
        self.max_pages = max_pages
        self.max_empty_pages = max_empty_pages
        self.warn = warn
        self.requested_size = requested_size  # (parameter, value) the request asks for; see page_size_of()
        self.parallel = parallel  # the pages after the first may be fetched at once (see ahead())

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

    def ahead(self, response: PageResponse, body: Any, records: list[Any], first: PageRequest) -> PagePlan | None:
        """After a full first page, the requests of all the pages after it when the first page says how
        many there are (a reported total, a last-page link); None when it does not, or with ``parallel`` off.

        The requests are exactly those :meth:`next` would make, page after page, so pages fetched
        ahead are only used where the read one page at a time would have asked for them.
        """
        if not self.parallel or first.pages or first.probe is not None or not records or not self._full_or_unknown(
                len(records)):
            return None
        known = self._total_pages(response, body)
        if known is None:
            return None
        pages, said = known
        if self.max_pages is not None:
            pages = min(pages, self.max_pages)
        if pages <= 1:
            return None
        return PagePlan(pages, said, (self._page_at(first, k) for k in range(1, pages)), self._reported)

    def _total_pages(self, response: PageResponse, body: Any) -> tuple[int, str] | None:
        """How many pages there are in all according to the first page (a stop condition's total)."""
        for condition in self.stops:
            found = condition.pages_for(body, self._page_size())
            if found is not None:
                return found
        return None

    def _reported(self, body: Any) -> str | None:
        """What a page's stop condition says of the total, in :meth:`_total_pages`'s words (None: nothing)."""
        found = next((f for c in self.stops if (f := c.pages_for(body, self._page_size())) is not None), None)
        return found[1] if found else None

    def _page_at(self, first: PageRequest, k: int) -> PageRequest:
        """The request of the page ``k`` pages after ``first`` (paginators that count pages)."""
        raise NotImplementedError

    def _full_or_unknown(self, count: int) -> bool:
        return self._page_size() is None or self._full(count)

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


def _page_mark(records: list[Any]) -> int | None:
    """A fingerprint of a page's records (its length, first and last): equal on a page served again."""
    if not records:
        return None
    return hash(jsoncodec.dumps([len(records), records[0], records[-1]], default=str))
