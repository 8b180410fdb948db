"""What schema drift detection and the rate-limit budget cost per record: bench_rest.py's read, three ways.

100 pages x 1,000 records of 10 fields from ``bench_api.py``, to /dev/null, interleaved in one run:

- ``plain``: ``bench.yaml`` as is (no declared schema: drift is not watched);
- ``schema``: the same with a schema that fits every record (watched, nothing found);
- ``drift``: a schema that lacks two fields and types ``amount`` as an integer (found and reported);
- ``before`` (with ``--before PATH``): ``plain`` run from another checkout through ``PYTHONPATH``
  (e.g. ``git worktree add /tmp/before <commit>`` from before the budget), the same dependencies.

Reported: the least CPU of ``--runs`` runs each and the ratios to ``plain``. Whole reads differ by a
few percent from run to run on a shared machine, so the watch is also timed alone, in this process,
on the same 100,000 records (``DriftWatch.observe`` page by page, best of 5), against the read's CPU
per record.
Usage: ``python bench/bench_drift.py [--runs 3] [--before /tmp/before]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from common import BIN, HERE, Api, best, bytecode_env, measure

FIELDS = {"id": "integer", "name": "string", "email": "string", "amount": "number", "active": "boolean",
          "country": "string", "created_at": "integer", "updated_at": "integer", "status": "string",
          "score": "integer"}


def connector(directory: Path, name: str, types: dict[str, str]) -> str:
    props = {k: {"type": v} for k, v in types.items()}
    text = (HERE / "bench.yaml").read_text() + f"    schema: {json.dumps({'type': 'object', 'properties': props})}\n"
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def watch_alone(drifting: dict[str, str]) -> None:
    """``DriftWatch.observe`` over the bench API's 100 pages, timed in process (best of 5)."""
    import time

    import orjson
    from bench_api import build_pages

    from source_solidafy.drift import DriftWatch

    pages = [orjson.loads(body)["data"] for body in build_pages(100, 1000).values()]
    for name, types in (("schema", FIELDS), ("drift", drifting)):
        schema = {"type": "object", "properties": {k: {"type": v} for k, v in types.items()}}
        times = []
        for _ in range(5):
            watch = DriftWatch(schema)
            start = time.process_time()
            for page in pages:
                watch.observe(page)
            times.append(time.process_time() - start)
        print(f"watch alone ({name}): {min(times) * 1000:.1f} ms CPU for 100,000 records = "
              f"{min(times) / 100_000 * 1e9:.0f} ns a record ({watch.checked} records checked)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--before", help="a checkout whose source_solidafy to run as 'before'")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="solidafy-bench-drift-") as tmp, Api("--pages", "100", "--per-page", "1000") as api:
        env = bytecode_env(str(Path(tmp) / "pyc"))
        drifting = {k: v for k, v in FIELDS.items() if k not in ("country", "status")} | {"amount": "integer"}
        yamls = {"plain": str(HERE / "bench.yaml"), "schema": connector(Path(tmp), "schema", FIELDS),
                 "drift": connector(Path(tmp), "drift", drifting)}
        config = json.dumps({"base_url": api.url})
        cmds = {name: ([str(BIN / "solidafy-cdk"), "read", "-c", y, "--config-json", config], env)
                for name, y in yamls.items()}
        if args.before:
            cmds["before"] = (cmds["plain"][0], {**env, "PYTHONPATH": args.before})
        for cmd, cmd_env in cmds.values():
            measure(cmd, env=cmd_env)  # warm-up: bytecode cache, OS file cache
        runs: dict[str, list] = {name: [] for name in cmds}
        for _ in range(args.runs):  # interleaved: every variant sees the same load
            for name, (cmd, cmd_env) in cmds.items():
                runs[name].append(measure(cmd, env=cmd_env))
    watch_alone(drifting)
    results = {name: best(r) for name, r in runs.items()}
    base = results["plain"].cpu
    for name, m in results.items():
        print(f"{name:<7}: {m}  -> {m.cpu / 100_000 * 1e6:.2f} us CPU a record, CPU {m.cpu / base:.3f}x plain")
    if any(m.rc for m in results.values()):
        sys.exit("a read failed")


if __name__ == "__main__":
    main()
