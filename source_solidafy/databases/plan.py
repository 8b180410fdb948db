"""The database planner: a table cut into key ranges, each read as a range-bounded (indexed) scan.

A stream is split on one key: the first primary-key column, else its cursor column. A table with
neither, or whose key has no order that survives JSON (``types.usable_as_cursor``), is one unit.

Bounds come from the database itself, in one or two queries run by the server (PostgreSQL and
MySQL through the scanner's pass-through query, SQLite through DuckDB): ``count(*)``, ``min`` and
``max`` of the key (and of the cursor, below). Dense integer keys (at most twice as many values
between min and max as rows, as auto-increment ids are) are cut into equal widths; any other key
at quantiles: the first key of each ``ntile`` bucket over the key, in the database's own order.

Pieces are half-open, ``lower <= key < upper``, the first with no lower bound and the last with no
upper bound (rows inserted below the min or above the max while the plan runs land in them), and the
last also takes the rows whose key is NULL: every row of the table is in exactly one piece, whatever
the key's duplicates. Pieces are small (``PIECE_ROWS`` rows or an eighth of the target per unit,
between ``MIN_PIECES`` and ``MAX_PIECES`` of them) and the plan bundles neighbours into units (``--target-rows-per-unit``, ``--max-units``); a unit's bounds
list its pieces, which the reader joins back into one range (``KeyRange.of_unit``).

A stream with a cursor also pins ``cursor_max``, the newest cursor at planning: every unit reads
``cursor <= cursor_max`` (and ``>=`` the incoming state), so the merged cursor (the newest of the
units') never passes a row that one unit read before another unit's rows were updated; rows updated
after planning are the next run's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from source_solidafy.databases.catalog import Column, Table, list_tables, load_columns, resolve
from source_solidafy.databases.query import KeyRange, state_value
from source_solidafy.databases.types import usable_as_cursor
from source_solidafy.scale.planning import Piece, Pieces, PlanContext, register_planner, whole_stream
from source_solidafy.scale.units import Estimate, StreamPlan, state_sha256

if TYPE_CHECKING:
    import duckdb

    from source_solidafy.databases.source import DatabaseSource

PIECE_ROWS = 50_000  # at most; an eighth of --target-rows-per-unit when that is smaller
MIN_PIECES = 64  # so that --max-units alone can cut even a small table (when it has that many rows)
MAX_PIECES = 256
_PG_BYTE_ORDER = {"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic", "pg_c_utf8"}
_MYSQL_BYTE_ORDER = {"binary", "utf8mb4_0900_bin"}
_INTEGERS = {"tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger",
             "ubigint", "uhugeint"}


@register_planner("database")
def plan_table(source: DatabaseSource, stream: str, pc: PlanContext) -> Pieces:
    config = source.validate_config(pc.config)
    session = source._session(config)
    con = session.cursor()
    try:
        table = resolve(list_tables(con, source.dialect, session.spec.database), stream, source.name)
        load_columns(con, source.dialect, [table])
        cursor = source._cursor_column(table, pc.cursor_fields.get(stream), config)
        server = _Server(con, source.dialect, table)
        key = split_key(table, cursor, server)
        if key is None:
            return whole_stream(source, stream, pc)
        rows, low, high, newest = server.stats(key, cursor)
        bounds = _boundaries(server, key, _piece_count(rows, pc), rows, low, high)
    finally:
        con.close()
    incoming = pc.state.get(stream) or None
    pieces = _pieces(key, bounds, rows, "min/max" if _dense(key, rows, low, high) else "quantiles")
    if cursor is not None:  # the units read incrementally on it, up to the newest cursor now
        pinned = {"cursor": cursor.name, **({"cursor_max": newest} if newest is not None else {})}
        pieces = [Piece({**p.bounds, **pinned}, p.estimate) for p in pieces]
    pieces = [Piece(p.bounds, p.estimate, incoming) for p in pieces]
    plan = StreamPlan(base=incoming, replace=not incoming, state_sha256=state_sha256(incoming),
                      cursor_field=pc.cursor_fields.get(stream))  # every unit reads with the plan's --cursor-field
    return Pieces("range", pieces, plan, bundle=True, slice_state=lambda group: incoming)


def split_key(table: Table, cursor: Column | None, server: _Server) -> Column | None:
    """The first primary-key column, else the cursor column; None when neither has a usable order.

    Text is usable only in byte order (``C`` in PostgreSQL, a no-pad binary collation in MySQL,
    SQLite's default): DuckDB hands a range to the database or checks it itself as it sees fit, so
    the database's order and DuckDB's must agree, or a row could fall in two ranges or in none.
    """
    first = table.column(table.primary_key[0]) if table.primary_key else None
    for column in (first, cursor):
        if column is None or not usable_as_cursor(column.type):
            continue
        if column.type.id != "varchar" or server.byte_ordered(column):
            return column
    return None


def _dense(key: Column, rows: int, low: Any, high: Any) -> bool:
    return key.type.id in _INTEGERS and isinstance(low, int) and isinstance(high, int) and high - low < 2 * rows


def _piece_count(rows: int, pc: PlanContext) -> int:
    piece_rows = max(1, min(PIECE_ROWS, (pc.target_rows_per_unit or PIECE_ROWS * 8) // 8))
    return max(1, min(MAX_PIECES, max(math.ceil(rows / piece_rows), min(MIN_PIECES, rows))))


def _boundaries(server: _Server, key: Column, count: int, rows: int, low: Any, high: Any) -> list[Any]:
    """Sorted distinct inner boundaries (each the lower bound of a piece after the first)."""
    if count == 1 or low is None:
        return []
    if _dense(key, rows, low, high):
        width = (high - low + 1) / count
        cuts = [low + math.floor(i * width) for i in range(1, count)]
    else:
        cuts = [state_value(v) for v in server.quantiles(key, count)[1:]]
    out: list[Any] = []
    for cut in cuts:
        if cut is not None and (not out or cut != out[-1]) and cut != state_value(low):
            out.append(cut)
    return out


def _pieces(key: Column, bounds: list[Any], rows: int, basis: str) -> list[Piece]:
    edges = [None, *bounds, None]
    each = math.ceil(rows / len(edges[:-1])) if rows else 0
    out = []
    for i in range(len(edges) - 1):
        last = i == len(edges) - 2
        piece = {"key": key.name, "lower": edges[i], "upper": edges[i + 1], "nulls": last}
        out.append(Piece(piece, Estimate(each, 1, basis)))
    return out


class _Server:
    """Planning queries, run by the database server itself (they use its indexes)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, dialect: str, table: Table) -> None:
        self.con, self.dialect, self.table = con, dialect, table

    def _ident(self, name: str) -> str:
        if self.dialect == "mysql":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def _ref(self) -> str:
        if self.dialect == "sqlite":
            return self.table.ref  # DuckDB reads the file itself: no server to send it to
        return f"{self._ident(self.table.schema)}.{self._ident(self.table.name)}"

    def _literal(self, value: str) -> str:
        text = value.replace("\\", "\\\\") if self.dialect == "mysql" else value
        return "'" + text.replace("'", "''") + "'"

    def byte_ordered(self, column: Column) -> bool:
        """The database orders this text column by its bytes (so DuckDB and the database agree)."""
        if self.dialect == "sqlite":
            return True  # DuckDB reads the file and compares itself
        where = " AND ".join(f"{k} = {self._literal(v)}" for k, v in (
            ("table_schema", self.table.schema), ("table_name", self.table.name), ("column_name", column.name)))
        if self.dialect == "mysql":
            found = self._run(f"SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE {where}")
            name = str(found[0][0] or "") if found else ""
            return name.endswith("_nopad_bin") or name in _MYSQL_BYTE_ORDER
        default = "(SELECT datcollate FROM pg_database WHERE datname = current_database())"
        found = self._run(f"SELECT coalesce(collation_name, {default}) AS c FROM information_schema.columns WHERE {where}")
        return bool(found) and str(found[0][0]) in _PG_BYTE_ORDER

    def _run(self, sql: str) -> list[tuple[Any, ...]]:
        if self.dialect == "sqlite":
            return self.con.execute(sql).fetchall()
        function = "postgres_query" if self.dialect == "postgres" else "mysql_query"
        rows = self.con.execute(f"SELECT * FROM {function}('src', ?)", [sql]).fetchall()
        # MySQL's pass-through gives text of a binary collation as bytes
        return [tuple(v.decode() if isinstance(v, bytes) else v for v in row) for row in rows]

    def stats(self, key: Column, cursor: Column | None) -> tuple[int, Any, Any, Any]:
        """Rows, the key's min and max, and the cursor's max (None without a cursor)."""
        k = self._ident(key.name)
        newest = f", max({self._ident(cursor.name)}) AS c" if cursor is not None else ""
        sql = f"SELECT count(*) AS n, min({k}) AS lo, max({k}) AS hi{newest} FROM {self._ref()}"
        rows, low, high, *rest = self._run(sql)[0]
        return int(rows), low, high, state_value(rest[0]) if rest and rest[0] is not None else None

    def quantiles(self, key: Column, count: int) -> list[Any]:
        """The first key of each of ``count`` equal buckets of the non-null keys, in key order."""
        k = self._ident(key.name)
        sql = (f"SELECT min(k) FROM (SELECT {k} AS k, ntile({int(count)}) OVER (ORDER BY {k}) AS b "
               f"FROM {self._ref()} WHERE {k} IS NOT NULL) AS x GROUP BY b ORDER BY b")
        return [row[0] for row in self._run(sql)]


__all__ = ["KeyRange", "plan_table", "split_key"]
