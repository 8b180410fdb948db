"""A full-refresh stream (``open(..., replace=True)``) replaces its day's files: the new files are all
published first, then the earlier ones go (end to end with the CLI, the demo and the cloud emulators in
integration_tests/test_outputs_replace.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from source_solidafy.errors import StreamError
from source_solidafy.sinks.jsonl import JsonlSink
from source_solidafy.sinks.layout import is_data_file
from source_solidafy.sinks.parquet import ParquetSink
from source_solidafy.sinks.storage import LocalStorage, Upload

DAY = datetime(2025, 12, 14, 10, 0, tzinfo=timezone.utc)
LATER = datetime(2025, 12, 14, 11, 30, tzinfo=timezone.utc)
DIR = "s/dt=2025-12-14"


class RecordingStorage(LocalStorage):
    """Local storage that logs publications and deletions in order; ``fail_delete`` makes deletes fail."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.events: list[str] = []
        self.fail_delete = False

    def create(self, key: str) -> Upload:
        upload = super().create(key)
        commit = upload.commit

        def logged() -> str:
            path = commit()
            self.events.append(f"publish {Path(path).name}")
            return path

        upload.commit = logged  # type: ignore[method-assign]
        return upload

    def delete(self, key: str) -> None:
        if self.fail_delete:
            raise OSError(13, "Permission denied")
        self.events.append(f"delete {key.rsplit('/', 1)[-1]}")
        super().delete(key)


def names(root: Path) -> list[str]:
    return sorted(p.name for p in (root / DIR).iterdir())


def sync(sink, rows: int, replace: bool) -> list[str]:
    sink.open("s", None, replace=replace)
    for lo in range(0, rows, 100):
        sink.write("s", [{"id": i} for i in range(lo, min(rows, lo + 100))], 0)
        sink.checkpoint("s")
    sink.commit("s")
    return [Path(f).name for f in sink.files.get("s", [])]


@pytest.mark.parametrize(("name", "expected"), [
    ("data.parquet", True), ("data-0001.parquet", True), ("data-093015-a1b2c3.parquet", True),
    ("data-093015-a1b2c3-0002.parquet", True), ("data-a1b2c3.parquet", True),
    ("data.jsonl", False), ("mydata.parquet", False), ("data-final.parquet", False), (".data.parquet.1.abc.tmp", False),
])
def test_data_file_names(name, expected):
    assert is_data_file(name, "parquet") is expected


def test_new_parts_are_all_published_before_any_earlier_file_goes(tmp_path):
    storage = RecordingStorage(str(tmp_path))
    first = sync(ParquetSink(storage, now=DAY, part_rows=200), 500, replace=True)
    (tmp_path / DIR / "notes.txt").write_text("not ours")
    (tmp_path / DIR / "data.jsonl").write_text("{}\n")  # another format: not this sink's file
    storage.events.clear()
    second = sync(ParquetSink(storage, now=LATER, part_rows=200), 500, replace=True)
    assert len(first) == len(second) == 3  # parts published at checkpoints and at the end
    assert storage.events[:3] == [f"publish {n}" for n in second]
    assert sorted(storage.events[3:]) == sorted(f"delete {n}" for n in first)
    assert names(tmp_path) == sorted([*second, "data.jsonl", "notes.txt"])


def test_incremental_appends(tmp_path):
    first = sync(JsonlSink(LocalStorage(str(tmp_path)), now=DAY), 50, replace=True)
    second = sync(JsonlSink(LocalStorage(str(tmp_path)), now=LATER), 50, replace=False)
    assert names(tmp_path) == sorted([*first, *second])


def test_an_empty_full_refresh_leaves_an_empty_day(tmp_path):
    sync(JsonlSink(LocalStorage(str(tmp_path)), now=DAY), 50, replace=True)
    assert sync(JsonlSink(LocalStorage(str(tmp_path)), now=LATER), 0, replace=True) == []
    assert names(tmp_path) == []


def test_a_failed_full_refresh_keeps_the_earlier_files(tmp_path):
    first = sync(ParquetSink(LocalStorage(str(tmp_path)), now=DAY), 300, replace=True)
    sink = ParquetSink(LocalStorage(str(tmp_path)), now=LATER)
    sink.open("s", None, replace=True)
    sink.write("s", [{"id": 1}], 0)
    sink.abort("s")
    assert names(tmp_path) == first


def test_a_failed_removal_fails_the_stream_and_keeps_both(tmp_path):
    storage = RecordingStorage(str(tmp_path))
    first = sync(ParquetSink(storage, now=DAY), 300, replace=True)
    storage.fail_delete = True
    sink = ParquetSink(storage, now=LATER)
    with pytest.raises(StreamError, match="new files of s/dt=2025-12-14 are complete.*readers see both"):
        sync(sink, 300, replace=True)
    second = [Path(f).name for f in sink.files["s"]]
    assert names(tmp_path) == sorted([*first, *second])
