"""Record filters and transforms, end to end: ``solidafy-cdk read`` of a YAML connector against the
generic mock API (cursor pages of 5, ``{"data": [...], "next_cursor": ...}``) over a real socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integration_tests.helpers import run_cli
from integration_tests.mocks.generic import GenericApi
from integration_tests.mocks.server import MockServer

STATUSES = ["open", "deleted", "closed", "open", "deleted"]


def make_records(n: int = 12) -> list[dict[str, Any]]:
    return [{"id": f"it_{i:03d}", "n": i, "status": STATUSES[i % 5], "updated_at": f"2024-01-01T00:{i:02d}:00Z",
             "owner": {"email": f"user{i}@example.com", "address": {"city": "Berlin", "zip": "10115"}},
             "Amount": str(i * 10), "tags": ["a", "b"]}
            for i in range(n)]


HEAD = """name: records
base_url: "{{ config.base_url }}"
streams:
  - name: items
    request: {path: /v1/cursor, params: {limit: "5"}}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
"""


def read(tmp_path: Path, stream_yaml: str, config: dict[str, Any] | None = None,
         records: list[dict[str, Any]] | None = None, *extra: str):  # noqa: ANN202
    path = tmp_path / "records.yaml"
    path.write_text(HEAD + stream_yaml)
    with MockServer(GenericApi(make_records() if records is None else records)) as srv:
        return run_cli("read", "-c", str(path), "--config-json", json.dumps({"base_url": srv.url, **(config or {})}),
                       *extra)


def test_filter_drops_records_and_counts_them_in_the_summary(tmp_path):
    condition = "{{ record.status != 'deleted' and record.id != config.skip_id }}"
    result = read(tmp_path, f"""    filter: "{condition}"\n""", {"skip_id": "it_003"})
    assert result.rc == 0, result.stderr
    assert [r["n"] for r in result.records("items")] == [0, 2, 5, 7, 8, 10]
    (entry,) = result.summary["streams"]
    assert entry["records_synced"] == 6
    assert entry["records_filtered"] == 6
    # the cursor moves over what was kept: the last record kept is n=10
    assert result.of_type("STATE")[-1]["state"]["streams"]["items"] == {"cursor": "2024-01-01T00:10:00Z"}


def test_without_a_filter_the_summary_has_no_count(tmp_path):
    result = read(tmp_path, "")
    assert result.rc == 0
    assert "records_filtered" not in result.summary["streams"][0]


def test_a_filter_that_fails_on_a_record_fails_the_stream_with_one_line(tmp_path):
    result = read(tmp_path, """    filter: "{{ record.priority > 2 }}"\n""")
    assert result.rc == 1
    error = result.summary["streams"][0]["error"]
    assert error == ("stream 'items': filter: template at records.yaml:10: streams[0].filter: "
                     "undefined variable 'priority' (no such key or attribute on dict)")
    assert "Traceback" not in result.stderr


def test_record_outside_filter_and_transform_is_a_load_error(tmp_path):
    result = read(tmp_path, """    headers: {X-Status: "{{ record.status }}"}\n""")
    assert result.rc == 2
    assert "'record' is only defined in transform steps (set: {field, value}) and filter" in result.stderr
