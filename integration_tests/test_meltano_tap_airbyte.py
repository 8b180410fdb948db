"""Run ``source-solidafy`` the way Meltano's tap-airbyte wrapper does in native mode.

tap-airbyte (MeltanoLabs) runs the console script, builds its own configured catalog from
``discover`` (``destination_sync_mode: append``, no ``cursor_field`` and no ``primary_key``; the
Singer replication key is ``default_cursor_field[0]`` when ``source_defined_cursor``), parses every
stdout line as an ``AirbyteMessage``, fails the run on any TRACE ERROR or a non-zero exit, keeps the
STREAM states it saw, and passes them back next run as ``--state`` (a list of
``{"type": "STREAM", "stream": ...}``). Two runs, with new data in between, prove incremental works.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from integration_tests.acceptance.runner import AirbyteRun, airbyte
from integration_tests.acceptance.session import one

CONFIG = {"connector": "demo", "api_key": "demo-secret-token"}


@dataclass
class TapRun:
    """What tap-airbyte makes of one sync: Singer-ish records per stream and the state to keep."""

    run: AirbyteRun
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def state_arg(self) -> list[dict[str, Any]]:
        return [{"type": "STREAM", "stream": s} for s in self.states.values()]


def meltano_catalog(catalog: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """tap-airbyte's configured catalog, and its replication key per incremental stream."""
    streams, keys = [], {}
    for stream in catalog["streams"]:
        incremental = "incremental" in stream["supported_sync_modes"]
        streams.append({
            "stream": stream,
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append",
        })  # fmt: skip
        if stream.get("source_defined_cursor") and stream.get("default_cursor_field"):
            keys[stream["name"]] = stream["default_cursor_field"][0]
    return {"streams": streams}, keys


def tap_sync(config: dict[str, Any], catalog: dict[str, Any], state: list[dict[str, Any]] | None) -> TapRun:
    run = airbyte("read", config=config, catalog=catalog, state=state)
    assert not run.problems, f"tap-airbyte would reject: {run.problems[:3]}"
    assert not run.errors(), f"TRACE ERROR fails the Meltano run: {run.errors()}"
    assert run.rc == 0, run.describe()
    assert len(run.stderr.encode()) < 64 * 1024, run.stderr[-2000:]
    tap = TapRun(run)
    for msg in run.messages:
        if msg["type"] == "RECORD":
            tap.records.setdefault(msg["record"]["stream"], []).append(msg["record"]["data"])
        elif msg["type"] == "STATE":
            assert msg["state"].get("type") == "STREAM", msg
            tap.states[msg["state"]["stream"]["stream_descriptor"]["name"]] = msg["state"]["stream"]
    return tap


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    from source_solidafy.demo_api import DemoApi, make_data

    # Small data: customer_notes makes one request per customer.
    api = DemoApi(data=make_data(customers=120, orders=300, products=30))
    api.start(port=0)
    yield api
    api.stop()


def later(ts: str, seconds: int) -> str:
    t = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_two_meltano_runs_are_incremental(demo: Any) -> None:
    config = {**CONFIG, "base_url": demo.url}
    discovered = airbyte("discover", config=config)
    assert discovered.rc == 0 and not discovered.problems, discovered.describe()
    catalog, keys = meltano_catalog(one(discovered, "CATALOG")["catalog"])
    assert keys["customers"] == keys["orders"] == "updated_at", keys

    requests_before = demo.requests
    first = tap_sync(config, catalog, None)
    first_requests = demo.requests - requests_before
    for name in demo.data:
        assert len(first.records[name]) == len(demo.data[name]), name
    assert set(first.states) == set(first.records) | {"products"}, set(first.states)

    newest = demo.data["customers"][-1]
    added = {**newest, "id": "cus_new_1", "updated_at": later(newest["updated_at"], 60)}
    demo.data["customers"].append(added)
    requests_before = demo.requests
    try:
        second = tap_sync(config, catalog, first.state_arg())
    finally:
        demo.data["customers"].remove(added)
    second_requests = demo.requests - requests_before

    got = {r["id"] for r in second.records.get("customers", [])}
    assert "cus_new_1" in got and newest["id"] in got, sorted(got)[:5]
    assert got <= {"cus_new_1", newest["id"]}, f"run 2 re-read {len(got)} customers"
    orders_again = second.records.get("orders", [])
    assert all(r["updated_at"] >= demo.data["orders"][-1]["updated_at"] for r in orders_again)
    assert len(second.records["products"]) == len(demo.data["products"])  # full refresh: all again
    assert second.states["customers"]["stream_state"] != first.states["customers"]["stream_state"]
    # Child streams (customer_notes, one request per customer) re-read only changed parents.
    assert second_requests * 10 < first_requests, (first_requests, second_requests)


def test_meltano_run_with_empty_state_list(demo: Any) -> None:
    """tap-airbyte's first run after a state reset passes ``[]``: a full read, no error."""
    config = {**CONFIG, "base_url": demo.url}
    discovered = airbyte("discover", config=config)
    catalog, _ = meltano_catalog(one(discovered, "CATALOG")["catalog"])
    products = {"streams": [s for s in catalog["streams"] if s["stream"]["name"] == "products"]}
    tap = tap_sync(config, products, [])
    assert len(tap.records["products"]) == len(demo.data["products"])
