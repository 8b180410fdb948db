"""Sinks: where records go when they do not go to stdout. See docs/outputs.md.

    sink = make_sink("parquet", "s3://lake/stripe", compression="zstd")
    sink.open("customers", json_schema); sink.write("customers", records, emitted_at)
    sink.checkpoint("customers")  # True: a STATE may be emitted
    sink.commit("customers")      # -> "s3://lake/stripe/customers/dt=2025-12-14/data.parquet"

Nothing heavy (pyarrow, cloud SDKs) is imported until a sink is made.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import UsageError

if TYPE_CHECKING:
    from source_solidafy.confinement import Confinement
    from source_solidafy.sinks.base import Sink
    from source_solidafy.sinks.layout import RunFiles
    from source_solidafy.source import LogFn

DEFAULT_PARQUET_OUTPUT = "output"
_JSON_FORMATS = ("json", "pretty", "jsonl", "ndjson")


def _env_int(name: str, given: int | None) -> int | None:
    if given is not None:
        return given
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"environment variable {name}={raw!r}: expected a positive integer")
    return value


def make_sink(
    format: str,  # noqa: A002 - the CLI's name
    output: str | None,
    *,
    compression: str = "zstd",
    log: LogFn | None = None,
    part_rows: int | None = None,
    row_group_rows: int | None = None,
    confinement: Confinement | None = None,
    run_files: RunFiles | None = None,
) -> Sink | None:
    """The sink for a ``format`` and ``output``; None for JSON without an output (records go to stdout).

    ``parquet`` without an output writes under ``./output``. ``part_rows`` (env
    ``SOLIDAFY_PART_ROWS``, default 1,000,000) is how many rows a part holds before a checkpoint
    publishes it; ``row_group_rows`` (env ``SOLIDAFY_ROW_GROUP_ROWS``, default 65,536) is the Parquet
    row group size. ``run_files`` names the files of a plan unit (``read --plan``). Raises UsageError for an unknown format, compression or output scheme.
    """
    fmt = (format or "json").lower()
    if fmt not in (*_JSON_FORMATS, "parquet"):
        raise UsageError("expected one of json, pretty, parquet", option="format", value=format)
    if fmt in _JSON_FORMATS and not output:
        return None
    from source_solidafy.sinks.storage import open_storage

    options: dict[str, Any] = {"log": log, "run_files": run_files}
    rows = _env_int("SOLIDAFY_PART_ROWS", part_rows)
    if rows is not None:
        options["part_rows"] = rows
    if fmt in _JSON_FORMATS:
        from source_solidafy.sinks.jsonl import JsonlSink

        storage = open_storage(output or "", confinement)
        storage.check()
        return JsonlSink(storage, **options)
    from source_solidafy.sinks.parquet import ParquetSink, parquet_compression

    parquet_compression(compression)  # a bad compression fails before any directory is made
    group = _env_int("SOLIDAFY_ROW_GROUP_ROWS", row_group_rows)
    if group is not None:
        options["row_group_rows"] = group
    storage = open_storage(output or DEFAULT_PARQUET_OUTPUT, confinement)
    storage.check()
    return ParquetSink(storage, compression=compression, **options)


__all__ = ["make_sink"]
