"""``--concurrency N`` caps the HTTP requests in flight for the whole sync, whoever makes them.

Streams, list partitions, a parent stream read for its children and the children's partitions all
share the cap. The mock API records how many requests it is serving at once; it holds each request
until more than N are in flight (then lets them all go, so an excess is seen at once) or a quarter
of a second has passed. Run through the CLI for N = 1, 2, 4, through the server's ``POST /sync``
and through the Python API.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_tests.helpers import run_cli
from integration_tests.mocks.server import MockServer, Request, Response
from integration_tests.test_server_support import ServerProcess

HOLD_SECS = 0.25
REGIONS = ["us", "eu", "ap"]
CUSTOMERS = [f"c{i}" for i in range(4)]

CONNECTOR = """
name: capped
base_url: http://127.0.0.1:9
http: {max_retries: 0, timeout_secs: 30}
streams:
  - name: plain
    request: {path: /plain}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
  - name: regions
    request: {path: "/regions/{{ partition.region }}"}
    partition: {type: list, field: region, values: [us, eu, ap]}
    decoder: {type: json, records_path: data}
    primary_key: id
  - name: customers
    request: {path: /customers}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
  - name: notes
    request: {path: "/customers/{{ partition.customer_id }}/notes"}
    partition: {type: parent_stream, stream: customers, parent_field: id, field: customer_id}
    decoder: {type: json, records_path: data}
    primary_key: id
"""
EXPECTED = {"plain": 4, "regions": len(REGIONS), "customers": len(CUSTOMERS), "notes": len(CUSTOMERS)}


class CountingApi:
    """Serves the four streams; ``peak`` is the most requests it ever served at once."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.in_flight = 0
        self.peak = 0
        self.served = 0
        self._cond = threading.Condition()

    def __call__(self, req: Request) -> Response:
        with self._cond:
            self.in_flight += 1
            self.served += 1
            self.peak = max(self.peak, self.in_flight)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.in_flight > self.cap, timeout=HOLD_SECS)
            self.in_flight -= 1
        return self._answer(req)

    def _answer(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        cursor = req.arg("cursor")
        if parts == ["plain"]:
            ids = ["p0", "p1"] if cursor is None else ["p2", "p3"]
            return Response.json({"data": [{"id": i} for i in ids], "next_cursor": None if cursor else "2"})
        if parts[0] == "regions":
            return Response.json({"data": [{"id": parts[1]}]})
        if parts == ["customers"]:
            ids = CUSTOMERS[:2] if cursor is None else CUSTOMERS[2:]
            return Response.json({"data": [{"id": i} for i in ids], "next_cursor": None if cursor else "2"})
        return Response.json({"data": [{"id": f"{parts[1]}-n"}]})


@pytest.fixture
def connector(tmp_path: Path) -> str:
    path = tmp_path / "capped.yaml"
    path.write_text(CONNECTOR)
    return str(path)


def _counts(records: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r["stream"]] = out.get(r["stream"], 0) + 1
    return out


@pytest.mark.parametrize("n", [1, 2, 4])
def test_cli_concurrency_caps_requests_in_flight(connector: str, n: int) -> None:
    api = CountingApi(cap=n)
    with MockServer(api) as srv:
        res = run_cli("read", "-c", connector, "--config-json", json.dumps({"base_url": srv.url}),
                      "--concurrency", str(n))
    assert res.rc == 0, res.stdout[-2000:]
    assert _counts([m["record"] for m in res.of_type("RECORD")]) == EXPECTED
    assert api.served == 2 + len(REGIONS) + 2 + len(CUSTOMERS)  # the parent is read once, shared
    assert api.peak <= n, f"{api.peak} requests in flight at --concurrency {n}"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess("--allow-custom-connectors") as srv:
        yield srv


@pytest.mark.parametrize("n", [None, 2])
def test_server_sync_caps_requests_in_flight(server: ServerProcess, n: int | None) -> None:
    """``POST /sync`` takes ``concurrency`` (default 4, as the CLI's) and caps requests the same way."""
    api = CountingApi(cap=n or 4)
    with MockServer(api) as srv:
        body: dict[str, Any] = {"connector_yaml": CONNECTOR, "config": {"base_url": srv.url}}
        if n is not None:
            body["concurrency"] = n
        resp = server.post("/sync", body)
    assert resp.status_code == 200, resp.text
    result = resp.json()["data"]["result"]
    assert result["status"] == "SUCCEEDED" and _counts(result["records"]) == EXPECTED
    assert api.peak <= (n or 4), f"{api.peak} requests in flight at concurrency {n or 4}"


def test_server_sync_concurrency_is_bounded(server: ServerProcess) -> None:
    for value in (0, 17, "4"):
        resp = server.post("/sync", {"connector_yaml": CONNECTOR, "config": {}, "concurrency": value})
        assert resp.status_code == 400 and "concurrency" in resp.json()["error"]["message"], resp.text


def test_python_api_caps_requests_in_flight(connector: str) -> None:
    import source_solidafy as ss

    api = CountingApi(cap=2)
    with MockServer(api) as srv:
        result = ss.sync(connector, {"base_url": srv.url}, concurrency=2)
    assert result["status"] == "SUCCEEDED" and _counts(result["records"]) == EXPECTED
    assert api.peak <= 2, f"{api.peak} requests in flight at concurrency 2"
