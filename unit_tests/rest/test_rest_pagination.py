from __future__ import annotations

from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from source_solidafy.rest.pages import PageRequest, page_size_of
from source_solidafy.rest.pagination import Paginator
from source_solidafy.rest.paginators import (
    CursorPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
)
from source_solidafy.rest.stops import EmptyPage, FieldEquals, TotalCount, TotalPages


class Resp:
    def __init__(self, url: str = "https://api.example.com/v1/things?limit=2", **headers: str) -> None:
        self.url = url
        self.headers = CaseInsensitiveDict(headers)


def test_pagination_stripe_cursor_from_last_record_stops_on_has_more_false() -> None:
    pag = CursorPaginator("starting_after", cursor_path="data[-1].id", stop=FieldEquals("has_more", False))
    first = pag.first()
    assert first.resolve("/customers", {"limit": 100}) == ("/customers", {"limit": 100}, None, None)
    page1 = {"has_more": True, "data": [{"id": "cus_1"}, {"id": "cus_2"}]}
    nxt = pag.next(Resp(), page1, page1["data"], first)
    assert nxt is not None
    assert nxt.resolve("/customers", {"limit": 100})[1] == {"limit": 100, "starting_after": "cus_2"}
    page2 = {"has_more": False, "data": [{"id": "cus_3"}]}
    assert pag.next(Resp(), page2, page2["data"], nxt) is None


@pytest.mark.parametrize("cursor", [None, "", "null"])
def test_pagination_cursor_stops_on_empty_values(cursor: Any) -> None:
    pag = CursorPaginator("page", cursor_path="next_page")
    assert pag.next(Resp(), {"next_page": cursor}, [{}], pag.first()) is None
    assert pag.next(Resp(), {}, [{}], pag.first()) is None


def test_pagination_cursor_stops_when_cursor_repeats() -> None:
    pag = CursorPaginator("page", cursor_path="next")
    req = pag.next(Resp(), {"next": "p2"}, [{}], pag.first())
    assert req is not None and req.token == "p2"
    assert pag.next(Resp(), {"next": "p2"}, [{}], req) is None


def test_pagination_cursor_from_header_salesforce_locator() -> None:
    pag = CursorPaginator("locator", cursor_header="Sforce-Locator")
    req = pag.next(Resp(**{"Sforce-Locator": "MTAwMDA"}), None, [{}], pag.first())
    assert req is not None and req.params == {"locator": "MTAwMDA"}
    assert pag.next(Resp(**{"Sforce-Locator": "null"}), None, [{}], req) is None


def test_pagination_cursor_in_header_or_body() -> None:
    in_header = CursorPaginator("X-Cursor", cursor_path="c", location="header")
    req = in_header.next(Resp(), {"c": 7}, [{}], in_header.first())
    assert req is not None and req.resolve("/p", None, {"A": "1"}) == ("/p", None, {"A": "1", "X-Cursor": "7"}, None)
    in_body = CursorPaginator("after", cursor_path="paging.next.after", location="body")
    req = in_body.next(Resp(), {"paging": {"next": {"after": "10"}}}, [{}], in_body.first())
    assert req is not None
    assert req.resolve("/search", None, None, {"limit": 100, "filters": []})[3] == {"limit": 100, "filters": [], "after": "10"}


def test_pagination_cursor_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        CursorPaginator("c")
    with pytest.raises(ValueError, match="location"):
        CursorPaginator("c", cursor_path="x", location="cookie")


def test_pagination_offset_advances_by_limit_and_stops_on_short_page() -> None:
    pag = OffsetPaginator("offset", "limit", 2)
    req = pag.first()
    assert req.params == {"offset": 0, "limit": 2}
    req2 = pag.next(Resp(), None, [1, 2], req)
    assert req2 is not None and req2.params == {"offset": 2, "limit": 2}
    req3 = pag.next(Resp(), None, [3, 4], req2)
    assert req3 is not None and req3.params["offset"] == 4
    assert pag.next(Resp(), None, [5], req3) is None


