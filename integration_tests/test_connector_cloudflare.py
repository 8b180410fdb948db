"""The built-in `cloudflare` connector (alias cloudflare-billing) against a mock of API v4.

Cloudflare's billing endpoints cannot filter by time, so there is no incremental request to test:
a second sync with the first one's state must still return the full snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.cloudflare import ACCOUNT_ID, API_TOKEN, CloudflareMock
from integration_tests.mocks.server import MockServer

CONNECTOR = "cloudflare"
YAML_PATH = Path(__file__).resolve().parent.parent / "connectors" / "cloudflare.yaml"


def _read(config: dict[str, Any], streams: list[str], *extra: str) -> Result:
    return run_cli("read", "--connector", CONNECTOR, "--config-json", json.dumps(config),
                   "--streams", ",".join(streams), *extra)


def _key(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True)


@pytest.fixture(scope="module")
def full() -> Any:
    mock = CloudflareMock()
    mock.inject_429("/client/v4/accounts", after=2)
    with MockServer(mock.handler) as srv:
        result = _read(mock.config(srv.url), ["accounts", "account", "billing_profile", "subscriptions"])
        yield mock, srv, result


def test_full_read_succeeds(full: Any) -> None:
    mock, _, result = full
    assert result.rc == 0, result.stderr[-3000:]
    assert result.summary["status"] == "SUCCEEDED"
    assert {s["stream"]: s["status"] for s in result.summary["streams"]} == dict.fromkeys(
        mock.streams_with_data, "SUCCESS")


def test_exact_records_from_the_result_envelope(full: Any) -> None:
    mock, _, result = full
    for stream in mock.streams_with_data:
        got = sorted(map(_key, result.records(stream)))
        want = sorted(map(_key, mock.expected_records(stream)))
        assert len(got) == len(want), stream
        assert got == want, stream
    assert [r["id"] for r in result.records("account")] == [ACCOUNT_ID]


def test_accounts_pages_stop_at_total_pages(full: Any) -> None:
    _, srv, _ = full
    calls = [r for r in srv.requests if r.path == "/client/v4/accounts"]
    ok_pages = [r.arg("page") for r in calls]
    assert sorted(set(ok_pages)) == ["1", "2", "3"]  # 150 accounts, 3 full pages: no 4th request
    assert {r.arg("per_page") for r in calls} == {"50"}


def test_one_429_mid_sync_is_retried(full: Any) -> None:
    mock, srv, result = full
    assert len(mock.served_429) == 1
    paths = [r.path + "?" + (r.arg("page") or "") for r in srv.requests if r.path.startswith("/client/v4/accounts")]
    assert len(paths) == len(set(paths)) + 1  # exactly one request asked again
    assert len(result.records("accounts")) == 150


def test_auth_header_on_every_request(full: Any) -> None:
    _, srv, result = full
    assert {r.header("Authorization") for r in srv.requests} == {f"Bearer {API_TOKEN}"}
    assert API_TOKEN not in result.stdout and API_TOKEN not in result.stderr


def test_every_record_matches_declared_schema(full: Any) -> None:
    mock, _, result = full
    schemas = {s["name"]: s["schema"] for s in yaml.safe_load(YAML_PATH.read_text())["streams"]}
    for stream in mock.streams_with_data:
        validator = jsonschema.Draft7Validator(schemas[stream])
        for rec in result.records(stream):
            validator.validate(rec)


def test_wrong_token_fails_the_stream() -> None:
    mock = CloudflareMock()
    with MockServer(mock.handler) as srv:
        result = _read({**mock.config(srv.url), "api_token": "wrongTokenwrongToken1234"}, ["subscriptions"])
    assert result.rc == 1
    assert result.summary["status"] == "FAILED"
    assert result.summary["streams"][0]["status"] == "FAILED"
    assert srv.requests[0].header("Authorization") == "Bearer wrongTokenwrongToken1234"
    assert "wrongTokenwrongToken1234" not in result.stdout + result.stderr


def test_malformed_account_id_is_one_clear_error() -> None:
    config = {**CloudflareMock().config("http://127.0.0.1:9"), "account_id": "my-account"}
    result = _read(config, ["account"])
    assert result.rc == 2
    assert "account_id" in result.stderr and "32 hexadecimal" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_sync_is_a_full_snapshot_again(tmp_path: Path) -> None:
    mock = CloudflareMock()
    state = tmp_path / "state.json"
    with MockServer(mock.handler) as srv:
        first = _read(mock.config(srv.url), ["subscriptions", "account"], "--state", str(state))
        second = _read(mock.config(srv.url), ["subscriptions", "account"], "--state", str(state))
    assert first.rc == 0 and second.rc == 0, second.stderr[-3000:]
    for stream in ("subscriptions", "account"):
        assert len(second.records(stream)) == len(mock.expected_records(stream))


def test_alias_cloudflare_billing() -> None:
    result = run_cli("streams", "--connector", "cloudflare-billing")
    assert result.rc == 0, result.stderr
    assert result.of_type("STREAMS")


def test_validate_builtin_yaml() -> None:
    result = run_cli("validate", str(YAML_PATH))
    assert result.rc == 0, result.stdout + result.stderr


def test_spec_offline() -> None:
    result = run_cli("spec", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    spec = result.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert sorted(spec["required"]) == ["account_id", "api_token"]
    assert spec["properties"]["api_token"]["airbyte_secret"] is True
    assert "Billing" in spec["properties"]["api_token"]["description"]
    assert "base_url" in spec["properties"]


def test_streams_offline() -> None:
    result = run_cli("streams", "--connector", CONNECTOR)
    assert result.rc == 0, result.stderr
    names = [n if isinstance(n, str) else n["name"] for n in result.of_type("STREAMS")[0]["streams"]]
    assert names == CloudflareMock.streams_with_data
