"""Fetching a request chain's pages, some of them ahead and at once when the first page allows it.

A paginator that counts pages (offset, page number) learns from a full first page how many pages
there are (a ``total_count``/``total_pages`` stop, a ``Link: rel="last"``): :meth:`Paginator.ahead
<source_solidafy.rest.pagination.Paginator.ahead>` lists their requests. :class:`PageFetcher` then
keeps up to ``window`` of them on their way (each holds one of the sync's request slots while on the
wire, so the API never sees more than ``--concurrency`` requests of the sync) while the reader goes on exactly as it
would one page at a time: it asks the paginator for the next request after each page, and gets the
response fetched ahead when the request is the planned one. So every check of the pages (short or
empty pages, totals, repeated pages, ``max_pages``) runs on the same responses in the same order,
records and states come out in page order, and a page fetched ahead that the read would not have
asked for is dropped unread.

When the pages read disagree with what the first page announced (the pages ended early or went on
past it, or a later page reports another total: records were added, removed or shifted while the
pages were read), the fetcher warns (the
stream's state is held) and any further page is read one at a time.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from source_solidafy.rest.pages import PagePlan, PageRequest
from source_solidafy.source import WarnFn

if TYPE_CHECKING:
    from source_solidafy.rest.http import Response

Fetch = Callable[[PageRequest], "Response"]


class PageFetcher:
    """The responses of one request chain, in order: fetched on demand, or ahead along a :class:`PagePlan`."""

    def __init__(self, fetch: Fetch, window: int, warn: WarnFn, kind: str, on_thread: Callable[[], None]) -> None:
        self._fetch, self.window, self._warn, self.kind = fetch, window, warn, kind
        self._on_thread = on_thread  # run first in each fetch thread (the client's log for this stream)
        self._plan: PagePlan | None = None
        self._ahead: deque[tuple[PageRequest, Future[Response]]] = deque()
        self._open = False  # fetching ahead along the plan
        self._taken = 0  # planned pages the read used
        self._beyond = False  # the page just fetched is past the planned ones
        self.fetched_ahead = 0

    def get(self, page: PageRequest) -> Response:
        """The response to ``page``: the one fetched ahead when ``page`` is the planned next one."""
        self._beyond = False
        if self._ahead:
            planned, future = self._ahead[0]
            if planned.same_as(page):
                self._ahead.popleft()
                self._taken += 1
                self._fill()
                return future.result()  # its failure is the read's, raised where it would have been
            self._disagree(f"the read asked for a page the plan does not have next ({self._describe(page)})")
        self._beyond = self._plan is not None  # every planned page was read, and the paginator goes on
        return self._fetch(page)

    def got(self, records: int, body: Any) -> None:
        """The page just read (``body``, ``records`` records) agrees with the plan: it says the same total,
        and a page past the planned ones is empty."""
        plan = self._plan
        if plan is None:
            return
        if self._beyond and records:
            self._disagree(f"a page past the {plan.pages} planned has {records} records")
            return
        said = plan.recheck(body) if plan.recheck is not None and self._taken else None
        if said is not None and said != plan.said:
            self._disagree(f"a later page: {said}")

    def plan(self, plan: PagePlan | None) -> None:
        """Start fetching the pages of ``plan`` (once per chain; None: nothing to fetch ahead)."""
        if plan is None or self._plan is not None or self.window < 1:
            return
        self._plan, self._open = plan, True
        self._fill()

    def ended(self) -> None:
        """The paginator found no next page: did the pages end where the first page said they would?"""
        plan = self._plan
        if plan is not None and self._open and self._taken + 1 < plan.pages:
            self._disagree(f"the pages ended after {self._taken + 1} of the {plan.pages} planned")
        self.close()

    def close(self) -> None:
        """Drop what was fetched ahead and not used; requests on the wire finish in the background."""
        for _, future in self._ahead:
            future.cancel()
        self._ahead.clear()
        self._open = False

    def _fill(self) -> None:
        plan = self._plan
        if plan is None or not self._open:
            return
        while len(self._ahead) < self.window:
            nxt = next(plan.requests, None)
            if nxt is None:
                return
            future: Future[Response] = Future()
            # a daemon thread per page: a request still on the wire never holds up the process's exit
            threading.Thread(target=self._run, args=(nxt, future), daemon=True, name="page-ahead").start()
            self._ahead.append((nxt, future))
            self.fetched_ahead += 1

    def _run(self, page: PageRequest, future: Future[Response]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            self._on_thread()
            future.set_result(self._fetch(page))
        except BaseException as exc:  # noqa: BLE001 - raised where the read uses the page
            future.set_exception(exc)

    def _disagree(self, what: str) -> None:
        plan = self._plan
        assert plan is not None
        self.close()
        self._plan = None
        self._warn(f"{self.kind} pagination: the pages read disagree with the first page ({plan.said}, "
                   f"{plan.pages} pages): {what}; records may have been added, removed or shifted while the "
                   "pages were read, so some may be missing or repeated (set pagination.parallel: false to "
                   "read one page at a time)")

    @staticmethod
    def _describe(page: PageRequest) -> str:
        return page.url or ", ".join(f"{k}={v}" for k, v in {**page.params, **page.body}.items()) or "?"


def fetch_window(concurrency: int, max_records: int | None) -> int:
    """Pages fetched ahead at most: twice ``--concurrency`` (none at 1, nor under ``--max-records``).

    At most ``--concurrency`` of them are on the wire (the request slots); the others wait for a slot,
    so one is ready to go the moment a slot frees, even while the reader is busy with a page.
    """
    return 0 if concurrency <= 1 or max_records is not None else 2 * concurrency
