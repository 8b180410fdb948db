"""The built-in ``zendesk`` connector against a Zendesk Support mock, through the installed CLI."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.server import MockServer
from integration_tests.mocks.zendesk import API_TOKEN, EMAIL, OAUTH_TOKEN, ZendeskMock

YAML_PATH = Path(__file__).resolve().parents[1] / "connectors" / "zendesk.yaml"
ALL_STREAMS = ZendeskMock.streams_with_data
TICKETS_EXPORT = "/api/v2/incremental/tickets/cursor.json"


def _read(srv: MockServer, config: dict[str, Any], streams: list[str], state: Any = None) -> Result:
    args = ["read", "--connector", "zendesk", "--config-json", json.dumps(config), "--streams", ",".join(streams)]
    if state is not None:
        args += ["--state-json", json.dumps(state)]
    return run_cli(*args)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]


def _unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


@pytest.fixture(scope="module")
def full_read() -> tuple[ZendeskMock, MockServer, Result]:
    mock = ZendeskMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ALL_STREAMS)
    return mock, srv, result


def test_full_read_returns_exact_records_per_stream(full_read: tuple[ZendeskMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    assert result.rc == 0, result.stderr[-2000:]
    for stream in ALL_STREAMS:
        got = result.records(stream)
        want = mock.expected_records(stream)
        assert [r.get("id", r.get("name")) for r in got] == [r.get("id", r.get("name")) for r in want], stream
        assert got == want, stream
    # the time-based export repeats each page's last organization at the top of the next page
    orgs = [r["id"] for r in result.records("organizations")]
    assert len(orgs) == 217 and len(set(orgs)) == 215
    assert API_TOKEN not in result.stdout + result.stderr
    assert result.summary["status"] == "SUCCEEDED"


def test_cursor_export_runs_past_the_empty_page_to_end_of_stream(
    full_read: tuple[ZendeskMock, MockServer, Result],
) -> None:
    _, srv, _ = full_read
    export = [r for r in srv.requests if r.path == TICKETS_EXPORT]
    assert len(export) == 4  # 100, 100, an empty page with end_of_stream false, the last 60
    assert export[0].arg("start_time") == str(_unix("2020-01-01T00:00:00Z"))
    assert export[0].arg("per_page") == "100"
    assert all(r.arg("cursor") for r in export[1:])
    basic = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
    for req in srv.requests:
        assert req.header("Authorization") == f"Basic {basic}"


def test_lists_follow_links_next_until_has_more_is_false(
    full_read: tuple[ZendeskMock, MockServer, Result],
) -> None:
    _, srv, _ = full_read
    metrics = [r for r in srv.requests if r.path == "/api/v2/ticket_metrics.json"]
    assert len(metrics) == 3
    assert all(r.arg("page[size]") == "100" for r in metrics)
    assert [bool(r.arg("page[after]")) for r in metrics] == [False, True, True]
    organizations = [r for r in srv.requests if r.path == "/api/v2/incremental/organizations.json"]
    assert len(organizations) == 3


def test_every_record_matches_the_declared_schema(full_read: tuple[ZendeskMock, MockServer, Result]) -> None:
    _, _, result = full_read
    manifest = yaml.safe_load(YAML_PATH.read_text())
    schemas = {s["name"]: s["schema"] for s in manifest["streams"]}
    validators = {name: jsonschema.Draft7Validator(schema) for name, schema in schemas.items()}
    for msg in result.of_type("RECORD"):
        validators[msg["record"]["stream"]].validate(msg["record"]["data"])


def test_final_state_is_the_newest_updated_at(full_read: tuple[ZendeskMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    state = _final_state(result)["streams"]
    for stream in ("tickets", "users", "organizations", "ticket_metrics"):
        assert state[stream]["cursor"] == max(r["updated_at"] for r in mock.expected_records(stream)), stream


def test_second_run_sends_start_time_from_the_state(full_read: tuple[ZendeskMock, MockServer, Result]) -> None:
    state = _final_state(full_read[2])  # the first run
    mock = ZendeskMock()
    state["streams"]["tickets"] = {"cursor": mock.expected_records("tickets")[-120]["updated_at"]}  # 120 changed
    with MockServer(mock.handler) as srv:
        second = _read(srv, mock.config(srv.url), ["tickets", "organizations"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    for stream, path in (("tickets", TICKETS_EXPORT), ("organizations", "/api/v2/incremental/organizations.json")):
        cursor = state["streams"][stream]["cursor"]
        first_req = next(r for r in srv.requests if r.path == path)
        assert first_req.arg("start_time") == str(_unix(cursor))
        want = mock.expected_records(stream, {"cursor": cursor})
        assert [r["id"] for r in second.records(stream)] == [r["id"] for r in want]
    assert len(second.records("tickets")) == 120
    assert len(second.records("organizations")) == 1


def test_one_429_mid_sync_is_retried_and_records_stay_exact() -> None:
    mock = ZendeskMock()
    mock.inject_429(TICKETS_EXPORT, nth=2, retry_after="0.1")
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ["tickets"])
    assert result.rc == 0, result.stderr[-2000:]
    assert [r["id"] for r in result.records("tickets")] == [r["id"] for r in mock.expected_records("tickets")]
    cursors = [r.arg("cursor") for r in srv.requests if r.path == TICKETS_EXPORT]
    assert len(cursors) == 5 and cursors[1] == cursors[2]  # the 429 answer, then the same page again


def test_wrong_token_is_a_401_and_fails_the_stream() -> None:
    mock = ZendeskMock()
    with MockServer(mock.handler) as srv:
        config = {**mock.config(srv.url), "api_token": "zdtok-wrong-wrong-wrong"}
        result = _read(srv, config, ["users"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    assert "401" in result.summary["streams"][0].get("error", "")
    assert "zdtok-wrong-wrong-wrong" not in result.stdout + result.stderr


def test_validate_spec_and_streams_work_offline() -> None:
    assert run_cli("validate", str(YAML_PATH)).rc == 0
    spec = run_cli("spec", "--connector", "zendesk")
    assert spec.rc == 0, spec.stderr
    text = json.dumps(spec.messages)
    for name in ("subdomain", "email", "api_token", "access_token", "start_date", "base_url"):
        assert name in text
    props = spec.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert not {"email", "api_token", "access_token"} & set(props.get("required", []))
    assert props["required"] == ["subdomain"]
    assert props["properties"]["access_token"].get("airbyte_secret") is True
    streams = run_cli("streams", "--connector", "zendesk")
    assert streams.rc == 0, streams.stderr
    assert streams.of_type("STREAMS")[0]["streams"] == ALL_STREAMS


def test_missing_config_field_is_one_clear_usage_error() -> None:
    result = run_cli("read", "--connector", "zendesk", "--config-json", '{"subdomain": "acme", "api_token": "zdtok-x"}', "--streams", "tickets")
    assert result.rc == 2
    assert "config field 'email' is required" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_oauth_access_token_is_sent_as_bearer_instead_of_basic() -> None:
    mock = ZendeskMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.oauth_config(srv.url), ["users", "groups"])
    assert result.rc == 0, result.stderr[-2000:]
    for stream in ("users", "groups"):
        assert result.records(stream) == mock.expected_records(stream), stream
    assert srv.requests and all(r.header("Authorization") == f"Bearer {OAUTH_TOKEN}" for r in srv.requests)
    assert OAUTH_TOKEN not in result.stdout + result.stderr


def test_api_token_wins_when_both_credentials_are_given() -> None:
    mock = ZendeskMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, {**mock.config(srv.url), "access_token": "zdoauth-unused"}, ["groups"])
    assert result.rc == 0, result.stderr[-2000:]
    assert {r.header("Authorization") for r in srv.requests} == {f"Basic {_basic(EMAIL, API_TOKEN)}"}


def test_wrong_oauth_token_is_a_401_and_fails_the_stream() -> None:
    mock = ZendeskMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, {**mock.oauth_config(srv.url), "access_token": "zdoauth-wrong-secret"}, ["users"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert "401" in result.summary["streams"][0].get("error", "")
    assert srv.requests[0].header("Authorization") == "Bearer zdoauth-wrong-secret"
    assert "zdoauth-wrong-secret" not in result.stdout + result.stderr


def test_no_credentials_names_both_ways_to_authenticate() -> None:
    result = run_cli("read", "--connector", "zendesk", "--config-json", '{"subdomain": "acme"}', "--streams", "tickets")
    assert result.rc == 2
    assert "zendesk: give either 'api_token' (with email) or 'access_token'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def _basic(email: str, token: str) -> str:
    return base64.b64encode(f"{email}/token:{token}".encode()).decode()
