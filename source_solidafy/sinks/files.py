"""What the Parquet and JSON-lines sinks share: per-stream part files, checkpoints, commit and abort.

A stream's records go into a *part* file that is published (made visible at its final name) when
the stream commits, or earlier at a checkpoint once the part holds ``part_rows`` rows. A checkpoint
answers True (the runner may emit a STATE) only when every row written so far is in a published
part, so a sync killed at any moment has emitted no STATE for data that is not in a complete file.

A stream opened with ``replace=True`` (the runner's full refresh: the stream is read from scratch)
notes the data files its day's directory already holds; once its own files are all published, at
commit, it removes those. A crash in between leaves both (the day's records twice), never neither.

A sink given ``run_files`` (one unit of a plan: ``read --plan``) names its files after the run and
the unit, in the run's day, and publishes them over an earlier attempt's files of the same name; at
commit it removes the earlier attempt's files it did not write again (an attempt that wrote more
parts). It never touches another unit's files, whatever ``replace`` says.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from source_solidafy.errors import SolidafyError, StreamError
from source_solidafy.sinks.base import Sink
from source_solidafy.sinks.layout import PartNames, RunFiles, is_data_file, partition_date, safe_dir_name
from source_solidafy.sinks.storage import Storage, Upload

if TYPE_CHECKING:
    import pyarrow as pa

    from source_solidafy.source import LogFn

DEFAULT_PART_ROWS = 1_000_000


def _no_log(level: str, message: str) -> None:
    return None


class StreamFiles(ABC):
    """The files one stream writes in one sync, in ``<stream>/dt=<date>/``."""

    ext = ""

    def __init__(self, storage: Storage, stream: str, dir_name: str, now: datetime | None, log: LogFn) -> None:
        self.storage = storage
        self.stream = stream
        self.dir_key = f"{dir_name}/dt={partition_date(now)}"
        self.log = log
        self._prepared = False
        self._names = PartNames(self.ext, lambda name: storage.exists(f"{self.dir_key}/{name}"), now)
        self._run: RunFiles | None = None
        self._run_names: Iterator[str] | None = None
        self.files: list[str] = []
        self.upload: Upload | None = None
        self.rows_in_part = 0  # rows handed over since the last published part (buffered or written)
        self.earlier: list[str] = []  # replace=True: the day's files from before this sync, removed at commit

    def use_run_names(self, run: RunFiles, dir_name: str) -> None:
        """Name the files after a plan's run and unit (see the module docstring)."""
        self._run, self._run_names = run, run.names(self.ext)
        self.dir_key = f"{dir_name}/dt={partition_date(run.day)}"

    def note_earlier(self) -> None:
        """Remember the data files already in this stream's directory for the day (full refresh), or
        with run names, the files an earlier attempt of the same unit wrote."""
        run = self._run
        mine = (lambda n: run.owns(n, self.ext)) if run is not None else (lambda n: is_data_file(n, self.ext))
        self.earlier = [n for n in self.storage.list(self.dir_key) if mine(n)]

    def remove_earlier(self) -> int:
        """Remove the noted files (this sync's own files are all published): how many there were."""
        own = {f.rsplit("/", 1)[-1] for f in self.files}
        earlier = [n for n in self.earlier if n not in own]
        for done, name in enumerate(earlier):
            try:
                self.storage.delete(f"{self.dir_key}/{name}")
            except (OSError, SolidafyError) as exc:
                left = ", ".join(earlier[done:])
                raise StreamError(
                    f"{self.stream}: the new files of {self.dir_key} are complete, but removing the earlier "
                    f"{left} failed ({exc}); readers see both until the next full refresh of the stream"
                ) from None
        return len(earlier)

    def open_upload(self) -> Upload:
        if not self._prepared:  # no directory for a stream that writes nothing
            self.storage.prepare(self.dir_key)
            self._prepared = True
        if self._run_names is not None:
            self.upload = self.storage.create(f"{self.dir_key}/{next(self._run_names)}", overwrite=True)
        else:
            self.upload = self.storage.create(f"{self.dir_key}/{self._names.next()}")
        return self.upload

    def publish(self) -> None:
        """Commit the current upload (its encoder has written everything) and start counting afresh."""
        assert self.upload is not None
        self.files.append(self.upload.commit())
        self.upload = None
        self.rows_in_part = 0

    @abstractmethod
    def write(self, records: list[dict[str, Any]] | pa.RecordBatch) -> None: ...

    @abstractmethod
    def end_part(self) -> None:
        """Write out anything buffered and publish the current part (no-op when it holds nothing)."""

    @abstractmethod
    def discard(self) -> None:
        """Drop the unpublished part: nothing at its final name, no temporary left."""


