"""The mysql connector against the real MariaDB on 127.0.0.1:3306 (a database and a user made per run)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import jsonschema
import pytest

from integration_tests.test_db_support import as_json_rows, mysql, unique
from source_solidafy.databases import get_database_source
from source_solidafy.databases.source import DatabaseConnectionError, DatabaseSource
from source_solidafy.errors import UnknownStreamError
from source_solidafy.source import ReadContext

DB = unique("solidafy_h4_my")
OTHER_DB = DB + "_b"
USER = DB[:32]
PASSWORD = "p'a s\\s=w@rd:/%?#&\" x"


def _sql_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


SETUP = """
CREATE TABLE all_types (
  id int PRIMARY KEY, ti tinyint NOT NULL, flag tinyint(1), bi bigint, ubi bigint unsigned,
  dc decimal(12,3), fl float, db double, ch char(3), vc varchar(20), tx text, d date, dtm datetime(6),
  ts timestamp NULL, tm time, yr year, js json, bl blob, en enum('a','b'), st set('x','y')
) CHARACTER SET utf8mb4;
INSERT INTO all_types VALUES (1, 1, 1, 9007199254740993, 18446744073709551615, 123.456, 1.5, 2.25,
  'abc', 'v', 'héllo ☃ 日本', '2024-01-02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05',
  '10:11:12', 2024, '{"a": 1}', x'deadbeef', 'b', 'x,y');
INSERT INTO all_types (id, ti) VALUES (2, 2);
CREATE TABLE big (id int PRIMARY KEY, updated_at datetime NOT NULL, note varchar(40));
INSERT INTO big SELECT seq, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND, CONCAT('row ', seq)
  FROM seq_1_to_100000;
CREATE TABLE pair (a int, b varchar(10), PRIMARY KEY (b, a));
CREATE VIEW big_view AS SELECT id FROM big;
"""


@pytest.fixture(scope="module")
def my() -> Iterator[dict[str, str]]:
    mysql(f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB};"
          f"DROP DATABASE IF EXISTS {OTHER_DB}; CREATE DATABASE {OTHER_DB};"
          f"CREATE TABLE {OTHER_DB}.t (id int);"
          f"DROP USER IF EXISTS '{USER}'@'%'; CREATE USER '{USER}'@'%' IDENTIFIED BY {_sql_str(PASSWORD)};"
          f"GRANT SELECT ON {DB}.* TO '{USER}'@'%'; GRANT SELECT ON {OTHER_DB}.* TO '{USER}'@'%';")
    try:
        mysql(SETUP, database=DB)
        yield {"host": "127.0.0.1", "port": 3306, "database": DB, "user": USER, "password": PASSWORD}
    finally:
        mysql(f"DROP DATABASE IF EXISTS {DB}; DROP DATABASE IF EXISTS {OTHER_DB}; DROP USER IF EXISTS '{USER}'@'%';")


@pytest.fixture(scope="module")
def source() -> Iterator[DatabaseSource]:
    src = get_database_source("mariadb")
    assert isinstance(src, DatabaseSource)
    yield src
    src.close()


def read(source: DatabaseSource, stream: str, config: dict, **kw) -> list:
    return list(source.read_stream(stream, ReadContext(config=config, **kw)))


def test_check_with_special_password_fields_and_url(source: DatabaseSource, my: dict) -> None:
    assert source.check(my).message == "Connection successful. Found 4 tables."
    url = f"mysql://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:3306/{DB}"
    assert source.check({"connection_string": url}).ok


def test_wrong_password_is_refused_without_showing_it(source: DatabaseSource, my: dict) -> None:
    wrong = PASSWORD + "-wrong"
    result = source.check({**my, "password": wrong})
    assert not result.ok
    assert "Access denied" in result.message and wrong not in result.message
    url = f"mysql://{USER}:{quote(wrong, safe='')}@127.0.0.1:3306/{DB}"
    with pytest.raises(DatabaseConnectionError) as info:
        source.stream_names({"connection_string": url})
    assert "Access denied" in str(info.value) and quote(wrong, safe="") not in str(info.value)


def test_streams_are_tables_of_the_database_or_database_dot_table(source: DatabaseSource, my: dict) -> None:
    assert source.stream_names(my) == ["all_types", "big", "big_view", "pair"]
    everything = source.stream_names({k: v for k, v in my.items() if k != "database"})
    assert {f"{DB}.big", f"{OTHER_DB}.t"} <= set(everything)
    assert not [n for n in everything if n.split(".")[0] in ("mysql", "information_schema", "sys")]
    rows = read(source, f"{OTHER_DB}.t", {k: v for k, v in my.items() if k != "database"})
    assert sum(len(b) for b in rows) == 0


def test_discover_types_and_keys_from_information_schema(source: DatabaseSource, my: dict) -> None:
    streams = {s.name: s for s in source.discover(my)}
    props = streams["all_types"].json_schema["properties"]
    assert props["id"] == {"type": "integer"} and props["ti"] == {"type": "integer"}
    assert props["flag"] == {"type": ["null", "boolean"]}
    assert props["dc"] == {"type": ["null", "number"]}
    assert props["dtm"]["format"] == "date-time" and props["d"]["format"] == "date"
    assert props["bl"]["contentEncoding"] == "base64"
    assert streams["all_types"].primary_key == [["id"]]
    assert streams["pair"].primary_key == [["b"], ["a"]]  # key order, not column order
    assert streams["big_view"].primary_key == []


def test_read_every_type_matches_schema(source: DatabaseSource, my: dict) -> None:
    batches = read(source, "all_types", my)
    first, second = batches[0].records.to_pylist()
    assert first["bi"] == 9007199254740993 and first["ubi"] == 18446744073709551615
    assert first["dc"] == Decimal("123.456") and first["tx"] == "héllo ☃ 日本"
    assert first["dtm"] == dt.datetime(2024, 1, 2, 3, 4, 5, 123456) and first["bl"] == b"\xde\xad\xbe\xef"
    assert first["en"] == "b" and first["st"] == "x,y" and first["flag"] is True
    assert all(v is None for k, v in second.items() if k not in ("id", "ti"))
    schema = next(s for s in source.discover(my) if s.name == "all_types").json_schema
    for row in as_json_rows(batches):
        jsonschema.validate(row, schema)


def test_incremental_two_runs_with_inserts(source: DatabaseSource, my: dict) -> None:
    cfg = {**my, "cursor_fields": {"big": "updated_at"}}
    run1 = read(source, "big", cfg)
    assert [len(b) for b in run1] == [10_000] * 10
    assert run1[-1].state == {"cursor": "2024-01-02T03:46:40"}
    mysql("INSERT INTO big VALUES (100001, '2024-01-03 00:00:00', 'new'), (100002, '2023-01-01', 'old');", DB)
    run2 = read(source, "big", cfg, state=run1[-1].state)
    assert [r["id"] for b in run2 for r in b.records.to_pylist()] == [100000, 100001]
    assert run2[-1].state == {"cursor": "2024-01-03T00:00:00"}


def test_unknown_table_and_sql_stream_name(source: DatabaseSource, my: dict) -> None:
    with pytest.raises(UnknownStreamError, match="did you mean big"):
        read(source, "bgi", my)
    with pytest.raises(UnknownStreamError):
        read(source, "big`; DROP TABLE big; --", my)
    assert mysql("SELECT count(*) FROM big;", DB).strip() in ("100000", "100002")
