"""Arrow batches to rows: timestamps as RFC 3339 text, zoned ones in UTC, other values untouched."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa

from source_solidafy.arrow_rows import rows


def test_timestamps_become_rfc3339_and_other_types_stay() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    batch = pa.record_batch(
        [
            pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=berlin), None], pa.timestamp("us", tz="+01:00")),
            pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("s")),
            pa.array([decimal.Decimal("1.50"), None], pa.decimal128(5, 2)),
            pa.array([dt.date(2024, 1, 2), None]),
            pa.array(["ä", None]),
        ],
        names=["zoned", "naive", "amount", "day", "text"],
    )
    first, second = rows(batch)
    assert first == {"zoned": "2024-01-02T02:04:05.123456Z", "naive": "2024-01-02T03:04:05",
                     "amount": decimal.Decimal("1.50"), "day": dt.date(2024, 1, 2), "text": "ä"}
    assert second == {"zoned": None, "naive": None, "amount": None, "day": None, "text": None}


def test_batches_without_timestamps_are_plain_to_pylist() -> None:
    batch = pa.record_batch([pa.array([1, 2])], names=["n"])
    assert rows(batch) == [{"n": 1}, {"n": 2}]
