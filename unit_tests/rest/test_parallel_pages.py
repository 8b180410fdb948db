"""The pieces of pages fetched at once: the plan a first page gives, the fetcher, the fair request slots."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from source_solidafy.queues import FairSlots
from source_solidafy.rest.pages import PageRequest
from source_solidafy.rest.paginators import (
    CursorPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
)
from source_solidafy.rest.parallel_pages import PageFetcher, fetch_window
from source_solidafy.rest.stops import TotalCount, TotalPages


class Resp:
    def __init__(self, url: str = "https://api.example.com/v1/things", **headers: str) -> None:
        self.url = url
        self.headers = CaseInsensitiveDict(headers)


def _params(plan: Any) -> list[dict[str, Any]]:
    return [r.params for r in plan.requests]


def test_offset_plan_from_a_total_count() -> None:
    pag = OffsetPaginator("offset", "limit", 10, stop=TotalCount("meta.total"), parallel=True)
    first = pag.first()
    plan = pag.ahead(Resp(), {"meta": {"total": 35}}, [{}] * 10, first)
    assert plan is not None and plan.pages == 4 and plan.said == "pagination.stop total_count 'meta.total' says 35 records"
    assert _params(plan) == [{"offset": 10, "limit": 10}, {"offset": 20, "limit": 10}, {"offset": 30, "limit": 10}]


def test_the_plan_is_what_next_would_ask_for() -> None:
    pag = OffsetPaginator("offset", "limit", 10, stop=TotalCount("meta.total"), parallel=True)
    first = pag.first()
    plan = pag.ahead(Resp(), {"meta": {"total": 35}}, [{}] * 10, first)
    assert plan is not None
    nxt = pag.next(Resp(), {"meta": {"total": 35}}, [{}] * 10, first)
    assert nxt is not None and next(plan.requests).same_as(nxt)


@pytest.mark.parametrize(("body", "records", "parallel", "why"), [
    ({"meta": {"total": 35}}, 9, True, "a short first page is the last"),
    ({"meta": {"total": 10}}, 10, True, "one page in all"),
    ({"meta": {}}, 10, True, "no total"),
    ({"meta": {"total": 35}}, 10, False, "parallel: false"),
])
def test_no_offset_plan(body: dict[str, Any], records: int, parallel: bool, why: str) -> None:
    pag = OffsetPaginator("offset", "limit", 10, stop=TotalCount("meta.total"), parallel=parallel)
    assert pag.ahead(Resp(), body, [{}] * records, pag.first()) is None, why


def test_max_pages_bounds_the_plan() -> None:
    pag = OffsetPaginator("offset", "limit", 10, stop=TotalCount("meta.total"), max_pages=2, parallel=True)
    plan = pag.ahead(Resp(), {"meta": {"total": 95}}, [{}] * 10, pag.first())
    assert plan is not None and plan.pages == 2 and len(_params(plan)) == 1


def test_page_number_plans_from_total_pages_or_the_last_link() -> None:
    pag = PageNumberPaginator("page", 1, "per_page", 5, stop=TotalPages("info.total_pages"), parallel=True)
    plan = pag.ahead(Resp(), {"info": {"total_pages": 3}}, [{}] * 5, pag.first())
    assert plan is not None and _params(plan) == [{"page": 2, "per_page": 5}, {"page": 3, "per_page": 5}]
    github = PageNumberPaginator("page", 1, "per_page", 5, parallel=True)
    link = ('<https://api.github.com/repos/o/r/issues?per_page=5&page=2>; rel="next", '
            '<https://api.github.com/repos/o/r/issues?per_page=5&page=4>; rel="last"')
    plan = github.ahead(Resp(link=link), [], [{}] * 5, github.first())
    assert plan is not None and plan.pages == 4 and [p["page"] for p in _params(plan)] == [2, 3, 4]
    assert 'rel="last"' in plan.said


def test_a_cursor_paginator_has_no_plan() -> None:
    pag = CursorPaginator("cursor", cursor_path="next", stop=TotalCount("total"))
    assert pag.ahead(Resp(), {"total": 100, "next": "x"}, [{}] * 10, pag.first()) is None


def _fetcher(warnings: list[str]) -> tuple[PageFetcher, list[dict[str, Any]]]:
    fetched: list[dict[str, Any]] = []
    lock = threading.Lock()

    def fetch(page: PageRequest) -> Any:
        with lock:
            fetched.append(page.params)
        return page.params

    return PageFetcher(fetch, 2, warnings.append, "offset", lambda: None), fetched


def test_fetcher_serves_planned_pages_and_warns_when_they_end_early() -> None:
    warnings: list[str] = []
    fetcher, fetched = _fetcher(warnings)
    pag = OffsetPaginator("offset", "limit", 10, stop=TotalCount("total"), parallel=True)
    first = pag.first()
    assert fetcher.get(first) == {"offset": 0, "limit": 10}
    fetcher.plan(pag.ahead(Resp(), {"total": 40}, [{}] * 10, first))
    assert fetcher.get(pag._request(10)) == {"offset": 10, "limit": 10}
    fetcher.ended()  # the paginator stopped after two of four pages
    assert len(warnings) == 1 and "the pages ended after 2 of the 4 planned" in warnings[0]
    assert len(fetched) <= 4


def test_fetcher_a_page_off_the_plan_is_fetched_with_a_warning() -> None:
    warnings: list[str] = []
    fetcher, _ = _fetcher(warnings)
    pag = OffsetPaginator("offset", "limit", 10, stop=TotalCount("total"), parallel=True)
    fetcher.plan(pag.ahead(Resp(), {"total": 40}, [{}] * 10, pag.first()))
    assert fetcher.get(pag._request(15)) == {"offset": 15, "limit": 10}
    assert "the read asked for a page the plan does not have next (offset=15, limit=10)" in warnings[0]
    fetcher.close()


def test_fetcher_one_page_past_the_plan_may_only_be_empty() -> None:
    warnings: list[str] = []
    fetcher, _ = _fetcher(warnings)
    pag = PageNumberPaginator("page", 1, None, 10, stop=TotalPages("pages"), parallel=True)
    fetcher.plan(pag.ahead(Resp(), {"pages": 2}, [{}] * 10, pag.first()))
    fetcher.get(pag._request(2))
    fetcher.got(10, {"pages": 2})
    fetcher.get(pag._request(3))
    fetcher.got(0, {"pages": 2})
    assert warnings == []
    fetcher.get(pag._request(4))
    fetcher.got(3, {"pages": 2})
    fetcher.ended()
    assert len(warnings) == 1 and "a page past the 2 planned has 3 records" in warnings[0]


def test_fetch_window() -> None:
    assert fetch_window(4, None) == 8 and fetch_window(1, None) == 0 and fetch_window(8, 100) == 0


def test_fair_slots_hand_a_released_slot_to_the_longest_waiter() -> None:
    slots = FairSlots(1)
    assert slots.acquire()
    order: list[int] = []
    threads = []
    for i in range(3):
        ev = threading.Event()

        def wait(i: int = i, ev: threading.Event = ev) -> None:
            ev.set()
            with slots:
                order.append(i)

        t = threading.Thread(target=wait)
        t.start()
        ev.wait()
        while len(slots._waiters) < i + 1:  # the thread is in line
            threading.Event().wait(0.001)
        threads.append(t)
    slots.release()
    for t in threads:
        t.join()
    assert order == [0, 1, 2]


def test_fair_slots_bounded_and_timeout() -> None:
    slots = FairSlots(2)
    assert slots.acquire() and slots.acquire()
    assert slots.acquire(timeout=0.01) is False and slots.acquire(blocking=False) is False
    slots.release()
    slots.release()
    with pytest.raises(ValueError):
        slots.release()


def test_link_header_plans_between_next_and_last_only_when_opted_in() -> None:
    link = ('<https://api.github.com/repos/o/r/issues?state=all&per_page=5&page=2>; rel="next", '
            '<https://api.github.com/repos/o/r/issues?state=all&per_page=5&page=4>; rel="last"')
    resp = Resp("https://api.github.com/repos/o/r/issues?state=all&per_page=5", link=link)
    assert LinkHeaderPaginator().ahead(resp, [], [{}] * 5, PageRequest()) is None  # opt-in
    pag = LinkHeaderPaginator(parallel=True)
    plan = pag.ahead(resp, [], [{}] * 5, pag.first())
    assert plan is not None and plan.pages == 4
    urls = [r.url for r in plan.requests]
    assert urls == [f"https://api.github.com/repos/o/r/issues?state=all&per_page=5&page={p}" for p in (2, 3, 4)]
    nxt = pag.next(resp, [], [{}] * 5, pag.first())
    assert nxt is not None and nxt.url == urls[0]


@pytest.mark.parametrize("last", [
    "https://api.github.com/repos/o/r/issues?state=open&per_page=5&page=4",  # two values differ
    "https://api.github.com/repos/o/r/issues?state=all&per_page=5&after=Y3Vyc29y",  # a cursor, not a page
    "https://api.github.com/repos/o/r/pulls?state=all&per_page=5&page=4",  # another path
])
def test_link_header_no_plan_when_last_is_not_a_page_number(last: str) -> None:
    link = (f'<https://api.github.com/repos/o/r/issues?state=all&per_page=5&page=2>; rel="next", '
            f'<{last}>; rel="last"')
    pag = LinkHeaderPaginator(parallel=True)
    assert pag.ahead(Resp(link=link), [], [{}] * 5, pag.first()) is None