class FileSink(Sink):
    """A Sink that writes files through a :class:`Storage`; subclasses say how one stream's files are encoded."""

    def __init__(
        self,
        storage: Storage,
        *,
        part_rows: int = DEFAULT_PART_ROWS,
        log: LogFn | None = None,
        now: datetime | None = None,
        run_files: RunFiles | None = None,
    ) -> None:
        self.storage = storage
        self.run_files = run_files
        self.directory = storage.root
        self.part_rows = part_rows
        self.log: LogFn = log or _no_log
        self._now = now
        self._open: dict[str, StreamFiles] = {}
        self._dirs: dict[str, str] = {}  # directory name -> stream, so two streams never share one
        self.files: dict[str, list[str]] = {}  # every published file per stream, in order

    @abstractmethod
    def _stream_files(self, stream: str, dir_name: str, json_schema: dict[str, Any] | None) -> StreamFiles: ...

    def _dir_name(self, stream: str) -> str:
        import hashlib

        name = safe_dir_name(stream)
        owner = self._dirs.setdefault(name, stream)
        if owner != stream:
            name = f"{name}-{hashlib.sha1(stream.encode()).hexdigest()[:6]}"
            self._dirs[name] = stream
        return name

    def _guard(self, stream: str, what: str, exc: Exception) -> SolidafyError:
        if isinstance(exc, SolidafyError):
            return exc
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return StreamError(f"{stream}: {what} {self.directory} failed: {detail}")

    def open(self, stream: str, json_schema: dict[str, Any] | None, replace: bool = False) -> None:
        if stream in self._open:
            self.abort(stream)
        try:
            dir_name = self._dir_name(stream)
            files = self._stream_files(stream, dir_name, json_schema)
            if self.run_files is not None:
                files.use_run_names(self.run_files, dir_name)
            if replace or self.run_files is not None:
                files.note_earlier()
        except (OSError, SolidafyError) as exc:
            raise self._guard(stream, "preparing", exc) from exc
        self._open[stream] = files

    def write(self, stream: str, records: list[dict[str, Any]] | pa.RecordBatch, emitted_at: int) -> None:
        if stream not in self._open:
            self.open(stream, None)
        if not (len(records) if isinstance(records, list) else records.num_rows):
            return
        batches = records.to_batches() if hasattr(records, "to_batches") else [records]  # a pyarrow.Table too
        try:
            for batch in batches:
                self._open[stream].write(batch)
        except (OSError, SolidafyError) as exc:
            raise self._guard(stream, "writing to", exc) from exc

    def checkpoint(self, stream: str) -> bool:
        files = self._open.get(stream)
        if files is None or files.rows_in_part == 0:
            return True
        if files.rows_in_part < self.part_rows:
            return False
        try:
            files.end_part()
        except (OSError, SolidafyError) as exc:
            raise self._guard(stream, "writing to", exc) from exc
        self.files[stream] = list(files.files)
        return True

    def commit(self, stream: str) -> str | None:
        """Publish the last part; return the stream's first file (``files[stream]`` lists them all)."""
        files = self._open.pop(stream, None)
        if files is None:
            return None
        try:
            files.end_part()
        except (OSError, SolidafyError) as exc:
            files.discard()
            raise self._guard(stream, "writing to", exc) from exc
        self.files[stream] = list(files.files)
        removed = files.remove_earlier()
        if removed and self.run_files is None:
            self.log("INFO", f"{stream}: full refresh replaced {removed} earlier file(s) in {files.dir_key}")
        return files.files[0] if files.files else None

    def abort(self, stream: str) -> None:
        """Drop the unpublished part; parts already published at checkpoints stay (their STATE was emitted)."""
        files = self._open.pop(stream, None)
        if files is not None:
            files.discard()

    def close(self) -> None:
        for stream in list(self._open):
            self.abort(stream)
