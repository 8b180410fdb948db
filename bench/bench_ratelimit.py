"""An API that enforces its rate limit: 2,000 requests at ``--concurrency 8`` with and without the budget.

The mock (integration_tests/mocks/ratelimited.py, its own process: ratelimit_mock.py) allows 100
requests per 0.5 s window and answers 429 (with ``Retry-After``) past it; every response says the
budget in the IETF ``RateLimit``/``RateLimit-Policy`` fields. The sync: ``teams`` (20 pages) ->
``members`` (a partition per team, 100 x 10 pages) + ``events`` (98 partitions x 10 pages), the
connector's default retries. ``ours`` is this checkout; ``before`` (``--before PATH``) another
checkout through ``PYTHONPATH``, e.g. the commit before the budget (``git worktree add /tmp/b <commit>``),
the baseline in the same run. A fresh API per run.

Reported per run: the 429s the API sent, the requests it served, wall and CPU, and from the summary
the retries, the rate-limit waits and the streams that failed.
Usage: ``python bench/bench_ratelimit.py [--runs 2] [--before PATH]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from common import BIN, Api, measure

PAGE = "decoder: {type: json, records_path: data}\n    pagination: {type: cursor, cursor_param: cursor, cursor_path: next}"
MOCK = {"limit": 100, "window": 0.5, "family": "ietf", "pages": 10, "teams": 100, "decimal": True}
REGIONS = ", ".join(f"r{i}" for i in range(98))
CONNECTOR = f"""
name: limited
base_url: http://127.0.0.1:9
streams:
  - name: events
    request: {{path: "/items/{{{{ partition.region }}}}"}}
    partition: {{type: list, field: region, values: [{REGIONS}]}}
    {PAGE}
  - name: teams
    request: {{path: /teams}}
    {PAGE}
  - name: members
    request: {{path: "/items/{{{{ partition.team }}}}"}}
    partition: {{type: parent_stream, stream: teams, parent_field: id, field: team}}
    {PAGE}
"""


def one_run(connector: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    with Api(json.dumps(MOCK), script="ratelimit_mock.py") as api:
        cmd = [str(BIN / "solidafy-cdk"), "read", "-c", str(connector), "--config-json",
               json.dumps({"base_url": api.url}), "--concurrency", "8"]
        with out.open("wb") as sink:
            m = measure(cmd, stdout=sink.fileno(), env=env)
        with urllib.request.urlopen(f"{api.url}/_counts") as resp:
            counts = json.loads(resp.read())
    last = json.loads(out.read_bytes().splitlines()[-1])
    streams = last.get("summary", {}).get("streams", []) if last.get("type") == "SYNC_SUMMARY" else []
    http = [s.get("http", {}) for s in streams]
    return {"measure": m, **counts, "failed": sum(s["status"] == "FAILED" for s in streams),
            "retries": sum(h.get("retries", 0) for h in http),
            "waits": sum(h.get("rate_limit_waits", 0) for h in http),
            "wait_s": sum(h.get("rate_limit_wait_ms", 0) for h in http) / 1000}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--before", help="a checkout whose source_solidafy to run as 'before'")
    args = ap.parse_args()
    variants = {"ours": {}, **({"before": {"PYTHONPATH": args.before}} if args.before else {})}
    with tempfile.TemporaryDirectory(prefix="solidafy-bench-ratelimit-") as tmp:
        connector = Path(tmp) / "limited.yaml"
        connector.write_text(CONNECTOR)
        for i in range(args.runs):
            for name, env in variants.items():  # interleaved: both see the same load
                r = one_run(connector, Path(tmp) / "out.jsonl", env)
                print(f"{name:<6} run {i + 1}: 429s {r['rejected']:>4}, served {r['served']}, "
                      f"failed streams {r['failed']}, retries {r['retries']}, rate-limit waits {r['waits']} "
                      f"({r['wait_s']:.1f} s summed over threads); {r['measure']}", flush=True)


if __name__ == "__main__":
    main()
