"""Database RECORD lines from the CLI are byte for byte the lines the dict path writes.

The CLI builds a database batch's NDJSON in Arrow (``arrow_json``); the Python API without
``raw_records`` gives the same records as dicts (``arrow_rows.rows``), which the record writer
serialises one orjson call per row, the way every RECORD line was written before. Each test reads a
table with every column type the database tests use from the real server through the CLI
(a subprocess) and compares each line with the dict path's line for the same row.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import source_solidafy as ss
from integration_tests.helpers import run_cli
from integration_tests.test_db_support import mysql, psql, unique
from source_solidafy import protocol as p

DB = unique("solidafy_ndjson_lines")
EMITTED = re.compile(rb'"emitted_at":\d+\}\}$')

PG_SETUP = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE all_types (
  id integer PRIMARY KEY, i2 smallint NOT NULL, i8 bigint, num numeric(12,3), wide numeric(38,20), dbl double precision,
  flt real, flag boolean, txt text, vc varchar(20), d date, ts timestamp, tstz timestamptz,
  tm time, iv interval, j json, jb jsonb, u uuid, raw bytea, ints int[], tags text[], m mood
);
INSERT INTO all_types VALUES
 (1, 7, 9007199254740993, 123.456, 0.00000000000000000001, 2.25, 1.5, true, E'héllo ☃ "q" \\\\ \\n\\t\\x01', 'v',
  '2024-01-02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05+02', '10:11:12', '1 day 02:00:00',
  '{"a": 1}', '{"b": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\xdeadbeef', '{1,2,3}', '{"x","y\\""}',
  'happy'),
 (2, 8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL),
 (3, -9, -9223372036854775808, -0.5, 12345678901234567.8901, 'NaN', '-Infinity', false, '', 'x"y',
  '0999-12-31', '1960-05-06 07:08:09', '2030-01-01 00:00:00.5+00', '23:59:59.999999', '-3 seconds',
  '[]', 'null', '00000000-0000-0000-0000-000000000000', '\\x', '{}', '{NULL}', 'sad');
INSERT INTO all_types (id, i2, dbl, txt, ts) SELECT g, g % 100, g * 0.1, 'row ' || g, timestamp '2024-01-01' + g * interval '1 ms'
  FROM generate_series(4, 3000) g;
"""

MY_SETUP = """
CREATE TABLE all_types (
  id int PRIMARY KEY, ti tinyint NOT NULL, flag tinyint(1), bi bigint, ubi bigint unsigned,
  dc decimal(12,3), fl float, db double, ch char(3), vc varchar(20), tx text, d date, dtm datetime(6),
  ts timestamp NULL, tm time, yr year, js json, bl blob, en enum('a','b'), st set('x','y')
) CHARACTER SET utf8mb4;
INSERT INTO all_types VALUES (1, 1, 1, 9007199254740993, 18446744073709551615, 123.456, 1.5, 2.25,
  'abc', 'v"', 'héllo ☃ \\\\ \\n', '2024-01-02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05',
  '10:11:12', 2024, '{"a": 1}', x'deadbeef', 'b', 'x,y');
INSERT INTO all_types (id, ti) VALUES (2, 2);
INSERT INTO all_types (id, ti, db, dtm) SELECT seq, seq % 100, seq * 0.1, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND
  FROM seq_3_to_3000;
"""


def _cli_lines(connector: str, config: dict[str, Any]) -> list[bytes]:
    result = run_cli("read", "--connector", connector, "--config-json", json.dumps(config))
    assert result.rc == 0, result.stderr
    return [ln.encode() for ln in result.stdout.splitlines() if ln.startswith('{"type":"RECORD"')]


def _dict_lines(connector: str, config: dict[str, Any]) -> list[bytes]:
    """The same read through the Python API as dicts, each written by the record writer's dict path."""
    out = []
    for chunk in ss.read(connector, config):
        for m in chunk:
            if m["type"] == "RECORD":
                r = m["record"]
                out.append(p.RecordLines(r["stream"], [r["data"]], r["emitted_at"]).lines())
    return out


def _same_lines(connector: str, config: dict[str, Any], rows: int) -> None:
    cli, dicts = _cli_lines(connector, config), _dict_lines(connector, config)
    assert len(cli) == len(dicts) == rows
    for ours, reference in zip(cli, dicts, strict=True):
        assert EMITTED.sub(b"", ours) == EMITTED.sub(b"", reference)


@pytest.fixture(scope="module")
def pg() -> Iterator[dict[str, str]]:
    psql(f'DROP DATABASE IF EXISTS "{DB}"; CREATE DATABASE "{DB}";')
    try:
        psql(PG_SETUP, database=DB)
        yield {"connection_string": f"postgresql://postgres@127.0.0.1:5432/{DB}", "batch_size": 700}
    finally:
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE);')


@pytest.fixture(scope="module")
def my() -> Iterator[dict[str, Any]]:
    mysql(f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB};")
    try:
        mysql(MY_SETUP, database=DB)
        yield {"host": "127.0.0.1", "port": 3306, "database": DB, "user": "root", "batch_size": 700}
    finally:
        mysql(f"DROP DATABASE IF EXISTS {DB};")


def test_postgres_lines_match_the_dict_path(pg: dict[str, str]) -> None:
    _same_lines("postgres", pg, 3000)


def test_mariadb_lines_match_the_dict_path(my: dict[str, Any]) -> None:
    _same_lines("mariadb", my, 3000)


def test_sqlite_lines_match_the_dict_path(tmp_path: Path) -> None:
    path = tmp_path / "types.db"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance REAL, data BLOB, created DATETIME,
                        born DATE, note VARCHAR(10), n NUMERIC);
    """)
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, f'ñame {i} ☃ "{i}"\n', i * 1.5, bytes([i % 256]), f"2024-01-01 00:00:{i % 60:02d}", "2024-01-01",
          None, i) for i in range(1, 2001)],
    )
    con.commit()
    con.close()
    _same_lines("sqlite", {"connection_string": str(path), "batch_size": 700}, 2000)