def test_pagination_offset_total_count_stop() -> None:
    pag = OffsetPaginator("offset", "limit", 2, stop=TotalCount("meta.total"))
    req = pag.next(Resp(), {"meta": {"total": 4}}, [1, 2], pag.first())
    assert req is not None and req.records == 2
    assert pag.next(Resp(), {"meta": {"total": 4}}, [3, 4], req) is None


def test_pagination_page_number_cloudflare_total_pages() -> None:
    pag = PageNumberPaginator("page", 1, "per_page", 2, stop=TotalPages("result_info.total_pages"))
    req = pag.first()
    assert req.params == {"page": 1, "per_page": 2}
    body = {"result_info": {"total_pages": 2}}
    req2 = pag.next(Resp(), body, [1, 2], req)
    assert req2 is not None and req2.params == {"page": 2, "per_page": 2}
    assert pag.next(Resp(), body, [3, 4], req2) is None


def test_pagination_page_number_stops_on_empty_or_short_page() -> None:
    pag = PageNumberPaginator("p", start_page=0)
    req = pag.next(Resp(), None, [1], pag.first())
    assert req is not None and req.params == {"p": 1}
    assert pag.next(Resp(), None, [], req) is None
    sized = PageNumberPaginator("p", page_size=3)
    assert sized.next(Resp(), None, [1, 2], sized.first()) is None


def test_pagination_link_header_follows_rel_next_as_is() -> None:
    link = ('<https://api.github.com/orgs/o/repos?page=1>; rel="prev", '
            '<https://api.github.com/orgs/o/repos?page=3&per_page=100>; rel="next"')
    pag = LinkHeaderPaginator()
    req = pag.next(Resp(Link=link), [], [{}], pag.first())
    assert req is not None
    assert req.resolve("/orgs/o/repos", {"per_page": 100}) == (
        "https://api.github.com/orgs/o/repos?page=3&per_page=100", None, None, None)
    assert pag.next(Resp(Link='<https://x/1>; rel="prev"'), [], [{}], req) is None
    assert pag.next(Resp(), [], [{}], req) is None


def test_pagination_link_header_relative_target_resolves_against_request() -> None:
    pag = LinkHeaderPaginator()
    req = pag.next(Resp("https://s.myshopify.com/admin/api/2024-01/products.json?limit=2",
                        Link='</admin/api/2024-01/products.json?page_info=abc>; rel="next"'), [], [{}], pag.first())
    assert req is not None and req.url == "https://s.myshopify.com/admin/api/2024-01/products.json?page_info=abc"


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        ("https://x.my.salesforce.com/services/data/v59.0/query?q=SELECT", "/services/data/v59.0/query/01g-2000",
         "https://x.my.salesforce.com/services/data/v59.0/query/01g-2000"),
        ("https://h/api/v2/tickets.json?page[size]=2", "https://h/api/v2/tickets.json?page[after]=x",
         "https://h/api/v2/tickets.json?page[after]=x"),
        ("https://h/a/b/c", "d?x=1", "https://h/a/b/d?x=1"),
    ],
)
def test_pagination_next_url_resolves_rfc3986(current: str, target: str, expected: str) -> None:
    pag = NextUrlPaginator("links.next")
    req = pag.next(Resp(current), {"links": {"next": target}}, [{}], pag.first())
    assert req is not None and req.as_is and req.url == expected


def test_pagination_next_url_stops_on_null() -> None:
    pag = NextUrlPaginator("nextRecordsUrl")
    assert pag.next(Resp(), {"done": True}, [{}], pag.first()) is None
    assert pag.next(Resp(), {"nextRecordsUrl": None}, [{}], pag.first()) is None


def test_pagination_repeat_request_stops_with_warning() -> None:
    warnings: list[str] = []
    pag = NextUrlPaginator("next", warn=warnings.append)
    first = pag.next(Resp(), {"next": "https://h/p2"}, [{}], pag.first())
    assert first is not None
    # the API hands back a different token but the same URL: caught as a repeat
    again = PageRequest(url="https://h/p2", as_is=True, token="other")
    assert pag.next(Resp("https://h/p2"), {"next": "https://h/p2"}, [{}], again) is None
    assert warnings and "repeat" in warnings[0]


