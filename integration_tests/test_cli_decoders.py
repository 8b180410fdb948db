"""Packed bodies and streamed documents end to end: the installed CLI against an export API over a socket.

gzip and zip files (found by their first bytes, with no Content-Encoding), CSV and JSON lines inside
them, one large JSON document read as it arrives; bombs and hostile streams fail the stream with one
clear line. Peak memory over a 300 MB document is measured in bench/bench_json_stream.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.exports import ExportServer, record
from integration_tests.mocks.generic import json_body


def _read(tmp_path: Path, srv: ExportServer, path: str, decoder: dict[str, Any], *args: str,
          **http: Any) -> Result:
    doc = {"name": "exports", "base_url": "http://127.0.0.1:9", "http": {"max_retries": 0, **http},
           "streams": [{"name": "items", "request": {"path": path}, "decoder": decoder}]}
    connector = tmp_path / "exports.yaml"
    connector.write_text(yaml.safe_dump(doc, sort_keys=False))
    return run_cli("read", "-c", str(connector), "--config-json", json_body({"base_url": srv.url}), *args,
                   timeout=120)


def _failure(res: Result) -> str:
    assert res.rc == 1, res.stdout[-2000:] + res.stderr[-2000:]
    stream = res.summary["streams"][0]
    assert stream["status"] == "FAILED", stream
    assert "Traceback" not in res.stderr
    assert all("items" not in m["state"].get("streams", {}) for m in res.of_type("STATE"))
    return str(stream["error"])


def test_gzip_csv_file_without_content_encoding(tmp_path: Path) -> None:
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/exports/orders.csv.gz", {"type": "csv"})
    assert res.rc == 0, res.stderr
    assert res.records("items") == [{"id": "o-1", "total": "12.50", "status": "paid"},
                                    {"id": "o-2", "total": "7.00", "status": "refunded"},
                                    {"id": "o-3", "total": "99.90", "status": "paid"}]


def test_zip_of_jsonl_parts_reads_the_matching_members_in_order(tmp_path: Path) -> None:
    decoder = {"type": "jsonl", "compression": {"type": "zip", "members": "orders/*.jsonl"}}
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/exports/bundle.zip", decoder)
    assert res.rc == 0, res.stderr
    assert [r["id"] for r in res.records("items")] == ["e-0", "e-1", "e-2", "e-3", "e-4"]


def test_zip_member_pattern_matching_nothing_says_what_is_there(tmp_path: Path) -> None:
    decoder = {"type": "jsonl", "compression": {"type": "zip", "members": "order/*.jsonl"}}
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/exports/bundle.zip", decoder)
    error = _failure(res)
    assert error.endswith("no zip member matches decoder.compression.members 'order/*.jsonl' (the archive has "
                          "orders/2026-01.jsonl, orders/2026-02.jsonl, README.txt); did you mean "
                          "'orders/2026-02.jsonl'?"), error


@pytest.mark.parametrize(("path", "decoder"), [("/hostile/gzip_bomb", {"type": "jsonl"}),
                                               ("/hostile/zip_bomb", {"type": "jsonl"})])
def test_bombs_fail_at_the_response_limit_once_unpacked(tmp_path: Path, path: str, decoder: dict[str, Any]) -> None:
    with ExportServer() as srv:
        res = _read(tmp_path, srv, path, decoder, max_response_mb=8)
    error = _failure(res)
    assert error.startswith(f"stream 'items': GET {srv.url}{path}: the response is larger than 8 MB once unpacked, "
                            "the limit (http.max_response_mb); stopped unpacking there"), error


@pytest.mark.parametrize("packed", [False, True])
def test_json_stream_reads_a_document_larger_than_the_response_limit(tmp_path: Path, packed: bool) -> None:
    """12,000 records (about 2.5 MB, gzip on the fly or not) with max_response_mb 1: read in batches."""
    path = "/exports/all.json?n=12000" + ("&gzip=1" if packed else "")
    with ExportServer() as srv:
        res = _read(tmp_path, srv, path, {"type": "json_stream", "records_path": "data", "batch_records": 5000},
                    max_response_mb=1)
    assert res.rc == 0, res.stderr[-2000:]
    records = res.records("items")
    assert len(records) == 12000 and records[0]["balance"] == 1234567890123456789010  # exact, not a float
    assert records[-1]["name"] == 'Customer "11999"' and records[5]["address"]["lines"] == ["1 rue {x}", "]"]
    import orjson
    assert records[7] == orjson.loads(record(7).replace(b"1234567890123456789017", b"0"))| {
        "balance": 1234567890123456789017}


def test_json_stream_stops_at_max_records_and_closes_the_stream(tmp_path: Path) -> None:
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/exports/all.json?n=1000000", {"type": "json_stream", "records_path": "data",
                                                                   "batch_records": 100}, "--max-records", "250")
    assert res.rc == 0, res.stderr[-2000:]
    assert len(res.records("items")) == 250


def test_json_stream_wrong_path_names_the_keys_there(tmp_path: Path) -> None:
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/exports/all.json?n=10", {"type": "json_stream", "records_path": "items"})
    error = _failure(res)
    assert error == (f"stream 'items': decoder.records_path 'items' matched nothing in GET {srv.url}/exports/all.json"
                     "?n=10: 'items' is not a key of the document (keys: meta, data, done)"), error


def test_json_stream_record_past_the_limit_fails_without_reading_on(tmp_path: Path) -> None:
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/hostile/huge_record", {"type": "json_stream", "records_path": "data"},
                    max_response_mb=2)
    error = _failure(res)
    assert "a value at byte 10 is larger than 2 MB, the limit (http.max_response_mb) for one record" in error, error


def test_json_stream_record_trickling_past_the_deadline_fails(tmp_path: Path) -> None:
    """One byte every 0.2 s: every read is within timeout_secs, no record completes within deadline_secs."""
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/hostile/trickle_record", {"type": "json_stream", "records_path": "data"},
                    timeout_secs=1, deadline_secs=2)
    error = _failure(res)
    assert error.endswith("no complete record within 2s (http.deadline_secs, default timeout_secs); stopped "
                          "reading there"), error


def test_json_stream_connection_lost_mid_document_fails_the_stream(tmp_path: Path) -> None:
    """Records before the cut were read; the stream still fails (not everything came) and its state stays."""
    with ExportServer() as srv:
        res = _read(tmp_path, srv, "/hostile/cut_document", {"type": "json_stream", "records_path": "data",
                                                             "batch_records": 4})
    error = _failure(res)
    head = len(b'{"data": [' + b",".join(record(i) for i in range(10)) + b",")
    assert error == (f"stream 'items': truncated response body from GET {srv.url}/hostile/cut_document after "
                     f"{head:,} bytes of a streamed body (not retried: a stream cannot resume)"), error


@pytest.mark.parametrize("packed", [False, True])
def test_csv_stream_reads_an_export_larger_than_the_response_limit(tmp_path: Path, packed: bool) -> None:
    """30,000 rows (about 2.3 MB) with max_response_mb 1: refused whole, read as it arrives with stream: true."""
    path = "/exports/all.csv?n=30000" + ("&gzip=1" if packed else "")
    with ExportServer() as srv:
        whole = _read(tmp_path, srv, path, {"type": "csv"}, max_response_mb=1)
        res = _read(tmp_path, srv, path, {"type": "csv", "stream": True}, max_response_mb=1)
    assert "larger than 1 MB" in _failure(whole)
    assert res.rc == 0, res.stderr[-2000:]
    records = res.records("items")
    assert len(records) == 30000 and records[-1] == {"id": "29999", "name": "Customer 29999",
                                                     "note": "line one, with comma\nline two", "amount": "29999.50"}
