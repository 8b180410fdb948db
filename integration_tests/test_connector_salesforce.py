"""The built-in ``salesforce`` connector against a Salesforce OAuth + REST SOQL mock, through the CLI."""

from __future__ import annotations

import re
from typing import Any

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_stream_failed,
    final_state,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.salesforce import (
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    CUSTOM_FIELDS,
    REFRESH_TOKEN,
    STREAM_OBJECTS,
    SalesforceMock,
    fields_of,
)

SALESFORCE = Connector("salesforce")
ALL_STREAMS = SalesforceMock.streams_with_data


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["Id"] for r in records]


@pytest.fixture(scope="module")
def full_read() -> FullRead:
    return full_read_of("salesforce")  # the contract's read (connector_contract.py), faults armed there


def test_token_refresh_and_instance_url_drive_the_data_calls(
    full_read: FullRead,
) -> None:
    mock, srv, _ = full_read
    token_calls = [r for r in srv.requests if r.path == "/services/oauth2/token"]
    assert token_calls and token_calls[0].method == "POST"
    assert token_calls[0].form() == {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                     "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
    data_calls = [r for r in srv.requests if r.path.startswith(API)]
    assert data_calls
    assert all(r.header("Authorization") in {f"Bearer {t}" for t in mock.tokens_issued} for r in data_calls)


def test_batches_follow_next_records_url_until_done(full_read: FullRead) -> None:
    mock, srv, _ = full_read
    first = [r for r in srv.requests if r.path == f"{API}/queryAll" and "FROM Account" in (r.arg("q") or "")]
    assert len(first) == 1
    assert "WHERE" not in first[0].arg("q") and first[0].arg("q").endswith("ORDER BY SystemModstamp ASC")
    locator = re.escape(API) + r"/query(?:All)?/01gRO\d+-(\d+)"
    follow = [r for r in srv.requests if re.fullmatch(locator, r.path)]
    offsets = sorted(int(re.fullmatch(locator, r.path).group(1)) for r in follow)
    assert 100 in offsets and 200 in offsets  # accounts: 250 rows in batches of 100 -> 3 batches
    assert all(not r.query for r in follow)  # nextRecordsUrl is requested with no parameters


def test_second_run_adds_the_soql_where_clause(full_read: FullRead) -> None:
    first = full_read[2]
    state = final_state(first)
    mock = SalesforceMock()
    cursor = mock.expected_records("accounts")[-130]["SystemModstamp"]  # 130 rows changed since
    state["streams"]["accounts"] = {"cursor": cursor}
    _, second = SALESFORCE.read_against(mock, ["accounts"], state=state)
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
    SALESFORCE.read_exactly(mock, ["contacts"], ids="Id")
    assert len(mock.tokens_issued) == 2


def test_request_limit_answer_is_retried_and_records_stay_exact() -> None:
    mock = SalesforceMock()
    mock.inject_429(f"{API}/query", nth=2)  # 403 REQUEST_LIMIT_EXCEEDED on the second batch
    srv, _ = SALESFORCE.read_exactly(mock, ["leads"], ids="Id")
    batches = [r.path for r in srv.requests if r.path.startswith(f"{API}/query")]
    assert len(batches) == 4 and batches[1] == batches[2]


def test_wrong_refresh_token_fails_the_stream_without_leaking_it() -> None:
    srv, result = SALESFORCE.read_against(SalesforceMock(), ["accounts"],
                                          overrides={"refresh_token": "5Aep-wrong-refresh-token"})
    assert_stream_failed(result, "5Aep-wrong-refresh-token", CLIENT_SECRET)
    assert not [r for r in srv.requests if r.path.startswith(API)]


def test_every_field_of_the_describe_is_selected_custom_ones_included(full_read: FullRead) -> None:
    """Salesforce returns only the fields a SELECT names: each object's describe, read once per sync,
    gives them all; compound address fields are left out (their parts are selected)."""
    mock, srv, result = full_read
    for stream, obj in STREAM_OBJECTS.items():
        assert len([r for r in srv.requests if r.path == f"{API}/sobjects/{obj}/describe"]) == 1
        (query,) = [r.arg("q") for r in srv.requests if r.path == f"{API}/queryAll" and f" FROM {obj}" in r.arg("q")]
        selected = query.removeprefix("SELECT ").split(" FROM ")[0].split(", ")
        assert selected == [f for f, _ in fields_of(obj)]  # the describe's order; no BillingAddress
        for field, _ in CUSTOM_FIELDS.get(obj, []):
            assert all(field in r for r in result.records(stream))
    assert {r["Tier__c"] for r in result.records("accounts")} == {"Gold", "Silver", "Bronze"}


def test_discover_types_the_custom_fields_from_the_describe() -> None:
    schemas = {name: schema["properties"] for name, schema in SALESFORCE.discovered_schemas(SalesforceMock()).items()}
    assert schemas["accounts"]["Health_Score__c"] == {"type": ["null", "number"]}
    assert schemas["accounts"]["Tier__c"] == {"type": ["null", "string"]}
    assert schemas["accounts"]["AnnualRevenue"] == {"type": ["null", "number"]}  # declared: as declared
    assert "BillingAddress" not in schemas["accounts"]
    assert schemas["leads"]["Lead_Score__c"] == {"type": ["null", "integer"]}
    assert schemas["opportunities"]["Is_Strategic__c"] == {"type": ["null", "boolean"]}
    assert schemas["cases"]["Escalated_At__c"] == {"type": ["null", "string"], "format": "date-time"}
