"""The built-in `stripe` connector against a mock that pages, filters and fails like Stripe does.

One full read of every stream (with one 429 armed mid-sync) backs most assertions; wrong-key and
incremental runs are separate subprocesses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_secrets_hidden,
    final_state,
    header_values,
    requests_to,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.server import MockServer, Request, Response
from integration_tests.mocks.stripe import API_KEY, StripeMock

STRIPE = Connector("stripe")


@pytest.fixture(scope="module")
def full() -> FullRead:
    return full_read_of("stripe")  # the contract's read (connector_contract.py), faults armed there


def test_pages_follow_starting_after_until_has_more_false(full: FullRead) -> None:
    mock, srv, _ = full
    expected = mock.expected_records("charges")
    assert len(expected) == 300  # three full pages: only has_more (not a short page) ends the list
    ok = [r for r in requests_to(srv, "/v1/charges") if r.arg("limit") == "100"]
    cursors = [r.arg("starting_after") for r in ok]
    assert cursors[0] is None
    assert set(cursors[1:]) == {expected[99]["id"], expected[199]["id"]}
    assert expected[299]["id"] not in cursors  # no request after has_more: false
    assert len(requests_to(srv, "/v1/charges")) == 4  # 3 pages + the retried 429


def test_one_429_mid_sync_is_retried(full: FullRead) -> None:
    mock, srv, _ = full
    assert mock.faults.served == ["/v1/charges"]
    second_page = [r for r in requests_to(srv, "/v1/charges") if r.arg("starting_after")
                   == mock.expected_records("charges")[99]["id"]]
    assert len(second_page) == 2  # answered 429 once, then again with data


def test_auth_header_on_every_request(full: FullRead) -> None:
    _, srv, result = full
    assert srv.requests
    assert header_values(srv, "Authorization") == {f"Bearer {API_KEY}"}
    assert_secrets_hidden(result, API_KEY)


def test_subscriptions_include_canceled(full: FullRead) -> None:
    _, srv, result = full
    assert {r.arg("status") for r in requests_to(srv, "/v1/subscriptions")} == {"all"}
    assert "canceled" in {r["status"] for r in result.records("subscriptions")}


def test_payment_methods_per_customer(full: FullRead) -> None:
    mock, srv, _ = full
    asked = {r.path.split("/")[3] for r in srv.requests if r.path.endswith("/payment_methods")}
    assert asked == {c["id"] for c in mock.expected_records("customers")}


def test_incremental_second_run_sends_created_gte(tmp_path: Path) -> None:
    mock = StripeMock()
    state_file = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = STRIPE.read(config, ["charges", "invoice_items"], "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        saved = final_state(first)["streams"]
        newest = max(r["created"] for r in mock.expected_records("charges"))
        assert saved["charges"]["cursor"] == newest
        assert saved["invoice_items"]["cursor"] == max(r["date"] for r in mock.expected_records("invoice_items"))
        added = mock.add_records("charges", 3)
        srv.requests.clear()
        second = STRIPE.read(config, ["charges", "invoice_items"], "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    assert {r.arg("created[gte]") for r in requests_to(srv, "/v1/charges")} == {str(newest)}
    got = second.records("charges")
    assert sorted(r["id"] for r in got) == sorted(
        r["id"] for r in mock.expected_records("charges", {"cursor": newest}))
    assert len(got) == 4 and min(r["created"] for r in got) == newest  # boundary again + 3 new
    assert final_state(second)["streams"]["charges"]["cursor"] == max(r["created"] for r in added)
    assert json.loads(state_file.read_text())["streams"]["charges"]["cursor"] == added[-1]["created"]


def test_payment_methods_are_a_full_snapshot_every_sync(tmp_path: Path) -> None:
    mock = StripeMock()
    state_file = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = STRIPE.read(config, ["payment_methods"], "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        second = STRIPE.read(config, ["payment_methods"], "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    # A card attached today to a customer created last year must still be synced.
    assert len(second.records("payment_methods")) == len(mock.expected_records("payment_methods"))


def test_start_date_ts_filters_first_sync() -> None:
    mock = StripeMock()
    start = mock.expected_records("invoices")[49]["created"]
    srv, result = STRIPE.read_against(mock, ["invoices"], overrides={"start_date_ts": str(start)})
    assert result.rc == 0, result.stderr[-3000:]
    assert {r.arg("created[gte]") for r in srv.requests} == {str(start)}
    assert len(result.records("invoices")) == 50


def test_a_customer_deleted_during_the_sync_is_skipped_and_reported() -> None:
    """Listed, then deleted before its payment methods are asked for: Stripe answers 404 resource_missing.
    The stream succeeds without that customer's cards and says so (errors: in connectors/stripe.yaml)."""
    mock = StripeMock()
    gone = mock.expected_records("customers")[1]["id"]

    def handler(req: Request) -> Response:
        if req.path == f"/v1/customers/{gone}/payment_methods":
            mock.data["customers"] = [c for c in mock.data["customers"] if c["id"] != gone]
        return mock.handler(req)

    with MockServer(handler) as srv:
        result = STRIPE.read(mock.config(srv.url), ["payment_methods"])
    assert result.rc == 0, result.stdout[-3000:]
    (entry,) = result.summary["streams"]
    assert entry["status"] == "SUCCESS" and entry["responses_ignored"] == 1, entry
    (skipped,) = entry["skipped"]
    assert skipped.startswith(f"stream 'payment_methods': partition customer_id={gone} skipped: HTTP 404 ")
    assert skipped.endswith("errors[0] (ignore): the customer was deleted during the sync")
    assert {r["customer"] for r in result.records("payment_methods")} == {
        c["id"] for c in mock.data["customers"] if mock.payment_methods.get(c["id"])}
