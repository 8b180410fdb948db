"""RECORD lines built in Arrow are byte for byte the lines orjson writes for the rows as dicts.

The reference is the record writer's path for lists of dicts (``arrow_rows.rows`` then
``orjson.dumps`` per record), on batches DuckDB produces for every column type the database tests
use, with the values that are hard to print: NaN, infinities, -0.0, integers beyond 64 bits,
decimals of every scale, text that needs escaping, timestamps of every unit, nulls everywhere.
"""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from source_solidafy import protocol as p
from source_solidafy.arrow_rows import isoformat, rfc3339, rows
from source_solidafy.sinks.jsonl import encode_batch, encode_lines

TYPES_SQL = r"""
SELECT * FROM (VALUES
 (1, 7::SMALLINT, 9007199254740993::BIGINT, 18446744073709551615::UBIGINT,
  170141183460469231731687303715884105727::HUGEINT, (-128)::TINYINT, 123.456::DECIMAL(12,3),
  1.50::DECIMAL(12,2), 12::DECIMAL(10,0), 0.0000001::DECIMAL(18,10), 0::DECIMAL(18,10), 0.1::DECIMAL(38,37), 1e30::DECIMAL(38,0), (-0.05)::DECIMAL(5,2),
  2.25::DOUBLE, 1.5::REAL, 1e20::DOUBLE, 'nan'::DOUBLE, 'inf'::DOUBLE, '-inf'::REAL, (-0.0)::DOUBLE,
  1e-7::DOUBLE, 123456789012345678::DOUBLE, 100.0::DOUBLE, 0.1::REAL,
  true, 'héllo ☃ 日本 "q" \ back', E'new\nline\ttab\x01ctl', 'plain', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID,
  DATE '2024-01-02', DATE '0999-12-31', TIMESTAMP '2024-01-02 03:04:05.123456', TIMESTAMP '2024-01-02 03:04:05',
  TIMESTAMPTZ '2024-01-02 03:04:05+02', TIMESTAMP_S '1960-05-06 07:08:09', TIMESTAMP_MS '2024-01-02 03:04:05.5',
  TIMESTAMP_NS '2024-01-02 03:04:05.123456789', TIME '10:11:12', TIME '10:11:12.5', '\xde\xad\xbe\xef'::BLOB,
  [1, 2, 3], ['x', NULL, 'y"'], {'a': 1.5::DECIMAL(4,1), 'b': [TIMESTAMPTZ '2024-01-01 00:00:01.5+00']},
  'happy'::ENUM('sad', 'ok', 'happy'), INTERVAL '1 day 2 hours'::VARCHAR, '{"a": 1}'::JSON::VARCHAR),
 (2, 8::SMALLINT, NULL, NULL, (-170141183460469231731687303715884105727)::HUGEINT, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '',
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL)
) AS t(id, i2, i8, u8, huge, i1, num, money, whole, tiny, zero, deep, wide, neg, dbl, flt, big, nan, inf, ninf, negzero,
       small, large, integral, f32, flag, txt, ctl, plain, u, d, old, ts, ts0, tstz, ts_s, ts_ms, ts_ns, tm,
       tm_frac, raw, ints, tags, st, mood, iv, js)
"""


def _batch(sql: str) -> pa.RecordBatch:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table = con.execute(sql).to_arrow_table().combine_chunks()
    return table.to_batches()[0]


def _reference(stream: str, batch: pa.RecordBatch, emitted_at: int) -> bytes:
    """The writer's path for records as dicts: one orjson.dumps per row of ``arrow_rows.rows``."""
    return p.RecordLines(stream, rows(batch), emitted_at).lines()


def test_every_type_matches_the_dict_path() -> None:
    batch = _batch(TYPES_SQL)
    assert batch.num_rows == 2
    assert p.RecordLines("public.all_types", batch, 1_700_000_000_000).lines() == _reference(
        "public.all_types", batch, 1_700_000_000_000
    )


def test_every_type_matches_the_jsonl_file_lines() -> None:
    """The jsonl file sink's own style: decimals as text, datetimes as orjson writes them, no envelope."""
    batch = _batch(TYPES_SQL).drop_columns(["ts_ns"])  # to_pylist cannot (database reads cast it to us)
    assert encode_batch(batch) == encode_lines(batch.to_pylist())
    part = _batch("SELECT i AS id, TIMESTAMP '2024-01-01' + INTERVAL (i * 7) MILLISECOND AS at FROM range(50) r(i)")
    assert encode_batch(part.slice(3, 20)) == encode_lines(part.slice(3, 20).to_pylist())


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
@pytest.mark.parametrize("tz", [None, "UTC"])
def test_isoformat_is_orjson_of_the_datetimes(unit: str, tz: str | None) -> None:
    import orjson

    rng = random.Random(f"iso{unit}{tz}")
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000}[unit]
    seconds = [rng.randint(-62_135_596_800, 253_402_300_799) for _ in range(3_000)] + [0, -1, 86_399, -86_400]
    values = [s * per_second + (rng.randrange(per_second) if i % 2 else 0) for i, s in enumerate(seconds)]
    column = pa.array([*values, None], pa.int64()).cast(pa.timestamp(unit, tz=tz))
    text = isoformat(column, column.type)
    assert text is not None
    expected = [None if v is None else orjson.dumps(v).decode().strip('"') for v in column.to_pylist()]
    assert text.to_pylist() == expected
    assert isoformat(column.cast(pa.timestamp(unit, tz="+05:30")), pa.timestamp(unit, tz="+05:30")) is None


