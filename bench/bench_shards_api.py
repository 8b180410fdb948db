"""Shards scale on a latency-bound API: 1, 2 and 4 shards of one plan as separate processes.

The mock (integration_tests/mocks/shards.py, its own process) answers each request after 50-200 ms.
``account_notes`` (one partition per account, 3 pages each) is planned once into 16 units; then
1, 2 and 4 `read --plan --shard I/N` processes run at once (each at the default --concurrency 4),
then `state merge`. Reported: the wall time of the shards (start of the first to end of the last)
against the single shard in the same run (target: near 1/N), and whether the records (by primary
key) and the merged state are the same for every N.
Usage: python bench/bench_shards_api.py [--accounts 300] [--latency 0.05 0.2] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BIN, HERE

REPO = HERE.parent
sys.path.insert(0, str(REPO))
from integration_tests.mocks.shards import CONNECTOR  # noqa: E402

CLI = str(BIN / "solidafy-cdk")


def start_mock(accounts: int, latency: tuple[float, float]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "integration_tests.mocks.shards", "--accounts", str(accounts),
                             "--latency", str(latency[0]), str(latency[1])], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def records(out: Path) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for f in out.glob("account_notes/dt=*/data*.jsonl"):
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            assert rec["id"] not in rows, "a record twice"
            rows[rec["id"]] = rec
    return rows


def run_shards(n: int, cfg: list[str], plan: Path, out: Path) -> float:
    start = time.perf_counter()
    procs = [subprocess.Popen([CLI, "read", *cfg, "--plan", str(plan), "--shard", f"{i}/{n}", "-o", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(n)]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - start
    assert codes == [0] * n, codes
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=300)
    ap.add_argument("--latency", type=float, nargs=2, default=(0.05, 0.2))
    ap.add_argument("--units", type=int, default=16)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    mock, url = start_mock(args.accounts, tuple(args.latency))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "c.yaml").write_text(CONNECTOR)
            cfg = ["-c", str(root / "c.yaml"), "--config-json",
                   json.dumps({"api_key": "shard-token", "base_url": url})]
            plan = root / "plan.jsonl"
            t0 = time.perf_counter()
            subprocess.run([CLI, "plan", *cfg, "--streams", "account_notes", "--max-units", str(args.units),
                            "-o", str(plan)], check=True, capture_output=True)
            plan_wall = time.perf_counter() - t0
            walls: dict[int, float] = {}
            seen: dict[int, tuple[dict, dict]] = {}
            for run in range(args.runs):
                for n in (1, 2, 4):
                    out = root / f"out-{n}-{run}"
                    wall = run_shards(n, cfg, plan, out)
                    walls[n] = min(walls.get(n, wall), wall)
                    state = root / f"state-{n}-{run}.json"
                    subprocess.run([CLI, "state", "merge", "--plan", str(plan), "-o", str(out), "--state", str(state)],
                                   check=True, capture_output=True)
                    seen[n] = (records(out), json.loads(state.read_text())["streams"])
    finally:
        mock.terminate()
        mock.wait()
    rows = len(seen[1][0])
    print(f"{args.accounts} account_notes partitions x 3 pages, {args.latency[0] * 1000:.0f}-{args.latency[1] * 1000:.0f} ms "
          f"per request, {args.units} units; plan (reads the parent) {plan_wall:.2f}s; {rows} records")
    for n in (1, 2, 4):
        same = seen[n] == seen[1]
        print(f"{n} shard(s): wall {walls[n]:.2f}s  ratio {walls[n] / walls[1]:.2f} (ideal {1 / n:.2f})  "
              f"records and merged state identical to 1 shard: {same}")


if __name__ == "__main__":
    main()
