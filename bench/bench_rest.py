"""REST throughput and start-up: ``solidafy-cdk read`` against the raw requests+orjson ceiling.

100 pages x 1,000 records of 10 fields, cursor pagination, on 127.0.0.1; both write RECORD lines
to /dev/null. Reported as ratios measured in the same run. Usage: python bench/bench_rest.py [--runs 3]

Bytecode: ``pip install`` compiles every module to ``.pyc``, so an installed ``solidafy-cdk`` never
compiles its own source at start-up. This work tree is an editable install and the environment may
set PYTHONDONTWRITEBYTECODE, which would make every measured run compile ~8,000 lines of our source
(~0.1 s CPU) while the raw loop's libraries come precompiled. So by default both sides run with a
private bytecode cache (PYTHONPYCACHEPREFIX, warmed once, nothing written into the tree);
``--no-bytecode`` measures the uncached way instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from common import BIN, HERE, Api, best, bytecode_env, measure


def startup(command: list[str], env: dict[str, str]) -> float:
    runs = [measure([str(BIN / "solidafy-cdk"), *command], env=env).wall for _ in range(5)]
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


STARTUP_COMMANDS = (["spec", "-c", "stripe"], ["list"], ["streams", "-c", "stripe"])


def run(runs: int, env: dict[str, str]) -> None:
    with Api("--pages", "100", "--per-page", "1000") as api:
        raw_cmd = [sys.executable, str(HERE / "raw_loop.py"), api.url]
        ours_cmd = [str(BIN / "solidafy-cdk"), "read", "-c", str(HERE / "bench.yaml"),
                    "--config-json", json.dumps({"base_url": api.url})]
        for cmd in (raw_cmd, ours_cmd, *([str(BIN / "solidafy-cdk"), *c] for c in STARTUP_COMMANDS)):
            measure(cmd, env=env)  # warm-up: fills the bytecode cache, warms the OS file cache
        pairs = [(measure(raw_cmd, env=env), measure(ours_cmd, env=env)) for _ in range(runs)]  # interleaved:
        raw, ours = best([r for r, _ in pairs]), best([o for _, o in pairs])  # both sides see the same load
    records = 100_000
    print(f"bytecode      : {'cached, as after pip install' if env else 'not cached (source compiled each run)'}")
    print(f"raw loop      : {raw}  -> {records / raw.cpu:,.0f} records/CPU-s")
    print(f"solidafy read : {ours}  -> {records / ours.cpu:,.0f} records/CPU-s")
    print(f"CPU ratio ours/raw: {ours.cpu / raw.cpu:.2f} (target <= 1.0, stretch 0.7: issue 16); peak RSS {ours.rss_mb:.1f} MB (target <= 60)")
    for cmd in STARTUP_COMMANDS:
        print(f"start-up {' '.join(cmd):<20}: {startup(cmd, env):.3f}s wall (target < 0.25)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-bytecode", action="store_true", help="measure without a bytecode cache")
    args = ap.parse_args()
    if args.no_bytecode:
        run(args.runs, {})
    else:
        with tempfile.TemporaryDirectory(prefix="solidafy-bench-pyc-") as cache:
            run(args.runs, bytecode_env(cache))
    print(f"heavy modules imported by spec/list/streams: {heavy_imports() or 'none'}")


if __name__ == "__main__":
    main()
