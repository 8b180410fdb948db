"""Small files (config, catalog, state, plan) by local path or object-store URI, with conditional writes.

    data, version = read_file("s3://lake/demo/state.json")     # (None, None) when there is none
    write_file("s3://lake/demo/state.json", new, expect=version)  # raises ConflictError if it changed

``expect`` is the version :func:`read_file` returned: the write happens only if the file is still
that version (``None``: only if there is still no file), so two writers can never silently overwrite
each other; the second gets :class:`ConflictError`. Each store's own mechanism:

- local: a lock file made with ``O_EXCL`` next to the file (its pid inside; a dead holder's lock is
  taken over), the version (inode, mtime, size) compared, then a temp file, fsync and rename.
- S3 and R2: ``If-Match: <ETag>`` / ``If-None-Match: *`` on ``PutObject``.
- GCS: ``ifGenerationMatch`` (0: must not exist). The gcp-storage-emulator ignores it (not tested there).
- Azure: ``If-Match: <ETag>`` / ``If-None-Match: *`` on the block list commit.

Bytes go through smart-open (``smart_open.open``) with the storage layer's clients, so the
credentials, endpoints and emulators are the ones ``--output`` uses (docs/outputs.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from source_solidafy.errors import SolidafyError, UsageError
from source_solidafy.uris import split_uri

MAX_BYTES = 256 * 1024 * 1024  # a state of 100,000 partitions is ~10 MB


class ConflictError(SolidafyError):
    """Another writer changed the file since it was read: nothing was overwritten."""

    exit_code = 1
    failure_type = "transient_error"


def is_remote(location: str) -> bool:
    return split_uri(location)[0] != "file"


# ---------------------------------------------------------------------------------------------- local


def stat_version(path: str | Path | int) -> str | None:
    """A local file's version: inode, modification time and size (every write of ours is a rename: a new inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def _read_local(path: str) -> tuple[bytes | None, str | None]:
    try:
        with open(path, "rb") as fh:
            version = stat_version(fh.fileno())  # of the file read, whatever is renamed over it meanwhile
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; give a file path") from None
    if len(data) > MAX_BYTES:
        raise _too_big(path)
    return data, version


LOCK_WAIT_SECS = 10.0  # a lock is held for one write (milliseconds); longer means a stuck writer


@contextlib.contextmanager
def _local_lock(target: Path) -> Any:
    """``.<name>.lock`` created with O_EXCL, holding our pid; a live holder is waited for, a dead one's
    lock is taken over."""
    from source_solidafy.sinks.storage import pid_alive

    lock = target.with_name(f".{target.name}.lock")
    deadline = time.monotonic() + LOCK_WAIT_SECS
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            try:
                holder = int(lock.read_text() or "0")
            except (OSError, ValueError):
                holder = 0
            if holder and not pid_alive(holder):
                lock.unlink(missing_ok=True)  # left by a process that died
            elif time.monotonic() > deadline:
                raise ConflictError(f"{target}: another process (pid {holder or '?'}) has been writing it for "
                                    f"{LOCK_WAIT_SECS:.0f} s ({lock} is its lock)") from None
            else:
                time.sleep(0.005)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _write_local(path: str, data: bytes, expect: str | None, check: bool) -> str | None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _local_lock(target):
        if check and stat_version(target) != expect:
            raise ConflictError(_changed(path, expect))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return stat_version(target)


def _changed(where: str, expect: str | None) -> str:
    was = "there was none" if expect is None else "it was read"
    return f"{where}: changed by another writer since {was}; not overwritten (read it again and retry)"


# ---------------------------------------------------------------------------------------------- cloud


def _store(location: str) -> tuple[str, Any, str, str]:
    """(scheme, storage, bucket, key) with the storage layer's client for ``location``."""
    from source_solidafy.sinks.storage import open_storage

    scheme, bucket, key = split_uri(location)
    if not key:
        raise UsageError(f"{location}: expected an object, e.g. {scheme}://{bucket or 'bucket'}/path/state.json")
    return scheme, open_storage(f"{scheme}://{bucket}"), bucket, key


def _too_big(location: str) -> UsageError:
    return UsageError(f"{location}: larger than {MAX_BYTES // (1024 * 1024)} MB; not read")


def _read_cloud(location: str) -> tuple[bytes | None, str | None]:
    import smart_open

    scheme, store, bucket, key = _store(location)
    version = _version(scheme, store, bucket, key)
    if version is None:
        return None, None
    uri, params = _smart(scheme, store, bucket, key)
    try:
        with smart_open.open(uri, "rb", transport_params=params, compression="disable") as fh:
            data = fh.read(MAX_BYTES + 1)
    except Exception as exc:  # noqa: BLE001 - each SDK raises its own kinds
        if _missing(exc):
            return None, None
        raise _failure(location, "reading", exc) from None
    if len(data) > MAX_BYTES:
        raise _too_big(location)
    return data, version


