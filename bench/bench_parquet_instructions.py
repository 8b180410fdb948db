"""Issue 16's load-proof figure: instructions of a page of the whole read, Parquet against NDJSON files.

    .venv/bin/python bench/bench_parquet_instructions.py                       # this checkout
    .venv/bin/python bench/bench_parquet_instructions.py --before /tmp/before  # and that one

``solidafy-cdk read -c bench/bench.yaml --format parquet|json --output DIR`` from ``bench_api.py``
(its own process, not counted) runs under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``, a
bytecode cache warmed by a run outside valgrind first) for ``--small`` and ``--large`` pages of 1,000
records; the difference of the totals divided by the difference of pages is a page's cost without
start-up. Prints millions of instructions a page and the Parquet/NDJSON ratio (issue 16: <= 1.2).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from common import BIN, HERE, Api, bytecode_env


def _total(url: str, fmt: str, code: str, cache: str, valgrind: bool) -> int:
    env = {**os.environ, **bytecode_env(cache), "PYTHONPATH": code, "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="bench-parquet-ir-") as out:
        cmd = [str(BIN / "solidafy-cdk"), "read", "-c", str(HERE / "bench.yaml"), "--config-json",
               json.dumps({"base_url": url}), "--format", fmt, "--output", out]
        if valgrind:
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out", *cmd]
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a checkout of the code before a change, measured too")
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=60)
    args = parser.parse_args()
    codes = {"after": str(HERE.parent), **({"before": str(Path(args.before).resolve())} if args.before else {})}
    with tempfile.TemporaryDirectory() as cache, Api("--pages", str(args.small)) as small, \
            Api("--pages", str(args.large)) as large:
        for name, code in codes.items():
            per_page = {}
            for fmt in ("parquet", "json"):
                _total(small.url, fmt, code, f"{cache}/{name}", valgrind=False)  # warms the bytecode cache
                totals = [_total(api.url, fmt, code, f"{cache}/{name}", valgrind=True) for api in (small, large)]
                per_page[fmt] = (totals[1] - totals[0]) / (args.large - args.small)
            print(f"{name:6} instructions a page of 1,000 records: Parquet {per_page['parquet'] / 1e6:.2f} M, "
                  f"NDJSON files {per_page['json'] / 1e6:.2f} M: {per_page['parquet'] / per_page['json']:.3f}x")
    print("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
