"""Airbyte heartbeats: while a page is slow, `source-solidafy read` repeats the last STATE every
SOLIDAFY_HEARTBEAT_SECS (Airbyte counts only RECORD and STATE as signs of life).

The mock holds the slow page until the test has read two STATEs sent while it waits, so the test
never races the clock: without heartbeats the page is released only by the mock's own deadline and
the assertions fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.helpers import cli_path, run_cli
from integration_tests.mocks.server import MockServer, Request, Response

CONNECTOR = """
name: slowpages
base_url: "http://127.0.0.1:9/v1"
streams:
  - name: items
    request: {path: /items}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
    incremental: {request_param: updated_since}
"""
PAGES = {None: (["a", "b", "c"], "p2"), "p2": (["d", "e"], None)}


class SlowPages:
    """Two pages; the page whose cursor is ``slow`` waits for ``release`` (at most ``deadline`` s)."""

    def __init__(self, slow: str | None, deadline: float = 120) -> None:
        self.slow, self.deadline = slow, deadline
        self.waiting, self.release = threading.Event(), threading.Event()

    def __call__(self, req: Request) -> Response:
        cursor = req.arg("cursor")
        if cursor == self.slow:
            self.waiting.set()
            self.release.wait(self.deadline)
        ids, nxt = PAGES[cursor]
        since = req.arg("updated_since") or ""
        data = [{"id": i, "updated_at": f"2024-01-0{n + 1}T00:00:00Z"} for n, i in enumerate("abcde") if i in ids]
        return Response.json({"data": [r for r in data if r["updated_at"] >= since], "next_cursor": nxt})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "slow.yaml").write_text(CONNECTOR)
    catalog = {"streams": [{"stream": {"name": "items", "json_schema": {}, "supported_sync_modes": ["incremental"]},
                            "sync_mode": "incremental", "destination_sync_mode": "append",
                            "cursor_field": ["updated_at"]}]}  # fmt: skip
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    return tmp_path


def read_while_slow(files: Path, api: SlowPages, state: list | None = None) -> tuple[list[dict], list[dict]]:
    """Run the read; return (messages before the slow page was released, messages after)."""
    with MockServer(api) as srv:
        (files / "config.json").write_text(json.dumps({"connector": str(files / "slow.yaml"), "base_url": srv.url}))
        argv = [cli_path("source-solidafy"), "read", "--config", str(files / "config.json"),
                "--catalog", str(files / "catalog.json")]  # fmt: skip
        if state is not None:
            (files / "state.json").write_text(json.dumps(state))
            argv += ["--state", str(files / "state.json")]
        env = {**os.environ, "SOLIDAFY_HEARTBEAT_SECS": "0.2"}
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as proc:
            assert proc.stdout is not None
            before, after = [], []
            for line in _lines(proc.stdout):
                message = json.loads(line)
                (after if api.release.is_set() else before).append(message)
                if not api.release.is_set() and _after_wait(before, api):
                    api.release.set()
            assert proc.wait(timeout=60) == 0
    return before, after


def _lines(stream: object) -> Iterator[str]:
    yield from (line for line in stream if line.strip())  # type: ignore[attr-defined]


def _after_wait(before: list[dict], api: SlowPages) -> bool:
    return api.waiting.is_set() and len(_trailing_states(before)) >= 2


def _trailing_states(messages: list[dict]) -> list[dict]:
    """The STATE messages after the last RECORD (sent while nothing else came)."""
    out: list[dict] = []
    for message in messages:
        if message["type"] == "RECORD":
            out = []
        elif message["type"] == "STATE":
            out.append(message["state"])
    return out


def test_slow_second_page_repeats_the_last_state(files: Path) -> None:
    api = SlowPages(slow="p2")
    before, after = read_while_slow(files, api)
    assert api.release.is_set() and [m["record"]["data"]["id"] for m in before if m["type"] == "RECORD"] == ["a", "b", "c"]
    states = _trailing_states(before)
    assert len(states) >= 2, "no heartbeat STATE while the second page was slow"
    checkpoint = [m["state"] for m in before if m["type"] == "STATE"][0]["stream"]["stream_state"]
    assert all(s["stream"]["stream_state"] == checkpoint for s in states)  # repeated, never advanced
    assert [s["sourceStats"]["recordCount"] for s in states[1:]] == [0.0] * (len(states) - 1)
    assert [m["record"]["data"]["id"] for m in after if m["type"] == "RECORD"] == ["d", "e"]
    final = [m["state"]["stream"]["stream_state"] for m in after if m["type"] == "STATE"][-1]
    assert final != checkpoint


def test_slow_first_page_repeats_the_incoming_state(files: Path) -> None:
    api = SlowPages(slow=None)
    incoming = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "items"},
                                              "stream_state": {"cursor": "2024-01-02T00:00:00Z"}}}]  # fmt: skip
    before, after = read_while_slow(files, api, state=incoming)
    states = _trailing_states(before)
    assert not [m for m in before if m["type"] == "RECORD"]
    assert len(states) >= 2, "no heartbeat STATE while the first page was slow"
    assert all(s["stream"]["stream_state"] == incoming[0]["stream"]["stream_state"] for s in states)
    assert [m["record"]["data"]["id"] for m in after if m["type"] == "RECORD"][:1] == ["b"]


def test_no_heartbeat_needed_when_pages_come_quickly(files: Path) -> None:
    api = SlowPages(slow="never")
    with MockServer(api) as srv:
        config = files / "config.json"
        config.write_text(json.dumps({"connector": str(files / "slow.yaml"), "base_url": srv.url}))
        result = run_cli("read", "--config", str(config), "--catalog", str(files / "catalog.json"),
                         script="source-solidafy", env={"SOLIDAFY_HEARTBEAT_SECS": "600"})  # fmt: skip
    assert result.rc == 0, result.stderr
    counts = [m["state"]["sourceStats"]["recordCount"] for m in result.of_type("STATE")]
    assert sum(counts) == 5.0


def test_bad_interval_is_a_usage_error(files: Path) -> None:
    result = run_cli("read", "--config", str(_config(files)), "--catalog", str(files / "catalog.json"),
                     script="source-solidafy", env={"SOLIDAFY_HEARTBEAT_SECS": "soon"})  # fmt: skip
    assert result.rc == 2 and "SOLIDAFY_HEARTBEAT_SECS='soon'" in result.stderr and "Traceback" not in result.stderr


def _config(files: Path) -> Path:
    config = files / "config.json"
    config.write_text(json.dumps({"connector": str(files / "slow.yaml"), "base_url": "http://127.0.0.1:9/v1"}))
    return config
