"""The built-in ``shopify`` connector against a Shopify Admin REST mock, through the installed CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    final_state,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.server import MockServer
from integration_tests.mocks.shopify import TOKEN, VERSION, ShopifyMock

SHOPIFY = Connector("shopify")
ALL_STREAMS = ShopifyMock.streams_with_data


def _requests_for(srv: MockServer, resource: str) -> list[Any]:
    return [r for r in srv.requests if r.path == f"/admin/api/{VERSION}/{resource}.json"]


@pytest.fixture(scope="module")
def full_read() -> FullRead:
    return full_read_of("shopify")  # the contract's read (connector_contract.py), faults armed there


def test_orders_of_every_status(full_read: FullRead) -> None:  # exact records: the contract
    _, _, result = full_read
    statuses = {("closed" if o["closed_at"] else "cancelled" if o["cancelled_at"] else "open")
                for o in result.records("orders")}
    assert statuses == {"open", "closed", "cancelled"}


def test_pages_follow_link_next_with_only_page_info(full_read: FullRead) -> None:
    _, srv, _ = full_read
    products = _requests_for(srv, "products")
    assert len(products) == 3  # 620 products at 250 per page; the third answer has only rel="previous"
    first, *rest = products
    assert first.arg("limit") == "250" and first.arg("order") == "updated_at asc"
    assert "page_info" not in first.query and "updated_at_min" not in first.query
    for req in rest:
        assert set(req.query) <= {"page_info", "limit", "fields"}, req.query
        assert req.arg("page_info")
    orders = _requests_for(srv, "orders")
    assert orders[0].arg("status") == "any" and len(orders) == 3
    for req in srv.requests:
        assert req.header("X-Shopify-Access-Token") == TOKEN
        assert req.header("Authorization") is None


def test_second_run_sends_updated_at_min_and_gets_only_newer_records(
    full_read: FullRead,
) -> None:
    state = final_state(full_read[2])  # the first run
    mock = ShopifyMock()
    # move the saved cursor back so that 300 customers (two pages) are at or after it
    cursor = mock.expected_records("customers")[-300]["updated_at"]
    state["streams"]["customers"] = {"cursor": cursor}
    srv, second = SHOPIFY.read_against(mock, ["customers"], state=state)
    assert second.rc == 0, second.stderr[-2000:]
    reqs = _requests_for(srv, "customers")
    sent = reqs[0].arg("updated_at_min")
    assert sent and datetime.fromisoformat(sent.replace("Z", "+00:00")) == datetime.fromisoformat(cursor)
    assert len(reqs) == 2 and "updated_at_min" not in reqs[1].query
    want = mock.expected_records("customers", {"cursor": cursor})
    assert [r["id"] for r in second.records("customers")] == [r["id"] for r in want]
    assert len(want) == 300


def test_one_429_mid_sync_is_retried_and_records_stay_exact() -> None:
    mock = ShopifyMock()
    mock.inject_429(f"/admin/api/{VERSION}/orders.json", nth=2, retry_after="0.1")
    srv, _ = SHOPIFY.read_exactly(mock, ["orders"], ids="id")
    pages = [r.arg("page_info") for r in _requests_for(srv, "orders")]
    assert len(pages) == 4 and pages[1] == pages[2]  # the 429 answer, then the same URL again
