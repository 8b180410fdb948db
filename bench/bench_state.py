"""The cost of saving ``--state FILE`` at checkpoints (see docs/outputs.md, Checkpoints and crashes).

1. One state-file write (temp file, fsync, rename) in the directory given (default: a temporary one
   beside this script, i.e. this disk), for a state of 10 streams: median and p90.
2. ``solidafy-cdk read`` of 100 pages x 1,000 records from bench_api.py to /dev/null: without
   ``--state``, with ``--state`` at the default policy (first checkpoint, then at most every second,
   then the end), and with ``SOLIDAFY_STATE_SAVE_SECS=0`` (a write after every page).

Usage: python bench/bench_state.py [--runs 3] [--dir /mnt/slow-disk]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import BIN, HERE, Api, best, measure

sys.path.insert(0, str(HERE.parent))
from source_solidafy.state import write_state_file  # noqa: E402


def write_latency(directory: str, n: int = 200) -> tuple[float, float]:
    state = {f"stream_{i}": {"cursor": "2024-01-01T00:00:00Z",
                             "partitions": [{"partition": {"id": j}, "cursor": 1_700_000_000 + j} for j in range(20)]}
             for i in range(10)}
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = str(Path(tmp) / "state.json")
        times = []
        for _ in range(n):
            start = time.perf_counter()
            write_state_file(path, state)
            times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1000, times[int(n * 0.9)] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=str(HERE), help="where the state file is written")
    args = ap.parse_args()
    median, p90 = write_latency(args.dir)
    print(f"one state-file write in {args.dir}: median {median:.3f} ms, p90 {p90:.3f} ms")
    with Api("--pages", "100", "--per-page", "1000") as api, tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = [str(BIN / "solidafy-cdk"), "read", "-c", str(HERE / "bench.yaml"),
                "--config-json", json.dumps({"base_url": api.url})]
        state = str(Path(tmp) / "state.json")
        variants = {
            "no --state": (base, {}),
            "--state, default policy": ([*base, "--state", state], {}),
            "--state, every checkpoint": ([*base, "--state", state], {"SOLIDAFY_STATE_SAVE_SECS": "0"}),
        }
        for cmd, env in variants.values():
            measure(cmd, env=env)  # warm-up
        results: dict[str, list] = {name: [] for name in variants}
        for _ in range(args.runs):  # interleaved, so every variant sees the same load
            for name, (cmd, env) in variants.items():
                Path(state).unlink(missing_ok=True)
                results[name].append(measure(cmd, env=env))
    for name, runs in results.items():
        print(f"{name:<28}: {best(runs)}")


if __name__ == "__main__":
    main()
