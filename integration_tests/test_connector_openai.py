"""The built-in `openai` connector (alias openai-billing) against a mock of the Admin usage/costs API.

One full read of every stream (one 429 armed mid-sync) backs most assertions; wrong key, costs
paging over a long window and incremental runs are separate subprocesses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_primary_keys_unique,
    assert_secrets_hidden,
    final_state,
    header_values,
    record_key,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.openai import ADMIN_KEY, DAY, NOW, T0, OpenAIMock
from integration_tests.mocks.server import MockServer, Request

OPENAI = Connector("openai")
USAGE = "/v1/organization/usage/completions"


def _calls(srv: MockServer, path: str, group_by: str | None = None) -> list[Request]:
    return [r for r in srv.requests if r.path == path and r.arg("group_by") == group_by]


@pytest.fixture(scope="module")
def full() -> FullRead:
    return full_read_of("openai")  # the contract's read (connector_contract.py), faults armed there


def test_primary_keys_are_unique(full: FullRead) -> None:
    _, _, result = full
    assert_primary_keys_unique(result, OPENAI)


def test_buckets_page_with_next_page_until_has_more_false(full: FullRead) -> None:
    _, srv, _ = full
    calls = _calls(srv, USAGE, "model")
    assert len(calls) == 4  # 100 daily buckets, 31 per page: the 4th page says has_more false
    assert {r.arg("limit") for r in calls} == {"31"}
    assert {r.arg("bucket_width") for r in calls} == {"1d"}
    assert {r.arg("start_time") for r in calls} == {str(T0)}
    assert calls[0].arg("page") is None and all(r.arg("page") for r in calls[1:])
    assert len({r.arg("page") for r in calls[1:]}) == 3


def test_group_by_sent_as_plain_repeated_key(full: FullRead) -> None:
    _, srv, _ = full
    assert _calls(srv, "/v1/organization/costs", "line_item")
    assert _calls(srv, "/v1/organization/usage/completions", "project_id")
    assert not [r for r in srv.requests if any(k.startswith("group_by[") for k in r.query)]


def test_one_429_mid_sync_is_retried(full: FullRead) -> None:
    mock, srv, result = full
    assert mock.faults.served == ["/v1/organization/usage/embeddings"]
    calls = [r for r in srv.requests if r.path == "/v1/organization/usage/embeddings"]
    assert len(calls) == 4 + 4 + 1  # two streams of 4 pages, one page asked again after the 429
    assert len(result.records("usage_embeddings")) == len(mock.expected_records("usage_embeddings"))


def test_auth_header_on_every_request(full: FullRead) -> None:
    _, srv, result = full
    assert header_values(srv, "Authorization") == {f"Bearer {ADMIN_KEY}"}
    assert_secrets_hidden(result, ADMIN_KEY)


def test_projects_include_archived(full: FullRead) -> None:
    _, srv, result = full
    assert {r.arg("include_archived") for r in srv.requests if r.path == "/v1/organization/projects"} == {"true"}
    assert "archived" in {r["status"] for r in result.records("projects")}


def test_users_follow_after_last_id(full: FullRead) -> None:
    mock, srv, _ = full
    afters = [r.arg("after") for r in srv.requests if r.path == "/v1/organization/users"]
    assert afters == [None, mock.users[99]["id"], mock.users[199]["id"]]


def test_reports_have_a_bucket_cursor_lists_none(full: FullRead) -> None:  # the final cursors: the contract
    mock, _, _ = full
    assert {mock.cursor_field(s) for s in mock.streams_with_data} == {"start_time", None}


def test_costs_page_over_a_long_window() -> None:
    mock = OpenAIMock()
    start = T0 - 300 * DAY  # 400 daily buckets: 180 + 180 + 40
    srv, result = OPENAI.read_against(mock, ["costs_by_project"], overrides={"start_time": str(start)})
    assert result.rc == 0, result.stderr[-3000:]
    calls = _calls(srv, "/v1/organization/costs", "project_id")
    assert len(calls) == 3 and {r.arg("limit") for r in calls} == {"180"}
    want = mock.expected_records("costs_by_project", start_time=start)
    assert sorted(map(record_key, result.records("costs_by_project"))) == sorted(map(record_key, want))


def test_incremental_second_run_starts_at_the_newest_bucket(tmp_path: Path) -> None:
    mock = OpenAIMock()
    state_file = tmp_path / "state.json"
    streams = ["usage_completions_by_model", "costs"]
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = OPENAI.read(config, streams, "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        newest = NOW - DAY
        assert {final_state(first)["streams"][s]["cursor"] for s in streams} == {newest}
        mock.now = NOW + 2 * DAY  # two more days of usage
        srv.requests.clear()
        second = OPENAI.read(config, streams, "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    assert {r.arg("start_time") for r in _calls(srv, USAGE, "model")} == {str(newest)}
    for stream in streams:
        want = mock.expected_records(stream, {"cursor": newest})
        assert sorted(map(record_key, second.records(stream))) == sorted(map(record_key, want)), stream
        assert {r["start_time"] for r in want} == {newest, NOW, NOW + DAY}
        assert final_state(second)["streams"][stream]["cursor"] == NOW + DAY
