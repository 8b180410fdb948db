"""REST throughput and start-up: ``solidafy-cdk read`` against the raw requests+orjson ceiling.

100 pages x 1,000 records of 10 fields, cursor pagination, on 127.0.0.1; both write RECORD lines
to /dev/null. Reported as ratios measured in the same run. Usage: python bench/bench_rest.py [--runs 3]

Bytecode: ``pip install`` compiles every module to ``.pyc``, so an installed ``solidafy-cdk`` never
compiles its own source at start-up. This work tree is an editable install and the environment may
set PYTHONDONTWRITEBYTECODE, which would make every measured run compile ~8,000 lines of our source
(~0.1 s CPU) while the raw loop's libraries come precompiled. So by default both sides run with a
private bytecode cache (PYTHONPYCACHEPREFIX, warmed once, nothing written into the tree);
``--no-bytecode`` measures the uncached way instead.

Validated-manifest cache (source_solidafy/manifest/cache.py): ``solidafy read`` runs with a private
``SOLIDAFY_CACHE_DIR`` filled by the warm-up run (a second run of the same connector, as in use);
``cold`` is the same read with an empty cache directory each run (the first run: validate and write).
``--before PATH``: the same read by another checkout through ``PYTHONPATH``, interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import BIN, HERE, Api, Measure, best, bytecode_env, measure


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


def sides(raw_cmd: list[str], ours_cmd: list[str], env: dict[str, str], cache: Path,
          before: str | None) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """Each measured side: its command and environment (None: a new, empty manifest cache each run)."""
    warm = {**env, "SOLIDAFY_CACHE_DIR": str(cache / "warm")}
    out: dict[str, tuple[list[str], dict[str, str] | None]] = {"raw": (raw_cmd, env), "ours": (ours_cmd, warm)}
    if before:
        out["before"] = (ours_cmd, {**warm, "PYTHONPATH": before})
    out["cold"] = (ours_cmd, None)
    return out


def run(runs: int, env: dict[str, str], before: str | None) -> None:
    with Api("--pages", "100", "--per-page", "1000") as api, \
            tempfile.TemporaryDirectory(prefix="solidafy-bench-cache-") as cache_root:
        cache = Path(cache_root)
        raw_cmd = [sys.executable, str(HERE / "raw_loop.py"), api.url]
        ours_cmd = [str(BIN / "solidafy-cdk"), "read", "-c", str(HERE / "bench.yaml"),
                    "--config-json", json.dumps({"base_url": api.url})]
        measured = sides(raw_cmd, ours_cmd, env, cache, before)
        fresh = {**env, "SOLIDAFY_CACHE_DIR": str(cache / "warm")}
        for cmd, side_env in (*measured.values(), *(([str(BIN / "solidafy-cdk"), *c], fresh) for c in STARTUP_COMMANDS)):
            measure(cmd, env=side_env or fresh)  # warm-up: bytecode cache, OS file cache, manifest cache
        results: dict[str, list[Measure]] = {name: [] for name in measured}
        for _ in range(runs):  # interleaved: every side sees the same load
            for name, (cmd, side_env) in measured.items():
                results[name].append(measure(cmd, env=side_env or {**env, "SOLIDAFY_CACHE_DIR": tempfile.mkdtemp(dir=cache)}))
        least = {name: best(items) for name, items in results.items()}
        for cmd in STARTUP_COMMANDS:
            print(f"start-up {' '.join(cmd):<20}: {startup(cmd, fresh):.3f}s wall (target < 0.25)")
    show(least, env)


def show(least: dict[str, Measure], env: dict[str, str]) -> None:
    records, raw, ours = 100_000, least["raw"], least["ours"]
    print(f"bytecode      : {'cached, as after pip install' if env else 'not cached (source compiled each run)'}"
          f"; load average {os.getloadavg()[0]:.1f}")
    print(f"raw loop      : {raw}  -> {records / raw.cpu:,.0f} records/CPU-s")
    print(f"solidafy read : {ours}  -> {records / ours.cpu:,.0f} records/CPU-s  (manifest cache warm)")
    for name in ("cold", "before"):
        if name in least:
            print(f"{name:<14}: {least[name]}  -> CPU ratio {name}/raw {least[name].cpu / raw.cpu:.2f}")
    print(f"CPU ratio ours/raw: {ours.cpu / raw.cpu:.2f} (target <= 1.0, stretch 0.7: issue 16); peak RSS {ours.rss_mb:.1f} MB (target <= 60)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-bytecode", action="store_true", help="measure without a bytecode cache")
    ap.add_argument("--before", help="a checkout whose source_solidafy to run as 'before' (through PYTHONPATH)")
    args = ap.parse_args()
    if args.no_bytecode:
        run(args.runs, {}, args.before)
    else:
        with tempfile.TemporaryDirectory(prefix="solidafy-bench-pyc-") as cache:
            run(args.runs, bytecode_env(cache), args.before)
    print(f"heavy modules imported by spec/list/streams: {heavy_imports() or 'none'}")


if __name__ == "__main__":
    main()
