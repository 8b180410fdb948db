"""The Flask app against a stand-in API: envelopes, status codes, auth, CORS, redaction, streaming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from source_solidafy import errors as e
from source_solidafy.server import ServerSettings, create_app
from unit_tests.server.server_stub_api import StubApi, TooManyRecords

TOKEN = "tok-0123456789abcdef"


def client(stub: StubApi | None = None, **settings: object):
    stub = stub or StubApi()
    app = create_app(ServerSettings(**settings), api=stub)  # type: ignore[arg-type]
    return app.test_client(), stub


def post(c, path: str, body: object, **headers: str):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return c.post(path, data=data, headers={"Content-Type": "application/json", **headers})


def test_health_and_connectors_envelope() -> None:
    c, stub = client()
    assert c.get("/health").get_json()["status"] == "ok"
    first = c.get("/connectors").get_json()
    assert first["success"] is True
    assert first["data"]["connectors"][0]["name"] == "demo"
    c.get("/connectors")
    assert [x[0] for x in stub.calls].count("list_connectors") == 1  # listed once, then cached
    assert c.get("/connectors/demo-api").get_json()["data"]["name"] == "demo"
    assert c.get("/connectors/demo/streams").get_json()["data"] == {"connector": "demo", "streams": ["items", "users"]}
    assert c.get("/connectors/demo/spec").get_json()["data"]["type"] == "SPEC"


@pytest.mark.parametrize("headers, status", [({}, 401), ({"Authorization": "Bearer nope"}, 401),
                                             ({"Authorization": TOKEN}, 401),
                                             ({"Authorization": f"Bearer {TOKEN}"}, 200)])
def test_token_required_except_health(headers: dict[str, str], status: int) -> None:
    c, _ = client(auth_token=TOKEN)
    assert c.get("/health").status_code == 200
    resp = c.get("/connectors", headers=headers)
    assert resp.status_code == status
    if status == 401:
        assert resp.get_json()["error"]["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in resp.get_data(as_text=True)


@pytest.mark.parametrize("body, fragment", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    ({"connector": "demo", "config": "x"}, "'config' must be an object"),
    ({"config": {}}, "'connector' is required"),
    ({"connector": 5}, "'connector' must be a string"),
])
def test_malformed_bodies_are_400(body: object, fragment: str) -> None:
    c, _ = client()
    resp = post(c, "/check", body)
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "bad_request" and fragment in err["message"]


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/connector.yaml", "my.yaml", "~/x", "c:\\x"])
def test_paths_never_reach_the_registry(name: str) -> None:
    c, stub = client()
    resp = post(c, "/check", {"connector": name, "config": {}})
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_connector"
    assert not [call for call in stub.calls if call[0] == "load_connector"]


def test_builtins_loaded_without_paths() -> None:
    c, stub = client()
    assert post(c, "/check", {"connector": "demo", "config": {}}).status_code == 200
    load = next(call for call in stub.calls if call[0] == "load_connector")
    assert load[2]["allow_paths"] is False


def test_custom_yaml_is_loaded_without_file_access() -> None:
    """The loader itself refuses ``schema_file`` when ``allow_paths`` is off (no second parser here)."""
    c, stub = client(allow_custom_connectors=True)
    yaml_text = "name: x\nstreams:\n  - name: s\n    schema_file:\t/etc/secret.json\n"
    assert post(c, "/discover", {"connector_yaml": yaml_text, "config": {}}).status_code == 200
    load = next(call for call in stub.calls if call[0] == "load_connector")
    assert load[2] == {"yaml_text": yaml_text, "allow_paths": False, "allow_plugins": False}
    c, stub = client(allow_custom_connectors=True, allow_plugins=True)
    assert post(c, "/discover", {"connector_yaml": yaml_text, "config": {}}).status_code == 200
    assert next(call for call in stub.calls if call[0] == "load_connector")[2]["allow_plugins"] is True


def test_custom_yaml_needs_the_flag() -> None:
    c, stub = client()
    resp = post(c, "/streams", {"connector_yaml": "name: x", "config": {}})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "custom_connectors_disabled"
    c, stub = client(allow_custom_connectors=True)
    resp = post(c, "/streams", {"connector_yaml": "name: x"})
    assert resp.status_code == 200 and resp.get_json()["data"]["connector"] == "custom"
    assert stub.calls[-1] == ("streams", stub.calls[-1][1], {"config": None})


@pytest.mark.parametrize("exc, status, code", [
    (e.UnknownStreamError("unknown stream 'x'"), 404, "unknown_stream"),
    (e.ConfigError("config: missing 'api_key'"), 422, "invalid_config"),
    (e.ManifestError("bad yaml"), 422, "invalid_manifest"),
    (e.StateError("bad state"), 422, "invalid_state"),
    (e.UsageError("bad option"), 400, "bad_request"),
    (e.AuthError("401 Unauthorized", status=401), 401, "upstream_unauthorized"),
    (e.HttpError("503 from upstream", status=503), 502, "upstream_error"),
    (TooManyRecords("too many records; use streaming"), 413, "too_many_records"),
])
def test_error_mapping(exc: Exception, status: int, code: str) -> None:
    c, _ = client(StubApi(raise_on={"discover": exc}))
    resp = post(c, "/discover", {"connector": "demo", "config": {}})
    assert resp.status_code == status
    body = resp.get_json()
    assert body["success"] is False and body["error"]["code"] == code
    assert str(exc) in body["error"]["message"]


def test_secrets_redacted_and_bugs_are_generic(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "sk_test_SECRETSECRET"
    boom = RuntimeError(f"boom with {secret}")
    c, _ = client(StubApi(raise_on={"check": boom}))
    resp = post(c, "/check", {"connector": "demo", "config": {"api_key": secret}})
    assert resp.status_code == 500 and resp.get_json()["error"]["code"] == "internal_error"
    assert "boom" not in resp.get_data(as_text=True)
    err = capsys.readouterr().err
    assert "boom with ***" in err and secret not in err
    c, _ = client(StubApi(raise_on={"check": e.AuthError(f"401 for key {secret}", status=401)}))
    resp = post(c, "/check", {"connector": "demo", "config": {"nested": {"token": secret}}})
    assert resp.status_code == 401 and secret not in resp.get_data(as_text=True)


def test_source_declared_secrets_redacted() -> None:
    value = "plainly-named-but-secret"
    c, _ = client(StubApi(raise_on={"check": e.HttpError(f"503 for {value}", status=503)}))
    resp = post(c, "/check", {"connector": "demo", "config": {"hidden": value}})
    assert resp.status_code == 502 and value not in resp.get_data(as_text=True)


def test_body_limit_is_413() -> None:
    c, _ = client(max_body_bytes=100)
    resp = post(c, "/check", {"connector": "demo", "config": {"x": "y" * 200}})
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"


def test_sync_json_result() -> None:
    c, stub = client(max_held_records=7)
    resp = post(c, "/sync", {"connector": "demo", "config": {"base_url": "u"}, "streams": ["items"],
                             "max_records": 5, "state": {"streams": {}}, "cursor_fields": {"items": "id"}})
    data = resp.get_json()["data"]
    assert resp.status_code == 200 and data["type"] == "SYNC_RESULT"
    assert data["result"]["files"] == ["s3://b/items/part-0.parquet"]
    _, _, kwargs = stub.calls[-1]
    assert kwargs["max_held_records"] == 7 and kwargs["streams"] == ["items"] and kwargs["max_records"] == 5
    assert kwargs["cursor_fields"] == {"items": "id"} and kwargs["format"] == "json"


@pytest.mark.parametrize("field, value", [("streams", [1]), ("format", "xml"), ("max_records", 0),
                                          ("max_records", "5"), ("state", "x"), ("cursor_fields", {"a": 1})])
def test_sync_field_types(field: str, value: object) -> None:
    c, _ = client()
    resp = post(c, "/sync", {"connector": "demo", "config": {}, field: value})
    assert resp.status_code == 400 and field in resp.get_json()["error"]["message"]


def test_sync_output_confined(tmp_path: Path) -> None:
    c, _ = client()
    resp = post(c, "/sync", {"connector": "demo", "config": {}, "output": str(tmp_path)})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "output_not_allowed"
    c, stub = client(output_root=str(tmp_path))
    assert post(c, "/sync", {"connector": "demo", "config": {}, "output": "sub/dir"}).status_code == 200
    assert stub.calls[-1][2]["output"] == str(tmp_path.resolve() / "sub" / "dir")
    assert post(c, "/sync", {"connector": "demo", "config": {}, "output": "../x"}).status_code == 403
    assert post(c, "/sync", {"connector": "demo", "config": {}, "output": "s3://b/p/"}).status_code == 200
    resp = post(c, "/sync", {"connector": "demo", "config": {}, "format": "parquet"})
    assert resp.status_code == 400 and "needs an 'output'" in resp.get_json()["error"]["message"]


def test_sync_streaming_lines_and_cancel_event() -> None:
    c, stub = client()
    resp = post(c, "/sync", {"connector": "demo", "config": {}}, Accept="application/x-ndjson")
    assert resp.status_code == 200 and resp.mimetype == "application/x-ndjson"
    lines = [json.loads(x) for x in resp.get_data(as_text=True).splitlines()]
    assert [m["type"] for m in lines] == ["RECORD", "RECORD", "RECORD", "STATE", "SYNC_SUMMARY"]
    resp.close()  # what every WSGI server does at the end
    assert stub.closed.is_set()


def test_streaming_errors_before_and_after_start() -> None:
    c, _ = client(StubApi(raise_on={"read": e.UnknownStreamError("unknown stream 'zz'")}))
    resp = post(c, "/sync", {"connector": "demo", "config": {}}, Accept="application/x-ndjson")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "unknown_stream"
    c, stub = client(StubApi(raise_on={"read_mid": e.HttpError("upstream 500", status=500)}))
    resp = post(c, "/sync", {"connector": "demo", "config": {}}, Accept="application/x-ndjson")
    lines = [json.loads(x) for x in resp.get_data(as_text=True).splitlines()]
    assert resp.status_code == 200 and lines[-1]["type"] == "ERROR"
    assert lines[-1]["error"]["code"] == "upstream_error" and stub.closed.is_set()


def test_streaming_closed_early_closes_the_sync() -> None:
    c, stub = client(StubApi(pages=1000))
    resp = c.post("/sync", json={"connector": "demo", "config": {}}, headers={"Accept": "application/x-ndjson"},
                  buffered=False)
    it = iter(resp.response)
    next(it)
    resp.close()
    assert stub.closed.is_set() and stub.calls[-1][2]["cancel"].is_set()


def test_unknown_routes_and_methods() -> None:
    c, _ = client()
    assert c.get("/nope").get_json()["error"]["code"] == "not_found"
    resp = c.get("/sync")
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "method_not_allowed"


def test_cors_off_by_default_and_on_for_listed_origins() -> None:
    c, _ = client()
    assert "Access-Control-Allow-Origin" not in c.get("/health", headers={"Origin": "https://a.example"}).headers
    c, _ = client(cors_origins=("https://a.example",), auth_token=TOKEN)
    pre = c.options("/sync", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    assert c.get("/health", headers={"Origin": "https://a.example"}).headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert "Access-Control-Allow-Origin" not in c.get("/health", headers={"Origin": "https://evil.example"}).headers


def test_openapi_documents_every_route() -> None:
    c, _ = client()
    app_rules = {r.rule.replace("<name>", "{name}") for r in c.application.url_map.iter_rules() if r.endpoint != "static"}
    doc = c.get("/openapi.json").get_json()
    assert app_rules <= set(doc["paths"])
    assert "SyncRequest" in doc["components"]["schemas"]
