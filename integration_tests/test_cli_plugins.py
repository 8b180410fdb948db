"""Plugins end to end: docs/plugin-example pip-installed as a separate package, used by a connector YAML.

The package is installed with pip into a temporary directory (``--target``; the test's virtualenv is
left as it is) that the CLI and the server find through PYTHONPATH, as any installed package: its
entry points (group ``source_solidafy.plugins``) name five plugins, one of each kind, which one
connector uses against a mock API over a socket. YAML mistakes in a plugin's options are
``file:line`` problems; the server refuses plugins unless started with ``--allow-plugins``.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_tests.helpers import run_cli
from integration_tests.mocks.generic import json_body
from integration_tests.mocks.server import MockServer, Request, Response

REPO = Path(__file__).resolve().parent.parent
SECRET = "s3cret-plugin-key"
SIGNATURE = hmac.new(SECRET.encode(), b"k1 /v1", hashlib.sha256).hexdigest()
PEOPLE = {0: [("p-1", "Ada", "ada@example.com")], 1: [("p-2", "Linus", "linus@example.com"),
                                                     ("p-3", "Grace", "grace@example.com")]}
EVENTS = [[{"id": "e-1", "card": "4242424242424242", "test": False}, {"id": "e-2", "card": "5555", "test": True}],
          [{"id": "e-3", "card": "4000056655665556", "test": False}]]


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin package, pip-installed into a directory of its own (found via PYTHONPATH)."""
    root = tmp_path_factory.mktemp("plugins")
    shutil.copytree(REPO / "docs" / "plugin-example", root / "src")  # pip builds in place: not in the work tree
    target = root / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                           str(root / "src")], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (target / "solidafy_example_plugins").is_dir()
    return target


def api(req: Request) -> Response:
    """A signed-key API: people as TSV per shard, events as JSON pages with a next page token."""
    if req.header("X-Key-Id") != "k1" or req.header("X-Signature") != SIGNATURE:
        return Response.json({"error": "bad signature"}, 401)
    if req.path == "/v1/people.tsv":
        rows = PEOPLE.get(int(req.arg("shard") or -1), [])
        return Response(body="id\tname\temail\n" + "".join("\t".join(r) + "\n" for r in rows),
                        headers={"Content-Type": "text/tab-separated-values"})
    if req.path == "/v1/events":
        page = int(req.arg("pageToken") or 0)
        body: dict[str, Any] = {"events": EVENTS[page]}
        if page + 1 < len(EVENTS):
            body["nextPageToken"] = str(page + 1)
        return Response.json(body)
    return Response.json({"error": "not found"}, 404)


CONNECTOR = {
    "name": "plugged", "base_url": "https://api.example.com/v1",
    "auth": {"type": "plugin:signed_key", "key_id": "k1", "secret": "{{ config.api_secret }}", "path": "/v1"},
    "streams": [
        {"name": "people", "request": {"path": "/people.tsv", "params": {"shard": "{{ partition.shard }}"}},
         "partition": {"type": "plugin:shards", "count": "{{ config.shards }}"},
         "decoder": {"type": "plugin:tsv"}, "primary_key": "id"},
        {"name": "events", "request": {"path": "/events"}, "decoder": {"type": "json", "records_path": "events"},
         "pagination": {"type": "plugin:page_token", "token_field": "nextPageToken", "param": "pageToken"},
         "transform": [{"type": "plugin:mask", "fields": ["card"], "keep_last": 4, "drop_if": "test"},
                       {"set": {"field": "source", "value": "plugin"}}]},
    ],
}


