"""Type inference and widening: nothing is ever dropped, types follow null < bool < int64 < float64 < string."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from source_solidafy.sinks.arrow_types import (
    conform,
    merge_schemas,
    records_to_batch,
    schema_from_json_schema,
    widen,
)


def test_uniform_records_keep_native_types():
    batch = records_to_batch([{"id": 1, "name": "a", "score": 1.5, "ok": True, "x": None}])
    assert batch.schema == pa.schema(
        [("id", pa.int64()), ("name", pa.string()), ("score", pa.float64()), ("ok", pa.bool_()), ("x", pa.null())]
    )


def test_key_first_seen_after_ten_thousand_records_is_kept():
    records = [{"id": i} for i in range(10_000)] + [{"id": 10_000, "late": "here"}]
    batch = records_to_batch(records)
    assert batch.schema.names == ["id", "late"]
    late = batch.column(1).to_pylist()
    assert late[-1] == "here" and late.count(None) == 10_000


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        ([True, 2], pa.int64(), [1, 2]),
        ([1, 2.5], pa.float64(), [1.0, 2.5]),
        ([1, "a"], pa.string(), ["1", "a"]),
        ([True, "a", None], pa.string(), ["true", "a", None]),
        ([2**63, 1], pa.string(), [str(2**63), "1"]),
        ([-(2**63), 1], pa.int64(), [-(2**63), 1]),
        ([2**64 + 5], pa.string(), [str(2**64 + 5)]),
        ([None, None], pa.null(), [None, None]),
        ([2**63 - 1, -(2**63), 0], pa.int64(), [2**63 - 1, -(2**63), 0]),  # ints only: packed by struct ("q")
        ([1.5, -0.0, 1e308], pa.float64(), [1.5, -0.0, 1e308]),  # floats only: packed by struct ("d")
        ([float("inf"), -float("inf"), 5e-324], pa.float64(), [float("inf"), -float("inf"), 5e-324]),
        ([None, 1, None], pa.int64(), [None, 1, None]),
        ([1, None, 2], pa.int64(), [1, None, 2]),
        (["a", None, 1], pa.string(), ["a", None, "1"]),  # one type and nulls, then another
        ([None, "a", 2.5], pa.string(), [None, "a", "2.5"]),
        ([True, False], pa.bool_(), [True, False]),
    ],
)
def test_mixed_columns_widen_without_loss(values, dtype, expected):
    batch = records_to_batch([{"v": v} for v in values])
    assert batch.schema.field("v").type == dtype
    assert batch.column(0).to_pylist() == expected


def test_nested_values_become_json_text():
    deep = {"a": {"b": {"c": {"d": [1, {"e": "ünïcødé ✓"}]}}}}
    records = [{"obj": deep, "arr": [1, 2]}, {"obj": None, "arr": []}, {"obj": {"big": 2**70}, "arr": ["x", 1]}]
    batch = records_to_batch(records)
    assert batch.schema.field("obj").type == pa.string()
    assert batch.schema.field("arr").type == pa.string()
    obj = batch.column(0).to_pylist()
    assert json.loads(obj[0]) == deep and obj[1] is None and json.loads(obj[2]) == {"big": 2**70}
    assert [json.loads(v) for v in batch.column(1).to_pylist()] == [[1, 2], [], ["x", 1]]


def test_string_mixed_with_objects_keeps_both():
    batch = records_to_batch([{"v": "plain"}, {"v": {"k": 1}}])
    assert batch.column(0).to_pylist() == ["plain", '{"k":1}']


def test_unicode_and_empty_strings_roundtrip():
    values = ["", "日本語", "emoji 🎉", "a\nb\x00c"]
    assert records_to_batch([{"s": v} for v in values]).column(0).to_pylist() == values


@pytest.mark.parametrize(
    ("a", "b", "wider"),
    [
        (pa.null(), pa.int64(), pa.int64()),
        (pa.bool_(), pa.int64(), pa.int64()),
        (pa.int64(), pa.float64(), pa.float64()),
        (pa.float64(), pa.string(), pa.string()),
        (pa.int32(), pa.int64(), pa.int64()),
        (pa.timestamp("us"), pa.string(), pa.string()),
        (pa.timestamp("us"), pa.timestamp("us"), pa.timestamp("us")),
    ],
)
def test_widen_is_the_lattice_max(a, b, wider):
    assert widen(a, b) == wider
    assert widen(b, a) == wider


def test_merge_appends_new_columns_and_widens_old_ones():
    base = pa.schema([("id", pa.int64()), ("x", pa.null())])
    new = pa.schema([("x", pa.string()), ("id", pa.float64()), ("y", pa.bool_())])
    assert merge_schemas(base, new) == pa.schema([("id", pa.float64()), ("x", pa.string()), ("y", pa.bool_())])


def test_conform_fills_missing_columns_and_casts():
    schema = pa.schema([("id", pa.float64()), ("name", pa.string()), ("flag", pa.string())])
    batch = records_to_batch([{"id": 1, "flag": True}])
    out = conform(batch, schema)
    assert out.schema == schema
    assert out.to_pylist() == [{"id": 1.0, "name": None, "flag": "true"}]


def test_declared_json_schema_maps_to_arrow():
    schema = schema_from_json_schema(
        {
            "type": "object",
            "properties": {
                "id": {"type": ["null", "integer"]},
                "amount": {"type": "number"},
                "big": {"type": "integer", "airbyte_type": "big_integer"},
                "meta": {"type": ["null", "object"]},
                "tags": {"type": "array"},
                "either": {"type": ["string", "integer"]},
                "ok": {"type": "boolean"},
                "untyped": {},
            },
        }
    )
    assert schema == pa.schema(
        [("id", pa.int64()), ("amount", pa.float64()), ("big", pa.string()), ("meta", pa.string()),
         ("tags", pa.string()), ("either", pa.string()), ("ok", pa.bool_())]
    )
    assert schema_from_json_schema(None) is None
    assert schema_from_json_schema({"type": "object"}) is None


def test_python_objects_outside_json_become_text():
    from datetime import datetime, timezone
    from decimal import Decimal

    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    batch = records_to_batch([{"at": moment, "d": Decimal("1.10")}, {"at": None, "d": Decimal("2")}])
    assert batch.schema.field("at").type == pa.string()
    assert batch.column(0).to_pylist() == ["2025-01-02T03:04:05+00:00", None]
    assert batch.column(1).to_pylist() == ["1.10", "2"]


def test_float_columns_keep_nan_and_infinities():
    column = records_to_batch([{"v": v} for v in (float("nan"), float("inf"), -float("inf"))]).column(0)
    assert column.type == pa.float64() and column.null_count == 0
    assert str(column.to_pylist()) == "[nan, inf, -inf]"


def test_subclasses_of_json_types_are_text_as_before():
    """An IntEnum or a str Enum is not an int or a str to the lattice: text, as ``str`` or JSON writes it."""
    from enum import Enum, IntEnum

    class Level(IntEnum):
        HIGH = 3

    class Colour(str, Enum):
        RED = "red"

    batch = records_to_batch([{"n": Level.HIGH, "c": Colour.RED}, {"n": Level.HIGH, "c": Colour.RED}])
    assert batch.schema.types == [pa.string(), pa.string()]
    assert batch.column(0).to_pylist() == ["3", "3"]
    assert batch.column(1).to_pylist() == [str(Colour.RED)] * 2


def test_records_with_different_keys_are_all_collected():
    batch = records_to_batch([{"a": 1, "b": 2}, {"a": 3, "c": 4}, {"d": 5}])
    assert batch.schema.names == ["a", "b", "c", "d"]
    assert batch.to_pylist() == [
        {"a": 1, "b": 2, "c": None, "d": None},
        {"a": 3, "b": None, "c": 4, "d": None},
        {"a": None, "b": None, "c": None, "d": 5},
    ]


@pytest.mark.parametrize(
    "values",
    [
        ["DE", "FR", "JP"] * 400,  # one width, ASCII: the joined text becomes the data buffer
        [f"2024-01-{d:02d}T12:00:00Z" for d in range(1, 29)],
        ["x"],
        ["", "", ""],  # width 0
        ["ab", "abc", "ab"],  # widths differ in the middle only
        ["ab", "a", "b", "ab"],  # total length of a fixed width, boundaries elsewhere
        ["a\x00", "\x00b", "cd"],  # NUL inside values
        ["üb", "ab", "ab"],  # not ASCII
        ["aa", "bb"] * 3 + ["c", "dd", "e"] + ["ff"] * 3,
    ],
)
def test_string_columns_equal_arrows_own_conversion(values):
    column = records_to_batch([{"s": v} for v in values]).column(0)
    column.validate(full=True)
    assert column.type == pa.string()
    assert column.equals(pa.array(values, pa.string())) and column.to_pylist() == values


def test_conversion_leaves_garbage_collection_as_it_found_it():
    """The conversion defers collections (the column lists it makes are short-lived), never switches
    them on for a caller that had them off, and switches them back on when a value fails."""
    import gc

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    assert gc.isenabled()
    records_to_batch([{"a": 1}])
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        records_to_batch([{"a": "x"}, {"a": Unprintable()}])
    assert gc.isenabled()
    gc.disable()
    try:
        records_to_batch([{"a": 1}])
        assert not gc.isenabled()
    finally:
        gc.enable()
