"""Helpers for the benchmarks: run a child, measure its CPU, wall time and peak RSS with wait4."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


@dataclass
class Measure:
    wall: float
    cpu: float
    rss_mb: float
    rc: int

    def __str__(self) -> str:
        return f"wall {self.wall:.3f}s cpu {self.cpu:.3f}s rss {self.rss_mb:.1f}MB rc {self.rc}"


def measure(cmd: list[str], stdout: int | None = subprocess.DEVNULL, env: dict | None = None) -> Measure:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))


class Api:
    """Start bench_api.py (or another mock ``script`` that prints its URL) in its own process."""

    def __init__(self, *args: str, script: str = "bench_api.py") -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / script), *args],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


def bytecode_env(cache_dir: str | None) -> dict[str, str]:
    """Children read (and, on the warm-up run, write) bytecode in ``cache_dir``, as after an install."""
    if cache_dir is None:
        return {}
    return {"PYTHONPYCACHEPREFIX": cache_dir, "PYTHONDONTWRITEBYTECODE": ""}  # empty = unset for Python


def best(runs: list[Measure]) -> Measure:
    """The run with the least CPU (the machine is shared; the best run is the most repeatable)."""
    return min(runs, key=lambda m: m.cpu)
