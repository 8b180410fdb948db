"""CPU per record cursor of an Airbyte DatetimeBasedCursor (``DatetimeSlices.order``, which parses each
record's cursor as airbyte-cdk 7.39.1 compares them), against plain ``datetime.strptime`` of the same
values and a text comparison (what the engine did before cursors were parsed), in one process, least of
5 timings of 28,000 values each.

Cases: ``%Y-%m-%dT%H:%M:%SZ``; the same with a cursor format tried first that does not match;
``%Y-%m-%dT%H:%M:%S%z`` (strptime's own path); ``%s``.
Usage: python bench/bench_cursor.py        (another checkout: PYTHONPATH=/tmp/old python bench/bench_cursor.py)
"""

from __future__ import annotations

import datetime as dt
import timeit
from collections.abc import Callable
from typing import Any

from source_solidafy.lowcode.cursor import DatetimeSlices

VALUES = [f"2024-01-{d:02d}T10:{m:02d}:{s:02d}Z" for d in range(1, 29) for m in range(50) for s in range(20)]
CASES: list[tuple[str, tuple[str, ...], str, list[str]]] = [
    ("%Y-%m-%dT%H:%M:%SZ", (), "%Y-%m-%dT%H:%M:%SZ", VALUES),
    ("a cursor format first", ("%Y-%m-%dT%H:%M:%S.%fZ",), "%Y-%m-%dT%H:%M:%SZ", VALUES),
    ("%Y-%m-%dT%H:%M:%S%z", (), "%Y-%m-%dT%H:%M:%S%z", [v.replace("Z", "+0000") for v in VALUES]),
    ("%s", (), "%s", [str(1_700_000_000 + i) for i in range(len(VALUES))]),
]


def per_value(fn: Callable[[Any], Any], values: list[str]) -> float:
    """Least of 5 timings, in µs a value."""
    return min(timeit.repeat(lambda: [fn(v) for v in values], number=1, repeat=5)) / len(values) * 1e6


def main() -> None:
    for name, formats, main_format, values in CASES:
        order = DatetimeSlices.model_construct(cursor_formats=list(formats), datetime_format=main_format).order
        ours = per_value(order, values)
        plain = per_value(lambda v, f=main_format: dt.datetime.strptime(v, f), values) if main_format != "%s" else None
        text = per_value(lambda v: v >= "2024-01-15", values)
        strp = f"{plain:5.2f} µs" if plain is not None else "   -    "
        print(f"{name:28s} order {ours:5.2f} µs a value | strptime {strp} | text comparison {text:5.2f} µs")


if __name__ == "__main__":
    main()
