"""Run every benchmark in bench/ in turn (``make bench``); each prints its own ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_startup.py", "bench_rest.py", "bench_filter.py", "bench_drift.py", "bench_ratelimit.py", "bench_concurrency.py", "bench_parquet.py", "bench_postgres.py", "bench_limits.py", "bench_server.py",
         "bench_shards.py", "bench_shards_api.py", "bench_merge.py", "bench_airbyte_manifest.py"]


def main() -> int:
    failed = 0
    for name in ORDER:
        script = HERE / name
        if not script.exists():
            continue
        print(f"== {name}", flush=True)
        failed += subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
