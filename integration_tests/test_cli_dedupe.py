"""``dedupe: cursor_boundary``: a record the API repeats at a page boundary is emitted once per sync.

The mock is a time-based export like Zendesk's (API-NOTES.md §8): ``start_time`` returns the items
changed at or after it, oldest first, ``per_page`` of them; ``end_time`` is the newest time on the
page and ``next_page`` asks for ``start_time=<end_time>``, so every item of that second comes again at
the top of the next page. Three items change in each second, keyed by (``account``, ``id``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integration_tests.connector_checks import assert_usage_error
from integration_tests.helpers import run_cli
from integration_tests.mocks.server import MockServer, Request, Response

CONNECTOR = """
name: export
base_url: "{{ config.base_url }}"
streams:
  - name: changes
    request: {path: /export, params: {per_page: "10"}}
    decoder: {type: json, records_path: items}
    pagination:
      type: next_url
      next_url_path: next_page
      stop: {type: field, path: end_of_stream, value: true}
    incremental: {request_param: start_time}
    primary_key: [account, id]
    cursor_field: time
    dedupe: cursor_boundary
"""
TOTAL = 95


def item(i: int) -> dict[str, Any]:
    return {"account": f"acct_{i % 2}", "id": i // 2, "time": 1_700_000_000 + i // 3, "n": i}


class TimeExport:
    def __init__(self) -> None:
        self.served: list[dict[str, Any]] = []

    def __call__(self, req: Request) -> Response:
        start, per_page = int(req.arg("start_time") or 0), int(req.arg("per_page") or 1000)
        page = [item(i) for i in range(TOTAL) if item(i)["time"] >= start][:per_page]
        self.served.extend(page)
        end_time = page[-1]["time"] if page else start
        return Response.json({
            "items": page, "end_time": end_time, "end_of_stream": len(page) < per_page,
            "next_page": f"http://{req.header('Host')}/export?per_page={per_page}&start_time={end_time}",
        })


def _read(yaml_text: str, tmp_path: Path, *extra: str):  # noqa: ANN202
    path = tmp_path / "export.yaml"
    path.write_text(yaml_text)
    api = TimeExport()
    with MockServer(api) as srv:
        result = run_cli("read", "-c", str(path), "--config-json", json.dumps({"base_url": srv.url}), *extra)
    return api, result


def test_boundary_repeats_are_emitted_once(tmp_path):
    api, result = _read(CONNECTOR, tmp_path)
    assert result.rc == 0, result.stderr
    assert len(api.served) > TOTAL, "the API repeated items at page boundaries"
    assert result.records("changes") == [item(i) for i in range(TOTAL)]  # each once, in the API's order
    repeated = len(api.served) - TOTAL
    assert f"{repeated} records the API repeated at a page boundary were dropped" in result.stdout


def test_without_dedupe_the_repeats_come_through(tmp_path):
    api, result = _read(CONNECTOR.replace("    dedupe: cursor_boundary\n", ""), tmp_path)
    assert result.rc == 0
    assert len(result.records("changes")) == len(api.served) > TOTAL


def test_a_second_sync_starts_at_the_saved_second(tmp_path):
    state = tmp_path / "state.json"
    _, first = _read(CONNECTOR, tmp_path, "--state", str(state))
    newest = item(TOTAL - 1)["time"]
    assert json.loads(state.read_text()) == {"streams": {"changes": {"cursor": newest}}}
    _, second = _read(CONNECTOR, tmp_path, "--state", str(state))
    # the newest second again (the state's boundary is inclusive: at-least-once across syncs), once each
    assert second.records("changes") == [item(i) for i in range(TOTAL) if item(i)["time"] == newest]


@pytest.mark.parametrize(("remove", "missing"), [("    primary_key: [account, id]\n", "primary_key"),
                                                 ("    cursor_field: time\n", "cursor_field")])
def test_dedupe_needs_a_primary_key_and_a_cursor(tmp_path, remove, missing):
    path = tmp_path / "export.yaml"
    path.write_text(CONNECTOR.replace(remove, ""))
    result = run_cli("validate", str(path))
    assert_usage_error(result, "streams[0].dedupe", f"needs the stream's {missing}")
