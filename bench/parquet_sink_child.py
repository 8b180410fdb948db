"""Write PAGES pages of ``bench_api.py`` records through a sink in this process: for instruction counts.

    valgrind --tool=callgrind .venv/bin/python bench/parquet_sink_child.py parquet 40
    valgrind --tool=callgrind .venv/bin/python bench/parquet_sink_child.py none 40     # the same set-up, no writes

The difference of the two totals is the sink's instructions (the machine's load does not change it);
``PYTHONPATH=/other/checkout`` measures that code. Row groups of 20,000 rows, so 40 pages flush twice.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import build_pages  # noqa: E402


def main(fmt: str, pages: int) -> None:
    import pyarrow.parquet  # noqa: F401 - loaded in the set-up of every run, counted in none too

    from source_solidafy.sinks import make_sink

    records = [orjson.loads(body)["data"] for body in build_pages(pages, 1000).values()]
    with tempfile.TemporaryDirectory() as out:
        sink = make_sink("parquet" if fmt == "none" else fmt, out, row_group_rows=20_000)
        assert sink is not None
        sink.open("items", None)
        for page in records if fmt != "none" else []:
            sink.write("items", page, 0)
        sink.commit("items")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
