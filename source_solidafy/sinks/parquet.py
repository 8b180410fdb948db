"""Parquet output: streamed row groups, schema inferred and widened per stream, zstd by default.

Batches are converted to Arrow as they arrive and buffered until a row group is full
(``row_group_rows`` rows or ``row_group_bytes`` of Arrow memory), so memory is bounded by one row
group whatever the stream's size. Until the first row group is written the schema can still widen
freely (buffered batches are re-cast); after that, a batch that needs a column the file lacks or a
wider type finishes the current part and starts a new one with the widened schema: nothing is lost,
and readers combine the parts with ``union_by_name``.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import pyarrow as pa
from pyarrow._parquet import ParquetWriter  # not pyarrow.parquet: see _open_writer

from source_solidafy.errors import UsageError
from source_solidafy.sinks.arrow_types import (
    conform,
    merge_schemas,
    records_to_batch,
    same_columns,
    schema_from_json_schema,
)
from source_solidafy.sinks.files import FileSink, StreamFiles
from source_solidafy.sinks.storage import Storage
from source_solidafy.source import LogFn

COMPRESSIONS = {"zstd": "zstd", "snappy": "snappy", "gzip": "gzip", "brotli": "brotli", "lz4": "lz4",
                "none": "none", "uncompressed": "none"}
DEFAULT_ROW_GROUP_ROWS = 65_536
DEFAULT_ROW_GROUP_BYTES = 64 * 1024 * 1024
_DICTIONARY_MAX_SHARE = 0.1  # dictionary-encode a column when distinct values are under 10% of rows
_DICTIONARY_SAMPLE_ROWS = 10_000  # ... of the first rows of the first row group
# the columns the guess looks at, with the memoryview code of their values ("": strings)
_CODES = {pa.string(): "", pa.large_string(): "", pa.int64(): "q", pa.float64(): "d"}


def parquet_compression(name: str) -> str:
    """Validate a ``compression``; raises UsageError naming the choices."""
    key = (name or "zstd").lower()
    if key not in COMPRESSIONS:
        raise UsageError(f"expected one of {', '.join(COMPRESSIONS)}", option="compression", value=name)
    return COMPRESSIONS[key]


def _dictionary_columns(table: pa.Table) -> list[str]:
    """String, integer and float columns with few distinct values: dictionary encoding shrinks and
    speeds them up (a column of 97 distinct ints: 2 KB instead of 65 KB a row group of 60,000, and
    ~190 k instructions less a 1,000-row page than compressing 8 bytes a value).

    Judged on the first rows, a chunk at a time, stopping as soon as a column shows too many values:
    counting the distinct values of whole columns of unique strings (ids, emails) with
    ``pyarrow.compute`` built hash tables bigger than the row group (+12 MB of peak RSS at 65,536
    rows), and importing that module costs 8 MB more. A wrong guess costs only size: the writer falls
    back to plain encoding when a column's dictionary outgrows its page limit.
    """
    sample = table.slice(0, _DICTIONARY_SAMPLE_ROWS)
    most = max(1, sample.num_rows) * _DICTIONARY_MAX_SHARE
    return [field.name for field, column in zip(sample.schema, sample.columns, strict=True)
            if _CODES.get(field.type) is not None and _few_distinct(column, most)]


def _few_distinct(column: pa.ChunkedArray, most: float) -> bool:
    seen: set[Any] = set()
    for chunk in column.chunks:
        seen.update(_chunk_values(chunk))
        if len(seen) > most:
            return False
    return True


def _chunk_values(chunk: pa.Array) -> Any:
    """A chunk's values: without nulls, its numbers as the machine stores them, or its UTF-8 bytes cut
    at the offsets (the same distinct values as ``to_pylist``, which makes a pyarrow scalar per value:
    ~25 M instructions, 15-20 ms, for the 10,000-row sample of 4 string columns); with nulls,
    ``to_pylist``."""
    if chunk.null_count or len(chunk) == 0:
        return chunk.to_pylist()
    code = _CODES[chunk.type]
    if code:
        raw = memoryview(chunk.buffers()[1]).cast("B")
        numbers = raw.cast("q") if code == "q" else raw.cast("d")
        return numbers[chunk.offset:chunk.offset + len(chunk)]
    _, offsets_buffer, data_buffer = chunk.buffers()
    large = pa.types.is_large_string(chunk.type)
    raw = memoryview(offsets_buffer).cast("B")[:(chunk.offset + len(chunk) + 1) * (8 if large else 4)]
    offsets = (raw.cast("q") if large else raw.cast("i"))[chunk.offset:]
    data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
    return map(bytes, map(data.__getitem__, map(slice, offsets[:-1], offsets[1:])))


class ParquetFiles(StreamFiles):
    ext = "parquet"

    def __init__(self, storage: Storage, stream: str, dir_name: str, now: datetime | None, log: LogFn,
                 *, declared: pa.Schema | None, compression: str, row_group_rows: int,
                 row_group_bytes: int) -> None:
        super().__init__(storage, stream, dir_name, now, log)
        self.declared = declared
        self.compression = compression
        self.row_group_rows = row_group_rows
        self.row_group_bytes = row_group_bytes
        self.schema: pa.Schema | None = None  # of the buffer and the open part
        self._buffer: list[pa.RecordBatch] = []
        self._buffered_rows = 0
        self._buffered_bytes = 0
        self._writer: ParquetWriter | None = None
        self._file: pa.PythonFile | None = None

    def write(self, records: list[dict[str, Any]] | pa.RecordBatch) -> None:
        is_arrow = not isinstance(records, list)  # else a pyarrow.RecordBatch
        batch = records_to_batch(records) if isinstance(records, list) else records
        base = self.schema if self.schema is not None or is_arrow else self.declared
        merged = merge_schemas(base, batch.schema)
        if self.schema is not None and same_columns(merged, self.schema):
            merged = self.schema
        elif self.schema is not None:
            if self._writer is not None:
                self.log("DEBUG", f"{self.stream}: schema widened after a row group was written; starting a new part")
                self.end_part()
            else:
                self._buffer = [conform(b, merged) for b in self._buffer]
        self.schema = merged
        batch = conform(batch, merged)
        self._buffer.append(batch)
        self._buffered_rows += batch.num_rows
        # nbytes walks every buffer's offsets (23 µs a page); a batch made from dicts is never a slice,
        # so its buffers' sizes are the bytes it holds (the same to a few bytes of padding, 0.8 µs)
        self._buffered_bytes += batch.nbytes if is_arrow else batch.get_total_buffer_size()
        self.rows_in_part += batch.num_rows
        if self._buffered_rows >= self.row_group_rows or self._buffered_bytes >= self.row_group_bytes:
            self._flush()

    def _open_writer(self, table: pa.Table) -> ParquetWriter:
        """``pyarrow.parquet.ParquetWriter``'s own writer with the arguments that class passes for its
        defaults (the same bytes; unit test): importing ``pyarrow.parquet`` also imports ``pyarrow.fs``
        and its cloud file systems (~80 M instructions, 7 MB of RSS), which a sink writing to its own
        uploads never uses."""
        self._file = pa.PythonFile(self.open_upload(), mode="w")
        return ParquetWriter(
            self._file, table.schema, version="2.6", compression=self.compression,
            use_dictionary=_dictionary_columns(table), write_statistics=True,
            use_deprecated_int96_timestamps=False, writer_engine_version="V2", data_page_version="1.0",
            use_compliant_nested_type=True, store_schema=True,
        )

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        self._buffer, self._buffered_rows, self._buffered_bytes = [], 0, 0
        if self._writer is None:
            self._writer = self._open_writer(table)
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def end_part(self) -> None:
        self._flush()
        if self._writer is None:
            return
        self._writer.close()
        assert self._file is not None
        self._file.close()
        self._writer = self._file = None
        self.publish()

    def discard(self) -> None:
        self._buffer, self._buffered_rows, self._buffered_bytes = [], 0, 0
        upload, self.upload = self.upload, None
        if upload is not None:
            upload.closed = True  # the footer pyarrow writes on close goes nowhere
        if self._writer is not None:
            with contextlib.suppress(Exception):  # best effort: the upload is being dropped anyway
                self._writer.close()
        if self._file is not None:
            with contextlib.suppress(Exception):
                self._file.close()
        self._writer = self._file = None
        if upload is not None:
            upload.abort()


class ParquetSink(FileSink):
    """Format ``parquet``: ``<stream>/dt=YYYY-MM-DD/data.parquet`` under a directory or bucket prefix."""

    format = "parquet"

    def __init__(self, storage: Storage, *, compression: str = "zstd",
                 row_group_rows: int = DEFAULT_ROW_GROUP_ROWS, row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
                 **kwargs: Any) -> None:
        super().__init__(storage, **kwargs)
        self.compression = parquet_compression(compression)
        self.row_group_rows = row_group_rows
        self.row_group_bytes = row_group_bytes

    def _stream_files(self, stream: str, dir_name: str, json_schema: dict[str, Any] | None) -> StreamFiles:
        return ParquetFiles(
            self.storage, stream, dir_name, self._now, self.log,
            declared=schema_from_json_schema(json_schema), compression=self.compression,
            row_group_rows=self.row_group_rows, row_group_bytes=self.row_group_bytes,
        )
