"""Hostile requests against the real ``solidafy-cdk serve`` process: the server is no way into the machine.

Each test is an attack that worked on an earlier version (see docs/security.md): reading the server's
files through custom YAML or the sqlite connector, reaching its private networks, driving it from a web
page, writing outside ``--output-root``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.mocks.server import MockServer, Request, Response
from integration_tests.test_server_support import ServerProcess, demo_config
from source_solidafy.demo_api import DemoApi, make_data

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


# --------------------------------------------------------------------------- sqlite files on the server


def _sqlite(path: Path, marker: str) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE secrets (value TEXT)")
    con.execute("INSERT INTO secrets VALUES (?)", (marker,))
    con.commit()
    con.close()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sqlite-files")
    allowed, outside = base / "allowed", base / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "notes.txt").write_text("not a database")
    (allowed / "escape").symlink_to(outside)
    return {"allowed": allowed, "shop": _sqlite(allowed / "shop.db", "shop-row"),
            "private": _sqlite(outside / "private.db", SECRET_MARKER), "text": outside / "notes.txt"}


def test_sqlite_refused_without_the_flag(files: dict[str, Path]) -> None:
    """Default settings: no SQLite file at all, and the answer is the same for every path."""
    with ServerProcess() as s:
        messages = set()
        for path in (files["private"], files["text"], files["private"].parent / "missing.db", files["shop"]):
            resp = s.post("/streams", {"connector": "sqlite", "config": {"connection_string": str(path)}})
            messages.add(err(resp, 403, "not_allowed").replace(str(path), "<path>"))
            assert SECRET_MARKER not in resp.text
        assert len(messages) == 1 and "--sqlite-dir" in messages.pop()


def test_sqlite_confined_to_the_named_directory(files: dict[str, Path]) -> None:
    with ServerProcess("--sqlite-dir", str(files["allowed"])) as s:
        ok = s.post("/sync", {"connector": "sqlite", "config": {"connection_string": "shop.db"}})
        assert ok.status_code == 200, ok.text
        assert [r["data"]["value"] for r in ok.json()["data"]["result"]["records"]] == ["shop-row"]
        absolute = s.post("/streams", {"connector": "sqlite", "config": {"connection_string": str(files["shop"])}})
        assert absolute.json()["data"]["streams"] == ["secrets"]
        outside = [str(files["private"]), str(files["text"]), "../outside/private.db", "escape/private.db",
                   f"sqlite:///{files['private']}", "file:../outside/missing.db", str(files["private"].parent / "nope.db")]
        messages = set()
        for path in outside:
            for endpoint in ("/streams", "/sync"):
                resp = s.post(endpoint, {"connector": "sqlite", "config": {"connection_string": path}})
                messages.add(err(resp, 403, "not_allowed").split(" is not a database file")[1])
                assert SECRET_MARKER not in resp.text
            status = s.post("/check", {"connector": "sqlite", "config": {"connection_string": path}}).json()
            assert status["data"]["connectionStatus"]["status"] == "FAILED"
        assert len(messages) == 1, messages  # exists or not, database or not: one answer


@pytest.mark.parametrize("conn", [
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://postgres@localhost:5432/postgres",
    "postgresql://postgres@/postgres?host=/var/run/postgresql",
    "postgresql://postgres@%2Fvar%2Frun%2Fpostgresql/postgres",
    "postgresql://postgres@db.example.com:5432/postgres?sslrootcert=/etc/shadow",
    "postgresql://postgres@db.example.com:5432/postgres?passfile=/etc/shadow",
    "postgresql://postgres@db.example.com:5432/postgres?service=admin",
    "host=127.0.0.1 port=5432 user=postgres dbname=postgres",
])
def test_database_connections_from_requests_are_confined(conn: str) -> None:
    """No loopback or private database, no Unix socket, no option that names a file on the server."""
    with ServerProcess(private_networks=False) as s:
        resp = s.post("/streams", {"connector": "postgres", "config": {"connection_string": conn}})
        err(resp, 403, "not_allowed")
        status = s.post("/check", {"connector": "postgres", "config": {"connection_string": conn}}).json()
        assert status["data"]["connectionStatus"]["status"] == "FAILED"
        resp = s.post("/streams", {"connector": "mysql", "config": {"host": "127.0.0.1", "user": "root"}})
        err(resp, 403, "not_allowed")


# --------------------------------------------------------------------------- private networks


def _admin_page(req: Request) -> Response:  # an internal service that trusts its network
    if req.path.endswith("/token") or req.path.endswith("/login"):
        return Response.json({"access_token": "internal-token", "expires_in": 3600, "token": "internal-token"})
    return Response.json({"data": [{"id": 1, "secret": SECRET_MARKER}], "has_more": False})


@pytest.fixture(scope="module")
def admin() -> Iterator[MockServer]:
    with MockServer(_admin_page) as srv:
        yield srv


@pytest.fixture(scope="module")
def confined() -> Iterator[ServerProcess]:
    """Default network rules (no --allow-private-networks), custom connectors on."""
    with ServerProcess("--allow-custom-connectors", private_networks=False) as s:
        yield s


def _refused(text: str) -> bool:
    return "private, loopback or link-local" in text and "--allow-private-networks" in text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "2130706433", "0.0.0.0", "[::ffff:127.0.0.1]"])
def test_base_url_cannot_reach_private_addresses(confined: ServerProcess, admin: MockServer, host: str) -> None:
    base_url = f"http://{host}:{admin.port}"
    config = {"api_key": "k", "base_url": base_url, "start_date": "2024-01-01T00:00:00Z"}
    status = confined.post("/check", {"connector": "demo", "config": config}).json()["data"]["connectionStatus"]
    assert status["status"] == "FAILED" and _refused(status["message"]), status
    resp = confined.post("/sync", {"connector": "demo", "config": config, "streams": ["customers"]})
    assert _refused(err(resp, 502, "sync_failed"))
    with_accept = confined.post("/sync", {"connector": "demo", "config": config, "streams": ["customers"]},
                                headers={"Accept": "application/x-ndjson"})
    assert _refused(with_accept.text) and SECRET_MARKER not in resp.text + with_accept.text
    assert admin.requests == []


def test_link_local_metadata_address_refused(confined: ServerProcess) -> None:
    config = {"api_key": "k", "base_url": "http://169.254.169.254/latest/meta-data", "start_date": "2024-01-01T00:00:00Z"}
    status = confined.post("/check", {"connector": "demo", "config": config}).json()["data"]["connectionStatus"]
    assert _refused(status["message"]), status


AUTH_YAML = """\
name: internal
base_url: "{{{{ config.base_url }}}}"
auth:
{auth}
http: {{max_retries: 0}}
streams:
  - name: items
    request: {{path: /items}}
    decoder: {{type: json, records_path: data}}
