"""REST throughput and start-up: ``solidafy-cdk read`` against the raw requests+orjson ceiling.

100 pages x 1,000 records of 10 fields, cursor pagination, on 127.0.0.1; both write RECORD lines
to /dev/null. Reported as ratios measured in the same run. Usage: python bench/bench_rest.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import BIN, HERE, Api, best, measure


def startup(command: list[str]) -> float:
    runs = [measure([str(BIN / "solidafy-cdk"), *command]).wall for _ in range(5)]
    return min(runs)


def heavy_imports() -> list[str]:
    code = ("import sys; from source_solidafy.cli import main; import io, contextlib\n"
            "buf = io.StringIO()\n"
            "for argv in (['spec','-c','stripe'], ['list'], ['streams','-c','stripe']):\n"
            "    with contextlib.redirect_stdout(buf):\n"
            "        try: main(argv)\n"
            "        except SystemExit: pass\n"
            "print(','.join(m for m in ('pyarrow','duckdb','flask','smart_open','boto3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip().splitlines()
    return [m for m in (out[-1] if out else "").split(",") if m]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with Api("--pages", "100", "--per-page", "1000") as api:
        raw = best([measure([sys.executable, str(HERE / "raw_loop.py"), api.url]) for _ in range(args.runs)])
        config = json.dumps({"base_url": api.url})
        ours = best([measure([str(BIN / "solidafy-cdk"), "read", "-c", str(HERE / "bench.yaml"),
                              "--config-json", config]) for _ in range(args.runs)])
        airbyte_cfg = HERE / ".bench_config.json"
    records = 100_000
    print(f"raw loop      : {raw}  -> {records / raw.cpu:,.0f} records/CPU-s")
    print(f"solidafy read : {ours}  -> {records / ours.cpu:,.0f} records/CPU-s")
    print(f"CPU ratio ours/raw: {ours.cpu / raw.cpu:.2f} (target <= 1.5); peak RSS {ours.rss_mb:.1f} MB (target <= 60)")
    for cmd in (["spec", "-c", "stripe"], ["list"], ["streams", "-c", "stripe"]):
        print(f"start-up {' '.join(cmd):<20}: {startup(cmd):.3f}s wall (target < 0.25)")
    print(f"heavy modules imported by spec/list/streams: {heavy_imports() or 'none'}")
    airbyte_cfg.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
