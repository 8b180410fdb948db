"""DuckDB type -> JSON Schema and export expression; cursor values -> JSON state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID

import duckdb
import pytest

from source_solidafy.databases.query import state_value
from source_solidafy.databases.types import column_schema, select_expr, usable_as_cursor


@pytest.mark.parametrize(
    ("sql_type", "schema"),
    [
        ("BOOLEAN", {"type": "boolean"}),
        ("SMALLINT", {"type": "integer"}),
        ("UBIGINT", {"type": "integer"}),
        ("HUGEINT", {"type": "integer"}),
        ("DECIMAL(12,3)", {"type": "number"}),
        ("DECIMAL(18,0)", {"type": "integer"}),
        ("DOUBLE", {"type": "number"}),
        ("VARCHAR", {"type": "string"}),
        ("JSON", {"type": "string"}),
        ("UUID", {"type": "string", "format": "uuid"}),
        ("DATE", {"type": "string", "format": "date"}),
        ("TIMESTAMP", {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"}),
        ("TIMESTAMP WITH TIME ZONE",
         {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"}),
        ("TIMESTAMP_NS", {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"}),
        ("BLOB", {"type": "string", "contentEncoding": "base64"}),
        ("INTEGER[]", {"type": "array", "items": {"type": ["null", "integer"]}}),
        ("STRUCT(x DOUBLE, \"y z\" VARCHAR)",
         {"type": "object", "properties": {"x": {"type": ["null", "number"]}, "y z": {"type": ["null", "string"]}}}),
        ("ENUM('a', 'b')", {"type": "string", "enum": ["a", "b"]}),
        ("INTERVAL", {"type": "string"}),
        ("TIME WITH TIME ZONE", {"type": "string"}),
        ("MAP(VARCHAR, INTEGER)", {"type": "string"}),
        ("INTERVAL[]", {"type": "string"}),
    ],
)
def test_schema_map(sql_type: str, schema: dict) -> None:
    assert column_schema(duckdb.sqltype(sql_type), is_nullable=False) == schema


def test_nullable_adds_null_type_and_enum_member() -> None:
    assert column_schema(duckdb.sqltype("BIGINT"), is_nullable=True) == {"type": ["null", "integer"]}
    assert column_schema(duckdb.sqltype("ENUM('a')"), is_nullable=True) == {"type": ["null", "string"],
                                                                           "enum": ["a", None]}


def test_select_expressions_cast_only_what_arrow_cannot_carry() -> None:
    assert select_expr('we"ird', duckdb.sqltype("INTEGER")) == '"we""ird"'
    assert select_expr("iv", duckdb.sqltype("INTERVAL")) == 'CAST("iv" AS VARCHAR) AS "iv"'
    assert select_expr("t", duckdb.sqltype("TIMESTAMP_NS")) == 'CAST("t" AS TIMESTAMP) AS "t"'
    assert select_expr("s", duckdb.sqltype("STRUCT(a INTEGER)")) == '"s"'


def test_cursor_types() -> None:
    assert usable_as_cursor(duckdb.sqltype("TIMESTAMP WITH TIME ZONE"))
    assert usable_as_cursor(duckdb.sqltype("DECIMAL(10,2)"))
    assert not usable_as_cursor(duckdb.sqltype("INTEGER[]"))
    assert not usable_as_cursor(duckdb.sqltype("BLOB"))


def test_state_values_are_json() -> None:
    tz = dt.timezone.utc
    assert state_value(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz)) == "2024-01-02T03:04:05+00:00"
    assert state_value(dt.datetime(2024, 1, 2, 3, 4, 5, 6)) == "2024-01-02T03:04:05.000006"
    assert state_value(dt.date(2024, 1, 2)) == "2024-01-02"
    assert state_value(Decimal("12.50")) == "12.50" and state_value(Decimal("12")) == 12
    assert state_value(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert state_value(7) == 7 and state_value("b") == "b"
