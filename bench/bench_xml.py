"""CPU of the ``xml`` decoder on one 4.5 MB body (40,000 ``<item>`` records with attributes, nested
and repeated elements), in a child process per run, least of 5 decodes each.

``--before PATH``: the same decode by another checkout's code (through ``PYTHONPATH``), interleaved
with this one for ``--rounds`` rounds; the ratio is of the least CPU of each side.
Usage: python bench/bench_xml.py --before /tmp/old [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import time
from source_solidafy.rest.decoders import XmlDecoder
class R:
    url, method, headers = "https://h/x", "GET", {}
    def __init__(self, content): self.content = content
items = "".join(f'<item id="{i}" kind="k"><name>Name {i}</name><price>{i}.5</price>'
                f'<tags><tag>a</tag><tag>b{i}</tag></tags></item>' for i in range(40000))
doc = f'<?xml version="1.0"?><response><items>{items}</items><next>abc</next></response>'.encode()
decoder, best = XmlDecoder("response.items.item"), float("inf")
for _ in range(5):
    start = time.process_time()
    page = decoder.decode(R(doc))
    best = min(best, time.process_time() - start)
assert len(page.records) == 40000 and page.records[1]["tags"]["tag"] == ["a", "b1"]
print(best)
"""


def _run(code_path: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(code_path)}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    before, after = [], []
    for _ in range(args.rounds):
        before.append(_run(args.before))
        after.append(_run(HERE.parent))
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"xml decode of 4.5 MB: before {min(before) * 1000:.0f} ms, after {min(after) * 1000:.0f} ms CPU "
          f"(least of {args.rounds} rounds x 5): {min(after) / min(before):.3f}x; load {' '.join(load)}")


if __name__ == "__main__":
    main()
