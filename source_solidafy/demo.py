"""``solidafy-cdk demo``: start the demo API in-process, sync it to ./output, say how to read it back."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def run_demo(output: str, fmt: str = "parquet") -> int:
    from source_solidafy import api
    from source_solidafy.demo_api import DEMO_TOKEN, DemoApi
    from source_solidafy.progress import Progress

    started = time.monotonic()
    with DemoApi() as demo:
        config = {"api_key": DEMO_TOKEN, "base_url": demo.url}
        run = api.prepare_sync("demo", config, format=fmt, output=output)
        progress = Progress.for_stderr()
        progress.watch(run)
        for _chunk in run:
            pass
        progress.close(run)
    summary = run.summary or {}
    elapsed = time.monotonic() - started
    out = sys.stdout
    out.write(f"demo: {summary.get('status')}: {summary.get('total_records', 0):,} records from "
              f"{summary.get('total_streams', 0)} streams in {elapsed:.2f}s\n")
    for s in summary.get("streams", []):
        where = f" -> {s['output_file']}" if s.get("output_file") else ""
        error = f" ({s['error']})" if s.get("error") else ""
        out.write(f"  {s['stream']:<15} {s['status']:<7} {s['records_synced']:>6,} records{where}{error}\n")
    if summary.get("status") == "SUCCEEDED":
        ext = "parquet" if fmt == "parquet" else "jsonl"
        reader = "read_parquet" if fmt == "parquet" else "read_json_auto"
        glob = str(Path(output) / "customers" / "dt=*" / f"*.{ext}")
        out.write("Read it back with DuckDB:\n")
        query = f"SELECT plan, count(*) AS customers FROM {reader}('{glob}', hive_partitioning=true) GROUP BY plan"
        out.write(f"  {sys.executable} -c \"import duckdb; duckdb.sql(\\\"{query}\\\").show()\"\n")
    return 0 if summary.get("status") == "SUCCEEDED" else 1
