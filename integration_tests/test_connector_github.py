"""The built-in `github` connector (alias github-billing) against a mock of the GitHub REST API.

One full read of every stream, with a primary (403, x-ratelimit-remaining 0) and a secondary (429,
retry-after) rate limit armed mid-sync, backs most assertions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.github import ORG, TOKEN, GitHubMock
from integration_tests.mocks.server import MockServer, Request

CONNECTOR = "github"
YAML_PATH = Path(__file__).resolve().parent.parent / "connectors" / "github.yaml"


def _read(config: dict[str, Any], streams: list[str], *extra: str) -> Result:
    return run_cli("read", "--connector", CONNECTOR, "--config-json", json.dumps(config),
                   "--streams", ",".join(streams), *extra)


def _final_state(result: Result) -> dict[str, Any]:
    states = [m["state"] for m in result.of_type("STATE") if "streams" in m["state"]]
    assert states, result.stdout[-2000:]
    return states[-1]["streams"]


def _calls(srv: MockServer, rest: str) -> list[Request]:
    return [r for r in srv.requests if r.path == f"/orgs/{ORG}/{rest}"]


def _key(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True)


@pytest.fixture(scope="module")
def full() -> Any:
    mock = GitHubMock()
    mock.inject_429(f"/orgs/{ORG}/members", after=1, kind="primary")
    mock.inject_429(f"/orgs/{ORG}/copilot/billing/seats", after=1, retry_after="1")
    with MockServer(mock.handler) as srv:
        result = _read(mock.config(srv.url), mock.streams_with_data)
        yield mock, srv, result


def test_full_read_succeeds(full: Any) -> None:
    mock, _, result = full
    assert result.rc == 0, result.stderr[-3000:]
    assert result.summary["status"] == "SUCCEEDED"
    assert {s["stream"]: s["status"] for s in result.summary["streams"]} == dict.fromkeys(
        mock.streams_with_data, "SUCCESS")


def test_exact_records_per_stream(full: Any) -> None:
    mock, _, result = full
    for stream in mock.streams_with_data:
        got = sorted(map(_key, result.records(stream)))
        want = sorted(map(_key, mock.expected_records(stream)))
        assert len(got) == len(want), stream
        assert got == want, stream


def test_lists_follow_link_next_until_it_is_gone(full: Any) -> None:
    _, srv, _ = full
    for rest, pages in (("members", ["1", "2", "3"]), ("copilot/billing/seats", ["1", "2", "3"]), ("repos", ["1", "2"])):
        calls = _calls(srv, rest)
        assert sorted({r.arg("page") or "1" for r in calls}) == pages, rest
        assert {r.arg("per_page") for r in calls} == {"100"}, rest
    repos = _calls(srv, "repos")
    assert {(r.arg("type"), r.arg("sort"), r.arg("direction")) for r in repos} == {("all", "created", "asc")}


def test_primary_and_secondary_rate_limits_are_waited_out(full: Any) -> None:
    mock, srv, result = full
    assert sorted(mock.served_429) == [f"/orgs/{ORG}/copilot/billing/seats", f"/orgs/{ORG}/members"]
    assert len(_calls(srv, "members")) == 3 + 1
    assert len(_calls(srv, "copilot/billing/seats")) == 3 + 1
    assert len(result.records("org_members")) == 250 and len(result.records("copilot_seats")) == 210


def test_headers_on_every_request(full: Any) -> None:
    _, srv, result = full
    assert {r.header("Authorization") for r in srv.requests} == {f"Bearer {TOKEN}"}
    assert {r.header("X-GitHub-Api-Version") for r in srv.requests} == {"2022-11-28"}
    assert {r.header("Accept") for r in srv.requests} == {"application/vnd.github+json"}
    assert all(r.header("User-Agent") for r in srv.requests)
    assert TOKEN not in result.stdout and TOKEN not in result.stderr


def test_enhanced_billing_uses_the_organizations_prefix(full: Any) -> None:
    _, srv, result = full
    assert [r.path for r in srv.requests if "billing/usage" in r.path] == [f"/organizations/{ORG}/settings/billing/usage"]
    assert {r["product"] for r in result.records("actions_usage")} == {"Actions", "Packages", "Copilot"}


def test_final_state_is_the_newest_repo_update(full: Any) -> None:
    mock, _, result = full
    assert _final_state(result)["org_repos"]["cursor"] == max(r["updated_at"] for r in mock.repos)


def test_every_record_matches_declared_schema(full: Any) -> None:
    mock, _, result = full
    schemas = {s["name"]: s["schema"] for s in yaml.safe_load(YAML_PATH.read_text())["streams"]}
    for stream in mock.streams_with_data:
        validator = jsonschema.Draft7Validator(schemas[stream])
        for rec in result.records(stream):
            validator.validate(rec)


def test_wrong_token_fails_the_stream() -> None:
    mock = GitHubMock()
    with MockServer(mock.handler) as srv:
        result = _read({**mock.config(srv.url), "access_token": "ghp_wrongwrongwrongwrong"}, ["org_members"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    assert srv.requests[0].header("Authorization") == "Bearer ghp_wrongwrongwrongwrong"
    assert "ghp_wrongwrongwrongwrong" not in result.stdout + result.stderr


def test_repos_second_run_keeps_only_updated_ones(tmp_path: Path) -> None:
    mock = GitHubMock()
    state_file = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        first = _read(mock.config(srv.url), ["org_repos"], "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        newest = max(r["updated_at"] for r in mock.repos)
        assert _final_state(first)["org_repos"]["cursor"] == newest
        for i, day in ((5, "03"), (17, "22"), (101, "09")):
            mock.repos[i]["updated_at"] = f"2026-01-{day}T00:00:00Z"
        second = _read(mock.config(srv.url), ["org_repos"], "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    got = sorted(r["id"] for r in second.records("org_repos"))
    assert got == sorted(r["id"] for r in mock.expected_records("org_repos", newest))
    assert len(got) == 4  # the boundary repository again + the three updated ones
    assert _final_state(second)["org_repos"]["cursor"] == "2026-01-22T00:00:00Z"


def test_malformed_org_is_one_clear_error() -> None:
    config = {**GitHubMock().config("http://127.0.0.1:9"), "org": "https://github.com/octo-org"}
    result = _read(config, ["org_members"])
    assert result.rc == 2
    assert "'org'" in result.stderr and "Traceback" not in result.stderr


def test_alias_github_billing() -> None:
    result = run_cli("streams", "--connector", "github-billing")
    assert result.rc == 0, result.stderr
    assert result.of_type("STREAMS")


def test_validate_builtin_yaml() -> None:
    result = run_cli("validate", str(YAML_PATH))
    assert result.rc == 0, result.stdout + result.stderr


def test_spec_offline() -> None:
    result = run_cli("spec", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    spec = result.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert sorted(spec["required"]) == ["access_token", "org"]
    assert spec["properties"]["access_token"]["airbyte_secret"] is True
    assert "admin:org" in spec["properties"]["access_token"]["description"]
    assert "base_url" in spec["properties"]


def test_streams_offline() -> None:
    result = run_cli("streams", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    names = [n if isinstance(n, str) else n["name"] for n in result.of_type("STREAMS")[0]["streams"]]
    assert names == GitHubMock.streams_with_data
