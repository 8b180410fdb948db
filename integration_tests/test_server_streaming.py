"""Streamed /sync (Accept: application/x-ndjson): 100,000 records, flat memory, and client disconnects."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import psutil
import pytest
import requests

from integration_tests.mocks.server import MockServer
from integration_tests.test_server_support import GatedDemoApi, ServerProcess, demo_config
from source_solidafy.demo_api import make_data

N = 100_000
NDJSON = {"Accept": "application/x-ndjson"}


@pytest.fixture(scope="module")
def data() -> dict:
    return make_data(customers=10, orders=N, products=5)


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    with ServerProcess("--max-held-records", "1000") as s:
        yield s


def test_streams_100k_records_with_flat_memory(srv: ServerProcess, data: dict) -> None:
    upstream = GatedDemoApi(data)
    proc = psutil.Process(srv.proc.pid)  # type: ignore[union-attr]
    baseline = peak = proc.memory_info().rss
    with MockServer(upstream.handler) as mock:
        body = {"connector": "demo", "config": demo_config(mock.url + "/v1"), "streams": ["orders"]}
        resp = requests.post(srv.url + "/sync", json=body, headers=NDJSON, stream=True, timeout=120)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/x-ndjson")
        records = 0
        last: dict = {}
        for line in resp.iter_lines():
            last = json.loads(line)
            if last["type"] == "RECORD":
                records += 1
                upstream.gate.set()  # page 2 onwards only once page 1 reached us
                if records % 10_000 == 0:
                    peak = max(peak, proc.memory_info().rss)
    assert records == N
    assert last["type"] == "SYNC_SUMMARY" and last["summary"]["total_records"] == N
    assert last["summary"]["status"] == "SUCCEEDED"
    growth_mb = (peak - baseline) / 2**20
    print(f"server RSS growth while streaming {N} records: {growth_mb:.1f} MB")
    assert growth_mb < 80, f"server RSS grew {growth_mb:.0f} MB while streaming"  # holding 100k records is ~100 MB


def test_json_response_over_the_cap_suggests_streaming(srv: ServerProcess, data: dict) -> None:
    upstream = GatedDemoApi(data)
    upstream.gate.set()
    with MockServer(upstream.handler) as mock:
        body = {"connector": "demo", "config": demo_config(mock.url + "/v1"), "streams": ["orders"]}
        resp = requests.post(srv.url + "/sync", json=body, timeout=120)
    assert resp.status_code == 413
    error = resp.json()["error"]
    assert error["code"] == "too_many_records" and "application/x-ndjson" in error["message"]


def test_errors_before_the_stream_keep_their_status(srv: ServerProcess) -> None:
    body = {"connector": "demo", "config": demo_config("http://127.0.0.1:9/v1"), "streams": ["nope"]}
    resp = requests.post(srv.url + "/sync", json=body, headers=NDJSON, timeout=60)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "unknown_stream"


def test_disconnect_mid_stream_stops_the_sync(data: dict) -> None:
    upstream = GatedDemoApi(data)
    total_pages = N // 500
    with ServerProcess() as s, MockServer(upstream.handler) as mock:
        body = {"connector": "demo", "config": demo_config(mock.url + "/v1"), "streams": ["orders"]}
        resp = requests.post(s.url + "/sync", json=body, headers=NDJSON, stream=True, timeout=60)
        lines = resp.iter_lines()
        assert json.loads(next(line for line in lines if b'"RECORD"' in line))["type"] == "RECORD"
        resp.close()  # the client goes away mid-sync, while the server waits for page 2
        upstream.gate.set()
        deadline = time.monotonic() + 60
        while "client disconnected" not in s.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "client disconnected" in s.stderr()
        seen = upstream.pages
        time.sleep(0.5)  # an uncancelled sync would fetch dozens of pages meanwhile
        assert seen < 10 < total_pages and upstream.pages <= seen + 1
        assert requests.get(s.url + "/health", timeout=30).status_code == 200  # the server carries on


def test_disconnect_during_json_sync_cancels_it(data: dict) -> None:
    """No byte is written while a JSON /sync runs, yet the server notices the hang-up and stops."""
    upstream = GatedDemoApi(data)
    with ServerProcess() as s, MockServer(upstream.handler) as mock:
        body = json.dumps({"connector": "demo", "config": demo_config(mock.url + "/v1"), "streams": ["orders"]})
        conn = http.client.HTTPConnection(s.url.removeprefix("http://"), timeout=30)
        conn.request("POST", "/sync", body=body, headers={"Content-Type": "application/json"})
        deadline = time.monotonic() + 60
        while upstream.pages < 1 and time.monotonic() < deadline:  # the sync is under way
            time.sleep(0.02)
        conn.close()  # hang up before any answer
        while "client disconnected during POST /sync" not in s.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "client disconnected during POST /sync" in s.stderr()
        upstream.gate.set()
        time.sleep(0.5)  # an uncancelled sync would fetch 20 pages (10,000 records) meanwhile
        assert upstream.pages <= 3
