"""One storage layer for every output: a local directory or a cloud bucket, same keys, same rules.

A :class:`Storage` hands out :class:`Upload` objects. Bytes written to an Upload become visible at
their final name only on :meth:`Upload.commit` (local: temp file + fsync + link; S3/R2: multipart
upload completed; GCS: resumable upload finalised; Azure: block list committed). :meth:`Upload.abort`
leaves nothing at the final name and no temporary behind. A commit never replaces an existing file.

    --output ./out            local directory (also file:///abs/path)
    --output s3://bucket/p    --output r2://bucket/p    --output gs://bucket/p
    --output az://container/p (also azure://)
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from abc import ABC, abstractmethod
from pathlib import Path

from source_solidafy.errors import UsageError

CLOUD_SCHEMES = ("s3", "r2", "gs", "gcs", "az", "azure")


class Upload(ABC):
    """A file being written. File-like enough for pyarrow (``write``/``tell``/``flush``/``close``)."""

    closed = False

    def __init__(self) -> None:
        self._size = 0

    def write(self, data: bytes | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed upload")
        n = len(data)
        if n:
            self._write(data)
            self._size += n
        return n

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        return None

    def close(self) -> None:
        """Mark closed (pyarrow calls this); publishing is :meth:`commit`'s job."""
        self.closed = True

    def writable(self) -> bool:
        return True

    @abstractmethod
    def _write(self, data: bytes | memoryview) -> None: ...

    @abstractmethod
    def commit(self) -> str:
        """Publish at the final name; return its path or URI."""

    @abstractmethod
    def abort(self) -> None:
        """Drop everything written; idempotent, never raises for a missing temporary."""


class Storage(ABC):
    """A root (directory or bucket prefix) under which keys like ``users/dt=2025-01-01/data.parquet`` live."""

    root: str  # shown as SYNC_SUMMARY output.directory

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def create(self, key: str) -> Upload: ...

    def prepare(self, dir_key: str) -> None:  # noqa: B027 - only local storage needs it
        """Called once per partition directory before its first file (local: mkdir, clean up)."""

    def check(self) -> None:  # noqa: B027 - optional
        """Fail early with a clear message (missing bucket, no credentials) before any stream starts."""


# ---------------------------------------------------------------------------------------------- local

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{6}\.tmp$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalUpload(Upload):
    """Writes ``.<name>.<pid>.<hex>.tmp`` next to the final file; commit links it into place."""

    def __init__(self, final: Path) -> None:
        super().__init__()
        self.final = final
        self.temp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
        self._fh = open(self.temp, "xb")  # noqa: SIM115 - lives until commit/abort

    def _write(self, data: bytes | memoryview) -> None:
        self._fh.write(data)

    def commit(self) -> str:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        target = self.final
        while True:
            try:
                os.link(self.temp, target)  # fails if target exists: never overwrite
                break
            except FileExistsError:
                target = target.with_name(f"{target.stem}-{secrets.token_hex(3)}{target.suffix}")
            except OSError:  # filesystems without hard links
                if target.exists():
                    target = target.with_name(f"{target.stem}-{secrets.token_hex(3)}{target.suffix}")
                    continue
                os.rename(self.temp, target)
                break
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)
        _fsync_dir(target.parent)
        self.final = target
        return str(target)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalStorage(Storage):
    def __init__(self, root: str) -> None:
        self.path = Path(root).expanduser().resolve()
        self.root = str(self.path)

    def check(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"--output {self.root}: exists and is not a directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--output {self.root}: cannot create directory ({exc.strerror})") from None
        if not os.access(self.path, os.W_OK):
            raise UsageError(f"--output {self.root}: directory is not writable")

    def exists(self, key: str) -> bool:
        return (self.path / key).exists()

    def create(self, key: str) -> Upload:
        return LocalUpload(self.path / key)

    def prepare(self, dir_key: str) -> None:
        """Create the directory and remove temporaries left by killed syncs (their pid is gone)."""
        directory = self.path / dir_key
        directory.mkdir(parents=True, exist_ok=True)
        for entry in directory.iterdir():
            match = _TEMP.match(entry.name)
            if match and not _pid_alive(int(match["pid"])):
                with contextlib.suppress(OSError):
                    entry.unlink()


# ---------------------------------------------------------------------------------------------- dispatch


def split_uri(output: str) -> tuple[str, str, str]:
    """``s3://bucket/a/b`` -> (``s3``, ``bucket``, ``a/b``); a local path -> (``file``, ``""``, path)."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", output)
    if not match:
        return "file", "", output
    scheme, rest = match[1].lower(), match[2]
    if scheme == "file":
        return "file", "", rest
    bucket, _, prefix = rest.partition("/")
    if scheme not in CLOUD_SCHEMES:
        raise UsageError(
            f"--output {output}: unknown scheme '{scheme}://'; expected a directory or "
            "s3://, r2://, gs://, az:// (azure://)"
        )
    if not bucket:
        raise UsageError(f"--output {output}: missing the bucket (container) name, e.g. {scheme}://my-bucket/path")
    return scheme, bucket, prefix.strip("/")


def open_storage(output: str) -> Storage:
    """The Storage for an ``--output`` value; cloud SDKs are imported only here, when needed."""
    scheme, bucket, prefix = split_uri(output)
    if scheme == "file":
        return LocalStorage(prefix)
    if scheme in ("s3", "r2"):
        from source_solidafy.sinks.cloud_s3 import S3Storage

        return S3Storage(scheme, bucket, prefix)
    if scheme in ("gs", "gcs"):
        from source_solidafy.sinks.cloud_gcs import GCSStorage

        return GCSStorage(bucket, prefix)
    from source_solidafy.sinks.cloud_azure import AzureStorage

    return AzureStorage(scheme, bucket, prefix)
