"""One storage layer for every output: a local directory or a cloud bucket, same keys, same rules.

A :class:`Storage` hands out :class:`Upload` objects. Bytes written to an Upload become visible at
their final name only on :meth:`Upload.commit` (local: temp file + fsync + link; S3/R2: multipart
upload completed; GCS: resumable upload finalised; Azure: block list committed). :meth:`Upload.abort`
leaves nothing at the final name and no temporary behind. A commit never replaces an existing file,
unless the upload was created with ``overwrite=True`` (a plan unit's files and manifest, whose names
are the same for every attempt: the new file replaces the old one in one step); :meth:`Storage.delete` removes one (a full-refresh stream's earlier files of the day, once its new
ones are all published).

    ./out            a local directory (also file:///abs/path)
    s3://bucket/p    r2://bucket/p    gs://bucket/p    az://container/p (also azure://)

The schemes are listed once, in ``uris.py``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from abc import ABC, abstractmethod
from pathlib import Path

from source_solidafy.confinement import Confinement, NotAllowedError
from source_solidafy.errors import UsageError
from source_solidafy.uris import split_uri


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
    def create(self, key: str, overwrite: bool = False) -> Upload:
        """A new upload to ``key``; its commit replaces an existing file only with ``overwrite``."""

    @abstractmethod
    def list(self, dir_key: str) -> list[str]:
        """Names of the files directly in ``dir_key`` (none when it does not exist)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one file; a file that is already gone is fine."""

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """The bytes of one (small) file; None when there is none."""

    def prepare(self, dir_key: str) -> None:  # noqa: B027 - only local storage needs it
        """Called once per partition directory before its first file (local: mkdir, clean up)."""

    def check(self) -> None:  # noqa: B027 - optional
        """Fail early with a clear message (missing bucket, no credentials) before any stream starts."""


# ---------------------------------------------------------------------------------------------- local

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{6}\.tmp$")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (here: a temporary's or a lock's writer may still be writing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalUpload(Upload):
    """Writes ``.<name>.<pid>.<hex>.tmp`` next to the final file; commit links it into place.

    Every operation is relative to the open directory ``dir_fd`` (which it owns), so what was
    checked when the directory was opened is where the bytes go, whatever is renamed meanwhile.
    """

    def __init__(self, dir_fd: int, directory: Path, name: str, overwrite: bool = False) -> None:
        super().__init__()
        self._dir = dir_fd
        self._overwrite = overwrite
        self.final = directory / name
        self.temp = directory / f".{name}.{os.getpid()}.{secrets.token_hex(3)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fh = os.fdopen(os.open(self.temp.name, flags, 0o666, dir_fd=dir_fd), "wb")

    def _write(self, data: bytes | memoryview) -> None:
        self._fh.write(data)

    def commit(self) -> str:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        target = self.final.name
        dirs = {"src_dir_fd": self._dir, "dst_dir_fd": self._dir}
        while not self._overwrite:
            try:
                os.link(self.temp.name, target, **dirs, follow_symlinks=False)  # never overwrites
                break
            except FileExistsError:
                target = _another_name(target)
            except OSError:  # filesystems without hard links
                if _lexists(target, self._dir):
                    target = _another_name(target)
                    continue
                os.rename(self.temp.name, target, **dirs)
                break
        if self._overwrite:
            os.replace(self.temp.name, target, **dirs)  # one step: the old file or the new, never neither
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp.name, dir_fd=self._dir)
        with contextlib.suppress(OSError):
            os.fsync(self._dir)
        self._close_dir()
        self.final = self.final.with_name(target)
        return str(self.final)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp.name, dir_fd=self._dir)
        self._close_dir()

    def _close_dir(self) -> None:
        if self._dir >= 0:
            os.close(self._dir)
            self._dir = -1


def _another_name(name: str) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{secrets.token_hex(3)}{dot}{suffix}" if dot else f"{name}-{secrets.token_hex(3)}"


def _lexists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


class LocalStorage(Storage):
    """A local directory. With ``within`` (the server's output root) the output and every
    directory and file below it are opened one path segment at a time without following a symlink,
    at the moment they are used: a symlink planted anywhere below ``within`` is refused, not followed.
    """

    def __init__(self, root: str, within: str | None = None) -> None:
        self.path = Path(root).expanduser().resolve() if within is None else Path(root)
        self.root = str(self.path)
        self._within = within
        self._base = Path(within) if within is not None else self.path
        if within is not None and not self.path.is_relative_to(self._base):
            raise NotAllowedError(f"output {root!r} is outside the output root")
        self._below = self.path.relative_to(self._base).parts if within is not None else ()
        self._nofollow = os.O_NOFOLLOW if within is not None else 0

    def check(self) -> None:
        if self._within is not None:
            os.close(self._open_dir(""))
            return
        if self.path.exists() and not self.path.is_dir():
            raise UsageError("exists and is not a directory", option="output", value=self.root)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create directory ({exc.strerror})", option="output", value=self.root) from None
        if not os.access(self.path, os.W_OK):
            raise UsageError("directory is not writable", option="output", value=self.root)

    def exists(self, key: str) -> bool:
        return os.path.lexists(self.path / key)

    def create(self, key: str, overwrite: bool = False) -> Upload:
        directory, _, name = key.rpartition("/")
        return LocalUpload(self._open_dir(directory), self.path / directory, name, overwrite)

    def list(self, dir_key: str) -> list[str]:
        try:
            fd = self._open_dir(dir_key, create=False)
        except FileNotFoundError:
            return []
        try:
            return sorted(e.name for e in os.scandir(fd) if e.is_file(follow_symlinks=False))
        finally:
            os.close(fd)

    def delete(self, key: str) -> None:
        directory, _, name = key.rpartition("/")
        try:
            fd = self._open_dir(directory, create=False)
        except FileNotFoundError:
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=fd)
            with contextlib.suppress(OSError):
                os.fsync(fd)  # the removal is durable before anything that follows it
        finally:
            os.close(fd)

    def read(self, key: str) -> bytes | None:
        directory, _, name = key.rpartition("/")
        try:
            fd = self._open_dir(directory, create=False)
        except FileNotFoundError:
            return None
        try:
            file_fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC | self._nofollow, dir_fd=fd)
        except FileNotFoundError:
            return None
        finally:
            os.close(fd)
        with os.fdopen(file_fd, "rb") as fh:
            return fh.read()

    def prepare(self, dir_key: str) -> None:
        """Create the directory and remove temporaries left by killed syncs (their pid is gone)."""
        fd = self._open_dir(dir_key)
        try:
            for entry in os.scandir(fd):
                match = _TEMP.match(entry.name)
                if match and not pid_alive(int(match["pid"])):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.name, dir_fd=fd)
        finally:
            os.close(fd)

    def _open_dir(self, dir_key: str, create: bool = True) -> int:
        """An open descriptor of ``root/dir_key``, made segment by segment (mkdir as needed, unless
        not ``create``: then a missing directory raises FileNotFoundError)."""
        segments = [*self._below, *(p for p in dir_key.split("/") if p)]
        if self._within is None and create:
            self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for i, name in enumerate(segments):
                if name in (".", ".."):
                    raise NotAllowedError(f"output path segment {name!r} refused")
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, dir_fd=fd)
                try:
                    step = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | self._nofollow, dir_fd=fd)
                except OSError as exc:
                    if self._within is not None and exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        where = "/".join(segments[: i + 1])
                        raise NotAllowedError(
                            f"output {where!r} under the output root is a symlink or not a directory; refused"
                        ) from None
                    raise
                os.close(fd)
                fd = step
        except BaseException:
            os.close(fd)
            raise
        return fd


# ---------------------------------------------------------------------------------------------- dispatch


def open_storage(output: str, confinement: Confinement | None = None) -> Storage:
    """The Storage for an output (directory or URI); cloud SDKs are imported only here, when needed.

    Confined (the server), a local output must lie under the output root and no symlink below the
    root is followed.
    """
    scheme, bucket, prefix = split_uri(output)
    if scheme == "file":
        return LocalStorage(prefix, confinement.local_output_root() if confinement is not None else None)
    if scheme in ("s3", "r2"):
        from source_solidafy.sinks.cloud_s3 import S3Storage

        return S3Storage(scheme, bucket, prefix)
    if scheme in ("gs", "gcs"):
        from source_solidafy.sinks.cloud_gcs import GCSStorage

        return GCSStorage(bucket, prefix)
    from source_solidafy.sinks.cloud_azure import AzureStorage

    return AzureStorage(scheme, bucket, prefix)
