"""Every endpoint and every error status of ``solidafy-cdk serve``, driven over real HTTP.

The server is a subprocess on 127.0.0.1; the connector is the built-in ``demo`` pointed (through its
``base_url`` config) at the demo API served by this test process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.mocks.server import MockServer, Response
from integration_tests.test_server_support import DEMO_TOKEN, ServerProcess, demo_config
from source_solidafy.demo_api import DemoApi, make_data


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoApi]:
    with DemoApi(make_data(customers=600, orders=300, products=40)) as api:
        yield api


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("output-root")


@pytest.fixture(scope="module")
def srv(root: Path) -> Iterator[ServerProcess]:
    with ServerProcess("--output-root", str(root), "--max-held-records", "500", "--max-body-bytes", "20000") as s:
        yield s


def err(resp, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]["message"]


def test_health_connectors_and_openapi(srv: ServerProcess) -> None:
    assert srv.get("/health").json()["status"] == "ok"
    body = srv.get("/connectors").json()
    assert body["success"] is True
    by_name = {c["name"]: c for c in body["data"]["connectors"]}
    assert {"customers", "orders", "products"} <= set(by_name["demo"]["streams"])
    assert any(f["name"] == "api_key" and f["secret"] for f in by_name["demo"]["config_schema"])
    pg = by_name["postgres"]
    assert pg["streams"] is None and pg["streams_dynamic"] is True and "POST /streams" in pg["streams_hint"]
    assert srv.get("/connectors/demo/streams").json()["data"]["streams"] == by_name["demo"]["streams"]
    err(srv.get("/connectors/nope/streams"), 404, "unknown_connector")
    assert srv.get("/connectors/demo/spec").json()["data"]["type"] == "SPEC"
    paths = srv.get("/openapi.json").json()["paths"]
    assert {"/health", "/connectors", "/connectors/{name}/streams", "/streams", "/check", "/discover", "/sync"} <= set(paths)


def test_streams_check_discover(srv: ServerProcess, demo: DemoApi) -> None:
    got = srv.post("/streams", {"connector": "demo"}).json()["data"]
    assert got["connector"] == "demo" and "customers" in got["streams"]
    good = srv.post("/check", {"connector": "demo", "config": demo_config(demo.url)}).json()
    assert good["data"]["connectionStatus"]["status"] == "SUCCEEDED"
    bad = srv.post("/check", {"connector": "demo", "config": demo_config(demo.url, api_key="wrong-key")})
    assert bad.status_code == 200 and bad.json()["data"]["connectionStatus"]["status"] == "FAILED"
    assert "wrong-key" not in bad.text
    catalog = srv.post("/discover", {"connector": "demo", "config": demo_config(demo.url), "sample": 0}).json()
    names = [s["name"] for s in catalog["data"]["catalog"]["streams"]]
    assert "customers" in names


def test_sync_json_result_and_state(srv: ServerProcess, demo: DemoApi) -> None:
    body = {"connector": "demo", "config": demo_config(demo.url), "streams": ["customers", "products"],
            "format": "json", "max_records": 30}
    data = srv.post("/sync", body).json()["data"]
    result = data["result"]
    assert data["type"] == "SYNC_RESULT" and result["status"] == "SUCCEEDED" and result["connector"] == "demo"
    assert result["total_records"] == 60 == len(result["records"])
    assert {s["stream"]: s["records_synced"] for s in result["streams"]} == {"customers": 30, "products": 30}
    first = result["records"][0]
    assert set(first) >= {"stream", "data", "emitted_at"}
    cursor = result["state"]["streams"]["customers"]["cursor"]
    again = srv.post("/sync", {**body, "streams": ["customers"], "state": result["state"], "max_records": 100})
    records = again.json()["data"]["result"]["records"]
    assert records and all(r["data"]["updated_at"] >= cursor for r in records)


def test_sync_errors(srv: ServerProcess, demo: DemoApi) -> None:
    cfg = demo_config(demo.url)
    err(srv.post("/sync", {"connector": "nope", "config": cfg}), 404, "unknown_connector")
    assert "zzz" in err(srv.post("/sync", {"connector": "demo", "config": cfg, "streams": ["zzz"]}), 404, "unknown_stream")
    assert "api_key" in err(srv.post("/sync", {"connector": "demo", "config": {"base_url": demo.url}}), 422, "invalid_config")
    err(srv.post("/sync", {"connector": "demo", "config": cfg, "state": {"streams": 5}}), 422, "invalid_state")
    err(srv.post("/sync", data=b"{oops", headers={"Content-Type": "application/json"}), 400, "bad_request")
    big = {"connector": "demo", "config": {**cfg, "pad": "x" * 30000}}
    err(srv.post("/sync", big), 413, "payload_too_large")
    assert "streaming" in err(srv.post("/sync", {"connector": "demo", "config": cfg, "streams": ["customers"]}),
                              413, "too_many_records")
    err(srv.get("/no/such/endpoint"), 404, "not_found")


TINY_YAML = """\
name: tiny
base_url: http://127.0.0.1:9
auth:
  type: bearer
  token: "{{ config.api_key }}"
http:
  max_retries: 0
streams:
  - name: items
    request:
      path: /items
    decoder:
      type: json
      records_path: data
