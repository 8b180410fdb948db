"""The unit of work is cheap: a tiny sync as a fresh process, a warm worker, and spec/list/streams.

A tiny sync is one stream, one page, from a mock API on 127.0.0.1: the built-in ``stripe`` connector
against the Stripe mock of the integration tests (``products``: 6 records, one page), in both
flavours (``solidafy-cdk read`` and ``source-solidafy read --catalog``), and ``bench.yaml`` against
``bench_api.py`` (one page of 10 records). Baseline: ``python -c pass`` in the same run, interleaved
with ours so both see the same load; the least wall time and the least CPU of N runs are reported.
Warm worker: one process imports the package and calls ``source_solidafy.sync`` N times; the mean
per sync after three warm-up syncs. Bytecode is cached as after ``pip install`` (see bench_rest.py).

Targets: tiny sync <= 0.3 s wall and <= 50 MB peak RSS; warm worker <= 20 ms per sync;
``spec``, ``list``, ``streams`` <= 0.15 s wall.
The validated-manifest cache (source_solidafy/manifest/cache.py) is warm, as from the second run of
a connector on: a private ``SOLIDAFY_CACHE_DIR`` filled by the warm-up run. The tiny syncs are also
measured ``cold`` (an empty cache directory each run: the first run of a connector) and, with
``--before PATH``, by another checkout through ``PYTHONPATH``, all interleaved.
Usage: python bench/bench_startup.py [--runs 7] [--no-bytecode] [--before PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import BIN, HERE, Api, Measure, bytecode_env, measure

REPO = HERE.parent
MOCK = """
import json, sys, threading
sys.path.insert(0, sys.argv[1])
from integration_tests.mocks.server import MockServer
from integration_tests.mocks.stripe import StripeMock
mock = StripeMock()
srv = MockServer(mock.handler).start()
print(json.dumps(mock.config(srv.url)), flush=True)
threading.Event().wait()
"""
WARM = """
import json, sys, time
import source_solidafy as ss
connector, config, n = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
for _ in range(3):
    ss.sync(connector, config, streams=["products"])
start = time.perf_counter()
for _ in range(n):
    result = ss.sync(connector, config, streams=["products"])
