"""Format ``json`` with an output: the same Hive layout as Parquet, with newline-delimited ``data.jsonl``.

Each line is one record exactly as the source produced it (no ``emitted_at`` or other added keys).
Database batches (Arrow) are written with their values as JSON: timestamps in ISO 8601, decimals as
strings (no precision lost), bytes as base64.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson

from source_solidafy import jsoncodec
from source_solidafy.sinks.files import FileSink, StreamFiles

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


class JsonlFiles(StreamFiles):
    ext = "jsonl"

    def write(self, records: Any) -> None:
        rows = records if isinstance(records, list) else records.to_pylist()
        upload = self.upload or self.open_upload()
        upload.write(encode_lines(rows))
        self.rows_in_part += len(rows)

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
