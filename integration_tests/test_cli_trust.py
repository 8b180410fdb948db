"""A stream that may not have read everything says so and keeps its state (ReadContext.warn).

Each case runs the real CLI (both flavours), the server or the Python API against the generic mock
API on 127.0.0.1: the summary's ``warnings``, the held state, and ``--strict`` turning a warning into
a stream failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airbyte_protocol.models import AirbyteMessage

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import GenericApi, connector, json_body, make_items
from integration_tests.mocks.server import MockServer

ITEMS = make_items(15)
START = "2024-01-01T00:00:00Z"


def read(streams: str, *extra: str, api: GenericApi | None = None, yaml: str = "trust",
         state: dict[str, Any] | None = None, tmp: Path | None = None) -> tuple[Result, dict[str, Any] | None]:
    """One CLI read; with ``tmp``, a state file holding ``state`` is passed and read back afterwards."""
    args = ["--streams", streams, *extra]
    state_file = None
    if tmp is not None:
        state_file = tmp / "state.json"
        state_file.write_text(json.dumps({"streams": state or {}}))
        args += ["--state", str(state_file)]
    with MockServer(api or GenericApi(ITEMS)) as srv:
        cfg = json_body({"base_url": f"{srv.url}/v1"})
        res = run_cli("read", "-c", connector(yaml), "--config-json", cfg, *args)
    saved = json.loads(state_file.read_text())["streams"] if state_file is not None else None
    return res, saved


def stream_result(res: Result, name: str) -> dict[str, Any]:
    return next(s for s in res.summary["streams"] if s["stream"] == name)


def warn_logs(res: Result) -> list[str]:
    return [m["log"]["message"] for m in res.of_type("LOG") if m["log"]["level"] == "WARN"]


def test_max_pages_is_a_warning_and_holds_the_state(tmp_path: Path) -> None:
    res, saved = read("capped,fine", state={"capped": {"cursor": START}}, tmp=tmp_path)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    capped = stream_result(res, "capped")
    assert capped["status"] == "SUCCESS" and capped["records_synced"] == 10
    assert capped["state_held"] is True
    [warning] = capped["warnings"]
    assert "stream 'capped'" in warning and "max_pages=2" in warning and "/v1/pages?" in warning, warning
    assert any(warning in line for line in warn_logs(res))
    assert stream_result(res, "fine")["warnings"] == [] and "state_held" not in stream_result(res, "fine")
    assert saved == {"capped": {"cursor": START}, "fine": {"cursor": ITEMS[-1]["updated_at"]}}
    assert res.of_type("STATE")[-1]["state"]["streams"] == saved


def test_strict_turns_the_warning_into_a_stream_failure(tmp_path: Path) -> None:
    res, saved = read("capped,fine", "--strict", state={"capped": {"cursor": START}}, tmp=tmp_path)
    assert res.rc == 1, res.stdout[-2000:] + res.stderr
    assert res.summary["status"] == "PARTIAL"
    capped = stream_result(res, "capped")
    assert capped["status"] == "FAILED" and "max_pages=2" in capped["error"] and "strict" in capped["error"]
    assert stream_result(res, "fine")["status"] == "SUCCESS"
    assert saved is not None and saved["capped"] == {"cursor": START}
    assert "Traceback" not in res.stderr


def _airbyte_files(tmp: Path, url: str, streams: list[str], state: dict[str, Any]) -> list[str]:
    config, catalog, state_file = tmp / "config.json", tmp / "catalog.json", tmp / "state.json"
    config.write_text(json.dumps({"connector": connector("trust"), "base_url": f"{url}/v1"}))
    configured = [{"stream": {"name": s, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
                   "sync_mode": "incremental", "destination_sync_mode": "append"} for s in streams]
    catalog.write_text(json.dumps({"streams": configured}))
    state_file.write_text(json.dumps([{"type": "STREAM", "stream": {"stream_descriptor": {"name": n},
                                                                     "stream_state": s}} for n, s in state.items()]))
    return ["--config", str(config), "--catalog", str(catalog), "--state", str(state_file)]


def _airbyte_read(tmp: Path, *extra: str) -> tuple[Result, list[dict[str, Any]]]:
    with MockServer(GenericApi(ITEMS)) as srv:
        res = run_cli("read", *_airbyte_files(tmp, srv.url, ["capped"], {"capped": {"cursor": START}}), *extra,
                      script="source-solidafy")
    for line in res.stdout.splitlines():
        AirbyteMessage.model_validate_json(line)
    return res, res.messages


def _status(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    return [m["trace"]["stream_status"] for m in msgs
            if m["type"] == "TRACE" and m["trace"]["type"] == "STREAM_STATUS"][-1]


def test_airbyte_flavour_logs_the_warning_and_the_status_carries_it(tmp_path: Path) -> None:
    res, msgs = _airbyte_read(tmp_path)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    status = _status(msgs)
    assert status["status"] == "COMPLETE"
    [warning] = status["warnings"]
    assert "max_pages=2" in warning and "stream 'capped'" in warning
    assert any(warning in line for line in warn_logs(res))
    states = [m["state"]["stream"]["stream_state"] for m in msgs if m["type"] == "STATE"]
    # pages were checkpointed before the warning; the last STATE takes the stream back to where it was
    assert states[-1] == {"cursor": START} and len(states) > 1, states


def test_airbyte_flavour_strict_fails_the_stream(tmp_path: Path) -> None:
    res, msgs = _airbyte_read(tmp_path, "--strict")
    assert res.rc == 1, res.stdout[-2000:] + res.stderr
    assert _status(msgs)["status"] == "INCOMPLETE"
    errors = [m["trace"]["error"] for m in msgs if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert len(errors) == 1 and "max_pages=2" in errors[0]["message"]
    states = [m["state"]["stream"]["stream_state"] for m in msgs if m["type"] == "STATE"]
    assert states[-1] == {"cursor": START}, states


def test_server_sync_reports_warnings_and_strict_fails(tmp_path: Path) -> None:
    from integration_tests.test_server_support import ServerProcess

    yaml_text = Path(connector("trust")).read_text()
    with MockServer(GenericApi(ITEMS)) as api, ServerProcess("--allow-custom-connectors") as srv:
        body = {"connector_yaml": yaml_text, "config": {"base_url": f"{api.url}/v1"}, "streams": ["capped", "fine"],
                "state": {"streams": {"capped": {"cursor": START}}}}
        lenient = srv.post("/sync", body)
        strict = srv.post("/sync", {**body, "strict": True})
        wrong = srv.post("/sync", {**body, "strict": "yes"})
    assert lenient.status_code == 200, lenient.text
    result = lenient.json()["data"]["result"]
    capped = next(s for s in result["streams"] if s["stream"] == "capped")
    assert result["status"] == "SUCCEEDED" and capped["state_held"] is True
    assert "max_pages=2" in capped["warnings"][0]
    assert result["state"]["streams"]["capped"] == {"cursor": START}
    assert strict.status_code == 200, strict.text
    result = strict.json()["data"]["result"]
    assert result["status"] == "PARTIAL"
    capped = next(s for s in result["streams"] if s["stream"] == "capped")
    assert capped["status"] == "FAILED" and "max_pages=2" in capped["error"]
    assert wrong.status_code == 400 and "'strict' must be true or false" in wrong.json()["error"]["message"]


def test_python_api_strict() -> None:
    import source_solidafy as ss

    with MockServer(GenericApi(ITEMS)) as api:
        config = {"base_url": f"{api.url}/v1"}
        lenient = ss.sync(connector("trust"), config, streams=["capped"], state={"capped": {"cursor": START}})
        strict = ss.sync(connector("trust"), config, streams=["capped"], state={"capped": {"cursor": START}},
                         strict=True)
        run = ss.prepare_sync(connector("trust"), config, streams=["capped"], strict=True)
        chunks = list(run)
    assert lenient["status"] == "SUCCEEDED" and "max_pages=2" in lenient["streams"][0]["warnings"][0]
    assert lenient["state"]["streams"]["capped"] == {"cursor": START}
    assert strict["status"] == "FAILED" and "max_pages=2" in strict["streams"][0]["error"]
    assert strict["state"]["streams"]["capped"] == {"cursor": START}
    assert run.summary is not None and run.summary["status"] == "FAILED" and chunks[-1][-1]["type"] == "SYNC_SUMMARY"


# ---------------------------------------------------------------- records_path that matches nothing


def failed(res: Result, name: str) -> str:
    """The stream failed (exit 1, SYNC_SUMMARY still last); its error message."""
    assert res.rc == 1, res.stdout[-2000:] + res.stderr
    entry = stream_result(res, name)
    assert entry["status"] == "FAILED" and entry["records_synced"] == 0 or entry["status"] == "FAILED", entry
    assert "Traceback" not in res.stderr
    return str(entry["error"])


def test_records_path_that_matches_nothing_fails_the_stream() -> None:
    res, _ = read("wrong_path")
    error = failed(res, "wrong_path")
    assert error.startswith("stream 'wrong_path': decoder.records_path 'data' matched nothing in GET http://"), error
    assert "/v1/offset?offset=0&limit=5" in error
    assert "no key 'data' in the response (keys: items, meta; did you mean 'items'?)" in error
    assert res.summary["status"] == "FAILED" and res.summary["total_records"] == 0


def test_records_path_missing_on_a_later_page_fails_unless_declared() -> None:
    res, _ = read("sparse")
    error = failed(res, "sparse")
    assert "decoder.records_path 'data' matched nothing" in error and "page=4" in error
    assert "no key 'data' in the response (keys: page)" in error
    assert "set decoder.missing_means_empty: true" in error
    res, _ = read("sparse_declared")
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert [r["id"] for r in res.records("sparse_declared")] == [r["id"] for r in ITEMS]


def test_records_path_missing_on_the_first_page_fails_even_when_declared() -> None:
    res, _ = read("sparse_declared", api=GenericApi([]))
    error = failed(res, "sparse_declared")
    assert "decoder.records_path 'data' matched nothing" in error and "page=1" in error


def test_nested_records_path_that_matches_nothing_fails() -> None:
    res, _ = read("buckets_wrong")
    error = failed(res, "buckets_wrong")
    assert "decoder.nested_records.path 'result' matched nothing in any of the 3 buckets of GET http" in error, error
    assert "no key 'result' in the first bucket (keys: object, start_time, results; did you mean 'results'?)" in error


def test_xml_records_path_that_matches_nothing_fails_but_an_empty_element_is_empty() -> None:
    res, _ = read("xml_wrong")
    error = failed(res, "xml_wrong")
    assert "decoder.records_path 'response.items.record' matched nothing" in error
    assert "no key 'record' in 'response.items' (keys: item" in error
    res, _ = read("xml_ok")
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert len(res.records("xml_ok")) == 15


# ------------------------------------------------------ a next-page value that never resolves


def test_cursor_path_that_never_resolves_on_a_full_first_page_warns_and_holds(tmp_path: Path) -> None:
    res, saved = read("cursor_wrong", state={"cursor_wrong": {"cursor": START}}, tmp=tmp_path)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    entry = stream_result(res, "cursor_wrong")
    assert entry["records_synced"] == 4 and entry["state_held"] is True
    [warning] = entry["warnings"]
    assert warning.startswith("stream 'cursor_wrong': pagination.cursor_path 'next' matched nothing in http://"), warning
    assert "/v1/cursor?limit=4: no key 'next' in the response (keys: data, next_cursor; did you mean 'next_cursor'?)" \
        in warning
    assert warning.endswith("although the first page was full (4 records for limit=4); later pages were not read")
    assert saved == {"cursor_wrong": {"cursor": START}}
    res, _ = read("cursor_wrong", "--strict")
    assert res.rc == 1 and "pagination.cursor_path 'next'" in stream_result(res, "cursor_wrong")["error"]


def test_a_full_single_page_with_a_null_cursor_is_the_end_not_a_warning() -> None:
    res, _ = read("fine", api=GenericApi(make_items(5)))
    assert res.rc == 0 and stream_result(res, "fine")["warnings"] == [], res.stdout[-2000:]


def test_cursor_header_and_link_rel_that_never_resolve_warn() -> None:
    res, _ = read("header_wrong,rel_wrong")
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    [header] = stream_result(res, "header_wrong")["warnings"]
    assert "pagination.cursor_header 'X-Next-Token' is not in the response headers of http://" in header
    assert "did you mean 'X-Next-Cursor'?" in header and "(4 records for limit=4)" in header
    [rel] = stream_result(res, "rel_wrong")["warnings"]
    assert "pagination.rel 'following' is not in the Link header of http://" in rel
    assert "(rels: next)" in rel and "(4 records for per_page=4)" in rel


# ---------------------------------------------------------------- cursor_field no record has


def test_cursor_field_no_record_has_warns_once_and_the_state_stays(tmp_path: Path) -> None:
    state = {"no_cursor_field": {"cursor": START}}
    res, saved = read("no_cursor_field", state=state, tmp=tmp_path)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    entry = stream_result(res, "no_cursor_field")
    assert entry["records_synced"] == 30 and entry["state_held"] is True
    assert entry["warnings"] == [
        "stream 'no_cursor_field': cursor_field 'updated' is in no record read: no key 'updated' in the first "
        "record (keys: id, n, name, updated_at; did you mean 'updated_at'?); the stream's cursor cannot advance"
    ]
    assert len([w for w in warn_logs(res) if "cursor_field 'updated'" in w]) == 1
    assert saved == state


# ---------------------------------------------------------------- parent_field no parent has

PARENT_STATE = {"notes_wrong": {"parent": {"cursor": START}, "cursor": START}}
NO_ITEM_ID = ("stream 'notes_wrong': partition.parent_field 'item_id' is in none of the 15 records of parent stream "
              "'fine': no key 'item_id' in the first 'fine' record (keys: id, n, name, updated_at; did you mean 'id'?); "
              "no partition was read")


@pytest.mark.parametrize("streams", ["notes_wrong", "fine,notes_wrong"])
def test_parent_field_no_parent_has_fails_the_child_and_keeps_its_parent_cursor(streams: str, tmp_path: Path) -> None:
    """Alone, the child reads the parent itself; with it, it follows the parent's shared (projected) read."""
    res, saved = read(streams, "--concurrency", "1", state=PARENT_STATE, tmp=tmp_path)
    assert failed(res, "notes_wrong") == NO_ITEM_ID
    assert saved is not None and saved["notes_wrong"] == PARENT_STATE["notes_wrong"]
    if "fine," in streams:
        assert stream_result(res, "fine")["status"] == "SUCCESS" and res.summary["status"] == "PARTIAL"


