"""The one SELECT a stream read runs, and the cursor value that goes into state.

Incremental reads select ``cursor >= state`` (inclusive: the boundary rows come again, nothing is
lost; consumers dedupe on the primary key) in cursor order, so the state after each batch is simply
the largest cursor delivered so far. The state value is bound as a parameter and cast to the
column's type inside DuckDB, which pushes the filter down to PostgreSQL/MySQL::

    SELECT "id", "updated_at" FROM src."public"."orders"
    WHERE "updated_at" >= CAST(? AS TIMESTAMP WITH TIME ZONE)
    ORDER BY "updated_at" NULLS LAST

Rows whose cursor is NULL come last on a read without state and are never selected by a read with
state (they are not "newer" than anything).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from source_solidafy.databases.connection import sql_ident
from source_solidafy.databases.types import select_expr

if TYPE_CHECKING:
    from source_solidafy.databases.catalog import Column, Table


def build_select(
    table: Table, cursor: Column | None, since: Any, limit: int | None
) -> tuple[str, list[Any]]:
    """SQL text and parameters. Identifiers come from the catalog and are quoted; values are bound."""
    columns = ", ".join(select_expr(c.name, c.type) for c in table.columns) or "*"
    sql = f"SELECT {columns} FROM {table.ref}"
    params: list[Any] = []
    if cursor is not None:
        col = sql_ident(cursor.name)
        if since is not None:
            sql += f" WHERE {col} >= CAST(? AS {cursor.type})"
            params.append(since if isinstance(since, (int, float, str)) else str(since))
        sql += f" ORDER BY {col} NULLS LAST"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def state_value(value: Any) -> Any:
    """A cursor value as JSON: ISO 8601 for dates and times, exact strings for non-integral decimals."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, UUID):
        return str(value)
    return value