def _write(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / "plugged.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def _config(srv: MockServer) -> dict[str, Any]:
    return {"base_url": f"{srv.url}/v1", "api_secret": SECRET, "shards": 2}


def test_a_sync_with_five_installed_plugins(plugins: Path, tmp_path: Path) -> None:
    with MockServer(api) as srv:
        res = run_cli("read", "-c", _write(tmp_path, CONNECTOR), "--config-json", json_body(_config(srv)),
                      env={"PYTHONPATH": str(plugins)})
    assert res.rc == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert sorted(res.records("people"), key=lambda r: r["id"]) == [{"id": "p-1", "name": "Ada", "email": "ada@example.com"},
                                     {"id": "p-2", "name": "Linus", "email": "linus@example.com"},
                                     {"id": "p-3", "name": "Grace", "email": "grace@example.com"}]
    assert res.records("events") == [{"id": "e-1", "card": "************4242", "test": False, "source": "plugin"},
                                     {"id": "e-3", "card": "************5556", "test": False, "source": "plugin"}]
    assert [r.arg("pageToken") for r in srv.requests if r.path == "/v1/events"] == [None, "1"]
    assert SECRET not in res.stdout + res.stderr and SIGNATURE not in res.stdout + res.stderr


def _problems(tmp_path: Path, plugins: Path, doc: dict[str, Any]) -> str:
    res = run_cli("validate", _write(tmp_path, doc), env={"PYTHONPATH": str(plugins)})
    assert res.rc == 2 and "Traceback" not in res.stderr, res.stdout + res.stderr
    return res.stdout + res.stderr


def _with(stream: int, **changes: Any) -> dict[str, Any]:
    doc = yaml.safe_load(yaml.safe_dump(CONNECTOR, sort_keys=False))
    doc["streams"][stream].update(changes)
    return doc


def test_plugin_options_are_checked_with_file_and_line(plugins: Path, tmp_path: Path) -> None:
    doc = _with(1, transform=[{"type": "plugin:mask", "fields": "card", "keep_lst": 4}])
    out = _problems(tmp_path, plugins, doc)
    assert "plugged.yaml:32: streams[1].transform[0].fields: expected a list, got 'card'" in out, out
    assert "plugged.yaml:33: streams[1].transform[0].keep_lst: unknown key; did you mean 'keep_last'?" in out, out


@pytest.mark.parametrize(("changes", "expected"), [
    ({"decoder": {"type": "plugin:tvs"}},
     "plugged.yaml:18: streams[0].decoder.type: unknown plugin 'tvs' (installed plugins: mask, page_token, shards, "
     "signed_key, tsv); did you mean 'plugin:tsv'?"),
    ({"decoder": {"type": "plugin:mask", "fields": ["x"]}},
     "plugged.yaml:18: streams[0].decoder.type: plugin 'mask' is a transform plugin; this place takes a decoder plugin"),
])
def test_unknown_plugin_or_wrong_kind(plugins: Path, tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    out = _problems(tmp_path, plugins, _with(0, **changes))
    assert expected in out, out


@pytest.fixture()
def mock_api() -> Iterator[MockServer]:
    with MockServer(api) as srv:
        yield srv


def test_the_server_runs_plugins_only_when_its_operator_allows_them(plugins: Path, mock_api: MockServer) -> None:
    from integration_tests.test_server_support import ServerProcess

    body = {"connector_yaml": yaml.safe_dump(CONNECTOR, sort_keys=False), "config": _config(mock_api),
            "streams": ["events"]}
    env = {"PYTHONPATH": str(plugins)}
    with ServerProcess("--allow-custom-connectors", env=env) as srv:
        refused = srv.post("/sync", body)
    with ServerProcess("--allow-custom-connectors", "--allow-plugins", env=env) as srv:
        allowed = srv.post("/sync", body)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_manifest", refused.text
    message = refused.json()["error"]["message"]
    assert message.startswith("<request>:4: auth.type: 'plugin:signed_key': plugins are off in this server (its "
                              "operator enables them with solidafy-cdk serve --allow-plugins)"), message
    assert allowed.status_code == 200, allowed.text
    result = allowed.json()["data"]["result"]
    assert result["status"] == "SUCCEEDED", result
    assert [r["data"]["card"] for r in result["records"]] == ["************4242", "************5556"]
