"""The built-in `stripe` connector against a mock that pages, filters and fails like Stripe does.

One full read of every stream (with one 429 armed mid-sync) backs most assertions; wrong-key and
incremental runs are separate subprocesses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.server import MockServer, Request
from integration_tests.mocks.stripe import API_KEY, StripeMock

CONNECTOR = "stripe"
YAML_PATH = Path(__file__).resolve().parent.parent / "connectors" / "stripe.yaml"


def _schemas() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(YAML_PATH.read_text())
    return {s["name"]: s["schema"] for s in doc["streams"]}


def _read(config: dict[str, Any], streams: list[str], *extra: str) -> Result:
    return run_cli("read", "--connector", CONNECTOR, "--config-json", json.dumps(config),
                   "--streams", ",".join(streams), *extra)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]["streams"]


def _calls(srv: MockServer, path: str) -> list[Request]:
    return [r for r in srv.requests if r.path == path]


@pytest.fixture(scope="module")
def full() -> Any:
    mock = StripeMock()
    mock.inject_429("/v1/charges", after=1)
    with MockServer(mock.handler) as srv:
        result = _read(mock.config(srv.url), mock.streams_with_data)
        yield mock, srv, result


def test_full_read_succeeds(full: Any) -> None:
    mock, _, result = full
    assert result.rc == 0, result.stderr[-3000:]
    assert result.summary["status"] == "SUCCEEDED"
    assert {s["stream"]: s["status"] for s in result.summary["streams"]} == dict.fromkeys(
        mock.streams_with_data, "SUCCESS")


def test_exact_records_per_stream(full: Any) -> None:
    mock, _, result = full
    for stream in mock.streams_with_data:
        got = sorted(result.records(stream), key=lambda r: r["id"])
        want = sorted(mock.expected_records(stream), key=lambda r: r["id"])
        assert len(got) == len(want), stream
        assert got == want, stream


def test_pages_follow_starting_after_until_has_more_false(full: Any) -> None:
    mock, srv, _ = full
    expected = mock.expected_records("charges")
    assert len(expected) == 300  # three full pages: only has_more (not a short page) ends the list
    ok = [r for r in _calls(srv, "/v1/charges") if r.arg("limit") == "100"]
    cursors = [r.arg("starting_after") for r in ok]
    assert cursors[0] is None
    assert set(cursors[1:]) == {expected[99]["id"], expected[199]["id"]}
    assert expected[299]["id"] not in cursors  # no request after has_more: false
    assert len(_calls(srv, "/v1/charges")) == 4  # 3 pages + the retried 429


def test_one_429_mid_sync_is_retried(full: Any) -> None:
    mock, srv, _ = full
    assert mock.served_429 == ["/v1/charges"]
    second_page = [r for r in _calls(srv, "/v1/charges") if r.arg("starting_after")
                   == mock.expected_records("charges")[99]["id"]]
    assert len(second_page) == 2  # answered 429 once, then again with data


def test_auth_header_on_every_request(full: Any) -> None:
    _, srv, result = full
    assert srv.requests
    assert {r.header("Authorization") for r in srv.requests} == {f"Bearer {API_KEY}"}
    assert API_KEY not in result.stdout and API_KEY not in result.stderr


def test_subscriptions_include_canceled(full: Any) -> None:
    _, srv, result = full
    assert {r.arg("status") for r in _calls(srv, "/v1/subscriptions")} == {"all"}
    assert "canceled" in {r["status"] for r in result.records("subscriptions")}


def test_payment_methods_per_customer(full: Any) -> None:
    mock, srv, _ = full
    asked = {r.path.split("/")[3] for r in srv.requests if r.path.endswith("/payment_methods")}
    assert asked == {c["id"] for c in mock.expected_records("customers")}


def test_final_state_is_the_newest_cursor(full: Any) -> None:
    mock, _, result = full
    state = _final_state(result)
    for stream in mock.streams_with_data:
        field = mock.cursor_field(stream)
        if field is None:
            continue
        assert state[stream]["cursor"] == max(r[field] for r in mock.expected_records(stream)), stream


def test_every_record_matches_declared_schema(full: Any) -> None:
    mock, _, result = full
    schemas = _schemas()
    for stream in mock.streams_with_data:
        validator = jsonschema.Draft7Validator(schemas[stream])
        for rec in result.records(stream):
            validator.validate(rec)


def test_wrong_key_fails_the_stream() -> None:
    mock = StripeMock()
    with MockServer(mock.handler) as srv:
        bad = {**mock.config(srv.url), "api_key": "sk_test_wrongwrongwrong9999"}
        result = _read(bad, ["customers"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    assert srv.requests[0].header("Authorization") == "Bearer sk_test_wrongwrongwrong9999"
    assert "sk_test_wrongwrongwrong9999" not in result.stdout + result.stderr


def test_incremental_second_run_sends_created_gte(tmp_path: Path) -> None:
    mock = StripeMock()
    state_file = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = _read(config, ["charges", "invoice_items"], "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        saved = _final_state(first)
        newest = max(r["created"] for r in mock.expected_records("charges"))
        assert saved["charges"]["cursor"] == newest
        assert saved["invoice_items"]["cursor"] == max(r["date"] for r in mock.expected_records("invoice_items"))
        added = mock.add_records("charges", 3)
        srv.requests.clear()
        second = _read(config, ["charges", "invoice_items"], "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    assert {r.arg("created[gte]") for r in _calls(srv, "/v1/charges")} == {str(newest)}
    got = second.records("charges")
    assert sorted(r["id"] for r in got) == sorted(
        r["id"] for r in mock.expected_records("charges", {"cursor": newest}))
    assert len(got) == 4 and min(r["created"] for r in got) == newest  # boundary again + 3 new
    assert _final_state(second)["charges"]["cursor"] == max(r["created"] for r in added)
    assert json.loads(state_file.read_text())["streams"]["charges"]["cursor"] == added[-1]["created"]


def test_payment_methods_are_a_full_snapshot_every_sync(tmp_path: Path) -> None:
    mock = StripeMock()
    state_file = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = _read(config, ["payment_methods"], "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        second = _read(config, ["payment_methods"], "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    # A card attached today to a customer created last year must still be synced.
    assert len(second.records("payment_methods")) == len(mock.expected_records("payment_methods"))


def test_start_date_ts_filters_first_sync() -> None:
    mock = StripeMock()
    start = mock.expected_records("invoices")[49]["created"]
    with MockServer(mock.handler) as srv:
        result = _read({**mock.config(srv.url), "start_date_ts": str(start)}, ["invoices"])
    assert result.rc == 0, result.stderr[-3000:]
    assert {r.arg("created[gte]") for r in srv.requests} == {str(start)}
    assert len(result.records("invoices")) == 50


def test_validate_builtin_yaml() -> None:
    result = run_cli("validate", str(YAML_PATH))
    assert result.rc == 0, result.stdout + result.stderr


def test_spec_offline() -> None:
    result = run_cli("spec", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    spec = result.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert spec["required"] == ["api_key"]
    assert spec["properties"]["api_key"]["airbyte_secret"] is True
    assert {"start_date_ts", "base_url"} <= set(spec["properties"])
    assert "sk_live_" in spec["properties"]["api_key"]["description"]


def test_streams_offline() -> None:
    result = run_cli("streams", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    names = result.of_type("STREAMS")[0]["streams"]
    names = [n if isinstance(n, str) else n["name"] for n in names]
    assert set(StripeMock.streams_with_data) <= set(names)
    assert len(names) == 21
