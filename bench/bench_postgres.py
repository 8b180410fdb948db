"""PostgreSQL -> Parquet / NDJSON: ``solidafy-cdk read`` against DuckDB's own COPY, in the same run.

A 1,000,000-row, 10-column table in a database made for the run (dropped afterwards). Baselines: a
child process running ``COPY (SELECT * FROM pg.t) TO 'f.parquet'`` (and ``... TO 'f.json'``, DuckDB's
own NDJSON) in DuckDB with the same extension; ours: ``solidafy-cdk read --connector postgres --format
parquet --output DIR`` (the whole CLI, start-up included), then the NDJSON read (RECORD lines) to
/dev/null. Targets: Parquet wall <= 1.5x COPY, NDJSON >= 300,000 rows/s, peak RSS <= 300 MB.
Usage: python bench/bench_postgres.py [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from common import BIN, best, measure

DB = f"solidafy_bench_{os.getpid()}"
COPY = """
import sys, duckdb, duckdb_extensions, tempfile
d = tempfile.mkdtemp()
con = duckdb.connect(config={"extension_directory": d, "autoinstall_known_extensions": False})
con.execute("SET enable_progress_bar = false")
duckdb_extensions.import_extension("postgres", con=con)
con.execute("LOAD postgres_scanner")
con.execute(f"ATTACH 'host=127.0.0.1 port=5432 user=postgres dbname={sys.argv[1]}' AS pg (TYPE postgres, READ_ONLY)")
fmt = "json" if sys.argv[2].endswith(".json") else "parquet"
con.execute(f"COPY (SELECT * FROM pg.public.t) TO '{sys.argv[2]}' (FORMAT {fmt})")
"""
SETUP = """
CREATE TABLE t (id bigint PRIMARY KEY, customer_id integer, amount numeric(12,2), price double precision,
  status text, note text, created_at timestamptz, day date, paid boolean, ref uuid);
INSERT INTO t SELECT g, g % 5000, (g % 100000) / 100.0, g * 0.5, (ARRAY['new','paid','void'])[g % 3 + 1],
  'note number ' || g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
  date '2024-01-01' + (g % 365), g % 2 = 0, md5(g::text)::uuid
FROM generate_series(1, {rows}) g;
ANALYZE t;
"""


def psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-q", "-X",
                    "-v", "ON_ERROR_STOP=1"], input=sql, text=True, check=True, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    psql(f'CREATE DATABASE "{DB}"')
    work = tempfile.mkdtemp(prefix="bench-pg-")
    try:
        psql(SETUP.replace("{rows}", str(args.rows)), DB)
        config = json.dumps({"connection_string": f"postgresql://postgres@127.0.0.1:5432/{DB}"})
        copies, parquets, ndjsons, jsons = [], [], [], []
        for i in range(args.runs):
            copies.append(measure([sys.executable, "-c", COPY, DB, f"{work}/copy{i}.parquet"]))
            jsons.append(measure([sys.executable, "-c", COPY, DB, f"{work}/copy{i}.json"]))
            os.unlink(f"{work}/copy{i}.json")
            out = f"{work}/ours{i}"
            parquets.append(measure([str(BIN / "solidafy-cdk"), "read", "--connector", "postgres", "--config-json",
                                     config, "--format", "parquet", "--output", out]))
            ndjsons.append(measure([str(BIN / "solidafy-cdk"), "read", "--connector", "postgres", "--config-json",
                                    config]))
            shutil.rmtree(out, ignore_errors=True)
        copy, parquet, ndjson, copy_json = best(copies), best(parquets), best(ndjsons), best(jsons)
        ratio = parquet.wall / copy.wall
        rate = args.rows / ndjson.wall
        print(f"rows {args.rows:,} x 10 columns")
        print(f"duckdb COPY to parquet : {copy}")
        print(f"duckdb COPY to json    : {copy_json}  {args.rows / copy_json.wall:,.0f} rows/s")
        print(f"solidafy parquet       : {parquet}  ratio {ratio:.2f}x (target <= 1.5x)")
        print(f"solidafy ndjson        : {ndjson}  {rate:,.0f} rows/s (target >= 300,000), "
              f"{ndjson.wall / copy_json.wall:.2f}x DuckDB's COPY to json")
        ok = (ratio <= 1.5 and rate >= 300_000 and parquet.rss_mb <= 300 and ndjson.rss_mb <= 300
              and parquet.rc == ndjson.rc == 0)
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
