"""What is in the attached database: tables and views, their columns, primary keys.

Stream names (what users type in ``--streams`` and ``cursor_fields``):

- PostgreSQL: ``schema.table`` (``public.orders``); system schemas (``pg_*``, ``information_schema``)
  are left out;
- MySQL/MariaDB: ``table`` when the config names a database, else ``database.table`` over every
  non-system database of the server;
- SQLite: ``table``.

A stream name is only ever looked up in this catalog (never spliced into SQL), and the table it
names is then quoted, so a stream name carrying SQL is just an unknown stream.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from source_solidafy.databases.connection import sql_ident
from source_solidafy.databases.engine import ALIAS
from source_solidafy.errors import UnknownStreamError

if TYPE_CHECKING:
    import duckdb
    from duckdb.sqltypes import DuckDBPyType

_SYSTEM_SCHEMAS = {
    "postgres": {"information_schema", "pg_catalog", "pg_toast"},
    "mysql": {"information_schema", "mysql", "performance_schema", "sys"},
    "sqlite": set(),
}


@dataclass
class Column:
    name: str
    type: DuckDBPyType
    nullable: bool = True


@dataclass
class Table:
    stream: str
    schema: str
    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """The quoted three-part name DuckDB resolves: ``src."schema"."table"``."""
        return f"{ALIAS}.{sql_ident(self.schema)}.{sql_ident(self.name)}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def list_tables(con: duckdb.DuckDBPyConnection, dialect: str, database: str | None) -> dict[str, Table]:
    """Stream name -> Table (without columns), sorted by name."""
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "UNION SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal",
        [ALIAS, ALIAS],
    ).fetchall()
    system = _SYSTEM_SCHEMAS[dialect]
    out: dict[str, Table] = {}
    for schema, name in sorted(rows):
        if schema in system or (dialect == "postgres" and schema.startswith("pg_")):
            continue
        if dialect == "mysql" and database and schema != database:
            continue
        stream = name if dialect == "sqlite" or (dialect == "mysql" and database) else f"{schema}.{name}"
        out[stream] = Table(stream=stream, schema=schema, name=name)
    return out


def load_columns(con: duckdb.DuckDBPyConnection, dialect: str, tables: list[Table]) -> None:
    """Fill ``columns`` (in table order, with NOT NULL) and ``primary_key`` of ``tables``."""
    import duckdb

    wanted = {(t.schema, t.name): t for t in tables}
    rows = con.execute(
        "SELECT schema_name, table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE database_name = ? ORDER BY schema_name, table_name, column_index",
        [ALIAS],
    ).fetchall()
    for schema, name, column, data_type, is_nullable in rows:
        table = wanted.get((schema, name))
        if table is not None:
            table.columns.append(Column(column, duckdb.sqltype(data_type), bool(is_nullable)))
    for table in tables:
        if not table.columns:  # views the scanner does not list in duckdb_columns()
            rel = con.sql(f"SELECT * FROM {table.ref}")
            table.columns = [Column(n, t) for n, t in zip(rel.columns, rel.types, strict=True)]
    keys = _mysql_keys(con) if dialect == "mysql" else _constraint_keys(con)
    for key, cols in keys.items():
        if key in wanted:
            wanted[key].primary_key = cols


def _constraint_keys(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    rows = con.execute(
        "SELECT schema_name, table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = ? AND constraint_type = 'PRIMARY KEY'",
        [ALIAS],
    ).fetchall()
    return {(s, t): list(cols) for s, t, cols in rows}


def _mysql_keys(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """The MySQL scanner reports no PRIMARY KEY constraints: ask the server's information_schema."""
    query = (
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
    )
    rows = con.execute("SELECT * FROM mysql_query(?, ?)", [ALIAS, query]).fetchall()
    out: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        out.setdefault((schema, table), []).append(column)
    return out


def resolve(tables: dict[str, Table], stream: str, connector: str) -> Table:
    """The Table of ``stream``, or UnknownStreamError listing close names."""
    table = tables.get(stream)
    if table is not None:
        return table
    close = difflib.get_close_matches(stream, list(tables), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    shown = ", ".join(list(tables)[:10]) + (", ..." if len(tables) > 10 else "")
    raise UnknownStreamError(
        f"{connector}: no table or view named {stream!r}{hint} (streams: {shown or 'none'})"
    )
