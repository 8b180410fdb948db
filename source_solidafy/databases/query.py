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

A plan unit (``read --plan``) adds its key range (:class:`KeyRange`), which DuckDB passes on to the
database, so each unit is a range scan of the key's index::

    SELECT ... FROM src."public"."orders" WHERE "id" >= CAST(? AS BIGINT) AND "id" < CAST(? AS BIGINT)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from source_solidafy.databases.connection import sql_ident
from source_solidafy.databases.types import select_expr
from source_solidafy.errors import UsageError

if TYPE_CHECKING:
    from source_solidafy.databases.catalog import Column, Table


@dataclass(frozen=True)
class KeyRange:
    """The part of a table a plan unit reads (``databases/plan.py``): ``lower <= key < upper``.

    ``None`` bounds are open; ``nulls`` adds the rows whose key is NULL; ``cursor_max`` (with a
    cursor) leaves rows whose cursor is newer than the plan to the next run; ``cursor`` names the
    cursor column the plan was made with (the unit reads incrementally on it).
    """

    key: Column
    lower: Any = None
    upper: Any = None
    nulls: bool = False
    cursor_max: Any = None
    cursor: str | None = None

    @classmethod
    def of_unit(cls, table: Table, bounds: dict[str, Any], where: str) -> KeyRange:
        """The one range of a unit's bounds: a piece, or ``partitions`` of neighbouring pieces."""
        pieces = bounds.get("partitions") if "partitions" in bounds else [bounds]
        if not isinstance(pieces, list) or not pieces or not all(isinstance(p, dict) for p in pieces):
            raise UsageError(f"{where}: a range unit's bounds must be a key range or a list of them")
        names = {p.get("key") for p in pieces}
        key = table.column(str(pieces[0].get("key")))
        if len(names) != 1 or key is None:
            raise UsageError(f"{where}: the plan splits {table.stream} on {sorted(map(str, names))}, "
                             f"which is not one of its columns now; make a new plan")
        for before, after in zip(pieces, pieces[1:], strict=False):
            if before.get("upper") != after.get("lower") or before.get("upper") is None:
                raise UsageError(f"{where}: the unit's key ranges are not neighbours; make a new plan")
        return cls(key, pieces[0].get("lower"), pieces[-1].get("upper"), any(p.get("nulls") for p in pieces),
                   pieces[0].get("cursor_max"), pieces[0].get("cursor"))


def _param(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) else str(value)


def _cursor_conditions(cursor: Column | None, since: Any, key_range: KeyRange | None) -> tuple[list[str], list[Any]]:
    if cursor is None:
        return [], []
    col = sql_ident(cursor.name)
    conds, params = [], []
    if since is not None:
        conds.append(f"{col} >= CAST(? AS {cursor.type})")
        params.append(_param(since))
    if key_range is not None and key_range.cursor_max is not None:  # a NULL cursor is read only without state
        newest = f"{col} <= CAST(? AS {cursor.type})"
        conds.append(newest if since is not None else f"({newest} OR {col} IS NULL)")
        params.append(_param(key_range.cursor_max))
    return conds, params


def _branches(key_range: KeyRange | None, shared: list[str], params: list[Any]) -> list[tuple[list[str], list[Any]]]:
    """WHERE conditions and parameters of each SELECT: the key range, and its NULL keys apart (an
    OR would keep the database from using its index for the range)."""
    if key_range is None:
        return [(shared, params)]
    key = sql_ident(key_range.key.name)
    conds, values = [], []
    if key_range.lower is not None:
        conds.append(f"{key} >= CAST(? AS {key_range.key.type})")
        values.append(_param(key_range.lower))
    if key_range.upper is not None:
        conds.append(f"{key} < CAST(? AS {key_range.key.type})")
        values.append(_param(key_range.upper))
    out = [([*conds, *shared], [*values, *params])]
    if key_range.nulls and key_range.key.nullable:
        out.append(([f"{key} IS NULL", *shared], list(params)))
    return out


def build_select(
    table: Table, cursor: Column | None, since: Any, limit: int | None, key_range: KeyRange | None = None
) -> tuple[str, list[Any]]:
    """SQL text and parameters. Identifiers come from the catalog and are quoted; values are bound."""
    columns = ", ".join(select_expr(c.name, c.type) for c in table.columns) or "*"
    shared, shared_params = _cursor_conditions(cursor, since, key_range)
    selects, params = [], []
    for conds, values in _branches(key_range, shared, shared_params):
        selects.append(f"SELECT {columns} FROM {table.ref}" + (f" WHERE {' AND '.join(conds)}" if conds else ""))
        params.extend(values)
    sql = selects[0] if len(selects) == 1 else "SELECT * FROM (" + " UNION ALL ".join(selects) + ")"
    if cursor is not None:
        sql += f" ORDER BY {sql_ident(cursor.name)} NULLS LAST"
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
