"""SIGKILL in the middle of a Parquet write: only complete files at final names, and a rerun from the
last checkpoint loses nothing.

A child process writes through the real sink like the sync runner does (write batches, checkpoint,
print a "STATE" only when the checkpoint says the data is durable). It is killed with SIGKILL while a
row group sits in the open part's temporary file.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

TOTAL = 5000
CHILD = textwrap.dedent(
    """
    import json, sys
    from source_solidafy.sinks import make_sink

    out, start, stop_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sink = make_sink("parquet", out, part_rows=1000, row_group_rows=250)
    sink.open("events", None)
    states = 0
    for lo in range(start, TOTAL, 100):
        batch = [{"id": i, "payload": {"n": i, "s": "x" * (i % 7)}} for i in range(lo, min(lo + 100, TOTAL))]
        sink.write("events", batch, 0)
        if sink.checkpoint("events"):
            print(json.dumps({"state": batch[-1]["id"]}), flush=True)
            states += 1
        elif states >= stop_after and sink._open["events"].upload is not None:
            print(json.dumps({"writing": batch[-1]["id"]}), flush=True)
            sys.stdin.readline()  # wait here, mid-part, to be killed
    sink.commit("events")
    print(json.dumps({"done": True}), flush=True)
    """
).replace("TOTAL", str(TOTAL))


def _spawn(out: Path, start: int, stop_after: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), str(start), str(stop_after)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )


def _final_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.parquet"))


def _ids(files: list[Path]) -> list[int]:
    return [i for f in files for i in pq.ParquetFile(f).read(columns=["id"]).column("id").to_pylist()]


def test_sigkill_mid_write_then_rerun_from_state(tmp_path):
    out = tmp_path / "lake"
    child = _spawn(out, 0, stop_after=2)
    last_state = None
    assert child.stdout is not None
    for line in child.stdout:
        message = json.loads(line)
        if "state" in message:
            last_state = message["state"]
        if "writing" in message:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL
    assert last_state is not None

    files = _final_files(out)
    temps = list(out.rglob(".*.tmp"))
    assert files and temps  # published parts, plus the killed part's temporary
    for f in files:  # every file at a final name is a complete Parquet file
        assert pq.ParquetFile(f).metadata.num_rows > 0
    assert sorted(_ids(files)) == list(range(last_state + 1))  # exactly what the states covered

    rerun = _spawn(out, last_state + 1, stop_after=10**9)
    stdout, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0 and '"done"' in stdout
    assert not list(out.rglob(".*.tmp"))  # the dead process's temporary was cleaned up
    glob = f"{out}/*/dt=*/*.parquet"
    count, distinct, low, high = duckdb.sql(
        f"SELECT count(*), count(DISTINCT id), min(id), max(id) FROM read_parquet('{glob}', hive_partitioning=true)"
    ).fetchone()
    assert (count, distinct, low, high) == (TOTAL, TOTAL, 0, TOTAL - 1)
