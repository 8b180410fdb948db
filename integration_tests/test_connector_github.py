"""The built-in `github` connector (alias github-billing) against a mock of the GitHub REST API.

One full read of every stream, with a primary (403, x-ratelimit-remaining 0) and a secondary (429,
retry-after) rate limit armed mid-sync, backs most assertions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_secrets_hidden,
    assert_usage_error,
    final_state,
    header_values,
    requests_to,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.github import ORG, TOKEN, GitHubMock
from integration_tests.mocks.server import MockServer, Request

GITHUB = Connector("github")


def _calls(srv: MockServer, rest: str) -> list[Request]:
    return requests_to(srv, f"/orgs/{ORG}/{rest}")


@pytest.fixture(scope="module")
def full() -> FullRead:
    return full_read_of("github")  # the contract's read (connector_contract.py), faults armed there


def test_lists_follow_link_next_until_it_is_gone(full: FullRead) -> None:
    _, srv, _ = full
    for rest, pages in (("members", ["1", "2", "3"]), ("copilot/billing/seats", ["1", "2", "3"]), ("repos", ["1", "2"])):
        calls = _calls(srv, rest)
        assert sorted({r.arg("page") or "1" for r in calls}) == pages, rest
        assert {r.arg("per_page") for r in calls} == {"100"}, rest
    repos = _calls(srv, "repos")
    assert {(r.arg("type"), r.arg("sort"), r.arg("direction")) for r in repos} == {("all", "created", "asc")}


def test_primary_and_secondary_rate_limits_are_waited_out(full: FullRead) -> None:
    mock, srv, result = full
    assert sorted(mock.faults.served) == [f"/orgs/{ORG}/copilot/billing/seats", f"/orgs/{ORG}/members"]
    assert len(_calls(srv, "members")) == 3 + 1
    assert len(_calls(srv, "copilot/billing/seats")) == 3 + 1
    assert len(result.records("org_members")) == 250 and len(result.records("copilot_seats")) == 210


def test_headers_on_every_request(full: FullRead) -> None:
    _, srv, result = full
    assert header_values(srv, "Authorization") == {f"Bearer {TOKEN}"}
    assert header_values(srv, "X-GitHub-Api-Version") == {"2022-11-28"}
    assert header_values(srv, "Accept") == {"application/vnd.github+json"}
    assert all(r.header("User-Agent") for r in srv.requests)
    assert_secrets_hidden(result, TOKEN)


def test_enhanced_billing_uses_the_organizations_prefix(full: FullRead) -> None:
    _, srv, result = full
    assert [r.path for r in srv.requests if "billing/usage" in r.path] == [f"/organizations/{ORG}/settings/billing/usage"]
    assert {r["product"] for r in result.records("actions_usage")} == {"Actions", "Packages", "Copilot"}


def test_final_state_is_the_newest_repo_update(full: FullRead) -> None:
    mock, _, result = full
    assert final_state(result)["streams"]["org_repos"]["cursor"] == max(r["updated_at"] for r in mock.repos)


def test_repos_second_run_keeps_only_updated_ones(tmp_path: Path) -> None:
    mock = GitHubMock()
    state_file = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        first = GITHUB.read(mock.config(srv.url), ["org_repos"], "--state", str(state_file))
        assert first.rc == 0, first.stderr[-3000:]
        newest = max(r["updated_at"] for r in mock.repos)
        assert final_state(first)["streams"]["org_repos"]["cursor"] == newest
        for i, day in ((5, "03"), (17, "22"), (101, "09")):
            mock.repos[i]["updated_at"] = f"2026-01-{day}T00:00:00Z"
        second = GITHUB.read(mock.config(srv.url), ["org_repos"], "--state", str(state_file))
    assert second.rc == 0, second.stderr[-3000:]
    got = sorted(r["id"] for r in second.records("org_repos"))
    assert got == sorted(r["id"] for r in mock.expected_records("org_repos", newest))
    assert len(got) == 4  # the boundary repository again + the three updated ones
    assert final_state(second)["streams"]["org_repos"]["cursor"] == "2026-01-22T00:00:00Z"


def test_malformed_org_is_one_clear_error() -> None:
    config = {**GitHubMock().config("http://127.0.0.1:9"), "org": "https://github.com/octo-org"}
    assert_usage_error(GITHUB.read(config, ["org_members"]), "'org'")
