"""Run ``solidafy-cdk serve`` as a real subprocess on a free port and talk to it over HTTP.

Shared by the server's integration tests and ``bench/bench_server.py``; holds no tests itself.

    with ServerProcess("--auth-token", "t") as srv:
        requests.get(srv.url + "/health")
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from typing import Any

import requests

from integration_tests.helpers import cli_path

DEMO_TOKEN = "demo-secret-token"


class ServerProcess:
    """``solidafy-cdk serve --port 0 --format json ARGS``; the first stdout line says where it listens.

    The mock APIs and databases of the tests listen on 127.0.0.1, so the server is started with
    ``--allow-private-networks`` unless ``private_networks=False`` (the default a real server has).
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None, token: str | None = None,
                 private_networks: bool = True) -> None:
        self.args = ("--allow-private-networks", *args) if private_networks else args
        self.env = {k: v for k, v in os.environ.items() if k != "SOLIDAFY_API_TOKEN"}
        self.env.update(env or {})
        self.token = token
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - read after the server stops

    def start(self) -> ServerProcess:
        cmd = [cli_path(), "serve", "--port", "0", "--format", "json", *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     env=self.env, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"serve did not start (rc {self.proc.returncode}): {self.stderr()}")
        self.url = json.loads(line)["url"]
        return self

    def headers(self, **extra: str) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**auth, **extra}

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers(**kw.pop("headers", {})), timeout=120, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        headers = self.headers(**kw.pop("headers", {}))
        if body is not None and "data" not in kw:
            kw["json"] = body
        return requests.post(self.url + path, headers=headers, timeout=120, **kw)

    def stderr(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_config(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"api_key": DEMO_TOKEN, "base_url": base_url, "start_date": "2024-01-01T00:00:00Z", **extra}


class GatedDemoApi:
    """The demo API behind a MockServer, whose pages after the first wait for ``gate``.

    A test that sets the gate only after it has *received* records proves the server streams: a server
    that buffered the whole sync would never deliver the first page, and the mock gives up (a 599 the
    sync reports) instead of hanging the test.
    """

    def __init__(self, data: dict[str, list[dict[str, Any]]], wait_secs: float = 30.0) -> None:
        import threading

        from source_solidafy.demo_api import DemoApi

        self.api = DemoApi(data)
        self.gate = threading.Event()
        self.wait_secs = wait_secs
        self.pages = 0
        self._lock = threading.Lock()

    def handler(self, req: Any) -> Any:
        from integration_tests.mocks.server import Response

        if req.header("Authorization") != f"Bearer {DEMO_TOKEN}":
            return Response.json({"error": {"type": "unauthorized", "message": "invalid or missing API key"}}, 401)
        if req.arg("cursor") and not self.gate.wait(self.wait_secs):
            return Response.json({"error": {"type": "gate", "message": "the client never saw page 1"}}, 599)
        with self._lock:
            self.pages += 1
        status, body = self.api.answer(req.path, {k: v[-1] for k, v in req.query.items()})
        return Response.json(body, status)
