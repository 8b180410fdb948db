"""The bearer token (missing, wrong, right), /health open, and refusing an exposed bind without one."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from integration_tests.helpers import run_cli
from integration_tests.test_server_support import ServerProcess

TOKEN = "s3rv3r-t0ken-for-tests"


@pytest.fixture(scope="module")
def srv() -> ServerProcess:
    with ServerProcess(env={"SOLIDAFY_API_TOKEN": TOKEN}) as s:
        yield s


def test_health_is_open(srv: ServerProcess) -> None:
    assert requests.get(srv.url + "/health", timeout=30).json()["status"] == "ok"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", TOKEN, f"Basic {TOKEN}", "Bearer "])
def test_missing_or_wrong_token_is_401(srv: ServerProcess, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for resp in (requests.get(srv.url + "/connectors", headers=headers, timeout=30),
                 requests.post(srv.url + "/check", json={"connector": "demo", "config": {}}, headers=headers, timeout=30)):
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "unauthorized"
        assert TOKEN not in resp.text


def test_right_token(srv: ServerProcess) -> None:
    resp = requests.get(srv.url + "/connectors", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert resp.status_code == 200 and resp.json()["success"] is True


def test_exposed_bind_without_token_refused() -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0", env={"SOLIDAFY_API_TOKEN": ""}, timeout=30)
    assert result.rc == 2
    assert result.stderr.strip().count("\n") == 0 and "auth token" in result.stderr
    assert "Traceback" not in result.stderr


def test_exposed_bind_with_token_starts() -> None:
    with ServerProcess("--host", "0.0.0.0", "--auth-token", TOKEN, token=TOKEN) as s:
        port = s.url.rsplit(":", 1)[1]
        local = f"http://127.0.0.1:{port}"
        assert requests.get(local + "/health", timeout=30).status_code == 200
        assert requests.get(local + "/connectors", timeout=30).status_code == 401
        assert TOKEN not in s.stderr()


def test_bad_port_and_busy_port_are_one_line_errors() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        for args in (("--port", "99999"), ("--port", port), ("--threads", "0")):
            result = run_cli("serve", *args, timeout=30)
            assert result.rc == 2, (args, result.stderr)
            assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error: serve")


def test_workers_share_the_port_and_stop_together() -> None:
    import psutil

    with ServerProcess("--workers", "2", "--threads", "2", env={"SOLIDAFY_API_TOKEN": TOKEN}, token=TOKEN) as s:
        assert s.proc is not None
        parent = psutil.Process(s.proc.pid)
        deadline = time.monotonic() + 30
        while len(parent.children()) < 2 and time.monotonic() < deadline:  # forked after the port is bound
            time.sleep(0.02)
        children = parent.children()
        assert len(children) == 2
        for _ in range(6):
            assert s.get("/connectors").status_code == 200
        assert s.stop() == 0
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
