"""Incremental syncs over two runs: the state file, inline state in both forms, state per page."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import GenericApi, connector, json_body, make_items
from integration_tests.mocks.server import MockServer, Request

FIRST = make_items(12)
ALL = make_items(15)
LAST_OF_FIRST = FIRST[-1]["updated_at"]  # 2024-01-01T00:11:00Z
STREAMS = ("items", "filtered")


def _read(api: GenericApi, *extra: str) -> tuple[Result, list[Request]]:
    with MockServer(api) as srv:
        cfg = json_body({"base_url": f"{srv.url}/v1"})
        res = run_cli("read", "-c", connector("incr"), "--config-json", cfg, *extra)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    return res, srv.requests


def _ids(res: Result, stream: str) -> list[str]:
    return [r["id"] for r in res.records(stream)]


def _stream_states(res: Result, stream: str) -> list[dict[str, Any]]:
    return [
        m["state"] for m in res.of_type("STATE")
        if m["state"].get("type") == "STREAM" and m["state"]["stream"]["stream_descriptor"]["name"] == stream
    ]


def _final_state(res: Result) -> dict[str, Any]:
    states = res.of_type("STATE")
    assert states[-1]["state"].keys() == {"streams"}, states[-1]
    assert res.messages[-2] == states[-1], "the global STATE comes right before SYNC_SUMMARY"
    return states[-1]["state"]


def _assert_second_run(res: Result, reqs: list[Request]) -> None:
    """Only records at or after the saved cursor; the boundary record comes again."""
    expected = [r["id"] for r in ALL[11:]]
    for stream in STREAMS:
        assert _ids(res, stream) == expected, stream
    item_reqs = [r for r in reqs if r.path == "/v1/cursor"]
    assert item_reqs and all(r.arg("updated_since") == LAST_OF_FIRST for r in item_reqs)
    filtered_reqs = [r for r in reqs if r.path == "/v1/offset"]
    assert all(r.arg("updated_since") is None for r in filtered_reqs), "no request_param: filtered client-side"
    assert _final_state(res) == {"streams": {s: {"cursor": ALL[-1]["updated_at"]} for s in STREAMS}}
    assert res.summary["total_records"] == 8


def test_incremental_state_file_over_two_runs(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    res1, reqs1 = _read(GenericApi(FIRST), "--state", str(state_file))
    for stream in STREAMS:
        assert _ids(res1, stream) == [r["id"] for r in FIRST]
    assert all(r.arg("updated_since") is None for r in reqs1), "no state and no start: no filter"
    saved = json.loads(state_file.read_text())
    assert saved == {"streams": {s: {"cursor": LAST_OF_FIRST} for s in STREAMS}}
    assert saved == _final_state(res1)
    assert res1.summary["output"]["state_file"] == str(state_file)
    before = state_file.read_bytes()

    with state_file.open("rb") as old:  # holds the old file: a rename leaves it as it was
        res2, reqs2 = _read(GenericApi(ALL), "--state", str(state_file))
        assert old.read() == before, "the state file is replaced by a rename, not rewritten in place"
    _assert_second_run(res2, reqs2)
    assert json.loads(state_file.read_text()) == _final_state(res2)
    assert sorted(os.listdir(tmp_path)) == ["state.json"], "no temporary file left behind"


GLOBAL_FORM = {"streams": {s: {"cursor": LAST_OF_FIRST} for s in STREAMS}}
AIRBYTE_FORM = [
    {"type": "STREAM", "stream": {"stream_descriptor": {"name": s}, "stream_state": {"cursor": LAST_OF_FIRST}}}
    for s in STREAMS
]


@pytest.mark.parametrize("state", [GLOBAL_FORM, AIRBYTE_FORM], ids=["global-object", "airbyte-array"])
def test_incremental_state_json_forms(state: Any) -> None:
    res, reqs = _read(GenericApi(ALL), "--state-json", json.dumps(state))
    _assert_second_run(res, reqs)


def test_incremental_state_file_in_airbyte_form(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(AIRBYTE_FORM))
    res, reqs = _read(GenericApi(ALL), "--state", str(state_file))
    _assert_second_run(res, reqs)
    assert json.loads(state_file.read_text()) == _final_state(res)


def test_incremental_state_per_page() -> None:
    res, _ = _read(GenericApi(FIRST), "--state-per-page", "--concurrency", "1")
    for stream in STREAMS:
        states = _stream_states(res, stream)
        assert [s["sourceStats"]["recordCount"] for s in states] == [5.0, 5.0, 2.0], stream
        assert [s["stream"]["stream_state"]["cursor"] for s in states] == [
            FIRST[4]["updated_at"], FIRST[9]["updated_at"], LAST_OF_FIRST
        ]
    _assert_state_follows_its_records(res)


def test_incremental_state_without_per_page_comes_at_stream_end() -> None:
    res, _ = _read(GenericApi(FIRST), "--concurrency", "1")
    for stream in STREAMS:
        states = _stream_states(res, stream)
        assert states, stream
        assert states[-1]["stream"]["stream_state"] == {"cursor": LAST_OF_FIRST}
        assert sum(s["sourceStats"]["recordCount"] for s in states) == 12.0
    _assert_state_follows_its_records(res)


def _assert_state_follows_its_records(res: Result) -> None:
    """Every STATE's cursor is the max of the records printed before it (no state ahead of its data)."""
    seen: dict[str, str] = {}
    for m in res.messages:
        if m["type"] == "RECORD":
            stream = m["record"]["stream"]
            seen[stream] = max(seen.get(stream, ""), m["record"]["data"]["updated_at"])
        elif m["type"] == "STATE" and m["state"].get("type") == "STREAM":
            name = m["state"]["stream"]["stream_descriptor"]["name"]
            assert m["state"]["stream"]["stream_state"]["cursor"] == seen[name]


def test_incremental_far_future_state_returns_nothing() -> None:
    state = {"streams": {s: {"cursor": "2999-01-01T00:00:00Z"} for s in STREAMS}}
    res, _ = _read(GenericApi(ALL), "--state-json", json.dumps(state))
    assert res.records() == []
    assert _final_state(res) == state
    assert res.summary["status"] == "SUCCEEDED"
