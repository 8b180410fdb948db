"""A PostgreSQL table read by N processes, each a range unit of a plan, against one process, same run.

A 10,000,000-row, 10-column table (bench_postgres.py's) in a database made for the run. Baseline:
one ``solidafy-cdk read --format parquet --output DIR`` of the whole table. Ours: ``solidafy-cdk plan
--target-rows-per-unit ROWS/N`` (N range units of the primary key), then N ``read --plan P --shard
I/N --format parquet --output DIR`` processes started together; the time is from the first start to
the last exit (the plan's own time is reported apart). Every run must read every row (the units'
row counts add up to the table's). Target: 4 shards in <= 0.35x the one process's wall time.
Usage: python bench/bench_shards.py [--rows 10000000] [--shards 2,4] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench_postgres import SETUP, psql
from common import BIN, Measure, measure

DB = f"solidafy_bench_shards_{os.getpid()}"


def read_all(config: str, out: str) -> Measure:
    return measure([str(BIN / "solidafy-cdk"), "read", "-c", "postgres", "--config-json", config,
                    "--format", "parquet", "-o", out])


def shards(config: str, plan: str, count: int, out: str) -> tuple[float, float, int]:
    """Wall time of ``count`` shard processes run at once, their CPU, and the rows they read."""
    start = time.perf_counter()
    procs = [subprocess.Popen([str(BIN / "solidafy-cdk"), "read", "-c", "postgres", "--config-json", config,
                               "--plan", plan, "--shard", f"{i}/{count}", "--format", "parquet", "-o", out],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for i in range(count)]
    cpu, rows = 0.0, 0
    for proc in procs:
        assert proc.stdout is not None
        lines = proc.stdout.read().splitlines()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode == 0, lines[-1:]
        cpu += usage.ru_utime + usage.ru_stime
        rows += json.loads(lines[-1])["summary"]["total_records"]
    return time.perf_counter() - start, cpu, rows


def make_plan(config: str, rows: int, count: int, path: str) -> float:
    start = time.perf_counter()
    with open(path, "wb") as f:
        subprocess.run([str(BIN / "solidafy-cdk"), "plan", "-c", "postgres", "--config-json", config,
                        "--target-rows-per-unit", str(-(-rows // count))], stdout=f, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--shards", default="2,4")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    counts = [int(c) for c in args.shards.split(",")]
    psql(f'CREATE DATABASE "{DB}"')
    work = tempfile.mkdtemp(prefix="bench-shards-")
    try:
        started = time.perf_counter()
        psql(SETUP.replace("{rows}", str(args.rows)), DB)
        print(f"table of {args.rows:,} rows made in {time.perf_counter() - started:.1f}s")
        config = json.dumps({"connection_string": f"postgresql://postgres@127.0.0.1:5432/{DB}"})
        ok = True
        for run in range(args.runs):
            one = read_all(config, f"{work}/one{run}")
            shutil.rmtree(f"{work}/one{run}", ignore_errors=True)
            print(f"one process        : {one}")
            for count in counts:
                plan = f"{work}/plan{count}.jsonl"
                planned = make_plan(config, args.rows, count, plan)
                wall, cpu, rows = shards(config, plan, count, f"{work}/shards{count}-{run}")
                shutil.rmtree(f"{work}/shards{count}-{run}", ignore_errors=True)
                ratio = wall / one.wall
                print(f"{count} shards at once : wall {wall:.3f}s cpu {cpu:.3f}s rows {rows:,}  "
                      f"{ratio:.2f}x one process (plan {planned:.2f}s)")
                ok &= rows == args.rows and (count != 4 or ratio <= 0.35)
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
