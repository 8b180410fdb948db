"""The cost of a record ``filter`` (and of transforms after it) on bench_rest.py's 100,000-record read.

Four reads of the same 100 pages x 1,000 records (bench_api.py, 127.0.0.1) to /dev/null, interleaved
so that each sees the same load: the plain ``bench.yaml``; with a ``filter`` (translated into one
Python comprehension, rest/record_filter.py); with the filter and two transforms; and with the same
condition written so that jinja renders it per record (the fallback, for comparison). The filter
keeps every record, so each read writes the same output and the difference is the filter's work.
Reported as CPU ratios against the plain read (target: filter + two transforms <= 2x).
Usage: python bench/bench_filter.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import BIN, HERE, Api, Measure, best, bytecode_env, measure

CONDITION = "{{ record.status != 'deleted' and record.score >= 0 }}"
JINJA_CONDITION = "{% if record.status != 'deleted' and record.score >= 0 %}yes{% endif %}"
TRANSFORMS = """    transform:
      - normalize_keys: snake_case
      - cast: {}
    schema:
      type: object
      properties:
        id: {type: string}
        amount: {type: number}
        active: {type: boolean}
        created_at: {type: string}
        score: {type: integer}
"""
VARIANTS = {
    "plain read": "",
    "filter": f'    filter: "{CONDITION}"\n',
    "filter + 2 transforms": f'    filter: "{CONDITION}"\n{TRANSFORMS}',
    "filter rendered by jinja": f'    filter: "{JINJA_CONDITION}"\n',
}


def connectors(tmp: Path) -> dict[str, Path]:
    base = (HERE / "bench.yaml").read_text()
    out = {}
    for i, (name, extra) in enumerate(VARIANTS.items()):
        path = tmp / f"bench{i}.yaml"
        path.write_text(base + extra)
        out[name] = path
    return out


def run(runs: int, env: dict[str, str], tmp: Path) -> None:
    files = connectors(tmp)
    with Api("--pages", "100", "--per-page", "1000") as api:
        config = json.dumps({"base_url": api.url})
        cmds = {name: [str(BIN / "solidafy-cdk"), "read", "-c", str(path), "--config-json", config]
                for name, path in files.items()}
        for cmd in cmds.values():
            measure(cmd, env=env)  # warm-up: fills the bytecode cache, warms the OS file cache
        results: dict[str, list[Measure]] = {name: [] for name in cmds}
        for _ in range(runs):  # interleaved: every variant sees the same load
            for name, cmd in cmds.items():
                results[name].append(measure(cmd, env=env))
    plain = best(results["plain read"])
    for name, measures in results.items():
        m = best(measures)
        assert m.rc == 0, f"{name}: exit {m.rc}"
        print(f"{name:<26}: {m}  CPU {m.cpu / plain.cpu:.2f}x the plain read")
    both = best(results["filter + 2 transforms"])
    print(f"filter + 2 transforms / plain read: {both.cpu / plain.cpu:.2f}x CPU (target <= 2)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="solidafy-bench-") as tmp:
        run(args.runs, bytecode_env(str(Path(tmp) / "pyc")), Path(tmp))


if __name__ == "__main__":
    main()