"""
AUTHS = {
    "token_url": "  type: oauth2_client_credentials\n  token_url: https://auth.example.com/token\n"
                 "  client_id: a\n  client_secret: b",
    "login_url": "  type: session_token\n  login_url: https://auth.example.com/login\n  token_path: token",
}


@pytest.mark.parametrize("kind", sorted(AUTHS))
def test_token_and_login_urls_cannot_reach_private_addresses(confined: ServerProcess, admin: MockServer, kind: str) -> None:
    yaml_text = AUTH_YAML.format(auth=AUTHS[kind])
    config = {"base_url": "https://api.example.com", "token_url": f"{admin.url}/{kind.split('_')[0]}"}
    resp = confined.post("/sync", {"connector_yaml": yaml_text, "config": config})
    message = err(resp, 502, "sync_failed")
    assert _refused(message) and f"127.0.0.1:{admin.port}" in message, message
    assert admin.requests == [] and SECRET_MARKER not in resp.text


def test_private_networks_allowed_by_the_operator(admin: MockServer) -> None:
    with ServerProcess("--allow-custom-connectors") as s:  # ServerProcess adds --allow-private-networks
        config = {"base_url": admin.url, "token_url": f"{admin.url}/token"}
        resp = s.post("/sync", {"connector_yaml": AUTH_YAML.format(auth=AUTHS["token_url"]), "config": config})
        assert resp.status_code == 200 and SECRET_MARKER in resp.text, resp.text


# --------------------------------------------------------------------------- symlinks under --output-root


class HeldApi:
    """The demo API, holding every request until ``release`` (so the test can act in between)."""

    def __init__(self) -> None:
        self.api = DemoApi(make_data(customers=5, orders=5, products=30))
        self.arrived = threading.Event()
        self.release = threading.Event()

    def handler(self, req: Request) -> Response:
        self.arrived.set()
        if not self.release.wait(120):
            return Response.json({"error": {"type": "held", "message": "never released"}}, 599)
        status, body = self.api.answer(req.path, {k: v[-1] for k, v in req.query.items()})
        return Response.json(body, status)


def _files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def _refused_symlink(resp) -> None:  # type: ignore[no-untyped-def]
    """Refused when the directory is opened (403) or when the stream writes (the sync fails, 502)."""
    code = "not_allowed" if resp.status_code == 403 else "sync_failed"
    assert "symlink" in err(resp, resp.status_code if resp.status_code in (403, 502) else 502, code)


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_symlink_at_the_stream_directory_is_not_followed(tmp_path: Path, fmt: str) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "runs" / "one").mkdir(parents=True)
    outside.mkdir()
    (root / "runs" / "one" / "products").symlink_to(outside)  # planted before the request
    held = HeldApi()
    held.release.set()
    with MockServer(held.handler) as api, ServerProcess("--output-root", str(root)) as s:
        body = {"connector": "demo", "config": demo_config(api.url + "/v1"), "streams": ["products"],
                "format": fmt, "output": "runs/one"}
        resp = s.post("/sync", body)
    _refused_symlink(resp)
    assert _files(outside) == []


def test_symlink_planted_between_the_check_and_the_write(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "runs" / "two").mkdir(parents=True)
    outside.mkdir()
    held = HeldApi()
    with MockServer(held.handler) as api, ServerProcess("--output-root", str(root)) as s:
        body = {"connector": "demo", "config": demo_config(api.url + "/v1"), "streams": ["products"],
                "format": "parquet", "output": "runs/two"}
        result: dict[str, object] = {}
        sync = threading.Thread(target=lambda: result.update(resp=s.post("/sync", body)))
        sync.start()
        assert held.arrived.wait(60)  # the output was checked and the sync is reading
        (root / "runs" / "two").rmdir()
        (root / "runs" / "two").symlink_to(outside)
        held.release.set()
        sync.join(120)
    _refused_symlink(result["resp"])
    assert _files(outside) == [] and _files(root) == []


# --------------------------------------------------------------------------- hostile YAML


def _alias_bomb(levels: int = 9) -> str:
    anchors = "".join(f"      a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9) if i else 'x'}]\n" for i in range(levels))
    return SCHEMA_READER.split("    schema_file")[0] + "    schema:\n" + anchors


def _reference_bomb(levels: int = 9) -> str:
    def refs(i: int) -> str:
        return ", ".join(f'k{j}: {{$ref: "#/definitions/a{i - 1}"}}' for j in range(9))

    defs = "".join(f"  a{i}: {{{refs(i)}}}\n" for i in range(1, levels + 1))
    return ("version: 1.0.0\ntype: DeclarativeSource\ndefinitions:\n  a0: {x: 1}\n" + defs
            + f'streams:\n  - {{$ref: "#/definitions/a{levels}"}}\n')


@pytest.mark.parametrize("yaml_text, expected", [
    (_alias_bomb(), "aliases expand to more than 100,000 nodes"),
    (_reference_bomb(), "references expand to more than 100,000 nodes"),
    ("version: " + "[" * 200_000 + "]" * 200_000, "nested more than 64 levels"),  # crashed the server
    ("a: &a [*a]\n", "alias refers to a node that contains it"),
], ids=["alias-bomb", "reference-bomb", "deep", "recursive-alias"])
def test_hostile_yaml_is_refused_at_once(custom: ServerProcess, yaml_text: str, expected: str) -> None:
    resp = custom.post("/check", {"connector_yaml": yaml_text, "config": {}})
    assert expected in err(resp, 422, "invalid_manifest")
    assert custom.get("/health").json()["status"] == "ok"  # still there, and not busy


TEMPLATE_BOMBS = {
    "power": "{{ 9**20000000 }}",  # folded when the template compiled: the whole server stopped for 129 s
    "repetition": "{{ 'x' * 10**10 }}",
    "percent-width": "{{ '%0999999999d' % 1 }}",
    "format-width": "{{ '{:>999999999}'.format(1) }}",
    "padding": "{{ 'x'.center(10**10) }}",
    "nested-loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(TEMPLATE_BOMBS))
def test_template_arithmetic_and_repetition_are_bounded(custom: ServerProcess, admin: MockServer, name: str) -> None:
    yaml_text = SCHEMA_READER.split("    schema_file")[0].replace("path: /items", f'path: "/items/{TEMPLATE_BOMBS[name]}"')
    yaml_text = yaml_text.replace("base_url: http://127.0.0.1:9", f"base_url: {admin.url}")
    before = len(admin.requests)
    resp = custom.post("/sync", {"connector_yaml": yaml_text, "config": {}})
    assert "not allowed in a template" in err(resp, 502, "sync_failed")
    assert len(admin.requests) == before
    assert custom.get("/health").json()["status"] == "ok"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("body, status, code, piece", [
    ({"state": {"streams": {"customers": {"cursor": {"$gt": ""}}}}}, 422, "invalid_state", "'cursor' must be a string or a number"),
    ({"state": {"customer_notes": {"partitions": {"a": 1}}}}, 422, "invalid_state", "'partitions' must be a list"),
    ({"concurrency": 0}, 400, "bad_request", "'concurrency' must be at least 1"),
    ({"concurrency": -1}, 400, "bad_request", "'concurrency' must be at least 1"),
])
def test_bad_state_and_concurrency_are_refused_before_any_request(admin: MockServer, body: dict, status: int,
                                                                   code: str, piece: str) -> None:
    before = len(admin.requests)
    with ServerProcess() as s:
        resp = s.post("/sync", {"connector": "demo", "config": demo_config(admin.url + "/v1"), **body})
    assert piece in err(resp, status, code)
    assert len(admin.requests) == before
