"""CPU per HTTP request of ``HttpClient.request`` (every guarantee on), against requests and urllib3 alone.

The bench API (bench_api.py, own process) serves 1-record pages, so the request itself is what costs.
Each side runs in a child process, ``--requests`` GETs with two query parameters after 100 of warm-up,
and reports its own CPU (``time.process_time``: every thread of the child, the deadline watchdog
included) per request, the least of its chunks of 100 requests:

- ``ours``: ``HttpClient.request`` as the engine calls it (a stream's ``RequestStats``, retries, the
  rate-limit budget, the deadline, the credential scope, proxies from the environment);
- ``ours POST``: the same with a JSON body (bench_airbyte_manifest's Ashby requests are POSTs);
- ``requests``: ``requests.Session.get(url, params=...)`` (the raw loop of bench_rest.py);
- ``urllib3``: ``PoolManager.request`` (no guarantees at all; the floor).

``--before PATH`` adds ``before`` / ``before POST``: the same as ``ours`` with another checkout's code
(through ``PYTHONPATH``), interleaved round by round. The least CPU of ``--runs`` rounds is kept.

    .venv/bin/python bench/bench_http.py --requests 3000 --runs 5 --before /tmp/old
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from common import Api

CHILD = r"""
import json, sys, time
kind, base, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind in ("ours", "ours POST"):
    from source_solidafy.request_stats import RequestStats
    from source_solidafy.rest.http import HttpClient
    client, stats = HttpClient(base), RequestStats()
    post = kind == "ours POST"
    def one(i):
        if post:
            client.request("POST", "/items", params={"cursor": str(i % 1000), "limit": "1"},
                           json_body={"cursor": i, "limit": 1}, stats=stats)
        else:
            client.request("GET", "/items", params={"cursor": str(i % 1000), "limit": "1"}, stats=stats)
elif kind == "requests":
    import requests
    session = requests.Session()
    def one(i):
        session.get(base + "/items", params={"cursor": str(i % 1000), "limit": "1"}).content
else:
    import urllib3
    pool = urllib3.PoolManager()
    def one(i):
        pool.request("GET", base + "/items", fields={"cursor": str(i % 1000), "limit": "1"}).data
for i in range(100):
    one(i)
chunk, cpus, walls = 100, [], []
for start in range(0, n, chunk):  # the least CPU of n/100 chunks: what other work on the machine adds drops out
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(start, start + chunk):
        one(i)
    cpus.append(time.process_time() - cpu)
    walls.append(time.perf_counter() - wall)
print(json.dumps({"cpu_us": min(cpus) / chunk * 1e6, "wall_us": min(walls) / chunk * 1e6}))
"""


def child(kind: str, url: str, n: int, pythonpath: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    kind = kind.replace("before", "ours")  # the same child, another checkout's code
    out = subprocess.run([sys.executable, "-c", CHILD, kind, url, str(n)], env=env, check=True,
                         capture_output=True, text=True, cwd=pythonpath)  # -c puts the cwd first on sys.path
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before", help="another checkout, measured through PYTHONPATH")
    ap.add_argument("--only", help="comma-separated sides (default all)")
    args = ap.parse_args()
    sides = ["ours", "ours POST", "requests", "urllib3"]
    if args.before:
        sides[2:2] = ["before", "before POST"]
    if args.only:
        sides = [s for s in sides if s in args.only.split(",")]
    here = str(Path(__file__).resolve().parents[1])
    best: dict[str, dict[str, float]] = {}
    with Api("--pages", "1000", "--per-page", "1") as api:
        for _ in range(args.runs):
            for side in sides:
                path = args.before if side.startswith("before") else here
                got = child(side, api.url, args.requests, path)
                if side not in best or got["cpu_us"] < best[side]["cpu_us"]:
                    best[side] = got
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; {args.requests} requests x {args.runs} "
          "rounds, least CPU kept")
    for side in sides:
        print(f"{side:12s}: {best[side]['cpu_us']:7.1f} us CPU/request, {best[side]['wall_us']:7.1f} us wall")
    for a, b in (("ours", "before"), ("ours POST", "before POST")):
        if a in best and b in best:
            print(f"{a} / {b}: {best[a]['cpu_us'] / best[b]['cpu_us']:.3f}x")


if __name__ == "__main__":
    main()
