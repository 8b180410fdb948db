"""The built-in ``salesforce`` connector against a Salesforce OAuth + REST SOQL mock, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.salesforce import API, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SalesforceMock
from integration_tests.mocks.server import MockServer

YAML_PATH = Path(__file__).resolve().parents[1] / "connectors" / "salesforce.yaml"
ALL_STREAMS = SalesforceMock.streams_with_data


def _read(srv: MockServer, config: dict[str, Any], streams: list[str], state: Any = None) -> Result:
    args = ["read", "--connector", "salesforce", "--config-json", json.dumps(config),
            "--streams", ",".join(streams)]
    if state is not None:
        args += ["--state-json", json.dumps(state)]
    return run_cli(*args)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["Id"] for r in records]


@pytest.fixture(scope="module")
def full_read() -> tuple[SalesforceMock, MockServer, Result]:
    mock = SalesforceMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ALL_STREAMS)
    return mock, srv, result


def test_full_read_returns_exact_records_per_stream(full_read: tuple[SalesforceMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    assert result.rc == 0, result.stderr[-2000:]
    for stream in ALL_STREAMS:
        got = result.records(stream)
        want = mock.expected_records(stream)
        assert _ids(got) == _ids(want), stream
        assert got == want, stream  # `attributes` dropped, deleted rows kept (queryAll)
    assert any(r["IsDeleted"] for r in result.records("accounts"))
    out = result.stdout + result.stderr
    assert all(secret not in out for secret in (CLIENT_SECRET, REFRESH_TOKEN, *mock.tokens_issued))
    assert result.summary["status"] == "SUCCEEDED"


def test_token_refresh_and_instance_url_drive_the_data_calls(
    full_read: tuple[SalesforceMock, MockServer, Result],
) -> None:
    mock, srv, _ = full_read
    token_calls = [r for r in srv.requests if r.path == "/services/oauth2/token"]
    assert token_calls and token_calls[0].method == "POST"
    assert token_calls[0].form() == {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                     "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
    data_calls = [r for r in srv.requests if r.path.startswith(API)]
    assert data_calls
    assert all(r.header("Authorization") in {f"Bearer {t}" for t in mock.tokens_issued} for r in data_calls)


def test_batches_follow_next_records_url_until_done(full_read: tuple[SalesforceMock, MockServer, Result]) -> None:
    mock, srv, _ = full_read
    first = [r for r in srv.requests if r.path == f"{API}/queryAll" and "FROM Account" in (r.arg("q") or "")]
    assert len(first) == 1
    assert "WHERE" not in first[0].arg("q") and first[0].arg("q").endswith("ORDER BY SystemModstamp ASC")
    locator = re.escape(API) + r"/query(?:All)?/01gRO\d+-(\d+)"
    follow = [r for r in srv.requests if re.fullmatch(locator, r.path)]
    offsets = sorted(int(re.fullmatch(locator, r.path).group(1)) for r in follow)
    assert 100 in offsets and 200 in offsets  # accounts: 250 rows in batches of 100 -> 3 batches
    assert all(not r.query for r in follow)  # nextRecordsUrl is requested with no parameters


def test_every_record_matches_the_declared_schema(full_read: tuple[SalesforceMock, MockServer, Result]) -> None:
    _, _, result = full_read
    manifest = yaml.safe_load(YAML_PATH.read_text())
    validators = {s["name"]: jsonschema.Draft7Validator(s["schema"]) for s in manifest["streams"]}
    for msg in result.of_type("RECORD"):
        validators[msg["record"]["stream"]].validate(msg["record"]["data"])


def test_final_state_is_the_newest_system_modstamp(full_read: tuple[SalesforceMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    state = _final_state(result)["streams"]
    for stream in ALL_STREAMS:
        assert state[stream]["cursor"] == mock.expected_records(stream)[-1]["SystemModstamp"], stream


def test_second_run_adds_the_soql_where_clause(full_read: tuple[SalesforceMock, MockServer, Result]) -> None:
    first = full_read[2]
    state = _final_state(first)
    mock = SalesforceMock()
    cursor = mock.expected_records("accounts")[-130]["SystemModstamp"]  # 130 rows changed since
    state["streams"]["accounts"] = {"cursor": cursor}
    with MockServer(mock.handler) as srv:
        second = _read(srv, mock.config(srv.url), ["accounts"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    literal = cursor[:19] + "Z"  # 2024-01-22T03:04:05.000+0000 -> 2024-01-22T03:04:05Z
    assert mock.queries == [
        f"SELECT {', '.join(f for f in first.records('accounts')[0])} FROM Account "
        f"WHERE SystemModstamp >= {literal} ORDER BY SystemModstamp ASC"
    ]
    want = mock.expected_records("accounts", {"cursor": cursor})
    assert _ids(second.records("accounts")) == _ids(want) and len(want) == 130


def test_expired_session_is_refreshed_once_and_the_sync_goes_on() -> None:
    mock = SalesforceMock()
    mock.expire_sessions_after(2)
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ["contacts"])
    assert result.rc == 0, result.stderr[-2000:]
    assert len(mock.tokens_issued) == 2
    assert _ids(result.records("contacts")) == _ids(mock.expected_records("contacts"))


def test_request_limit_answer_is_retried_and_records_stay_exact() -> None:
    mock = SalesforceMock()
    mock.inject_429(f"{API}/query", nth=2)  # 403 REQUEST_LIMIT_EXCEEDED on the second batch
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ["leads"])
    assert result.rc == 0, result.stderr[-2000:]
    assert _ids(result.records("leads")) == _ids(mock.expected_records("leads"))
    batches = [r.path for r in srv.requests if r.path.startswith(f"{API}/query")]
    assert len(batches) == 4 and batches[1] == batches[2]


def test_wrong_refresh_token_fails_the_stream_without_leaking_it() -> None:
    mock = SalesforceMock()
    with MockServer(mock.handler) as srv:
        config = {**mock.config(srv.url), "refresh_token": "5Aep-wrong-refresh-token"}
        result = _read(srv, config, ["accounts"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    out = result.stdout + result.stderr
    assert "5Aep-wrong-refresh-token" not in out and CLIENT_SECRET not in out
    assert not [r for r in srv.requests if r.path.startswith(API)]


def test_validate_spec_and_streams_work_offline() -> None:
    assert run_cli("validate", str(YAML_PATH)).rc == 0
    spec = run_cli("spec", "--connector", "salesforce")
    assert spec.rc == 0, spec.stderr
    text = json.dumps(spec.messages)
    for name in ("client_id", "client_secret", "refresh_token", "is_sandbox", "start_date", "api_version",
                 "token_url", "base_url"):
        assert name in text
    streams = run_cli("streams", "--connector", "salesforce")
    assert streams.rc == 0, streams.stderr
    assert streams.of_type("STREAMS")[0]["streams"] == ALL_STREAMS


def test_missing_config_field_is_one_clear_usage_error() -> None:
    result = run_cli("read", "--connector", "salesforce", "--config-json", '{"client_id": "a", "client_secret": "b"}', "--streams", "accounts")
    assert result.rc == 2
    assert "config field 'refresh_token' is required" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
