"""NDJSON writer: one object per line, RecordLines identical to per-record messages, no huge lines."""

from __future__ import annotations

import decimal
import io

import orjson

from source_solidafy import protocol as p


def test_record_lines_serialise_like_record_messages() -> None:
    records = [{"id": 1, "name": "ä"}, {"id": 2, "nested": {"a": [1, 2]}}]
    fast, slow = io.BytesIO(), io.BytesIO()
    p.NdjsonWriter(fast).write([p.RecordLines('we"ird', records, 7)])
    p.NdjsonWriter(slow).write([p.record('we"ird', r, 7) for r in records])
    assert fast.getvalue() == slow.getvalue()
    assert [orjson.loads(line)["record"]["data"] for line in fast.getvalue().splitlines()] == records


def test_expand_gives_dicts_for_every_consumer() -> None:
    chunk = [p.log("INFO", "x"), p.RecordLines("s", [{"a": 1}], 1)]
    assert [m["type"] for m in p.expand(chunk)] == ["LOG", "RECORD"]


def test_database_values_are_json() -> None:
    out = io.BytesIO()
    p.NdjsonWriter(out).write([p.record("t", {"d": decimal.Decimal("12.3400"), "b": b"\x00\x01"}, 1)])
    data = orjson.loads(out.getvalue())["record"]["data"]
    assert data == {"d": 12.34, "b": "AAE="}
    assert b'"d":12.3400' in out.getvalue()  # the exact decimal digits, not a float round trip


def test_a_line_of_5mb_or_more_is_never_printed() -> None:
    out = io.BytesIO()
    p.NdjsonWriter(out).write([p.record("s", {"blob": "x" * (5 * 1024 * 1024)}, 1)])
    line = out.getvalue().splitlines()[0]
    assert len(line) < 1000
    assert orjson.loads(line)["type"] == "LOG"


def test_a_page_with_one_line_of_5mb_or_more_keeps_its_other_lines() -> None:
    records = [{"id": 1}, {"blob": "x" * p.MAX_LINE_BYTES}, {"id": 3}]
    out = io.BytesIO()
    p.NdjsonWriter(out).write([p.RecordLines("s", records, 1), p.RecordLines("s", [], 1)])
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [m["type"] for m in lines] == ["RECORD", "LOG", "RECORD"]
    assert [lines[0]["record"]["data"], lines[2]["record"]["data"]] == [{"id": 1}, {"id": 3}]
    assert p.RecordLines("s", [], 1).lines() == b""


def test_pretty_is_indented_json_per_message() -> None:
    out = io.BytesIO()
    p.NdjsonWriter(out, pretty=True).write([p.log("INFO", "hello")])
    assert out.getvalue().startswith(b"{\n")


def test_record_lines_with_non_string_keys_big_integers_and_times_are_the_messages_bytes() -> None:
    import datetime as dt

    pages = [
        [{"a": 1}, {"nested": {1: "int key", None: "null key"}}],  # orjson refuses these without OPT_NON_STR_KEYS
        [{"big": 2**70}, {"n": {"deep": -(2**65)}}],
        [{"at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), "day": dt.date(2024, 1, 2)}],
        [{"at": dt.datetime(2024, 1, 2, 3, 4, 5)}, {2: "top-level int key"}],
    ]
    for records in pages:
        fast, slow = io.BytesIO(), io.BytesIO()
        p.NdjsonWriter(fast).write([p.RecordLines("s", records, 7)])
        p.NdjsonWriter(slow).write([p.record("s", r, 7) for r in records])
        assert fast.getvalue() == slow.getvalue()
