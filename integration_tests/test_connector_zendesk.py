"""The built-in ``zendesk`` connector against a Zendesk Support mock, through the installed CLI."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_secrets_hidden,
    assert_stream_failed,
    assert_usage_error,
    final_state,
    header_values,
    requests_to,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.zendesk import API_TOKEN, EMAIL, OAUTH_TOKEN, ZendeskMock

ZENDESK = Connector("zendesk")
ALL_STREAMS = ZendeskMock.streams_with_data
TICKETS_EXPORT = "/api/v2/incremental/tickets/cursor.json"
ORGANIZATIONS_EXPORT = "/api/v2/incremental/organizations.json"


def _unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _basic(email: str, token: str) -> str:
    return base64.b64encode(f"{email}/token:{token}".encode()).decode()


@pytest.fixture(scope="module")
def full_read() -> FullRead:
    return full_read_of("zendesk")  # the contract's read (connector_contract.py), faults armed there


def test_cursor_export_runs_past_the_empty_page_to_end_of_stream(
    full_read: FullRead,
) -> None:
    _, srv, _ = full_read
    export = requests_to(srv, TICKETS_EXPORT)
    assert len(export) == 4  # 100, 100, an empty page with end_of_stream false, the last 60
    assert export[0].arg("start_time") == str(_unix("2020-01-01T00:00:00Z"))
    assert export[0].arg("per_page") == "100"
    assert all(r.arg("cursor") for r in export[1:])
    for req in srv.requests:
        assert req.header("Authorization") == f"Basic {_basic(EMAIL, API_TOKEN)}"


def test_lists_follow_links_next_until_has_more_is_false(
    full_read: FullRead,
) -> None:
    _, srv, _ = full_read
    metrics = requests_to(srv, "/api/v2/ticket_metrics.json")
    assert len(metrics) == 3
    assert all(r.arg("page[size]") == "100" for r in metrics)
    assert [bool(r.arg("page[after]")) for r in metrics] == [False, True, True]
    assert len(requests_to(srv, ORGANIZATIONS_EXPORT)) == 3


def test_second_run_sends_start_time_from_the_state(full_read: FullRead) -> None:
    state = final_state(full_read[2])  # the first run
    mock = ZendeskMock()
    state["streams"]["tickets"] = {"cursor": mock.expected_records("tickets")[-120]["updated_at"]}  # 120 changed
    srv, second = ZENDESK.read_against(mock, ["tickets", "organizations"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    for stream, path in (("tickets", TICKETS_EXPORT), ("organizations", ORGANIZATIONS_EXPORT)):
        cursor = state["streams"][stream]["cursor"]
        assert requests_to(srv, path)[0].arg("start_time") == str(_unix(cursor))
        want = mock.expected_records(stream, {"cursor": cursor})
        assert [r["id"] for r in second.records(stream)] == [r["id"] for r in want]
    assert len(second.records("tickets")) == 120
    assert len(second.records("organizations")) == 3  # the organizations of the newest second (>= state)


def test_one_429_mid_sync_is_retried_and_records_stay_exact() -> None:
    mock = ZendeskMock()
    mock.inject_429(TICKETS_EXPORT, nth=2, retry_after="0.1")
    srv, _ = ZENDESK.read_exactly(mock, ["tickets"], ids="id")
    assert mock.faults.served == [TICKETS_EXPORT]
    cursors = [r.arg("cursor") for r in requests_to(srv, TICKETS_EXPORT)]
    assert len(cursors) == 5 and cursors[1] == cursors[2]  # the 429 answer, then the same page again


def test_oauth_access_token_is_sent_as_bearer_instead_of_basic() -> None:
    mock = ZendeskMock()
    srv, result = ZENDESK.read_exactly(mock, ["users", "groups"], config=mock.oauth_config)
    assert srv.requests and header_values(srv, "Authorization") == {f"Bearer {OAUTH_TOKEN}"}
    assert_secrets_hidden(result, OAUTH_TOKEN)


def test_api_token_wins_when_both_credentials_are_given() -> None:
    srv, _ = ZENDESK.read_exactly(ZendeskMock(), ["groups"], overrides={"access_token": "zdoauth-unused"})
    assert header_values(srv, "Authorization") == {f"Basic {_basic(EMAIL, API_TOKEN)}"}


def test_wrong_oauth_token_is_a_401_and_fails_the_stream() -> None:
    mock = ZendeskMock()
    srv, result = ZENDESK.read_against(mock, ["users"], config=mock.oauth_config,
                                       overrides={"access_token": "zdoauth-wrong-secret"})
    assert_stream_failed(result, "zdoauth-wrong-secret", error="401")
    assert srv.requests[0].header("Authorization") == "Bearer zdoauth-wrong-secret"


def test_no_credentials_names_both_ways_to_authenticate() -> None:
    result = ZENDESK.read({"subdomain": "acme"}, ["tickets"])
    assert_usage_error(result, "zendesk: give either 'api_token' (with email) or 'access_token'")
