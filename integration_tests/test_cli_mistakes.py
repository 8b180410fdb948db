"""A new user's mistakes in a custom YAML connector never pass silently (issue 11, the QA audit).

Each case runs the real CLI against the generic mock API on 127.0.0.1 (mocks/generic.py) with
integration_tests/connectors_for_tests/mistakes.yaml: the stream fails or warns naming the stream,
the YAML key and the URL, and its state stays where it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import GenericApi, connector, json_body, make_items
from integration_tests.mocks.server import MockServer, Response

ITEMS = make_items(15)
START = "2024-01-01T00:00:00Z"


def read(stream: str, tmp: Path, api: GenericApi | None = None, *extra: str,
         cursor: str = START) -> tuple[Result, Any, list[str]]:
    """One CLI read of ``stream`` from the state {cursor: START}: the result, the saved state, the URLs asked."""
    state_file = tmp / "state.json"
    state_file.write_text(json.dumps({"streams": {stream: {"cursor": cursor}}}))
    with MockServer(api or GenericApi(ITEMS)) as srv:
        cfg = json_body({"base_url": f"{srv.url}/v1"})
        res = run_cli("read", "-c", connector("mistakes"), "--config-json", cfg, "--streams", stream,
                      "--state", str(state_file), *extra, timeout=60)  # a hang guard: before the fix some looped
        urls = [r.url for r in srv.requests]
    assert "Traceback" not in res.stderr, res.stderr
    return res, json.loads(state_file.read_text())["streams"], urls


def warned(res: Result, saved: Any, stream: str, cursor: str = START) -> str:
    """The stream succeeded with one warning and its state held; the warning."""
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    [entry] = res.summary["streams"]
    assert entry["status"] == "SUCCESS" and entry["state_held"] is True, entry
    [warning] = entry["warnings"]
    assert warning.startswith(f"stream '{stream}': "), warning
    assert saved == {stream: {"cursor": cursor}}
    return str(warning)


def test_offset_param_the_api_ignores_stops_at_the_repeated_page(tmp_path: Path) -> None:
    """Before: the API served page 1 for every offset and the sync never ended."""
    res, saved, urls = read("offset_ignored", tmp_path)
    warning = warned(res, saved, "offset_ignored")
    assert "offset pagination: page 2 has the same records as the page before (http://" in warning
    assert "/v1/offset?skip=5&limit=5); does the API read pagination.offset_param 'skip'?" in warning
    assert len(urls) == 2


def test_page_param_the_api_ignores_stops_at_the_repeated_page(tmp_path: Path) -> None:
    res, saved, urls = read("page_ignored", tmp_path)
    warning = warned(res, saved, "page_ignored")
    assert "does the API read pagination.page_param 'p'?" in warning and len(urls) == 2


def test_page_size_param_the_api_ignores_warns_when_the_reported_total_says_more(tmp_path: Path) -> None:
    """Before: one short page (the API's default 5 of the 10 asked for) ended the read, SUCCESS, state moved."""
    res, saved, urls = read("size_ignored", tmp_path)
    warning = warned(res, saved, "size_ignored")
    assert "page_number pagination ended on a page of 5 records, fewer than size=10 (http://" in warning
    assert ("but pagination.stop total_pages 'result_info.total_pages' says 3 pages and 1 were read: does the API "
            "read pagination.page_size_param 'size'?; later pages were not read") in warning
    res, saved, urls = read("limit_ignored", tmp_path)
    warning = warned(res, saved, "limit_ignored")
    assert "pagination.stop total_count 'meta.total' says 15 records and 5 were read" in warning
    assert "does the API read pagination.limit_param 'max'?" in warning


def test_a_stop_condition_that_fires_on_a_full_first_page_is_checked_with_one_more_page(tmp_path: Path) -> None:
    """Before: the wrong total (the page size) ended the read after page 1, SUCCESS, state moved."""
    res, saved, urls = read("stop_at_once", tmp_path)
    warning = warned(res, saved, "stop_at_once")
    assert ("pagination.stop total_count 'result_info.per_page' ended the pages after a full first page "
            "(5 records, http://") in warning
    assert "but page 2 has 5 records (http://" in warning and len(urls) == 2
    # the right total with exactly one full page of data: one more (empty) page, no warning
    res, saved, urls = read("stop_right", tmp_path, GenericApi(make_items(5)))
    assert res.rc == 0 and res.summary["streams"][0]["warnings"] == [], res.stdout[-2000:]
    assert saved == {"stop_right": {"cursor": make_items(5)[-1]["updated_at"]}} and len(urls) == 2


# ------------------------------------------------------------ what the records say about the YAML


def test_a_primary_key_the_records_do_not_have_warns_with_did_you_mean(tmp_path: Path) -> None:
    """Before: SUCCESS; consumers deduping on the key would have merged every record into one."""
    res, saved, _ = read("pk_removed", tmp_path)
    warning = warned(res, saved, "pk_removed")
    assert "primary_key 'id' is not in the records of http://" in warning
    assert "/v1/cursor?limit=5: no key 'id' in the first record (keys: n, name, updated_at)" in warning
    res, saved, _ = read("pk_misspelt", tmp_path)
    warning = warned(res, saved, "pk_misspelt")
    assert "no key 'ID' in the first record (keys: id, n, name, updated_at; did you mean 'id'?)" in warning


def test_a_primary_key_most_records_of_a_page_share_warns(tmp_path: Path) -> None:
    res, saved, _ = read("pk_not_unique", tmp_path)
    warning = warned(res, saved, "pk_not_unique")
    assert "primary_key 'kind' is not unique: the 5 records of http://" in warning
    assert "have 1 distinct values (e.g. 'item')" in warning


def test_a_state_param_that_renders_empty_warns_that_the_filter_was_not_sent(tmp_path: Path) -> None:
    """Before: the parameter was silently left out and every sync read everything again."""
    res, saved, urls = read("state_param_empty", tmp_path)
    warning = warned(res, saved, "state_param_empty")
    assert ("request.params.updated_since reads the state but rendered empty, so it was not sent to /cursor "
            f"although the stream has a state (cursor '{START}'") in warning
    assert all("updated_since" not in u for u in urls)


def test_records_older_than_the_incremental_request_param_asked_for_warn(tmp_path: Path) -> None:
    """Before: the API ignored 'since', the engine dropped the old records itself: SUCCESS every time."""
    since = ITEMS[10]["updated_at"]
    res, saved, urls = read("since_ignored", tmp_path, cursor=since)
    warning = warned(res, saved, "since_ignored", cursor=since)
    assert (f"the API returned records older than incremental.request_param since={since} (updated_at "
            f"'{ITEMS[0]['updated_at']}' from /cursor): does the API read 'since'?") in warning
    assert len(res.records()) == 5  # the old ones were still dropped
    # the right parameter, with a lookback: the API answers from 2 minutes before the state, no warning
    res, saved, urls = read("since_right", tmp_path, cursor=since)
    assert res.rc == 0 and res.summary["streams"][0]["warnings"] == [], res.stdout[-2000:]
    assert len(res.records()) == 5 and saved == {"since_right": {"cursor": ITEMS[-1]["updated_at"]}}


# ------------------------------------------------------------------ a decoder for another content


def failed(res: Result, saved: Any, stream: str) -> str:
    """The stream failed (exit 1, SYNC_SUMMARY last), its state unchanged; its error."""
    assert res.rc == 1, res.stdout[-2000:] + res.stderr
    [entry] = res.summary["streams"]
    assert entry["status"] == "FAILED" and res.summary["status"] == "FAILED", entry
    assert saved == {stream: {"cursor": START}}
    return str(entry["error"])


def csv_api(text: str) -> GenericApi:
    api = GenericApi(ITEMS)
    api.on_list = lambda req: Response(body=text, headers={"Content-Type": "text/csv"}) if req.path == "/v1/csv" else None
    return api


def test_a_decoder_for_another_content_type_fails_the_stream_with_did_you_mean(tmp_path: Path) -> None:
    """Before: csv read a JSON body as a header and no rows (0 records), jsonl as one record: SUCCESS."""
    res, saved, _ = read("csv_on_json", tmp_path)
    assert failed(res, saved, "csv_on_json").startswith(
        "stream 'csv_on_json': decoder.type 'csv' cannot read GET http://")
    assert "it answered Content-Type application/json; did you mean decoder.type: json?" in res.summary["streams"][0]["error"]
    res, saved, _ = read("jsonl_on_json", tmp_path)
    error = failed(res, saved, "jsonl_on_json")
    assert ("decoder.type 'jsonl' cannot read GET http://" in error and "it answered one JSON document (keys: data, "
            "next_cursor), Content-Type application/json; did you mean decoder.type: json?") in error
    res, saved, _ = read("json_on_csv", tmp_path, csv_api("id,updated_at\nit_000,2024-01-01T00:00:00Z\n"))
    error = failed(res, saved, "json_on_csv")
    assert "invalid JSON from GET http://" in error and "Content-Type text/csv: did you mean decoder.type: csv?" in error


def test_a_csv_header_with_a_column_twice_fails_and_a_missing_header_warns(tmp_path: Path) -> None:
    """Before: the second 'name' column silently replaced the first; a headerless CSV lost its first row."""
    res, saved, _ = read("csv", tmp_path, csv_api("id,name,name,updated_at\nit_000,a,b,2024-01-01T00:00:00Z\n"))
    error = failed(res, saved, "csv")
    assert "invalid CSV from GET http://" in error and "the header names the column 'name' twice" in error
    assert "set decoder.has_header: false" in error
    rows = "".join(f"{r['id']},{r['updated_at']}\n" for r in ITEMS[:3])
    res, saved, _ = read("csv", tmp_path, csv_api(rows))
    assert res.rc == 0 and saved == {"csv": {"cursor": START}}, res.stdout[-2000:]
    [entry] = res.summary["streams"]
    assert entry["state_held"] is True and entry["records_synced"] == 2
    [warning] = [w for w in entry["warnings"] if "primary_key" in w]
    assert "primary_key 'id' is not in the records of http://" in warning
    assert f"(keys: {ITEMS[0]['id']}, {ITEMS[0]['updated_at']})" in warning
