"""The SELECT a read runs: quoted identifiers, bound state, cursor order, limit."""

from __future__ import annotations

import duckdb

from source_solidafy.databases.catalog import Column, Table, resolve
from source_solidafy.databases.query import build_select
from source_solidafy.errors import UnknownStreamError


def _table() -> Table:
    return Table("public.o", "public", 'o"; DROP', [Column("id", duckdb.sqltype("INTEGER")),
                                                    Column("at", duckdb.sqltype("TIMESTAMP WITH TIME ZONE")),
                                                    Column("iv", duckdb.sqltype("INTERVAL"))])


def test_full_refresh_select() -> None:
    sql, params = build_select(_table(), None, None, None)
    assert sql == 'SELECT "id", "at", CAST("iv" AS VARCHAR) AS "iv" FROM src."public"."o""; DROP"'
    assert params == []


def test_incremental_select_binds_state() -> None:
    table = _table()
    sql, params = build_select(table, table.columns[1], "2024-01-01'; DROP TABLE x; --", 10)
    assert sql.endswith(
        'WHERE "at" >= CAST(? AS TIMESTAMP WITH TIME ZONE) ORDER BY "at" NULLS LAST LIMIT 10'
    )
    assert params == ["2024-01-01'; DROP TABLE x; --"]
    sql, params = build_select(table, table.columns[0], None, None)
    assert sql.endswith('ORDER BY "id" NULLS LAST') and params == []


def test_select_runs_in_duckdb_and_filters_inclusively() -> None:
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS src")
    con.execute('CREATE TABLE src.main.t (id INTEGER, "at" TIMESTAMP)')
    con.execute("INSERT INTO src.main.t VALUES (1, '2024-01-01'), (2, '2024-01-02'), (3, NULL), (4, '2024-01-03')")
    table = Table("t", "main", "t", [Column("id", duckdb.sqltype("INTEGER")), Column("at", duckdb.sqltype("TIMESTAMP"))])
    sql, params = build_select(table, table.columns[1], "2024-01-02T00:00:00", None)
    assert [r[0] for r in con.execute(sql, params).fetchall()] == [2, 4]
    sql, params = build_select(table, table.columns[1], None, None)
    assert [r[0] for r in con.execute(sql, params).fetchall()] == [1, 2, 4, 3]


def test_resolve_suggests_close_names() -> None:
    tables = {"public.orders": _table()}
    assert resolve(tables, "public.orders", "postgres") is tables["public.orders"]
    try:
        resolve(tables, "public.order", "postgres")
    except UnknownStreamError as exc:
        assert "did you mean public.orders" in str(exc)
    else:
        raise AssertionError("no error")
