"""The built-in `anthropic` connector (alias anthropic-billing) against a mock of the Admin API.

One full read of every stream (one 429 armed mid-sync) backs most assertions; wrong key,
missing config and incremental runs are separate subprocesses.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.anthropic import ADMIN_KEY, VERSION, AnthropicMock
from integration_tests.mocks.server import MockServer, Request

CONNECTOR = "anthropic"
YAML_PATH = Path(__file__).resolve().parent.parent / "connectors" / "anthropic.yaml"
MESSAGES = "/v1/organizations/usage_report/messages"
CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"


def _streams_yaml() -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in yaml.safe_load(YAML_PATH.read_text())["streams"]}


def _read(config: dict[str, Any], streams: list[str], *extra: str) -> Result:
    return run_cli("read", "--connector", CONNECTOR, "--config-json", json.dumps(config),
                   "--streams", ",".join(streams), *extra)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]["streams"]


def _calls(srv: MockServer, path: str, group_by: list[str] | None = None) -> list[Request]:
    return [r for r in srv.requests if r.path == path and r.query.get("group_by[]", []) == (group_by or [])]


def _key(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True)


@pytest.fixture(scope="module")
def full() -> Any:
    mock = AnthropicMock()
    mock.inject_429("/v1/organizations/users", after=1)
    with MockServer(mock.handler) as srv:
        result = _read(mock.config(srv.url), mock.streams_with_data)
        yield mock, srv, result


def test_full_read_succeeds(full: Any) -> None:
    mock, _, result = full
    assert result.rc == 0, result.stderr[-3000:]
    assert result.summary["status"] == "SUCCEEDED"
    assert {s["stream"]: s["status"] for s in result.summary["streams"]} == dict.fromkeys(
        mock.streams_with_data, "SUCCESS")


def test_exact_records_one_per_result_with_bucket_bounds(full: Any) -> None:
    mock, _, result = full
    for stream in mock.streams_with_data:
        got = sorted(map(_key, result.records(stream)))
        want = sorted(map(_key, mock.expected_records(stream)))
        assert len(got) == len(want), stream
        assert got == want, stream


def test_primary_keys_are_unique(full: Any) -> None:
    mock, _, result = full
    for stream, spec in _streams_yaml().items():
        pk = [spec["primary_key"]] if isinstance(spec["primary_key"], str) else spec["primary_key"]
        values = [tuple(r[k] for k in pk) for r in result.records(stream)]
        assert len(values) == len(set(values)), stream


def test_headers_on_every_request(full: Any) -> None:
    _, srv, result = full
    assert {r.header("x-api-key") for r in srv.requests} == {ADMIN_KEY}
    assert {r.header("anthropic-version") for r in srv.requests} == {VERSION}
    assert ADMIN_KEY not in result.stdout and ADMIN_KEY not in result.stderr


def test_reports_page_until_has_more_false(full: Any) -> None:
    mock, srv, _ = full
    calls = _calls(srv, MESSAGES, ["model"])
    assert len(calls) == 4  # 101 daily buckets at 31 per page; the 4th says has_more false
    assert {r.arg("starting_at") for r in calls} == {mock.config("")["start_date"]}
    assert {r.arg("limit") for r in calls} == {"31"} and {r.arg("bucket_width") for r in calls} == {"1d"}
    assert calls[0].arg("page") is None and len({r.arg("page") for r in calls[1:]}) == 3


def test_group_by_brackets_with_several_dimensions(full: Any) -> None:
    _, srv, _ = full
    assert len(_calls(srv, MESSAGES, ["model", "workspace_id", "service_tier"])) == 4
    assert _calls(srv, "/v1/organizations/cost_report", ["description"])
    assert not [r for r in srv.requests if "group_by" in r.query]


def test_claude_code_one_day_per_request(full: Any) -> None:
    mock, srv, _ = full
    calls = [r for r in srv.requests if r.path == CLAUDE_CODE]
    days = {(mock.today - timedelta(days=i)).isoformat() for i in range(5)}
    assert {r.arg("starting_at") for r in calls} == days
    busiest = max(days, key=lambda d: len([r for r in calls if r.arg("starting_at") == d]))
    assert len([r for r in calls if r.arg("starting_at") == busiest]) == 2 * 3  # two streams, 230 records


def test_lists_follow_after_id_and_429_is_retried(full: Any) -> None:
    mock, srv, result = full
    assert mock.served_429 == ["/v1/organizations/users"]
    afters = [r.arg("after_id") for r in srv.requests if r.path == "/v1/organizations/users"]
    users = mock.lists["users"]
    assert afters == [None, users[99]["id"], users[99]["id"], users[199]["id"]]
    assert len(result.records("users")) == 210
    assert "2025-01-01T00:00:00Z" in {w["archived_at"] for w in result.records("workspaces")}


def test_final_state_is_the_newest_bucket(full: Any) -> None:
    mock, _, result = full
    state = _final_state(result)
    for stream in mock.REPORTS:
        assert state[stream]["cursor"] == max(r["starting_at"] for r in mock.expected_records(stream)), stream


def test_every_record_matches_declared_schema(full: Any) -> None:
    mock, _, result = full
    specs = _streams_yaml()
    for stream in mock.streams_with_data:
        validator = jsonschema.Draft7Validator(specs[stream]["schema"])
        for rec in result.records(stream):
            validator.validate(rec)


def test_wrong_key_fails_the_stream() -> None:
    mock = AnthropicMock()
    with MockServer(mock.handler) as srv:
        result = _read({**mock.config(srv.url), "admin_api_key": "sk-ant-admin01-wrongwrong"}, ["workspaces"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    assert srv.requests[0].header("x-api-key") == "sk-ant-admin01-wrongwrong"
    assert "sk-ant-admin01-wrongwrong" not in result.stdout + result.stderr


def test_missing_admin_key_is_one_clear_error() -> None:
    config = AnthropicMock().config("http://127.0.0.1:9")
    del config["admin_api_key"]
    result = _read(config, ["workspaces"])
    assert result.rc == 2
    assert "admin_api_key" in result.stderr and "sk-ant-admin" in result.stderr
    assert "Traceback" not in result.stderr


def test_incremental_second_run_starts_at_the_newest_bucket_and_day(tmp_path: Path) -> None:
    mock = AnthropicMock()
    state_file = tmp_path / "state.json"
    streams = ["usage_messages_by_model", "usage_claude_code"]
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = _read(config, streams, "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        newest = max(r["starting_at"] for r in mock.expected_records("usage_messages_by_model"))
        today = f"{mock.today.isoformat()}T00:00:00Z"
        saved = _final_state(first)
        assert saved["usage_messages_by_model"]["cursor"] == newest
        assert json.dumps(saved["usage_claude_code"]).count(today) >= 1
        srv.requests.clear()
        second = _read(config, streams, "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    assert {r.arg("starting_at") for r in _calls(srv, MESSAGES, ["model"])} == {newest}
    want = mock.expected_records("usage_messages_by_model", newest)
    assert sorted(map(_key, second.records("usage_messages_by_model"))) == sorted(map(_key, want))
    assert {r.arg("starting_at") for r in srv.requests if r.path == CLAUDE_CODE} == {mock.today.isoformat()}
    want = mock.expected_records("usage_claude_code", today)
    assert sorted(map(_key, second.records("usage_claude_code"))) == sorted(map(_key, want))


def test_alias_anthropic_billing() -> None:
    result = run_cli("streams", "--connector", "anthropic-billing")
    assert result.rc == 0, result.stderr
    assert result.of_type("STREAMS")


def test_validate_builtin_yaml() -> None:
    result = run_cli("validate", str(YAML_PATH))
    assert result.rc == 0, result.stdout + result.stderr


def test_spec_offline() -> None:
    result = run_cli("spec", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    spec = result.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert sorted(spec["required"]) == ["admin_api_key", "start_date"]
    assert spec["properties"]["admin_api_key"]["airbyte_secret"] is True
    assert {"start_date_short", "base_url"} <= set(spec["properties"])


def test_streams_offline() -> None:
    result = run_cli("streams", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    names = [n if isinstance(n, str) else n["name"] for n in result.of_type("STREAMS")[0]["streams"]]
    assert names == AnthropicMock.streams_with_data
