"""Record filters and transforms, end to end: ``solidafy-cdk read`` of a YAML connector against the
generic mock API (cursor pages of 5, ``{"data": [...], "next_cursor": ...}``) over a real socket."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

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


TRANSFORMS = """    schema:
      type: object
      properties:
        id: {type: string}
        n: {type: integer}
        status: {type: string}
        updated_at: {type: string}
        owner:
          type: object
          properties:
            email: {type: string}
            address: {type: object, properties: {city: {type: string}, zip: {type: integer}}}
        Amount: {type: number}
        tags: {type: array, items: {type: string}}
    transform:
      - flatten: {fields: [owner], prefix: false}
      - normalize_keys: snake_case
      - remove: [tags, "address_*"]
      - hash: {fields: [email], salt: "{{ config.hash_salt }}"}
      - mask: {fields: [id], keep_last: 3}
      - cast
"""
SALT = "s3cr3t-salt-value"


def test_transforms_end_to_end_and_the_schema_discover_shows(tmp_path):
    records = make_records(3)
    records[2]["Amount"] = "n/a"  # cannot be a number: kept, one warning
    result = read(tmp_path, TRANSFORMS, {"hash_salt": SALT}, records, "--verbose")
    assert result.rc == 0, result.stderr
    out = result.records("items")
    assert out[0] == {"id": "****000", "n": 0, "status": "open", "updated_at": "2024-01-01T00:00:00Z",
                      "email": hmac.new(SALT.encode(), b"user0@example.com", hashlib.sha256).hexdigest(),
                      "amount": 0}
    assert [r["amount"] for r in out] == [0, 10, "n/a"]
    warnings = [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert warnings == ["stream 'items': transform cast: a value of 'amount' cannot be cast to number; kept as it "
                        "is (this warning is shown once per stream)"]
    assert result.summary["streams"][0]["warnings"] == []  # a value kept as it is: nothing was missed
    assert SALT not in result.stdout + result.stderr

    path = tmp_path / "records.yaml"
    discovered = run_cli("discover", "-c", str(path), "--config-json", json.dumps({"base_url": "http://127.0.0.1:9",
                                                                                   "hash_salt": SALT}))
    assert discovered.rc == 0, discovered.stderr
    (catalog,) = discovered.of_type("CATALOG")
    props = catalog["catalog"]["streams"][0]["json_schema"]["properties"]
    assert list(props) == ["id", "n", "status", "updated_at", "email", "amount"]
    assert props["email"] == {"type": ["null", "string"]} and props["amount"] == {"type": "number"}
    spec = run_cli("spec", "-c", str(path))
    assert spec.of_type("SPEC")[0]["spec"]["connectionSpecification"]["properties"]["hash_salt"].get("airbyte_secret")


LOOKUP = """lookups:
  wanted:
    request: {path: /v1/cursor, params: {limit: "100"}}
    decoder: {type: json, records_path: data}
    filter: "{{ record.status == 'closed' }}"
    value: id
"""


def test_a_lookup_feeds_a_filter_and_is_read_once(tmp_path):
    """A lookup's records (here: the ids of closed items, from the same API) read once, used per record."""
    path = tmp_path / "records.yaml"
    path.write_text(HEAD.replace("streams:\n", LOOKUP + "streams:\n")
                    + """    filter: "{{ record.id in lookup.wanted }}"\n""")
    with MockServer(GenericApi(make_records())) as srv:
        result = run_cli("read", "-c", str(path), "--config-json", json.dumps({"base_url": srv.url}))
    assert result.rc == 0, result.stderr
    assert [r["n"] for r in result.records("items")] == [2, 7]
    assert len([r for r in srv.requests if r.arg("limit") == "100"]) == 1


def test_a_lookup_that_fails_fails_the_stream_naming_it(tmp_path):
    path = tmp_path / "records.yaml"
    broken = LOOKUP.replace("path: /v1/cursor", "path: /v1/nowhere")
    path.write_text(HEAD.replace("streams:\n", broken + "streams:\n")
                    + """    filter: "{{ record.id in lookup.wanted }}"\n""")
    with MockServer(GenericApi(make_records())) as srv:
        result = run_cli("read", "-c", str(path), "--config-json", json.dumps({"base_url": srv.url}))
    assert result.rc == 1
    error = result.summary["streams"][0]["error"]
    assert error.startswith("lookup 'wanted' (lookups.wanted): HTTP 404 Not Found from GET http://127.0.0.1:"), error
    assert result.records("items") == []


NOTES = """  - name: notes
    request: {path: "/v1/items/{{ partition.item }}/notes"}
    decoder: {type: json, records_path: data}
    partition: {type: parent_stream, stream: items, parent_field: id, field: item}
"""


def test_a_parents_filter_decides_its_childrens_partitions(tmp_path):
    """With and without the parent synced too (a shared read, or one for the child alone)."""
    path = tmp_path / "records.yaml"
    path.write_text(HEAD + """    filter: "{{ record.status == 'closed' }}"\n""" + NOTES)
    for streams in ("items,notes", "notes"):
        with MockServer(GenericApi(make_records())) as srv:
            result = run_cli("read", "-c", str(path), "--config-json", json.dumps({"base_url": srv.url}),
                             "--streams", streams)
        assert result.rc == 0, result.stderr
        asked = sorted({r.path for r in srv.requests if r.path.endswith("/notes")})
        assert asked == ["/v1/items/it_002/notes", "/v1/items/it_007/notes"]
        assert len(result.records("notes")) == 4


@pytest.mark.parametrize(("streams", "concurrency"), [("items,notes", "1"), ("notes,items", "1"), ("notes,items", "4"),
                                                     ("notes", "1")],
                         ids=["parent-fetches", "child-fetches", "concurrent", "child-alone"])
def test_a_parents_filtered_records_are_counted_for_the_parent_and_its_child(tmp_path, streams, concurrency):
    """The parent read for its child reports what its filter left out, as it reports its warnings and skips:
    in the child's summary entry, and in the parent's whichever of the two fetched the shared read (at
    --concurrency 1 the first stream named fetches; the parent's count was lost when the child did)."""
    path = tmp_path / "records.yaml"
    path.write_text(HEAD + """    filter: "{{ record.status == 'closed' }}"\n""" + NOTES)
    with MockServer(GenericApi(make_records())) as srv:
        result = run_cli("read", "-c", str(path), "--config-json", json.dumps({"base_url": srv.url}),
                         "--streams", streams, "--concurrency", concurrency)
    assert result.rc == 0, result.stderr
    entries = {e["stream"]: e for e in result.summary["streams"]}
    assert sorted(entries) == sorted(streams.split(","))
    for name, entry in entries.items():
        assert entry.get("records_filtered") == 10, (streams, concurrency, name, entry)
    assert sum(r.path == "/v1/cursor" for r in srv.requests) == 3  # one shared read of the parent's 3 pages
