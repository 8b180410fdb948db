"""Upstream error text is redacted first and cut second: a secret split by the cut would leak its start.

The hostile API echoes the request's Authorization header back in its 401 body, placed so that
the 200-character snippet ends in the middle of the token.
"""

from __future__ import annotations

import json

from integration_tests.helpers import Result, run_cli
from integration_tests.mocks.generic import connector, json_body
from integration_tests.mocks.server import MockServer, Request, Response
from integration_tests.test_server_support import ServerProcess

SECRET = "sk_live_SUPERSECRET_abc123"


def _echo(req: Request) -> Response:
    """401 with a body whose 200th character falls inside the echoed token."""
    text = f"invalid token; you sent Authorization: {req.header('Authorization')}"
    padding = "x" * (200 - text.index(SECRET) - 12)  # the cut keeps 12 characters of the token
    return Response(401, f"{padding}{text} (see the docs)", headers={"Content-Type": "text/plain"})


def _assert_no_part_of_the_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET[:10] not in text, text[-3000:]


def _cli(command: str, srv: MockServer) -> Result:
    config = json_body({"api_token": SECRET, "base_url": f"{srv.url}/v1"})
    return run_cli(command, "-c", connector("auth_bearer"), "--config-json", config)


def test_cli_check_and_read_redact_before_cutting() -> None:
    with MockServer(_echo) as srv:
        check, read = _cli("check", srv), _cli("read", srv)
    _assert_no_part_of_the_secret(check.stdout, check.stderr, read.stdout, read.stderr)
    status = [m for m in check.messages if m.get("type") == "CONNECTION_STATUS"][0]["connectionStatus"]
    assert status["status"] == "FAILED" and "Authorization: Bearer ***" in status["message"], status
    error = read.summary["streams"][0]["error"]
    assert "HTTP 401" in error and "Bearer ***" in error, error


def test_server_check_redacts_before_cutting() -> None:
    with MockServer(_echo) as api, ServerProcess() as srv:
        resp = srv.post("/check", {"connector": "demo", "config": {"api_key": SECRET, "base_url": f"{api.url}/v1"}})
        stderr = srv.stderr()
    _assert_no_part_of_the_secret(resp.text, stderr)
    status = resp.json()["data"]["connectionStatus"]
    assert status["status"] == "FAILED" and "Bearer ***" in status["message"], json.dumps(status)
