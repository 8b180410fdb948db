"""Database connectors through the installed CLI (both flavours), against the real servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airbyte_protocol.models import AirbyteMessage

from integration_tests.helpers import run_cli
from integration_tests.test_db_support import mysql, psql, unique

DB = unique("solidafy_h4_cli")
SETUP = """
CREATE TABLE orders (id integer PRIMARY KEY, updated_at timestamptz NOT NULL, amount numeric(10,2),
                     note text, tags text[]);
INSERT INTO orders SELECT g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour', g * 1.25,
  'ñ ' || g, ARRAY['a', 'b'] FROM generate_series(1, 2500) g;
CREATE TABLE notes (id integer PRIMARY KEY, body text);
INSERT INTO notes VALUES (1, 'x');
"""


@pytest.fixture(scope="module")
def pg_config() -> Iterator[str]:
    psql(f'DROP DATABASE IF EXISTS "{DB}"; CREATE DATABASE "{DB}";')
    try:
        psql(SETUP, database=DB)
        yield json.dumps({"connection_string": f"postgresql://postgres@127.0.0.1:5432/{DB}"})
    finally:
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE);')


def test_check_streams_discover(pg_config: str) -> None:
    check = run_cli("check", "--connector", "postgres", "--config-json", pg_config)
    assert check.rc == 0, check.stderr
    assert check.messages == [{"type": "CONNECTION_STATUS", "connectionStatus": {
        "status": "SUCCEEDED", "message": "Connection successful. Found 2 tables."}}]
    streams = run_cli("streams", "--connector", "postgresql", "--config-json", pg_config)
    assert streams.of_type("STREAMS")[0]["streams"] == ["public.notes", "public.orders"]
    disc = run_cli("discover", "--connector", "postgres", "--config-json", pg_config)
    assert disc.rc == 0, disc.stderr
    catalog = {s["name"]: s for s in disc.of_type("CATALOG")[0]["catalog"]["streams"]}
    assert catalog["public.orders"]["source_defined_primary_key"] == [["id"]]
    assert catalog["public.orders"]["json_schema"]["properties"]["updated_at"]["format"] == "date-time"


def test_read_ndjson_incremental_with_state_file(pg_config: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    config = json.dumps({**json.loads(pg_config), "batch_size": 1000})
    args = ("read", "--connector", "postgres", "--config-json", config, "--streams", "public.orders",
            "--cursor-field", "public.orders=updated_at", "--state", str(state), "--state-per-page")
    first = run_cli(*args)
    assert first.rc == 0, first.stderr
    records = first.records("public.orders")
    assert len(records) == 2500 and records[0]["amount"] == 1.25 and records[0]["tags"] == ["a", "b"]
    per_batch = [m["state"]["stream"]["stream_state"] for m in first.of_type("STATE") if "stream" in m["state"]]
    assert per_batch == [{"cursor": "2024-02-11T16:00:00+00:00"}, {"cursor": "2024-03-24T08:00:00+00:00"},
                         {"cursor": "2024-04-14T04:00:00+00:00"}]
    saved = json.loads(state.read_text())
    assert saved["streams"]["public.orders"]["cursor"] == "2024-04-14T04:00:00+00:00"
    psql("INSERT INTO orders VALUES (2501, '2024-06-01 00:00:00+00', 1, 'new', '{}');", DB)
    second = run_cli(*args)
    assert second.rc == 0, second.stderr
    assert [r["id"] for r in second.records("public.orders")] == [2500, 2501]
    assert second.summary["status"] == "SUCCEEDED"
    assert json.loads(state.read_text())["streams"]["public.orders"]["cursor"] == "2024-06-01T00:00:00+00:00"


def test_read_parquet_keeps_arrow_types(pg_config: str, tmp_path: Path) -> None:
    res = run_cli("read", "--connector", "postgres", "--config-json", pg_config, "--streams",
                  "public.orders,public.notes", "--format", "parquet", "--output", str(tmp_path))
    assert res.rc == 0, res.stderr
    assert res.summary["status"] == "SUCCEEDED" and res.summary["total_records"] >= 2501
    files = sorted(tmp_path.rglob("*.parquet"))
    orders = pq.read_table([f for f in files if "public.orders" in str(f)][0])
    assert orders.num_rows >= 2500
    assert orders.schema.field("amount").type == pa.decimal128(10, 2)
    assert orders.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert orders.schema.field("tags").type == pa.list_(pa.string())


def test_stream_name_with_sql_is_an_unknown_stream(pg_config: str) -> None:
    res = run_cli("read", "--connector", "postgres", "--config-json", pg_config, "--streams",
                  "public.notes; DROP TABLE notes")
    assert res.rc != 0
    assert "Traceback" not in res.stderr
    assert "public.notes; DROP TABLE notes" in res.stdout + res.stderr
    assert psql("SELECT count(*) FROM notes;", DB).strip() == "1"


def test_airbyte_flavour_incremental(pg_config: str, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**json.loads(pg_config), "connector": "postgres",
                                  "cursor_fields": {"public.orders": "updated_at"}}))
    disc = run_cli("discover", "--config", str(config), script="source-solidafy")
    assert disc.rc == 0, disc.stderr
    stream = next(s for s in disc.of_type("CATALOG")[0]["catalog"]["streams"] if s["name"] == "public.orders")
    assert stream["default_cursor_field"] == ["updated_at"]
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"streams": [{"stream": stream, "sync_mode": "incremental",
                                                "destination_sync_mode": "append",
                                                "cursor_field": ["updated_at"]}]}))
    res = run_cli("read", "--config", str(config), "--catalog", str(catalog), script="source-solidafy")
    assert res.rc == 0, res.stderr
    for message in res.messages:
        AirbyteMessage.model_validate(message)
    states = [m["state"] for m in res.messages if m["type"] == "STATE"]
    assert states and all(s["type"] == "STREAM" for s in states)
    assert len(res.records("public.orders")) >= 2500


@pytest.fixture(scope="module")
def my_user() -> Iterator[tuple[str, str]]:
    user, password = unique("h4cli")[:32], "Sup3r$ecret pass'word"
    quoted = password.replace("'", "\\'")
    mysql(f"DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY '{quoted}';")
    try:
        yield user, password
    finally:
        mysql(f"DROP USER IF EXISTS '{user}'@'%';")


def test_mysql_wrong_password_never_printed(my_user: tuple[str, str]) -> None:
    user, password = my_user
    wrong = password + "X"
    cfg = json.dumps({"host": "127.0.0.1", "user": user, "password": wrong})
    check = run_cli("check", "--connector", "mariadb", "--config-json", cfg)
    assert check.rc == 0
    status = check.of_type("CONNECTION_STATUS")[0]["connectionStatus"]
    assert status["status"] == "FAILED" and "Access denied" in status["message"]
    read = run_cli("read", "--connector", "mysql", "--config-json", cfg)
    assert read.rc != 0
    for out in (check.stdout, check.stderr, read.stdout, read.stderr):
        assert wrong not in out and password not in out
    good = run_cli("check", "--connector", "mysql", "--config-json",
                   json.dumps({"host": "127.0.0.1", "user": user, "password": password}))
    assert good.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"] == "SUCCEEDED"
