"""``errors:`` rules end to end: the installed CLI against mock APIs answering as real ones do.

A child partition whose parent is gone answers 404 (GitHub, Stripe) or 422 (GitLab): with
``errors: {ignore: [404, 422]}`` it is skipped, counted and listed, and the stream succeeds; Slack
answers HTTP 200 with ``{"ok": false, "error": ...}``: a body rule fails the stream with its message;
a 409 "try again" is retried; a throttled 400 with ``X-RateLimit-Reset`` waits as the header says; an
expired token answered 403 ``token_expired`` is refreshed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import Credentials, GenericApi, json_body, make_items
from integration_tests.mocks.server import MockServer, Request, Response
from integration_tests.test_partitions_support import (
    CUSTOMERS,
    PartitionApi,
    final_state,
    read,
    write_connector,
)

IGNORE = CUSTOMERS.replace("    partition: {type: parent_stream", "    errors: {ignore: [404, 422]}\n"
                           "    partition: {type: parent_stream")


class ScriptedApi(PartitionApi):
    """PartitionApi, with scripted answers given first: path -> the responses for its next requests."""

    def __init__(self) -> None:
        super().__init__()
        self.script: dict[str, list[Response]] = {}

    def handler(self, req: Request) -> Response:
        with self.lock:
            queue = self.script.get(req.path)
            scripted = queue.pop(0) if queue else None
        return scripted or super().handler(req)


def _gone(api: PartitionApi) -> None:
    """c2's notes answer 404 (a deleted customer), c4's 422 (GitLab's answer for an archived one)."""
    api.fail[("/customers/c2/notes", 0)] = 404
    api.fail[("/customers/c4/notes", 0)] = 422


def _notes_entry(result: Result) -> dict[str, Any]:
    return next(s for s in result.summary["streams"] if s["stream"] == "notes")


def test_a_child_partition_that_404s_or_422s_is_skipped_and_reported(tmp_path: Path) -> None:
    api = PartitionApi()
    _gone(api)
    with MockServer(api.handler) as srv:
        result = read(write_connector(tmp_path, IGNORE), srv, "--streams", "notes")
    assert result.rc == 0, result.stderr[-2000:]
    entry = _notes_entry(result)
    assert entry["status"] == "SUCCESS" and entry["responses_ignored"] == 2
    skipped = sorted(entry["skipped"])  # partitions are read concurrently: in any order
    assert [s.split(" skipped: ")[0] for s in skipped] == [
        "stream 'notes': partition customer_id=c2", "stream 'notes': partition customer_id=c4"]
    assert "HTTP 404 Not Found from GET " in skipped[0] and skipped[0].endswith("errors[0] (ignore)")
    assert "HTTP 422" in skipped[1]
    warns = [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert warns == entry["skipped"]
    kept = {c["id"] for c in api.customers} - {"c2", "c4"}
    assert {r["customer_id"] for r in result.records("notes")} == kept
    assert "state_held" not in entry and final_state(result)["notes"]["parent"]  # the state goes on


def test_without_the_rule_the_404_still_fails_the_stream(tmp_path: Path) -> None:
    api = PartitionApi()
    _gone(api)
    with MockServer(api.handler) as srv:
        result = read(write_connector(tmp_path, CUSTOMERS), srv, "--streams", "notes")
    assert result.rc != 0
    entry = _notes_entry(result)
    assert entry["status"] == "FAILED" and "HTTP 4" in entry["error"] and "skipped" not in entry


def test_connector_rules_apply_after_the_stream_rules(tmp_path: Path) -> None:
    """A top-level ignore covers every stream; a stream rule for the same status wins over it."""
    api = PartitionApi()
    _gone(api)
    conn = write_connector(tmp_path, CUSTOMERS.replace("    partition: {type: parent_stream",
                                                       "    errors: [{status: 422, action: fail, message: archived}]\n"
                                                       "    partition: {type: parent_stream"))
    text = Path(conn).read_text().replace("streams:\n", "errors: {ignore: [404, 422]}\nstreams:\n", 1)
    Path(conn).write_text(text)
    with MockServer(api.handler) as srv:
        result = read(conn, srv, "--streams", "notes", "--concurrency", "1")
    entry = _notes_entry(result)
    assert entry["status"] == "FAILED" and entry["error"].startswith("archived (HTTP 422 "), entry
    assert entry["error"].endswith("; errors[0] fail)")
    assert any("customer_id=c2" in s and "connector errors[0] (ignore)" in s for s in entry.get("skipped", [])), entry


SLACK_ERRORS = """
  - name: users
    request: {path: /users.list}
    decoder: {type: json, records_path: members}
    errors:
      - body_path: error
        body_matches: "^(invalid_auth|account_inactive|token_revoked)$"
        action: fail
        message: "Slack refused the token: reinstall the app and update bot_token"
"""


def test_a_body_matched_error_fails_with_the_rule_message(tmp_path: Path) -> None:
    api = ScriptedApi()
    api.script["/users.list"] = [Response.json({"ok": False, "error": "token_revoked"})]  # Slack: HTTP 200
    with MockServer(api.handler) as srv:
        result = read(write_connector(tmp_path, SLACK_ERRORS), srv, "--streams", "users")
    assert result.rc != 0
    (entry,) = result.summary["streams"]
    assert entry["status"] == "FAILED"
    assert entry["error"].startswith("Slack refused the token: reinstall the app and update bot_token (HTTP 200 OK "
                                     "from GET http://127.0.0.1:"), entry["error"]
    assert len([r for r in srv.requests if r.path == "/users.list"]) == 1  # a fail is not retried


RETRY = """
  - name: customers
    request: {path: /customers}
    decoder: {type: json, records_path: data}
    errors:
      - {status: 409, body_matches: "try again", action: retry}
      - {status: 400, body_path: error.type, body_matches: throttled, action: rate_limited}
"""


def test_a_retry_rule_retries_a_status_the_defaults_would_fail(tmp_path: Path) -> None:
    api = ScriptedApi()
    api.script["/customers"] = [Response.json({"error": "conflict, try again"}, 409)] * 2
    with MockServer(api.handler) as srv:
        result = read(write_connector(tmp_path, RETRY, retries=3), srv, "--streams", "customers")
        calls = [r for r in srv.requests if r.path == "/customers"]
    assert result.rc == 0, result.stdout[-2000:]
    assert len(calls) == 3 and len(result.records("customers")) == len(api.customers)
    warns = [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert [w.split(" from ")[0] for w in warns] == ["HTTP 409", "HTTP 409"]
    assert warns[0].endswith("retry 1/3 in 0.0s (errors[0] retry; backoff)"), warns


def test_a_rate_limited_rule_waits_as_the_headers_say(tmp_path: Path) -> None:
    """A 400 'throttled' (not a retry status) with Retry-After, then with X-RateLimit-Reset (an epoch):
    both waits come from the headers, not from the 0.01 s backoff."""
    api = ScriptedApi()
    throttled = {"error": {"type": "throttled", "message": "slow down"}}
    api.script["/customers"] = [
        Response.json(throttled, 400, **{"Retry-After": "0.3"}),
        Response.json(throttled, 400, **{"X-RateLimit-Reset": str(int(time.time()) + 1)}),
    ]
    with MockServer(api.handler) as srv:
        result = read(write_connector(tmp_path, RETRY, retries=3), srv, "--streams", "customers")
    assert result.rc == 0, result.stdout[-2000:]
    assert len(result.records("customers")) == len(api.customers)
    warns = [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert warns[0].endswith("retry 1/3 in 0.3s (errors[1] rate_limited; Retry-After)"), warns
    assert warns[1].endswith("(errors[1] rate_limited; x-ratelimit-reset)"), warns


def test_a_rate_limited_rule_gives_up_after_max_retries_saying_why(tmp_path: Path) -> None:
    api = ScriptedApi()
    api.script["/customers"] = [Response.json({"error": {"type": "throttled"}}, 400, **{"Retry-After": "0"})] * 5
    with MockServer(api.handler) as srv:
        result = read(write_connector(tmp_path, RETRY, retries=1), srv, "--streams", "customers")
    (entry,) = result.summary["streams"]
    assert result.rc != 0 and entry["status"] == "FAILED"
    assert " after 1 retries: " in entry["error"] and entry["error"].endswith("(errors[1] rate_limited)"), entry


def test_the_airbyte_flavour_lists_what_was_skipped_in_the_stream_status(tmp_path: Path) -> None:
    api = PartitionApi()
    _gone(api)
    with MockServer(api.handler) as srv:
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"connector": write_connector(tmp_path, IGNORE), "base_url": srv.url}))
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps({"streams": [{
            "stream": {"name": "notes", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental", "destination_sync_mode": "append"}]}))
        result = run_cli("read", "--config", str(config), "--catalog", str(catalog), script="source-solidafy")
    assert result.rc == 0, result.stdout[-2000:]
    statuses = [m["trace"]["stream_status"] for m in result.of_type("TRACE") if m["trace"]["type"] == "STREAM_STATUS"]
    assert statuses[-1]["status"] == "COMPLETE"
    assert sorted(s.split(" skipped: ")[0] for s in statuses[-1]["skipped"]) == [
        "stream 'notes': partition customer_id=c2", "stream 'notes': partition customer_id=c4"]


REFRESH = """name: refresh_rule
base_url: "http://127.0.0.1:9/v1"
http: {max_retries: 0}
auth:
  type: oauth2_refresh_token
  token_url: "{{ config.base_url }}/oauth/token"
  client_id: "{{ config.client_id }}"
  client_secret: "{{ config.client_secret }}"
  refresh_token: "{{ config.refresh_token }}"
errors:
  - {status: 403, body_path: error.code, body_matches: token_expired, action: refresh_token}
streams:
  - name: items
    request: {path: /cursor, params: {limit: "5"}}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
"""


def _expiring_run(tmp_path: Path, text: str) -> tuple[Result, Credentials, list[str]]:
    """Read through an API that answers an expired token 403 {"error": {"code": "token_expired"}}, not
    401; the first token expires after two pages."""
    items = make_items(15)
    creds = Credentials("oauth", client_id="cid", client_secret="cs-X", refresh_token="rt-X")
    api = GenericApi(items, creds)

    def expire_first_token(req: Request) -> Response | None:
        if len([r for r in srv.requests if r.path == "/v1/cursor"]) == 2:
            creds.revoked.add(creds.issued[0])
        return None

    def handler(req: Request) -> Response:
        resp = api(req)
        if resp.status == 401 and req.path == "/v1/cursor":
            return Response.json({"error": {"code": "token_expired"}}, 403)
        return resp

    api.on_list = expire_first_token
    path = tmp_path / "refresh.yaml"
    path.write_text(text)
    with MockServer(handler) as srv:
        cfg = {"base_url": f"{srv.url}/v1", "client_id": "cid", "client_secret": "cs-X", "refresh_token": "rt-X"}
        result = run_cli("read", "-c", str(path), "--config-json", json_body(cfg))
    return result, creds, [r["id"] for r in items]


def test_a_refresh_token_rule_refreshes_on_the_api_s_own_expired_answer(tmp_path: Path) -> None:
    result, creds, ids = _expiring_run(tmp_path, REFRESH)
    assert result.rc == 0, result.stdout[-2000:]
    assert [r["id"] for r in result.records()] == ids
    assert creds.issued == ["at-1", "at-2"]
    logs = [m["log"]["message"] for m in result.of_type("LOG")]
    assert any(m.startswith("HTTP 403 from GET ") and m.endswith(
        "(connector errors[0] refresh_token), token refreshed, retrying once") for m in logs), logs


def test_without_the_refresh_rule_the_403_fails_as_before(tmp_path: Path) -> None:
    plain = REFRESH.split("errors:")[0] + "streams:" + REFRESH.split("streams:")[1]
    result, creds, _ = _expiring_run(tmp_path, plain)
    (entry,) = result.summary["streams"]
    assert result.rc != 0 and entry["status"] == "FAILED" and "HTTP 403" in entry["error"]
    assert creds.issued == ["at-1"]


def test_what_a_parent_skipped_is_reported_by_its_children_too(tmp_path: Path) -> None:
    """The parent's second page is ignored: the children of the customers on it are never read, so the
    child reports the skip as well, whether it fetched the parent or followed the parent's own read."""
    parent = CUSTOMERS.replace("    incremental: {request_param: updated_since}\n",
                               "    incremental: {request_param: updated_since}\n    errors: {ignore: [404]}\n", 1)
    for streams in ("notes", "customers,notes"):
        api = ScriptedApi()
        api.script["/customers"] = [Response.json({"data": api.customers[:3], "next_cursor": "1"}),
                                    Response.json({"message": "Not Found"}, 404)]
        with MockServer(api.handler) as srv:
            result = read(write_connector(tmp_path, parent), srv, "--streams", streams)
        assert result.rc == 0, result.stdout[-2000:]
        entries = {e["stream"]: e for e in result.summary["streams"]}
        for entry in entries.values():
            (skipped,) = entry["skipped"]
            assert skipped.startswith("stream 'customers': the stream skipped after 1 pages: HTTP 404 "), entry
        assert {r["customer_id"] for r in result.records("notes")} == {"c0", "c1", "c2"}