def test_pagination_max_pages_stops() -> None:
    warnings: list[str] = []
    pag = PageNumberPaginator("page", max_pages=2, warn=warnings.append)
    req = pag.next(Resp(), None, [1], pag.first())
    assert req is not None
    assert pag.next(Resp(), None, [1], req) is None
    assert "max_pages=2" in warnings[0]


def test_pagination_stop_conditions_compose_with_any_paginator() -> None:
    pag = CursorPaginator("cursor", cursor_path="after_cursor", stop=[FieldEquals("end_of_stream", True), EmptyPage()])
    assert pag.next(Resp(), {"after_cursor": "a", "end_of_stream": True}, [{}], pag.first()) is None
    assert pag.next(Resp(), {"after_cursor": "a", "end_of_stream": False}, [], pag.first()) is None
    assert pag.next(Resp(), {"after_cursor": "a", "end_of_stream": "false"}, [{}], pag.first()) is not None


def test_pagination_none_is_single_request() -> None:
    pag = Paginator()
    assert pag.next(Resp(), {}, [{}], pag.first()) is None


def test_pagination_resolve_keeps_pair_lists_and_overrides_keys() -> None:
    pag = CursorPaginator("page", cursor_path="next")
    req = pag.next(Resp(), {"next": "p2"}, [{}], pag.first())
    assert req is not None
    pairs = [("group_by[]", "model"), ("group_by[]", "workspace_id"), ("page", "old")]
    assert req.resolve("/r", pairs)[1] == [("group_by[]", "model"), ("group_by[]", "workspace_id"), ("page", "p2")]
    assert pag.first().resolve("/r", pairs)[1] is pairs
    assert pag.first().resolve("/r", [])[1] is None


@pytest.mark.parametrize(
    ("params", "body", "expected"),
    [
        ({"limit": "100"}, None, ("limit", 100)),
        ([("q", "x"), ("per_page", "50")], None, ("per_page", 50)),
        ({"page[size]": 25}, None, ("page[size]", 25)),
        ({"maxRecords": "50000"}, None, ("maxRecords", 50000)),
        ({"$top": "10"}, None, ("$top", 10)),
        (None, {"limit": 4, "after": "x"}, ("limit", 4)),
        ({"q": "limit"}, None, None),
        ({"limit": "all"}, None, None),
        ({"limit": "0"}, None, None),
    ],
)
def test_pagination_page_size_of_request(params: Any, body: Any, expected: Any) -> None:
    assert page_size_of(params, body) == expected


def test_pagination_full_first_page_without_a_next_value_warns_null_does_not() -> None:
    warnings: list[str] = []
    pag = CursorPaginator("cursor", cursor_path="next", warn=warnings.append, requested_size=("limit", 2))
    records = [{}, {}]
    assert pag.next(Resp(), {"data": records, "next_cursor": "c2"}, records, pag.first()) is None
    assert len(warnings) == 1 and "did you mean 'next_cursor'?" in warnings[0] and "(2 records for limit=2)" in warnings[0]
    assert pag.next(Resp(), {"data": records, "next": None}, records, pag.first()) is None  # null: the end
    assert pag.next(Resp(), {"data": records[:1]}, records[:1], pag.first()) is None  # a short page: the end
    assert len(warnings) == 1


def test_pagination_link_header_without_our_rel_on_a_full_page_warns() -> None:
    warnings: list[str] = []
    pag = LinkHeaderPaginator("nxt", warn=warnings.append, requested_size=("per_page", 2))
    assert pag.next(Resp(Link='<https://h/p2>; rel="next"'), None, [{}, {}], pag.first()) is None
    assert "pagination.rel 'nxt' is not in the Link header" in warnings[0] and "did you mean 'next'?" in warnings[0]
    upper = LinkHeaderPaginator("Next")  # relation types compare case-insensitively
    assert upper.next(Resp(Link='<https://h/p2>; rel="next"'), None, [{}], upper.first()) is not None
    assert pag.next(Resp(), None, [{}, {}], pag.first()) is None  # no Link header at all: the end
    assert len(warnings) == 1
