"""The server over real backends: a Stripe-like mock, real PostgreSQL, Parquet into S3 (moto server)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from integration_tests.emulators import Emulator, moto_s3  # noqa: F401 - session fixture
from integration_tests.mocks.server import MockServer
from integration_tests.mocks.stripe import MOCK_CLASS as StripeMock
from integration_tests.test_db_support import psql, unique
from integration_tests.test_server_support import ServerProcess, demo_config
from source_solidafy.demo_api import DemoApi, make_data

DB = unique("server_http")


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    with ServerProcess() as s:
        yield s


def test_stripe_check_and_sync(srv: ServerProcess) -> None:
    mock = StripeMock()
    with MockServer(mock.handler) as api:
        config = mock.config(api.url)
        status = srv.post("/check", {"connector": "stripe", "config": config}).json()["data"]
        assert status["connectionStatus"]["status"] == "SUCCEEDED"
        bad = srv.post("/check", {"connector": "stripe", "config": {**config, "api_key": "sk_test_wrongwrongwrong"}})
        assert bad.json()["data"]["connectionStatus"]["status"] == "FAILED" and "sk_test_wrong" not in bad.text
        result = srv.post("/sync", {"connector": "stripe", "config": config, "streams": ["customers"]}).json()["data"]["result"]
    expected = mock.expected_records("customers")
    assert result["status"] == "SUCCEEDED" and result["total_records"] == len(expected)
    assert [r["data"]["id"] for r in result["records"]] == [r["id"] for r in expected]
    assert result["state"]["streams"]["customers"]["cursor"] == max(r["created"] for r in expected)


@pytest.fixture(scope="module")
def pg() -> Iterator[dict[str, str]]:
    psql(f'DROP DATABASE IF EXISTS "{DB}"; CREATE DATABASE "{DB}";')
    try:
        psql("CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamp NOT NULL, total numeric(10,2));"
             "INSERT INTO orders SELECT g, timestamp '2024-01-01' + g * interval '1 hour', g * 1.5"
             " FROM generate_series(1, 50) g;", database=DB)
        yield {"connection_string": f"postgresql://postgres@127.0.0.1:5432/{DB}"}
    finally:
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE);')


def test_postgres_streams_check_and_incremental_sync(srv: ServerProcess, pg: dict[str, str]) -> None:
    streams = srv.post("/streams", {"connector": "postgres", "config": pg}).json()["data"]["streams"]
    assert "public.orders" in streams
    assert srv.post("/check", {"connector": "postgresql", "config": pg}).json()["data"]["connectionStatus"]["status"] == "SUCCEEDED"
    missing = srv.get("/connectors/postgres/streams")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_config"
    body = {"connector": "postgres", "config": pg, "streams": ["public.orders"],
            "cursor_fields": {"public.orders": "updated_at"}}
    resp = srv.post("/sync", body)
    assert resp.status_code == 200, resp.text
    first = resp.json()["data"]["result"]
    assert first["total_records"] == 50
    state = first["state"]
    psql("INSERT INTO orders VALUES (51, timestamp '2030-01-01', 1), (52, timestamp '2030-01-02', 2);", database=DB)
    second = srv.post("/sync", {**body, "state": state}).json()["data"]["result"]
    ids = sorted(r["data"]["id"] for r in second["records"])
    assert ids[-2:] == [51, 52] and len(ids) <= 3  # the boundary row may come again, nothing older


def test_parquet_into_s3(moto_s3: Emulator) -> None:  # noqa: F811 - the fixture
    s3 = boto3.client("s3", endpoint_url=moto_s3.url, region_name="us-east-1",
                      aws_access_key_id=moto_s3.env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=moto_s3.env["AWS_SECRET_ACCESS_KEY"])
    s3.create_bucket(Bucket="lake")
    with DemoApi(make_data(customers=300, orders=10, products=10)) as demo, ServerProcess(env=moto_s3.env) as s:
        body = {"connector": "demo", "config": demo_config(demo.url), "streams": ["customers"],
                "format": "parquet", "output": "s3://lake/demo/"}
        resp = s.post("/sync", body)
        assert resp.status_code == 200, resp.text
        result = resp.json()["data"]["result"]
        assert moto_s3.env["AWS_SECRET_ACCESS_KEY"] not in resp.text + s.stderr()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="lake", Prefix="demo/").get("Contents", [])}
    assert result["files"] and {f.removeprefix("s3://lake/") for f in result["files"]} <= keys
    assert result["total_records"] == 300 and result["records"] == []


def test_output_errors_are_worded_as_request_fields(moto_s3: Emulator) -> None:  # noqa: F811 - the fixture
    with DemoApi(make_data(customers=3, orders=1, products=1)) as demo, ServerProcess(env=moto_s3.env) as s:
        body = {"connector": "demo", "config": demo_config(demo.url), "streams": ["customers"], "format": "parquet"}
        hadoop = s.post("/sync", {**body, "output": "s3a://lake/demo/"})
        missing = s.post("/sync", {**body, "output": "s3://no-such-bucket/demo/"})
    assert hadoop.status_code == 400, hadoop.text
    assert hadoop.json()["error"]["message"].startswith(
        "field 'output' (s3a://lake/demo/): unknown scheme 's3a://'; did you mean s3://?")
    assert missing.status_code == 422, missing.text
    assert missing.json()["error"]["message"] == \
        "field 'output' (s3://no-such-bucket/demo): bucket 'no-such-bucket' does not exist"
