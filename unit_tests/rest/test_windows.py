"""Self-splitting date windows (``split_when``): the split instant, the smallest window, the windows read back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from source_solidafy.manifest.partition_parts import DateRangePartition
from source_solidafy.rest.partition_state import PartitionStates
from source_solidafy.rest.routers import DateRangeRouter, RouterInputs
from source_solidafy.rest.windows import midpoint, smallest_window
from source_solidafy.source import ReadContext

UTC = timezone.utc
MS = timedelta(milliseconds=1)


def _router(**part: Any) -> DateRangeRouter:
    model = DateRangePartition.model_validate({"type": "date_range", "start": "2024-01-01", **part})
    ctx = ReadContext(config={})
    return DateRangeRouter(model, RouterInputs("s", ctx, PartitionStates("s", None, ctx)))


def test_midpoint_is_inside_and_on_the_smallest_step() -> None:
    lo, hi = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 1, 1000, tzinfo=UTC)
    mid = midpoint(lo, hi, MS)
    assert mid == datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    odd = midpoint(lo + 3 * MS, lo + 8 * MS, MS)
    assert odd == lo + 5 * MS
    assert midpoint(lo, lo + MS, MS) is None and midpoint(lo, lo + MS * 1.5, MS) is None
    assert midpoint(lo, lo + 2 * MS, MS) == lo + MS


@pytest.mark.parametrize(("fmt", "minimum", "want"), [
    ("unix_ms", None, MS),
    ("unix", None, timedelta(seconds=1)),
    ("%Y-%m-%dT%H:%M:%SZ", None, timedelta(seconds=1)),
    ("%Y-%m-%dT%H:%M:%S.%fZ", None, timedelta(microseconds=1)),
    ("%Y-%m-%d %H:%M", None, timedelta(minutes=1)),
    ("%Y-%m-%d", None, timedelta(days=1)),
    ("unix_ms", (0, timedelta(minutes=5)), timedelta(minutes=5)),
    ("%Y-%m-%d", (0, timedelta(hours=1)), timedelta(days=1)),  # never finer than the format can write
])
def test_smallest_window(fmt: str, minimum: Any, want: timedelta) -> None:
    assert smallest_window(fmt, minimum) == want


@pytest.mark.parametrize("fmt", ["unix_ms", "unix", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%d"])
def test_a_window_is_read_back_from_its_partition(fmt: str) -> None:
    router = _router(format=fmt)
    lo, hi = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)
    assert router.bounds(router.window(lo, hi)) == (lo, hi)


def test_unix_ms_is_exact() -> None:
    router = _router(format="unix_ms")
    moment = datetime(2024, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert router.window(moment, moment + MS) == {"start": 1709294400123, "end": 1709294400124}


def test_split_when_model() -> None:
    part = DateRangePartition.model_validate({"type": "date_range", "start": "2024-01-01",
                                              "split_when": {"total_path": "total", "above": 10000, "min_window": "1s"}})
    assert part.split_when is not None and part.split_when.min_window == "PT1S"
    with pytest.raises(ValidationError):
        DateRangePartition.model_validate({"type": "date_range", "start": "2024-01-01",
                                           "split_when": {"total_path": "total", "above": 0}})
