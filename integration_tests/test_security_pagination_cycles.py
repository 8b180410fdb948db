"""Pagination that never ends on its own: cycles longer than one step and endless empty pages.

A hostile API on 127.0.0.1 (it gives up by itself after 200 requests, so the code before this
guard finished too, with hundreds of duplicate records). Each stop is a warning that holds the
stream's state (ReadContext.warn), never a silent success.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import json_body
from integration_tests.mocks.server import MockServer, Request, Response

GIVE_UP = 200


class CyclingApi:
    """``/abc``: cursors A -> B -> A; ``/alternate``: Link headers page 2 -> page 1 -> page 2;
    ``/empty``: an empty page with a new cursor, forever."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, req: Request) -> Response:
        self.calls += 1
        if self.calls > GIVE_UP:
            return Response.json({"data": [{"id": "the-end"}]})
        if req.path == "/abc":
            cursor = req.arg("cursor") or "start"
            nxt = {"start": "A", "A": "B", "B": "A"}[cursor]
            return Response.json({"data": [{"id": f"rec-{cursor}"}], "next_cursor": nxt})
        if req.path == "/alternate":
            page = int(req.arg("page") or 1)
            nxt = f"http://{req.header('Host')}/alternate?page={2 if page == 1 else 1}"
            return Response.json({"data": [{"id": f"p{page}"}]}, Link=f'<{nxt}>; rel="next"')
        n = int(req.arg("cursor") or 0)
        return Response.json({"data": [], "next_cursor": str(n + 1)})


def _read(tmp_path: Path, path: str, pagination: dict[str, Any]) -> tuple[Result, CyclingApi]:
    doc = {"name": "cycles", "base_url": "http://127.0.0.1:9", "http": {"max_retries": 0},
           "streams": [{"name": "items", "request": {"path": path}, "primary_key": "id",
                        "decoder": {"type": "json", "records_path": "data"}, "pagination": pagination}]}
    (tmp_path / "cycles.yaml").write_text(yaml.safe_dump(doc))
    api = CyclingApi()
    with MockServer(api) as srv:
        res = run_cli("read", "-c", str(tmp_path / "cycles.yaml"), "--config-json", json_body({"base_url": srv.url}))
    return res, api


def _warned(res: Result, fragment: str) -> dict[str, Any]:
    assert res.rc == 0, res.stdout[-2000:] + res.stderr[-2000:]
    stream = res.summary["streams"][0]
    assert stream["state_held"] is True, stream
    assert any(fragment in w for w in stream["warnings"]), stream
    return stream


CURSOR = {"type": "cursor", "cursor_param": "cursor", "cursor_path": "next_cursor"}


def test_cursor_cycle_a_b_a_stops_at_the_first_repeat(tmp_path: Path) -> None:
    res, api = _read(tmp_path, "/abc", CURSOR)
    _warned(res, "would repeat an earlier request (a pagination cycle)")
    assert api.calls == 3, "start, A, B; the second A is never sent"
    assert [r["id"] for r in res.records("items")] == ["rec-start", "rec-A", "rec-B"]


def test_alternating_link_headers_stop_at_the_first_repeat(tmp_path: Path) -> None:
    res, api = _read(tmp_path, "/alternate", {"type": "link_header"})
    _warned(res, "pagination cycle")
    assert api.calls == 3, "the first page, page 2, page 1 as a link; page 2 again is never sent"
    assert [r["id"] for r in res.records("items")] == ["p1", "p2", "p1"]


@pytest.mark.parametrize(("setting", "expected"), [(None, 10), (3, 3)])
def test_new_cursor_on_every_empty_page_stops_after_max_empty_pages(
        tmp_path: Path, setting: int | None, expected: int) -> None:
    pagination = CURSOR if setting is None else {**CURSOR, "max_empty_pages": setting}
    res, api = _read(tmp_path, "/empty", pagination)
    _warned(res, f"{expected} empty pages in a row still name a next page")
    assert api.calls == expected
    assert res.records("items") == []