assert result["total_records"] == 6, result
print((time.perf_counter() - start) / n)
"""


def least(runs: list[Measure]) -> Measure:
    """The least wall time, the least CPU and the largest peak RSS of the runs (a loaded machine
    only ever adds to the first two)."""
    return Measure(min(m.wall for m in runs), min(m.cpu for m in runs), max(m.rss_mb for m in runs),
                   max(m.rc for m in runs))


def least_wall(cmd: list[str], env: dict[str, str], runs: int) -> Measure:
    return least([measure(cmd, env=env) for _ in range(runs)])


def catalog_file(tmp: Path) -> Path:
    stream = {"name": "products", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]}
    path = tmp / "catalog.json"
    path.write_text(json.dumps({"streams": [{"stream": stream, "sync_mode": "full_refresh",
                                             "destination_sync_mode": "overwrite"}]}))
    return path


def report(label: str, ours: Measure, base: Measure, wall_target: float, rss_target: float | None) -> bool:
    ok = ours.rc == 0 and ours.wall <= wall_target and (rss_target is None or ours.rss_mb <= rss_target)
    rss = f", peak RSS {ours.rss_mb:.1f} MB (python -c pass {base.rss_mb:.1f} MB)" if rss_target else ""
    print(f"{label:<34}: {ours.wall:.3f}s wall, {ours.cpu:.3f}s CPU (python -c pass {base.wall:.3f}s, "
          f"{base.cpu:.3f}s CPU){rss}  {'ok' if ok else 'OVER'}")
    return ok


def variants(env: dict[str, str], before: str | None) -> dict[str, dict[str, str] | None]:
    """Label suffix -> environment: the warm cache, another checkout, an empty cache each run (None)."""
    out: dict[str, dict[str, str] | None] = {"": env}
    if before:
        out[" [before]"] = {**env, "PYTHONPATH": before}
    out[" [cold]"] = None
    return out


def tiny_syncs(env: dict[str, str], runs: int, stripe: str, tmp: Path, before: str | None) -> bool:
    stripe_cfg = json.loads(stripe)
    cfg_file = tmp / "config.json"
    cfg_file.write_text(json.dumps({**stripe_cfg, "connector": "stripe"}))
    with Api("--pages", "1", "--per-page", "10") as api:
        cases = {
            "tiny sync stripe (solidafy-cdk)": [str(BIN / "solidafy-cdk"), "read", "-c", "stripe", "--config-json",
                                                stripe, "--streams", "products"],
            "tiny sync stripe (source-solidafy)": [str(BIN / "source-solidafy"), "read", "--config", str(cfg_file),
                                                   "--catalog", str(catalog_file(tmp))],
            "tiny sync bench.yaml": [str(BIN / "solidafy-cdk"), "read", "-c", str(HERE / "bench.yaml"),
                                     "--config-json", json.dumps({"base_url": api.url})],
        }
        base_cmd = [sys.executable, "-c", "pass"]
        sides = variants(env, before)
        for cmd in (base_cmd, *cases.values()):
            for side in sides.values():
                measure(cmd, env=side or env)  # warm-up: bytecode cache, OS file cache, manifest cache
        ok = True
        for label, cmd in cases.items():
            got: dict[str, list[Measure]] = {name: [] for name in ["base", *sides]}
            for _ in range(runs):  # interleaved: every side sees the same load
                got["base"].append(measure(base_cmd, env=env))
                for name, side in sides.items():
                    cold = {**env, "SOLIDAFY_CACHE_DIR": tempfile.mkdtemp(dir=tmp)}
                    got[name].append(measure(cmd, env=side or cold))
            for name in sides:
                ok &= report(label + name, least(got[name]), least(got["base"]), 0.3, 50) or name != ""
    return ok


def warm_worker(env: dict[str, str], stripe: str, tmp: Path) -> bool:
    # run from an empty directory: "-c" puts the current directory first on sys.path, and a checkout
    # there would win over PYTHONPATH (how another checkout is measured: see README.md)
    out = subprocess.run([sys.executable, "-c", WARM, "stripe", stripe, "50"], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True, cwd=tmp).stdout
    per_sync = float(out.strip().splitlines()[-1])
    ok = per_sync <= 0.020
    print(f"{'warm worker (stripe, 50 syncs)':<34}: {per_sync * 1000:.1f} ms per tiny sync "
          f"(target <= 20 ms)  {'ok' if ok else 'OVER'}")
    return ok


def commands(env: dict[str, str], runs: int) -> bool:
    base = least_wall([sys.executable, "-c", "pass"], env, runs)
    ok = True
    for command in (["spec", "-c", "stripe"], ["list"], ["streams", "-c", "stripe"]):
        cmd = [str(BIN / "solidafy-cdk"), *command]
        measure(cmd, env=env)
        ok &= report(" ".join(command), least_wall(cmd, env, runs), base, 0.15, None)
    return ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-bytecode", action="store_true", help="measure without a bytecode cache")
    ap.add_argument("--before", help="a checkout whose source_solidafy to run as 'before' (through PYTHONPATH)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="solidafy-bench-startup-") as tmp:
        env = {} if args.no_bytecode else bytecode_env(f"{tmp}/pyc")
        env["SOLIDAFY_CACHE_DIR"] = f"{tmp}/manifest-cache"  # warm after the warm-up runs
        mock = subprocess.Popen([sys.executable, "-c", MOCK, str(REPO)], stdout=subprocess.PIPE, text=True)
        try:
            assert mock.stdout is not None
            stripe = mock.stdout.readline().strip()
            ok = tiny_syncs(env, args.runs, stripe, Path(tmp), args.before)
            ok &= warm_worker(env, stripe, Path(tmp))
            ok &= commands(env, args.runs)
        finally:
            mock.terminate()
            mock.wait()
    print(f"PASS (load average {os.getloadavg()[0]:.1f})" if ok else f"FAIL (load average {os.getloadavg()[0]:.1f})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
