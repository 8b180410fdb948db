"""Interleaved A/B of a Parquet change end to end: CPU of Parquet against NDJSON files, before and after.

    git -C /work/main worktree add --detach /tmp/before main   # the code before the change
    .venv/bin/python bench/bench_parquet_ab.py --before /tmp/before --pages 1000 --rounds 4

Each round runs ``solidafy-cdk read -c bench/bench.yaml --format parquet|json --output DIR`` from one
``bench_api.py`` process (1,000 records a page) for the code in ``--before`` (through ``PYTHONPATH``)
and this checkout, one after the other; a first round warms the bytecode caches and is not counted.
The least CPU of the rounds counts (the machine is shared: noise only adds time); peak RSS is the
highest seen. Prints the Parquet/NDJSON CPU ratio of each code and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # common.py

from common import BIN, Api, Measure, bytecode_env, measure  # noqa: E402


def _read(url: str, fmt: str, code: str, cache: str) -> Measure:
    env = {**bytecode_env(cache), "PYTHONPATH": code}
    with tempfile.TemporaryDirectory(prefix="bench-parquet-ab-") as out:
        m = measure([str(BIN / "solidafy-cdk"), "read", "-c", str(HERE / "bench.yaml"), "--config-json",
                     json.dumps({"base_url": url}), "--format", fmt, "--output", out], env=env)
    assert m.rc == 0, (fmt, code)
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a checkout of the code before the change")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    codes = {"before": str(Path(args.before).resolve()), "after": str(HERE.parent)}
    runs: dict[tuple[str, str], list[Measure]] = {}
    with tempfile.TemporaryDirectory() as cache, Api("--pages", str(args.pages), "--per-page", "1000") as api:
        for rnd in range(args.rounds + 1):
            for name, code in codes.items():
                for fmt in ("parquet", "json"):
                    m = _read(api.url, fmt, code, f"{cache}/{name}")
                    if rnd:
                        runs.setdefault((name, fmt), []).append(m)
    for name in codes:
        pq, js = runs[(name, "parquet")], runs[(name, "json")]
        best_pq, best_js = min(m.cpu for m in pq), min(m.cpu for m in js)
        print(f"{name:6} {args.pages * 1000:>9,} records: Parquet CPU {best_pq:.3f} s (median "
              f"{statistics.median(m.cpu for m in pq):.3f}), NDJSON files {best_js:.3f} s (median "
              f"{statistics.median(m.cpu for m in js):.3f}): {best_pq / best_js:.3f}x; peak RSS Parquet "
              f"{max(m.rss_mb for m in pq):.1f} MB, NDJSON {max(m.rss_mb for m in js):.1f} MB")
    print("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
