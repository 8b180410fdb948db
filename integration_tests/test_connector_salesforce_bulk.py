"""The built-in ``salesforce-bulk`` connector against a Bulk API 2.0 mock, through the installed CLI.

The built-in YAML polls every 5 s (realistic for Salesforce); the read tests use a copy of it with
a 0.05 s poll interval so they stay fast. Everything else in the copy is the shipped file.
"""

from __future__ import annotations

from typing import Any

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_stream_failed,
    final_state,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.salesforce import API, CLIENT_SECRET, fields_of
from integration_tests.mocks.salesforce_bulk import SalesforceBulkMock

BULK = Connector("salesforce-bulk")
ALL_STREAMS = SalesforceBulkMock.streams_with_data
JOBS = f"{API}/jobs/query"


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Connector:
    """The shipped connector read from a copy of its YAML that polls every 0.05 s."""
    text = BULK.yaml_path.read_text()
    assert text.count("interval_secs: 5\n") == 1  # one anchor shared by every stream
    path = tmp_path_factory.mktemp("sfbulk") / "salesforce-bulk.yaml"
    path.write_text(text.replace("interval_secs: 5\n", "interval_secs: 0.05\n"))
    return Connector(BULK.name, ref=str(path))


def _cursor(stream_state: dict[str, Any]) -> str:
    """The stream cursor, whether kept flat or per partition (one job per sync)."""
    if "cursor" in stream_state:
        return stream_state["cursor"]
    return max(p["cursor"] for p in stream_state["partitions"] if p.get("cursor"))


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["Id"] for r in records]


@pytest.fixture(scope="module")
def full_read() -> FullRead:
    return full_read_of("salesforce-bulk")  # the contract's read (connector_contract.py), faults armed there


def test_jobs_are_created_polled_to_job_complete_and_downloaded_by_locator(
    full_read: FullRead,
) -> None:
    mock, srv, _ = full_read
    creates = [r for r in srv.requests if r.path == JOBS and r.method == "POST"]
    assert len(creates) == len(ALL_STREAMS)
    body = creates[0].json()
    assert body["operation"] == "queryAll" and body["contentType"] == "CSV"
    assert "WHERE" not in body["query"]
    assert all(job["_seen"] == ["UploadComplete", "InProgress", "JobComplete"] for job in mock.jobs.values())
    accounts = next(j for j in mock.jobs.values() if j["object"] == "Account")
    results = [r for r in srv.requests if r.path == f"{JOBS}/{accounts['id']}/results"]
    assert [r.arg("locator") for r in results] == [None, "MTAw", "MjAw"]  # 250 rows, 100 a page, then "null"
    assert all(r.arg("maxRecords") == "50000" for r in results)


def test_second_run_puts_the_cursor_in_the_job_soql(
    fast: Connector, full_read: FullRead,
) -> None:
    state = final_state(full_read[2])  # the first run
    mock = SalesforceBulkMock()
    cursor = sorted(r["SystemModstamp"] for r in mock.expected_records("contacts_bulk"))[-120]
    state["streams"]["contacts_bulk"] = {"cursor": cursor}
    _, second = fast.read_against(mock, ["contacts_bulk"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    assert len(mock.queries) == 1 and mock.queries[0].endswith(f"FROM Contact WHERE SystemModstamp >= {cursor[:19]}Z")
    want = mock.expected_records("contacts_bulk", {"cursor": cursor})
    assert _ids(second.records("contacts_bulk")) == _ids(want) and len(want) == 120


def test_a_failed_job_fails_only_its_stream(fast: Connector) -> None:
    mock = SalesforceBulkMock(fail_objects=("Lead",))
    srv, result = fast.read_against(mock, ["leads_bulk", "tasks_bulk"])
    assert result.rc == 1
    by_stream = {s["stream"]: s for s in result.summary["streams"]}
    assert by_stream["leads_bulk"]["status"] == "FAILED"
    assert "Failed" in by_stream["leads_bulk"].get("error", "")
    assert by_stream["tasks_bulk"]["status"] == "SUCCESS"
    assert result.summary["status"] == "PARTIAL"
    assert _ids(result.records("tasks_bulk")) == _ids(mock.expected_records("tasks_bulk"))
    assert result.records("leads_bulk") == []
    lead_job = next(j for j in mock.jobs.values() if j["object"] == "Lead")
    assert not [r for r in srv.requests if r.path == f"{JOBS}/{lead_job['id']}/results"]


def test_request_limit_answer_on_a_results_page_is_retried(fast: Connector) -> None:
    mock = SalesforceBulkMock()
    mock.inject_429(f"{JOBS}/750R0000000zlh0001/results", nth=2)  # the second results page
    srv, _ = fast.read_exactly(mock, ["accounts_bulk"], ids="Id")
    pages = [r.arg("locator") for r in srv.requests if r.path.endswith("/results")]
    assert pages == [None, "MTAw", "MTAw", "MjAw"]


def test_wrong_client_secret_fails_without_leaking_it(fast: Connector) -> None:
    mock = SalesforceBulkMock()
    _, result = fast.read_against(mock, ["accounts_bulk"], overrides={"client_secret": "wrong-client-secret-value"})
    assert_stream_failed(result, "wrong-client-secret-value", CLIENT_SECRET)
    assert not mock.jobs


def test_each_job_selects_every_field_of_the_describe_custom_ones_included(full_read: FullRead) -> None:
    mock, srv, result = full_read
    for job in mock.jobs.values():
        obj = job["object"]
        (create,) = [r for r in srv.requests if r.path == JOBS and r.method == "POST"
                     and f" FROM {obj}" in r.json()["query"]]
        selected = create.json()["query"].removeprefix("SELECT ").split(" FROM ")[0].split(", ")
        assert selected == [f for f, _ in fields_of(obj)]  # no compound BillingAddress / MailingAddress
    assert {r["Tier__c"] for r in result.records("accounts_bulk")} == {"Gold", "Silver", "Bronze"}
    assert {r["Forecast_Amount__c"] for r in result.records("opportunities_bulk")} >= {"0.0", "1.25"}
