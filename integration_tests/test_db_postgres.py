"""The postgres connector against the real PostgreSQL on 127.0.0.1:5432 (a database made per run)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal

import jsonschema
import pytest

from integration_tests.test_db_support import FakePostgres, as_json_rows, psql, unique
from source_solidafy.databases import get_database_source
from source_solidafy.databases.source import DatabaseConnectionError, DatabaseSource
from source_solidafy.errors import ConfigError, StateError, UnknownStreamError
from source_solidafy.source import ReadContext, Tuning

DB = unique("solidafy_h4_pg")
EVIL_TABLE = 'evil"; DROP TABLE public.victim; --'
EVIL_SQL = '"' + EVIL_TABLE.replace('"', '""') + '"'

SETUP = f'''
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE all_types (
  id integer PRIMARY KEY, i2 smallint NOT NULL, i8 bigint, num numeric(12,3), dbl double precision,
  flt real, flag boolean, txt text, vc varchar(20), d date, ts timestamp, tstz timestamptz,
  tm time, iv interval, j json, jb jsonb, u uuid, raw bytea, ints int[], tags text[], m mood
);
INSERT INTO all_types VALUES
 (1, 7, 9007199254740993, 123.456, 2.25, 1.5, true, 'héllo ☃ 日本 "q"', 'v', '2024-01-02',
  '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05+02', '10:11:12', '1 day 02:00:00',
  '{{"a": 1}}', '{{"b": [1, 2]}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\xdeadbeef',
  '{{1,2,3}}', '{{"x","y"}}', 'happy'),
 (2, 8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);
CREATE TABLE big (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, amount numeric(12,2), note text);
INSERT INTO big SELECT g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
  g / 100.0, 'row ' || g FROM generate_series(1, 100000) g;
CREATE TABLE events (id integer PRIMARY KEY, updated_at timestamp, name text);
INSERT INTO events VALUES (1, '2024-01-01 00:00:00', 'a'), (2, '2024-01-02 00:00:00', 'b'),
  (3, '2024-01-03 00:00:00', 'c'), (4, NULL, 'no cursor');
CREATE TABLE victim (id int);
CREATE TABLE {EVIL_SQL} (id int);
INSERT INTO {EVIL_SQL} VALUES (1);
CREATE SCHEMA other;
CREATE TABLE other."Weird ""Name""" ("Col ""x""" int NOT NULL, id int, PRIMARY KEY (id, "Col ""x"""));
CREATE VIEW events_view AS SELECT id, name FROM events;
'''


@pytest.fixture(scope="module")
def pg() -> Iterator[dict[str, str]]:
    psql(f'DROP DATABASE IF EXISTS "{DB}"; CREATE DATABASE "{DB}";')
    try:
        psql(SETUP, database=DB)
        yield {"connection_string": f"postgresql://postgres@127.0.0.1:5432/{DB}"}
    finally:
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE);')


@pytest.fixture(scope="module")
def source() -> Iterator[DatabaseSource]:
    src = get_database_source("postgresql")
    assert isinstance(src, DatabaseSource)
    yield src
    src.close()


def read(source: DatabaseSource, stream: str, config: dict, **kw) -> list:
    return list(source.read_stream(stream, ReadContext(config=config, **kw)))


def test_check_counts_tables(source: DatabaseSource, pg: dict) -> None:
    result = source.check(pg)
    assert result.ok, result.message
    assert result.message == "Connection successful. Found 7 tables."


def test_streams_are_schema_dot_table_with_views(source: DatabaseSource, pg: dict) -> None:
    names = source.stream_names(pg)
    assert names == sorted(names)
    assert {"public.all_types", "public.big", "public.events", "public.events_view",
            'other.Weird "Name"', f"public.{EVIL_TABLE}"} <= set(names)
    assert not [n for n in names if n.startswith(("pg_catalog.", "information_schema."))]


def test_discover_maps_types_keys_and_nullability(source: DatabaseSource, pg: dict) -> None:
    streams = {s.name: s for s in source.discover({**pg, "cursor_fields": {"public.big": "updated_at"}})}
    props = streams["public.all_types"].json_schema["properties"]
    assert props["id"] == {"type": "integer"} and props["i2"] == {"type": "integer"}
    assert props["i8"] == {"type": ["null", "integer"]}
    assert props["num"]["type"] == ["null", "number"] and props["dbl"]["type"] == ["null", "number"]
    assert props["flag"] == {"type": ["null", "boolean"]}
    assert props["txt"] == {"type": ["null", "string"]}
    assert props["d"]["format"] == "date"
    assert props["ts"]["airbyte_type"] == "timestamp_without_timezone"
    assert props["tstz"]["airbyte_type"] == "timestamp_with_timezone"
    assert props["u"]["format"] == "uuid"
    assert props["raw"]["contentEncoding"] == "base64"
    assert props["ints"] == {"type": ["null", "array"], "items": {"type": ["null", "integer"]}}
    assert props["m"]["enum"] == ["sad", "ok", "happy", None]
    assert props["j"]["type"] == ["null", "string"] and props["iv"]["type"] == ["null", "string"]
    assert streams["public.all_types"].primary_key == [["id"]]
    weird = streams['other.Weird "Name"']
    assert weird.primary_key == [["id"], ['Col "x"']]
    assert weird.json_schema["properties"]['Col "x"'] == {"type": "integer"}
    big = streams["public.big"].as_airbyte()
    assert big["default_cursor_field"] == ["updated_at"] and "incremental" in big["supported_sync_modes"]
    assert streams["public.events_view"].primary_key == []


def test_read_every_type_matches_schema(source: DatabaseSource, pg: dict) -> None:
    batches = read(source, "public.all_types", pg)
    rows = batches[0].records.to_pylist()
    first = rows[0]
    assert first["num"] == Decimal("123.456") and first["i8"] == 9007199254740993
    assert first["txt"] == 'héllo ☃ 日本 "q"'
    assert first["tstz"] == dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=dt.timezone.utc)
    assert first["raw"] == b"\xde\xad\xbe\xef" and first["ints"] == [1, 2, 3] and first["m"] == "happy"
    assert first["iv"] == "1 day 02:00:00"
    assert first["jb"] == '{"b": [1, 2]}'
    assert all(v is None for k, v in rows[1].items() if k not in ("id", "i2"))
    schema = next(s for s in source.discover(pg) if s.name == "public.all_types").json_schema
    for row in as_json_rows(batches):
        jsonschema.validate(row, schema)


def test_big_table_in_batches_of_batch_size(source: DatabaseSource, pg: dict) -> None:
    batches = read(source, "public.big", pg)
    assert [len(b) for b in batches] == [10_000] * 10
    assert all(b.state is None for b in batches)
    ids = [i for b in batches for i in b.records.column("id").to_pylist()]
    assert sorted(ids) == list(range(1, 100_001))
    small = read(source, "public.big", {**pg, "batch_size": 30_000})
    assert [len(b) for b in small] == [30_000, 30_000, 30_000, 10_000]
    opt = read(source, "public.big", pg, tuning=Tuning(batch_size=25_000), max_records=60_000)
    assert [len(b) for b in opt] == [25_000, 25_000, 10_000]


def test_incremental_state_per_batch_and_inclusive_second_run(source: DatabaseSource, pg: dict) -> None:
    cfg = {**pg, "cursor_fields": {"public.big": "updated_at"}}
    first = read(source, "public.big", cfg, max_records=25_000, tuning=Tuning(batch_size=10_000))
    assert [b.state for b in first] == [
        {"cursor": "2024-01-01T02:46:40+00:00"},
        {"cursor": "2024-01-01T05:33:20+00:00"},
        {"cursor": "2024-01-01T06:56:40+00:00"},
    ]
    again = read(source, "public.big", cfg, state=first[-1].state)
    ids = [i for b in again for i in b.records.column("id").to_pylist()]
    assert ids == list(range(25_000, 100_001))  # the boundary row comes again, nothing older
    assert again[-1].state == {"cursor": "2024-01-02T03:46:40+00:00"}


def test_incremental_over_two_runs_with_rows_inserted(source: DatabaseSource, pg: dict) -> None:
    cfg = pg
    run1 = read(source, "public.events", cfg, cursor_field="updated_at")
    assert [r["id"] for b in run1 for r in b.records.to_pylist()] == [1, 2, 3, 4]  # NULL cursor last
    state = run1[-1].state
    assert state == {"cursor": "2024-01-03T00:00:00"}
    psql("INSERT INTO events VALUES (5, '2024-01-04 00:00:00', 'new'), (6, '2023-12-31', 'old');", DB)
    try:
        run2 = read(source, "public.events", cfg, cursor_field="updated_at", state=state)
        assert [r["id"] for b in run2 for r in b.records.to_pylist()] == [3, 5]
        assert run2[-1].state == {"cursor": "2024-01-04T00:00:00"}
        full = read(source, "public.events", cfg, cursor_field="updated_at", state=state,
                    sync_mode="full_refresh")
        assert sum(len(b) for b in full) == 6
    finally:
        psql("DELETE FROM events WHERE id IN (5, 6);", DB)


def test_state_beyond_the_data_keeps_state_and_reads_nothing(source: DatabaseSource, pg: dict) -> None:
    batches = read(source, "public.events", pg, cursor_field="updated_at",
                   state={"cursor": "2999-01-01T00:00:00"})
    assert [len(b) for b in batches] == [0]
    assert batches[0].state == {"cursor": "2999-01-01T00:00:00"}


def test_bad_state_value_is_a_state_error(source: DatabaseSource, pg: dict) -> None:
    with pytest.raises(StateError, match="not a valid TIMESTAMP"):
        read(source, "public.events", pg, cursor_field="updated_at", state={"cursor": "yesterday-ish"})
    with pytest.raises(StateError, match="state cursor"):
        read(source, "public.events", pg, cursor_field="updated_at", state={"cursor": [1, 2]})


def test_unknown_table_and_sql_in_stream_name(source: DatabaseSource, pg: dict) -> None:
    with pytest.raises(UnknownStreamError, match="did you mean public.events"):
        read(source, "public.evnts", pg)
    with pytest.raises(UnknownStreamError):
        read(source, "public.big; DROP TABLE public.victim; --", pg)
    # a table whose real name is SQL is read as a table, nothing else happens
    rows = read(source, f"public.{EVIL_TABLE}", pg)
    assert rows[0].records.to_pylist() == [{"id": 1}]
    assert psql("SELECT count(*) FROM victim;", DB).strip() == "0"


def test_sql_in_cursor_field_is_refused(source: DatabaseSource, pg: dict) -> None:
    with pytest.raises(ConfigError, match="is not a column of public.events"):
        read(source, "public.events", pg, cursor_field="updated_at; DROP TABLE victim")
    with pytest.raises(ConfigError, match="cursor must be"):
        read(source, "public.all_types", pg, cursor_field="ints")
    assert psql("SELECT count(*) FROM victim;", DB).strip() == "0"


def test_cancel_stops_between_batches(source: DatabaseSource, pg: dict) -> None:
    cancel = threading.Event()
    got = []
    for batch in source.read_stream("public.big", ReadContext(config=pg, cancel=cancel)):
        got.append(batch)
        cancel.set()
    assert len(got) == 1


def test_attached_read_only(source: DatabaseSource, pg: dict) -> None:
    session = source._session(pg)
    con = session.cursor()
    try:
        assert con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = 'src'").fetchone() == (
            True,
        )
        with pytest.raises(Exception, match="read-only|read only"):
            con.execute("INSERT INTO src.public.victim VALUES (1)")
    finally:
        con.close()
    assert psql("SELECT count(*) FROM victim;", DB).strip() == "0"


def test_host_fields_with_special_password(pg: dict) -> None:
    src = get_database_source("postgres")
    assert src is not None
    cfg = {"host": "127.0.0.1", "port": 5432, "database": DB, "user": "postgres",
           "password": "p'a ss\\w dbname=postgres @:/?"}  # trust auth: the password is ignored
    try:
        assert src.check(cfg).ok
        assert "public.big" in src.stream_names(cfg)  # dbname in the password did not leak into the DSN
    finally:
        src.close()


def test_wrong_password_fails_check_with_reason_and_no_password() -> None:
    fake = FakePostgres()
    secret = "s3cr3t p@ss'word=x/?%"
    src = get_database_source("postgres")
    assert src is not None
    try:
        from urllib.parse import quote

        url = f"postgresql://app:{quote(secret, safe='')}@127.0.0.1:{fake.port}/shop"
        for cfg in ({"connection_string": url},
                    {"host": "127.0.0.1", "port": fake.port, "user": "app", "password": secret}):
            result = src.check(cfg)
            assert not result.ok
            assert 'password authentication failed for user "app"' in result.message
            assert secret not in result.message and quote(secret, safe="") not in result.message
        assert fake.passwords == [secret, secret]  # URL-decoded, byte for byte
        assert fake.startups[0]["database"] == "shop"
        with pytest.raises(DatabaseConnectionError) as info:
            src.stream_names({"connection_string": url})
        assert secret not in str(info.value) and "password authentication failed" in str(info.value)
    finally:
        src.close()
        fake.close()


def test_unknown_host_fails_check() -> None:
    src = get_database_source("postgres")
    assert src is not None
    result = src.check({"host": "no-such-host.invalid", "user": "u", "password": "hunter2-secret"})
    src.close()
    assert not result.ok
    assert "no-such-host.invalid" in result.message and "hunter2-secret" not in result.message


def test_missing_connection_is_one_clear_config_error() -> None:
    src = get_database_source("postgres")
    assert src is not None
    with pytest.raises(ConfigError, match="needs 'connection_string'.*or 'host'"):
        src.check({"database": "x"})
    with pytest.raises(ConfigError, match="must start with postgres:// or postgresql://"):
        src.check({"connection_string": "mysql://u@h/db"})
