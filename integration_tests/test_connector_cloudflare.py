"""The built-in `cloudflare` connector (alias cloudflare-billing) against a mock of API v4.

Cloudflare's billing endpoints cannot filter by time, so there is no incremental request to test:
a second sync with the first one's state must still return the full snapshot.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_tests.connector_checks import (
    Connector,
    FullRead,
    assert_secrets_hidden,
    assert_usage_error,
    header_values,
    requests_to,
)
from integration_tests.connector_contract import full_read_of
from integration_tests.mocks.cloudflare import API_TOKEN, CloudflareMock
from integration_tests.mocks.server import MockServer

CLOUDFLARE = Connector("cloudflare")


@pytest.fixture(scope="module")
def full() -> FullRead:
    return full_read_of("cloudflare")  # the contract's read (connector_contract.py), faults armed there


def test_accounts_pages_stop_at_total_pages(full: FullRead) -> None:
    _, srv, _ = full
    calls = requests_to(srv, "/client/v4/accounts")
    ok_pages = [r.arg("page") for r in calls]
    assert sorted(set(ok_pages)) == ["1", "2", "3"]  # 150 accounts, 3 full pages: no 4th request
    assert {r.arg("per_page") for r in calls} == {"50"}


def test_one_429_mid_sync_is_retried(full: FullRead) -> None:
    mock, srv, result = full
    assert len(mock.faults.served) == 1
    paths = [r.path + "?" + (r.arg("page") or "") for r in srv.requests if r.path.startswith("/client/v4/accounts")]
    assert len(paths) == len(set(paths)) + 1  # exactly one request asked again
    assert len(result.records("accounts")) == 150


def test_auth_header_on_every_request(full: FullRead) -> None:
    _, srv, result = full
    assert header_values(srv, "Authorization") == {f"Bearer {API_TOKEN}"}
    assert_secrets_hidden(result, API_TOKEN)


def test_malformed_account_id_is_one_clear_error() -> None:
    config = {**CloudflareMock().config("http://127.0.0.1:9"), "account_id": "my-account"}
    assert_usage_error(CLOUDFLARE.read(config, ["account"]), "account_id", "32 hexadecimal")


def test_second_sync_is_a_full_snapshot_again(tmp_path: Path) -> None:
    mock = CloudflareMock()
    state = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        first = CLOUDFLARE.read(mock.config(srv.url), ["subscriptions", "account"], "--state", str(state))
        second = CLOUDFLARE.read(mock.config(srv.url), ["subscriptions", "account"], "--state", str(state))
    assert first.rc == 0 and second.rc == 0, second.stderr[-3000:]
    for stream in ("subscriptions", "account"):
        assert len(second.records(stream)) == len(mock.expected_records(stream))