def test_a_slice_of_a_batch_reads_its_own_rows() -> None:
    """Arrays with an offset: values are taken from the slice, not from the buffer's start."""
    batch = _batch("SELECT i AS id, i * 0.5 AS half, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 1.5 END AS maybe, "
                   "'row ' || i AS note FROM range(100) r(i)")
    part = batch.slice(37, 20)
    assert p.RecordLines("s", part, 5).lines() == _reference("s", part, 5)
    assert b'"id":37,' in p.RecordLines("s", part, 5).lines().split(b"\n")[0]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC", "+05:30"])
def test_rfc3339_is_strftime_for_every_unit_and_range(unit: str, tz: str | None) -> None:
    rng = random.Random(f"{unit}{tz}")
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    low, high = (-62_135_596_800, 253_402_300_799) if unit != "ns" else (-9_223_372_036, 9_223_372_035)
    seconds = [rng.randint(low, high) for _ in range(3_000)] + [0, -1, 86_399, 86_400, -86_400, low, high]
    values = [s * per_second + (rng.randrange(per_second) if i % 2 else 0) for i, s in enumerate(seconds)]
    kind = pa.timestamp(unit, tz=tz)
    column = pa.array([*values, None], pa.int64()).cast(kind)
    utc = column.cast(pa.timestamp(unit, tz="UTC")) if tz else column
    expected = pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S" + ("Z" if tz else ""))
    assert rfc3339(column, kind).to_pylist() == expected.to_pylist()


def test_floats_print_as_orjson_prints_them() -> None:
    rng = random.Random(7)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30) for _ in range(5_000)]
    values += [float(rng.randrange(10 ** rng.randint(1, 19))) for _ in range(2_000)]
    values += [5e-324, 1.7976931348623157e308, 1e15, 1e16, 1e-4, 1e-5, float("nan"), None]
    batch = pa.record_batch([pa.array(values, pa.float64()), pa.array(values, pa.float32())], names=["d", "f"])
    assert p.RecordLines("s", batch, 1).lines() == _reference("s", batch, 1)


def test_text_that_needs_escaping() -> None:
    texts = ['say "hi"', "back\\slash", "\\\"", "é☃𝄞", "\x00\x1f\x7f", "", None, "/slash", "\u2028"]
    for value in texts:
        batch = pa.record_batch([pa.array([value, "x"])], names=['we"ird\nname'])
        assert p.RecordLines("s", batch, 1).lines() == _reference("s", batch, 1)


def test_empty_batches_and_batches_without_columns() -> None:
    empty = pa.RecordBatch.from_pylist([], schema=pa.schema([("a", pa.int64()), ("b", pa.string())]))
    assert p.RecordLines("s", empty, 1).lines() == b""
    no_columns = pa.RecordBatch.from_struct_array(pa.array([{}, {}], pa.struct([])))
    assert p.RecordLines("s", no_columns, 1).lines() == _reference("s", no_columns, 1)
    assert p.RecordLines("s", no_columns, 1).lines().count(b'"data":{}') == 2


def test_an_oversized_line_becomes_the_writer_s_error_line() -> None:
    big = "x" * (p.MAX_LINE_BYTES + 10)
    batch = pa.record_batch([pa.array([1, 2]), pa.array([big, "small"])], names=["id", "text"])
    first, second = p.RecordLines("s", batch, 1).lines().split(b"\n")
    assert first.startswith(b'{"type":"LOG"') and b"was not printed" in first
    assert second == b'{"type":"RECORD","record":{"stream":"s","data":{"id":2,"text":"small"},"emitted_at":1}}'


def test_duplicate_column_names_take_the_dict_path() -> None:
    batch = pa.record_batch([pa.array([1]), pa.array([2])], names=["a", "a"])
    assert p.RecordLines("s", batch, 1).lines() == _reference("s", batch, 1)


def test_messages_of_a_batch_are_the_rows_as_dicts() -> None:
    batch = pa.record_batch([pa.array([dt.date(2024, 1, 2)])], names=["day"])
    assert list(p.RecordLines("s", batch, 3).messages()) == [p.record("s", {"day": dt.date(2024, 1, 2)}, 3)]
