"""Peak RSS of ``solidafy-cdk read`` over one huge JSON document with ``decoder.type: json_stream``.

The export mock (integration_tests/mocks/exports.py, in this process) makes ``{"meta": ..., "data":
[N records of about 230 bytes], "done": true}`` as it sends it (chunked). The CLI reads it with
``json_stream`` at 30 MB and at 300 MB (and 300 MB gzip on the fly), and, as the baseline in the
same run, the 30 MB document with the whole-body ``json`` decoder; and a CSV export of the same size with
``decoder: {type: csv, stream: true}``. Memory of the stream must not grow
with the document: peak RSS at 300 MB within 20 MB of the 30 MB stream's; CPU per record reported
against the whole-body decoder. Usage: python bench/bench_json_stream.py [--mb 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from common import BIN, HERE, measure

sys.path.insert(0, str(HERE.parent))

from integration_tests.mocks.exports import ExportServer, csv_export, record  # noqa: E402

YAML = """name: export
base_url: "http://127.0.0.1:1"
http: {max_retries: 0, max_response_mb: MAXMB, timeout_secs: 60}
streams:
  - name: items
    request: {path: "PATH"}
    decoder: DECODER
"""


def _records(mb: float, route: str = "all.json") -> int:
    """How many records make ``mb`` of that export."""
    if route == "all.csv":
        sample = b"".join(csv_export(10_000))
        return int(mb * 2**20 / (len(sample) / 10_000))
    return int(mb * 2**20 / (len(record(123456)) + 1))


def _run(tmp: str, srv: ExportServer, name: str, mb: float, decoder: str, max_mb: int, packed: bool = False,
         route: str = "all.json") -> float:
    n = _records(mb, route)
    path = f"/exports/{route}?n={n}" + ("&gzip=1" if packed else "")
    yaml_path = Path(tmp) / f"{name}.yaml"
    yaml_path.write_text(YAML.replace("PATH", path).replace("DECODER", decoder).replace("MAXMB", str(max_mb)))
    run = measure([str(BIN / "solidafy-cdk"), "read", "-c", str(yaml_path),
                   "--config-json", json.dumps({"base_url": srv.url})])
    print(f"{name:<44}: {run}  ({n:,} records, {run.cpu / n * 1e6:.1f} µs CPU/record)")
    if run.rc != 0:
        raise SystemExit(f"{name}: expected rc 0, got {run.rc}")
    return run.rss_mb


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=300)
    args = parser.parse_args()
    stream = "{type: json_stream, records_path: data}"
    with ExportServer(cap=2**40) as srv, tempfile.TemporaryDirectory(prefix="solidafy-bench-stream-") as tmp:
        base = _run(tmp, srv, "baseline: json decoder, 30 MB document", 30, "{type: json, records_path: data}", 512)
        small = _run(tmp, srv, "json_stream, 30 MB document", 30, stream, 16)
        big = _run(tmp, srv, f"json_stream, {args.mb:g} MB document", args.mb, stream, 16)
        packed = _run(tmp, srv, f"json_stream, {args.mb:g} MB document, gzip", args.mb, stream, 16, packed=True)
        csv_rss = _run(tmp, srv, f"csv stream: true, {args.mb:g} MB export, gzip", args.mb,
                       "{type: csv, stream: true}", 16, packed=True, route="all.csv")
    growth = max(big, packed, csv_rss) - small
    ok = growth <= 20
    print(f"peak RSS: whole-body json at 30 MB {base:.0f} MB; json_stream {small:.0f} MB at 30 MB, {big:.0f} MB at "
          f"{args.mb:g} MB ({packed:.0f} MB gzip); csv stream {csv_rss:.0f} MB at {args.mb:g} MB: growth "
          f"{growth:+.0f} MB (target <= 20 MB) -> {'OK' if ok else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
