"""Partitions read concurrently: 10 partitions x 10 pages, 50 ms of latency per request.

Wall time at the default ``--concurrency`` (4) against ``--concurrency 1``, measured in the same run,
and CPU per record of both (targets: wall ratio <= 0.32, CPU per record within 10%).
The pagination is a cursor's, so a partition's pages come one after another: the gain is partitions
read at once, up to 4 per request slot, with the slots handed over in turn.
Usage: python bench/bench_concurrency.py [--runs 3] [--per-page 1000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import BIN, Api, Measure, measure

PARTITIONS, PAGES = 10, 10

CONNECTOR = """
name: bench_partitions
base_url: "http://127.0.0.1:1"
streams:
  - name: items
    request:
      path: /items
      params: {part: "{{ partition.part }}"}
    partition: {type: list, field: part, values: [%s]}
    decoder: {type: json, records_path: data}
    pagination: {type: cursor, cursor_param: cursor, cursor_path: next_cursor}
    primary_key: id
    cursor_field: updated_at
"""


def run(yaml_path: Path, url: str, concurrency: int | None) -> Measure:
    cmd = [str(BIN / "solidafy-cdk"), "read", "-c", str(yaml_path), "--config-json", json.dumps({"base_url": url})]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    return measure(cmd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--per-page", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args()
    records = PARTITIONS * PAGES * args.per_page
    with tempfile.TemporaryDirectory() as tmp, Api("--pages", str(PAGES), "--per-page", str(args.per_page),
                                                   "--partitions", str(PARTITIONS), "--latency", str(args.latency)) as api:
        yaml_path = Path(tmp) / "bench_partitions.yaml"
        yaml_path.write_text(CONNECTOR % ", ".join(f"p{i}" for i in range(PARTITIONS)))
        seq: list[Measure] = []
        par: list[Measure] = []
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            seq.append(run(yaml_path, api.url, 1))
            par.append(run(yaml_path, api.url, None))
    s, p = min(seq, key=lambda m: m.wall), min(par, key=lambda m: m.wall)
    s_cpu, p_cpu = min(m.cpu for m in seq), min(m.cpu for m in par)
    print(f"{PARTITIONS} partitions x {PAGES} pages x {args.per_page} records, {args.latency * 1000:.0f} ms latency")
    print(f"--concurrency 1      : {s}")
    print(f"default concurrency  : {p}")
    print(f"wall ratio default/sequential: {p.wall / s.wall:.2f} (target <= 0.32)")
    print(f"CPU per record: sequential {s_cpu / records * 1e6:.1f} us, default {p_cpu / records * 1e6:.1f} us, "
          f"ratio {p_cpu / s_cpu:.2f} (target <= 1.10)")


if __name__ == "__main__":
    main()
