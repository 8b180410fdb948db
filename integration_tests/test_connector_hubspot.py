"""The built-in ``hubspot`` connector against a HubSpot CRM v3 mock, through the installed CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_secrets_hidden,
    assert_usage_error,
    final_state,
    header_values,
    requests_to,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.hubspot import HubSpotMock
from integration_tests.mocks.hubspot_data import (
    CLIENT_ID,
    CLIENT_SECRET,
    CUSTOM_PROPERTIES,
    REFRESH_TOKEN,
    SEARCH_STREAMS,
    TOKEN,
    property_definitions,
)

HUBSPOT = Connector("hubspot")
ALL_STREAMS = HubSpotMock.streams_with_data
CONTACTS_SEARCH = "/crm/v3/objects/contacts/search"
NO_SERVER = "http://127.0.0.1:9"  # config mistakes must be caught before any request


@pytest.fixture(scope="module")
def full_read() -> FullRead:
    return full_read_of("hubspot")  # the contract's read (connector_contract.py), faults armed there


def test_summary_counts_every_record(full_read: FullRead) -> None:  # exact records: the contract
    mock, _, result = full_read
    assert result.summary["total_records"] == sum(len(mock.expected_records(s)) for s in ALL_STREAMS)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_search_pages_follow_paging_next_after_to_the_end(full_read: FullRead) -> None:
    mock, srv, _ = full_read
    contacts = requests_to(srv, CONTACTS_SEARCH)
    assert len(contacts) == 3  # 450 contacts at 200 per page; the third answer has no `paging`
    bodies = [r.json() for r in contacts]
    assert [b.get("after") for b in bodies] == [None, "200", "400"]
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    newest = max(_ms(r["updatedAt"]) for r in mock.expected_records("contacts"))
    for b in bodies:  # one window, 450 results (under the cap): from the epoch (no state) to the sync's "now"
        gte, lt = b["filterGroups"][0]["filters"]
        assert b["limit"] == 200 and gte == {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}
        assert lt["operator"] == "LT" and newest < int(lt["value"]) <= now_ms
    assert bodies[0]["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    for req in srv.requests:
        assert req.header("Authorization") == f"Bearer {TOKEN}"


def test_list_pages_send_after_and_stop_without_paging(full_read: FullRead) -> None:
    _, srv, _ = full_read
    products = requests_to(srv, "/crm/v3/objects/products")
    assert [r.arg("after") for r in products] == [None, "9100", "9200"]
    assert all(r.arg("limit") == "100" for r in products)
    assert products[0].arg("properties").split(",") == mock_property_names("products")  # custom ones too
    assert all("warranty_years" in r["properties"] for r in full_read[2].records("products"))


def test_second_run_sends_the_gte_filter_and_gets_only_newer_records(
    full_read: FullRead,
) -> None:
    state = final_state(full_read[2])  # the first run
    mock = HubSpotMock()
    # pretend the portal changed: move the saved deals cursor back so that part of the data is newer
    state["streams"]["deals"] = {"cursor": mock.expected_records("deals")[-50]["updatedAt"]}
    srv, second = HUBSPOT.read_against(mock, ["contacts", "deals"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    for stream, prop in (("contacts", "lastmodifieddate"), ("deals", "hs_lastmodifieddate")):
        cursor = state["streams"][stream]["cursor"]
        body = requests_to(srv, f"/crm/v3/objects/{stream}/search")[0].json()
        ms = str(int(datetime.fromisoformat(cursor.replace("Z", "+00:00")).timestamp() * 1000))
        gte, lt = body["filterGroups"][0]["filters"]
        assert gte == {"propertyName": prop, "operator": "GTE", "value": ms}
        assert lt["propertyName"] == prop and lt["operator"] == "LT" and int(lt["value"]) > int(ms)
        want = mock.expected_records(stream, {"cursor": cursor})
        assert [r["id"] for r in second.records(stream)] == [r["id"] for r in want]
    assert len(second.records("deals")) >= 50


def test_429s_mid_sync_are_retried_with_and_without_retry_after() -> None:
    """HubSpot "does not always return Retry-After": the second 429 has none (backoff applies)."""
    mock = HubSpotMock()
    mock.window_ms = 1000  # a spent window is still waited out (Remaining: 0), for 1 s instead of HubSpot's 10
    mock.inject_429(CONTACTS_SEARCH, nth=2, retry_after="0.1")
    mock.inject_429(CONTACTS_SEARCH, nth=3, retry_after=None)  # its retry, again
    srv, _ = HUBSPOT.read_exactly(mock, ["contacts"], ids="id")
    assert mock.faults.served == [CONTACTS_SEARCH, CONTACTS_SEARCH]
    afters = [r.json().get("after") for r in srv.requests if r.path.endswith("/search")]
    assert afters == [None, "200", "200", "200", "400"]  # two 429 answers, then page 2, then page 3


def test_missing_credentials_name_both_ways_to_authenticate() -> None:
    result = HUBSPOT.read({"base_url": NO_SERVER}, ["contacts"])
    assert_usage_error(result, "hubspot: give either 'access_token' or 'refresh_token' (with client_id and client_secret)")


def test_refresh_token_without_client_credentials_names_what_is_missing() -> None:
    config = {"base_url": NO_SERVER, "refresh_token": "na1-secret-refresh", "client_id": "cid"}
    result = HUBSPOT.read(config, ["contacts"])
    assert_usage_error(result, "config field 'client_secret' is required (used by auth[1].client_secret at hubspot.yaml:")
    assert "access_token" not in result.stderr
    assert_secrets_hidden(result, "na1-secret-refresh")


def test_oauth_refresh_token_is_traded_for_a_bearer_token() -> None:
    mock = HubSpotMock()
    srv, result = HUBSPOT.read_exactly(mock, ["contacts", "owners"], config=mock.oauth_config)
    assert mock.token_forms == [{"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                 "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}]
    token_req, *data = srv.requests
    assert token_req.path == "/oauth/v1/token" and token_req.method == "POST"
    assert token_req.header("Content-Type") == "application/x-www-form-urlencoded"
    assert data and all(r.header("Authorization") == f"Bearer {mock.issued[0]}" for r in data)
    assert_secrets_hidden(result, CLIENT_SECRET, REFRESH_TOKEN, mock.issued[0])


def test_access_token_wins_when_both_credentials_are_given() -> None:
    mock = HubSpotMock()
    srv, _ = HUBSPOT.read_exactly(mock, ["owners"], config=mock.oauth_config, overrides={"access_token": TOKEN})
    assert mock.token_forms == []
    assert header_values(srv, "Authorization") == {f"Bearer {TOKEN}"}


def test_wrong_refresh_token_is_refused_and_fails_the_sync() -> None:
    mock = HubSpotMock()
    srv, result = HUBSPOT.read_against(mock, ["contacts"], config=mock.oauth_config,
                                       overrides={"refresh_token": "na1-wrong-refresh-secret"})
    assert result.rc == 1, result.stderr[-2000:]
    assert result.summary["status"] == "FAILED"
    assert "BAD_REFRESH_TOKEN" in json.dumps(result.summary) + result.stderr
    assert [r.path for r in srv.requests if r.path != "/oauth/v1/token"] == []  # no data call without a token
    assert mock.token_forms and mock.token_forms[0]["grant_type"] == "refresh_token"
    assert_secrets_hidden(result, "na1-wrong-refresh-secret", CLIENT_SECRET)


def test_search_asks_for_every_property_the_properties_api_lists_custom_ones_included(full_read: FullRead) -> None:
    """HubSpot sends only the properties asked for: the properties API lists all of them, read once a
    sync per object type, and the custom ones come back in the records."""
    mock, srv, result = full_read
    for kind in SEARCH_STREAMS:
        (listing,) = requests_to(srv, f"/crm/v3/properties/{kind}")
        assert listing.arg("archived") == "false"
        everything = [p["name"] for p in property_definitions(kind)]
        bodies = [r.json() for r in requests_to(srv, f"/crm/v3/objects/{kind}/search")]
        assert bodies and all(b["properties"] == everything for b in bodies)
        custom = [name for name, _, _ in CUSTOM_PROPERTIES[kind]]
        assert all(name in r["properties"] for r in result.records(kind) for name in custom)
    first = result.records("contacts")[0]["properties"]
    assert first["favorite_color"] in ("red", "green", "blue") and first["loyalty_points"].isdigit()


def test_a_portal_without_custom_properties_reads_the_builtin_ones() -> None:
    mock = HubSpotMock(custom_properties=False)
    srv, _ = HUBSPOT.read_exactly(mock, ["deals"], ids="id")
    (body, *_) = [r.json() for r in requests_to(srv, "/crm/v3/objects/deals/search")]
    assert body["properties"] == mock_property_names("deals", custom=False)


def mock_property_names(kind: str, custom: bool = True) -> list[str]:
    return [p["name"] for p in property_definitions(kind, custom)]


def test_discover_shows_the_custom_properties_in_the_schema() -> None:
    schemas = HUBSPOT.discovered_schemas(HubSpotMock())
    props = schemas["contacts"]["properties"]["properties"]["properties"]
    assert props["favorite_color"] == {"type": ["null", "string"]}
    assert props["email"] == {"type": ["null", "string"]}  # declared: as declared
    assert set(mock_property_names("contacts")) <= set(props)
    assert "partner_tier" in schemas["companies"]["properties"]["properties"]["properties"]
    assert "favorite_color" not in schemas["products"]["properties"]["properties"]["properties"]
