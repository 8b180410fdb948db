"""The built-in `openai` connector (alias openai-billing) against a mock of the Admin usage/costs API.

One full read of every stream (one 429 armed mid-sync) backs most assertions; wrong key, costs
paging over a long window and incremental runs are separate subprocesses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.openai import ADMIN_KEY, DAY, NOW, T0, OpenAIMock
from integration_tests.mocks.server import MockServer, Request

CONNECTOR = "openai"
YAML_PATH = Path(__file__).resolve().parent.parent / "connectors" / "openai.yaml"
USAGE = "/v1/organization/usage/completions"


def _schemas() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(YAML_PATH.read_text())
    return {s["name"]: s["schema"] for s in doc["streams"]}


def _primary_keys() -> dict[str, list[str]]:
    doc = yaml.safe_load(YAML_PATH.read_text())
    return {s["name"]: [s["primary_key"]] if isinstance(s["primary_key"], str) else s["primary_key"]
            for s in doc["streams"]}


def _read(config: dict[str, Any], streams: list[str], *extra: str, connector: str = CONNECTOR) -> Result:
    return run_cli("read", "--connector", connector, "--config-json", json.dumps(config),
                   "--streams", ",".join(streams), *extra)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]["streams"]


def _calls(srv: MockServer, path: str, group_by: str | None = None) -> list[Request]:
    return [r for r in srv.requests if r.path == path and r.arg("group_by") == group_by]


def _key(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True)


@pytest.fixture(scope="module")
def full() -> Any:
    mock = OpenAIMock()
    mock.inject_429("/v1/organization/usage/embeddings", after=2)
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
    keys = _primary_keys()
    for stream in mock.streams_with_data:
        values = [tuple(r[k] for k in keys[stream]) for r in result.records(stream)]
        assert len(values) == len(set(values)), stream


def test_buckets_page_with_next_page_until_has_more_false(full: Any) -> None:
    _, srv, _ = full
    calls = _calls(srv, USAGE, "model")
    assert len(calls) == 4  # 100 daily buckets, 31 per page: the 4th page says has_more false
    assert {r.arg("limit") for r in calls} == {"31"}
    assert {r.arg("bucket_width") for r in calls} == {"1d"}
    assert {r.arg("start_time") for r in calls} == {str(T0)}
    assert calls[0].arg("page") is None and all(r.arg("page") for r in calls[1:])
    assert len({r.arg("page") for r in calls[1:]}) == 3


def test_group_by_sent_as_plain_repeated_key(full: Any) -> None:
    _, srv, _ = full
    assert _calls(srv, "/v1/organization/costs", "line_item")
    assert _calls(srv, "/v1/organization/usage/completions", "project_id")
    assert not [r for r in srv.requests if any(k.startswith("group_by[") for k in r.query)]


def test_one_429_mid_sync_is_retried(full: Any) -> None:
    mock, srv, result = full
    assert mock.served_429 == ["/v1/organization/usage/embeddings"]
    calls = [r for r in srv.requests if r.path == "/v1/organization/usage/embeddings"]
    assert len(calls) == 4 + 4 + 1  # two streams of 4 pages, one page asked again after the 429
    assert len(result.records("usage_embeddings")) == len(mock.expected_records("usage_embeddings"))


def test_auth_header_on_every_request(full: Any) -> None:
    _, srv, result = full
    assert {r.header("Authorization") for r in srv.requests} == {f"Bearer {ADMIN_KEY}"}
    assert ADMIN_KEY not in result.stdout and ADMIN_KEY not in result.stderr


def test_projects_include_archived(full: Any) -> None:
    _, srv, result = full
    assert {r.arg("include_archived") for r in srv.requests if r.path == "/v1/organization/projects"} == {"true"}
    assert "archived" in {r["status"] for r in result.records("projects")}


def test_users_follow_after_last_id(full: Any) -> None:
    mock, srv, _ = full
    afters = [r.arg("after") for r in srv.requests if r.path == "/v1/organization/users"]
    assert afters == [None, mock.users[99]["id"], mock.users[199]["id"]]


def test_final_state_is_the_newest_bucket(full: Any) -> None:
    mock, _, result = full
    state = _final_state(result)
    for stream in mock.streams_with_data:
        if mock.cursor_field(stream):
            assert state[stream]["cursor"] == max(r["start_time"] for r in mock.expected_records(stream)), stream


def test_every_record_matches_declared_schema(full: Any) -> None:
    mock, _, result = full
    schemas = _schemas()
    for stream in mock.streams_with_data:
        validator = jsonschema.Draft7Validator(schemas[stream])
        for rec in result.records(stream):
            validator.validate(rec)


def test_costs_page_over_a_long_window() -> None:
    mock = OpenAIMock()
    start = T0 - 300 * DAY  # 400 daily buckets: 180 + 180 + 40
    with MockServer(mock.handler) as srv:
        result = _read({**mock.config(srv.url), "start_time": str(start)}, ["costs_by_project"])
    assert result.rc == 0, result.stderr[-3000:]
    calls = _calls(srv, "/v1/organization/costs", "project_id")
    assert len(calls) == 3 and {r.arg("limit") for r in calls} == {"180"}
    want = mock.expected_records("costs_by_project", start_time=start)
    assert sorted(map(_key, result.records("costs_by_project"))) == sorted(map(_key, want))


def test_wrong_key_fails_the_stream() -> None:
    mock = OpenAIMock()
    with MockServer(mock.handler) as srv:
        result = _read({**mock.config(srv.url), "admin_api_key": "sk-admin-wrongwrongwrong"}, ["costs"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    assert srv.requests[0].header("Authorization") == "Bearer sk-admin-wrongwrongwrong"
    assert "sk-admin-wrongwrongwrong" not in result.stdout + result.stderr


def test_incremental_second_run_starts_at_the_newest_bucket(tmp_path: Path) -> None:
    mock = OpenAIMock()
    state_file = tmp_path / "state.json"
    streams = ["usage_completions_by_model", "costs"]
    with MockServer(mock.handler) as srv:
        config = mock.config(srv.url)
        first = _read(config, streams, "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        newest = NOW - DAY
        assert {_final_state(first)[s]["cursor"] for s in streams} == {newest}
        mock.now = NOW + 2 * DAY  # two more days of usage
        srv.requests.clear()
        second = _read(config, streams, "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    assert {r.arg("start_time") for r in _calls(srv, USAGE, "model")} == {str(newest)}
    for stream in streams:
        want = mock.expected_records(stream, {"cursor": newest})
        assert sorted(map(_key, second.records(stream))) == sorted(map(_key, want)), stream
        assert {r["start_time"] for r in want} == {newest, NOW, NOW + DAY}
        assert _final_state(second)[stream]["cursor"] == NOW + DAY


def test_alias_openai_billing() -> None:
    result = run_cli("streams", "--connector", "openai-billing")
    assert result.rc == 0, result.stderr
    assert result.of_type("STREAMS")


def test_validate_builtin_yaml() -> None:
    result = run_cli("validate", str(YAML_PATH))
    assert result.rc == 0, result.stdout + result.stderr


def test_spec_offline() -> None:
    result = run_cli("spec", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    spec = result.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert sorted(spec["required"]) == ["admin_api_key", "start_time"]
    assert spec["properties"]["admin_api_key"]["airbyte_secret"] is True
    assert "sk-admin-" in spec["properties"]["admin_api_key"]["description"]
    assert "base_url" in spec["properties"]


def test_streams_offline() -> None:
    result = run_cli("streams", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    names = [n if isinstance(n, str) else n["name"] for n in result.of_type("STREAMS")[0]["streams"]]
    assert names == OpenAIMock.streams_with_data
