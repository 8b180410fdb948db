"""The image's ENTRYPOINT is ``source-solidafy``; ``docker run IMAGE serve --host 0.0.0.0`` must reach
the HTTP server through it. Here the same console script serves on 127.0.0.1 (no Docker)."""

from __future__ import annotations

import json
import subprocess

import requests

from integration_tests.helpers import cli_path


def test_source_solidafy_serve_answers_health() -> None:
    proc = subprocess.Popen(
        [cli_path("source-solidafy"), "serve", "--host", "127.0.0.1", "--port", "0", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        listening = json.loads(line)
        url = listening.get("url") or f"http://127.0.0.1:{listening['port']}"
        health = requests.get(f"{url}/health", timeout=10)
        assert health.status_code == 200, health.text
        connectors = requests.get(f"{url}/connectors", timeout=30).json()
        assert "demo" in json.dumps(connectors)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
