"""Database streams to Parquet and JSON lines: Arrow batches keep their database types end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from integration_tests.helpers import run_cli

PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, capture_output=True, text=True)


@pytest.fixture
def pg_schema():
    if not shutil.which("psql"):
        pytest.skip("psql is not installed")
    schema = f"outputs_{uuid.uuid4().hex[:8]}"
    _psql(
        f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.orders (id serial PRIMARY KEY, amount numeric(10,2),"
        " at timestamptz NOT NULL DEFAULT '2025-01-02T03:04:05Z', meta jsonb, tags text[], note text);"
        f" INSERT INTO {schema}.orders (amount, meta, tags, note) SELECT i * 1.25, jsonb_build_object('i', i),"
        " ARRAY['a', i::text], CASE WHEN i % 3 = 0 THEN NULL ELSE 'ü' || i END FROM generate_series(1, 2500) i;"
    )
    try:
        yield schema
    finally:
        _psql(f"DROP SCHEMA {schema} CASCADE")


def _read(out: Path, schema: str, fmt: str):
    config = json.dumps({"connection_string": PG})
    return run_cli("read", "--connector", "postgres", "--config-json", config, "--streams", f"{schema}.orders",
                   "--format", fmt, "--output", str(out))


def test_postgres_to_parquet_keeps_column_types(tmp_path, pg_schema):
    out = tmp_path / "lake"
    result = _read(out, pg_schema, "parquet")
    assert result.rc == 0, result.stderr
    output_file = Path(result.summary["streams"][0]["output_file"])
    assert output_file.parent.parent.name == f"{pg_schema}.orders"
    glob = f"{out}/*/dt=*/*.parquet"
    con = duckdb.connect()
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                             f"read_parquet('{glob}', hive_partitioning=true))").fetchall())
    assert types["amount"] == "DECIMAL(10,2)"
    assert types["at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["tags"] == "VARCHAR[]"
    rows = con.execute(f"SELECT id, amount, tags, note, meta FROM read_parquet('{glob}') ORDER BY id").fetchall()
    assert len(rows) == 2500
    assert rows[0][:4] == (1, Decimal("1.25"), ["a", "1"], "ü1")
    assert rows[2][3] is None
    assert json.loads(rows[-1][4]) == {"i": 2500}


def test_postgres_to_jsonl(tmp_path, pg_schema):
    result = _read(tmp_path / "lake", pg_schema, "json")
    assert result.rc == 0, result.stderr
    path = Path(result.summary["streams"][0]["output_file"])
    assert path.name == "data.jsonl"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2500
    first = min(lines, key=lambda r: r["id"])
    assert first["amount"] == "1.25" and first["tags"] == ["a", "1"] and first["note"] == "ü1"
    assert first["at"].startswith("2025-01-02")
