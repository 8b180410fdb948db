"""Every paginator end to end: three or more pages, the API's own end signal, and no extra request."""

from __future__ import annotations

import json

import pytest

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import GenericApi, connector, json_body, make_items
from integration_tests.mocks.server import MockServer, Request

ITEMS = make_items(15)
IDS = [r["id"] for r in ITEMS]


def _read(stream: str, *extra: str) -> tuple[Result, list[Request]]:
    with MockServer(GenericApi(ITEMS)) as srv:
        cfg = json_body({"base_url": f"{srv.url}/v1"})
        res = run_cli("read", "-c", connector("pages"), "--config-json", cfg, "--streams", stream, *extra)
    return res, srv.requests


def _ok(res: Result, stream: str, expected: list[str] = IDS) -> None:
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert [r["id"] for r in res.records(stream)] == expected
    summary = res.summary
    assert summary["status"] == "SUCCEEDED"
    assert summary["total_records"] == len(expected)
    assert summary["streams"] == [
        {**summary["streams"][0], "stream": stream, "status": "SUCCESS", "records_synced": len(expected)}
    ]


def test_pagination_cursor_from_body() -> None:
    res, reqs = _read("cursor")
    _ok(res, "cursor")
    assert [(r.arg("cursor"), r.arg("limit")) for r in reqs] == [(None, "4"), ("4", "4"), ("8", "4"), ("12", "4")]


def test_pagination_cursor_from_header() -> None:
    res, reqs = _read("cursor_header")
    _ok(res, "cursor_header")
    assert [r.arg("cursor") for r in reqs] == [None, "4", "8", "12"]


def test_pagination_cursor_in_post_body() -> None:
    res, reqs = _read("search")
    _ok(res, "search")
    assert [r.method for r in reqs] == ["POST"] * 4
    assert [r.json() for r in reqs] == [
        {"limit": 4}, {"limit": 4, "after": "4"}, {"limit": 4, "after": "8"}, {"limit": 4, "after": "12"}
    ]


def test_pagination_offset_stops_at_total_count() -> None:
    """15 records, limit 5: the third page is full, so only ``meta.total`` tells there is no fourth."""
    res, reqs = _read("offset")
    _ok(res, "offset")
    # the pages after the first are fetched at once (test_cli_parallel_pages.py): they may arrive in any order
    assert sorted((int(r.arg("offset") or 0), r.arg("limit")) for r in reqs) == [(0, "5"), (5, "5"), (10, "5")]


def test_pagination_page_number_stops_at_total_pages() -> None:
    res, reqs = _read("pages")
    _ok(res, "pages")
    assert sorted((r.arg("page"), r.arg("per_page")) for r in reqs) == [("1", "5"), ("2", "5"), ("3", "5")]


def test_pagination_page_number_stops_on_empty_page() -> None:
    res, reqs = _read("page_empty")
    _ok(res, "page_empty")
    assert [r.arg("page") for r in reqs] == ["1", "2", "3", "4"]


def test_pagination_link_header_follows_rel_next_only() -> None:
    res, reqs = _read("link")
    _ok(res, "link")
    assert [(r.arg("page"), r.arg("per_page")) for r in reqs] == [(None, "4"), ("2", "4"), ("3", "4"), ("4", "4")]
    assert all(len(r.query["per_page"]) == 1 for r in reqs), "stream params added to the next URL again"


def test_pagination_next_url_relative_to_host() -> None:
    res, reqs = _read("next_url")
    _ok(res, "next_url")
    assert [r.path for r in reqs] == ["/v1/next", "/v1/next/5", "/v1/next/10"]
    assert reqs[0].arg("q") == "SELECT Id FROM Item"
    assert [r.query for r in reqs[1:]] == [{}, {}], "the next URL is used as given"


def test_pagination_stop_field_has_more_false() -> None:
    """Stripe's shape: the cursor is the last id and ``has_more: false`` ends it (the last page is full)."""
    res, reqs = _read("hasmore")
    _ok(res, "hasmore")
    assert [r.arg("starting_after") for r in reqs] == [None, "it_004", "it_009"]


def _warnings(res: Result) -> list[str]:
    logs = [m["log"]["message"] for m in res.of_type("LOG") if m["log"]["level"] in ("WARN", "WARNING")]
    return logs + [line for line in res.stderr.splitlines() if "warn" in line.lower()]


def test_pagination_repeated_cursor_stops() -> None:
    res, reqs = _read("loop")
    assert res.rc == 0, res.stdout[-2000:]
    assert [r.arg("cursor") for r in reqs] == [None, "same-cursor"], "a cursor equal to the previous one ends it"
    assert [r["id"] for r in res.records("loop")] == ["it_000", "it_000"]


def test_pagination_repeated_cursor_warns() -> None:
    res, _ = _read("loop")
    assert any("repeat" in w for w in _warnings(res)), res.stdout


def test_pagination_loop_guard_warns_on_repeated_request() -> None:
    """A Link header pointing at the page itself would loop forever: the guard stops it and says so."""
    res, reqs = _read("selflink")
    assert res.rc == 0, res.stdout[-2000:]
    # the first request is built from params, the second is the Link URL as given (same URL, different
    # form); the guard compares them from the second on, so the page comes twice and then it stops
    assert [r.url for r in reqs] == ["/v1/selflink?per_page=2"] * 2
    assert [r["id"] for r in res.records("selflink")] == ["it_000", "it_001"] * 2
    assert any("repeat the previous request" in w for w in _warnings(res)), res.stdout + res.stderr


def test_pagination_max_pages() -> None:
    res, reqs = _read("endless")
    assert res.rc == 0, res.stdout[-2000:]
    assert [r.arg("page") for r in reqs] == ["1", "2", "3"]
    assert len(res.records("endless")) == 15
    assert any("max_pages=3" in w for w in _warnings(res)), res.stdout + res.stderr
    assert res.summary["streams"][0]["records_synced"] == 15


@pytest.mark.parametrize("stream", ["offset"])
def test_pagination_max_records_stops_early(stream: str) -> None:
    res, reqs = _read(stream, "--max-records", "6")
    assert res.rc == 0, res.stdout[-2000:]
    assert [r["id"] for r in res.records(stream)] == IDS[:6]
    assert len(reqs) == 2
    assert json.loads(res.stdout.splitlines()[-1])["summary"]["total_records"] == 6


def test_pretty_format_prints_the_same_messages_indented() -> None:
    res, _ = _read("offset", "--format", "pretty")
    assert res.rc == 0, res.stderr
    decoder, text, pos, messages = json.JSONDecoder(), res.stdout, 0, []
    while pos < len(text.rstrip()):
        obj, pos = decoder.raw_decode(text, pos)
        messages.append(obj)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    assert len(res.stdout.splitlines()) > len(messages), "indented: more lines than messages"
    assert [m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD"] == IDS
    assert messages[-1]["type"] == "SYNC_SUMMARY" and messages[-1]["summary"]["total_records"] == 15
