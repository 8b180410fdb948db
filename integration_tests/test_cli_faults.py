"""Transient faults are retried and invisible in the output; permanent ones fail the stream clearly."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import GenericApi, connector, json_body, make_items
from integration_tests.mocks.server import Faults, MockServer, Request, Response

ITEMS = make_items(15)
IDS = [r["id"] for r in ITEMS]
RATE_LIMITED = {"error": {"type": "rate_limit_error", "message": "Too many requests"}}


def _read(faults: dict[int, Response], *extra: str) -> tuple[Result, list[Request]]:
    api = GenericApi(ITEMS, faults=Faults(faults, path_prefix="/v1/cursor"))
    with MockServer(api) as srv:
        cfg = json_body({"base_url": f"{srv.url}/v1"})
        res = run_cli("read", "-c", connector("faults"), "--config-json", cfg, "--concurrency", "1", *extra)
    return res, [r for r in srv.requests if r.path == "/v1/cursor"]


TRANSIENT = {
    "429-retry-after-fractional": Response.json(RATE_LIMITED, 429, **{"Retry-After": "0.05"}),
    "429-retry-after-ms": Response.json(RATE_LIMITED, 429, **{"retry-after-ms": "30"}),
    # an HTTP date 30 s ahead: honoured, capped by backoff_max_secs (0.2 s in faults.yaml)
    "429-retry-after-http-date": Response.json(RATE_LIMITED, 429, **{"Retry-After": formatdate(time.time() + 30, usegmt=True)}),
    "500": Response.json({"error": "internal"}, 500),
    "503-html": Response(503, "<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
    "connection-reset": Response.reset(),
    "truncated-body": Response(200, '{"data": [{"id": "it_0', {"Content-Type": "application/json"}, truncate=True),
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_faults_transient_on_page_two_then_success(fault: str) -> None:
    res, reqs = _read({2: TRANSIENT[fault]})
    assert res.rc == 0, res.stdout[-2000:] + res.stderr
    assert [r["id"] for r in res.records("items")] == IDS, "no record lost or duplicated by the retry"
    assert [r.arg("cursor") for r in reqs] == [None, "5", "5", "10"]
    summary = res.summary
    assert summary["status"] == "SUCCEEDED" and summary["total_records"] == 30
    assert {s["stream"]: s["records_synced"] for s in summary["streams"]} == {"items": 15, "pages": 15}
    retries = [m["log"]["message"] for m in res.of_type("LOG") if "retry 1/" in m["log"]["message"]]
    assert len(retries) == 1 and "cursor=5" in retries[0], retries
    if fault.startswith("429"):
        assert "429" in retries[0] and "retry-after" in retries[0].lower(), "the wait comes from the header"


def test_faults_persistent_500_fails_after_max_retries_others_go_on() -> None:
    always = {n: Response.json({"error": "down"}, 500) for n in range(2, 20)}
    res, reqs = _read(always, "--state-per-page")
    assert res.rc == 1
    assert len(reqs) == 1 + 4, "first page, then page two tried 1 + max_retries times"
    assert [r["id"] for r in res.records("items")] == IDS[:5], "records before the failure stand"
    assert [r["id"] for r in res.records("pages")] == IDS
    summary = res.summary
    assert summary["status"] == "PARTIAL"
    assert (summary["successful_streams"], summary["failed_streams"]) == (1, 1)
    by_name = {s["stream"]: s for s in summary["streams"]}
    assert by_name["items"]["status"] == "FAILED" and by_name["items"]["records_synced"] == 5
    assert "500" in by_name["items"]["error"]
    assert by_name["pages"]["status"] == "SUCCESS"
    final = res.of_type("STATE")[-1]["state"]
    assert final["streams"]["items"] == {"cursor": ITEMS[4]["updated_at"]}, "the page-one state is kept"


def test_faults_invalid_json_fails_naming_the_url() -> None:
    bad = Response(200, "{this is not json", {"Content-Type": "application/json"})
    res, reqs = _read({2: bad})
    assert res.rc == 1
    assert len(reqs) == 2, "an invalid body that arrived whole is not retried"
    assert [r["id"] for r in res.records("items")] == IDS[:5]
    error = {s["stream"]: s for s in res.summary["streams"]}["items"]["error"]
    assert "/v1/cursor" in error and "cursor=5" in error, error
    assert "json" in error.lower(), error
    assert res.summary["status"] == "PARTIAL"


def test_faults_404_is_not_retried() -> None:
    res, reqs = _read({1: Response.json({"error": {"message": "No such resource"}}, 404)})
    assert res.rc == 1
    assert len(reqs) == 1
    assert res.records("items") == []
    error = {s["stream"]: s for s in res.summary["streams"]}["items"]["error"]
    assert "404" in error and "/v1/cursor" in error, error


def test_faults_401_is_not_retried() -> None:
    res, reqs = _read({1: Response.json({"error": "unauthorized"}, 401)})
    assert res.rc == 1
    assert len(reqs) == 1
