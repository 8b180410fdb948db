"""Reads with 50 ms of latency per request: partitions read at once, and pages of one partition at once.

1. ``partitions``: 10 partitions x 10 pages, cursor pagination (a partition's pages come one after
   another): the gain is partitions read at once, up to 4 per request slot, the slots handed over in
   turn. Targets: default wall <= 0.32x ``--concurrency 1``, CPU per record within 10%.
2. ``pages``: one stream, no partition, 100 pages of page-number pagination whose first page says
   ``total_pages``: the pages after the first are fetched at once (reported, no target).

Each scenario runs at the default ``--concurrency`` (4) and at ``--concurrency 1``, interleaved in
the same run (so both see the same machine load); the best wall time of each is compared.
Usage: python bench/bench_concurrency.py [--runs 3] [--per-page 1000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import BIN, Api, Measure, measure

PARTITIONS, PAGES = 10, 10
ONE_STREAM_PAGES = 100

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
  - name: pages
    request: {path: /items}
    decoder: {type: json, records_path: data}
    pagination:
      type: page_number
      page_size: %d
      stop: {type: total_pages, path: total_pages}
    primary_key: id
    cursor_field: updated_at
"""


def run(yaml_path: Path, url: str, stream: str, concurrency: int | None) -> Measure:
    cmd = [str(BIN / "solidafy-cdk"), "read", "-c", str(yaml_path), "--config-json", json.dumps({"base_url": url}),
           "--streams", stream]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    return measure(cmd)


def compare(yaml_path: Path, url: str, stream: str, runs: int) -> tuple[Measure, Measure, float, float]:
    """Best sequential and default runs (wall), and the least CPU of each."""
    seq: list[Measure] = []
    par: list[Measure] = []
    for _ in range(runs):  # interleaved, so both see the same machine load
        seq.append(run(yaml_path, url, stream, 1))
        par.append(run(yaml_path, url, stream, None))
    best = min(seq, key=lambda m: m.wall), min(par, key=lambda m: m.wall)
    return best[0], best[1], min(m.cpu for m in seq), min(m.cpu for m in par)


def report(title: str, records: int, result: tuple[Measure, Measure, float, float], target: str) -> None:
    s, p, s_cpu, p_cpu = result
    print(title)
    print(f"  --concurrency 1      : {s}")
    print(f"  default concurrency  : {p}")
    print(f"  wall ratio default/sequential: {p.wall / s.wall:.2f}{target}")
    print(f"  CPU per record: sequential {s_cpu / records * 1e6:.1f} us, default {p_cpu / records * 1e6:.1f} us, "
          f"ratio {p_cpu / s_cpu:.2f} (target <= 1.10)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--per-page", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args()
    latency = f"{args.latency * 1000:.0f} ms latency"
    with tempfile.TemporaryDirectory() as tmp:
        yaml_path = Path(tmp) / "bench_partitions.yaml"
        yaml_path.write_text(CONNECTOR % (", ".join(f"p{i}" for i in range(PARTITIONS)), args.per_page))
        with Api("--pages", str(PAGES), "--per-page", str(args.per_page), "--partitions", str(PARTITIONS),
                 "--latency", str(args.latency)) as api:
            parts = compare(yaml_path, api.url, "items", args.runs)
        with Api("--pages", str(ONE_STREAM_PAGES), "--per-page", str(args.per_page),
                 "--latency", str(args.latency)) as api:
            pages = compare(yaml_path, api.url, "pages", args.runs)
    report(f"{PARTITIONS} partitions x {PAGES} pages x {args.per_page} records (cursor), {latency}",
           PARTITIONS * PAGES * args.per_page, parts, " (target <= 0.32)")
    report(f"1 stream x {ONE_STREAM_PAGES} pages x {args.per_page} records (page_number, total_pages), {latency}",
           ONE_STREAM_PAGES * args.per_page, pages, "")


if __name__ == "__main__":
    main()
