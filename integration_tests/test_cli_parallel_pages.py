"""Pages of one request chain fetched at once, through the CLI against a mock that enforces its limits.

Offset and page-number pagination whose first page says how many pages there are (a total count, a
total page count, GitHub's ``Link: rel="last"``), and ``link_header`` pagination that opts in with
``parallel: true``, fetch the pages after it at once, up to
``--concurrency``, and emit them in page order: the records and the states are the same as read one
page at a time. The mock (``mocks/paged.py``) answers 429 past its concurrency limit and holds the
first later page until another is in flight, so a sequential read cannot pass for a parallel one.
When the data changes under the read (the pages disagree with the first page's total), the stream
warns and its state is held.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.paged import PagedApi, make_records
from integration_tests.mocks.server import MockServer

CONNECTOR = """
name: paged
base_url: http://127.0.0.1:9
http: {max_retries: 3, backoff_base_secs: 0.01, backoff_max_secs: 0.05, timeout_secs: 30}
streams:
  - name: offset
    request: {path: /offset}
    decoder: {type: json, records_path: items}
    pagination: {type: offset, limit: 10, stop: {type: total_count, path: meta.total}%(extra)s}
    primary_key: id
    cursor_field: updated_at
  - name: pages
    request: {path: /pages}
    decoder: {type: json, records_path: result}
    pagination:
      type: page_number
      page_size_param: per_page
      page_size: 10
      stop: {type: total_pages, path: result_info.total_pages}
    primary_key: id
    cursor_field: updated_at
  - name: github
    request: {path: /github}
    pagination: {type: page_number, page_size_param: per_page, page_size: 10}
    primary_key: id
    cursor_field: updated_at
  - name: links
    request: {path: /github, params: {per_page: "10"}}
    pagination: {type: link_header%(link_extra)s}
    primary_key: id
    cursor_field: updated_at
"""
HOLD = 10.0  # seconds the mock holds the first later page waiting for another (never reached when parallel)


def _read(tmp_path: Path, api: PagedApi, stream: str, *extra: str, yaml_extra: str = "",
          link_extra: str = ", parallel: true") -> Result:
    path = tmp_path / "paged.yaml"
    path.write_text(CONNECTOR % {"extra": yaml_extra, "link_extra": link_extra})
    with MockServer(api) as srv:
        return run_cli("read", "-c", str(path), "--config-json", json.dumps({"base_url": srv.url}),
                       "--streams", stream, *extra)


def _states(res: Result) -> list[Any]:
    return [m["state"] for m in res.of_type("STATE")]


def _entry(res: Result) -> dict[str, Any]:
    return res.summary["streams"][0]


@pytest.mark.parametrize(("stream", "count"), [("offset", 95), ("pages", 95), ("github", 95), ("github", 100),
                                                ("links", 95)])
def test_parallel_pages_give_the_same_records_and_states_as_one_at_a_time(
        tmp_path: Path, stream: str, count: int) -> None:
    records = make_records(count)
    one_api, par_api = PagedApi(records), PagedApi(records, hold=HOLD)
    one = _read(tmp_path, one_api, stream, "--concurrency", "1", "--state-per-page")
    par = _read(tmp_path, par_api, stream, "--state-per-page")
    for res in (one, par):
        assert res.rc == 0, res.stdout[-2000:] + res.stderr
        assert _entry(res)["warnings"] == [] and "state_held" not in _entry(res), _entry(res)
    assert [r["id"] for r in par.records(stream)] == [r["id"] for r in records]
    assert par.records(stream) == one.records(stream)
    assert _states(par) == _states(one) and len(_states(par)) >= 10
    assert par_api.overlapped == 1, "the pages after the first were not fetched at once"
    assert par_api.rejected == 0 and 1 < par_api.peak <= 4  # never past --concurrency (4) nor the API's cap
    assert one_api.peak == 1 and one_api.overlapped == 0


@pytest.mark.parametrize(("stream", "extra"), [("offset", {"yaml_extra": ", parallel: false"}),
                                               ("links", {"link_extra": ""})])  # link_header: opt-in
def test_parallel_false_reads_one_page_at_a_time(tmp_path: Path, stream: str, extra: dict[str, str]) -> None:
    api = PagedApi(make_records(35))
    res = _read(tmp_path, api, stream, **extra)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert len(res.records(stream)) == 35 and api.peak == 1


def test_concurrency_caps_the_pages_in_flight(tmp_path: Path) -> None:
    api = PagedApi(make_records(95), cap=2, hold=HOLD)
    res = _read(tmp_path, api, "offset", "--concurrency", "2")
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert len(res.records("offset")) == 95
    assert api.rejected == 0 and api.peak == 2 and api.overlapped == 1


def _drop_front(api: PagedApi) -> None:
    api.records = api.records[10:]  # ten records deleted right after the first page: the rest shift back


def _add_front(api: PagedApi) -> None:
    new = [{"id": f"new{i}", "n": -1, "updated_at": "2023-12-31T00:00:00Z"} for i in range(5)]
    api.records = new + api.records  # five added before the others: still 10 pages, each 5 records later


@pytest.mark.parametrize(("change", "later"), [(_drop_front, "says 85 records"), (_add_front, "says 100 records")])
def test_records_removed_or_added_while_the_pages_are_read_warn_and_hold_the_state(
        tmp_path: Path, change: Callable[[PagedApi], None], later: str) -> None:
    res = _read(tmp_path, PagedApi(make_records(95), hold=HOLD, after_first=change), "offset")
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    entry = _entry(res)
    assert entry["state_held"] is True, entry
    (warning,) = entry["warnings"]
    assert "disagree with the first page (pagination.stop total_count 'meta.total' says 95 records" in warning
    assert f"a later page: pagination.stop total_count 'meta.total' {later}" in warning, warning


def test_a_short_page_in_the_middle_warns_as_when_read_one_at_a_time(tmp_path: Path) -> None:
    results = []
    for extra in (("--concurrency", "1"), ()):
        api = PagedApi(make_records(95))
        api.short[30] = 3  # the page at offset 30 comes back with 7 records
        results.append(_read(tmp_path, api, "offset", *extra))
    one, par = results
    for res in results:
        assert res.rc == 0 and _entry(res)["state_held"] is True, res.stdout[-2000:]
        assert any("total_count 'meta.total' says 95 records and 37 were read" in w for w in _entry(res)["warnings"])
    assert par.records("offset") == one.records("offset") and len(one.records("offset")) == 37