def _version(scheme: str, store: Any, bucket: str, key: str) -> str | None:
    """The object's ETag or generation now (None: no object). Taken before the read, so a write that
    comes between makes the later conditional write fail rather than pass."""
    try:
        if scheme in ("s3", "r2"):
            return str(store.client.head_object(Bucket=bucket, Key=key)["ETag"])
        if scheme in ("gs", "gcs"):
            blob = store.bucket.get_blob(key)
            return None if blob is None else str(blob.generation)
        return str(store.container.get_blob_client(key).get_blob_properties().etag)
    except Exception as exc:  # noqa: BLE001
        if _missing(exc):
            return None
        raise _failure(f"{scheme}://{bucket}/{key}", "checking", exc) from None


def _smart(scheme: str, store: Any, bucket: str, key: str, write: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """smart-open's URI and transport parameters for our client (and a write's condition)."""
    if scheme in ("s3", "r2"):
        params: dict[str, Any] = {"client": store.client}
        if write is not None:
            params.update(multipart_upload=False, client_kwargs={"S3.Client.put_object": write})
        return f"s3://{bucket}/{key}", params
    if scheme in ("gs", "gcs"):
        params = {"client": store.client}
        if write is not None:
            params["blob_open_kwargs"] = write
        return f"gs://{bucket}/{key}", params
    params = {"client": store.container}
    if write is not None:
        params["blob_kwargs"] = write
    return f"azure://{bucket}/{key}", params


def _condition(scheme: str, expect: str | None) -> dict[str, Any]:
    if scheme in ("s3", "r2"):
        return {"IfNoneMatch": "*"} if expect is None else {"IfMatch": expect}
    if scheme in ("gs", "gcs"):
        return {"if_generation_match": 0 if expect is None else int(expect)}
    from azure.core import MatchConditions

    if expect is None:
        return {"match_condition": MatchConditions.IfMissing}
    return {"etag": expect, "match_condition": MatchConditions.IfNotModified}


class _Answer:
    """Wraps an SDK client so the answer of the call that publishes the object is kept (its ETag)."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner, self._method, self.answer = inner, method, None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.answer = attr(*args, **kwargs)
            return self.answer

        return call


def _written_version(scheme: str, store: Any, key: str, data: bytes, answer: Any) -> str:
    """The version our write made, from the store's answer (S3, Azure); GCS: read back, and trusted only
    when the object there has our bytes' MD5 (else "unknown": the next conditional write fails)."""
    if scheme in ("s3", "r2"):
        return str(answer["ETag"])
    if scheme in ("az", "azure"):
        return str(answer["etag"])
    import base64

    blob = store.bucket.get_blob(key)
    mine = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324 - a checksum, not security
    return str(blob.generation) if blob is not None and blob.md5_hash == mine else "unknown"


def _write_cloud(location: str, data: bytes, expect: str | None, check: bool) -> str:
    import smart_open

    scheme, store, bucket, key = _store(location)
    uri, params = _smart(scheme, store, bucket, key, _condition(scheme, expect) if check else {})
    if scheme in ("s3", "r2"):
        params["client"] = watched = _Answer(store.client, "put_object")
    elif scheme in ("az", "azure"):
        params["client"] = watched = _Answer(store.container.get_blob_client(key), "commit_block_list")
    else:
        watched = None
    try:
        with smart_open.open(uri, "wb", transport_params=params, compression="disable") as fh:
            fh.write(data)
    except Exception as exc:  # noqa: BLE001
        if _precondition(exc):
            raise ConflictError(_changed(location, expect)) from None
        raise _failure(location, "writing", exc) from None
    return _written_version(scheme, store, key, data, watched.answer if watched is not None else None)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(out) < 8:
        out.append(seen)
        seen = seen.__cause__ or seen.__context__
    return out


def _status(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return str(getattr(exc, "status_code", None) or getattr(exc, "code", "") or "")


def _missing(exc: BaseException) -> bool:
    return any(_status(e) in ("404", "NoSuchKey", "NotFound") or type(e).__name__ in ("NotFound", "ResourceNotFoundError")
               for e in _chain(exc))


def _precondition(exc: BaseException) -> bool:
    codes = ("412", "PreconditionFailed", "409", "ConditionNotMet", "BlobAlreadyExists")
    return any(_status(e) in codes or type(e).__name__ in ("PreconditionFailed", "ResourceExistsError",
                                                            "ResourceModifiedError") for e in _chain(exc))


def _failure(location: str, action: str, exc: BaseException) -> SolidafyError:
    from source_solidafy.sinks.cloud_common import clean

    return UsageError(f"{location}: {action} failed: {clean(f'{type(exc).__name__}: {exc}')}")


# ---------------------------------------------------------------------------------------------- API


def read_file(location: str) -> tuple[bytes | None, str | None]:
    """The bytes at a path or URI and their version; ``(None, None)`` when there is no file."""
    return _read_cloud(location) if is_remote(location) else _read_local(location)


_ANY = object()


def write_file(location: str, data: bytes, expect: Any = _ANY) -> str | None:
    """Write (atomically); with ``expect`` only if the file is still that version (None: still absent).
    Returns the version written (for the next conditional write)."""
    check = expect is not _ANY
    version = expect if check else None
    if is_remote(location):
        return _write_cloud(location, data, version, check)
    return _write_local(location, data, version, check)


def version_of(location: str) -> str | None:
    """The version of the file there now (None: there is none), without reading it."""
    if not is_remote(location):
        return stat_version(location)
    scheme, store, bucket, key = _store(location)
    return _version(scheme, store, bucket, key)
