"""``check`` when the API never answers: CONNECTION_STATUS FAILED (exit 0), like a 401 or a 500.

Airbyte's standard tests expect a failed check to be a CONNECTION_STATUS, not a crash: a refused
connection, a host that does not resolve and a timeout are all answers to "can we connect?". Both
front doors (``solidafy-cdk check`` and ``source-solidafy check --config``) run as subprocesses;
the message is one line naming what failed and the URL, with the API key redacted from it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.acceptance.runner import airbyte
from integration_tests.helpers import run_cli
from integration_tests.mocks.server import MockServer, Request, Response

SECRET = "sk_check_secret_4242"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connector(tmp_path: Path, base_url: str, with_check: bool) -> str:
    """Auth in the query string, so the URL in any message would carry the key if not redacted."""
    path = tmp_path / "unreachable.yaml"
    check = "check: {path: /ping}\n" if with_check else ""
    path.write_text(
        "name: unreachable\n"
        f"base_url: {base_url}\n"
        "auth: {type: api_key, key: api_key, value: '{{ config.api_key }}', location: query}\n"
        "http: {max_retries: 1, backoff: constant, backoff_base_secs: 0.01, timeout_secs: 0.3}\n"
        f"{check}"
        "streams:\n  - name: things\n    request: {path: /things}\n"
    )
    return str(path)


@pytest.fixture(scope="module")
def slow_api() -> Iterator[MockServer]:
    """Answers only after far longer than the connector's 0.3 s timeout."""

    def handler(req: Request) -> Response:
        return Response(200, b"{}", {"Content-Type": "application/json"}, delay=3.0)

    with MockServer(handler) as srv:
        yield srv


def _base_url(kind: str, slow_api: MockServer) -> str:
    if kind == "refused":
        return f"http://127.0.0.1:{_closed_port()}/v1"
    if kind == "unknown_host":
        return "http://solidafy-no-such-host.invalid/v1"
    return f"{slow_api.url}/v1"


EXPECTED = {
    "refused": "connection failed ([Errno 111] Connection refused) from GET",
    "unknown_host": "cannot resolve host 'solidafy-no-such-host.invalid' for GET",
    "timeout": "timeout after 0.3s from GET",
}


def _assert_failed_line(message: str, kind: str) -> None:
    assert EXPECTED[kind] in message, message
    assert "\n" not in message and SECRET not in message and "Traceback" not in message, message


@pytest.mark.parametrize("with_check", [True, False], ids=["check_block", "first_stream"])
@pytest.mark.parametrize("kind", ["refused", "unknown_host", "timeout"])
def test_solidafy_check_reports_failed(tmp_path: Path, slow_api: MockServer, kind: str, with_check: bool) -> None:
    conn = _connector(tmp_path, _base_url(kind, slow_api), with_check)
    res = run_cli("check", "--connector", conn, "--config-json", json.dumps({"api_key": SECRET}))
    assert res.rc == 0, (res.rc, res.stdout, res.stderr)
    assert SECRET not in res.stdout + res.stderr
    (status,) = [m["connectionStatus"] for m in res.messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED", status
    _assert_failed_line(status["message"], kind)


@pytest.mark.parametrize("kind", ["refused", "unknown_host", "timeout"])
def test_airbyte_check_reports_failed(tmp_path: Path, slow_api: MockServer, kind: str) -> None:
    conn = _connector(tmp_path, _base_url(kind, slow_api), with_check=False)
    run = airbyte("check", config={"connector": conn, "api_key": SECRET})
    assert run.rc == 0 and not run.problems, run.describe()
    assert not run.errors(), run.describe()
    assert SECRET not in run.stdout + run.stderr
    (status,) = [m["connectionStatus"] for m in run.of_type("CONNECTION_STATUS")]
    assert status["status"] == "FAILED", run.describe()
    _assert_failed_line(status["message"], kind)
