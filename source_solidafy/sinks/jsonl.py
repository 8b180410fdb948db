"""Format ``json`` with an output: the same Hive layout as Parquet, with newline-delimited ``data.jsonl``.

Each line is one record exactly as the source produced it (no ``emitted_at`` or other added keys).
Database batches (Arrow) are written with their values as JSON: timestamps in ISO 8601, decimals as
strings (no precision lost), bytes as base64. A batch's lines are built a column at a time in Arrow
(``arrow_json``, :func:`encode_batch`), byte for byte what one orjson call per row would write.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.sinks.files import FileSink, StreamFiles

if TYPE_CHECKING:
    import pyarrow as pa

_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def encode_lines(records: list[Any]) -> bytes:
    """All records as JSON lines; one orjson call per record, the slow path only for what orjson refuses."""
    dumps = orjson.dumps
    try:
        return b"".join([dumps(r, default=_default, option=_OPTIONS) for r in records])
    except TypeError:  # integers beyond 64 bits: written with their exact digits
        return b"".join([jsoncodec.dumps(r, default=_default, option=_OPTIONS) for r in records])


def _encode(value: Any) -> bytes:
    """One value as :func:`encode_lines` writes it (for the values Arrow does not print itself)."""
    try:
        return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return jsoncodec.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def encode_batch(batch: pa.RecordBatch) -> bytes:
    """An Arrow batch's rows as JSON lines, the same bytes as ``encode_lines(batch.to_pylist())``.

    Timestamps as orjson writes the datetimes ``to_pylist`` gives, decimals as text (``_default``).
    """
    from source_solidafy import arrow_json  # Arrow only for Arrow batches: REST syncs never load it
    from source_solidafy.arrow_rows import isoformat

    if len(set(batch.schema.names)) != batch.num_columns:  # to_pylist keeps one of each name
        return encode_lines(batch.to_pylist())
    style = arrow_json.Style(_encode, timestamps=isoformat, decimals_as_text=True)
    return arrow_json.joined(arrow_json.record_lines(batch, b"", b"\n", style))


class JsonlFiles(StreamFiles):
    ext = "jsonl"

    def write(self, records: Any) -> None:
        data = encode_lines(records) if isinstance(records, list) else encode_batch(records)
        upload = self.upload or self.open_upload()
        upload.write(data)
        self.rows_in_part += len(records)

    def end_part(self) -> None:
        if self.upload is not None:
            self.publish()

    def discard(self) -> None:
        upload, self.upload = self.upload, None
        if upload is not None:
            upload.abort()


class JsonlSink(FileSink):
    format = "json"

    def _stream_files(self, stream: str, dir_name: str, json_schema: dict[str, Any] | None) -> StreamFiles:
        return JsonlFiles(self.storage, stream, dir_name, self._now, self.log)
