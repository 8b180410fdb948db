"""The built-in ``shopify`` connector against a Shopify Admin REST mock, through the installed CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.server import MockServer
from integration_tests.mocks.shopify import TOKEN, VERSION, ShopifyMock

YAML_PATH = Path(__file__).resolve().parents[1] / "connectors" / "shopify.yaml"
ALL_STREAMS = ShopifyMock.streams_with_data


def _read(srv: MockServer, config: dict[str, Any], streams: list[str], state: Any = None) -> Result:
    args = ["read", "--connector", "shopify", "--config-json", json.dumps(config), "--streams", ",".join(streams)]
    if state is not None:
        args += ["--state-json", json.dumps(state)]
    return run_cli(*args)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]


def _requests_for(srv: MockServer, resource: str) -> list[Any]:
    return [r for r in srv.requests if r.path == f"/admin/api/{VERSION}/{resource}.json"]


@pytest.fixture(scope="module")
def full_read() -> tuple[ShopifyMock, MockServer, Result]:
    mock = ShopifyMock()
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ALL_STREAMS)
    return mock, srv, result


def test_full_read_returns_exact_records_per_stream(full_read: tuple[ShopifyMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    assert result.rc == 0, result.stderr[-2000:]
    for stream in ALL_STREAMS:
        got = result.records(stream)
        want = mock.expected_records(stream)
        assert [r["id"] for r in got] == [r["id"] for r in want], stream
        assert got == want, stream
    statuses = {("closed" if o["closed_at"] else "cancelled" if o["cancelled_at"] else "open")
                for o in result.records("orders")}
    assert statuses == {"open", "closed", "cancelled"}
    assert TOKEN not in result.stdout + result.stderr
    assert result.summary["status"] == "SUCCEEDED"


def test_pages_follow_link_next_with_only_page_info(full_read: tuple[ShopifyMock, MockServer, Result]) -> None:
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


def test_every_record_matches_the_declared_schema(full_read: tuple[ShopifyMock, MockServer, Result]) -> None:
    _, _, result = full_read
    manifest = yaml.safe_load(YAML_PATH.read_text())
    schemas = {s["name"]: s["schema"] for s in manifest["streams"]}
    validators = {name: jsonschema.Draft7Validator(schema) for name, schema in schemas.items()}
    for msg in result.of_type("RECORD"):
        validators[msg["record"]["stream"]].validate(msg["record"]["data"])


def test_final_state_is_the_newest_updated_at(full_read: tuple[ShopifyMock, MockServer, Result]) -> None:
    mock, _, result = full_read
    state = _final_state(result)["streams"]
    for stream in ALL_STREAMS:
        newest = mock.expected_records(stream)[-1]["updated_at"]
        assert datetime.fromisoformat(state[stream]["cursor"]) == datetime.fromisoformat(newest), stream


def test_second_run_sends_updated_at_min_and_gets_only_newer_records(
    full_read: tuple[ShopifyMock, MockServer, Result],
) -> None:
    state = _final_state(full_read[2])  # the first run
    mock = ShopifyMock()
    # move the saved cursor back so that 300 customers (two pages) are at or after it
    cursor = mock.expected_records("customers")[-300]["updated_at"]
    state["streams"]["customers"] = {"cursor": cursor}
    with MockServer(mock.handler) as srv:
        second = _read(srv, mock.config(srv.url), ["customers"], state=state)
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
    with MockServer(mock.handler) as srv:
        result = _read(srv, mock.config(srv.url), ["orders"])
    assert result.rc == 0, result.stderr[-2000:]
    assert [r["id"] for r in result.records("orders")] == [r["id"] for r in mock.expected_records("orders")]
    pages = [r.arg("page_info") for r in _requests_for(srv, "orders")]
    assert len(pages) == 4 and pages[1] == pages[2]  # the 429 answer, then the same URL again


def test_wrong_token_is_a_401_and_fails_the_stream() -> None:
    mock = ShopifyMock()
    with MockServer(mock.handler) as srv:
        config = {**mock.config(srv.url), "access_token": "shpat_wrongwrongwrongwrong"}
        result = _read(srv, config, ["products"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    assert "401" in result.summary["streams"][0].get("error", "")
    assert "shpat_wrongwrongwrongwrong" not in result.stdout + result.stderr


def test_validate_spec_and_streams_work_offline() -> None:
    assert run_cli("validate", str(YAML_PATH)).rc == 0
    spec = run_cli("spec", "--connector", "shopify")
    assert spec.rc == 0, spec.stderr
    text = json.dumps(spec.messages)
    for name in ("shop_domain", "access_token", "start_date", "api_version", "base_url"):
        assert name in text
    streams = run_cli("streams", "--connector", "shopify")
    assert streams.rc == 0, streams.stderr
    assert streams.of_type("STREAMS")[0]["streams"] == ALL_STREAMS


def test_missing_config_field_is_one_clear_usage_error() -> None:
    result = run_cli("read", "--connector", "shopify", "--config-json", '{"access_token": "shpat_x"}', "--streams", "products")
    assert result.rc == 2
    assert "config field 'shop_domain' is required" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
