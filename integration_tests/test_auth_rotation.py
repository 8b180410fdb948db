"""Rotating refresh tokens, end to end: the token endpoint answers a new refresh token and revokes the
old one (Salesforce with rotation on, HubSpot-style OAuth apps), so the second sync works only if the
first one kept the new token. Every front door: the CLI rewrites ``--config FILE``, the Airbyte flavour
emits the CONTROL message, POST /sync answers the updated config, the Python API returns it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airbyte_protocol.models import AirbyteMessage

import source_solidafy as ss
from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.hubspot import HubSpotMock
from integration_tests.mocks.salesforce import REFRESH_TOKEN, SalesforceMock
from integration_tests.mocks.server import MockServer
from integration_tests.test_server_support import ServerProcess
from source_solidafy.protocol import expand


def _salesforce_read(config_file: Path, *extra: str) -> Result:
    return run_cli("read", "-c", "salesforce", "--config", str(config_file), "--streams", "users", *extra)


def _refresh_tokens_sent(srv: MockServer, path: str) -> list[str | None]:
    return [r.form().get("refresh_token") for r in srv.requests if r.path == path]


def test_cli_saves_the_rotated_refresh_token_and_the_second_sync_uses_it(tmp_path: Path) -> None:
    mock = SalesforceMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv:
        config = {**mock.config(srv.url), "note": "kept as written"}
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        stale = tmp_path / "stale.json"
        stale.write_text(json.dumps(config))

        first = _salesforce_read(config_file)
        assert first.rc == 0, first.stderr
        assert len(first.records("users")) == 12
        rotated = mock.refresh_token
        assert rotated != REFRESH_TOKEN
        saved = json.loads(config_file.read_text())
        assert saved == {**config, "refresh_token": rotated}, "only the refresh token changed"
        assert f"{config_file}: saved the new refresh_token" in first.stderr
        for out in (first.stdout, first.stderr):
            assert rotated not in out and REFRESH_TOKEN not in out

        second = _salesforce_read(config_file)
        assert second.rc == 0, second.stdout[-1500:]
        assert len(second.records("users")) == 12
        assert _refresh_tokens_sent(srv, "/services/oauth2/token") == [REFRESH_TOKEN, rotated]
        assert json.loads(config_file.read_text())["refresh_token"] == mock.refresh_token != rotated

        # what the second sync would have done without the saved token: refused, loudly
        refused = _salesforce_read(stale)
    assert refused.rc == 1
    assert "invalid_grant" in refused.summary["streams"][0]["error"]


def test_cli_without_rotation_leaves_the_config_file_alone(tmp_path: Path) -> None:
    mock = SalesforceMock()
    with MockServer(mock.handler) as srv:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(mock.config(srv.url)))
        before = config_file.stat()
        res = _salesforce_read(config_file)
    assert res.rc == 0, res.stderr
    assert "saved" not in res.stderr
    assert (config_file.stat().st_ino, config_file.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_cli_check_saves_the_rotated_token_too(tmp_path: Path) -> None:
    mock = SalesforceMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(mock.config(srv.url)))
        check = run_cli("check", "-c", "salesforce", "--config", str(config_file))
        assert check.rc == 0 and check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED"
        assert json.loads(config_file.read_text())["refresh_token"] == mock.refresh_token != REFRESH_TOKEN
        again = _salesforce_read(config_file)
    assert again.rc == 0, again.stdout[-1500:]


def test_read_plan_saves_the_rotated_token_and_prints_no_config(tmp_path: Path) -> None:
    mock = SalesforceMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(mock.config(srv.url)))
        plan_file = tmp_path / "plan.jsonl"
        made = run_cli("plan", "-c", "salesforce", "--config", str(config_file), "--streams", "users",
                       "-o", str(plan_file))
        assert made.rc == 0, made.stderr
        res = run_cli("read", "-c", "salesforce", "--config", str(config_file), "--plan", str(plan_file),
                      "--shard", "0/1", "-o", str(tmp_path / "out"))
    assert res.rc == 0, res.stdout[-1500:]
    assert json.loads(config_file.read_text())["refresh_token"] == mock.refresh_token != REFRESH_TOKEN
    assert "saved the new refresh_token" in res.stderr
    assert mock.refresh_token not in res.stdout and "CONTROL" not in res.stdout


def test_cli_inline_config_warns_that_the_new_token_is_not_kept() -> None:
    mock = SalesforceMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv:
        res = run_cli("read", "-c", "salesforce", "--config-json", json.dumps(mock.config(srv.url)),
                      "--streams", "users")
    assert res.rc == 0, res.stderr
    assert "warning: the token endpoint rotated refresh_token" in res.stderr and "--config FILE" in res.stderr
    assert mock.refresh_token not in res.stdout + res.stderr


def _hubspot_catalog(tmp_path: Path) -> Path:
    stream = {"name": "owners", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}
    catalog = {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def test_airbyte_flavour_emits_the_control_message_with_the_whole_config(tmp_path: Path) -> None:
    mock = HubSpotMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv:
        config = {"connector": "hubspot", **mock.oauth_config(srv.url)}
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        catalog = _hubspot_catalog(tmp_path)
        first = run_cli("read", "--config", str(config_file), "--catalog", str(catalog), script="source-solidafy")
        assert first.rc == 0, first.stderr
        controls = first.of_type("CONTROL")
        assert len(controls) == 1
        message = AirbyteMessage.model_validate(controls[0])  # the protocol's own model accepts it
        assert message.control is not None and message.control.type.value == "CONNECTOR_CONFIG"
        updated = controls[0]["control"]["connectorConfig"]["config"]
        assert updated == {**config, "refresh_token": mock.refresh_token}
        assert first.messages.index(controls[0]) < first.messages.index(first.of_type("RECORD")[0])
        # the platform stores the CONTROL config and passes it to the next sync
        config_file.write_text(json.dumps(updated))
        second = run_cli("read", "--config", str(config_file), "--catalog", str(catalog), script="source-solidafy")
    assert second.rc == 0, second.stdout[-1500:]
    assert second.of_type("RECORD")


def test_airbyte_check_emits_the_control_message_before_the_status(tmp_path: Path) -> None:
    mock = HubSpotMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps({"connector": "hubspot", **mock.oauth_config(srv.url)}))
        res = run_cli("check", "--config", str(config_file), script="source-solidafy")
    assert res.rc == 0, res.stderr
    assert [m["type"] for m in res.messages] == ["CONTROL", "CONNECTION_STATUS"]
    for line in res.messages:
        AirbyteMessage.model_validate(line)
    assert res.messages[0]["control"]["connectorConfig"]["config"]["refresh_token"] == mock.refresh_token
    assert mock.refresh_token not in res.stderr


def test_server_sync_answers_the_updated_config() -> None:
    mock = HubSpotMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv, ServerProcess() as server:
        body: dict[str, Any] = {"connector": "hubspot", "config": mock.oauth_config(srv.url), "streams": ["owners"]}
        first = server.post("/sync", body).json()["data"]["result"]
        assert first["status"] == "SUCCEEDED"
        assert first["config"] == {**body["config"], "refresh_token": mock.refresh_token}
        second = server.post("/sync", {**body, "config": first["config"]}).json()["data"]["result"]
        assert second["status"] == "SUCCEEDED" and second["config"]["refresh_token"] == mock.refresh_token
        stale = server.post("/sync", body)
    assert stale.status_code == 502, stale.text
    assert "missing or unknown refresh token" in stale.json()["error"]["message"]


def test_server_check_answers_the_updated_config_too() -> None:
    mock = HubSpotMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv, ServerProcess() as server:
        body: dict[str, Any] = {"connector": "hubspot", "config": mock.oauth_config(srv.url)}
        checked = server.post("/check", body).json()["data"]
        assert checked["connectionStatus"]["status"] == "SUCCEEDED"
        assert checked["config"] == {**body["config"], "refresh_token": mock.refresh_token}
        synced = server.post("/sync", {**body, "config": checked["config"], "streams": ["owners"]}).json()
    assert synced["data"]["result"]["status"] == "SUCCEEDED"


def test_python_api_returns_the_updated_config() -> None:
    mock = HubSpotMock(rotate_refresh_tokens=True)
    with MockServer(mock.handler) as srv:
        config = mock.oauth_config(srv.url)
        result = ss.sync("hubspot", config, streams=["owners"])
        assert result["status"] == "SUCCEEDED" and result["config"]["refresh_token"] == mock.refresh_token
        run = ss.prepare_sync("hubspot", result["config"], streams=["owners"])
        messages = [m for chunk in run for m in expand(chunk)]
    assert run.updated_config == {**config, "refresh_token": mock.refresh_token}
    assert [m["control"]["connectorConfig"]["config"] for m in messages if m["type"] == "CONTROL"] == [
        run.updated_config]
    assert config["refresh_token"] != mock.refresh_token, "the caller's config is never changed in place"