@pytest.mark.parametrize("streams", ["capped_notes", "capped,capped_notes", "capped_notes,capped"])
def test_a_parent_read_that_warns_holds_the_child_state_too(streams: str, tmp_path: Path) -> None:
    """Read by the child itself, shared from the parent's output, or shared to it: the warning reaches both."""
    state = {"capped_notes": {"parent": {"cursor": START}, "cursor": START}, "capped": {"cursor": START}}
    res, saved = read(streams, "--concurrency", "1", state=state, tmp=tmp_path)
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    child = stream_result(res, "capped_notes")
    assert child["records_synced"] == 20 and child["state_held"] is True
    assert [w for w in child["warnings"] if "stream 'capped': pagination.max_pages=2 reached" in w], child
    assert saved is not None and saved["capped_notes"] == state["capped_notes"]
    if "capped," in streams or ",capped" in streams:
        assert stream_result(res, "capped")["state_held"] is True and saved["capped"] == state["capped"]


def test_parent_field_right_reads_every_child() -> None:
    res, _ = read("fine,notes", "--concurrency", "1")
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert len(res.records("notes")) == 30


# ------------------------------------------------------- async job results with an undeclared locator

BULK_PAGING = """        pagination:
          type: cursor
          cursor_param: locator
          cursor_header: Sforce-Locator
"""


def test_async_download_follows_sforce_locator_the_yaml_did_not_declare(tmp_path: Path) -> None:
    """The shipped salesforce-bulk YAML without its download pagination still reads every results page."""
    from integration_tests.connector_checks import Connector, assert_exact_records
    from integration_tests.mocks.salesforce_bulk import SalesforceBulkMock

    shipped = Connector("salesforce-bulk")
    text = shipped.yaml_path.read_text()
    assert text.count(BULK_PAGING) == 1 and text.count("interval_secs: 5\n") == 1
    path = tmp_path / "bulk-undeclared.yaml"
    path.write_text(text.replace(BULK_PAGING, "").replace("interval_secs: 5\n", "interval_secs: 0.05\n"))
    mock = SalesforceBulkMock(results_page_size=100)
    srv, res = Connector("salesforce-bulk", ref=str(path)).read_against(mock, ["accounts_bulk"])
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert len(mock.expected_records("accounts_bulk")) > 200  # three results pages
    assert_exact_records(res, mock, ["accounts_bulk"], sort_by=lambda r: r["Id"])
    locators = [r.arg("locator") for r in srv.requests if r.path.endswith("/results")]
    assert locators[0] is None and len(locators) == 3 and None not in locators[1:]
