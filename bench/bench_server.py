"""Benchmark of ``solidafy-cdk serve``: concurrent mixed load, then a 100,000-record streamed /sync vs the CLI.

1. ``--clients`` (50) threads for ``--duration`` (30 s) seconds, each looping over ``/health``,
   ``/connectors`` and a small ``/sync`` (20 demo products) against the demo API: failed requests
   (any non-2xx or connection error), p50/p99 latency per endpoint, peak RSS of the server. A 503
   ``busy`` (more syncs than ``--max-concurrent-calls``) is the server's back-pressure, counted as
   ``busy`` and not a failure; the client waits ``Retry-After`` (capped at 0.2 s here) and goes on.
2. One streamed ``/sync`` of 100,000 demo orders (``Accept: application/x-ndjson``) and the same sync
   by ``solidafy-cdk read``, measured in the same run: the server's wall time must stay within
   ``--max-ratio`` (1.5) times the CLI's.

The demo API runs in its own process so it competes with neither. Exit code 1 when a request failed
or the ratio is exceeded. ``python bench/bench_server.py [--duration 30] [--clients 50] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration_tests.helpers import cli_path  # noqa: E402
from integration_tests.test_server_support import DEMO_TOKEN, ServerProcess  # noqa: E402

ORDERS = 100_000
_DEMO_SCRIPT = (
    "import sys, threading\n"
    "from source_solidafy.demo_api import DemoApi, make_data\n"
    "api = DemoApi(make_data(customers=10, orders=int(sys.argv[1]), products=40))\n"
    "print(api.start(), flush=True)\n"
    "threading.Event().wait()\n"
)


@contextmanager
def demo_api(orders: int) -> Iterator[str]:
    """The demo API in a subprocess; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-c", _DEMO_SCRIPT, str(orders)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Load:
    """Clients looping over the three calls until the deadline; latencies in ms per endpoint."""

    def __init__(self, url: str, base_url: str, clients: int, duration: float) -> None:
        self.url, self.clients, self.duration = url, clients, duration
        config = {"api_key": DEMO_TOKEN, "base_url": base_url}
        sync = {"connector": "demo", "config": config, "streams": ["products"], "max_records": 20}
        self.calls = [("GET", "/health", None), ("GET", "/connectors", None), ("POST", "/sync", sync)]
        self.latency: dict[str, list[float]] = {path: [] for _, path, _ in self.calls}
        self.failures: list[str] = []
        self.busy = 0
        self._lock = threading.Lock()

    def _client(self, offset: int, deadline: float) -> None:
        session = requests.Session()
        i = offset
        while time.monotonic() < deadline:
            method, path, body = self.calls[i % len(self.calls)]
            i += 1
            started = time.perf_counter()
            try:
                resp = session.request(method, self.url + path, json=body, timeout=60)
                if resp.status_code == 503 and resp.json()["error"]["code"] == "busy":
                    with self._lock:
                        self.busy += 1
                    time.sleep(min(0.2, float(resp.headers.get("Retry-After", "1"))))
                    continue
                ok = resp.ok and (path != "/sync" or resp.json()["data"]["result"]["status"] == "SUCCEEDED")
                problem = None if ok else f"{path}: HTTP {resp.status_code} {resp.text[:200]}"
            except requests.RequestException as exc:
                problem = f"{path}: {type(exc).__name__}: {exc}"
            ms = (time.perf_counter() - started) * 1000
            with self._lock:
                self.latency[path].append(ms)
                if problem:
                    self.failures.append(problem)

    def run(self) -> None:
        deadline = time.monotonic() + self.duration
        threads = [threading.Thread(target=self._client, args=(n, deadline)) for n in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def report(self) -> dict[str, Any]:
        per = {path: {"requests": len(v), "p50_ms": round(percentile(v, 0.50), 1), "p99_ms": round(percentile(v, 0.99), 1),
                      "mean_ms": round(statistics.fmean(v), 1) if v else 0.0} for path, v in self.latency.items()}
        every = [x for v in self.latency.values() for x in v]
        return {"clients": self.clients, "duration_s": self.duration, "requests": len(every),
                "failed": len(self.failures), "busy": self.busy, "first_failures": self.failures[:5],
                "p50_ms": round(percentile(every, 0.50), 1), "p99_ms": round(percentile(every, 0.99), 1), "endpoints": per}


class PeakRss:
    """Samples the RSS of a process and its children (the workers) in the background."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.proc, self.every, self.peak = psutil.Process(pid), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:  # a worker came or went between the two calls
                pass
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def streamed_sync(url: str, base_url: str) -> tuple[float, int]:
    body = {"connector": "demo", "config": {"api_key": DEMO_TOKEN, "base_url": base_url}, "streams": ["orders"]}
    started = time.perf_counter()
    records = 0
    with requests.post(url + "/sync", json=body, headers={"Accept": "application/x-ndjson"}, stream=True, timeout=600) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines(chunk_size=65536):
            if line.startswith(b'{"type":"RECORD"'):
                records += 1
    return time.perf_counter() - started, records


def cli_sync(base_url: str) -> tuple[float, int]:
    config = json.dumps({"api_key": DEMO_TOKEN, "base_url": base_url})
    started = time.perf_counter()
    proc = subprocess.Popen([cli_path(), "read", "-c", "demo", "--config-json", config, "--streams", "orders"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    records = sum(1 for line in proc.stdout if line.startswith(b'{"type":"RECORD"'))
    proc.wait()
    return time.perf_counter() - started, records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--threads", type=int, default=16, help="server worker threads")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--max-ratio", type=float, default=1.5)
    ap.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = ap.parse_args(argv)
    with demo_api(ORDERS) as base_url, ServerProcess("--threads", str(args.threads), "--workers", str(args.workers)) as srv:
        assert srv.proc is not None
        with PeakRss(srv.proc.pid) as rss:
            load = Load(srv.url, base_url, args.clients, args.duration)
            load.run()
            http_s, http_n = streamed_sync(srv.url, base_url)
        cli_s, cli_n = cli_sync(base_url)
    report = {"load": load.report(), "server_peak_rss_mb": round(rss.peak / 2**20, 1),
              "streamed_sync": {"records": http_n, "http_s": round(http_s, 2), "cli_s": round(cli_s, 2),
                                "cli_records": cli_n, "ratio": round(http_s / cli_s, 2), "max_ratio": args.max_ratio}}
    ok = report["load"]["failed"] == 0 and http_n == cli_n == ORDERS and http_s <= args.max_ratio * cli_s
    report["ok"] = ok
    print(json.dumps(report) if args.json else _human(report))
    return 0 if ok else 1


def _human(r: dict[str, Any]) -> str:
    load, s = r["load"], r["streamed_sync"]
    lines = [f"load: {load['clients']} clients x {load['duration_s']:.0f}s: {load['requests']} requests, "
             f"{load['failed']} failed, {load['busy']} busy (503), p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms"]
    lines += [f"  {path:<12} {e['requests']:>6} req  p50 {e['p50_ms']:>7} ms  p99 {e['p99_ms']:>7} ms"
              for path, e in load["endpoints"].items()]
    lines += load["first_failures"]
    lines.append(f"server peak RSS: {r['server_peak_rss_mb']} MB")
    lines.append(f"streamed /sync of {s['records']} records: {s['http_s']} s; CLI: {s['cli_s']} s "
                 f"({s['cli_records']} records); ratio {s['ratio']} (max {s['max_ratio']})")
    lines.append("OK" if r["ok"] else "FAILED")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
