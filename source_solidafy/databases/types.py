"""Column types: DuckDB type -> JSON Schema, and the SELECT expression that exports each column well.

The scanner extensions map the database's types to DuckDB types; we map those (the same map for all
three databases, documented in docs/databases.md):

================================  =============================================================
DuckDB type                       JSON Schema (``["null", ...]`` unless the column is NOT NULL)
================================  =============================================================
BOOLEAN                           boolean
TINYINT..BIGINT, unsigned, HUGE   integer
DECIMAL(p, 0)                     integer
DECIMAL(p, s>0), FLOAT, DOUBLE    number
VARCHAR (text, json, jsonb, ...)  string
ENUM                              string with ``enum``
UUID                              string, format uuid
DATE                              string, format date
TIME                              string, format time
TIMESTAMP                         string, format date-time (airbyte_type timestamp_without_timezone)
TIMESTAMP WITH TIME ZONE          string, format date-time (airbyte_type timestamp_with_timezone), UTC
BLOB (bytea, blob, binary)        string, contentEncoding base64
LIST / ARRAY                      array of the element's schema
STRUCT                            object with the fields' schemas
anything else (INTERVAL, TIMETZ,  string: the column is read as ``CAST(col AS VARCHAR)`` because
BIT, MAP, UNION, BIGNUM, ...)     Arrow/Parquet/JSON have no faithful equivalent
================================  =============================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from source_solidafy.databases.connection import sql_ident

if TYPE_CHECKING:
    from duckdb.sqltypes import DuckDBPyType

_INTEGERS = {
    "tinyint", "smallint", "integer", "bigint", "hugeint",
    "utinyint", "usmallint", "uinteger", "ubigint", "uhugeint",
}
_SCALARS: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "varchar": {"type": "string"},
    "uuid": {"type": "string", "format": "uuid"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time", "airbyte_type": "time_without_timezone"},
    "timestamp": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
    "timestamp_s": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
    "timestamp_ms": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
    "timestamp with time zone": {
        "type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone",
    },
    "blob": {"type": "string", "contentEncoding": "base64"},
}
_CURSOR_IDS = _INTEGERS | {
    "decimal", "float", "double", "varchar", "uuid", "date", "timestamp", "timestamp_s",
    "timestamp_ms", "timestamp_ns", "timestamp with time zone",
}


def _members(t: DuckDBPyType) -> dict[str, Any]:
    """A type's children by name: member types (list, struct), or numbers and names (decimal, enum)."""
    return dict(t.children)


def exportable(t: DuckDBPyType) -> bool:
    """True when the column can go to Arrow as it is (else it is read as VARCHAR)."""
    tid = t.id
    if tid in _INTEGERS or tid in _SCALARS or tid in ("decimal", "enum"):
        return True
    if tid in ("list", "array"):
        return exportable(_members(t)["child"])
    if tid == "struct":
        return all(exportable(child) for child in _members(t).values())
    return False


def value_schema(t: DuckDBPyType) -> dict[str, Any]:
    """The JSON Schema of a non-null value of type ``t`` as it is exported by :func:`select_expr`."""
    tid = t.id
    if tid == "timestamp_ns":
        return dict(_SCALARS["timestamp"])
    if not exportable(t):
        return {"type": "string"}
    if tid in _INTEGERS:
        return {"type": "integer"}
    if tid == "decimal":
        scale = _members(t)["scale"]
        return {"type": "integer"} if scale == 0 else {"type": "number"}
    if tid == "enum":
        return {"type": "string", "enum": list(_members(t)["values"])}
    if tid in ("list", "array"):
        return {"type": "array", "items": nullable(value_schema(_members(t)["child"]))}
    if tid == "struct":
        props = {name: nullable(value_schema(child)) for name, child in _members(t).items()}
        return {"type": "object", "properties": props}
    return dict(_SCALARS[tid])


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow null: ``{"type": "string"}`` -> ``{"type": ["null", "string"]}`` (enum gains None)."""
    out = dict(schema)
    out["type"] = ["null", schema["type"]]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def column_schema(t: DuckDBPyType, is_nullable: bool) -> dict[str, Any]:
    schema = value_schema(t)
    return nullable(schema) if is_nullable else schema


def select_expr(name: str, t: DuckDBPyType) -> str:
    """``"col"``, or a cast that keeps the column's name when Arrow would export it badly."""
    col = sql_ident(name)
    if t.id == "timestamp_ns":
        return f"CAST({col} AS TIMESTAMP) AS {col}"
    if not exportable(t):
        return f"CAST({col} AS VARCHAR) AS {col}"
    return col


def usable_as_cursor(t: DuckDBPyType) -> bool:
    """Cursor columns must be ordered scalars whose values survive a round trip through JSON state."""
    return t.id in _CURSOR_IDS
