"""The built-in `anthropic` connector (alias anthropic-billing) against a mock of the Admin API.

One full read of every stream (one 429 armed mid-sync) backs most assertions; wrong key,
missing config and incremental runs are separate subprocesses.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_primary_keys_unique,
    assert_secrets_hidden,
    assert_usage_error,
    final_state,
    header_values,
    record_key,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.anthropic import ADMIN_KEY, VERSION, AnthropicMock
from integration_tests.mocks.server import MockServer, Request, Response

ANTHROPIC = Connector("anthropic")
MESSAGES = "/v1/organizations/usage_report/messages"
CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"


def _calls(srv: MockServer, path: str, group_by: list[str] | None = None) -> list[Request]:
    return [r for r in srv.requests if r.path == path and r.query.get("group_by[]", []) == (group_by or [])]


@pytest.fixture(scope="module")
def full() -> FullRead:
    return full_read_of("anthropic")  # the contract's read (connector_contract.py), faults armed there


def test_primary_keys_are_unique(full: FullRead) -> None:
    _, _, result = full
    assert_primary_keys_unique(result, ANTHROPIC)


def test_headers_on_every_request(full: FullRead) -> None:
    _, srv, result = full
    assert header_values(srv, "x-api-key") == {ADMIN_KEY}
    assert header_values(srv, "anthropic-version") == {VERSION}
    assert_secrets_hidden(result, ADMIN_KEY)


def test_reports_page_until_has_more_false(full: FullRead) -> None:
    mock, srv, _ = full
    calls = _calls(srv, MESSAGES, ["model"])
    assert len(calls) == 4  # 101 daily buckets at 31 per page; the 4th says has_more false
    assert {r.arg("starting_at") for r in calls} == {mock.config("")["start_date"]}
    assert {r.arg("limit") for r in calls} == {"31"} and {r.arg("bucket_width") for r in calls} == {"1d"}
    assert calls[0].arg("page") is None and len({r.arg("page") for r in calls[1:]}) == 3


def test_group_by_brackets_with_several_dimensions(full: FullRead) -> None:
    _, srv, _ = full
    assert len(_calls(srv, MESSAGES, ["model", "workspace_id", "service_tier"])) == 4
    assert _calls(srv, "/v1/organizations/cost_report", ["description"])
    assert not [r for r in srv.requests if "group_by" in r.query]


def test_claude_code_one_day_per_request(full: FullRead) -> None:
    mock, srv, _ = full
    calls = [r for r in srv.requests if r.path == CLAUDE_CODE]
    days = {(mock.today - timedelta(days=i)).isoformat() for i in range(5)}
    assert {r.arg("starting_at") for r in calls} == days
    busiest = max(days, key=lambda d: len([r for r in calls if r.arg("starting_at") == d]))
    assert len([r for r in calls if r.arg("starting_at") == busiest]) == 2 * 3  # two streams, 230 records


def test_lists_follow_after_id_and_429_is_retried(full: FullRead) -> None:
    mock, srv, result = full
    assert mock.faults.served == ["/v1/organizations/users"]
    afters = [r.arg("after_id") for r in srv.requests if r.path == "/v1/organizations/users"]
    users = mock.lists["users"]
    assert afters == [None, users[99]["id"], users[99]["id"], users[199]["id"]]
    assert len(result.records("users")) == 210
    assert "2025-01-01T00:00:00Z" in {w["archived_at"] for w in result.records("workspaces")}


def test_missing_admin_key_is_one_clear_error() -> None:
    config = AnthropicMock().config("http://127.0.0.1:9")
    del config["admin_api_key"]
    assert_usage_error(ANTHROPIC.read(config, ["workspaces"]), "admin_api_key", "sk-ant-admin")


def test_incremental_second_run_starts_at_the_newest_bucket_and_day(tmp_path: Path) -> None:
    mock = AnthropicMock()
    state_file = tmp_path / "state.json"
    streams = ["usage_messages_by_model", "usage_claude_code"]
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = ANTHROPIC.read(config, streams, "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        newest = max(r["starting_at"] for r in mock.expected_records("usage_messages_by_model"))
        today = f"{mock.today.isoformat()}T00:00:00Z"
        saved = final_state(first)["streams"]
        assert saved["usage_messages_by_model"]["cursor"] == newest
        assert json.dumps(saved["usage_claude_code"]).count(today) >= 1
        srv.requests.clear()
        second = ANTHROPIC.read(config, streams, "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    assert {r.arg("starting_at") for r in _calls(srv, MESSAGES, ["model"])} == {newest}
    want = mock.expected_records("usage_messages_by_model", newest)
    assert sorted(map(record_key, second.records("usage_messages_by_model"))) == sorted(map(record_key, want))
    assert {r.arg("starting_at") for r in srv.requests if r.path == CLAUDE_CODE} == {mock.today.isoformat()}
    want = mock.expected_records("usage_claude_code", today)
    assert sorted(map(record_key, second.records("usage_claude_code"))) == sorted(map(record_key, want))


def test_a_workspace_deleted_during_the_sync_is_skipped_and_reported() -> None:
    """Listed, then deleted before its members are asked for: the Admin API answers 404 not_found_error.
    The stream succeeds without that workspace's members and says so (errors: in connectors/anthropic.yaml)."""
    mock = AnthropicMock()
    gone = mock.lists["workspaces"][1]["id"]

    def handler(req: Request) -> Response:
        if req.path.endswith(f"/workspaces/{gone}/members"):
            mock.members.pop(gone, None)
        return mock.handler(req)

    with MockServer(handler) as srv:
        result = ANTHROPIC.read(mock.config(srv.url), ["workspace_members"])
    assert result.rc == 0, result.stdout[-3000:]
    (entry,) = result.summary["streams"]
    assert entry["status"] == "SUCCESS" and entry["responses_ignored"] == 1, entry
    (skipped,) = entry["skipped"]
    assert skipped.startswith(f"stream 'workspace_members': partition workspace_id={gone} skipped: HTTP 404 ")
    assert skipped.endswith("errors[0] (ignore): the workspace was deleted during the sync")
    assert gone not in {r["workspace_id"] for r in result.records("workspace_members")}
    assert {r["workspace_id"] for r in result.records("workspace_members")} == set(mock.members)
