"""The Parquet baseline end to end: requests + orjson + a bare pyarrow writer, Parquet files out.

Reads every page of ``bench_api.py`` like ``raw_loop.py``, makes each page an Arrow batch
(``RecordBatch.from_pylist``: no widening, a key first seen later is dropped) and writes row groups of
65,536 rows with zstd: ``python bench/raw_parquet.py URL OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import requests

ROW_GROUP_ROWS = 65_536


def main(base_url: str, out_dir: str) -> None:
    session = requests.Session()
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    rows, cursor = 0, "0"
    while cursor is not None:
        body = orjson.loads(session.get(f"{base_url}/items", params={"cursor": cursor, "limit": 1000}).content)
        batch = pa.RecordBatch.from_pylist(body["data"])
        writer = writer or pq.ParquetWriter(Path(out_dir) / "items.parquet", batch.schema, compression="zstd")
        pending.append(batch)
        rows += batch.num_rows
        if rows >= ROW_GROUP_ROWS:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=rows)
            pending, rows = [], 0
        cursor = body["next_cursor"]
    if writer is not None:
        if pending:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=rows)
        writer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
