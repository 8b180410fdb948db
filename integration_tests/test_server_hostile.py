"""Hostile requests against the real ``solidafy-cdk serve`` process: the server is no way into the machine.

Each test is an attack that worked on an earlier version (see docs/security.md): reading the server's
files through custom YAML or the sqlite connector, reaching its private networks, driving it from a web
page, writing outside ``--output-root``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.test_server_support import ServerProcess

SECRET_MARKER = "server_private_value_7f3a"

SCHEMA_READER = """\
name: reader
base_url: http://127.0.0.1:9
streams:
  - name: items
    request:
      path: /items
    schema_file:{sep}{path}
"""


def err(resp, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]["message"]


@pytest.fixture(scope="module")
def custom() -> Iterator[ServerProcess]:
    with ServerProcess("--allow-custom-connectors") as s:
        yield s


@pytest.fixture
def private_file(tmp_path: Path) -> Path:
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"type": "object", "properties": {SECRET_MARKER: {"type": "string"}}}))
    return private


@pytest.mark.parametrize("sep", [" ", "\t", " \t", "\t\t"], ids=["space", "tab", "space-tab", "tabs"])
def test_custom_yaml_cannot_read_server_files(custom: ServerProcess, private_file: Path, sep: str) -> None:
    """A TAB after ``schema_file:`` once slipped past a second YAML parser and returned the file."""
    yaml_text = SCHEMA_READER.format(sep=sep, path=private_file)
    for endpoint in ("/discover", "/streams", "/check", "/sync"):
        resp = custom.post(endpoint, {"connector_yaml": yaml_text, "config": {}})
        message = err(resp, 422, "invalid_manifest")
        assert "schema_file" in message and "may not read files" in message, message
        assert SECRET_MARKER not in resp.text