"""


def _tiny_api(req):  # a schema-less API: discover has to sample it
    if req.header("Authorization") != "Bearer good-key":
        return Response.json({"error": {"message": "invalid api key"}}, 401)
    return Response.json({"data": [{"id": 1, "name": "a"}]})


@pytest.fixture(scope="module")
def custom() -> Iterator[ServerProcess]:
    with ServerProcess("--allow-custom-connectors") as s:
        yield s


def test_upstream_failures(srv: ServerProcess, custom: ServerProcess, demo: DemoApi) -> None:
    """Our own 401 and the upstream's are different codes; an API that cannot be reached is a 502
    (a failed /check is a CONNECTION_STATUS FAILED)."""
    with MockServer(_tiny_api) as tiny:
        ok = custom.post("/discover", {"connector_yaml": TINY_YAML, "config": {"api_key": "good-key", "base_url": tiny.url}, "sample": 3})
        assert ok.status_code == 200 and ok.json()["data"]["catalog"]["streams"][0]["name"] == "items"
        wrong = {"connector_yaml": TINY_YAML, "config": {"api_key": "bad-key-123", "base_url": tiny.url}, "sample": 3}
        msg = err(custom.post("/discover", wrong), 401, "upstream_unauthorized")
        assert "upstream" in msg and "bad-key-123" not in msg
    refused = {"connector_yaml": TINY_YAML, "config": {"api_key": "good-key", "base_url": "http://127.0.0.1:9"}}
    err(custom.post("/discover", {**refused, "sample": 3}), 502, "upstream_error")
    checked = custom.post("/check", refused)  # a check answers the question: FAILED, like a 401
    assert checked.status_code == 200, checked.text
    status = checked.json()["data"]["connectionStatus"]
    assert status["status"] == "FAILED" and "Connection refused" in status["message"], status
    failed = srv.post("/sync", {"connector": "demo", "config": demo_config(demo.url, api_key="bad-key-456")})
    assert "401" in err(failed, 502, "sync_failed") and "bad-key-456" not in failed.text
    assert failed.json()["data"]["result"]["status"] == "FAILED"


@pytest.mark.parametrize("output", ["../escape", "/etc", "a/../../b", "ftp://host/x"])
def test_output_escapes_refused(srv: ServerProcess, demo: DemoApi, output: str) -> None:
    resp = srv.post("/sync", {"connector": "demo", "config": demo_config(demo.url), "output": output})
    assert resp.status_code in (400, 403) and resp.json()["error"]["code"] in ("output_not_allowed", "bad_request")


def test_output_symlink_escape_refused(srv: ServerProcess, demo: DemoApi, root: Path, tmp_path: Path) -> None:
    (root / "sneaky").symlink_to(tmp_path)
    resp = srv.post("/sync", {"connector": "demo", "config": demo_config(demo.url), "output": "sneaky/x"})
    err(resp, 403, "output_not_allowed")
    assert not list(tmp_path.iterdir())


def test_parquet_under_output_root(srv: ServerProcess, demo: DemoApi, root: Path) -> None:
    body = {"connector": "demo", "config": demo_config(demo.url), "streams": ["products"],
            "format": "parquet", "output": "runs/one"}
    resp = srv.post("/sync", body)
    assert resp.status_code == 200, resp.text
    result = resp.json()["data"]["result"]
    files = result["files"]
    assert files and all(Path(f).resolve().is_relative_to(root.resolve() / "runs" / "one") for f in files)
    assert all(Path(f).exists() for f in files) and result["records"] == []


def _demo_yaml(name: str) -> str:
    text = (Path(__file__).parents[1] / "connectors" / "demo.yaml").read_text()
    return text.replace("name: demo", f"name: {name}", 1)


def test_custom_connector_only_with_the_flag(custom: ServerProcess, demo: DemoApi, tmp_path: Path) -> None:
    yaml_text = _demo_yaml("my-shop")
    body = {"connector_yaml": yaml_text, "config": demo_config(demo.url), "streams": ["products"], "max_records": 3}
    path_file = tmp_path / "mine.yaml"
    path_file.write_text(yaml_text)
    with ServerProcess() as plain:
        err(plain.post("/sync", body), 403, "custom_connectors_disabled")
        err(plain.post("/check", {"connector": str(path_file), "config": {}}), 404, "unknown_connector")
        err(plain.post("/check", {"connector": "mine.yaml", "config": {}}, ), 404, "unknown_connector")
    result = custom.post("/sync", body).json()["data"]["result"]
    assert result["connector"] == "my-shop" and len(result["records"]) == 3
    err(custom.post("/check", {"connector": str(path_file), "config": {}}), 404, "unknown_connector")
    err(custom.post("/check", {"connector_yaml": "name: [unclosed", "config": {}}), 422, "invalid_manifest")
    private = tmp_path / "private.json"
    private.write_text('{"type": "object", "properties": {"server_private_value": {"type": "string"}}}')
    reader = TINY_YAML + f"    schema_file: {private}\n"
    resp = custom.post("/discover", {"connector_yaml": reader, "config": {"api_key": "k"}})
    assert "schema_file" in err(resp, 422, "invalid_manifest") and "server_private_value" not in resp.text


def test_secrets_never_in_errors_or_logs(demo: DemoApi) -> None:
    secret = "sk_live_TOPSECRET_abcdef"
    with ServerProcess("-v", "--allow-custom-connectors") as s, MockServer(_tiny_api) as tiny:
        resp = s.post("/discover", {"connector_yaml": TINY_YAML, "config": {"api_key": secret, "base_url": tiny.url}, "sample": 2})
        assert resp.status_code == 401 and secret not in resp.text
        resp = s.post("/sync", {"connector": "demo", "config": demo_config(demo.url, api_key=secret)})
        assert resp.status_code == 502 and secret not in resp.text
        resp = s.post("/check", {"connector": "demo", "config": demo_config(demo.url, api_key=secret, nested={"password": secret})})
        assert resp.status_code == 200 and secret not in resp.text
        s.stop()
        assert secret not in s.stderr() and DEMO_TOKEN not in s.stderr()
