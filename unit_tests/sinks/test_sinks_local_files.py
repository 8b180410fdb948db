"""Local Parquet and JSON-lines sinks: layout, read-back with DuckDB, checkpoints, commit, abort."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from source_solidafy.cli import flag_subject
from source_solidafy.errors import StreamError, UsageError
from source_solidafy.sinks import make_sink
from source_solidafy.sinks.jsonl import JsonlSink
from source_solidafy.sinks.parquet import ParquetSink
from source_solidafy.sinks.storage import LocalStorage

DAY = datetime(2025, 12, 14, 10, 0, tzinfo=timezone.utc)


def parquet_sink(tmp_path: Path, **kwargs) -> ParquetSink:
    return ParquetSink(LocalStorage(str(tmp_path)), now=DAY, **kwargs)


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def read_back(root: Path, union: bool = False) -> list[dict]:
    glob = f"{root}/*/dt=*/*.parquet"
    sql = f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true, union_by_name={str(union).lower()})"
    con = duckdb.connect()
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def sync(sink, stream: str, batches: list, schema: dict | None = None) -> str | None:
    sink.open(stream, schema)
    for batch in batches:
        sink.write(stream, batch, 0)
    return sink.commit(stream)


def test_hive_layout_and_duckdb_read_back(tmp_path):
    records = [{"id": i, "name": f"user {i}", "score": i / 2, "active": i % 2 == 0} for i in range(2500)]
    sink = parquet_sink(tmp_path, row_group_rows=1000)
    out = sync(sink, "users", [records[:1200], records[1200:]])
    assert out == str(tmp_path / "users" / "dt=2025-12-14" / "data.parquet")
    assert all_files(tmp_path) == ["users/dt=2025-12-14/data.parquet"]
    assert pq.ParquetFile(out).metadata.num_row_groups >= 2  # streamed in row groups
    rows = read_back(tmp_path)
    assert len(rows) == 2500
    assert [{k: r[k] for k in ("id", "name", "score", "active")} for r in rows] == records
    assert str(rows[0]["dt"]) == "2025-12-14"
    described = duckdb.connect().execute(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path}/*/*/*.parquet')")
    types = {row[0]: row[1] for row in described.fetchall()}
    assert types == {"id": "BIGINT", "name": "VARCHAR", "score": "DOUBLE", "active": "BOOLEAN", "dt": "DATE"}


def test_zstd_by_default_and_compression_choice(tmp_path):
    out = sync(parquet_sink(tmp_path), "a", [[{"x": 1}]])
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"
    out = sync(parquet_sink(tmp_path / "s", compression="snappy"), "a", [[{"x": 1}]])
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "SNAPPY"
    with pytest.raises(UsageError, match="compression lzma") as info:
        make_sink("parquet", str(tmp_path), compression="lzma")
    assert info.value.worded(flag_subject).startswith("--compression lzma: expected one of")


def test_tricky_values_nothing_lost(tmp_path):
    first = [{"id": i, "maybe": None} for i in range(10_000)]  # all-null first batch for `maybe`
    later = [
        {"id": 10_000, "maybe": "now text", "late": 1.5, "big": 2**64, "deep": {"a": [{"b": {"c": "✓"}}]}},
        {"id": 10_001, "maybe": 7, "late": 2, "big": 3, "deep": [1, "two"], "uni": "日本語 🎉"},
    ]
    sink = parquet_sink(tmp_path)
    sync(sink, "mixed", [first[:5000], first[5000:], later])
    rows = read_back(tmp_path)
    assert len(rows) == 10_002
    tail = rows[-2:]
    assert tail[0]["maybe"] == "now text" and tail[1]["maybe"] == "7"
    assert tail[0]["late"] == 1.5 and tail[1]["late"] == 2.0
    assert tail[0]["big"] == str(2**64) and tail[1]["big"] == "3"
    assert json.loads(tail[0]["deep"]) == {"a": [{"b": {"c": "✓"}}]}
    assert json.loads(tail[1]["deep"]) == [1, "two"]
    assert tail[1]["uni"] == "日本語 🎉" and tail[0]["uni"] is None
    assert sum(1 for r in rows if r["late"] is None) == 10_000


def test_wider_type_after_a_written_row_group_starts_a_new_part(tmp_path):
    sink = parquet_sink(tmp_path, row_group_rows=100)
    sync(sink, "s", [[{"id": i} for i in range(150)], [{"id": "x-1", "extra": True}]])
    files = sink.files["s"]
    assert [Path(f).name for f in files] == ["data.parquet", "data-0001.parquet"]
    assert pq.read_schema(files[0]).field("id").type == pa.int64()
    assert pq.read_schema(files[1]).field("id").type == pa.string()
    rows = read_back(tmp_path, union=True)
    assert len(rows) == 151
    last = [r for r in rows if r["id"] == "x-1"]
    assert len(last) == 1 and last[0]["extra"] is True
    assert sorted(int(r["id"]) for r in rows if r["id"] != "x-1") == list(range(150))


def test_declared_schema_is_used(tmp_path):
    schema = {"properties": {"id": {"type": "integer"}, "amount": {"type": "number"}, "meta": {"type": "object"}}}
    out = sync(parquet_sink(tmp_path), "s", [[{"id": 1, "amount": 2, "meta": {"k": "v"}, "more": "x"}]], schema)
    file_schema = pq.read_schema(out)
    assert file_schema.names == ["id", "amount", "meta", "more"]
    assert [f.type for f in file_schema] == [pa.int64(), pa.float64(), pa.string(), pa.string()]


def test_arrow_batches_are_written_as_they_are(tmp_path):
    batch = pa.record_batch(
        {"id": pa.array([1, 2], pa.int32()), "at": pa.array([0, 1], pa.timestamp("us", tz="UTC")),
         "price": pa.array([1, 2], pa.decimal128(10, 2))}
    )
    out = sync(parquet_sink(tmp_path), "public.orders", [batch, batch])
    assert Path(out).parent.parent.name == "public.orders"
    table = pq.ParquetFile(out).read()
    assert table.schema == batch.schema and table.num_rows == 4


def test_second_sync_same_day_writes_a_new_file(tmp_path):
    first = sync(parquet_sink(tmp_path), "u", [[{"a": 1}]])
    second = sync(parquet_sink(tmp_path), "u", [[{"a": 2}]])
    assert first != second and Path(second).name.startswith("data-")
    assert sorted(r["a"] for r in read_back(tmp_path)) == [1, 2]


def test_checkpoint_true_only_when_everything_is_published(tmp_path):
    sink = parquet_sink(tmp_path, part_rows=100, row_group_rows=30)
    sink.open("s", None)
    assert sink.checkpoint("s") is True  # nothing written yet
    sink.write("s", [{"i": i} for i in range(60)], 0)
    assert sink.checkpoint("s") is False
    assert not list(tmp_path.rglob("*.parquet"))
    sink.write("s", [{"i": i} for i in range(60, 120)], 0)
    assert sink.checkpoint("s") is True
    assert [Path(f).name for f in sink.files["s"]] == ["data.parquet"]
    assert pq.ParquetFile(sink.files["s"][0]).metadata.num_rows == 120
    sink.write("s", [{"i": 120}], 0)
    assert sink.commit("s").endswith("data.parquet")
    assert [Path(f).name for f in sink.files["s"]] == ["data.parquet", "data-0001.parquet"]
    assert sorted(r["i"] for r in read_back(tmp_path)) == list(range(121))
    assert not list(tmp_path.rglob("*.tmp"))


def test_abort_leaves_no_partial_file_and_no_temporary(tmp_path):
    sink = parquet_sink(tmp_path, row_group_rows=10)
    sink.open("s", None)
    sink.write("s", [{"i": i} for i in range(50)], 0)
    assert list(tmp_path.rglob(".*.tmp"))  # a row group was written to the temporary
    sink.abort("s")
    assert all_files(tmp_path) == []
    sink.abort("never-opened")  # harmless
    assert sink.commit("never-opened") is None


def test_stream_with_no_records_writes_no_file(tmp_path):
    assert sync(parquet_sink(tmp_path), "empty", [[]]) is None
    assert all_files(tmp_path) == []


def test_close_aborts_what_is_still_open(tmp_path):
    sink = parquet_sink(tmp_path)
    sink.open("s", None)
    sink.write("s", [{"i": 1}], 0)
    sink.close()
    assert all_files(tmp_path) == []


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    part_dir = tmp_path / "s" / "dt=2025-12-14"
    part_dir.mkdir(parents=True)
    stale = part_dir / ".data.parquet.999999999.abcdef.tmp"  # no such pid
    live = part_dir / f".data.parquet.{os.getppid()}.abcdef.tmp"
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    sync(parquet_sink(tmp_path), "s", [[{"i": 1}]])
    assert not stale.exists() and live.exists()


def test_two_streams_never_share_a_directory(tmp_path):
    sink = parquet_sink(tmp_path)
    a = sync(sink, "a/b", [[{"i": 1}]])
    b = sync(sink, "a_b", [[{"i": 2}]])
    assert Path(a).parent.parent != Path(b).parent.parent


def test_jsonl_same_layout_records_unchanged(tmp_path):
    sink = JsonlSink(LocalStorage(str(tmp_path)), now=DAY)
    records = [{"id": 1, "nested": {"a": [1, 2]}, "u": "ü"}, {"id": 2, "big": 2**70}]
    out = sync(sink, "users", [records])
    assert out == str(tmp_path / "users" / "dt=2025-12-14" / "data.jsonl")
    lines = Path(out).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records
    batch = pa.record_batch({"d": pa.array([1], pa.decimal128(5, 2)), "t": pa.array([0], pa.timestamp("s"))})
    out = sync(sink, "db", [batch])
    assert json.loads(Path(out).read_text()) == {"d": "1.00", "t": "1970-01-01T00:00:00"}


def test_make_sink_choices(tmp_path, monkeypatch):
    assert make_sink("json", None) is None
    assert make_sink("pretty", None) is None
    assert isinstance(make_sink("json", str(tmp_path)), JsonlSink)
    sink = make_sink("parquet", f"file://{tmp_path}")
    assert isinstance(sink, ParquetSink) and sink.directory == str(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert make_sink("parquet", None).directory == str(tmp_path / "output")
    with pytest.raises(UsageError, match="format csv") as info:
        make_sink("csv", str(tmp_path))
    assert info.value.worded(flag_subject) == "--format csv: expected one of json, pretty, parquet"
    with pytest.raises(UsageError, match="unknown scheme 'ftp://'"):
        make_sink("parquet", "ftp://host/x")
    with pytest.raises(UsageError, match="missing the bucket"):
        make_sink("parquet", "s3://")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        make_sink("parquet", str(tmp_path / "file"))
    monkeypatch.setenv("SOLIDAFY_PART_ROWS", "zero")
    with pytest.raises(UsageError, match="SOLIDAFY_PART_ROWS"):
        make_sink("parquet", str(tmp_path))


class FullDiskStorage(LocalStorage):
    """Local storage whose files fail like a full disk once ``limit`` bytes are written."""

    def __init__(self, root: str, limit: int) -> None:
        super().__init__(root)
        self.limit = limit

    def create(self, key: str):
        upload = super().create(key)
        inner = upload._write

        def write(data):
            if upload.tell() + len(data) > self.limit:
                raise OSError(28, "No space left on device")
            inner(data)

        upload._write = write
        return upload


def test_write_failure_is_a_stream_error_and_leaves_nothing(tmp_path):
    sink = ParquetSink(FullDiskStorage(str(tmp_path), limit=2000), now=DAY, row_group_rows=100)
    sink.open("s", None)
    with pytest.raises(StreamError, match="No space left on device"):
        for i in range(100):
            sink.write("s", [{"i": i * 1000 + j, "pad": "x" * 50} for j in range(100)], 0)
    sink.abort("s")
    assert all_files(tmp_path) == []


def test_arrow_batches_differing_only_in_nullability_share_one_file(tmp_path):
    strict = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    loose = pa.schema([pa.field("id", pa.int64())])
    sink = parquet_sink(tmp_path, row_group_rows=2)
    sync(sink, "t", [pa.record_batch([pa.array([1, 2])], schema=strict),
                     pa.record_batch([pa.array([3, None])], schema=loose)])
    assert len(sink.files["t"]) == 1
    assert pq.ParquetFile(sink.files["t"][0]).read().column("id").to_pylist() == [1, 2, 3, None]


def test_a_pyarrow_table_is_accepted_too(tmp_path):
    table = pa.table({"id": [1, 2, 3]})
    out = sync(parquet_sink(tmp_path), "t", [table])
    assert pq.ParquetFile(out).read().column("id").to_pylist() == [1, 2, 3]
    out = sync(JsonlSink(LocalStorage(str(tmp_path / "j")), now=DAY), "t", [table])
    assert [json.loads(x) for x in Path(out).read_text().splitlines()] == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_columns_with_few_values_are_dictionary_encoded_judged_on_a_sample(tmp_path):
    records = [{"id": f"cus_{i:06d}", "country": ("DE", "FR")[i % 2], "late": "x" if i < 15_000 else f"v{i}",
                "seq": i, "score": i % 97, "price": (0.5, 1.25)[i % 2], "amount": i / 4, "ok": i % 2 == 0,
                "rank": None if i % 3 else i % 5} for i in range(20_000)]
    out = sync(parquet_sink(tmp_path), "c", [records[i:i + 1000] for i in range(0, 20_000, 1000)])
    group = pq.ParquetFile(out).metadata.row_group(0)
    dictionary = {c.path_in_schema for c in (group.column(j) for j in range(group.num_columns))
                  if "RLE_DICTIONARY" in c.encodings}
    # 2, 1 (a guess on the first 10,000 rows that costs size at most, never a value), 97, 2, 5 values;
    # unique strings, ints and floats and the booleans are not
    assert dictionary == {"country", "late", "score", "price", "rank"}
    rows = sorted(({k: v for k, v in row.items() if k != "dt"} for row in read_back(tmp_path)), key=lambda r: r["seq"])
    assert rows == records


def test_writing_parquet_does_not_import_pyarrow_compute(tmp_path):
    """pyarrow.compute costs 8 MB of RSS to import; records of one type per column never need it. Nor
    does the sink import pyarrow.parquet (pyarrow.fs and its cloud file systems: 7 MB)."""
    code = ("import sys; from source_solidafy.sinks.parquet import ParquetSink; "
            "from source_solidafy.sinks.storage import LocalStorage; "
            f"s = ParquetSink(LocalStorage({str(tmp_path)!r})); s.open('t', None); "
            "s.write('t', [{'a': i, 'b': str(i % 3)} for i in range(5000)], 0); s.commit('t'); "
            "print('pyarrow.compute' in sys.modules, 'pyarrow.parquet' in sys.modules, 'pyarrow.fs' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False False False"


@pytest.mark.parametrize("compression", ["zstd", "snappy", "none"])
def test_the_sink_writes_the_bytes_pyarrow_parquet_writes(tmp_path, compression):
    """The sink uses pyarrow.parquet's writer class underneath it, with that class's defaults."""
    records = [{"id": i, "name": f"n{i}" if i % 7 else None, "country": ("DE", "ü✓")[i % 2], "x": i / 3,
                "ok": i % 3 == 0, "meta": {"k": [i]} if i % 2 else None} for i in range(3000)]
    sink = parquet_sink(tmp_path / "sink", row_group_rows=1000, compression=compression)
    out = sync(sink, "t", [records[i:i + 500] for i in range(0, 3000, 500)])
    table = pq.ParquetFile(out).read()
    assert table.to_pylist()[:2] == [{**records[0], "meta": None}, {**records[1], "meta": '{"k":[1]}'}]
    plain = tmp_path / "plain.parquet"
    with pq.ParquetWriter(plain, table.schema, compression=compression, use_dictionary=["country"],
                          write_statistics=True) as writer:
        for group in table.to_batches(max_chunksize=1000):
            writer.write_table(pa.Table.from_batches([group]), row_group_size=1000)
    assert Path(out).read_bytes() == plain.read_bytes()


def test_dictionary_guess_counts_distinct_values_like_to_pylist():
    from source_solidafy.sinks.parquet import _few_distinct

    for values in (["a", "b", "", "ü", "a"] * 10, ["a", None, "", "a"] * 10, [f"v{i}" for i in range(50)]):
        for kind in (pa.string(), pa.large_string()):
            whole = pa.chunked_array([pa.array(values, kind)] * 2)
            column = pa.chunked_array([whole.chunks[0].slice(3, 30), whole.chunks[1].slice(7)])
            for most in (3, 4, 5, 49, 50):
                distinct = len(set(column.to_pylist()))
                assert _few_distinct(column, most) is (distinct <= most), (values[:3], kind, most)
