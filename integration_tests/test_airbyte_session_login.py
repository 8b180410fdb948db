"""Airbyte SessionTokenAuthenticator logins (lowcode/session.py) through the real CLI, against the mock of the
differential cases session_form and session_query: the credentials go to the login only, the token to the
API only, and neither is ever in what the connector prints, whether the login works or is refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from integration_tests.airbyte_diff import Case
from integration_tests.helpers import run_cli
from integration_tests.mocks.manifest_api import ManifestApi
from integration_tests.mocks.server import MockServer

CREDENTIALS = ("s3cret pass&=", "s3cret+pass%26%3D", "app sec")


def _read(tmp_path: Path, name: str, api_changes: dict[str, Any]) -> tuple[Any, list[dict[str, Any]], str]:
    case = Case.load(name)
    spec = case.api(dt.date.today())
    spec["auth"] = {**spec["auth"], **api_changes}
    spec["log_headers"] = ["X-App-Id", "Authorization", "X-Session"]
    api = ManifestApi(spec)
    with MockServer(api) as server:
        manifest, config, catalog = case.prepare(tmp_path, server.url, dt.date.today())
        ours = tmp_path / "config_ours.json"
        ours.write_text(json.dumps({**json.loads(config.read_text()), "connector": str(manifest)}))
        res = run_cli("read", "--config", str(ours), "--catalog", str(catalog), script="source-solidafy",
                      timeout=300, cwd=str(tmp_path))
    return res, api.log, res.stdout + res.stderr


@pytest.mark.parametrize(("name", "each"), [("session_form", 1), ("session_query", 2), ("session_header", 6)])
def test_credentials_go_to_the_login_only_and_the_token_to_the_api_only(tmp_path: Path, name: str, each: int) -> None:
    res, log, output = _read(tmp_path, name, {})
    assert res.rc == 0, output[-2000:]
    logins = [r for r in log if r["path"] == "/auth/login"]
    api = [r for r in log if r["path"] == "/v1/tickets"]
    assert len(api) == 3 and len(logins) == 3 * each  # no expiration_duration: the CDK's logins per request
    assert all("s3cret pass&=" in json.dumps(login) for login in logins)
    for n, request in enumerate(api, 1):
        text = json.dumps(request)
        assert not any(secret in text for secret in CREDENTIALS) and "X-App-Id" not in request["headers"]
        assert f"at-{n * each}" in text  # the last token, in the query (form) or a header
    assert not any(secret in output for secret in CREDENTIALS) and "at-" not in output


@pytest.mark.parametrize("name", ["session_form", "session_query"])
def test_a_refused_login_fails_the_sync_without_printing_the_credentials(tmp_path: Path, name: str) -> None:
    res, log, output = _read(tmp_path, name, {"password": "another"})
    assert res.rc != 0
    assert [r["path"] for r in log] == ["/auth/login"]
    assert "/auth/login" in output and "401" in output
    assert not any(secret in output for secret in CREDENTIALS)
