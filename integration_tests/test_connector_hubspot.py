"""The built-in ``hubspot`` connector against a HubSpot CRM v3 mock, through the installed CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.hubspot import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    SEARCH_STREAMS,
    TOKEN,
    HubSpotMock,
)
from integration_tests.mocks.server import MockServer

YAML_PATH = Path(__file__).resolve().parents[1] / "connectors" / "hubspot.yaml"
ALL_STREAMS = HubSpotMock.streams_with_data


def _read(srv: MockServer, config: dict[str, Any], streams: list[str], state: Any = None) -> Result:
    args = ["read", "--connector", "hubspot", "--config-json", json.dumps(config), "--streams", ",".join(streams)]
    if state is not None:
        args += ["--state-json", json.dumps(state)]
    return run_cli(*args)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]


def _schemas() -> dict[str, dict[str, Any]]:
    manifest = yaml.safe_load(YAML_PATH.read_text())
    return {s["name"]: s["schema"] for s in manifest["streams"]}


@pytest.fixture(scope="module")
def full_read() -> tuple[HubSpotMock, MockServer, Result]:
    mock = HubSpotMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ALL_STREAMS)
    return mock, srv, result


def test_full_read_returns_exact_records_per_stream(full_read: tuple[HubSpotMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    assert result.rc == 0, result.stderr[-2000:]
    for stream in ALL_STREAMS:
        got = result.records(stream)
        want = mock.expected_records(stream)
        assert [r["id"] for r in got] == [r["id"] for r in want], stream
        assert got == want, stream
    assert TOKEN not in result.stdout + result.stderr
    assert result.summary["status"] == "SUCCEEDED"
    assert result.summary["total_records"] == sum(len(mock.expected_records(s)) for s in ALL_STREAMS)


def test_search_pages_follow_paging_next_after_to_the_end(full_read: tuple[HubSpotMock, MockServer, Result]) -> None:
    mock, srv, _ = full_read
    contacts = [r for r in srv.requests if r.path == "/crm/v3/objects/contacts/search"]
    assert len(contacts) == 3  # 450 contacts at 200 per page; the third answer has no `paging`
    bodies = [r.json() for r in contacts]
    assert [b.get("after") for b in bodies] == [None, "200", "400"]
    assert all(b["limit"] == 200 and b["filterGroups"] == [] for b in bodies)
    assert bodies[0]["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    for req in srv.requests:
        assert req.header("Authorization") == f"Bearer {TOKEN}"


def test_list_pages_send_after_and_stop_without_paging(full_read: tuple[HubSpotMock, MockServer, Result]) -> None:
    _, srv, _ = full_read
    products = [r for r in srv.requests if r.path == "/crm/v3/objects/products"]
    assert [r.arg("after") for r in products] == [None, "9100", "9200"]
    assert all(r.arg("limit") == "100" for r in products)
    assert len(products[0].arg("properties").split(",")) == 6


def test_every_record_matches_the_declared_schema(full_read: tuple[HubSpotMock, MockServer, Result]) -> None:
    _, _, result = full_read
    schemas = _schemas()
    validators = {name: jsonschema.Draft7Validator(schema) for name, schema in schemas.items()}
    for msg in result.of_type("RECORD"):
        validators[msg["record"]["stream"]].validate(msg["record"]["data"])


def test_final_state_is_the_newest_updated_at(full_read: tuple[HubSpotMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    state = _final_state(result)["streams"]
    for stream in SEARCH_STREAMS:
        assert state[stream]["cursor"] == max(r["updatedAt"] for r in mock.expected_records(stream))


def test_second_run_sends_the_gte_filter_and_gets_only_newer_records(
    full_read: tuple[HubSpotMock, MockServer, Result],
) -> None:
    state = _final_state(full_read[2])  # the first run
    mock = HubSpotMock()
    # pretend the portal changed: move the saved deals cursor back so that part of the data is newer
    state["streams"]["deals"] = {"cursor": mock.expected_records("deals")[-50]["updatedAt"]}
    with MockServer(mock.handler) as srv:
        second = _read(srv, mock.config(srv.url), ["contacts", "deals"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    for stream, prop in (("contacts", "lastmodifieddate"), ("deals", "hs_lastmodifieddate")):
        cursor = state["streams"][stream]["cursor"]
        body = next(r.json() for r in srv.requests if r.path == f"/crm/v3/objects/{stream}/search")
        ms = str(int(datetime.fromisoformat(cursor.replace("Z", "+00:00")).timestamp() * 1000))
        assert body["filterGroups"] == [
            {"filters": [{"propertyName": prop, "operator": "GTE", "value": ms}]}
        ]
        want = mock.expected_records(stream, {"cursor": cursor})
        assert [r["id"] for r in second.records(stream)] == [r["id"] for r in want]
    assert len(second.records("deals")) >= 50


def test_search_cap_fails_the_stream_and_the_saved_state_gets_past_it() -> None:
    """HubSpot search stops at 10,000 results (HTTP 400); results sorted by the cursor make every
    page's state safe, so with --state-per-page the next sync goes on from the last page read."""
    mock = HubSpotMock(search_cap=400)  # 450 contacts: pages at after=0 and 200 pass, after=400 is a 400
    with MockServer(mock.handler) as srv:
        first = run_cli("read", "--connector", "hubspot", "--config-json", json.dumps(mock.config(srv.url)),
                        "--streams", "contacts", "--state-per-page")
        assert first.rc == 1 and first.summary["streams"][0]["status"] == "FAILED"
        assert "10,000" in first.summary["streams"][0]["error"]
        state = _final_state(first)
        second = _read(srv, mock.config(srv.url), ["contacts"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    want = mock.expected_records("contacts")
    assert state["streams"]["contacts"]["cursor"] == want[399]["updatedAt"]
    assert [r["id"] for r in first.records() + second.records()] == [r["id"] for r in want[:400] + want[399:]]


def test_429s_mid_sync_are_retried_with_and_without_retry_after() -> None:
    """HubSpot "does not always return Retry-After": the second 429 has none (backoff applies)."""
    mock = HubSpotMock()
    mock.inject_429("/crm/v3/objects/contacts/search", nth=2, retry_after="0.1")
    mock.inject_429("/crm/v3/objects/contacts/search", nth=3, retry_after=None)  # its retry, again
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ["contacts"])
    assert result.rc == 0, result.stderr[-2000:]
    assert [r["id"] for r in result.records("contacts")] == [r["id"] for r in mock.expected_records("contacts")]
    afters = [r.json().get("after") for r in srv.requests if r.path.endswith("/search")]
    assert afters == [None, "200", "200", "200", "400"]  # two 429 answers, then page 2, then page 3


def test_wrong_token_is_a_401_and_fails_the_stream() -> None:
    mock = HubSpotMock()
    with MockServer(mock.handler) as srv:
        config = {**mock.config(srv.url), "access_token": "pat-na1-wrong-secret-value"}
        result = _read(srv, config, ["contacts"])
    assert result.rc == 1
    summary = result.summary
    assert summary["status"] == "FAILED"
    assert summary["streams"][0]["status"] == "FAILED"
    assert "401" in summary["streams"][0].get("error", "")
    assert "pat-na1-wrong-secret-value" not in result.stdout + result.stderr
    assert srv.requests[0].header("Authorization") == "Bearer pat-na1-wrong-secret-value"


def test_validate_spec_and_streams_work_offline() -> None:
    assert run_cli("validate", str(YAML_PATH)).rc == 0
    spec = run_cli("spec", "--connector", "hubspot")
    assert spec.rc == 0, spec.stderr
    text = json.dumps(spec.messages)
    assert "access_token" in text and "base_url" in text
    props = spec.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert props.get("required", []) == []  # either access_token or the OAuth trio
    for name in ("access_token", "client_id", "client_secret", "refresh_token", "token_url"):
        assert name in props["properties"], name
    for name in ("access_token", "client_secret", "refresh_token"):
        assert props["properties"][name].get("airbyte_secret") is True, name
    streams = run_cli("streams", "--connector", "hubspot")
    assert streams.rc == 0, streams.stderr
    assert streams.of_type("STREAMS")[0]["streams"] == ALL_STREAMS


def test_missing_credentials_name_both_ways_to_authenticate() -> None:
    result = run_cli("read", "--connector", "hubspot", "--config-json", '{"base_url": "http://127.0.0.1:9"}', "--streams", "contacts")
    assert result.rc == 2
    assert "hubspot: give either 'access_token' or 'refresh_token' (with client_id and client_secret)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_refresh_token_without_client_credentials_names_what_is_missing() -> None:
    config = {"base_url": "http://127.0.0.1:9", "refresh_token": "na1-secret-refresh", "client_id": "cid"}
    result = run_cli("read", "--connector", "hubspot", "--config-json", json.dumps(config), "--streams", "contacts")
    assert result.rc == 2
    assert "config field 'client_secret' is required (used by auth[1].client_secret at hubspot.yaml:" in result.stderr
    assert "access_token" not in result.stderr
    assert "na1-secret-refresh" not in result.stdout + result.stderr


def test_oauth_refresh_token_is_traded_for_a_bearer_token() -> None:
    mock = HubSpotMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.oauth_config(srv.url), ["contacts", "owners"])
    assert result.rc == 0, result.stderr[-2000:]
    for stream in ("contacts", "owners"):
        assert result.records(stream) == mock.expected_records(stream), stream
    assert mock.token_forms == [{"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                 "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}]
    token_req, *data = srv.requests
    assert token_req.path == "/oauth/v1/token" and token_req.method == "POST"
    assert token_req.header("Content-Type") == "application/x-www-form-urlencoded"
    assert data and all(r.header("Authorization") == f"Bearer {mock.issued[0]}" for r in data)
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, mock.issued[0]):
        assert secret not in result.stdout + result.stderr


def test_access_token_wins_when_both_credentials_are_given() -> None:
    mock = HubSpotMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, {**mock.oauth_config(srv.url), "access_token": TOKEN}, ["owners"])
    assert result.rc == 0, result.stderr[-2000:]
    assert mock.token_forms == []
    assert {r.header("Authorization") for r in srv.requests} == {f"Bearer {TOKEN}"}


def test_wrong_refresh_token_is_refused_and_fails_the_sync() -> None:
    mock = HubSpotMock()
    with MockServer(mock.handler) as srv:
        config = {**mock.oauth_config(srv.url), "refresh_token": "na1-wrong-refresh-secret"}
        result = _read(srv, config, ["contacts"])
    assert result.rc == 1, result.stderr[-2000:]
    assert result.summary["status"] == "FAILED"
    assert "BAD_REFRESH_TOKEN" in json.dumps(result.summary) + result.stderr
    assert [r.path for r in srv.requests if r.path != "/oauth/v1/token"] == []  # no data call without a token
    assert mock.token_forms and mock.token_forms[0]["grant_type"] == "refresh_token"
    for secret in ("na1-wrong-refresh-secret", CLIENT_SECRET):
        assert secret not in result.stdout + result.stderr
