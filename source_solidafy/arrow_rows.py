"""Arrow record batches as JSON-ready rows, for NDJSON output of database streams.

``RecordBatch.to_pylist`` builds a Python datetime per timestamp value (with a time-zone lookup for
zoned ones). Formatting timestamp columns in Arrow first (RFC 3339, zoned values in UTC with ``Z``)
halves that cost and gives the same text a JSON consumer would parse. The CLI's NDJSON does not
come through here: ``arrow_json`` writes a whole batch's lines in Arrow (with the same timestamps).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def rfc3339(column: pa.Array, kind: pa.TimestampType) -> pa.Array:
    """RFC 3339 text (``2024-01-01T00:00:01.000000Z``; no ``Z`` for naive timestamps), the fraction
    with the unit's digits, as ``strftime("%Y-%m-%dT%H:%M:%S")`` writes it but built from the date
    and the time of day (five times faster than ``strftime``)."""
    if kind.tz is not None:
        column = column.cast(pa.timestamp(kind.unit, tz="UTC"))
    time_type = pa.time64(kind.unit) if kind.unit in ("us", "ns") else pa.time32(kind.unit)
    day = pc.cast(pc.cast(column, pa.date32()), pa.string())
    clock = pc.cast(pc.cast(column, time_type), pa.string())
    return pc.binary_join_element_wise(day, "T", clock, "Z" if kind.tz is not None else "", "")


def isoformat(column: pa.Array, kind: pa.TimestampType) -> pa.Array | None:
    """orjson's text for the values ``to_pylist`` gives (``2024-01-01T00:00:01+00:00``, the fraction
    only when not zero, six digits); None for zones other than UTC and for nanoseconds."""
    if (kind.tz is not None and kind.tz != "UTC") or kind.unit == "ns":
        return None
    day = pc.cast(pc.cast(column, pa.date32()), pa.string())
    if kind.unit == "s":
        clock = pc.cast(pc.cast(column, pa.time32("s")), pa.string())
    else:
        clock = pc.cast(pc.cast(column, pa.time64("us")), pa.string())  # HH:MM:SS.ffffff
        whole = pc.ends_with(clock, ".000000")
        clock = pc.if_else(whole, pc.utf8_slice_codeunits(clock, 0, 8), clock)
    return pc.binary_join_element_wise(day, "T", clock, "+00:00" if kind.tz else "", "")


def rows(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """The batch's rows as dicts; timestamps become RFC 3339 strings, everything else as to_pylist."""
    kinds = batch.schema.types
    if not any(pa.types.is_timestamp(t) for t in kinds):
        return batch.to_pylist()
    columns = [
        rfc3339(col, kind) if pa.types.is_timestamp(kind) else col
        for col, kind in zip(batch.columns, kinds, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names).to_pylist()
