"""Peak RSS of ``solidafy-cdk read`` against hostile bodies, with the default limits, next to a normal sync.

The hostile server (integration_tests/mocks/hostile.py, in this process) sends a 500 MB body with its
Content-Length, an endless close-delimited body, an endless chunked stream and a 1 MB gzip bomb that
inflates to 1 GB. Each read must fail (the default ``http.max_response_mb`` is 128) with a peak RSS
near the baseline plus that limit, never near the size the server offers. The baseline is the
100-page x 1,000-record read of bench_rest.py, measured in the same run. Usage:
python bench/bench_limits.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from common import BIN, HERE, Api, measure

sys.path.insert(0, str(HERE.parent))

from integration_tests.mocks.hostile import HostileServer, gzip_bomb  # noqa: E402

CASES = {"/big": "500 MB with Content-Length", "/stream": "endless close-delimited body",
         "/chunked": "endless chunked stream", "/bomb": "gzip bomb, 1 MB -> 1 GB"}
LIMIT_MB = 128
YAML = """name: hostile
base_url: "http://127.0.0.1:1"
http: {max_retries: 0}
streams:
  - name: items
    request: {path: PATH}
    decoder: {type: json, records_path: data}
"""


def main() -> int:
    cli = str(BIN / "solidafy-cdk")
    with Api("--pages", "100", "--per-page", "1000") as api:
        base = measure([cli, "read", "-c", str(HERE / "bench.yaml"), "--config-json", json.dumps({"base_url": api.url})])
    print(f"baseline (normal sync, 100k records)   : {base}")
    gzip_bomb()  # built once, before anything is measured
    worst = 0.0
    with HostileServer() as srv, tempfile.TemporaryDirectory(prefix="solidafy-bench-limits-") as tmp:
        for path, what in CASES.items():
            yaml_path = Path(tmp) / f"{path.strip('/')}.yaml"
            yaml_path.write_text(YAML.replace("PATH", path))
            run = measure([cli, "read", "-c", str(yaml_path), "--config-json", json.dumps({"base_url": srv.url})])
            worst = max(worst, run.rss_mb - base.rss_mb)
            print(f"{what:<39}: {run}  (+{run.rss_mb - base.rss_mb:.0f} MB over the baseline;"
                  f" server sent {srv.sent.get(path, 0) / 2**20:.0f} MB)")
            if run.rc != 1:
                print(f"  expected the read to fail (rc 1), got rc {run.rc}")
                return 1
    ok = worst <= 2 * LIMIT_MB
    print(f"worst growth over the baseline: {worst:.0f} MB (target <= {2 * LIMIT_MB} MB: the limit, plus the join)"
          f" -> {'OK' if ok else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
