"""Schema drift is reported, not held against the stream: the CLI (both flavours) against a mock API
whose records stray from the connector's declared schema as real APIs do over time (a new field, an
id that became a string, a null where none was declared, a price with cents).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airbyte_protocol.models import AirbyteMessage

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.server import MockServer, Request, Response

CONNECTOR = """
name: drifting
base_url: http://127.0.0.1:9
streams:
  - name: orders
    request: {path: /orders}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next}
    primary_key: id
    cursor_field: updated
    schema:
      type: object
      properties:
        id: {type: integer}
        updated: {type: string}
        status: {type: string}
        price: {type: integer}
  - name: steady
    request: {path: /steady}
    decoder: {type: json, records_path: data}
    schema: {type: object, properties: {id: {type: integer}}}
"""
PAGES = 5
PER_PAGE = 300


def _order(i: int) -> dict[str, Any]:
    record: dict[str, Any] = {"id": i, "updated": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
                              "status": "paid", "price": 100 + i}
    if i == 1234:  # one record of 1,500: an API that started sending a field
        record["coupon"] = "WINTER"
    if i >= 1200:  # from then on: an id as a string, a null status, prices with cents
        record.update(id=str(i), status=None if i % 2 else "paid", price=100.5 + i)
    return record


def api(req: Request) -> Response:
    if req.path == "/steady":
        return Response.json({"data": [{"id": 1}, {"id": 2}]})
    page = int(req.arg("cursor") or 0)
    records = [_order(page * PER_PAGE + i) for i in range(PER_PAGE)]
    return Response.json({"data": records, "next": str(page + 1) if page + 1 < PAGES else None})


def _connector(tmp_path: Path) -> str:
    path = tmp_path / "drifting.yaml"
    path.write_text(CONNECTOR)
    return str(path)


def test_the_summary_names_new_fields_and_widened_types_and_the_state_moves_on(tmp_path: Path) -> None:
    with MockServer(api) as srv:
        res = run_cli("read", "-c", _connector(tmp_path), "--config-json", json.dumps({"base_url": srv.url}))
    assert res.rc == 0, res.stderr[-2000:]
    streams = {s["stream"]: s for s in res.summary["streams"]}
    drift = streams["orders"]["schema_drift"]
    assert drift["new_fields"] == {"coupon": ["string"]}
    assert drift["widened"] == {"id": {"declared": ["integer"], "seen": ["string"]},
                                "status": {"declared": ["string"], "seen": ["null"]},
                                "price": {"declared": ["integer"], "seen": ["number"]}}
    assert drift["records_checked"] < PAGES * PER_PAGE  # by sample
    assert "schema_drift" not in streams["steady"] and streams["orders"]["warnings"] == []
    assert "state_held" not in streams["orders"] and res.summary["status"] == "SUCCEEDED"
    assert res.messages[-2]["state"]["streams"]["orders"]["cursor"] == _order(PAGES * PER_PAGE - 1)["updated"]
    logs = [m["log"] for m in res.of_type("LOG") if "schema drift" in m["log"]["message"]]
    assert [entry["level"] for entry in logs] == ["INFO"], logs
    assert "coupon (string)" in logs[0]["message"] and "price (integer seen as number)" in logs[0]["message"]


def _airbyte(tmp_path: Path, json_schema: dict[str, Any]) -> Result:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"streams": [
        {"stream": {"name": "orders", "json_schema": json_schema, "supported_sync_modes": ["full_refresh", "incremental"]},
         "sync_mode": "incremental", "destination_sync_mode": "append"}]}))
    with MockServer(api) as srv:
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"connector": _connector(tmp_path), "base_url": srv.url}))
        res = run_cli("read", "--config", str(config), "--catalog", str(catalog), script="source-solidafy")
    assert res.rc == 0, res.stderr[-2000:]
    for line in res.stdout.splitlines():
        AirbyteMessage.model_validate_json(line)
    return res


def test_the_airbyte_flavour_puts_it_in_the_stream_status_and_a_warn_line(tmp_path: Path) -> None:
    res = _airbyte(tmp_path, {})  # a catalog that names no fields (Meltano's): the connector's schema
    statuses = [m["trace"]["stream_status"] for m in res.of_type("TRACE") if m["trace"]["type"] == "STREAM_STATUS"]
    complete = statuses[-1]
    assert complete["status"] == "COMPLETE" and "warnings" not in complete
    assert complete["schema_drift"]["new_fields"] == {"coupon": ["string"]}
    assert complete["http"]["requests"] == PAGES and complete["http"]["retries"] == 0
    warns = [m["log"]["message"] for m in res.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert len(warns) == 1 and "schema drift" in warns[0] and "the state is not held" in warns[0]
    states = [m["state"]["stream"]["stream_state"] for m in res.of_type("STATE")]
    assert states[-1]["cursor"] == _order(PAGES * PER_PAGE - 1)["updated"]


def test_a_catalog_that_names_fields_is_what_the_records_are_compared_with(tmp_path: Path) -> None:
    """The destination was set up from this catalog: it knows the coupon and the string ids, not the price."""
    res = _airbyte(tmp_path, {"type": "object", "properties": {
        "id": {"type": ["integer", "string"]}, "updated": {"type": "string"},
        "status": {"type": ["string", "null"]}, "coupon": {"type": ["string", "null"]}}})
    complete = [m["trace"]["stream_status"] for m in res.of_type("TRACE") if m["trace"]["type"] == "STREAM_STATUS"][-1]
    assert complete["schema_drift"]["new_fields"] == {"price": ["integer", "number"]}
    assert complete["schema_drift"]["widened"] == {}
